/* backend_conn.c: one client connection of the test backend: reading, line
 * splitting, the output queue, backpressure and closing.
 *
 * The protocols see lines (or raw bytes) and queue replies; this file alone
 * decides when to read and write. Above CONN_OUT_HIGH bytes of unsent output
 * it neither reads nor hands out buffered lines, so a client that pipelines
 * commands, or an echo client that never reads, cannot grow our memory.
 *
 * A connection is freed only at the end of an event handler (conn_settle),
 * never inside a protocol callback. Closing after a final reply goes through
 * a lingering close: shut down our side, then read and discard until the
 * client's EOF (bounded by CONN_LINGER_S), because close() with unread input
 * sends a reset that can destroy the reply before the client reads it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"

struct outq {
	char *data;
	size_t head;                 /* first unsent byte */
	size_t len;                  /* unsent bytes */
	size_t cap;
};

enum conn_phase {
	PHASE_OPEN,                  /* reading and replying */
	PHASE_CLOSING,               /* sending what is queued, then linger */
	PHASE_LINGER,                /* our side shut down, discarding input until EOF */
	PHASE_DEAD,                  /* freed at the end of the current event */
};

struct conn {
	struct backend_ctx *ctx;
	const struct conn_ops *ops;
	void *session;
	int fd;
	unsigned id;
	char peer[64];
	enum conn_phase phase;
	bool read_eof;
	bool raw_forever;
	size_t raw_want;             /* bytes still to hand to on_raw */
	ev_io rio;
	ev_io wio;
	ev_timer linger;
	size_t in_start;             /* unparsed input: in[in_start .. in_start + in_len) */
	size_t in_len;
	struct outq out;
	struct conn *prev;
	struct conn *next;
	char in[CONN_IN_SIZE];
};

static void conn_on_read(struct ev_loop *loop, ev_io *w, int revents);
static void conn_on_write(struct ev_loop *loop, ev_io *w, int revents);
static void conn_on_linger_timeout(struct ev_loop *loop, ev_timer *w, int revents);

struct backend_ctx *
conn_ctx(const struct conn *c)
{
	return c->ctx;
}

void
conn_trace(const struct conn *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!c->ctx->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "testbackend: %s#%u %s: %s\n", c->ops->name, c->id, c->peer, line);
}

static void
conn_break(struct conn *c, const char *why)
{
	if (c->phase != PHASE_DEAD)
		conn_trace(c, "closing: %s", why);
	c->phase = PHASE_DEAD;
}

/* Makes room for n more bytes at the tail of the queue. */
static int
outq_reserve(struct outq *q, size_t n)
{
	size_t need, cap;
	char *p;

	if (q->head + q->len + n <= q->cap)
		return 0;
	if (q->len + n > CONN_OUT_MAX)
		return -1;
	if (q->head > 0) {
		memmove(q->data, q->data + q->head, q->len);
		q->head = 0;
		if (q->len + n <= q->cap)
			return 0;
	}
	need = q->len + n;
	cap = q->cap ? q->cap : 4096;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(q->data, cap)) == NULL)
		return -1;
	q->data = p;
	q->cap = cap;
	return 0;
}

/* An empty queue gives back a buffer that grew past what steady streaming
 * needs (CONN_OUT_HIGH plus a read, rounded up: 2 * CONN_OUT_HIGH), e.g. after
 * a large FETCH, so idle connections stay small without churning on echo. */
static void
outq_shrink_if_empty(struct outq *q)
{
	if (q->len == 0) {
		q->head = 0;
		if (q->cap > 2 * CONN_OUT_HIGH) {
			free(q->data);
			q->data = NULL;
			q->cap = 0;
		}
	}
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->phase == PHASE_DEAD || len == 0)
		return;
	if (outq_reserve(&c->out, len) == -1) {
		conn_break(c, "output queue full or out of memory");
		return;
	}
	memcpy(c->out.data + c->out.head + c->out.len, data, len);
	c->out.len += len;
}

