/* tls.c: building a service's SSL_CTX from its config, and TLS error words. */
#include "proxy/tls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "certstore/certstore.h"
#include "proxy/config.h"
#include "proxy/limits.h"
#include "proxy/report.h"
#include "proxy/sni.h"
#include "proxy/tickets.h"

/* What the verify callback needs; kept in the SSL_CTX's app data. */
struct verify_policy {
	bool chain;                        /* verifyChain */
	bool peer;                         /* verifyPeer: the leaf itself is in CAfile/CApath */
};

static int policy_index = -1;

static const char *
openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown OpenSSL error";
}

void
tls_set_protocols(SSL_CTX *ctx, const struct service_conf *sc, const char *file,
    struct report *rep)
{
	/* stunnel's default minimum is TLSv1, which OpenSSL 3 does not negotiate
	 * at its default security level anyway: say so rather than pretend. */
	int min = sc->tls_version_min ? sc->tls_version_min : TLS1_2_VERSION;

	if (!SSL_CTX_set_min_proto_version(ctx, min))
		report_error(rep, "%s:%u: sslVersionMin: %s is not supported by this OpenSSL",
		    file, sc->tls_version_min_line, config_tls_version_name(min));
	if (sc->tls_version_max && !SSL_CTX_set_max_proto_version(ctx, sc->tls_version_max))
		report_error(rep, "%s:%u: sslVersionMax: %s is not supported by this OpenSSL",
		    file, sc->tls_version_max_line, config_tls_version_name(sc->tls_version_max));
	if (min < TLS1_2_VERSION && SSL_CTX_get_security_level(ctx) >= 1)
		report_warn(rep, "%s:%u: sslVersionMin: OpenSSL 3 offers %s and TLSv1.1 only at "
		    "security level 0 (this system uses %d), so the effective minimum is TLSv1.2",
		    file, sc->tls_version_min_line, config_tls_version_name(min),
		    SSL_CTX_get_security_level(ctx));
}

/* OpenSSL silently skips cipher names it does not know as long as one entry
 * matches; a typo would quietly drop a cipher, so check each entry alone. */
static void
check_cipher_entries(const char *list, const char *file, unsigned line, struct report *rep)
{
	SSL_CTX *probe = SSL_CTX_new(TLS_server_method());
	char *copy = strdup(list), *save = NULL;

	for (char *tok = copy ? strtok_r(copy, ":, ", &save) : NULL; tok && probe;
	    tok = strtok_r(NULL, ":, ", &save)) {
		if (strchr("!-+@", tok[0]) != NULL)
			continue;
		if (!SSL_CTX_set_cipher_list(probe, tok))
			report_warn(rep, "%s:%u: ciphers: \"%s\" matches no cipher and is ignored "
			    "(see `openssl ciphers -v`)", file, line, tok);
	}
	ERR_clear_error();
	free(copy);
	SSL_CTX_free(probe);
}

#define TLS13_SUITES_KNOWN "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, " \
	"TLS_AES_128_GCM_SHA256, TLS_AES_128_CCM_SHA256 or TLS_AES_128_CCM_8_SHA256"

/* OpenSSL also skips TLSv1.3 ciphersuite names it does not know, as long
 * as one name is known. There are no aliases here, so every name must be
 * one: check each alone. Returns the number of unknown names. */
static unsigned
check_suite_entries(const char *list, const char *file, unsigned line, struct report *rep)
{
	SSL_CTX *probe = SSL_CTX_new(TLS_server_method());
	char *copy = strdup(list), *save = NULL;
	unsigned unknown = 0;

	for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok && probe;
	    tok = strtok_r(NULL, ":", &save)) {
		if (SSL_CTX_set_ciphersuites(probe, tok))
			continue;
		report_error(rep, "%s:%u: ciphersuites: \"%s\" is not a TLSv1.3 ciphersuite this "
		    "OpenSSL knows (%s)", file, line, tok, TLS13_SUITES_KNOWN);
		unknown++;
	}
	ERR_clear_error();
	free(copy);
	SSL_CTX_free(probe);
	return unknown;
}

void
tls_set_ciphers(SSL_CTX *ctx, const struct service_conf *sc, const char *file,
    struct report *rep)
{
	const char *ciphers = sc->ciphers.value ? sc->ciphers.value : CONFIG_DEFAULT_CIPHERS;
	const char *suites = sc->ciphersuites.value ? sc->ciphersuites.value
	    : CONFIG_DEFAULT_CIPHERSUITES;
	const char *curves = sc->curves.value ? sc->curves.value : CONFIG_DEFAULT_CURVES;

