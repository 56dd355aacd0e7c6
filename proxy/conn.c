/* conn.c: the connection state machine, its timeouts, and its one exit. */
#include "proxy/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "proxy/addr.h"
#include "proxy/backend.h"
#include "proxy/dialogue.h"
#include "proxy/log.h"
#include "proxy/proxyheader.h"
#include "proxy/relay.h"
#include "proxy/snapshot.h"
#include "proxy/starttls.h"
#include "proxy/stats.h"
#include "proxy/tls.h"
#include "proxy/upstream.h"
#include "proxy/worker.h"

static const char *const end_names[] = {
	[END_NONE] = "none",
	[END_CLIENT_CLOSE] = "client-close",
	[END_BACKEND_CLOSE] = "backend-close",
	[END_HANDSHAKE_FAILED] = "handshake-failed",
	[END_HANDSHAKE_TIMEOUT] = "handshake-timeout",
	[END_BACKEND_UNREACHABLE] = "backend-unreachable",
	[END_IDLE_TIMEOUT] = "idle-timeout",
	[END_BUSY_TIMEOUT] = "busy-timeout",
	[END_CLOSE_TIMEOUT] = "close-timeout",
	[END_CLIENT_ERROR] = "client-error",
	[END_BACKEND_ERROR] = "backend-error",
	[END_SHUTDOWN] = "shutdown",
	[END_NO_MEMORY] = "out-of-memory",
	[END_DIALOGUE_TIMEOUT] = "dialogue-timeout",
};

const char *
conn_end_name(enum conn_end end)
{
	return (unsigned)end < sizeof(end_names) / sizeof(end_names[0]) && end_names[end]
	    ? end_names[end] : "?";
}

void
conn_set_detail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->end_detail[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->end_detail, sizeof(c->end_detail), fmt, ap);
	va_end(ap);
}

void
conn_io_want(struct conn *c, struct endpoint *ep, int events)
{
	struct ev_loop *loop = c->worker->loop;
	ev_io *io = &ep->io;

	if ((io->events & (EV_READ | EV_WRITE)) == events && ev_is_active(io) == (events != 0))
		return;
	ev_io_stop(loop, io);
	ev_io_set(io, io->fd, events);
	if (events != 0)
		ev_io_start(loop, io);
}

/* --- timeouts ----------------------------------------------------------------- */

/* The inactivity limit that applies now, in seconds. */
static double
conn_limit_s(const struct conn *c)
{
	const struct service_conf *sc = c->svc->conf;

	switch (c->state) {
	case CONN_HANDSHAKE:
	case CONN_UPSTREAM_STARTTLS:
	case CONN_DIALOGUE:
		return sc->timeout_busy_s;
	case CONN_CONNECTING:
		return sc->timeout_connect_s;
	case CONN_RELAY:
		break;
	}
	/* data waiting for a peer that does not take it: TIMEOUTbusy */
	if (buf_len(&c->to_backend.buf) > 0 || buf_len(&c->to_client.buf) > 0)
		return sc->timeout_busy_s;
	/* one side has finished: wait TIMEOUTclose for the other */
	if (c->to_backend.dst_shut || c->to_client.dst_shut)
		return sc->timeout_close_s;
	return sc->timeout_idle_s;
}

static enum conn_end
conn_timeout_end(const struct conn *c)
{
	if (c->state == CONN_HANDSHAKE || c->state == CONN_UPSTREAM_STARTTLS)
		return END_HANDSHAKE_TIMEOUT;
	if (c->state == CONN_DIALOGUE)
		return END_DIALOGUE_TIMEOUT;
	if (buf_len(&c->to_backend.buf) > 0 || buf_len(&c->to_client.buf) > 0)
		return END_BUSY_TIMEOUT;
	if (c->to_backend.dst_shut || c->to_client.dst_shut)
		return END_CLOSE_TIMEOUT;
	return END_IDLE_TIMEOUT;
}

