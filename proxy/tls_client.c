/* tls_client.c: the TLS client context of a client-mode service. */
#include "proxy/tls_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "certstore/certstore.h"
#include "proxy/config.h"
#include "proxy/report.h"
#include "proxy/tls.h"

/* Where the trust anchors come from, for -t and messages. */
static void
describe_anchors(const struct service_conf *sc, char *buf, size_t len)
{
	if (sc->ca_file.value && sc->ca_path.value)
		snprintf(buf, len, "CAfile %s, CApath %s", sc->ca_file.value, sc->ca_path.value);
	else if (sc->ca_file.value)
		snprintf(buf, len, "CAfile %s", sc->ca_file.value);
	else if (sc->ca_path.value)
		snprintf(buf, len, "CApath %s", sc->ca_path.value);
	else
		snprintf(buf, len, "the system store");
}

static void
load_anchors(SSL_CTX *ctx, const struct service_conf *sc, const char *file, struct report *rep)
{
	if (sc->ca_file.value && SSL_CTX_load_verify_file(ctx, sc->ca_file.value) != 1)
		report_error(rep, "%s:%u: CAfile: %s: no CA certificate could be loaded (%s)",
		    file, sc->ca_file.line, sc->ca_file.value, tls_openssl_reason());
	if (sc->ca_path.value && SSL_CTX_load_verify_dir(ctx, sc->ca_path.value) != 1)
		report_error(rep, "%s:%u: CApath: %s: cannot be used as a hashed CA directory (%s)",
		    file, sc->ca_path.line, sc->ca_path.value, tls_openssl_reason());
	/* verifyChain alone trusts what the system trusts, as a browser does */
	if (!sc->ca_file.value && !sc->ca_path.value && SSL_CTX_set_default_verify_paths(ctx) != 1)
		report_error(rep, "%s:%u: verifyChain: the system's CA store cannot be loaded (%s); "
		    "give CAfile = FILE", file, sc->verify_line, tls_openssl_reason());
	ERR_clear_error();
}

/* checkHost: the certificate must match one of the names. */
static void
set_check_hosts(SSL_CTX *ctx, const struct service_conf *sc, const char *file,
    struct report *rep)
{
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);

	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (unsigned i = 0; i < sc->n_check_hosts; i++) {
		int ok = i == 0 ? X509_VERIFY_PARAM_set1_host(param, sc->check_hosts[i], 0)
		    : X509_VERIFY_PARAM_add1_host(param, sc->check_hosts[i], 0);

		if (ok != 1)
			report_error(rep, "%s:%u: checkHost: %s: OpenSSL refused the name (%s)", file,
			    sc->check_host_lines[i], sc->check_hosts[i], tls_openssl_reason());
	}
}

/* stunnel's defaults: no verification unless asked for, with a warning. */
static void
set_verify(struct tlsctx *t, const struct service_conf *sc, const char *file,
    struct report *rep)
{
	char anchors[256];

	if (sc->crl_file.value)
		tls_load_crl(t->ssl_ctx, sc, file, rep);
	if (!sc->verify_chain && !sc->verify_peer) {
		if (sc->crl_file.value)
			report_warn(rep, "%s:%u: CRLfile: has no effect without verifyChain = yes or "
			    "verifyPeer = yes", file, sc->crl_file.line);
		report_warn(rep, "%s:%u: [%s]: client = yes without verifyChain or verifyPeer: the "
		    "upstream's certificate is not verified, so anyone on the path can read and "
		    "change the traffic; add verifyChain = yes and checkHost = NAME", file,
		    sc->client_line, sc->name);
		snprintf(t->summary, sizeof(t->summary), "client mode, upstream NOT verified");
		return;
	}
	if (sc->verify_peer && !sc->ca_file.value && !sc->ca_path.value) {
		report_error(rep, "%s:%u: verifyPeer: needs CAfile or CApath with the upstream's own "
		    "certificate in it", file, sc->verify_line);
		return;
	}
	load_anchors(t->ssl_ctx, sc, file, rep);
	set_check_hosts(t->ssl_ctx, sc, file, rep);
	if (sc->n_check_hosts == 0 && !sc->verify_peer)
		report_warn(rep, "%s:%u: [%s]: verifyChain without checkHost: any certificate a "
		    "trusted CA issued is accepted, for whatever name; add checkHost = NAME, the "
		    "upstream's host name", file, sc->verify_line, sc->name);
	if (tls_set_verify_policy(t->ssl_ctx, sc->verify_chain, sc->verify_peer,
	    SSL_VERIFY_PEER) == -1)
		report_error(rep, "%s:%u: out of memory", file, sc->line);
	describe_anchors(sc, anchors, sizeof(anchors));
	snprintf(t->summary, sizeof(t->summary), "client mode, upstream verified (%s%s%s, %.200s%s%.120s)",
	    sc->verify_chain ? "chain" : "", sc->verify_chain && sc->verify_peer ? " and " : "",
	    sc->verify_peer ? "peer" : "", anchors, sc->n_check_hosts ? ", checkHost " : "",
	    sc->n_check_hosts ? sc->check_hosts[0] : "");
}

