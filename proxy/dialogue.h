/* dialogue.h: the sockets of a STARTTLS connection before TLS.
 *
 * For a service with `protocol = smtp | imap | pop3` the connection goes
 *
 *   CONN_CONNECTING --> CONN_DIALOGUE --> CONN_HANDSHAKE --> CONN_RELAY
 *   (backend first:      (plaintext,       (after the        (the filter on
 *    its greeting)        starttls.c)       client's STARTTLS) capability replies)
 *
 * or, with requireTLS = no and a client that goes on without TLS, from
 * CONN_DIALOGUE straight to a plaintext CONN_RELAY with the filter. The
 * dialogue lasts at most TIMEOUTbusy in all, however busy the client keeps
 * it. This file only moves bytes between the sockets and starttls.c. */
#ifndef CERTWRAP_DIALOGUE_H
#define CERTWRAP_DIALOGUE_H

#include "proxy/starttls.h"

struct conn;

/* The backend is connected: its greeting starts the dialogue. */
void dialogue_start(struct conn *c);

/* A socket of c is ready during CONN_DIALOGUE. */
void dialogue_run(struct conn *c);

/* The backend is readable during the handshake after STARTTLS: what it
 * sends is dropped (no one asked); its EOF closes the connection. */
void dialogue_drain_backend(struct conn *c);

/* The handshake after STARTTLS is done: drops what the backend sent before
 * it, then relays with the filter. */
void dialogue_tls_up(struct conn *c);

/* The protocol's reply for why, to the client in plaintext, best effort
 * (before closing a connection whose TLS has not started). */
void dialogue_say_fatal(struct conn *c, enum starttls_fatal why);

#endif