static void
timer_start_at(struct conn *c, ev_tstamp deadline)
{
	ev_tstamp now = ev_now(c->worker->loop);

	ev_timer_stop(c->worker->loop, &c->timer);
	ev_timer_set(&c->timer, deadline > now ? deadline - now : 0., 0.);
	ev_timer_start(c->worker->loop, &c->timer);
	c->timer_deadline = deadline;
}

/* libev's cheapest pattern for inactivity timeouts: progress only moves
 * last_activity; the timer is restarted only when the limit shrank, and
 * otherwise re-checks when it fires. */
void
conn_timer_update(struct conn *c)
{
	ev_tstamp deadline = c->last_activity + conn_limit_s(c);

	if (!ev_is_active(&c->timer) || deadline < c->timer_deadline)
		timer_start_at(c, deadline);
}

void
conn_touch(struct conn *c)
{
	c->last_activity = ev_now(c->worker->loop);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = t->data;
	ev_tstamp deadline = c->last_activity + conn_limit_s(c);

	if (deadline > ev_now(loop)) {
		timer_start_at(c, deadline);
		return;
	}
	if (c->state == CONN_CONNECTING) {
		backend_connect_timeout(c);
		return;
	}
	if (c->state == CONN_DIALOGUE) {
		dialogue_say_fatal(c, ST_FATAL_TIMEOUT);
		conn_set_detail(c, "no STARTTLS within TIMEOUTbusy = %.0fs", conn_limit_s(c));
	}
	conn_set_detail(c, "no progress for %.0fs", conn_limit_s(c));
	conn_close(c, conn_timeout_end(c));
}

/* --- handshake ------------------------------------------------------------------- */

bool
conn_is_client_mode(const struct conn *c)
{
	return c->tls_side == &c->backend;
}

static void
handshake_step(struct conn *c)
{
	char reason[128];
	int rc, err;

	ERR_clear_error();
	if ((rc = SSL_do_handshake(c->tls_side->ssl)) == 1) {
		stats_add(&c->svc->stats->handshakes, 1);
		c->tls_up = true;
		conn_io_want(c, c->tls_side, 0);
		if (conn_is_client_mode(c)) {
			upstream_tls_ready(c);
			return;
		}
		if (c->backend_up) {
			dialogue_tls_up(c);          /* STARTTLS: the backend is there already */
			return;
		}
		c->state = CONN_CONNECTING;
		backend_connect_start(c);
		return;
	}
	err = SSL_get_error(c->tls_side->ssl, rc);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		conn_io_want(c, c->tls_side, err == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
		return;
	}
	tls_failure_reason(c->tls_side->ssl, err, reason, sizeof(reason));
	if (conn_is_client_mode(c))
		upstream_tls_failed(c, reason);
	conn_set_detail(c, "%s", reason);
	conn_close(c, END_HANDSHAKE_FAILED);
}

/* The header is put at the head of the (still empty) client-to-backend
 * pipe, so the relay sends it first, with the pipe's own partial-write
 * handling. The destination is the address the client reached, our side of
 * its socket. */
int
conn_queue_proxy_header(struct conn *c)
{
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	struct buf *b = &c->to_backend.buf;
	char *tail;
	int n;

	if (c->svc->conf->proxy_header == PROXY_HEADER_NONE)
		return 0;
	if (buf_len(b) != 0 || buf_room(b) < PROXYHEADER_MAX_BYTES) {
		conn_set_detail(c, "PROXY header: client bytes queued before it");
		return -1;
	}
	if (getsockname(c->client.fd, (struct sockaddr *)&local, &local_len) == -1) {
		conn_set_detail(c, "PROXY header: getsockname: %s", strerror(errno));
		return -1;
	}
	if ((tail = buf_tail(b)) == NULL) {
		conn_set_detail(c, "PROXY header: out of memory");
		return -1;
	}
	n = proxyheader_encode(c->svc->conf->proxy_header, (const struct sockaddr *)&c->peer,
	    (const struct sockaddr *)&local, (unsigned char *)tail, buf_room(b));
	if (n < 0) {
		conn_set_detail(c, "PROXY header: does not fit");
		return -1;
	}
	buf_commit(b, (size_t)n);
	c->proxy_header_bytes = (size_t)n;
	return 0;
}

