/* control.c: the control socket: access, framing, timeouts, dispatch. */
#include "proxy/control.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "ctl/ctlproto.h"
#include "proxy/config.h"
#include "proxy/daemon.h"
#include "proxy/log.h"
#include "proxy/report.h"

#define CONTROL_BACKLOG        16
#define CONTROL_READ_CHUNK     65536
#define CONTROL_MAX_GROUPS     256        /* supplementary groups checked per peer */

/* A client is the request it carries (struct control_request). */
struct control_request {
	struct control *ctl;
	struct control_request *prev, *next;
	bool deferred;                        /* the verb answers later */
	bool gone;                            /* closed while deferred: free at the reply */
	char verb[CTLPROTO_NAME_MAX + 1];     /* for the log line */
	int fd;
	ev_io io;
	ev_timer timer;
	struct control_peer peer;
	char *in;                             /* the request as it arrives */
	size_t in_len, in_cap;
	char *out;                            /* the encoded response */
	size_t out_len, out_off;
};

struct control {
	struct daemon *d;
	struct ev_loop *loop;
	int fd;
	ev_io io;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;                            /* of the socket file we made, so that we */
	ino_t ino;                            /* remove only our own */
	bool group_set;
	gid_t gid;
	struct control_request *clients;
	unsigned n_clients;
	/* A verb may close its own socket (a reload that moves or removes it):
	 * the client being answered then keeps this struct until it is done. */
	struct control_request *dispatching;
	bool closing;                         /* closed; freed with its last client */
};

/* --- who may talk ------------------------------------------------------------------ */

static bool
peer_in_group(uid_t uid, gid_t primary, gid_t group)
{
	gid_t groups[CONTROL_MAX_GROUPS];
	int n = CONTROL_MAX_GROUPS;
	struct passwd *pw;

	if (primary == group)
		return true;
	if ((pw = getpwuid(uid)) == NULL || getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == group)
			return true;
	return false;
}

/* Root, the daemon's own user, and members of controlGroup. */
static bool
peer_allowed(const struct control *c, const struct control_peer *p)
{
	if (p->uid == 0 || p->uid == geteuid())
		return true;
	return c->group_set && peer_in_group(p->uid, p->gid, c->gid);
}

/* --- one client ---------------------------------------------------------------------- */

static void
client_close(struct control_request *cl)
{
	struct control *c = cl->ctl;

	ev_io_stop(c->loop, &cl->io);
	ev_timer_stop(c->loop, &cl->timer);
	if (cl->fd != -1)
		close(cl->fd);
	cl->fd = -1;
	if (cl->deferred && !cl->gone) {
		/* a thread will still reply: keep the request until it does */
		cl->gone = true;
		return;
	}
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	free(cl->in);
	free(cl->out);
	free(cl);
	/* a slot is free again */
	if (c->n_clients-- == CONTROL_MAX_CLIENTS && c->fd != -1)
		ev_io_start(c->loop, &c->io);
	if (c->closing && c->clients == NULL)
		free(c);
}

/* One log line per line of the message (a refused swap or reload gives one
 * per reason), each with the same prefix: a grep for the peer or the verb
 * finds every reason, and syslog gets no embedded newlines. */
static void
client_log(const struct control_request *cl, const char *verb, const struct ctl_msg *resp)
{
	const char *status = ctl_msg_get(resp, "status");
	const char *line = ctl_msg_get(resp, "message"), *end;
	bool ok = status != NULL && strcmp(status, "ok") == 0;

	do {
		end = line != NULL ? strchr(line, '\n') : NULL;
		log_msg(ok ? LOG_LVL_NOTICE : LOG_LVL_WARN, "control: uid=%u pid=%ld verb=%s %s%s%.*s",
		    (unsigned)cl->peer.uid, (long)cl->peer.pid, verb ? verb : "-",
		    ok ? "ok" : "error", line ? ": " : "",
		    line ? (int)(end ? (size_t)(end - line) : strlen(line)) : 0, line ? line : "");
		line = end != NULL ? end + 1 : NULL;
	} while (line != NULL);
}

