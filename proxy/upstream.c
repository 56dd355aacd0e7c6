/* upstream.c: client mode, from the upstream's TCP connection to the relay. */
#include "proxy/upstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/relay.h"
#include "proxy/snapshot.h"
#include "proxy/starttls.h"
#include "proxy/starttls_client.h"
#include "proxy/tls_client.h"

/* What one recv of the dialogue takes: more than any lockstep reply
 * needs in one piece; a longer one simply arrives in several. */
#define DIALOGUE_READ_BYTES 4096

static const char *
upstream_label(const struct conn *c)
{
	return c->svc->targets[c->target].label;
}

/* Ends the connection for a failure towards the upstream: a warning with
 * the upstream's address, the reason in the summary line and the stats. */
static void
upstream_fail(struct conn *c, enum conn_end end, const char *what, const char *reason)
{
	log_warn("%s: upstream %s: %s: %s", c->svc->conf->name, upstream_label(c), what, reason);
	conn_set_detail(c, "upstream %s: %s", what, reason);
	conn_close(c, end);
}

/* The name EHLO gives: this host's, or "localhost" (starttls_client_init). */
static const char *
local_host_name(char *buf, size_t len)
{
	if (gethostname(buf, len) == -1)
		return NULL;
	buf[len - 1] = '\0';
	return buf;
}

void
upstream_start(struct conn *c)
{
	const struct service_conf *sc = c->svc->conf;
	char host[256];

	c->backend.ssl = tls_client_new_ssl(c->tls, c->backend.fd,
	    c->svc->target_names[c->target]);
	if (c->backend.ssl == NULL ||
	    (sc->protocol != PROTOCOL_NONE && (c->dialogue = malloc(sizeof(*c->dialogue))) == NULL)) {
		conn_set_detail(c, "upstream: out of memory");
		conn_close(c, END_NO_MEMORY);
		return;
	}
	if (sc->protocol == PROTOCOL_NONE) {
		conn_start_handshake(c);
		return;
	}
	starttls_client_init(c->dialogue, sc->protocol, local_host_name(host, sizeof(host)));
	c->state = CONN_UPSTREAM_STARTTLS;
	/* TIMEOUTbusy for the whole dialogue: progress does not extend it, so
	 * an upstream dripping bytes cannot hold the connection */
	conn_touch(c);
	conn_timer_update(c);
	conn_io_want(c, &c->backend, EV_READ);
}

/* Sends what is left of the dialogue's command. 0: all sent; 1: the
 * socket is full (EV_WRITE armed); -1: c is closed. */
static int
dialogue_send(struct conn *c)
{
	const struct starttls_client *d = c->dialogue;

	while (c->dialogue_sent < d->out_len) {
		ssize_t n = send(c->backend.fd, d->out + c->dialogue_sent,
		    d->out_len - c->dialogue_sent, MSG_NOSIGNAL);

		if (n > 0) {
			c->dialogue_sent += (size_t)n;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			conn_io_want(c, &c->backend, EV_WRITE);
			return 1;
		} else if (errno != EINTR) {
			upstream_fail(c, END_HANDSHAKE_FAILED, "STARTTLS", strerror(errno));
			return -1;
		}
	}
	conn_io_want(c, &c->backend, EV_READ);
	return 0;
}

/* What the dialogue said after a read. */
static void
dialogue_next(struct conn *c, enum starttls_client_status status)
{
	switch (status) {
	case STC_READ:
		conn_io_want(c, &c->backend, EV_READ);
		break;
	case STC_SEND:
		c->dialogue_sent = 0;
		(void)dialogue_send(c);
		break;
	case STC_DONE:
		conn_io_want(c, &c->backend, 0);
		conn_start_handshake(c);
		break;
	case STC_FAILED:
		upstream_fail(c, END_HANDSHAKE_FAILED, "STARTTLS", c->dialogue->reason);
		break;
	}
}

void
upstream_dialogue_event(struct conn *c)
{
	char data[DIALOGUE_READ_BYTES];
	ssize_t n;

	if (c->dialogue_sent < c->dialogue->out_len) {
		(void)dialogue_send(c);
		return;
	}
	if ((n = recv(c->backend.fd, data, sizeof(data), 0)) == 0) {
		upstream_fail(c, END_HANDSHAKE_FAILED, "STARTTLS", "the upstream closed the "
		    "connection");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			upstream_fail(c, END_HANDSHAKE_FAILED, "STARTTLS", strerror(errno));
		return;
	}
	dialogue_next(c, starttls_client_feed(c->dialogue, data, (size_t)n));
}

void
upstream_tls_ready(struct conn *c)
{
	size_t len = 0;
	const char *greeting = c->dialogue ? starttls_client_greeting(c->dialogue, &len) : NULL;
	char *tail;

	/* the greeting was read before TLS; the client hears it first */
	if (len > 0) {
		if ((tail = buf_tail(&c->to_client.buf)) == NULL) {
			conn_set_detail(c, "relay buffer: out of memory");
			conn_close(c, END_NO_MEMORY);
			return;
		}
		memcpy(tail, greeting, len);
		buf_commit(&c->to_client.buf, len);
	}
	free(c->dialogue);
	c->dialogue = NULL;
	c->state = CONN_RELAY;
	relay_start(c);
}

void
upstream_tls_failed(struct conn *c, const char *reason)
{
	log_warn("%s: upstream %s: TLS handshake failed: %s", c->svc->conf->name,
	    upstream_label(c), reason);
}

void
upstream_close(struct conn *c)
{
	const char *reply = c->svc->conf->protocol == PROTOCOL_NONE ? NULL :
	    starttls_fatal_reply(c->svc->conf->protocol, ST_FATAL_UNAVAILABLE);

	free(c->dialogue);
	c->dialogue = NULL;
	if (c->end == END_HANDSHAKE_TIMEOUT)
		log_warn("%s: upstream %s: no TLS within TIMEOUTbusy = %us (%s)", c->svc->conf->name,
		    upstream_label(c), c->svc->conf->timeout_busy_s,
		    c->state == CONN_UPSTREAM_STARTTLS ? "STARTTLS" : "TLS handshake");
	if (reply == NULL || c->state == CONN_RELAY || c->end == END_SHUTDOWN ||
	    c->client.fd == -1)
		return;
	/* best effort on a fresh socket with room: a client that cannot take
	 * one line now is not waited for */
	(void)send(c->client.fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
}