void
conn_backend_connected(struct conn *c)
{
	c->backend_up = true;
	if (conn_is_client_mode(c)) {
		upstream_start(c);
		return;
	}
	/* the PROXY header goes first, before any byte of a dialogue too */
	if (conn_queue_proxy_header(c) == -1) {
		conn_close(c, END_BACKEND_ERROR);
		return;
	}
	if (c->stls != NULL) {
		c->state = CONN_DIALOGUE;
		dialogue_start(c);
		return;
	}
	conn_start_relay(c);
}

void
conn_backend_unreachable(struct conn *c)
{
	enum service_protocol implicit = c->svc->conf->implicit_protocol;

	/* a mail client gets its protocol's "try again later", not a bare close:
	 * in plaintext before STARTTLS, inside TLS for smtps, imaps and pop3s
	 * (one small record on a socket that has sent nothing yet) */
	dialogue_say_fatal(c, ST_FATAL_UNAVAILABLE);
	if (implicit != PROTOCOL_NONE && c->client.ssl != NULL &&
	    SSL_is_init_finished(c->client.ssl)) {
		const char *reply = starttls_fatal_reply(implicit, ST_FATAL_UNAVAILABLE);

		ERR_clear_error();
		(void)SSL_write(c->client.ssl, reply, (int)strlen(reply));
	}
	conn_close(c, END_BACKEND_UNREACHABLE);
}

void
conn_start_relay(struct conn *c)
{
	c->state = CONN_RELAY;
	relay_start(c);
}

void
conn_sni_chosen(struct conn *c, struct service *svc, struct service *primary,
    struct tlsctx *tls)
{
	struct service *relay = svc->conf->n_connect > 0 ? svc : primary;

	tlsctx_unref(c->tls);
	c->tls = tls;
	c->sni_chosen = svc;
	if (relay == c->svc)
		return;
	stats_add(&relay->stats->connections, 1);
	stats_add(&relay->stats->active, 1);
	atomic_fetch_sub_explicit(&c->svc->stats->active, 1, memory_order_relaxed);
	c->svc = relay;
}

void
conn_start_handshake(struct conn *c)
{
	c->state = CONN_HANDSHAKE;
	/* after STARTTLS the backend is watched meanwhile: what it sends
	 * unasked is dropped (in client mode the backend is the TLS side) */
	if (c->stls != NULL)
		conn_io_want(c, &c->backend, EV_READ);
	conn_touch(c);
	conn_timer_update(c);
	handshake_step(c);
}

/* --- accept and close ------------------------------------------------------------- */

static void
endpoint_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;

	switch (c->state) {
	case CONN_HANDSHAKE:
		/* after STARTTLS the backend is watched for what it sends unasked;
		 * in client mode the handshake is the backend's */
		if (io == &c->backend.io && c->stls != NULL)
			dialogue_drain_backend(c);
		else
			handshake_step(c);
		break;
	case CONN_DIALOGUE:
		dialogue_run(c);
		break;
	case CONN_CONNECTING:
		if (io == &c->backend.io)
			backend_connect_event(c);
		break;
	case CONN_UPSTREAM_STARTTLS:
		if (io == &c->backend.io)
			upstream_dialogue_event(c);
		break;
	case CONN_RELAY:
		relay_run(c);
		break;
	}
}

static void
endpoint_init(struct endpoint *ep, struct conn *c, int fd, const char *name,
    enum conn_end closed_end, enum conn_end error_end)
{
	ep->fd = fd;
	ep->name = name;
	ep->closed_end = closed_end;
	ep->error_end = error_end;
	ev_io_init(&ep->io, endpoint_io_cb, fd, 0);
	ep->io.data = c;
}