/* Switches the client to writing resp; the connection ends once it is sent. */
static void
client_respond(struct control_request *cl, struct ctl_msg *resp, const char *verb)
{
	client_log(cl, verb, resp);
	if (ctl_msg_encode(resp, &cl->out, &cl->out_len) == -1) {
		ctl_msg_error(resp, "the response is too large to send (over %u bytes)",
		    CTLPROTO_MAX_FRAME);
		if (ctl_msg_encode(resp, &cl->out, &cl->out_len) == -1) {
			ctl_msg_free(resp);
			client_close(cl);
			return;
		}
	}
	ctl_msg_free(resp);
	ev_io_stop(cl->ctl->loop, &cl->io);
	ev_io_set(&cl->io, cl->fd, EV_WRITE);
	ev_io_start(cl->ctl->loop, &cl->io);
	ev_timer_stop(cl->ctl->loop, &cl->timer);
	ev_timer_set(&cl->timer, CONTROL_TIMEOUT_S, 0.);
	ev_timer_start(cl->ctl->loop, &cl->timer);
}

void
control_reply(struct control_request *r, struct ctl_msg *resp)
{
	bool gone = r->gone;

	r->deferred = false;
	if (gone) {
		client_log(r, r->verb, resp);      /* the client left; the log still says */
		ctl_msg_free(resp);
		client_close(r);
		return;
	}
	if (ctl_msg_get(resp, "status") == NULL)
		ctl_msg_error(resp, "internal error: verb %s gave no status", r->verb);
	client_respond(r, resp, r->verb);
}

void
control_defer(struct control_request *r, double timeout_s)
{
	r->deferred = true;
	ev_timer_stop(r->ctl->loop, &r->timer);
	ev_timer_set(&r->timer, timeout_s, 0.);
	ev_timer_start(r->ctl->loop, &r->timer);
	ev_io_stop(r->ctl->loop, &r->io);          /* nothing more to read */
}

const struct control_peer *
control_request_peer(const struct control_request *r)
{
	return &r->peer;
}

static void
client_dispatch(struct control_request *cl, const struct ctl_msg *req)
{
	const char *verb = ctl_msg_get(req, "verb");
	struct ctl_msg resp = { 0 };
	char known[512] = "";

	snprintf(cl->verb, sizeof(cl->verb), "%s", verb ? verb : "-");
	for (size_t i = 0; verb != NULL && i < control_verbs_count; i++) {
		if (strcmp(control_verbs[i].name, verb) == 0) {
			/* the verb may close this very socket (a reload that moves it):
			 * the request keeps the old one alive until it is answered */
			struct control *c = cl->ctl;

			c->dispatching = cl;
			control_verbs[i].run(c->d, req, cl);
			c->dispatching = NULL;
			return;
		}
	}
	for (size_t i = 0; i < control_verbs_count; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
		    control_verbs[i].name);
	if (verb == NULL)
		ctl_msg_error(&resp, "the request names no verb");
	else
		ctl_msg_error(&resp, "unknown verb \"%.64s\" (this certwrapd answers: %s)", verb, known);
	client_respond(cl, &resp, verb);
}

/* Reads what arrived; answers once a whole request is in. */
static void
client_read(struct control_request *cl)
{
	struct ctl_msg req, resp = { 0 };
	char err[512];
	size_t used;
	ssize_t n;

	if (cl->in_cap - cl->in_len < CONTROL_READ_CHUNK) {
		size_t cap = cl->in_cap + CONTROL_READ_CHUNK;
		char *in = cap <= CTLPROTO_MAX_FRAME + CTLPROTO_MAX_HEADER ? realloc(cl->in, cap) : NULL;

		if (in == NULL) {
			ctl_msg_error(&resp, "request too large (over %u bytes)", CTLPROTO_MAX_FRAME);
			client_respond(cl, &resp, NULL);
			return;
		}
		cl->in = in;
		cl->in_cap = cap;
	}
	n = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		client_close(cl);              /* the client left before asking */
		return;
	}
	if (n < 0)
		return;
	cl->in_len += (size_t)n;
	switch (ctl_msg_decode(cl->in, cl->in_len, &req, &used, err, sizeof(err))) {
	case CTL_DECODE_MORE:
		return;
	case CTL_DECODE_ERROR:
		ctl_msg_error(&resp, "%s", err);
		client_respond(cl, &resp, NULL);
		return;
	case CTL_DECODE_DONE:
		client_dispatch(cl, &req);
		ctl_msg_free(&req);
		return;
	}
}

static void
client_write(struct control_request *cl)
{
	ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL);

	if (n > 0)
		cl->out_off += (size_t)n;
	if (cl->out_off == cl->out_len || (n == -1 && errno != EAGAIN && errno != EINTR))
		client_close(cl);
}

