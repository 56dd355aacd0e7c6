/* conn.h: one client connection, from accept to its summary log line.
 *
 * A connection is a small state machine:
 *
 *   CONN_HANDSHAKE --> CONN_CONNECTING --> CONN_RELAY --> closed
 *   (TLS, TIMEOUTbusy)  (backend, TIMEOUTconnect    (both pipes; TIMEOUTidle,
 *                        per address, failover)      TIMEOUTbusy, TIMEOUTclose)
 *
 * and with `protocol = smtp | imap | pop3` (STARTTLS, dialogue.h):
 *
 *   CONN_CONNECTING --> CONN_DIALOGUE --> CONN_HANDSHAKE --> CONN_RELAY
 *                       (plaintext, TIMEOUTbusy in all)
 *
 * In client mode (client = yes, upstream.c) the TLS is on the backend side:
 *
 *   CONN_CONNECTING --> [CONN_UPSTREAM_STARTTLS] --> CONN_HANDSHAKE --> CONN_RELAY
 *                        (protocol = smtp|imap|pop3,  (SSL_connect,
 *                         TIMEOUTbusy for all of it)   TIMEOUTbusy)
 *
 * where only a failed TCP connect moves on to the next `connect` address:
 * an upstream that answered but failed STARTTLS or TLS (its certificate
 * did not verify, say) is a fault to see, not to route around.
 *
 * It holds its own references to the snapshot and the TLS context it was
 * accepted under, so neither a reload nor a certificate swap disturbs it.
 * Every way out goes through conn_close(c, end), which logs one line. */
#ifndef CERTWRAP_CONN_H
#define CERTWRAP_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "proxy/buf.h"

struct service;
struct snapshot;
struct starttls_client;
struct starttls;
struct tlsctx;
struct worker;

enum conn_state {
	CONN_HANDSHAKE,
	CONN_CONNECTING,
	CONN_UPSTREAM_STARTTLS,           /* client mode: asking the upstream for TLS */
	CONN_RELAY,
	CONN_DIALOGUE,            /* plaintext before STARTTLS (dialogue.c) */
};

/* How a connection ended, as logged in end=... */
enum conn_end {
	END_NONE = 0,
	END_CLIENT_CLOSE,         /* client closed first (close_notify or TCP EOF), all relayed */
	END_BACKEND_CLOSE,        /* backend closed first, all relayed */
	END_HANDSHAKE_FAILED,
	END_HANDSHAKE_TIMEOUT,
	END_BACKEND_UNREACHABLE,
	END_IDLE_TIMEOUT,
	END_BUSY_TIMEOUT,
	END_CLOSE_TIMEOUT,
	END_CLIENT_ERROR,
	END_BACKEND_ERROR,
	END_SHUTDOWN,             /* daemon stopping, drain deadline passed */
	END_NO_MEMORY,
	END_DIALOGUE_TIMEOUT,     /* no STARTTLS within TIMEOUTbusy */
};

/* One side of a connection: a socket, with TLS on it or not. The client
 * side has TLS for a TLS server service; the backend side for client mode
 * (plaintext in, TLS out). */
struct endpoint {
	int fd;                           /* -1 until there is one */
	SSL *ssl;                         /* NULL: plaintext */
	ev_io io;
	const char *name;                 /* "client" or "backend", for messages */
	enum conn_end closed_end;         /* how its EOF reads in the log */
	enum conn_end error_end;          /* how its failure reads */
};

/* One direction of the relay, from src to dst, through one bounded buffer. */
struct pipe {
	struct endpoint *src, *dst;
	struct buf buf;
	uint64_t bytes;           /* delivered to dst so far */
	size_t tls_write_len;     /* dst is TLS: an SSL_write to repeat with these bytes */
	bool src_eof;             /* the source will send nothing more */
	bool dst_shut;            /* ...and that end has been passed on */
	bool read_wants_write;    /* src is TLS: SSL_read needs the socket writable */
	bool write_wants_read;    /* dst is TLS: SSL_write/SSL_shutdown need it readable */
	size_t reserve;           /* room the reader leaves free (the STARTTLS filter's) */
};

