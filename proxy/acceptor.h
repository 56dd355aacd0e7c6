/* acceptor.h: the listening sockets, and which worker gets each connection.
 *
 * One acceptor, on the main loop, accepts for every service and hands each
 * new socket to the worker with the fewest open connections (worker.h).
 * One acceptor rather than a listening socket per worker (SO_REUSEPORT):
 * the kernel spreads reuseport connections by a hash of their addresses,
 * blind to how busy each worker is, so hours-long IMAP connections pile up
 * unevenly; and a reload that closes a reuseport socket loses the clients
 * queued on it (bench/reuseport_spread.py shows the hash at work). Handing
 * a socket over costs one queue push and, when the worker sleeps, one
 * eventfd write: nothing beside a handshake.
 *
 * The connection limits are counted here, from hand-over to close, so that
 * sockets on their way to a worker count too: at a limit accepting pauses,
 * and the clients that come meanwhile wait in the listen queue. */
#ifndef CERTWRAP_ACCEPTOR_H
#define CERTWRAP_ACCEPTOR_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

struct listener;
struct worker;

struct acceptor {
	struct ev_loop *loop;             /* the main loop */
	struct listener *listeners;
	struct worker *workers;           /* n_workers; [0] runs on the main loop */
	unsigned n_workers;
	unsigned next_worker;             /* where the search for the least busy starts */

	atomic_uint open;                 /* connections of the whole daemon */
	ev_timer resume_timer;            /* after running out of descriptors */
	bool paused;                      /* ...until then, or until a connection closes */
	unsigned n_full;                  /* listeners paused at a connection limit */
	bool stopped;                     /* shutting down: no listener starts again */

	/* set while accepting waits for a connection to close, so that closes
	 * on other threads wake the main loop, and only then */
	atomic_bool waiting;
	ev_async wake;
};

void acceptor_init(struct acceptor *a, struct ev_loop *loop, struct worker *workers,
    unsigned n_workers);

/* Whether l may accept one more connection now (maxConnections of its
 * service, maxConnectionsTotal); when not, its accepting pauses. */
bool acceptor_may_accept(struct acceptor *a, struct listener *l);

/* Counts fd as open in its service and the daemon and gives it to the least
 * busy worker, which makes it a connection on its own loop. */
void acceptor_hand_over(struct acceptor *a, struct listener *l, int fd,
    const struct sockaddr *peer, socklen_t peer_len);

/* A connection has closed (on any thread): one fewer open, and accepting
 * resumes if it waited for that. */
void acceptor_conn_closed(struct acceptor *a);

/* Connections open in the whole daemon. */
unsigned acceptor_open(const struct acceptor *a);

/* Out of descriptors: stop accepting on every listener until a connection
 * closes or ACCEPT_PAUSE_S passes, instead of spinning on a listener that
 * stays readable. */
void acceptor_pause(struct acceptor *a);

/* Starts or stops each listener's watcher by the limits and the pause in
 * force now (after a reload, a close, the end of a pause). */
void acceptor_listeners_update(struct acceptor *a);

/* Closes every listening socket: new clients are refused from now on
 * (shutdown; the open connections are the workers' to drain). */
void acceptor_close_listeners(struct acceptor *a);

void acceptor_cleanup(struct acceptor *a);

#endif
