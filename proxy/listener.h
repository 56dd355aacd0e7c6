/* listener.h: bound listening sockets and their accept loop. */
#ifndef CERTWRAP_LISTENER_H
#define CERTWRAP_LISTENER_H

#include <ev.h>
#include <stdbool.h>

#include "proxy/addr.h"

struct snapshot;
struct acceptor;

struct listener {
	struct listener *next;
	struct addr addr;
	int fd;
	ev_io io;
	struct acceptor *acceptor;        /* set by listener_start */
	/* the service accepted connections belong to; re-pointed at each reload
	 * (the daemon holds the snapshot's reference) */
	struct snapshot *snap;
	unsigned svc_index;
	bool keep;                        /* reload: still wanted by the new config */
	bool full;                        /* paused at a connection limit */
};

/* Creates a listener bound to addr (SO_REUSEADDR, IPV6_V6ONLY for IPv6,
 * non-blocking, close-on-exec). NULL with err ("127.0.0.1:993: Address
 * already in use") on failure. */
struct listener *listener_open(const struct addr *addr, char *err, size_t errlen);

/* Starts accepting on a's loop. (The caller keeps l on a->listeners.) */
void listener_start(struct listener *l, struct acceptor *a);

/* Stops the accept watcher; the socket stays bound. */
void listener_stop(struct listener *l);

/* Closes the socket and frees l (stop it first). NULL is a no-op. */
void listener_free(struct listener *l);

#endif