struct conn {
	struct worker *worker;
	struct conn *prev, *next;         /* the worker's list */

	struct snapshot *snap;            /* referenced */
	struct service *svc;              /* inside snap */
	struct tlsctx *tls;               /* referenced: the context of the TLS side */
	struct service *sni_chosen;       /* whose certificate the server name chose;
	                                     NULL: svc's own */

	enum conn_state state;
	enum conn_end end;
	char end_detail[128];             /* reason for failures, for the log line */

	struct endpoint client, backend;
	struct endpoint *tls_side;        /* the endpoint with TLS (&client for a server) */
	ev_timer timer;
	ev_tstamp started, last_activity, timer_deadline;

	bool tls_up;                      /* the TLS handshake has completed */
	bool backend_up;                  /* the backend's TCP connection is established */
	struct starttls_client *dialogue; /* client mode: STARTTLS with the upstream, until
	                                     its greeting is handed to the client */
	size_t dialogue_sent;             /* bytes of its command sent so far */

	unsigned target;                  /* backend address being tried, or used */
	enum conn_end first_close;        /* which side ended first, for the log */
	struct sockaddr_storage peer;
	socklen_t peer_len;

	struct pipe to_backend, to_client;
	size_t proxy_header_bytes;        /* the PROXY header's share of to_backend.bytes */

	struct starttls *stls;            /* protocol = smtp|imap|pop3: the dialogue, then
	                                     the filter (starttls.h); NULL otherwise */
};

/* Takes over an accepted client socket for svc of snap, on w's thread (the
 * acceptor has counted it). On failure (out of memory) closes fd, logs and
 * uncounts it; the daemon carries on. */
void conn_accept(struct worker *w, struct snapshot *snap, struct service *svc, int fd,
    const struct sockaddr *peer, socklen_t peer_len);

/* An accepted socket that cannot become a connection (out of memory):
 * logged, closed and uncounted (the acceptor counted it). */
void conn_refuse_no_memory(struct worker *w, struct service *svc, int fd,
    const struct sockaddr *peer);

/* Ends the connection: closes both sockets, logs the summary line, frees it. */
void conn_close(struct conn *c, enum conn_end end);

/* Records why the connection is failing; the first reason given wins. */
void conn_set_detail(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Arms (or disarms) an endpoint's watcher for exactly these events. */
void conn_io_want(struct conn *c, struct endpoint *ep, int events);

/* Notes progress now; restarts the inactivity timer if its limit shrank. */
void conn_touch(struct conn *c);
void conn_timer_update(struct conn *c);

/* Disables Nagle's algorithm on a relayed socket (see conn.c for why). */
void conn_set_nodelay(int fd);

/* The client's server name chose svc, primary or one of its secondaries:
 * c serves tls, svc's context, from now on (the caller's reference moves to
 * c), and relays to svc's backend, or to primary's if svc has no connect
 * of its own; the counters follow the backend. */
void conn_sni_chosen(struct conn *c, struct service *svc, struct service *primary,
    struct tlsctx *tls);

/* The service's PROXY header (proxyProtocol), if any, queued as the first
 * bytes to the backend; called once, when the backend has connected and
 * before anything else is queued to it (conn_backend_connected does; a
 * dialogue that connects the backend first must too). The header goes out
 * as plaintext: a TLS backend would get it inside TLS. -1 with the reason
 * in end_detail; the caller closes c. */
int conn_queue_proxy_header(struct conn *c);

/* State transitions, called by backend.c, relay.c, dialogue.c and upstream.c. */
void conn_backend_connected(struct conn *c);
void conn_backend_unreachable(struct conn *c);   /* every target failed: closes c */
void conn_start_handshake(struct conn *c);       /* on tls_side, TIMEOUTbusy */
void conn_start_relay(struct conn *c);

/* Whether c is a client-mode connection (TLS towards the backend). */
bool conn_is_client_mode(const struct conn *c);

const char *conn_end_name(enum conn_end end);

#endif
