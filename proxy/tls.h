/* tls.h: a service's TLS context, refcounted.
 *
 * A struct tlsctx is an SSL_CTX plus what it was built from (the validated
 * certificate's summary). It is immutable once built: a certificate change
 * builds a new one and swaps the pointer, and each connection holds its own
 * reference from accept to close, so a swap never disturbs it. */
#ifndef CERTWRAP_TLS_H
#define CERTWRAP_TLS_H

#include <stdatomic.h>
#include <time.h>

#include <openssl/ssl.h>

struct report;
struct service_conf;

struct tlsctx {
	atomic_uint refs;
	SSL_CTX *ssl_ctx;
	time_t not_after;                 /* of the leaf certificate */
	char subject[256];                /* of the leaf, one line */
	char summary[512];                /* what -t prints */
};

/* Builds the context for a TLS server service: protocol versions, ciphers,
 * curves, the certificate and key (validated by the certstore: key match,
 * chain order and completeness, dates, strength), and client verification.
 * Every problem goes to rep as "FILE:LINE: option: why" (file is the config
 * file's name); warnings too. NULL when any error was found. */
struct tlsctx *tlsctx_new_server(const struct service_conf *sc, const char *config_file,
    struct report *rep);

struct tlsctx *tlsctx_ref(struct tlsctx *t);
void tlsctx_unref(struct tlsctx *t);      /* NULL is a no-op; frees at zero */

/* A new server-side SSL for fd, or NULL (out of memory, logged by caller). */
SSL *tlsctx_new_ssl(struct tlsctx *t, int fd);

/* Why the last TLS operation on ssl failed, in a few words for the log
 * ("no shared cipher", "peer sent alert unknown ca", "certificate verify
 * failed: unable to get local issuer certificate"). Clears the error queue. */
const char *tls_failure_reason(SSL *ssl, int ssl_error, char *buf, size_t len);

#endif
