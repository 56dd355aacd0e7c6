/* acceptor.c: connection limits, accept pausing, and handing sockets over. */
#include "proxy/acceptor.h"

#include <unistd.h>

#include "proxy/limits.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

enum limit_reached { LIMIT_NONE, LIMIT_SERVICE, LIMIT_TOTAL };

static enum limit_reached
limit_of(const struct acceptor *a, const struct listener *l)
{
	const struct service *svc;
	unsigned total, max;

	if (l->snap == NULL)
		return LIMIT_NONE;
	svc = &l->snap->services[l->svc_index];
	total = l->snap->cfg.max_connections_total;
	max = svc->conf->max_connections;
	if (total != 0 && acceptor_open(a) >= total)
		return LIMIT_TOTAL;
	if (max != 0 && stats_get(&svc->stats->active) >= max)
		return LIMIT_SERVICE;
	return LIMIT_NONE;
}

bool
acceptor_may_accept(struct acceptor *a, struct listener *l)
{
	if (limit_of(a, l) == LIMIT_NONE)
		return true;
	acceptor_listeners_update(a);
	return false;
}

/* A listener at a connection limit stops accepting: the clients that come
 * meanwhile wait in its listen queue (nothing is refused) and are taken as
 * soon as a connection closes. Said once each way, not per client. */
void
acceptor_listeners_update(struct acceptor *a)
{
	/* before the counts are read: a close that this reading misses sees
	 * the flag and wakes the loop (acceptor_conn_closed) */
	atomic_store(&a->waiting, true);
	a->n_full = 0;
	for (struct listener *l = a->listeners; l != NULL; l = l->next) {
		enum limit_reached limit = limit_of(a, l);
		const char *name = l->snap != NULL ? l->snap->services[l->svc_index].conf->name : "?";
		bool on = !a->stopped && !a->paused && limit == LIMIT_NONE;

		if (limit != LIMIT_NONE && !l->full)
			log_notice("%s: %s reached (%u open): accepting on %s paused until a "
			    "connection closes; new clients wait in the listen queue", name,
			    limit == LIMIT_TOTAL ? "maxConnectionsTotal" : "maxConnections",
			    limit == LIMIT_TOTAL ? acceptor_open(a) : (unsigned)stats_get(
			    &l->snap->services[l->svc_index].stats->active), l->addr.label);
		else if (limit == LIMIT_NONE && l->full)
			log_info("%s: below its connection limit again: accepting on %s", name,
			    l->addr.label);
		l->full = limit != LIMIT_NONE;
		a->n_full += l->full;
		if (on && !ev_is_active(&l->io))
			ev_io_start(a->loop, &l->io);
		else if (!on && ev_is_active(&l->io))
			ev_io_stop(a->loop, &l->io);
	}
	atomic_store(&a->waiting, a->paused || a->n_full > 0);
}

static void
resume(struct acceptor *a)
{
	if (a->paused) {
		a->paused = false;
		ev_timer_stop(a->loop, &a->resume_timer);
	}
	acceptor_listeners_update(a);
}

static void
resume_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	resume(t->data);
}

static void
wake_cb(struct ev_loop *loop, ev_async *as, int revents)
{
	struct acceptor *a = as->data;

	if (a->paused || a->n_full > 0)
		resume(a);
}

void
acceptor_init(struct acceptor *a, struct ev_loop *loop, struct worker *workers,
    unsigned n_workers)
{
	*a = (struct acceptor){ .loop = loop, .workers = workers, .n_workers = n_workers };
	atomic_init(&a->open, 0);
	atomic_init(&a->waiting, false);
	ev_timer_init(&a->resume_timer, resume_timer_cb, ACCEPT_PAUSE_S, 0.);
	a->resume_timer.data = a;
	ev_async_init(&a->wake, wake_cb);
	a->wake.data = a;
	ev_async_start(loop, &a->wake);
	ev_unref(loop);                   /* the wake-up alone does not keep the loop running */
}

unsigned
acceptor_open(const struct acceptor *a)
{
	return atomic_load_explicit(&a->open, memory_order_relaxed);
}

void
acceptor_conn_closed(struct acceptor *a)
{
	atomic_fetch_sub(&a->open, 1);
	if (atomic_load(&a->waiting))
		ev_async_send(a->loop, &a->wake);
}

/* The fewest open connections; ties go round, so that a quiet daemon does
 * not put every short connection on the first worker. */
static struct worker *
least_busy(struct acceptor *a)
{
	struct worker *best = NULL;
	unsigned best_n = 0;

	for (unsigned k = 0; k < a->n_workers; k++) {
		struct worker *w = &a->workers[(a->next_worker + k) % a->n_workers];
		unsigned n = atomic_load_explicit(&w->n_conns, memory_order_relaxed);

		if (best == NULL || n < best_n) {
			best = w;
			best_n = n;
		}
	}
	a->next_worker = (a->next_worker + 1) % a->n_workers;
	return best;
}

void
acceptor_hand_over(struct acceptor *a, struct listener *l, int fd,
    const struct sockaddr *peer, socklen_t peer_len)
{
	struct service *svc = &l->snap->services[l->svc_index];
	struct worker *w = least_busy(a);

	stats_add(&svc->stats->connections, 1);
	stats_add(&svc->stats->active, 1);
	atomic_fetch_add(&a->open, 1);
	atomic_fetch_add_explicit(&w->n_conns, 1, memory_order_relaxed);
	worker_take(w, l->snap, svc, fd, peer, peer_len);
}

void
acceptor_pause(struct acceptor *a)
{
	if (a->paused)
		return;
	a->paused = true;
	acceptor_listeners_update(a);     /* stops them all */
	ev_timer_set(&a->resume_timer, ACCEPT_PAUSE_S, 0.);
	ev_timer_start(a->loop, &a->resume_timer);
}

void
acceptor_close_listeners(struct acceptor *a)
{
	struct listener *next;

	if (a->loop == NULL)
		return;
	a->stopped = true;
	for (struct listener *l = a->listeners; l != NULL; l = next) {
		next = l->next;
		listener_stop(l);
		listener_free(l);
	}
	a->listeners = NULL;
	ev_timer_stop(a->loop, &a->resume_timer);
}

void
acceptor_cleanup(struct acceptor *a)
{
	if (a->loop == NULL)
		return;
	acceptor_close_listeners(a);
	ev_ref(a->loop);
	ev_async_stop(a->loop, &a->wake);
}