	if (!SSL_CTX_set_cipher_list(ctx, ciphers))
		report_error(rep, "%s:%u: ciphers: no usable cipher in \"%s\" (see `openssl ciphers -v`)",
		    file, sc->ciphers.line, ciphers);
	else if (sc->ciphers.value)
		check_cipher_entries(ciphers, file, sc->ciphers.line, rep);
	/* each unknown name is reported on its own; then the list says nothing new */
	if ((sc->ciphersuites.value == NULL ||
	    check_suite_entries(suites, file, sc->ciphersuites.line, rep) == 0) &&
	    !SSL_CTX_set_ciphersuites(ctx, suites))
		report_error(rep, "%s:%u: ciphersuites: \"%s\" is not a valid TLSv1.3 ciphersuite "
		    "list (names such as TLS_AES_256_GCM_SHA384, separated by ':')",
		    file, sc->ciphersuites.line, suites);
	if (!SSL_CTX_set1_groups_list(ctx, curves))
		report_error(rep, "%s:%u: curves: \"%s\" names a curve this OpenSSL does not know "
		    "(for example X25519:P-256:P-384)", file, sc->curves.line, curves);
	ERR_clear_error();
}

/* Which option a certstore message is about: it starts with the file at
 * fault. A key that is the cert file (no key line: stunnel's combined file)
 * is the cert line's. Anything else is about cert. */
static const struct conf_str *
blamed_option(const struct service_conf *sc, const char *msg, const char **name)
{
	const struct { const char *name; const struct conf_str *opt; } files[] = {
		{ "key", &sc->key }, { "CAfile", &sc->ca_file }, { "CApath", &sc->ca_path },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const struct conf_str *o = files[i].opt;
		size_t n = o->value ? strlen(o->value) : 0;

		if (n == 0 || o->line == 0 || strcmp(o->value, sc->cert.value) == 0)
			continue;
		if (strncmp(msg, o->value, n) == 0 && msg[n] == ':') {
			*name = files[i].name;
			return o;
		}
	}
	*name = "cert";
	return &sc->cert;
}

struct cs_keycert *
tls_load_files(const struct service_conf *sc, const char *file, struct report *rep)
{
	/* client mode: cert is the client certificate sent to the upstream */
	struct cs_trust trust = { .ca_file = sc->ca_file.value, .ca_path = sc->ca_path.value,
	    .use_system = true, .client_leaf = sc->client };
	struct cs_warnings warnings = { 0 };
	struct cs_error err = { { 0 } };
	struct cs_keycert *kc;

	kc = cs_keycert_load_files(sc->cert.value, sc->key.value, &trust, time(NULL),
	    &warnings, &err);
	for (unsigned i = 0; i < warnings.count; i++)
		report_warn(rep, "%s:%u: cert: %s", file, sc->cert.line, warnings.msg[i]);
	if (kc == NULL) {
		const char *name;
		const struct conf_str *opt = blamed_option(sc, err.msg, &name);

		report_error(rep, "%s:%u: %s: %s", file, opt->line, name, err.msg);
	}
	return kc;
}

/* A client checks the certificate against the name it connected to: each
 * configured hostname must be covered, or those clients would fail. */
static void
check_hostnames(const struct service_conf *sc, const char *file, const struct cs_keycert *kc,
    const char *source, struct report *rep)
{
	char sans[512];

	for (unsigned i = 0; i < sc->n_hostnames; i++) {
		if (cs_keycert_covers(kc, sc->hostnames[i]))
			continue;
		if (cs_keycert_sans(kc, sans, sizeof(sans)) == -1 || sans[0] == '\0')
			snprintf(sans, sizeof(sans), "no subjectAltName");
		report_error(rep, "%s:%u: hostname: %s (%s) does not cover %s, which clients of [%s] "
		    "connect to; it is for %s", file, sc->hostname_lines[i], cs_keycert_subject(kc),
		    source, sc->hostnames[i], sc->name, sans);
	}
}

static void
set_certificate(struct tlsctx *t, const struct service_conf *sc, const char *file,
    const struct cs_keycert *kc, const char *source, struct report *rep)
{
	if (SSL_CTX_use_certificate(t->ssl_ctx, cs_keycert_leaf(kc)) != 1 ||
	    SSL_CTX_use_PrivateKey(t->ssl_ctx, cs_keycert_key(kc)) != 1 ||
	    SSL_CTX_set1_chain(t->ssl_ctx, cs_keycert_chain(kc)) != 1 ||
	    SSL_CTX_check_private_key(t->ssl_ctx) != 1)
		report_error(rep, "%s:%u: [%s]: %s: OpenSSL refused the certificate: %s", file,
		    sc->line, sc->name, source, openssl_reason());
	check_hostnames(sc, file, kc, source, rep);
	t->not_after = cs_keycert_not_after(kc);
	snprintf(t->subject, sizeof(t->subject), "%s", cs_keycert_subject(kc));
	snprintf(t->summary, sizeof(t->summary), "%s", cs_keycert_summary(kc));
	snprintf(t->source, sizeof(t->source), "%s", source);
	if (cs_keycert_serial(kc, t->serial, sizeof(t->serial)) == -1)
		snprintf(t->serial, sizeof(t->serial), "?");
	(void)cs_keycert_sans(kc, t->sans, sizeof(t->sans));   /* cut short if very long */
	ERR_clear_error();
}

