/* lg_run.c: the load generator's connections and its epoll loop.
 *
 * One thread, non-blocking sockets, level-triggered epoll. A connection is a
 * small state machine: connect, TLS handshake, send a small request, read its
 * echo, then by mode: close (handshake, resume), hold it open (idle) or pump
 * data both ways (bulk). A phase keeps a fixed number of connections in
 * flight until its count or its end time; every connection step has its own
 * deadline, and every failure is counted by kind in the tally. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>

#include "bench/lib/lg.h"

#define EPOLL_BATCH        256
#define EPOLL_WAIT_MS      20
#define TIMEOUT_SCAN_S     0.1
#define DRIVE_STEPS_MAX    8            /* state changes per wakeup */
#define DRIVE_STEPS_PENDING_MAX 64      /* the same while OpenSSL holds bytes */
#define BULK_READS_MAX     32           /* SSL_reads per wakeup, for fairness */
#define LG_READ_BUF_BYTES  (64 * 1024)  /* read ahead: up to four records per recv() */
#define BULK_WRITES_MAX    16
#define IDLE_OPEN_MAX_S    600.0        /* opening every idle connection */
#define IDLE_CHECK_S       1.0          /* then held this long, watching for closes */
#define END_GRACE_S        2.0          /* count-bound runs: beyond --duration */

enum conn_state { ST_FREE, ST_CONNECT, ST_HANDSHAKE, ST_REQUEST, ST_REPLY, ST_HOLD, ST_BULK };
enum step { STEP_NEXT, STEP_WAIT, STEP_GONE };

static const char *const state_names[] = {
	[ST_FREE] = "free", [ST_CONNECT] = "connect", [ST_HANDSHAKE] = "handshake",
	[ST_REQUEST] = "request", [ST_REPLY] = "reply", [ST_HOLD] = "hold", [ST_BULK] = "bulk",
};

struct conn {
	int fd;
	SSL *ssl;
	enum conn_state state;
	uint32_t events;                     /* epoll interest as registered */
	double deadline;                     /* the current step fails after this */
	size_t done;                         /* request bytes sent, then reply bytes read */
	uint64_t tx, rx;                     /* bulk: bytes written, bytes read back */
	bool write_blocked;                  /* bulk: SSL_write wants the socket writable */
	SSL_SESSION *session;                /* resume: the newest ticket this slot got */
};

struct phase {
	enum lg_mode behaviour;              /* what a connection does after its echo */
	unsigned concurrency;                /* connections in flight at once */
	uint64_t count;                      /* connections to start; 0: until end */
	double end;                          /* stop starting new ones */
	double hard_end;                     /* give up on what is still in flight */
	struct lg_tally *tally;
};

struct run {
	const struct lg_options *opt;
	const struct phase *ph;
	SSL_CTX *ctx;
	int epfd;
	struct conn *conns;
	size_t nslots;
	size_t *free_slots, nfree;
	size_t inflight, held;
	uint64_t started;
	unsigned char *request;              /* request_bytes of a pattern */
	unsigned char *pattern;              /* bulk: 2 * write_bytes, period write_bytes */
	unsigned char *rxbuf;
	size_t rxbuf_size;
	SSL_SESSION *prime;                  /* resume: from the priming connection */
};

/* --- closing and failing ------------------------------------------------------------ */

static void
conn_close(struct run *r, struct conn *c, bool clean)
{
	if (c->state == ST_FREE)
		return;
	if (c->ssl != NULL) {
		if (clean)
			SSL_shutdown(c->ssl);        /* one close_notify, never waited for */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);                    /* also leaves the epoll set */
	c->fd = -1;
	if (c->state == ST_HOLD)
		r->held--;
	else
		r->inflight--;
	c->state = ST_FREE;
	c->events = 0;
	r->free_slots[r->nfree++] = (size_t)(c - r->conns);
	ERR_clear_error();
}

static enum step
conn_fail(struct run *r, struct conn *c, enum lg_fail kind, const char *detail)
{
	lg_tally_fail(r->ph->tally, kind, detail);
	conn_close(r, c, false);
	return STEP_GONE;
}

