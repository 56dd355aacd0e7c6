/* worker.h: one libev loop and everything it owns.
 *
 * A worker owns its loop, its listeners' accept watchers and its
 * connections; nothing mutable is shared between workers. (This version runs
 * one worker, on the default loop that also handles signals.) */
#ifndef CERTWRAP_WORKER_H
#define CERTWRAP_WORKER_H

#include <ev.h>
#include <stdbool.h>

struct conn;
struct listener;

struct worker {
	struct ev_loop *loop;
	struct listener *listeners;       /* accepting on this loop */
	struct conn *conns;               /* open connections */
	unsigned n_conns;

	ev_timer accept_resume;           /* after running out of descriptors */
	bool accept_paused;
	unsigned n_full;                  /* listeners paused at a connection limit */

	/* called when the last connection closes while draining */
	void (*on_drained)(struct worker *w);
	bool draining;
	void *owner;                      /* the daemon, for on_drained */
};

void worker_init(struct worker *w, struct ev_loop *loop);

void worker_conn_add(struct worker *w, struct conn *c);
void worker_conn_remove(struct worker *w, struct conn *c);

/* Out of descriptors: stop accepting on every listener until a connection
 * closes or ACCEPT_PAUSE_S passes, instead of spinning on a listener that
 * stays readable. */
void worker_pause_accept(struct worker *w);

/* Whether l may accept one more connection now (maxConnections of its
 * service, maxConnectionsTotal); when not, its accepting pauses. */
bool worker_may_accept(struct worker *w, struct listener *l);

/* Starts or stops each listener's watcher by the limits, the pause and the
 * drain in force now (after a reload, a close, the end of a pause). */
void worker_listeners_update(struct worker *w);

/* Stops every listener's watcher (they stay bound) and waits for the open
 * connections; on_drained runs when none is left (at once if none is). */
void worker_drain(struct worker *w);

/* Closes every open connection with end=shutdown. */
void worker_close_all(struct worker *w);

#endif
