/* worker.h: one event loop and the connections it owns.
 *
 * `workers = N` makes N of them. Worker 0 runs on the main loop, which also
 * holds the acceptor, the control socket, the store watch and renewal; the
 * others each run a loop on a thread of their own. A connection lives on
 * one worker from hand-over to close and only that worker's thread touches
 * it. What workers share is read-only (the snapshot, refcounted) or guarded:
 * a service's TLS context pointer (a mutex: a swap reaches every worker at
 * once), the counters (atomics), the session ticket keys (tickets.c), the
 * log (one write per line, under a mutex). Other threads reach a worker
 * only through its inbox: accepted sockets and requests, with an ev_async
 * that wakes its loop. */
#ifndef CERTWRAP_WORKER_H
#define CERTWRAP_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct acceptor;
struct conn;
struct handoff;
struct service;
struct snapshot;

/* What the main thread may ask of a worker. */
enum worker_request {
	WORKER_DRAIN = 1,                 /* close nothing; report when none is left */
	WORKER_LOG_CONNECTIONS = 2,       /* SIGUSR2 */
	WORKER_STOP = 4,                  /* close every connection and end the loop */
};

struct worker {
	struct ev_loop *loop;
	unsigned index;                   /* 0: the main loop's */
	struct acceptor *acceptor;
	struct conn *conns;               /* open connections */
	atomic_uint n_conns;              /* open, or handed over and not yet begun:
	                                     what the acceptor balances by */

	/* called on the worker's thread, once, when draining and none is left */
	void (*on_drained)(struct worker *w);
	bool draining;
	void *owner;                      /* the daemon, for on_drained */

	/* a worker on its own thread (index > 0) */
	bool threaded;
	pthread_t thread;
	pthread_mutex_t inbox_lock;
	struct handoff *inbox;            /* accepted sockets, newest first */
	unsigned requests;                /* enum worker_request bits */
	ev_async inbox_ready;
};

/* Worker 0, on the main loop. */
void worker_init(struct worker *w, struct ev_loop *loop, struct acceptor *a);

/* Worker index, with a loop and a thread of its own (all signals blocked in
 * it: they are the main loop's). -1 with the reason in err. */
int worker_start_thread(struct worker *w, unsigned index, struct acceptor *a,
    char *err, size_t errlen);

/* From the acceptor: fd, counted already, becomes a connection of svc (in
 * snap) on w. On the main loop's worker at once; otherwise queued (with a
 * reference to snap) and w's loop woken. */
void worker_take(struct worker *w, struct snapshot *snap, struct service *svc, int fd,
    const struct sockaddr *peer, socklen_t peer_len);

/* From the main thread: asks for the enum worker_request bits in requests.
 * The main loop's worker does them at once. */
void worker_request(struct worker *w, unsigned requests);

/* From the main thread, at the end: a threaded worker closes its
 * connections, its thread is joined and its loop freed; worker 0 closes its
 * connections. */
void worker_stop(struct worker *w);

void worker_conn_add(struct worker *w, struct conn *c);
void worker_conn_remove(struct worker *w, struct conn *c);

/* A handed-over socket that never became a connection (out of memory):
 * counted as closed. */
void worker_conn_lost(struct worker *w);

#endif
