/* control.h: the control socket, certwrapctl's way into the running daemon.
 *
 * A unix socket (`control = PATH`, `controlMode`, `controlGroup`). Access is
 * limited twice: by the socket file's mode and group, and by the peer's
 * credentials (SO_PEERCRED): root, the daemon's own user and members of
 * controlGroup are served; anyone else is refused and logged. Each
 * connection carries one request and one response (ctl/ctlproto.h), read
 * and written without blocking, bounded in size and in time. */
#ifndef CERTWRAP_CONTROL_H
#define CERTWRAP_CONTROL_H

#include <sys/types.h>

#define CONTROL_TIMEOUT_S      10.0       /* to send a request, or read the response */
#define CONTROL_MAX_CLIENTS    16         /* connections served at once; more wait */

struct config;
struct ctl_msg;
struct daemon;
struct report;
struct control;
struct control_request;                   /* one request being answered */

/* Who sent a request. */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* A verb the daemon answers. Runs on the daemon's main loop and answers
 * with control_reply, at once or, after control_defer, later (a store verb
 * runs in a thread: connections must not wait for key generation). */
typedef void control_verb_fn(struct daemon *d, const struct ctl_msg *req,
    struct control_request *r);

/* Sends resp (ctl_msg_ok/ctl_msg_error and results) as the answer to r,
 * taking its content; r is finished with it. */
void control_reply(struct control_request *r, struct ctl_msg *resp);

/* The answer will come later: the client may wait up to timeout_s. If it
 * leaves first, control_reply still must be called (and is then dropped). */
void control_defer(struct control_request *r, double timeout_s);

const struct control_peer *control_request_peer(const struct control_request *r);

struct control_verb {
	const char *name;
	control_verb_fn *run;
};

/* Opens (or, on reload, re-points) the control socket for cfg on d's loop:
 * creates the socket file with controlMode and controlGroup, replacing a
 * stale one but refusing when another daemon answers there. cfg without
 * `control` closes it. Errors go to rep ("FILE:LINE: control: why"); the
 * previous socket then stays as it was. 0 or -1. */
int control_configure(struct control **c, struct daemon *d, const struct config *cfg,
    struct report *rep);

/* For -t: what control_configure would refuse, checked without creating
 * anything: an unknown controlGroup, a directory for the socket that does
 * not exist. Another daemon answering on the path is not checked (-t runs
 * beside the daemon it checks a new config for). 0 or -1 with rep. */
int control_check(const struct config *cfg, struct report *rep);

/* Closes the socket, removes its file, drops pending requests; the client
 * whose verb led here (a reload that moves or removes the socket) still gets
 * its answer, and the rest is freed after it. NULL: no-op. */
void control_close(struct control *c);

/* The verbs, in control_verbs.c. */
extern const struct control_verb control_verbs[];
extern const size_t control_verbs_count;

#endif