/* verifyPeer: the peer's own certificate must be in CAfile/CApath. */
static bool
peer_cert_is_trusted(X509_STORE_CTX *store, X509 *cert)
{
	X509_OBJECT *obj = X509_STORE_CTX_get_obj_by_subject(store, X509_LU_X509,
	    X509_get_subject_name(cert));
	bool found = obj != NULL && X509_cmp(X509_OBJECT_get0_X509(obj), cert) == 0;

	X509_OBJECT_free(obj);
	return found;
}

/* The errors verifyPeer alone overlooks: a listed certificate need not
 * chain up to a CA (stunnel's verify_checks() ignores the same ones). */
static bool
is_missing_issuer(int error)
{
	return error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    error == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
	    error == X509_V_ERR_CERT_UNTRUSTED;
}

/* stunnel's semantics: verifyChain checks the chain up to a CAfile root;
 * verifyPeer accepts exactly the certificates listed in CAfile, and only
 * while they are valid (not expired, not revoked); with neither
 * (requireCert alone) any certificate is accepted. */
static int
verify_callback(int preverify_ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct verify_policy *p = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), policy_index);
	int depth = X509_STORE_CTX_get_error_depth(store);

	if (p == NULL || (!p->chain && !p->peer))
		return 1;
	if (p->chain && !preverify_ok)
		return 0;
	if (!preverify_ok && depth == 0 && !is_missing_issuer(X509_STORE_CTX_get_error(store)))
		return 0;
	if (p->peer && depth == 0 && !peer_cert_is_trusted(store, X509_STORE_CTX_get_current_cert(store))) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_UNTRUSTED);
		return 0;
	}
	return 1;
}

static void
free_policy(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	free(ptr);
}

void
tls_load_crl(SSL_CTX *ctx, const struct service_conf *sc, const char *file, struct report *rep)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());

	if (lookup == NULL || X509_load_crl_file(lookup, sc->crl_file.value, X509_FILETYPE_PEM) <= 0) {
		report_error(rep, "%s:%u: CRLfile: %s: no CRL could be loaded (%s); expected "
		    "PEM \"X509 CRL\" blocks", file, sc->crl_file.line, sc->crl_file.value,
		    openssl_reason());
		return;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
}

static void
load_verify_locations(SSL_CTX *ctx, const struct service_conf *sc, const char *file,
    struct report *rep)
{
	STACK_OF(X509_NAME) *names;

	if (sc->ca_file.value && SSL_CTX_load_verify_file(ctx, sc->ca_file.value) != 1)
		report_error(rep, "%s:%u: CAfile: %s: no CA certificate could be loaded (%s)",
		    file, sc->ca_file.line, sc->ca_file.value, openssl_reason());
	if (sc->ca_path.value && SSL_CTX_load_verify_dir(ctx, sc->ca_path.value) != 1)
		report_error(rep, "%s:%u: CApath: %s: cannot be used as a hashed CA directory (%s)",
		    file, sc->ca_path.line, sc->ca_path.value, openssl_reason());
	/* tell clients which CAs we accept, so they pick the right certificate */
	if (sc->ca_file.value && (names = SSL_load_client_CA_file(sc->ca_file.value)) != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	ERR_clear_error();
}

static void
set_verify(SSL_CTX *ctx, const struct service_conf *sc, const char *file, struct report *rep)
{
	int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;

	/* Loaded even when unused, as stunnel does: a file that is named is
	 * checked, never ignored. */
	if (sc->crl_file.value)
		tls_load_crl(ctx, sc, file, rep);
	if (sc->crl_file.value && !sc->verify_chain && !sc->verify_peer)
		report_warn(rep, "%s:%u: CRLfile: has no effect without verifyChain = yes or verifyPeer = yes",
		    file, sc->crl_file.line);
	if (!sc->verify_chain && !sc->verify_peer && !sc->require_cert)
		return;
	if ((sc->verify_chain || sc->verify_peer) && !sc->ca_file.value && !sc->ca_path.value) {
		report_error(rep, "%s:%u: %s: needs CAfile or CApath with the certificates to "
		    "trust (the CA that issues client certificates%s)", file, sc->verify_line,
		    sc->verify_chain ? "verifyChain" : "verifyPeer",
		    sc->verify_peer ? ", or the client certificates themselves" : "");
		return;
	}
	load_verify_locations(ctx, sc, file, rep);
	if (sc->require_cert)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	if (tls_set_verify_policy(ctx, sc->verify_chain, sc->verify_peer, mode) == -1)
		report_error(rep, "%s:%u: out of memory", file, sc->line);
}

int
tls_set_verify_policy(SSL_CTX *ctx, bool chain, bool peer, int mode)
{
	struct verify_policy *p;

	if (policy_index == -1)
		policy_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_policy);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->chain = chain;
	p->peer = peer;
	SSL_CTX_set_ex_data(ctx, policy_index, p);
	SSL_CTX_set_verify(ctx, mode, verify_callback);
	return 0;
}

