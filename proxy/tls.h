/* tls.h: a service's TLS context, refcounted.
 *
 * A struct tlsctx is an SSL_CTX plus what it was built from (the validated
 * certificate's summary). It is immutable once built: a certificate change
 * builds a new one and swaps the pointer, and each connection holds its own
 * reference from accept to close, so a swap never disturbs it. */
#ifndef CERTWRAP_TLS_H
#define CERTWRAP_TLS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include <openssl/ssl.h>

struct cs_keycert;
struct report;
struct service_conf;

struct tlsctx {
	atomic_uint refs;
	SSL_CTX *ssl_ctx;
	time_t not_after;                 /* of the leaf certificate */
	unsigned version;                 /* the store version served; 0: not from the store */
	char subject[256];                /* of the leaf, one line */
	char serial[64];                  /* of the leaf, hex as openssl prints it */
	char sans[512];                   /* "DNS:mail.example.com, IP:192.0.2.1" */
	char source[320];                 /* "file /etc/x.pem", "store mail@3", "swap ..." */
	char summary[512];                /* what -t prints */
};

/* The cert and key files of a service, loaded and validated by the
 * certstore (key match, chain order and completeness, dates, strength).
 * Errors and warnings go to rep at the config lines of cert, key, CAfile or
 * CApath ("FILE:LINE: option: why"). NULL when refused. */
struct cs_keycert *tls_load_files(const struct service_conf *sc, const char *config_file,
    struct report *rep);

/* A TLS server context for sc around kc (validated already, wherever it came
 * from): protocol versions, ciphers, curves, client verification, and the
 * check that kc covers each of sc's hostnames. source says where kc came
 * from ("file /etc/x.pem", "store mail@3"), for status and messages;
 * version is its store version (0: none). Problems go to rep as "FILE:LINE:
 * option: why"; NULL when any error was found. Takes no ownership of kc. */
struct tlsctx *tlsctx_build(const struct service_conf *sc, const char *config_file,
    const struct cs_keycert *kc, const char *source, unsigned version, struct report *rep);

struct tlsctx *tlsctx_ref(struct tlsctx *t);
void tlsctx_unref(struct tlsctx *t);      /* NULL is a no-op; frees at zero */

/* A new server-side SSL for fd, or NULL (out of memory, logged by caller). */
SSL *tlsctx_new_ssl(struct tlsctx *t, int fd);

/* Pieces of a context shared by the server (tlsctx_build) and client
 * (tls_client.c) builders; each reports problems to rep as "FILE:LINE:
 * option: why". Protocol versions (sslVersionMin/Max): */
void tls_set_protocols(SSL_CTX *ctx, const struct service_conf *sc, const char *file,
    struct report *rep);
/* ciphers, ciphersuites, curves, each entry checked: */
void tls_set_ciphers(SSL_CTX *ctx, const struct service_conf *sc, const char *file,
    struct report *rep);
/* CRLfile into the context's store, with CRL checks for the whole chain: */
void tls_load_crl(SSL_CTX *ctx, const struct service_conf *sc, const char *file,
    struct report *rep);
/* stunnel's verifyChain/verifyPeer semantics as the verify callback, with
 * SSL_CTX_set_verify's mode. -1: out of memory. */
int tls_set_verify_policy(SSL_CTX *ctx, bool chain, bool peer, int mode);

/* The reason of OpenSSL's last queued error, or "unknown OpenSSL error". */
const char *tls_openssl_reason(void);

/* Why the last TLS operation on ssl failed, in a few words for the log
 * ("no shared cipher", "peer sent alert unknown ca", "client certificate
 * verify failed: unable to get local issuer certificate"; "upstream
 * certificate verify failed: ..." on a client-mode connection). Clears the error queue. */
const char *tls_failure_reason(SSL *ssl, int ssl_error, char *buf, size_t len);

#endif
