/* starttls.h: the plaintext dialogue before STARTTLS, and the filter after it,
 * for `protocol = smtp | imap | pop3` on a server service.
 *
 * Pure: bytes in, bytes out, no sockets, no clock. dialogue.c does the I/O
 * for the DIALOGUE state of a connection and relay.c calls the filter, so the
 * unit tests and the fuzzer drive the same code without sockets.
 *
 * Before TLS, every line from either side is read whole (at most
 * STARTTLS_LINE_MAX bytes) and handled by the protocol's rules
 * (starttls_smtp.c, starttls_imap.c, starttls_pop3.c): the backend's greeting
 * and capability replies are relayed with the upgrade added and what must not
 * be offered before TLS removed; harmless commands are relayed; STARTTLS, and
 * with requireTLS every command that carries credentials or mail, are answered
 * by certwrapd in the order of the client's commands. After the client's
 * STARTTLS nothing more of its plaintext is looked at: what it pipelined is
 * discarded, and what the backend sends unasked is dropped.
 *
 * After TLS (and after a plaintext session went on without it, requireTLS =
 * no), the backend's bytes pass a conservative filter that only removes the
 * upgrade and LOGINDISABLED from capability replies; IMAP literals and POP3
 * multi-line bodies are passed untouched. */
#ifndef CERTWRAP_STARTTLS_H
#define CERTWRAP_STARTTLS_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/config.h"

struct starttls;

enum starttls_side { ST_CLIENT = 0, ST_BACKEND = 1 };

/* What the connection must do after starttls_step. */
enum starttls_event {
	ST_CONTINUE,              /* write the outputs, read more */
	ST_UPGRADE,               /* write the outputs (the upgrade reply is the last), then TLS */
	ST_PASSTHROUGH,           /* requireTLS = no and the client went on in plaintext: write
	                             the outputs, then relay the rest with the filter */
	ST_CLOSE,                 /* write the client's output (an error reply), then close */
};

/* Replies certwrapd sends on its own when a connection cannot go on. */
enum starttls_fatal {
	ST_FATAL_TIMEOUT,         /* the dialogue took longer than TIMEOUTbusy */
	ST_FATAL_UNAVAILABLE,     /* no backend could be reached, or it misbehaved */
};

/* A new engine for proto (not PROTOCOL_NONE), or NULL when out of memory. */
struct starttls *starttls_new(enum service_protocol proto, bool require_tls);
void starttls_free(struct starttls *st);           /* NULL is a no-op */

/* --- the dialogue ----------------------------------------------------------------- */

/* Where up to *room bytes read from side go; then starttls_in_commit with how
 * many came. Room 0: do not read that side now. After the dialogue ended,
 * bytes committed are discarded (and counted). */
char *starttls_in_space(struct starttls *st, enum starttls_side side, size_t *room);
void starttls_in_commit(struct starttls *st, enum starttls_side side, size_t n);

/* Handles every complete line that can be handled now. Returns the same
 * event again until the caller acts on it. */
enum starttls_event starttls_step(struct starttls *st);

/* The bytes queued for side (to the client or to the backend), and their
 * consumption once written. */
const char *starttls_out(const struct starttls *st, enum starttls_side side, size_t *len);
void starttls_out_consume(struct starttls *st, enum starttls_side side, size_t n);

/* After ST_CLOSE: why, for the log ("client line too long"). */
const char *starttls_close_reason(const struct starttls *st);
/* After ST_CLOSE: whether the client (true) or the backend caused it. */
bool starttls_close_by_client(const struct starttls *st);

/* Plaintext bytes read and dropped (pipelined after STARTTLS, sent unasked by
 * the backend), for the log. */
size_t starttls_discarded(const struct starttls *st, enum starttls_side side);

/* The reply sent before closing for why (one line with its CRLF). */
const char *starttls_fatal_reply(enum service_protocol proto, enum starttls_fatal why);

/* After ST_PASSTHROUGH, once the outputs are written: what is left of the
 * client's input, raw, into out (at most room, which must hold
 * STARTTLS_LINE_MAX), and what is left of the backend's, filtered (room must
 * hold STARTTLS_LINE_MAX plus starttls_filter_slack()), in this order: the
 * second frees the dialogue's buffers. Returns the lengths. */
size_t starttls_take_client_rest(struct starttls *st, char *out, size_t room);
size_t starttls_take_backend_rest(struct starttls *st, char *out, size_t room);

/* After ST_UPGRADE, when TLS is up: the filter starts on a fresh stream. The
 * dialogue's buffers are freed. */
int starttls_tls_started(struct starttls *st);      /* -1: out of memory */

/* --- the filter (after TLS, or plaintext after ST_PASSTHROUGH) --------------------- */

/* How many bytes the filter may hold back and release later: out must have
 * room for n + this much. */
size_t starttls_filter_slack(void);

/* Filters n bytes of the backend's stream into out (room >= n + slack);
 * returns the bytes written. Bytes of an unfinished line may be held back. */
size_t starttls_filter(struct starttls *st, const char *in, size_t n, char *out, size_t room);

/* The backend has ended: releases what is held back (room >= slack). */
size_t starttls_filter_finish(struct starttls *st, char *out, size_t room);

/* Bytes the client sent to the backend, so the POP3 filter knows which
 * response answers CAPA; nothing is changed. */
void starttls_observe_client(struct starttls *st, const char *data, size_t n);

#endif
