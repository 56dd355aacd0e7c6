/* relay.c: the two pipes, their reads and writes, and watcher arming.
 *
 * Either side may be TLS (the client for a server, the backend in client
 * mode); each pipe reads its source and writes its destination with
 * SSL_read/SSL_write or recv/send accordingly, and passes an end on as
 * close_notify or a TCP half-close.
 *
 * TLS specifics: SSL_read may need the socket writable and SSL_write
 * readable (read_wants_write and write_wants_read record it, and
 * endpoint_events arms the other event); bytes SSL_read has already
 * decrypted never wake libev, so the reader keeps reading until OpenSSL says
 * WANT_READ or the buffer is full; an SSL_write that could not finish is
 * repeated with the same bytes. */
#include "proxy/relay.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy/conn.h"
#include "proxy/limits.h"
#include "proxy/starttls.h"
#include "proxy/tls.h"

/* What a pump step did: moved something, nothing, or closed the connection
 * (after which c is freed and must not be touched). */
enum pump { PUMP_IDLE = 0, PUMP_MOVED = 1, PUMP_CLOSED = -1 };

static void
source_ended(struct conn *c, struct pipe *p, enum conn_end who)
{
	p->src_eof = true;
	if (c->first_close == END_NONE)
		c->first_close = who;
}

static enum pump
fail(struct conn *c, enum conn_end end, const char *what, SSL *ssl, int ssl_err)
{
	char reason[96];

	if (ssl != NULL)
		conn_set_detail(c, "%s: %s", what, tls_failure_reason(ssl, ssl_err, reason,
		    sizeof(reason)));
	else
		conn_set_detail(c, "%s: %s", what, strerror(errno));
	conn_close(c, end);
	return PUMP_CLOSED;
}

/* --- reading a pipe's source ------------------------------------------------------------ */

static enum pump
tls_read_into(struct conn *c, struct pipe *p)
{
	enum pump moved = PUMP_IDLE;

	while (!p->src_eof && buf_room(&p->buf) > 0) {
		char *dst = buf_tail(&p->buf);
		int n, err;

		if (dst == NULL)
			return fail(c, END_NO_MEMORY, "relay buffer", NULL, 0);
		ERR_clear_error();
		if ((n = SSL_read(p->src->ssl, dst, (int)buf_room(&p->buf))) > 0) {
			buf_commit(&p->buf, (size_t)n);
			if (p == &c->to_backend && c->stls != NULL)
				starttls_observe_client(c->stls, dst, (size_t)n);
			p->read_wants_write = false;
			moved = PUMP_MOVED;
			continue;
		}
		err = SSL_get_error(p->src->ssl, n);
		p->read_wants_write = err == SSL_ERROR_WANT_WRITE;
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			break;
		if (err != SSL_ERROR_ZERO_RETURN)
			return fail(c, p->src->error_end, p->src->name, p->src->ssl, err);
		/* close_notify, or a TCP EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
		source_ended(c, p, p->src->closed_end);
		moved = PUMP_MOVED;
	}
	/* nothing arrived: an idle connection keeps no buffer */
	if (buf_len(&p->buf) == 0)
		buf_release(&p->buf);
	return moved;
}

static enum pump
plain_read_into(struct conn *c, struct pipe *p)
{
	enum pump moved = PUMP_IDLE;

	while (!p->src_eof && buf_room(&p->buf) > 0) {
		char *dst = buf_tail(&p->buf);
		ssize_t n;

		if (dst == NULL)
			return fail(c, END_NO_MEMORY, "relay buffer", NULL, 0);
		if ((n = recv(p->src->fd, dst, buf_room(&p->buf), 0)) > 0) {
			buf_commit(&p->buf, (size_t)n);
			if (p == &c->to_backend && c->stls != NULL)
				starttls_observe_client(c->stls, dst, (size_t)n);
			moved = PUMP_MOVED;
		} else if (n == 0) {
			source_ended(c, p, p->src->closed_end);
			moved = PUMP_MOVED;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			return fail(c, p->src->error_end, p->src->name, NULL, 0);
		}
	}
	if (buf_len(&p->buf) == 0)
		buf_release(&p->buf);
	return moved;
}

/* The backend's plaintext after STARTTLS: through the filter, which may
 * hold a line back, so the pipe keeps `reserve` bytes of room for it. */
static enum pump
filtered_read_into(struct conn *c, struct pipe *p)
{
	char staging[RELAY_BUF_BYTES];
	enum pump moved = PUMP_IDLE;

	while (!p->src_eof && buf_room(&p->buf) > p->reserve) {
		char *dst = buf_tail(&p->buf);
		ssize_t n;

		if (dst == NULL)
			return fail(c, END_NO_MEMORY, "relay buffer", NULL, 0);
		if ((n = recv(p->src->fd, staging, buf_room(&p->buf) - p->reserve, 0)) > 0) {
			buf_commit(&p->buf, starttls_filter(c->stls, staging, (size_t)n, dst,
			    buf_room(&p->buf)));
			moved = PUMP_MOVED;
		} else if (n == 0) {
			buf_commit(&p->buf, starttls_filter_finish(c->stls, dst, buf_room(&p->buf)));
			source_ended(c, p, p->src->closed_end);
			moved = PUMP_MOVED;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			return fail(c, p->src->error_end, p->src->name, NULL, 0);
		}
	}
	if (buf_len(&p->buf) == 0)
		buf_release(&p->buf);
	return moved;
}

/* --- writing to a pipe's destination ------------------------------------------------------ */

static enum pump
plain_write_from(struct conn *c, struct pipe *p)
{
	enum pump moved = PUMP_IDLE;

	while (buf_len(&p->buf) > 0) {
		ssize_t n = send(p->dst->fd, buf_head(&p->buf), buf_len(&p->buf), MSG_NOSIGNAL);

		if (n > 0) {
			p->bytes += (size_t)n;
			buf_consume(&p->buf, (size_t)n);
			moved = PUMP_MOVED;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			return fail(c, p->dst->error_end, p->dst->name, NULL, 0);
		}
	}
	if (p->src_eof && buf_len(&p->buf) == 0 && !p->dst_shut) {
		/* the other side's end, passed on as a TCP half-close */
		(void)shutdown(p->dst->fd, SHUT_WR);
		p->dst_shut = true;
		moved = PUMP_MOVED;
	}
	return moved;
}

static enum pump
tls_send_close_notify(struct conn *c, struct pipe *p)
{
	int r, err;

	ERR_clear_error();
	if ((r = SSL_shutdown(p->dst->ssl)) >= 0) {
		p->dst_shut = true;
		p->write_wants_read = false;
		return PUMP_MOVED;
	}
	err = SSL_get_error(p->dst->ssl, r);
	if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
		p->write_wants_read = err == SSL_ERROR_WANT_READ;
		return PUMP_IDLE;
	}
	/* the peer is gone: there is no one to tell */
	ERR_clear_error();
	p->dst_shut = true;
	return PUMP_MOVED;
}

