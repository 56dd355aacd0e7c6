/* worker.c: a loop's connections, its thread, its inbox, its draining. */
#include "proxy/worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/acceptor.h"
#include "proxy/addr.h"
#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"

/* An accepted socket on its way to a threaded worker. */
struct handoff {
	struct handoff *next;
	struct snapshot *snap;            /* referenced */
	struct service *svc;              /* inside snap */
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

static void
log_connections(struct worker *w)
{
	ev_tstamp now = ev_now(w->loop);
	static const char *const states[] = {
		[CONN_HANDSHAKE] = "handshake", [CONN_CONNECTING] = "connecting",
		[CONN_UPSTREAM_STARTTLS] = "upstream-starttls", [CONN_RELAY] = "relay",
		[CONN_DIALOGUE] = "dialogue",
	};

	for (struct conn *c = w->conns; c != NULL; c = c->next) {
		char client[ADDR_LABEL_BYTES];

		addr_format((const struct sockaddr *)&c->peer, client, sizeof(client));
		log_notice("connections: %s client=%s state=%s age=%.0fs in=%llu out=%llu "
		    "worker=%u", c->svc->conf->name, client, states[c->state], now - c->started,
		    (unsigned long long)c->to_backend.bytes, (unsigned long long)c->to_client.bytes,
		    w->index);
	}
}

/* Once: the callback is dropped as it is called. */
static void
tell_if_drained(struct worker *w)
{
	void (*on_drained)(struct worker *) = w->on_drained;

	if (!w->draining || atomic_load(&w->n_conns) != 0 || on_drained == NULL)
		return;
	w->on_drained = NULL;
	on_drained(w);
}

static void
drain(struct worker *w)
{
	w->draining = true;
	tell_if_drained(w);
}

static void
close_all(struct worker *w)
{
	while (w->conns != NULL)
		conn_close(w->conns, END_SHUTDOWN);
}

static void
do_requests(struct worker *w, unsigned requests)
{
	if (requests & WORKER_LOG_CONNECTIONS)
		log_connections(w);
	if ((requests & WORKER_DRAIN) && !w->draining)
		drain(w);
	if (requests & WORKER_STOP) {
		close_all(w);
		if (w->threaded)
			ev_break(w->loop, EVBREAK_ALL);
	}
}

/* The inbox in arrival order: sockets first, so that a drain or a stop
 * counts (and closes) those handed over before it. */
static void
inbox_cb(struct ev_loop *loop, ev_async *as, int revents)
{
	struct worker *w = as->data;
	struct handoff *list, *ordered = NULL, *next;
	unsigned requests;

	pthread_mutex_lock(&w->inbox_lock);
	list = w->inbox;
	w->inbox = NULL;
	requests = w->requests;
	w->requests = 0;
	pthread_mutex_unlock(&w->inbox_lock);
	for (; list != NULL; list = next) {
		next = list->next;
		list->next = ordered;
		ordered = list;
	}
	for (struct handoff *h = ordered; h != NULL; h = next) {
		next = h->next;
		conn_accept(w, h->snap, h->svc, h->fd, (struct sockaddr *)&h->peer, h->peer_len);
		snapshot_unref(h->snap);
		free(h);
	}
	do_requests(w, requests);
}

void
worker_init(struct worker *w, struct ev_loop *loop, struct acceptor *a)
{
	*w = (struct worker){ .loop = loop, .acceptor = a };
	atomic_init(&w->n_conns, 0);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop, 0);
	return NULL;
}

int
worker_start_thread(struct worker *w, unsigned index, struct acceptor *a, char *err,
    size_t errlen)
{
	sigset_t all, was;
	int rc;

	worker_init(w, ev_loop_new(EVFLAG_AUTO), a);
	if (w->loop == NULL) {
		snprintf(err, errlen, "worker %u: cannot make its event loop (libev)", index);
		return -1;
	}
	w->index = index;
	w->threaded = true;
	pthread_mutex_init(&w->inbox_lock, NULL);
	ev_async_init(&w->inbox_ready, inbox_cb);
	w->inbox_ready.data = w;
	ev_async_start(w->loop, &w->inbox_ready);     /* keeps the loop running */
	/* signals are the main loop's: the thread inherits this mask */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &was);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "worker %u: cannot start its thread: %s", index, strerror(rc));
		ev_async_stop(w->loop, &w->inbox_ready);
		ev_loop_destroy(w->loop);
		pthread_mutex_destroy(&w->inbox_lock);
		w->loop = NULL;
		w->threaded = false;
		return -1;
	}
	return 0;
}

void
worker_take(struct worker *w, struct snapshot *snap, struct service *svc, int fd,
    const struct sockaddr *peer, socklen_t peer_len)
{
	struct handoff *h;

	if (!w->threaded) {
		conn_accept(w, snap, svc, fd, peer, peer_len);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		conn_refuse_no_memory(w, svc, fd, peer);
		return;
	}
	*h = (struct handoff){ .snap = snapshot_ref(snap), .svc = svc, .fd = fd,
	    .peer_len = peer_len };
	memcpy(&h->peer, peer, peer_len);
	pthread_mutex_lock(&w->inbox_lock);
	h->next = w->inbox;
	w->inbox = h;
	pthread_mutex_unlock(&w->inbox_lock);
	ev_async_send(w->loop, &w->inbox_ready);
}

void
worker_request(struct worker *w, unsigned requests)
{
	if (!w->threaded) {
		do_requests(w, requests);
		return;
	}
	pthread_mutex_lock(&w->inbox_lock);
	w->requests |= requests;
	pthread_mutex_unlock(&w->inbox_lock);
	ev_async_send(w->loop, &w->inbox_ready);
}

void
worker_stop(struct worker *w)
{
	if (w->loop == NULL)
		return;
	if (!w->threaded) {
		close_all(w);
		return;
	}
	worker_request(w, WORKER_STOP);
	pthread_join(w->thread, NULL);
	/* sockets handed over after the stop was read: never begun */
	inbox_cb(w->loop, &w->inbox_ready, 0);
	close_all(w);
	ev_async_stop(w->loop, &w->inbox_ready);
	ev_loop_destroy(w->loop);
	pthread_mutex_destroy(&w->inbox_lock);
	w->loop = NULL;
	w->threaded = false;
}

void
worker_conn_add(struct worker *w, struct conn *c)
{
	c->prev = NULL;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
}

void
worker_conn_lost(struct worker *w)
{
	atomic_fetch_sub(&w->n_conns, 1);
	acceptor_conn_closed(w->acceptor);
	tell_if_drained(w);
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
	worker_conn_lost(w);
}