void
conn_puts(struct conn *c, const char *s)
{
	conn_write(c, s, strlen(s));
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	char small[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		conn_break(c, "format error");
		return;
	}
	if ((size_t)n < sizeof(small)) {
		conn_write(c, small, (size_t)n);
		return;
	}
	if (c->phase == PHASE_DEAD)
		return;
	if (outq_reserve(&c->out, (size_t)n + 1) == -1) {
		conn_break(c, "output queue full or out of memory");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(c->out.data + c->out.head + c->out.len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	c->out.len += (size_t)n;
}

void
conn_close_after_flush(struct conn *c)
{
	if (c->phase == PHASE_OPEN)
		c->phase = PHASE_CLOSING;
}

void
conn_expect_raw(struct conn *c, size_t len)
{
	c->raw_want = len;
}

void
conn_raw_forever(struct conn *c)
{
	c->raw_forever = true;
}

static void
conn_consume(struct conn *c, size_t n)
{
	c->in_start += n;
	c->in_len -= n;
	if (c->in_len == 0)
		c->in_start = 0;
}

/* Hands buffered raw bytes to on_raw. */
static void
conn_deliver_raw(struct conn *c)
{
	const char *data = c->in + c->in_start;
	size_t n = c->in_len;

	if (!c->raw_forever) {
		if (n > c->raw_want)
			n = c->raw_want;
		c->raw_want -= n;
	}
	c->ops->on_raw(c->session, data, n);
	conn_consume(c, n);
}

/* Hands one complete line to on_line; false if there is none yet. */
static bool
conn_deliver_line(struct conn *c)
{
	char *line = c->in + c->in_start;
	char *lf = memchr(line, '\n', c->in_len);
	size_t used, len;

	if (lf == NULL || (size_t)(lf - line) + 1 > BACKEND_LINE_MAX) {
		if (lf != NULL || c->in_len >= BACKEND_LINE_MAX) {
			conn_trace(c, "line too long");
			c->ops->on_line_too_long(c->session);
			conn_close_after_flush(c);
		}
		return false;
	}
	used = (size_t)(lf - line) + 1;
	len = used - 1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	conn_trace(c, "C: %.200s", line);
	c->ops->on_line(c->session, line, len);
	conn_consume(c, used);
	return true;
}

/* Parses what is buffered, as long as the output queue leaves room. */
static void
conn_process(struct conn *c)
{
	while (c->phase == PHASE_OPEN && c->out.len < CONN_OUT_HIGH && c->in_len > 0) {
		if (c->raw_forever || c->raw_want > 0)
			conn_deliver_raw(c);
		else if (!conn_deliver_line(c))
			break;
	}
}

static void
conn_free(struct conn *c)
{
	struct backend_ctx *ctx = c->ctx;

	ev_io_stop(ctx->loop, &c->rio);
	ev_io_stop(ctx->loop, &c->wio);
	ev_timer_stop(ctx->loop, &c->linger);
	close(c->fd);
	if (c->session != NULL)
		c->ops->free(c->session);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctx->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->out.data);
	free(c);
}

static void
io_want(struct ev_loop *loop, ev_io *w, bool on)
{
	if (on && !ev_is_active(w))
		ev_io_start(loop, w);
	else if (!on && ev_is_active(w))
		ev_io_stop(loop, w);
}

/* Our side is done: shut it down, then wait (bounded) for the client's EOF. */
static void
conn_start_linger(struct conn *c)
{
	if (shutdown(c->fd, SHUT_WR) == -1 || c->read_eof) {
		c->phase = PHASE_DEAD;
		return;
	}
	c->phase = PHASE_LINGER;
	c->in_start = c->in_len = 0;
	ev_timer_set(&c->linger, CONN_LINGER_S, 0.0);
	ev_timer_start(c->ctx->loop, &c->linger);
}

/* The one place that arms the watchers, after every event: read while the
 * output queue and the input buffer have room, write while output is queued.
 * Frees the connection when it is done. */
static void
conn_settle(struct conn *c)
{
	struct ev_loop *loop = c->ctx->loop;
	bool idle_out = c->out.len == 0;

	if (c->phase == PHASE_OPEN && c->read_eof && idle_out)
		c->phase = PHASE_CLOSING;    /* the client is done and so are we */
	if (c->phase == PHASE_CLOSING && idle_out)
		conn_start_linger(c);
	if (c->phase == PHASE_DEAD) {
		conn_free(c);
		return;
	}
	if (c->in_len == 0 || c->in_start > CONN_IN_SIZE / 2) {
		memmove(c->in, c->in + c->in_start, c->in_len);
		c->in_start = 0;
	}
	io_want(loop, &c->rio, !c->read_eof && (c->phase == PHASE_LINGER ||
	    (c->phase == PHASE_OPEN && c->out.len < CONN_OUT_HIGH &&
	     c->in_start + c->in_len < CONN_IN_SIZE)));
	io_want(loop, &c->wio, !idle_out && c->phase != PHASE_LINGER);
}

static void
conn_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	size_t off = c->in_start + c->in_len;
	ssize_t n;

	if (c->phase == PHASE_LINGER)
		off = 0;                     /* discarding */
	n = read(c->fd, c->in + off, CONN_IN_SIZE - off);
	if (n > 0 && c->phase != PHASE_LINGER) {
		c->in_len += (size_t)n;
		conn_process(c);
	} else if (n == 0) {
		c->read_eof = true;
		if (c->phase == PHASE_LINGER)
			c->phase = PHASE_DEAD;
		else
			conn_process(c);
	} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		conn_break(c, strerror(errno));
	}
	conn_settle(c);
}

static void
conn_on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	ssize_t n;

	n = send(c->fd, c->out.data + c->out.head, c->out.len, MSG_NOSIGNAL);
	if (n > 0) {
		c->out.head += (size_t)n;
		c->out.len -= (size_t)n;
		outq_shrink_if_empty(&c->out);
		conn_process(c);             /* room again: parse what waited */
	} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		conn_break(c, strerror(errno));
	}
	conn_settle(c);
}

static void
conn_on_linger_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	conn_break(c, "no EOF from the client after the last reply");
	conn_settle(c);
}

void
conn_start(struct backend_ctx *ctx, int fd, const struct conn_ops *ops, const char *peer)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fprintf(stderr, "testbackend: %s: out of memory, connection from %s refused\n",
		    ops->name, peer);
		close(fd);
		return;
	}
	c->ctx = ctx;
	c->ops = ops;
	c->fd = fd;
	c->id = ++ctx->conn_seq;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	ev_io_init(&c->rio, conn_on_read, fd, EV_READ);
	ev_io_init(&c->wio, conn_on_write, fd, EV_WRITE);
	ev_init(&c->linger, conn_on_linger_timeout);
	c->rio.data = c->wio.data = c->linger.data = c;
	if ((c->next = ctx->conns) != NULL)
		c->next->prev = c;
	ctx->conns = c;
	conn_trace(c, "connected");
	if ((c->session = ops->start(c)) == NULL)
		conn_break(c, "session refused");
	conn_settle(c);
}

void
conn_close_all(struct backend_ctx *ctx)
{
	while (ctx->conns != NULL)
		conn_free(ctx->conns);
}