static enum pump
tls_write_from(struct conn *c, struct pipe *p)
{
	enum pump moved = PUMP_IDLE;

	while (buf_len(&p->buf) > 0) {
		size_t len = p->tls_write_len ? p->tls_write_len : buf_len(&p->buf);
		int n, err;

		ERR_clear_error();
		if ((n = SSL_write(p->dst->ssl, buf_head(&p->buf), (int)len)) > 0) {
			p->tls_write_len = 0;
			p->write_wants_read = false;
			p->bytes += (size_t)n;
			buf_consume(&p->buf, (size_t)n);
			moved = PUMP_MOVED;
			continue;
		}
		err = SSL_get_error(p->dst->ssl, n);
		if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
			return fail(c, p->dst->error_end, p->dst->name, p->dst->ssl, err);
		p->tls_write_len = len;             /* OpenSSL wants the same bytes again */
		p->write_wants_read = err == SSL_ERROR_WANT_READ;
		return moved;
	}
	if (p->src_eof && !p->dst_shut)
		return tls_send_close_notify(c, p) == PUMP_MOVED ? PUMP_MOVED : moved;
	return moved;
}

/* One pipe: read what its source has, write what its destination takes. */
static enum pump
pipe_pump(struct conn *c, struct pipe *p)
{
	enum pump r, moved;

	if (p->src->ssl != NULL)
		r = tls_read_into(c, p);
	else if (p == &c->to_client && c->stls != NULL)
		r = filtered_read_into(c, p);
	else
		r = plain_read_into(c, p);
	if (r == PUMP_CLOSED)
		return PUMP_CLOSED;
	moved = r;
	if ((r = p->dst->ssl ? tls_write_from(c, p) : plain_write_from(c, p)) == PUMP_CLOSED)
		return PUMP_CLOSED;
	return moved | r;
}

/* --- the loop and the watchers ------------------------------------------------------ */

/* What an endpoint waits for, as the source of one pipe and the
 * destination of the other. TLS may need the opposite event. */
static int
endpoint_events(const struct endpoint *ep, const struct pipe *from, const struct pipe *to)
{
	bool reading = !from->src_eof && buf_room(&from->buf) > from->reserve;
	bool writing = buf_len(&to->buf) > 0 || (to->src_eof && !to->dst_shut);
	int events = 0;

	if (reading)
		events |= ep->ssl && from->read_wants_write ? EV_WRITE : EV_READ;
	if (writing)
		events |= ep->ssl && to->write_wants_read ? EV_READ : EV_WRITE;
	return events;
}

static void
relay_arm(struct conn *c)
{
	conn_io_want(c, &c->client, endpoint_events(&c->client, &c->to_backend, &c->to_client));
	conn_io_want(c, &c->backend, endpoint_events(&c->backend, &c->to_client, &c->to_backend));
}

static uint64_t
bytes_moved(const struct conn *c)
{
	return c->to_backend.bytes + c->to_client.bytes;
}

void
relay_run(struct conn *c)
{
	const uint64_t budget_end = bytes_moved(c) + RELAY_RUN_BUDGET_BYTES;
	enum pump r;
	int moved;

	do {
		moved = 0;
		if ((r = pipe_pump(c, &c->to_backend)) == PUMP_CLOSED)
			return;
		moved |= r;
		if ((r = pipe_pump(c, &c->to_client)) == PUMP_CLOSED)
			return;
		moved |= r;
		if (moved)
			conn_touch(c);
		/* Past the budget, yield to other connections: the sockets' level-
		 * triggered readiness brings us back, but bytes OpenSSL holds already
		 * never wake libev, so those are taken first. */
	} while (moved && (bytes_moved(c) < budget_end ||
	    (c->tls_side->ssl != NULL && SSL_has_pending(c->tls_side->ssl))));

	if (c->to_backend.dst_shut && c->to_client.dst_shut) {
		conn_close(c, c->first_close);
		return;
	}
	relay_arm(c);
	conn_timer_update(c);
}

void
relay_start(struct conn *c)
{
	conn_touch(c);
	relay_run(c);
}