static void
pipe_init(struct pipe *p, struct endpoint *src, struct endpoint *dst)
{
	p->src = src;
	p->dst = dst;
}

/* Relayed mail protocols are chatty request/response dialogues: Nagle's
 * algorithm would hold a small reply until the previous segment is acked
 * (up to the peer's delayed-ACK timer, 40 ms on Linux). We always write whole
 * chunks, so disabling it costs nothing. */
void
conn_set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void
conn_refuse_no_memory(struct worker *w, struct service *svc, int fd,
    const struct sockaddr *peer)
{
	char label[ADDR_LABEL_BYTES];

	addr_format(peer, label, sizeof(label));
	log_error("%s: conn client=%s refused: out of memory", svc->conf->name, label);
	close(fd);
	atomic_fetch_sub_explicit(&svc->stats->active, 1, memory_order_relaxed);
	worker_conn_lost(w);
}

void
conn_accept(struct worker *w, struct snapshot *snap, struct service *svc, int fd,
    const struct sockaddr *peer, socklen_t peer_len)
{
	struct conn *c = calloc(1, sizeof(*c));
	const struct service_conf *sc = svc->conf;
	const bool client_mode = sc->client;

	/* client mode: the client speaks plaintext; the TLS is made later,
	 * towards the backend (upstream.c) */
	if (c == NULL || (c->tls = service_tls_acquire(svc)) == NULL ||
	    (!client_mode && (c->client.ssl = tlsctx_new_ssl(c->tls, fd)) == NULL) ||
	    (sc->protocol != PROTOCOL_NONE && !client_mode &&
	     (c->stls = starttls_new(sc->protocol, sc->require_tls)) == NULL)) {
		if (c != NULL) {
			SSL_free(c->client.ssl);
			tlsctx_unref(c->tls);
		}
		free(c);
		conn_refuse_no_memory(w, svc, fd, peer);
		return;
	}
	if (c->client.ssl != NULL)
		SSL_set_app_data(c->client.ssl, c);    /* for sni_servername_cb */
	c->worker = w;
	c->snap = snapshot_ref(snap);
	c->svc = svc;           /* counted by the acceptor (acceptor_hand_over) */
	endpoint_init(&c->client, c, fd, "client", END_CLIENT_CLOSE, END_CLIENT_ERROR);
	endpoint_init(&c->backend, c, -1, "backend", END_BACKEND_CLOSE, END_BACKEND_ERROR);
	c->tls_side = client_mode ? &c->backend : &c->client;
	pipe_init(&c->to_backend, &c->client, &c->backend);
	pipe_init(&c->to_client, &c->backend, &c->client);
	memcpy(&c->peer, peer, peer_len);
	c->peer_len = peer_len;
	conn_set_nodelay(fd);
	ev_init(&c->timer, timer_cb);
	c->timer.data = c;
	worker_conn_add(w, c);
	c->started = ev_now(w->loop);
	if (client_mode) {
		c->state = CONN_CONNECTING;
		backend_connect_start(c);
		return;
	}
	conn_touch(c);
	conn_timer_update(c);
	if (c->stls != NULL) {
		/* STARTTLS: the backend's greeting opens the dialogue */
		c->state = CONN_CONNECTING;
		backend_connect_start(c);
		return;
	}
	c->state = CONN_HANDSHAKE;
	/* the ClientHello has usually arrived with the connection */
	handshake_step(c);
}

/* Bytes the client sent that reached the backend: the PROXY header is ours. */
static uint64_t
conn_bytes_in(const struct conn *c)
{
	uint64_t sent = c->to_backend.bytes;

	return sent > c->proxy_header_bytes ? sent - c->proxy_header_bytes : 0;
}

