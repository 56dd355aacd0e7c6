/* worker.c: a loop's connections, accept pausing and draining. */
#include "proxy/worker.h"

#include "proxy/conn.h"
#include "proxy/limits.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"

static void
listeners_set_active(struct worker *w, bool active)
{
	for (struct listener *l = w->listeners; l != NULL; l = l->next) {
		if (active && !ev_is_active(&l->io))
			ev_io_start(w->loop, &l->io);
		else if (!active)
			ev_io_stop(w->loop, &l->io);
	}
}

enum limit_reached { LIMIT_NONE, LIMIT_SERVICE, LIMIT_TOTAL };

static enum limit_reached
limit_of(const struct worker *w, const struct listener *l)
{
	const struct service *svc;
	unsigned total, max;

	if (l->snap == NULL)
		return LIMIT_NONE;
	svc = &l->snap->services[l->svc_index];
	total = l->snap->cfg.max_connections_total;
	max = svc->conf->max_connections;
	if (total != 0 && w->n_conns >= total)
		return LIMIT_TOTAL;
	if (max != 0 && stats_get(&svc->stats->active) >= max)
		return LIMIT_SERVICE;
	return LIMIT_NONE;
}

bool
worker_may_accept(struct worker *w, struct listener *l)
{
	if (limit_of(w, l) == LIMIT_NONE)
		return true;
	worker_listeners_update(w);
	return false;
}

/* A listener at a connection limit stops accepting: the clients that come
 * meanwhile wait in its listen queue (nothing is refused) and are taken as
 * soon as a connection closes. Said once each way, not per client. */
void
worker_listeners_update(struct worker *w)
{
	w->n_full = 0;
	for (struct listener *l = w->listeners; l != NULL; l = l->next) {
		enum limit_reached limit = limit_of(w, l);
		const char *name = l->snap != NULL ? l->snap->services[l->svc_index].conf->name : "?";
		bool on = !w->draining && !w->accept_paused && limit == LIMIT_NONE;

		if (limit != LIMIT_NONE && !l->full)
			log_notice("%s: %s reached (%u open): accepting on %s paused until a "
			    "connection closes; new clients wait in the listen queue", name,
			    limit == LIMIT_TOTAL ? "maxConnectionsTotal" : "maxConnections",
			    limit == LIMIT_TOTAL ? w->n_conns : (unsigned)stats_get(
			    &l->snap->services[l->svc_index].stats->active), l->addr.label);
		else if (limit == LIMIT_NONE && l->full)
			log_info("%s: below its connection limit again: accepting on %s", name,
			    l->addr.label);
		l->full = limit != LIMIT_NONE;
		w->n_full += l->full;
		if (on && !ev_is_active(&l->io))
			ev_io_start(w->loop, &l->io);
		else if (!on && ev_is_active(&l->io))
			ev_io_stop(w->loop, &l->io);
	}
}

static void
accept_resume(struct worker *w)
{
	if (!w->accept_paused)
		return;
	w->accept_paused = false;
	ev_timer_stop(w->loop, &w->accept_resume);
	worker_listeners_update(w);
}

static void
accept_resume_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	accept_resume(t->data);
}

void
worker_init(struct worker *w, struct ev_loop *loop)
{
	*w = (struct worker){ .loop = loop };
	ev_timer_init(&w->accept_resume, accept_resume_cb, ACCEPT_PAUSE_S, 0.);
	w->accept_resume.data = w;
}

void
worker_conn_add(struct worker *w, struct conn *c)
{
	c->prev = NULL;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
}

void
worker_conn_remove(struct worker *w, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->n_conns--;
	/* a descriptor was just freed: accepting can go on */
	accept_resume(w);
	if (w->n_full > 0)
		worker_listeners_update(w);
	if (w->draining && w->n_conns == 0 && w->on_drained != NULL)
		w->on_drained(w);
}

void
worker_pause_accept(struct worker *w)
{
	if (w->accept_paused)
		return;
	w->accept_paused = true;
	listeners_set_active(w, false);
	ev_timer_set(&w->accept_resume, ACCEPT_PAUSE_S, 0.);
	ev_timer_start(w->loop, &w->accept_resume);
}

void
worker_drain(struct worker *w)
{
	w->draining = true;
	listeners_set_active(w, false);
	if (w->n_conns == 0 && w->on_drained != NULL)
		w->on_drained(w);
}

void
worker_close_all(struct worker *w)
{
	while (w->conns != NULL)
		conn_close(w->conns, END_SHUTDOWN);
}