static void
client_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control_request *cl = io->data;

	if (cl->out != NULL)
		client_write(cl);
	else
		client_read(cl);
}

static void
client_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct control_request *cl = t->data;

	if (cl->deferred) {
		log_warn("control: uid=%u pid=%ld verb=%s: still running after the client's wait; "
		    "its answer will be logged", (unsigned)cl->peer.uid, (long)cl->peer.pid, cl->verb);
		client_close(cl);
		return;
	}
	log_warn("control: uid=%u pid=%ld: no complete %s within %.0fs; closed",
	    (unsigned)cl->peer.uid, (long)cl->peer.pid, cl->out ? "read of the response" : "request",
	    CONTROL_TIMEOUT_S);
	client_close(cl);
}

/* --- the listening socket ------------------------------------------------------------ */

static void
refuse(int fd, const struct control_peer *p)
{
	struct ctl_msg resp = { 0 };
	char *frame;
	size_t len;

	log_warn("control: refused uid=%u pid=%ld: only root, the daemon's user and members of "
	    "controlGroup may use the control socket", (unsigned)p->uid, (long)p->pid);
	if (ctl_msg_error(&resp, "permission denied: only root, certwrapd's user and members of "
	    "its controlGroup may use this socket") == 0 && ctl_msg_encode(&resp, &frame, &len) == 0) {
		(void)!send(fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(frame);
	}
	ctl_msg_free(&resp);
	close(fd);
}

static void
client_add(struct control *c, int fd, const struct control_peer *peer)
{
	struct control_request *cl = calloc(1, sizeof(*cl));

	if (cl == NULL) {
		log_error("control: out of memory; connection closed");
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	cl->peer = *peer;
	ev_io_init(&cl->io, client_io_cb, fd, EV_READ);
	cl->io.data = cl;
	ev_timer_init(&cl->timer, client_timeout_cb, CONTROL_TIMEOUT_S, 0.);
	cl->timer.data = cl;
	ev_io_start(c->loop, &cl->io);
	ev_timer_start(c->loop, &cl->timer);
	cl->next = c->clients;
	if (c->clients != NULL)
		c->clients->prev = cl;
	c->clients = cl;
	/* at the limit, further clients wait in the backlog */
	if (++c->n_clients == CONTROL_MAX_CLIENTS)
		ev_io_stop(c->loop, &c->io);
}

static void
accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control *c = io->data;

	while (c->n_clients < CONTROL_MAX_CLIENTS) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct control_peer peer;
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_errno(LOG_LVL_WARN, "control: accept on %s", c->path);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
			log_errno(LOG_LVL_WARN, "control: SO_PEERCRED");
			close(fd);
			continue;
		}
		peer = (struct control_peer){ cred.pid, cred.uid, cred.gid };
		if (!peer_allowed(c, &peer))
			refuse(fd, &peer);
		else
			client_add(c, fd, &peer);
	}
}

/* Another certwrapd answering at path is an error; a socket file nobody
 * answers on is a leftover of a crash and is removed. */
static int
clear_stale_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; remove it or choose another path",
		    path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (snprintf(err, errlen, "socket: %s", strerror(errno)), -1);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another certwrapd already answers on it", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT)
		return (snprintf(err, errlen, "%s: cannot remove the stale socket: %s", path,
		    strerror(errno)), -1);
	return 0;
}

