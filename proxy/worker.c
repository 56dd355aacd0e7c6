/* worker.c: a loop's connections, accept pausing and draining. */
#include "proxy/worker.h"

#include "proxy/conn.h"
#include "proxy/limits.h"
#include "proxy/listener.h"
#include "proxy/log.h"

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

static void
accept_resume(struct worker *w)
{
	if (!w->accept_paused)
		return;
	w->accept_paused = false;
	ev_timer_stop(w->loop, &w->accept_resume);
	if (!w->draining)
		listeners_set_active(w, true);
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