static void
conn_log_summary(const struct conn *c)
{
	const bool tls_up = c->tls_up;
	char client[ADDR_LABEL_BYTES];
	const char *backend = c->backend_up ? c->svc->targets[c->target].label : "-";

	if (!log_enabled(LOG_LVL_INFO))
		return;
	addr_format((const struct sockaddr *)&c->peer, client, sizeof(client));
	log_info("%s: conn client=%s tls=%s cipher=%s backend=%s in=%llu out=%llu "
	    "time=%.3fs end=%s%s%s%s", c->svc->conf->name, client,
	    tls_up ? SSL_get_version(c->tls_side->ssl) : "-",
	    tls_up ? SSL_get_cipher_name(c->tls_side->ssl) : "-", backend,
	    (unsigned long long)conn_bytes_in(c), (unsigned long long)c->to_client.bytes,
	    ev_now(c->worker->loop) - c->started, conn_end_name(c->end),
	    c->end_detail[0] ? " reason=\"" : "", c->end_detail, c->end_detail[0] ? "\"" : "");
}

/* A last close_notify, best effort, when the TLS session is still sound. */
static void
conn_say_goodbye(struct conn *c)
{
	switch (c->end) {
	case END_HANDSHAKE_FAILED:
	case END_HANDSHAKE_TIMEOUT:
	case END_CLIENT_ERROR:
	case END_NO_MEMORY:
		return;
	default:
		break;
	}
	if (!c->tls_up || c->tls_side->ssl == NULL)
		return;
	/* the pipe into the TLS side has not sent its close_notify yet */
	if (!(c->tls_side == &c->client ? c->to_client.dst_shut : c->to_backend.dst_shut)) {
		ERR_clear_error();
		(void)SSL_shutdown(c->tls_side->ssl);
		ERR_clear_error();
	}
}

/* Closing a socket with unread input makes the kernel send a RST, which can
 * overtake the alert or close_notify just written: a client refused in the
 * handshake would see "connection reset" instead of the reason. So unread
 * input is discarded first (bounded: a flood only gets the RST). */
static void
discard_unread(int fd)
{
	char sink[4096];

	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
}

static void
endpoint_close(struct conn *c, struct endpoint *ep)
{
	ev_io_stop(c->worker->loop, &ep->io);
	SSL_free(ep->ssl);
	ep->ssl = NULL;
	if (ep->fd != -1) {
		discard_unread(ep->fd);
		close(ep->fd);
		ep->fd = -1;
	}
}

static void
conn_count(const struct conn *c)
{
	struct service_stats *s = c->svc->stats;

	if (c->end == END_HANDSHAKE_FAILED)
		stats_handshake_failed(s, c->end_detail[0] ? c->end_detail : "unknown");
	else if (c->end == END_HANDSHAKE_TIMEOUT)
		stats_handshake_failed(s, "timed out (TIMEOUTbusy)");
	else if (c->end == END_BACKEND_UNREACHABLE)
		stats_add(&s->backend_failures, 1);
	stats_add(&s->bytes_in, conn_bytes_in(c));
	stats_add(&s->bytes_out, c->to_client.bytes);
	atomic_fetch_sub_explicit(&s->active, 1, memory_order_relaxed);
}

void
conn_close(struct conn *c, enum conn_end end)
{
	struct ev_loop *loop = c->worker->loop;

	c->end = end;
	if (conn_is_client_mode(c))
		upstream_close(c);
	conn_say_goodbye(c);
	conn_log_summary(c);
	conn_count(c);
	ev_timer_stop(loop, &c->timer);
	endpoint_close(c, &c->client);
	endpoint_close(c, &c->backend);
	buf_release(&c->to_backend.buf);
	buf_release(&c->to_client.buf);
	starttls_free(c->stls);
	tlsctx_unref(c->tls);
	snapshot_unref(c->snap);
	worker_conn_remove(c->worker, c);
	free(c);
}
