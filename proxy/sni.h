/* sni.h: choosing among a primary service and its secondaries by the
 * client's TLS server name (sni = PRIMARY[:PATTERN], config_sni.c).
 *
 * A primary's TLS context calls sni_servername_cb during the handshake;
 * it picks the service whose certificate answers the name (exact names
 * first, then wildcards, else the primary), and the connection moves to
 * that service: its TLS context (SSL_set_SSL_CTX), its backend and its
 * counters. Each service keeps its own context, so a swap or a store
 * renewal of one certificate changes only what that service serves. */
#ifndef CERTWRAP_SNI_H
#define CERTWRAP_SNI_H

#include <openssl/ssl.h>

struct report;
struct service;
struct snapshot;

/* OpenSSL's servername callback for the context of a service with
 * secondaries; the SSL's app data is its struct conn (conn_accept). */
int sni_servername_cb(SSL *ssl, int *alert, void *arg);

/* The service among primary and its secondaries in snap that serves name
 * (lower case, no final dot): primary when none matches. */
struct service *sni_choose(struct snapshot *snap, struct service *primary, const char *name);

/* At load: warns (FILE:LINE: sni: ...) when secondary svc's certificate
 * does not cover its pattern, or has no DNS name to serve without one:
 * clients that check the name would refuse it. */
void sni_check_secondary(struct service *svc, const char *file, struct report *rep);

#endif
