/* sni.c: the certificate for the client's server name, among a primary
 * service and its secondaries. */
#include "proxy/sni.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "proxy/conn.h"
#include "proxy/report.h"
#include "proxy/snapshot.h"
#include "proxy/tls.h"

#define SNI_NAME_MAX 253                  /* a DNS name, without the final dot */

enum sni_pass { SNI_EXACT, SNI_WILDCARD };

/* Whether "*.suffix" matches name: exactly one non-empty label before suffix. */
static bool
wildcard_matches(const char *pattern, const char *name)
{
	const char *suffix = pattern + 1;          /* ".example.org" */
	size_t len = strlen(name), slen = strlen(suffix);

	if (len <= slen || strcmp(name + len - slen, suffix) != 0)
		return false;
	return memchr(name, '.', len - slen) == NULL;
}

/* Whether the certificate svc serves now names `name` in its DNS
 * subjectAltNames, in this pass. */
static bool
certificate_matches(struct service *svc, const char *name, enum sni_pass pass)
{
	struct tlsctx *t = service_tls_acquire(svc);
	X509 *leaf = t != NULL ? SSL_CTX_get0_certificate(t->ssl_ctx) : NULL;
	unsigned flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    (pass == SNI_EXACT ? X509_CHECK_FLAG_NO_WILDCARDS
	                       : X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	bool match = leaf != NULL && X509_check_host(leaf, name, strlen(name), flags, NULL) == 1;

	tlsctx_unref(t);
	return match;
}

/* Whether secondary s serves name in this pass: by its pattern, or
 * without one by its certificate's names. */
static bool
secondary_matches(struct service *s, const char *name, enum sni_pass pass)
{
	const char *pattern = s->conf->sni_pattern;

	if (pattern == NULL)
		return certificate_matches(s, name, pass);
	if (pattern[0] == '*')
		return pass == SNI_WILDCARD && wildcard_matches(pattern, name);
	return pass == SNI_EXACT && strcmp(pattern, name) == 0;
}

struct service *
sni_choose(struct snapshot *snap, struct service *primary, const char *name)
{
	for (enum sni_pass pass = SNI_EXACT; pass <= SNI_WILDCARD; pass++) {
		/* the primary's own names first: it is also the default */
		if (certificate_matches(primary, name, pass))
			return primary;
		for (unsigned i = 0; i < snap->n_services; i++) {
			struct service *s = &snap->services[i];

			if (s->sni_primary == primary && secondary_matches(s, name, pass))
				return s;
		}
	}
	return primary;
}

/* Whether leaf has a DNS subjectAltName. */
static bool
has_dns_name(X509 *leaf)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !found; i++)
		found = sk_GENERAL_NAME_value(names, i)->type == GEN_DNS;
	GENERAL_NAMES_free(names);
	return found;
}

void
sni_check_secondary(struct service *svc, const char *file, struct report *rep)
{
	const struct service_conf *sc = svc->conf;
	struct tlsctx *t = service_tls_acquire(svc);
	X509 *leaf = t != NULL ? SSL_CTX_get0_certificate(t->ssl_ctx) : NULL;
	const char *pattern = sc->sni_pattern;

	/* "*.example.org" as a name matches a certificate's "*.example.org" exactly */
	if (leaf != NULL && pattern != NULL && X509_check_host(leaf, pattern, strlen(pattern),
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) != 1)
		report_warn(rep, "%s:%u: sni: the certificate of [%s] (%s) does not cover %s; "
		    "clients that check the server name will refuse it", file, sc->sni.line,
		    sc->name, t->sans[0] ? t->sans : "no subjectAltName", pattern);
	else if (leaf != NULL && pattern == NULL && !has_dns_name(leaf))
		report_warn(rep, "%s:%u: sni: the certificate of [%s] has no DNS name, so without "
		    "a pattern no server name chooses it; add one, as in sni = %s:mail.example.org",
		    file, sc->sni.line, sc->name, sc->sni_primary);
	tlsctx_unref(t);
}

/* The server name in lower case without a final dot; false if it cannot
 * be a DNS name (too long, empty): then the default serves. */
static bool
name_canonical(const char *in, char *out, size_t size)
{
	size_t len = strlen(in);

	if (len > 1 && in[len - 1] == '.')
		len--;
	if (len == 0 || len >= size)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	out[len] = '\0';
	return true;
}

int
sni_servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct conn *c = SSL_get_app_data(ssl);
	const char *sent = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char name[SNI_NAME_MAX + 1];
	struct service *primary, *chosen;
	struct tlsctx *t;

	(void)arg;
	if (c == NULL || sent == NULL || !name_canonical(sent, name, sizeof(name)))
		return SSL_TLSEXT_ERR_NOACK;
	/* a second ClientHello (after HelloRetryRequest) chooses again from the primary */
	primary = c->svc->sni_primary != NULL ? c->svc->sni_primary : c->svc;
	chosen = sni_choose(c->snap, primary, name);
	if (chosen == (c->sni_chosen != NULL ? c->sni_chosen : primary))
		return SSL_TLSEXT_ERR_OK;
	if ((t = service_tls_acquire(chosen)) == NULL)
		return SSL_TLSEXT_ERR_OK;           /* -t only: nothing is served then */
	if (SSL_set_SSL_CTX(ssl, t->ssl_ctx) == NULL) {
		tlsctx_unref(t);
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	conn_sni_chosen(c, chosen, primary, t);
	return SSL_TLSEXT_ERR_OK;
}
