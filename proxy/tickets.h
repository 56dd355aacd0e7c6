/* tickets.h: the session ticket keys of every TLS server context.
 *
 * A resumed handshake skips the certificate and the key exchange's
 * signature: it is what keeps clients that reconnect all day cheap. Each
 * SSL_CTX would otherwise make its own random ticket key, so a swap or a
 * reload (a new SSL_CTX) would cost every client a full handshake, and
 * workers with contexts of their own could not resume each other's
 * sessions. So there is one key ring for the process: the current key
 * encrypts, the previous one still decrypts (its tickets are renewed), and
 * the daemon rotates them every ticketKeyLifetime seconds.
 *
 * The ring is the one piece of mutable state all threads share; a mutex
 * guards it (a handshake takes it once, for a copy of 80 bytes). */
#ifndef CERTWRAP_TICKETS_H
#define CERTWRAP_TICKETS_H

#include <openssl/ssl.h>

/* Makes the first key. Until then (certwrapd -t) contexts issue no tickets.
 * -1 when the random generator fails. */
int tickets_init(void);

/* The current key becomes the previous one; a new one is current. */
int tickets_rotate(void);

/* Makes ctx encrypt and decrypt its tickets with the ring. */
void tickets_attach(SSL_CTX *ctx);

/* Wipes the keys (at exit). */
void tickets_wipe(void);

#endif