/* cert/key: an optional client certificate, validated like a server's. */
static void
set_client_certificate(struct tlsctx *t, const struct service_conf *sc, const char *file,
    struct report *rep)
{
	struct cs_keycert *kc;
	size_t used;

	snprintf(t->source, sizeof(t->source), "client, no certificate");
	if (sc->cert.value == NULL || (kc = tls_load_files(sc, file, rep)) == NULL)
		return;
	if (SSL_CTX_use_certificate(t->ssl_ctx, cs_keycert_leaf(kc)) != 1 ||
	    SSL_CTX_use_PrivateKey(t->ssl_ctx, cs_keycert_key(kc)) != 1 ||
	    SSL_CTX_set1_chain(t->ssl_ctx, cs_keycert_chain(kc)) != 1 ||
	    SSL_CTX_check_private_key(t->ssl_ctx) != 1)
		report_error(rep, "%s:%u: cert: %s: OpenSSL refused the client certificate: %s",
		    file, sc->cert.line, sc->cert.value, tls_openssl_reason());
	t->not_after = cs_keycert_not_after(kc);
	snprintf(t->subject, sizeof(t->subject), "%s", cs_keycert_subject(kc));
	snprintf(t->source, sizeof(t->source), "client certificate file %s", sc->cert.value);
	if (cs_keycert_serial(kc, t->serial, sizeof(t->serial)) == -1)
		snprintf(t->serial, sizeof(t->serial), "?");
	used = strlen(t->summary);
	snprintf(t->summary + used, sizeof(t->summary) - used, "; client certificate %s",
	    cs_keycert_summary(kc));
	cs_keycert_free(kc);
	ERR_clear_error();
}

struct tlsctx *
tls_client_build(const struct service_conf *sc, const char *file, struct report *rep)
{
	unsigned errors_before = rep->n_errors;
	struct tlsctx *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		report_error(rep, "%s:%u: [%s]: cannot create a TLS context: %s", file, sc->line,
		    sc->name, t ? tls_openssl_reason() : "out of memory");
		free(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	/* the same reasons as a server's context (tlsctx_build): an upstream
	 * closing without close_notify ends its direction, buffers are released
	 * when idle, SSL_write behaves like write(2) */
	SSL_CTX_set_options(t->ssl_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(t->ssl_ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	tls_set_protocols(t->ssl_ctx, sc, file, rep);
	tls_set_ciphers(t->ssl_ctx, sc, file, rep);
	set_verify(t, sc, file, rep);
	set_client_certificate(t, sc, file, rep);
	if (rep->n_errors > errors_before) {
		tlsctx_unref(t);
		return NULL;
	}
	return t;
}

const char *
tls_client_server_name(const struct service_conf *sc, const struct conf_endpoint *ep)
{
	if (sc->sni.value != NULL)
		return sc->sni.value;
	/* an IP address or a mistyped one is never sent: RFC 6066 names only */
	if (ep->host != NULL && config_host_name_problem(ep->host) == NULL)
		return ep->host;
	return NULL;
}

SSL *
tls_client_new_ssl(struct tlsctx *t, int fd, const char *server_name)
{
	SSL *ssl = SSL_new(t->ssl_ctx);

	if (ssl == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1 ||
	    (server_name != NULL && SSL_set_tlsext_host_name(ssl, server_name) != 1)) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}