static void
conn_want(struct run *r, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (events != c->events && epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = events;
}

/* An SSL_* call returned ret <= 0: wait for the socket, or fail the
 * connection by what went wrong and where. */
static enum step
conn_ssl_trouble(struct run *r, struct conn *c, int ret)
{
	int err = SSL_get_error(c->ssl, ret), saved = errno;
	unsigned long e = ERR_peek_last_error();
	char detail[LG_REASON_LEN];
	bool eof = err == SSL_ERROR_ZERO_RETURN ||
	    (err == SSL_ERROR_SYSCALL && (ret == 0 || saved == 0)) ||
	    (err == SSL_ERROR_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING);

	if (err == SSL_ERROR_WANT_READ) {
		conn_want(r, c, EPOLLIN);
		return STEP_WAIT;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		conn_want(r, c, EPOLLOUT);
		return STEP_WAIT;
	}
	if (eof) {
		if (c->state == ST_HANDSHAKE)
			return conn_fail(r, c, FAIL_HANDSHAKE, "closed by the peer");
		if (c->state == ST_REPLY) {
			snprintf(detail, sizeof(detail), "EOF after %zu of %zu bytes", c->done,
			    r->opt->request_bytes);
			return conn_fail(r, c, FAIL_SHORT_ECHO, detail);
		}
		return conn_fail(r, c, FAIL_CLOSED, state_names[c->state]);
	}
	if (err == SSL_ERROR_SYSCALL) {
		snprintf(detail, sizeof(detail), "%s: %s", state_names[c->state], strerror(saved));
		return conn_fail(r, c, saved == ECONNRESET || saved == EPIPE ? FAIL_RESET : FAIL_TLS,
		    detail);
	}
	const char *why = e != 0 && ERR_reason_error_string(e) != NULL ?
	    ERR_reason_error_string(e) : "no reason given";

	if (c->state == ST_HANDSHAKE)
		return conn_fail(r, c, FAIL_HANDSHAKE, why);
	snprintf(detail, sizeof(detail), "%s: %s", state_names[c->state], why);
	return conn_fail(r, c, FAIL_TLS, detail);
}

/* --- the steps ------------------------------------------------------------------------ */

static enum step
conn_tls_start(struct run *r, struct conn *c)
{
	/* a slot's ticket from a connection cut short (a phase's end) is marked
	 * not resumable by OpenSSL: offering it would count a full handshake
	 * against the proxy */
	SSL_SESSION *resume = c->session != NULL && SSL_SESSION_is_resumable(c->session)
	    ? c->session : r->prime;

	if ((c->ssl = SSL_new(r->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return conn_fail(r, c, FAIL_LOCAL, "SSL_new failed");
	SSL_set_app_data(c->ssl, c);
	SSL_set_tlsext_host_name(c->ssl, r->opt->servername);
	if (r->opt->cafile != NULL)
		SSL_set1_host(c->ssl, r->opt->servername);
	if (r->opt->mode == LG_RESUME && resume != NULL)
		SSL_set_session(c->ssl, resume);
	c->state = ST_HANDSHAKE;
	c->deadline = lg_now_s() + r->opt->timeout_ms / 1000.0;
	return STEP_NEXT;
}

static enum step
step_connect(struct run *r, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY) {
		conn_want(r, c, EPOLLOUT);
		return STEP_WAIT;
	}
	if (err != 0)
		return conn_fail(r, c, err == ECONNREFUSED ? FAIL_CONNECT_REFUSED : FAIL_CONNECT,
		    strerror(err));
	return conn_tls_start(r, c);
}

static enum step
step_handshake(struct run *r, struct conn *c)
{
	int ret = SSL_connect(c->ssl);

	if (ret != 1)
		return conn_ssl_trouble(r, c, ret);
	c->state = ST_REQUEST;
	c->done = 0;
	return STEP_NEXT;
}

static enum step
step_request(struct run *r, struct conn *c)
{
	size_t len = r->opt->request_bytes;
	int ret = SSL_write(c->ssl, r->request, (int)len);

	if (ret <= 0)
		return conn_ssl_trouble(r, c, ret);
	c->state = ST_REPLY;
	c->done = 0;
	return STEP_NEXT;
}

/* The echo is complete: what the connection does next depends on the phase. */
static enum step
conn_echoed(struct run *r, struct conn *c)
{
	struct lg_tally *t = r->ph->tally;

	switch (r->ph->behaviour) {
	case LG_IDLE:
		t->completed++;
		c->state = ST_HOLD;
		r->inflight--;
		r->held++;
		conn_want(r, c, EPOLLIN);
		return STEP_WAIT;
	case LG_BULK:
		c->state = ST_BULK;
		c->tx = c->rx = 0;
		return STEP_NEXT;
	case LG_HANDSHAKE:
	case LG_RESUME:
		break;
	}
	t->completed++;
	if (SSL_session_reused(c->ssl))
		t->resumed++;
	conn_close(r, c, true);
	return STEP_GONE;
}

static enum step
step_reply(struct run *r, struct conn *c)
{
	size_t want = r->opt->request_bytes - c->done;
	int ret = SSL_read(c->ssl, r->rxbuf, (int)(want < r->rxbuf_size ? want : r->rxbuf_size));

	if (ret <= 0)
		return conn_ssl_trouble(r, c, ret);
	if (memcmp(r->rxbuf, r->request + c->done, (size_t)ret) != 0)
		return conn_fail(r, c, FAIL_ECHO_MISMATCH, "reply differs from the request");
	c->done += (size_t)ret;
	return c->done == r->opt->request_bytes ? conn_echoed(r, c) : STEP_NEXT;
}

/* Held open: anything but a want (a late session ticket) means it ended. */
static enum step
step_hold(struct run *r, struct conn *c)
{
	int ret = SSL_read(c->ssl, r->rxbuf, (int)r->rxbuf_size);

	if (ret > 0)
		return conn_fail(r, c, FAIL_ECHO_MISMATCH, "data on an idle connection");
	return conn_ssl_trouble(r, c, ret);
}

static enum step
bulk_read(struct run *r, struct conn *c)
{
	size_t wb = r->opt->write_bytes;

	/* past the cap only while OpenSSL holds read-ahead bytes: those never
	 * wake epoll, and the window would close on them */
	for (int i = 0; i < BULK_READS_MAX || SSL_has_pending(c->ssl); i++) {
		int ret = SSL_read(c->ssl, r->rxbuf, (int)wb);

		if (ret <= 0) {
			if (SSL_get_error(c->ssl, ret) == SSL_ERROR_WANT_READ)
				return STEP_WAIT;
			return conn_ssl_trouble(r, c, ret);
		}
		/* the pattern has period wb and is 2 * wb long: any read fits */
		if (memcmp(r->rxbuf, r->pattern + c->rx % wb, (size_t)ret) != 0)
			return conn_fail(r, c, FAIL_ECHO_MISMATCH, "bulk data differs");
		c->rx += (uint64_t)ret;
		r->ph->tally->bytes_rx += (uint64_t)ret;
		c->deadline = lg_now_s() + r->opt->timeout_ms / 1000.0;
	}
	return STEP_WAIT;
}

static enum step
bulk_write(struct run *r, struct conn *c)
{
	size_t wb = r->opt->write_bytes;

	c->write_blocked = false;
	for (int i = 0; i < BULK_WRITES_MAX && c->tx - c->rx + wb <= r->opt->window_bytes; i++) {
		/* a retry after WANT_WRITE passes the same buffer and length */
		int ret = SSL_write(c->ssl, r->pattern, (int)wb);

		if (ret <= 0) {
			int err = SSL_get_error(c->ssl, ret);

			if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
				c->write_blocked = err == SSL_ERROR_WANT_WRITE;
				return STEP_WAIT;
			}
			return conn_ssl_trouble(r, c, ret);
		}
		c->tx += (uint64_t)ret;
		r->ph->tally->bytes_tx += (uint64_t)ret;
	}
	return STEP_WAIT;
}

static enum step
step_bulk(struct run *r, struct conn *c)
{
	if (bulk_read(r, c) == STEP_GONE || bulk_write(r, c) == STEP_GONE)
		return STEP_GONE;
	conn_want(r, c, EPOLLIN | (c->write_blocked ? EPOLLOUT : 0u));
	return STEP_WAIT;
}

static void
conn_drive(struct run *r, struct conn *c)
{
	/* beyond the cap only while OpenSSL holds read-ahead bytes, which would
	 * never wake epoll (each such step consumes some of them) */
	for (int i = 0; i < DRIVE_STEPS_MAX || (i < DRIVE_STEPS_PENDING_MAX &&
	    c->ssl != NULL && SSL_has_pending(c->ssl)); i++) {
		enum step s;

		switch (c->state) {
		case ST_CONNECT: s = step_connect(r, c); break;
		case ST_HANDSHAKE: s = step_handshake(r, c); break;
		case ST_REQUEST: s = step_request(r, c); break;
		case ST_REPLY: s = step_reply(r, c); break;
		case ST_HOLD: s = step_hold(r, c); break;
		case ST_BULK: s = step_bulk(r, c); break;
		case ST_FREE:
		default: return;
		}
		if (s != STEP_NEXT)
			return;
	}
}

/* --- starting connections, the loop ---------------------------------------------------- */

static void
conn_start(struct run *r)
{
	struct conn *c = &r->conns[r->free_slots[--r->nfree]];
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	r->started++;
	r->ph->tally->started++;
	r->inflight++;
	c->state = ST_CONNECT;
	c->events = EPOLLOUT;
	c->deadline = lg_now_s() + r->opt->timeout_ms / 1000.0;
	c->fd = socket(r->opt->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		conn_fail(r, c, FAIL_LOCAL, strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		conn_fail(r, c, FAIL_LOCAL, strerror(errno));
		return;
	}
	if (connect(c->fd, (const struct sockaddr *)&r->opt->addr, r->opt->addr_len) == -1) {
		if (errno != EINPROGRESS)
			conn_fail(r, c, errno == ECONNREFUSED ? FAIL_CONNECT_REFUSED : FAIL_CONNECT,
			    strerror(errno));
		return;                          /* EPOLLOUT says when it is done */
	}
	if (conn_tls_start(r, c) == STEP_NEXT)
		conn_drive(r, c);
}

static void
scan_timeouts(struct run *r, double now)
{
	for (size_t i = 0; i < r->nslots; i++) {
		struct conn *c = &r->conns[i];

		if (c->state != ST_FREE && c->state != ST_HOLD && now > c->deadline)
			conn_fail(r, c, FAIL_TIMEOUT, state_names[c->state]);
	}
}

/* Closes what is still in flight when a phase ends: a bulk connection has
 * done its job, a handshake cut short is unfinished (reported, not a failure). */
static void
close_inflight(struct run *r, bool hard)
{
	for (size_t i = 0; i < r->nslots; i++) {
		struct conn *c = &r->conns[i];

		if (c->state == ST_FREE || c->state == ST_HOLD)
			continue;
		if (hard)
			lg_tally_fail(r->ph->tally, FAIL_TIMEOUT, "phase deadline");
		else if (c->state == ST_BULK)
			r->ph->tally->completed++;
		else
			r->ph->tally->unfinished++;
		conn_close(r, c, !hard);
	}
}

static void
run_wait(struct run *r, double *last_scan)
{
	struct epoll_event evs[EPOLL_BATCH];
	int n = epoll_wait(r->epfd, evs, EPOLL_BATCH, EPOLL_WAIT_MS);
	double now;

	for (int i = 0; i < n; i++)
		conn_drive(r, evs[i].data.ptr);
	now = lg_now_s();
	if (now - *last_scan >= TIMEOUT_SCAN_S) {
		scan_timeouts(r, now);
		*last_scan = now;
	}
}

/* Runs one phase; returns the time it stopped measuring. */
static double
run_phase(struct run *r, const struct phase *ph)
{
	double last_scan = lg_now_s(), now;

	r->ph = ph;
	r->started = 0;
	for (;;) {
		now = lg_now_s();
		bool launching = now < ph->end && (ph->count == 0 || r->started < ph->count);

		while (launching && r->inflight < ph->concurrency && r->nfree > 0 &&
		    (ph->count == 0 || r->started < ph->count))
			conn_start(r);
		if (r->inflight == 0 && !launching)
			return now;
		if (now >= ph->end && ph->count == 0) {
			close_inflight(r, false);
			return ph->end;
		}
		if (now >= ph->hard_end) {
			close_inflight(r, true);
			return now;
		}
		run_wait(r, &last_scan);
	}
}

/* Idle: held connections are watched a little longer, then all closed. */
static void
run_hold(struct run *r, double seconds)
{
	double end = lg_now_s() + seconds, last_scan = lg_now_s();

	while (lg_now_s() < end && r->held > 0)
		run_wait(r, &last_scan);
	for (size_t i = 0; i < r->nslots; i++)
		if (r->conns[i].state == ST_HOLD)
			conn_close(r, &r->conns[i], true);
}

/* --- set-up ------------------------------------------------------------------------------- */

static int
on_new_session(SSL *ssl, SSL_SESSION *session)
{
	struct conn *c = SSL_get_app_data(ssl);

	if (c == NULL)
		return 0;
	SSL_SESSION_free(c->session);
	c->session = session;                /* kept: the next connection of the slot uses it */
	return 1;
}

static SSL_CTX *
client_ctx(const struct lg_options *opt)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	if (opt->mode == LG_IDLE)            /* thousands held: keep the generator small */
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* One recv() for what the proxy sent (its flight, the tickets, the echo)
	 * instead of two per record: the generator shares its core with the
	 * backend and is the bottleneck against the fastest proxies. The proxy
	 * sees the same bytes; bytes OpenSSL holds are drained before waiting. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, LG_READ_BUF_BYTES);
	if (opt->cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, opt->cafile, NULL) != 1) {
			fprintf(stderr, "loadgen: %s: cannot load CA certificates\n", opt->cafile);
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (opt->mode == LG_RESUME) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	return ctx;
}

static int
run_init(struct run *r, const struct lg_options *opt)
{
	size_t wb = opt->write_bytes;

	memset(r, 0, sizeof(*r));
	r->opt = opt;
	r->epfd = -1;
	r->nslots = opt->mode == LG_IDLE ? opt->idle_conns : opt->concurrency;
	if (r->nslots < opt->concurrency)
		r->nslots = opt->concurrency;
	r->rxbuf_size = wb > opt->request_bytes ? wb : opt->request_bytes;
	r->conns = calloc(r->nslots, sizeof(*r->conns));
	r->free_slots = calloc(r->nslots, sizeof(*r->free_slots));
	r->request = malloc(opt->request_bytes);
	r->pattern = malloc(2 * wb);
	r->rxbuf = malloc(r->rxbuf_size);
	if (!r->conns || !r->free_slots || !r->request || !r->pattern || !r->rxbuf) {
		fprintf(stderr, "loadgen: out of memory for %zu connections\n", r->nslots);
		return -1;
	}
	for (size_t i = 0; i < r->nslots; i++) {
		r->conns[i].fd = -1;
		r->free_slots[r->nfree++] = r->nslots - 1 - i;
	}
	/* printable, and never the same byte twice in a row, so a shift shows */
	for (size_t i = 0; i < opt->request_bytes; i++)
		r->request[i] = (unsigned char)('a' + i % 26);
	for (size_t i = 0; i < wb; i++)
		r->pattern[i] = r->pattern[i + wb] = (unsigned char)((i * 131u + (i >> 8)) & 0xff);
	if ((r->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("loadgen: epoll_create1");
		return -1;
	}
	if ((r->ctx = client_ctx(opt)) == NULL) {
		fprintf(stderr, "loadgen: cannot make the TLS client context\n");
		return -1;
	}
	return 0;
}

static void
run_free(struct run *r)
{
	for (size_t i = 0; r->conns != NULL && i < r->nslots; i++) {
		conn_close(r, &r->conns[i], false);
		SSL_SESSION_free(r->conns[i].session);
	}
	SSL_SESSION_free(r->prime);
	SSL_CTX_free(r->ctx);
	if (r->epfd != -1)
		close(r->epfd);
	free(r->conns);
	free(r->free_slots);
	free(r->request);
	free(r->pattern);
	free(r->rxbuf);
}

/* Resume: one full handshake first, whose ticket every slot starts from. */
static void
run_prime(struct run *r, struct lg_tally *t)
{
	double now = lg_now_s(), limit = r->opt->timeout_ms / 1000.0;
	struct phase prime = { .behaviour = LG_RESUME, .concurrency = 1, .count = 1,
		.end = now + limit, .hard_end = now + limit + END_GRACE_S, .tally = t };

	run_phase(r, &prime);
	for (size_t i = 0; i < r->nslots && r->prime == NULL; i++)
		if (r->conns[i].session != NULL) {
			r->prime = r->conns[i].session;
			r->conns[i].session = NULL;
		}
	if (r->prime == NULL)
		fprintf(stderr, "loadgen: the priming connection got no session ticket: "
		    "every handshake will be a full one\n");
}

static void
run_idle(struct run *r, struct lg_result *res)
{
	const struct lg_options *opt = r->opt;
	double now = lg_now_s();
	/* a first few connections, so one-time start-up costs of the proxy
	 * are not counted as the cost of a connection */
	struct phase warm = { .behaviour = LG_HANDSHAKE, .concurrency = opt->concurrency,
		.count = opt->concurrency, .end = now + IDLE_OPEN_MAX_S,
		.hard_end = now + IDLE_OPEN_MAX_S, .tally = &res->tally };
	struct phase open = warm;

	run_phase(r, &warm);
	res->tally.completed = 0;
	res->tally.started = 0;
	res->mem.rss_before_kib = lg_proc_tree_rss_kib(opt->proxy_pid);
	res->mem.pss_before_kib = lg_proc_tree_pss_kib(opt->proxy_pid);
	lg_cpu_sample(opt, &res->cpu_start);
	now = lg_now_s();
	open.behaviour = LG_IDLE;
	open.count = opt->idle_conns;
	open.end = open.hard_end = now + IDLE_OPEN_MAX_S;
	res->elapsed_s = run_phase(r, &open) - now;
	lg_cpu_sample(opt, &res->cpu_end);
	res->mem.conns = r->held;
	res->mem.rss_after_kib = lg_proc_tree_rss_kib(opt->proxy_pid);
	res->mem.pss_after_kib = lg_proc_tree_pss_kib(opt->proxy_pid);
	now = lg_now_s();
	run_hold(r, IDLE_CHECK_S);
	res->mem.hold_s = lg_now_s() - now;
}

int
lg_run(const struct lg_options *opt, struct lg_result *res)
{
	struct run r;
	double start;
	struct phase ph = { .behaviour = opt->mode, .concurrency = opt->concurrency,
		.count = opt->count, .tally = &res->tally };

	memset(res, 0, sizeof(*res));
	if (run_init(&r, opt) == -1) {
		run_free(&r);
		return -1;
	}
	if (opt->mode == LG_IDLE) {
		run_idle(&r, res);
	} else {
		if (opt->mode == LG_RESUME)
			run_prime(&r, &res->tally);
		res->tally.completed = res->tally.resumed = res->tally.started = 0;
		lg_cpu_sample(opt, &res->cpu_start);
		start = lg_now_s();
		ph.end = start + opt->duration_s;
		ph.hard_end = ph.end + (opt->count ? END_GRACE_S + opt->timeout_ms / 1000.0 : 0);
		res->elapsed_s = run_phase(&r, &ph) - start;
		lg_cpu_sample(opt, &res->cpu_end);
	}
	run_free(&r);
	return 0;
}
