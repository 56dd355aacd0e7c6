/* tls_client.h: the TLS context of a client-mode service (client = yes).
 *
 * In client mode certwrapd is the TLS client of the `connect` upstream. The
 * context carries how the upstream is verified (stunnel's verifyChain and
 * verifyPeer, with CAfile/CApath or, for verifyChain without them, the
 * system store; checkHost names the certificate must match), the protocol
 * versions, ciphers and curves, and an optional client certificate (cert,
 * key), validated by the certstore like a server's. It is a struct tlsctx
 * like a server's, held per connection the same way. */
#ifndef CERTWRAP_TLS_CLIENT_H
#define CERTWRAP_TLS_CLIENT_H

#include <openssl/ssl.h>

struct conf_endpoint;
struct report;
struct service_conf;
struct tlsctx;

/* The client context for sc (sc->client is set). Errors and warnings go to
 * rep as "FILE:LINE: option: why" (a warning when the upstream will not be
 * verified); NULL when any error was found. */
struct tlsctx *tls_client_build(const struct service_conf *sc, const char *config_file,
    struct report *rep);

/* The server name to send (SNI) when connecting to the upstream of ep: sni
 * when set, else ep's host when it is a DNS name (stunnel's default), else
 * NULL (an IP address or no host: no SNI). Points into sc or ep. */
const char *tls_client_server_name(const struct service_conf *sc,
    const struct conf_endpoint *ep);

/* A new client-side SSL on fd that sends server_name (NULL: none), or NULL
 * (out of memory, logged by the caller). */
SSL *tls_client_new_ssl(struct tlsctx *t, int fd, const char *server_name);

#endif