static void
set_session_context(SSL_CTX *ctx, const char *service_name)
{
	unsigned char id[SSL_MAX_SID_CTX_LENGTH];
	unsigned int len = 0;

	/* A session resumes only in the service that made it (and its client
	 * verification); the id context is at most 32 bytes, so hash the name. */
	EVP_Digest(service_name, strlen(service_name), id, &len, EVP_sha256(), NULL);
	SSL_CTX_set_session_id_context(ctx, id, len < sizeof(id) ? len : sizeof(id));
}

struct tlsctx *
tlsctx_build(const struct service_conf *sc, const char *file, const struct cs_keycert *kc,
    const char *source, unsigned version, struct report *rep)
{
	unsigned errors_before = rep->n_errors;
	struct tlsctx *t = calloc(1, sizeof(*t));

	if (policy_index == -1)
		policy_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_policy);
	if (t == NULL || (t->ssl_ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		report_error(rep, "%s:%u: [%s]: cannot create a TLS context: %s", file, sc->line,
		    sc->name, t ? openssl_reason() : "out of memory");
		free(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->version = version;
	/* IGNORE_UNEXPECTED_EOF: a client that closes TCP without close_notify
	 * ends its direction like one that sends it; otherwise OpenSSL 3 makes it
	 * a fatal error and the backend's reply could no longer be delivered.
	 * No server cipher preference, as in stunnel: among the allowed suites
	 * the client, which knows whether it has AES instructions, chooses. */
	SSL_CTX_set_options(t->ssl_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* RELEASE_BUFFERS: an idle connection keeps no record buffers.
	 * PARTIAL_WRITE + MOVING_WRITE_BUFFER: SSL_write behaves like write(2). */
	SSL_CTX_set_mode(t->ssl_ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read ahead: one recv() takes what the peer has sent (a whole flight,
	 * several records of a transfer) instead of one recv() for each record's
	 * header and one for its body. Bytes OpenSSL holds never wake libev: the
	 * relay drains them (SSL_has_pending). The buffer is released when empty,
	 * so an idle connection still holds none. */
	SSL_CTX_set_read_ahead(t->ssl_ctx, 1);
	SSL_CTX_set_default_read_buffer_len(t->ssl_ctx, TLS_READ_BUF_BYTES);
	set_session_context(t->ssl_ctx, sc->name);
	tickets_attach(t->ssl_ctx);       /* one key ring: tickets outlive swaps */
	tls_set_protocols(t->ssl_ctx, sc, file, rep);
	tls_set_ciphers(t->ssl_ctx, sc, file, rep);
	set_certificate(t, sc, file, kc, source, rep);
	set_verify(t->ssl_ctx, sc, file, rep);
	/* a primary with secondaries chooses the certificate by server name */
	if (sc->n_sni_secondaries > 0)
		SSL_CTX_set_tlsext_servername_callback(t->ssl_ctx, sni_servername_cb);
	if (rep->n_errors > errors_before) {
		tlsctx_unref(t);
		return NULL;
	}
	return t;
}

struct tlsctx *
tlsctx_ref(struct tlsctx *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void
tlsctx_unref(struct tlsctx *t)
{
	if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	SSL_CTX_free(t->ssl_ctx);
	free(t);
}

SSL *
tlsctx_new_ssl(struct tlsctx *t, int fd)
{
	SSL *ssl = SSL_new(t->ssl_ctx);

	if (ssl == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

const char *
tls_openssl_reason(void)
{
	return openssl_reason();
}

const char *
tls_failure_reason(SSL *ssl, int ssl_error, char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (verify != X509_V_OK && ssl_error == SSL_ERROR_SSL)
		snprintf(buf, len, "%s certificate verify failed: %s",
		    SSL_is_server(ssl) ? "client" : "upstream", X509_verify_cert_error_string(verify));
	else if (e != 0)
		snprintf(buf, len, "%s", ERR_reason_error_string(e) ? ERR_reason_error_string(e)
		    : "TLS protocol error");
	else if (ssl_error == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(buf, len, "%s", strerror(errno));
	else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN)
		snprintf(buf, len, "peer closed the connection");
	else
		snprintf(buf, len, "TLS error %d", ssl_error);
	ERR_clear_error();
	return buf;
}
