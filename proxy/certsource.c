/* certsource.c: a service's certificate from its files, the store, or a swap. */
#include "proxy/certsource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certstore/certstore.h"
#include "proxy/config.h"
#include "proxy/hookrun.h"
#include "proxy/report.h"
#include "proxy/tls.h"

#define SOURCE_LABEL_MAX 320               /* struct tlsctx source */

static bool
wants_auto_issue(const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].certname.value != NULL && cfg->services[i].auto_issue)
			return true;
	return false;
}

int
certsource_open_store(const struct config *cfg, enum certsource_mode mode,
    struct certstore **store, struct report *rep)
{
	const struct conf_str *dir = &cfg->certstore_dir;
	struct cs_ca_params ca = { .now = time(NULL) };
	struct cs_error err;

	*store = NULL;
	if (dir->value == NULL)
		return 0;
	/* a fresh install serves TLS with no certificate work at all */
	if (!certstore_has_ca(dir->value) && wants_auto_issue(cfg)) {
		if (mode == CERTSOURCE_CHECK) {
			report_info(rep, "certstore %s: no CA yet; one would be created for autoIssue",
			    dir->value);
			return 0;
		}
		if (certstore_ca_init(dir->value, &ca, &err) == -1) {
			report_error(rep, "%s:%u: certstore: %s", cfg->file, dir->line, err.msg);
			return -1;
		}
		report_warn(rep, "%s:%u: certstore: created a new CA in %s for autoIssue; give "
		    "clients %s/ca/root.pem to trust", cfg->file, dir->line, dir->value, dir->value);
	}
	if ((*store = certstore_open(dir->value, &err)) == NULL) {
		report_error(rep, "%s:%u: certstore: %s", cfg->file, dir->line, err.msg);
		return -1;
	}
	return 0;
}

void
certsource_where(char *buf, size_t len, const char *config_file, const struct service_conf *sc)
{
	snprintf(buf, len, "%s:%u: certname", config_file, sc->certname.line);
}

struct tlsctx *
certsource_from_store(const struct service_conf *sc, const char *config_file,
    const char *where, struct certstore *store, const char *name, unsigned version,
    struct report *rep)
{
	const char *sep = where != NULL ? ": " : "";
	struct cs_warnings warnings = { 0 };
	struct cs_error err;
	struct cs_keycert *kc;
	struct tlsctx *t;
	unsigned loaded = 0;
	char source[128];

	kc = certstore_load(store, name, version, time(NULL), &loaded, &warnings, &err);
	if (where == NULL)
		where = "";
	for (unsigned i = 0; i < warnings.count; i++)
		report_warn(rep, "%s%s%s", where, sep, warnings.msg[i]);
	if (kc == NULL) {
		report_error(rep, "%s%s%s", where, sep, err.msg);
		return NULL;
	}
	snprintf(source, sizeof(source), "store %s@%u", name, loaded);
	t = tlsctx_build(sc, config_file, kc, source, loaded, rep);
	cs_keycert_free(kc);
	return t;
}

/* The newest version of name other than the current one that validates:
 * an expired certificate is never served when a valid one exists. */
static struct tlsctx *
fallback_version(const struct service_conf *sc, const char *config_file, const char *where,
    struct certstore *store, const char *name, struct report *rep)
{
	unsigned *versions = NULL, current = 0;
	size_t n = 0;
	struct cs_error err;
	struct tlsctx *t = NULL;

	if (certstore_current(store, name, &current, &err) == -1 ||
	    certstore_versions(store, name, &versions, &n, &err) == -1)
		return NULL;
	for (size_t i = n; i-- > 0 && t == NULL;) {
		struct report quiet = { 0 };

		if (versions[i] != current)
			t = certsource_from_store(sc, config_file, where, store, name, versions[i],
			    &quiet);
		report_free(&quiet);
	}
	free(versions);
	if (t != NULL)
		report_warn(rep, "%s: %s@%u is not valid; serving %s instead until it is renewed "
		    "or fixed", where, name, current, t->source + strlen("store "));
	return t;
}

