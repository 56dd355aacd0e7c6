/* info.c: a certificate as list and show present it (struct cs_cert_info),
 * with its status: the index's word on revocation, the dates, and the same
 * validation the daemon will apply when it loads the version. */
#include "certstore/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

const char *
cs_status_name(enum cs_status s)
{
	switch (s) {
	case CS_STATUS_VALID: return "valid";
	case CS_STATUS_DUE: return "due";
	case CS_STATUS_EXPIRED: return "expired";
	case CS_STATUS_REVOKED: return "revoked";
	case CS_STATUS_INVALID: return "invalid";
	}
	return "unknown";
}

void
cs_cert_info_clear(struct cs_cert_info *info)
{
	cs_strv_free(info->sans);
	memset(info, 0, sizeof(*info));
}

/* "AB:CD:...", as `openssl x509 -fingerprint -sha256` prints it. */
static void
fingerprint(X509 *x, char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	buf[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (unsigned i = 0; i < n && 3 * i + 3 <= len; i++)
		snprintf(buf + 3 * i, len - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
}

/* Everything that comes from the leaf itself. */
static int
fill_cert(struct cs_cert_info *out, X509 *x, time_t now, struct cs_error *err)
{
	cs_serial_hex(X509_get0_serialNumber(x), out->serial, sizeof(out->serial));
	cs_name_oneline(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	cs_name_oneline(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	cs_name_openssl(X509_get_subject_name(x), out->subject_openssl,
	    sizeof(out->subject_openssl));
	cs_name_openssl(X509_get_issuer_name(x), out->issuer_openssl, sizeof(out->issuer_openssl));
	if (cs_time_from_asn1(X509_get0_notBefore(x), &out->not_before) == -1 ||
	    cs_time_from_asn1(X509_get0_notAfter(x), &out->not_after) == -1) {
		out->status = CS_STATUS_INVALID;
		snprintf(out->problem, sizeof(out->problem), "unreadable validity dates");
	}
	out->days_left = cs_days_until(out->not_after, now);
	out->renew_at = cs_renew_at(out->not_before, out->not_after);
	fingerprint(x, out->fingerprint, sizeof(out->fingerprint));
	cs_key_describe(X509_get0_pubkey(x), out->key, sizeof(out->key));
	out->client = (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0;
	return cs_san_list(x, &out->sans, &out->n_sans, err);
}

static void
fill_chain(struct cs_cert_info *out, STACK_OF(X509) *certs)
{
	for (int i = 1; i < sk_X509_num(certs) && out->n_chain < CS_PEM_MAX_CERTS; i++) {
		X509 *x = sk_X509_value(certs, i);
		struct cs_chain_entry *e = &out->chain[out->n_chain++];

		cs_name_oneline(X509_get_subject_name(x), e->subject, sizeof(e->subject));
		cs_name_oneline(X509_get_issuer_name(x), e->issuer, sizeof(e->issuer));
		if (cs_time_from_asn1(X509_get0_notAfter(x), &e->not_after) == -1)
			e->not_after = 0;
	}
}

static bool
is_revoked(struct certstore *cs, const char *serial)
{
	char path[CS_PATH_MAX];
	struct cs_index idx;
	const struct cs_index_entry *e;
	bool revoked = false;

	if (cs_store_path(cs, path, NULL, "ca/index.txt") == 0 &&
	    cs_index_load(path, &idx, NULL) == 0) {
		e = cs_index_find(&idx, serial);
		revoked = e != NULL && e->status == 'R';
		cs_index_free(&idx);
	}
	return revoked;
}

/* The status, in order of what matters most to an operator. */
static void
judge(struct certstore *cs, struct cs_cert_info *out, time_t now)
{
	struct cs_keycert *kc;
	struct cs_error why;

	if (out->status == CS_STATUS_INVALID)
		return;
	if (is_revoked(cs, out->serial)) {
		out->status = CS_STATUS_REVOKED;
		return;
	}
	if (now > out->not_after) {
		out->status = CS_STATUS_EXPIRED;
		return;
	}
	if ((kc = certstore_load(cs, out->name, out->version, now, NULL, NULL, &why)) == NULL) {
		out->status = CS_STATUS_INVALID;
		snprintf(out->problem, sizeof(out->problem), "%s", why.msg);
		return;
	}
	cs_keycert_free(kc);
	out->status = now >= out->renew_at ? CS_STATUS_DUE : CS_STATUS_VALID;
}

static int
count_versions(struct certstore *cs, struct cs_cert_info *out, struct cs_error *err)
{
	unsigned *v, cur;
	size_t n;

	if (certstore_versions(cs, out->name, &v, &n, err) == -1)
		return -1;
	free(v);
	out->n_versions = (unsigned)n;
	out->current = certstore_current(cs, out->name, &cur, NULL) == 0 && cur == out->version;
	return 0;
}

int
certstore_info(struct certstore *cs, const char *name, unsigned version, time_t now,
    struct cs_cert_info *out, struct cs_error *err)
{
	struct cs_paths p;
	struct cs_error why;
	STACK_OF(X509) *certs;

	memset(out, 0, sizeof(*out));
	if (version == 0 && certstore_current(cs, name, &version, err) == -1)
		return -1;
	if (certstore_paths(cs, name, version, &p, err) == -1)
		return -1;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->version = version;
	if (count_versions(cs, out, err) == -1)
		return -1;
	/* a version whose files are damaged is shown as invalid, not hidden */
	if ((certs = cs_cert_load_all(p.fullchain, false, &why)) == NULL) {
		out->status = CS_STATUS_INVALID;
		snprintf(out->problem, sizeof(out->problem), "%s", why.msg);
		return 0;
	}
	if (fill_cert(out, sk_X509_value(certs, 0), now, err) == -1) {
		sk_X509_pop_free(certs, X509_free);
		cs_cert_info_clear(out);
		return -1;
	}
	fill_chain(out, certs);
	sk_X509_pop_free(certs, X509_free);
	judge(cs, out, now);
	return 0;
}

int
certstore_ca_info(struct certstore *cs, enum cs_ca_role role, time_t now,
    struct cs_cert_info *out, struct cs_error *err)
{
	char path[CS_PATH_MAX];
	STACK_OF(X509) *certs;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", role == CS_CA_ROOT ? "root" : "ca");
	if (cs_store_path(cs, path, err, role == CS_CA_ROOT ? "ca/root.pem" : "ca/cacert.pem") == -1 ||
	    (certs = cs_cert_load_all(path, false, err)) == NULL)
		return -1;
	rc = fill_cert(out, sk_X509_value(certs, 0), now, err);
	sk_X509_pop_free(certs, X509_free);
	if (rc == -1) {
		cs_cert_info_clear(out);
		return -1;
	}
	if (out->status != CS_STATUS_INVALID)
		out->status = now > out->not_after ? CS_STATUS_EXPIRED : CS_STATUS_VALID;
	return 0;
}