/* Binds path with mode and group; the file is never more open than asked. */
static int
bind_socket(struct control *c, const struct config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int rc;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return (snprintf(err, errlen, "socket: %s", strerror(errno)), -1);
	old_umask = umask(0177);               /* 0600 from the start; widened just below */
	rc = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (rc == -1 || listen(c->fd, CONTROL_BACKLOG) == -1 ||
	    chmod(c->path, cfg->control_mode) == -1 ||
	    (c->group_set && chown(c->path, (uid_t)-1, c->gid) == -1) ||
	    lstat(c->path, &st) == -1) {
		snprintf(err, errlen, "%s: %s%s", c->path, strerror(errno), errno == ENOENT ?
		    " (create the directory first)" : "");
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

static int
resolve_group(const struct config *cfg, bool *set, gid_t *gid, struct report *rep)
{
	const char *name = cfg->control_group.value;
	struct group *gr;
	char *end;
	unsigned long n;

	*set = name != NULL;
	if (name == NULL)
		return 0;
	if ((gr = getgrnam(name)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	n = strtoul(name, &end, 10);
	if (end != name && *end == '\0') {
		*gid = (gid_t)n;
		return 0;
	}
	report_error(rep, "%s:%u: controlGroup: no group \"%s\" on this system", cfg->file,
	    cfg->control_group.line, name);
	return -1;
}

int
control_check(const struct config *cfg, struct report *rep)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *slash;
	bool set;
	gid_t gid;
	int rc;

	if (cfg->control_path.value == NULL)
		return 0;
	if (resolve_group(cfg, &set, &gid, rep) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "%s", cfg->control_path.value);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir] = '\0';       /* "/x.sock" is in "/" */
	if ((rc = stat(dir, &st)) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (rc == 0)
		errno = ENOTDIR;
	report_error(rep, "%s:%u: control: %s: %s%s", cfg->file, cfg->control_path.line,
	    cfg->control_path.value, strerror(errno), errno == ENOENT ?
	    " (create the directory first)" : "");
	return -1;
}

static struct control *
control_open(struct daemon *d, struct ev_loop *loop, const struct config *cfg, bool group_set,
    gid_t gid, struct report *rep)
{
	struct control *c = calloc(1, sizeof(*c));
	char err[512];

	if (c == NULL) {
		report_error(rep, "%s:%u: control: out of memory", cfg->file, cfg->control_path.line);
		return NULL;
	}
	*c = (struct control){ .d = d, .loop = loop, .fd = -1, .group_set = group_set, .gid = gid };
	snprintf(c->path, sizeof(c->path), "%s", cfg->control_path.value);
	if (clear_stale_socket(c->path, err, sizeof(err)) == -1 ||
	    bind_socket(c, cfg, err, sizeof(err)) == -1) {
		report_error(rep, "%s:%u: control: %s", cfg->file, cfg->control_path.line, err);
		free(c);
		return NULL;
	}
	ev_io_init(&c->io, accept_cb, c->fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	log_info("control: listening on %s (mode %04o%s%s)", c->path, cfg->control_mode,
	    group_set ? ", group " : "", group_set ? cfg->control_group.value : "");
	return c;
}

/* Mode and group may change in place on reload. */
static int
control_update(struct control *c, const struct config *cfg, bool group_set, gid_t gid,
    struct report *rep)
{
	if (chmod(c->path, cfg->control_mode) == -1 ||
	    (group_set && chown(c->path, (uid_t)-1, gid) == -1)) {
		report_error(rep, "%s:%u: control: %s: %s", cfg->file, cfg->control_path.line, c->path,
		    strerror(errno));
		return -1;
	}
	c->group_set = group_set;
	c->gid = gid;
	return 0;
}

int
control_configure(struct control **cp, struct daemon *d, const struct config *cfg,
    struct report *rep)
{
	struct control *next;
	bool group_set;
	gid_t gid = 0;

	if (cfg->control_path.value == NULL) {
		control_close(*cp);
		*cp = NULL;
		return 0;
	}
	if (resolve_group(cfg, &group_set, &gid, rep) == -1)
		return -1;
	if (*cp != NULL && strcmp((*cp)->path, cfg->control_path.value) == 0)
		return control_update(*cp, cfg, group_set, gid, rep);
	if ((next = control_open(d, d->loop, cfg, group_set, gid, rep)) == NULL)
		return -1;
	control_close(*cp);
	*cp = next;
	return 0;
}

void
control_close(struct control *c)
{
	struct control_request *cl, *next;
	struct stat st;

	if (c == NULL)
		return;
	/* Requests still to be answered keep the socket's struct alive: the
	 * one being dispatched (a reload that moved the socket), and deferred
	 * ones (a store job will answer). At shutdown the daemon has drained
	 * its store jobs first, so only the others are left to close. */
	for (cl = c->clients; cl != NULL; cl = next) {
		next = cl->next;
		if (cl != c->dispatching && !cl->deferred)
			client_close(cl);
	}
	if (c->fd != -1) {
		ev_io_stop(c->loop, &c->io);
		close(c->fd);
		c->fd = -1;
		/* only our own socket file: a newer daemon may have taken the path */
		if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
			unlink(c->path);
	}
	/* freed with the last request still being answered */
	if (c->clients != NULL)
		c->closing = true;
	else
		free(c);
}