/* autoIssue issues for the service's host names: without any, it cannot. */
static int
auto_issue_names_given(const struct service_conf *sc, const struct config *cfg,
    struct report *rep)
{
	if (sc->n_hostnames > 0)
		return 0;
	report_error(rep, "%s:%u: autoIssue: [%s] has no hostname = ... to issue %s for; add "
	    "the names clients connect to", cfg->file, sc->auto_issue_line, sc->name,
	    sc->certname.value);
	return -1;
}

/* -t, for a name the store does not have: what the start would issue, or the
 * error the start would give. store is NULL when the store has no CA yet. */
static struct tlsctx *
check_auto_issue(const struct service_conf *sc, const struct config *cfg,
    const struct certstore *store, struct report *rep)
{
	char names[CONFIG_MAX_HOSTNAMES * 256] = "";

	if (!sc->auto_issue && store == NULL) {
		report_error(rep, "%s:%u: certname: %s: no such certificate in %s, which has no CA "
		    "yet (autoIssue = yes would issue it)", cfg->file, sc->certname.line,
		    sc->certname.value, cfg->certstore_dir.value);
		return NULL;
	}
	if (auto_issue_names_given(sc, cfg, rep) == -1)
		return NULL;
	for (unsigned i = 0; i < sc->n_hostnames; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
		    sc->hostnames[i]);
	report_info(rep, "[%s] %s would be issued by the store's CA (autoIssue) for %s", sc->name,
	    sc->certname.value, names);
	return NULL;
}

/* autoIssue: the names to issue for are the service's host names. */
static int
auto_issue(const struct service_conf *sc, const struct config *cfg, struct certstore *store,
    struct report *rep)
{
	const char *dns[CONFIG_MAX_HOSTNAMES], *ip[CONFIG_MAX_HOSTNAMES];
	struct cs_issue_params p = { .name = sc->certname.value, .dns = dns, .ip = ip,
		.now = time(NULL) };
	struct cs_change change;
	struct cs_error err;

	for (unsigned i = 0; i < sc->n_hostnames; i++) {
		bool is_ip = strchr(sc->hostnames[i], ':') != NULL ||
		    strspn(sc->hostnames[i], "0123456789.") == strlen(sc->hostnames[i]);

		if (is_ip)
			ip[p.n_ip++] = sc->hostnames[i];
		else
			dns[p.n_dns++] = sc->hostnames[i];
	}
	if (auto_issue_names_given(sc, cfg, rep) == -1)
		return -1;
	if (certstore_issue(store, &p, &change, NULL, &err) == -1) {
		report_error(rep, "%s:%u: autoIssue: %s", cfg->file, sc->auto_issue_line, err.msg);
		return -1;
	}
	report_warn(rep, "%s:%u: autoIssue: issued %s (serial %s) for [%s] from the store's CA",
	    cfg->file, sc->auto_issue_line, sc->certname.value, change.serial, sc->name);
	hookrun_start(store, &change);
	return 0;
}

static struct tlsctx *
load_managed(const struct service_conf *sc, const struct config *cfg, struct certstore *store,
    enum certsource_mode mode, struct report *rep)
{
	const char *name = sc->certname.value;
	unsigned current;
	struct cs_error err;
	struct report attempt = { 0 };
	struct tlsctx *t;
	char where[CERTSOURCE_WHERE_MAX];

