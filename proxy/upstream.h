/* upstream.h: client mode's side of a connection, towards the TLS upstream.
 *
 * With client = yes the client speaks plaintext and certwrapd is the TLS
 * client of the backend (the upstream). Once the TCP connection to an
 * upstream is up, upstream_start() asks it for TLS first when the service
 * has protocol = smtp|imap|pop3 (starttls_client.c), then the connection's
 * handshake runs on the backend endpoint, and upstream_tls_ready() hands
 * the upstream's greeting (read before TLS) to the client and starts the
 * relay. Failures are logged as warnings with the upstream's address and
 * the reason, and counted as handshake failures. */
#ifndef CERTWRAP_UPSTREAM_H
#define CERTWRAP_UPSTREAM_H

struct conn;

/* The backend's TCP connection is up: STARTTLS if configured, then TLS. */
void upstream_start(struct conn *c);

/* The backend socket is ready while in CONN_UPSTREAM_STARTTLS. */
void upstream_dialogue_event(struct conn *c);

/* The handshake with the upstream completed: relay, greeting first. */
void upstream_tls_ready(struct conn *c);

/* The handshake with the upstream failed for reason: logged as a warning
 * (the caller closes the connection). */
void upstream_tls_failed(struct conn *c, const char *reason);

/* The connection is closing: frees the dialogue, and tells a mail client
 * that was never connected through (protocol set, no relay yet) that the
 * service is unavailable, in its protocol's words, best effort. */
void upstream_close(struct conn *c);

#endif
