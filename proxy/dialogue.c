/* dialogue.c: the DIALOGUE state's reads and writes (see dialogue.h). */
#include "proxy/dialogue.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/addr.h"
#include "proxy/conn.h"
#include "proxy/limits.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"

/* Reads and writes per wakeup before other connections get their turn. */
#define DIALOGUE_ROUNDS 16

/* Read and write results: progress, none, or c was closed (and freed). */
enum io_result { IO_IDLE = 0, IO_MOVED = 1, IO_CLOSED = -1 };

static struct endpoint *
endpoint_of(struct conn *c, enum starttls_side side)
{
	return side == ST_CLIENT ? &c->client : &c->backend;
}

/* The pipe whose source is side: its src_eof records side's EOF. */
static struct pipe *
pipe_from(struct conn *c, enum starttls_side side)
{
	return side == ST_CLIENT ? &c->to_backend : &c->to_client;
}

static enum io_result
read_side(struct conn *c, enum starttls_side side)
{
	struct endpoint *ep = endpoint_of(c, side);
	struct pipe *p = pipe_from(c, side);
	size_t room;
	char *space = starttls_in_space(c->stls, side, &room);
	ssize_t n;

	if (p->src_eof || room == 0)
		return IO_IDLE;
	if ((n = recv(ep->fd, space, room, 0)) > 0) {
		starttls_in_commit(c->stls, side, (size_t)n);
		return IO_MOVED;
	}
	if (n == 0) {
		p->src_eof = true;
		if (c->first_close == END_NONE)
			c->first_close = ep->closed_end;
		return IO_MOVED;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return IO_IDLE;
	conn_set_detail(c, "%s: %s", ep->name, strerror(errno));
	conn_close(c, ep->error_end);
	return IO_CLOSED;
}

static enum io_result
write_header(struct conn *c, struct endpoint *ep, struct pipe *p)
{
	ssize_t n = send(ep->fd, buf_head(&p->buf), buf_len(&p->buf), MSG_NOSIGNAL);

	if (n > 0) {
		buf_consume(&p->buf, (size_t)n);
		p->bytes += (size_t)n;
		return IO_MOVED;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return IO_IDLE;
	conn_set_detail(c, "%s: %s", ep->name, strerror(errno));
	conn_close(c, ep->error_end);
	return IO_CLOSED;
}

/* Writes what starttls.c queued for side (the bytes going to it). */
static enum io_result
write_side(struct conn *c, enum starttls_side side)
{
	struct endpoint *ep = endpoint_of(c, side);
	struct pipe *p = side == ST_CLIENT ? &c->to_client : &c->to_backend;
	size_t len;
	const char *data = starttls_out(c->stls, side, &len);
	ssize_t n;

	/* the PROXY header (conn_queue_proxy_header) waits in the pipe: first */
	if (side == ST_BACKEND && buf_len(&p->buf) > 0)
		return write_header(c, ep, p);
	if (len == 0)
		return IO_IDLE;
	if ((n = send(ep->fd, data, len, MSG_NOSIGNAL)) > 0) {
		starttls_out_consume(c->stls, side, (size_t)n);
		p->bytes += (size_t)n;
		return IO_MOVED;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return IO_IDLE;
	conn_set_detail(c, "%s: %s", ep->name, strerror(errno));
	conn_close(c, ep->error_end);
	return IO_CLOSED;
}

static size_t
out_len(const struct conn *c, enum starttls_side side)
{
	size_t len;

	(void)starttls_out(c->stls, side, &len);
	return len + (side == ST_BACKEND ? buf_len(&c->to_backend.buf) : 0);
}

static void
arm(struct conn *c)
{
	for (enum starttls_side side = ST_CLIENT; side <= ST_BACKEND; side++) {
		size_t room;
		int events = 0;

		(void)starttls_in_space(c->stls, side, &room);
		if (room > 0 && !pipe_from(c, side)->src_eof)
			events |= EV_READ;
		if (out_len(c, side) > 0)
			events |= EV_WRITE;
		conn_io_want(c, endpoint_of(c, side), events);
	}
}

/* requireTLS = no and the client went on in plaintext: the rest of the
 * session is relayed as it is, with the filter on the backend's side. */
static void
go_plaintext(struct conn *c)
{
	char *tail;

	SSL_free(c->client.ssl);
	c->client.ssl = NULL;
	if ((tail = buf_tail(&c->to_backend.buf)) == NULL) {
		conn_close(c, END_NO_MEMORY);
		return;
	}
	buf_commit(&c->to_backend.buf,
	    starttls_take_client_rest(c->stls, tail, buf_room(&c->to_backend.buf)));
	if ((tail = buf_tail(&c->to_client.buf)) == NULL) {
		conn_close(c, END_NO_MEMORY);
		return;
	}
	buf_commit(&c->to_client.buf,
	    starttls_take_backend_rest(c->stls, tail, buf_room(&c->to_client.buf)));
	c->to_client.reserve = starttls_filter_slack();
	log_debug("%s: conn: plaintext session without STARTTLS (requireTLS = no)",
	    c->svc->conf->name);
	conn_start_relay(c);
}

/* The engine's decision, once everything it queued is written. */
static void
act(struct conn *c, enum starttls_event ev)
{
	switch (ev) {
	case ST_UPGRADE:
		conn_start_handshake(c);
		return;
	case ST_PASSTHROUGH:
		go_plaintext(c);
		return;
	case ST_CLOSE:
		conn_set_detail(c, "%s", starttls_close_reason(c->stls));
		conn_close(c, starttls_close_by_client(c->stls) ? END_CLIENT_ERROR
		    : END_BACKEND_ERROR);
		return;
	case ST_CONTINUE:
		break;
	}
}

void
dialogue_run(struct conn *c)
{
	enum starttls_event ev = ST_CONTINUE;
	enum io_result r;
	int moved = 1;

	for (int round = 0; round < DIALOGUE_ROUNDS && moved; round++) {
		moved = 0;
		for (enum starttls_side side = ST_CLIENT; side <= ST_BACKEND; side++) {
			if ((r = read_side(c, side)) == IO_CLOSED)
				return;
			moved |= r;
		}
		ev = starttls_step(c->stls);
		for (enum starttls_side side = ST_CLIENT; side <= ST_BACKEND; side++) {
			if ((r = write_side(c, side)) == IO_CLOSED)
				return;
			moved |= r;
		}
	}
	if (out_len(c, ST_CLIENT) == 0 && (out_len(c, ST_BACKEND) == 0 || ev == ST_CLOSE) &&
	    ev != ST_CONTINUE) {
		act(c, ev);
		return;
	}
	/* an end is passed on once what is owed to the other side is written */
	if (c->to_backend.src_eof && out_len(c, ST_BACKEND) == 0) {
		conn_close(c, END_CLIENT_CLOSE);
		return;
	}
	if (c->to_client.src_eof && out_len(c, ST_CLIENT) == 0) {
		conn_close(c, END_BACKEND_CLOSE);
		return;
	}
	arm(c);
	conn_timer_update(c);
}

void
dialogue_start(struct conn *c)
{
	/* TIMEOUTbusy counts from here and is not renewed by traffic: it bounds
	 * the whole dialogue */
	conn_touch(c);
	conn_timer_update(c);
	dialogue_run(c);
}

void
dialogue_drain_backend(struct conn *c)
{
	size_t room;
	char *space;
	ssize_t n;

	for (int i = 0; i < DIALOGUE_ROUNDS; i++) {
		if ((space = starttls_in_space(c->stls, ST_BACKEND, &room)) == NULL || room == 0)
			return;
		if ((n = recv(c->backend.fd, space, room, 0)) > 0) {
			starttls_in_commit(c->stls, ST_BACKEND, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			conn_set_detail(c, "backend closed during the TLS handshake");
			conn_close(c, END_BACKEND_CLOSE);
		}
		return;
	}
}

static void
log_discarded(struct conn *c)
{
	size_t from_client = starttls_discarded(c->stls, ST_CLIENT);
	size_t from_backend = starttls_discarded(c->stls, ST_BACKEND);
	char client[ADDR_LABEL_BYTES];

	if (from_client == 0 && from_backend == 0)
		return;
	addr_format((const struct sockaddr *)&c->peer, client, sizeof(client));
	log_info("%s: conn client=%s: plaintext dropped at STARTTLS: client=%zu bytes "
	    "(pipelined after STARTTLS) backend=%zu bytes (sent unasked)",
	    c->svc->conf->name, client, from_client, from_backend);
}

void
dialogue_tls_up(struct conn *c)
{
	char sink[4096];
	ssize_t n;

	/* bytes the backend sent before TLS must not pass for answers inside it */
	for (int i = 0; i < DIALOGUE_ROUNDS; i++) {
		if ((n = recv(c->backend.fd, sink, sizeof(sink), MSG_DONTWAIT)) <= 0)
			break;
		starttls_in_commit(c->stls, ST_BACKEND, (size_t)n);
	}
	log_discarded(c);
	if (starttls_tls_started(c->stls) == -1) {
		conn_close(c, END_NO_MEMORY);
		return;
	}
	c->to_client.reserve = starttls_filter_slack();
	conn_start_relay(c);
}

void
dialogue_say_fatal(struct conn *c, enum starttls_fatal why)
{
	const char *reply;

	if (c->stls == NULL || c->client.fd == -1 ||
	    (c->client.ssl != NULL && SSL_is_init_finished(c->client.ssl)))
		return;
	reply = starttls_fatal_reply(c->svc->conf->protocol, why);
	(void)send(c->client.fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
}