	certsource_where(where, sizeof(where), cfg->file, sc);
	if (store == NULL)                 /* CHECK mode before the CA exists */
		return check_auto_issue(sc, cfg, store, rep);
	if (certstore_current(store, name, &current, &err) == -1) {
		if (!sc->auto_issue) {
			report_error(rep, "%s:%u: certname: %s", cfg->file, sc->certname.line, err.msg);
			return NULL;
		}
		if (mode == CERTSOURCE_CHECK)
			return check_auto_issue(sc, cfg, store, rep);
		if (auto_issue(sc, cfg, store, rep) == -1)
			return NULL;
	}
	if ((t = certsource_from_store(sc, cfg->file, where, store, name, 0, &attempt)) == NULL &&
	    (t = fallback_version(sc, cfg->file, where, store, name, rep)) == NULL) {
		for (unsigned i = 0; i < attempt.n_lines; i++)
			report_add(rep, attempt.lines[i].kind, "%s", attempt.lines[i].text);
	} else {
		/* served, or a fallback: why the current version was refused is a warning */
		for (unsigned i = 0; i < attempt.n_lines; i++)
			report_add(rep, attempt.lines[i].kind == REPORT_ERROR ? REPORT_WARN :
			    attempt.lines[i].kind, "%s", attempt.lines[i].text);
	}
	report_free(&attempt);
	return t;
}

struct tlsctx *
certsource_load(const struct service_conf *sc, const struct config *cfg,
    struct certstore *store, enum certsource_mode mode, struct report *rep)
{
	struct cs_keycert *kc;
	struct tlsctx *t;
	char source[SOURCE_LABEL_MAX];

	if (sc->certname.value != NULL)
		return load_managed(sc, cfg, store, mode, rep);
	if ((kc = tls_load_files(sc, cfg->file, rep)) == NULL)
		return NULL;
	snprintf(source, sizeof(source), "file %s", sc->cert.value);
	t = tlsctx_build(sc, cfg->file, kc, source, 0, rep);
	cs_keycert_free(kc);
	return t;
}

/* certs then chain, parsed from PEM; NULL with err. */
static STACK_OF(X509) *
parse_chain(const char *cert, size_t cert_len, const char *chain, size_t chain_len,
    const char *label, struct cs_error *err)
{
	STACK_OF(X509) *all = cs_pem_parse_certs(cert, cert_len, label, err), *more;

	if (all == NULL || chain == NULL || chain_len == 0)
		return all;
	if ((more = cs_pem_parse_certs(chain, chain_len, label, err)) == NULL) {
		sk_X509_pop_free(all, X509_free);
		return NULL;
	}
	while (sk_X509_num(more) > 0)
		sk_X509_push(all, sk_X509_shift(more));
	sk_X509_free(more);
	return all;
}

struct tlsctx *
certsource_from_pem(const struct service_conf *sc, const char *config_file,
    struct certstore *store, const char *cert, size_t cert_len, const char *chain,
    size_t chain_len, const char *key, size_t key_len, const char *label, struct report *rep)
{
	char root[4096];
	struct cs_trust trust = { .ca_file = sc->ca_file.value, .ca_path = sc->ca_path.value,
		.use_system = true };
	struct cs_warnings warnings = { 0 };
	struct cs_error err;
	struct cs_keycert *kc = NULL;
	STACK_OF(X509) *certs = parse_chain(cert, cert_len, chain, chain_len, label, &err);
	EVP_PKEY *pkey = certs ? cs_pem_parse_key(key, key_len, label, NULL, &err) : NULL;
	struct tlsctx *t = NULL;
	char source[SOURCE_LABEL_MAX];

	if (store != NULL && snprintf(root, sizeof(root), "%s/ca/root.pem",
	    certstore_dir(store)) < (int)sizeof(root))
		trust.extra_file = root;
	if (pkey != NULL)
		kc = cs_keycert_validate(certs, label, pkey, label, &trust, time(NULL), &warnings, &err);
	for (unsigned i = 0; i < warnings.count; i++)
		report_warn(rep, "%s", warnings.msg[i]);
	if (kc == NULL) {
		report_error(rep, "%s", err.msg);
	} else {
		snprintf(source, sizeof(source), "swap %s", label);
		t = tlsctx_build(sc, config_file, kc, source, 0, rep);
	}
	cs_keycert_free(kc);
	EVP_PKEY_free(pkey);
	sk_X509_pop_free(certs, X509_free);
	return t;
}
