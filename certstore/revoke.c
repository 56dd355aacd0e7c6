/* revoke.c: revocation and the CRL. A revocation is an R line of the index,
 * as `openssl ca -revoke` writes it ("YYMMDDHHMMSSZ[,reason]"), so the two
 * tools keep sharing one database; the CRL (ca/crl.pem) lists every R line
 * and is signed by the signing CA. An expired CRL makes clients that check
 * revocation refuse every certificate (OpenVPN installations have lost all
 * their logins that way), so a CRL is due again at two thirds of its
 * validity, and check reports one that is late. */
#include "certstore/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define CRL_FILE       "ca/crl.pem"
#define CRLNUMBER_FILE "ca/crlnumber"
#define CRLNUMBER_MAX  256              /* bytes of the crlnumber file */

/* The reasons of RFC 5280 openssl's index spells out, with their codes. */
static const struct {
	const char *name;
	int code;
} reasons[] = {
	{ "unspecified", 0 }, { "keyCompromise", 1 }, { "CACompromise", 2 },
	{ "affiliationChanged", 3 }, { "superseded", 4 }, { "cessationOfOperation", 5 },
};

static int
reason_code(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strlen(reasons[i].name) == len && strncmp(reasons[i].name, name, len) == 0)
			return reasons[i].code;
	return -1;
}

/* --- the CRL's file ---------------------------------------------------------------------- */

static X509_CRL *
crl_read(const char *path, bool *exists, struct cs_error *err)
{
	size_t len;
	int e = 0;
	char *pem = cs_fsio_read(path, CS_PEM_MAX_BYTES, &len, &e, err);
	BIO *b;
	X509_CRL *crl = NULL;

	*exists = pem != NULL || e != ENOENT;
	if (pem == NULL)
		return NULL;
	if ((b = BIO_new_mem_buf(pem, (int)len)) != NULL)
		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
	if (crl == NULL)
		cs_error_set(err, "%s: not a CRL in PEM (%s): make it again with certwrapctl crl",
		    path, cs_ossl_reason("unreadable"));
	BIO_free(b);
	free(pem);
	return crl;
}

/* Whether an R line of idx is missing from crl. */
static bool
crl_lacks_one(X509_CRL *crl, const struct cs_index *idx)
{
	X509_REVOKED *rev;

	for (size_t i = 0; i < idx->n; i++) {
		BIGNUM *bn = NULL;
		ASN1_INTEGER *ai = NULL;
		bool lacks;

		if (idx->e[i].status != 'R')
			continue;
		if (BN_hex2bn(&bn, idx->e[i].serial) == 0 || (ai = BN_to_ASN1_INTEGER(bn, NULL)) ==
		    NULL) {
			BN_free(bn);
			return true;
		}
		lacks = X509_CRL_get0_by_serial(crl, &rev, ai) != 1;
		ASN1_INTEGER_free(ai);
		BN_free(bn);
		if (lacks)
			return true;
	}
	return false;
}

static size_t
count_revoked(const struct cs_index *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < idx->n; i++)
		n += idx->e[i].status == 'R';
	return n;
}

static void
crl_describe(X509_CRL *crl, const struct cs_index *idx, time_t now, struct cs_crl_info *out)
{
	ASN1_INTEGER *number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);

	out->exists = true;
	if (number != NULL)
		cs_serial_hex(number, out->number, sizeof(out->number));
	ASN1_INTEGER_free(number);
	if (cs_time_from_asn1(X509_CRL_get0_lastUpdate(crl), &out->last_update) == -1)
		out->last_update = 0;
	if (X509_CRL_get0_nextUpdate(crl) == NULL ||
	    cs_time_from_asn1(X509_CRL_get0_nextUpdate(crl), &out->next_update) == -1)
		out->next_update = out->last_update;    /* none: due at once */
	out->due_at = out->last_update + (out->next_update - out->last_update) * 2 / 3;
	/* a CRL without entries has no list at all: -1 */
	out->n_revoked = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) > 0 ?
	    (size_t)sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) : 0;
	out->stale = crl_lacks_one(crl, idx);
	out->due = out->stale || now >= out->due_at;
}

int
certstore_crl_info(struct certstore *cs, time_t now, struct cs_crl_info *out,
    struct cs_error *err)
{
	struct cs_index idx;
	char path[CS_PATH_MAX];
	X509_CRL *crl;
	bool exists;

	memset(out, 0, sizeof(*out));
	if (cs_store_path(cs, out->path, err, CRL_FILE) == -1 ||
	    cs_store_path(cs, path, err, "ca/index.txt") == -1 ||
	    cs_index_load(path, &idx, err) == -1)
		return -1;
	out->n_index_revoked = count_revoked(&idx);
	crl = crl_read(out->path, &exists, err);
	if (crl != NULL)
		crl_describe(crl, &idx, now, out);
	else if (!exists)
		out->due = out->stale = out->n_index_revoked > 0;
	X509_CRL_free(crl);
	cs_index_free(&idx);
	return crl != NULL || !exists ? 0 : -1;
}

/* --- making one ------------------------------------------------------------------------------ */

/* The crlnumber file's value (the number to use now), and the file moved on
 * by one before it is used, so that a crash never hands a number out twice. */
static ASN1_INTEGER *
crl_number_take(struct certstore *cs, struct cs_error *err)
{
	char path[CS_PATH_MAX], hex[CS_SERIAL_HEX_MAX + 1], next[CS_SERIAL_HEX_MAX + 4];
	char *text, *h = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	size_t len;
	int e = 0;

	if (cs_store_path(cs, path, err, CRLNUMBER_FILE) == -1)
		return NULL;
	if ((text = cs_fsio_read(path, CRLNUMBER_MAX, &len, &e, err)) == NULL && e != ENOENT)
		return NULL;
	snprintf(hex, sizeof(hex), "01");           /* openssl's first number */
	if (text != NULL) {
		text[strcspn(text, "\r\n")] = '\0';
		if (cs_serial_normalize(text, strlen(text), hex, sizeof(hex)) == -1) {
			cs_error_set(err, "%s: \"%.40s\" is not a number in hex: write the next CRL "
			    "number there (e.g. 01)", path, text);
			free(text);
			return NULL;
		}
		free(text);
	}
	if (BN_hex2bn(&bn, hex) == 0 || (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !BN_add_word(bn, 1) || (h = BN_bn2hex(bn)) == NULL ||
	    cs_serial_normalize(h, strlen(h), next, sizeof(next) - 1) == -1) {
		cs_error_set(err, "%s: cannot count on from %s", path, hex);
		ASN1_INTEGER_free(ai);
		ai = NULL;
	} else if (strcat(next, "\n") == NULL ||
	    cs_fsio_write(path, next, strlen(next), 0644, err) == -1) {
		ASN1_INTEGER_free(ai);
		ai = NULL;
	}
	OPENSSL_free(h);
	BN_free(bn);
	return ai;
}

/* One R line of the index as a CRL entry. */
static int
crl_add_entry(X509_CRL *crl, const struct cs_index_entry *e)
{
	char when[CS_INDEX_TIME_MAX + 8];
	const char *comma = strchr(e->revoked, ',');
	size_t n = comma != NULL ? (size_t)(comma - e->revoked) : strlen(e->revoked);
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_ENUMERATED *reason = NULL;
	int code = -1, rc = -1;

	snprintf(when, sizeof(when), "%.*s", (int)(n < CS_INDEX_TIME_MAX ? n : 0), e->revoked);
	if (comma != NULL)
		code = reason_code(comma + 1, strcspn(comma + 1, ","));
	if (r == NULL || t == NULL || ASN1_TIME_set_string(t, when) != 1 ||
	    BN_hex2bn(&bn, e->serial) == 0 || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_REVOKED_set_serialNumber(r, serial) || !X509_REVOKED_set_revocationDate(r, t))
		goto done;
	/* RFC 5280: unspecified should not be given */
	if (code > 0 && ((reason = ASN1_ENUMERATED_new()) == NULL ||
	    !ASN1_ENUMERATED_set(reason, code) ||
	    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0)))
		goto done;
	if (X509_CRL_add0_revoked(crl, r) == 1) {
		r = NULL;
		rc = 0;
	}
done:
	X509_REVOKED_free(r);
	ASN1_TIME_free(t);
	BN_free(bn);
	ASN1_INTEGER_free(serial);
	ASN1_ENUMERATED_free(reason);
	return rc;
}

static X509_CRL *
crl_build(struct certstore *cs, const struct cs_ca *ca, const struct cs_index *idx,
    ASN1_INTEGER *number, time_t now, struct cs_error *err)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, now);
	ASN1_TIME *next = ASN1_TIME_set(NULL, now + (time_t)cs->conf.crl_days * 86400);
	X509V3_CTX ctx;
	X509_EXTENSION *aki = NULL;
	bool ok = crl != NULL && last != NULL && next != NULL &&
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) &&
	    X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next);

	for (size_t i = 0; ok && i < idx->n; i++)
		if (idx->e[i].status == 'R' && crl_add_entry(crl, &idx->e[i]) == -1) {
			cs_error_set(err, "ca/index.txt: serial %s: cannot be put in the CRL (%s)",
			    idx->e[i].serial, cs_ossl_reason("bad revocation date"));
			goto fail;
		}
	if (ok) {
		X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
		aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
		ok = aki != NULL && X509_CRL_add_ext(crl, aki, -1) &&
		    X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) == 1 &&
		    X509_CRL_sort(crl) && X509_CRL_sign(crl, ca->key, cs_ca_digest(ca->key)) > 0;
	}
	if (!ok) {
		cs_error_set(err, "cannot make the CRL: %s", cs_ossl_reason("out of memory"));
		goto fail;
	}
	X509_EXTENSION_free(aki);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	return crl;
fail:
	X509_EXTENSION_free(aki);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return NULL;
}

static int
crl_write(const char *path, X509_CRL *crl, struct cs_error *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (b != NULL && PEM_write_bio_X509_CRL(b, crl) == 1 && (n = BIO_get_mem_data(b, &data)) > 0)
		rc = cs_fsio_write(path, data, (size_t)n, 0644, err);
	else
		cs_error_set(err, "%s: cannot encode the CRL: out of memory", path);
	BIO_free(b);
	return rc;
}

/* Under the lock, with the CA loaded: a new CRL from idx. */
static int
crl_make(struct certstore *cs, const struct cs_ca *ca, const struct cs_index *idx, time_t now,
    struct cs_crl_info *out, struct cs_error *err)
{
	char path[CS_PATH_MAX];
	ASN1_INTEGER *number;
	X509_CRL *crl = NULL;
	int rc = -1;

	if (cs_store_path(cs, path, err, CRL_FILE) == -1 ||
	    (number = crl_number_take(cs, err)) == NULL)
		return -1;
	if ((crl = crl_build(cs, ca, idx, number, now, err)) != NULL &&
	    crl_write(path, crl, err) == 0) {
		rc = 0;
		if (out != NULL) {
			memset(out, 0, sizeof(*out));
			snprintf(out->path, sizeof(out->path), "%s", path);
			out->n_index_revoked = count_revoked(idx);
			crl_describe(crl, idx, now, out);
		}
	}
	X509_CRL_free(crl);
	ASN1_INTEGER_free(number);
	return rc;
}

int
certstore_crl(struct certstore *cs, const char *passphrase, time_t now,
    struct cs_crl_info *out, struct cs_error *err)
{
	struct cs_ca ca;
	struct cs_index idx = { 0 };
	char path[CS_PATH_MAX];
	int rc = -1;

	if (cs_ca_load(cs, passphrase, now, &ca, err) == -1)
		return -1;
	if (cs_store_lock(cs, err) == 0 && cs_store_path(cs, path, err, "ca/index.txt") == 0 &&
	    cs_index_load(path, &idx, err) == 0)
		rc = crl_make(cs, &ca, &idx, now, out, err);
	cs_index_free(&idx);
	cs_store_unlock(cs);
	cs_ca_free(&ca);
	return rc;
}

/* --- revoking -------------------------------------------------------------------------------- */

/* The serial to revoke: given, or the current certificate of a name, which
 * this CA must have issued. */
static int
revoke_target(struct certstore *cs, const struct cs_revoke_params *p, const struct cs_ca *ca,
    char *serial, struct cs_error *err)
{
	struct cs_paths paths;
	STACK_OF(X509) *certs;
	char issuer[CS_TEXT_MAX];
	X509 *leaf;
	int rc = -1;

	if ((p->name == NULL) == (p->serial == NULL)) {
		cs_error_set(err, "revoke: give a name or a serial");
		return -1;
	}
	if (p->serial != NULL) {
		if (cs_serial_normalize(p->serial, strlen(p->serial), serial,
		    CS_SERIAL_HEX_MAX + 1) == -1) {
			cs_error_set(err, "\"%.48s\" is not a serial number (hex, as openssl prints "
			    "it)", p->serial);
			return -1;
		}
		return 0;
	}
	if (certstore_paths(cs, p->name, 0, &paths, err) == -1 ||
	    (certs = cs_cert_load_all(paths.cert, false, err)) == NULL)
		return -1;
	leaf = sk_X509_value(certs, 0);
	if (X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(ca->cert)) != 0) {
		cs_name_oneline(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
		cs_error_set(err, "%s: its certificate was issued by %s, not by this store's CA: "
		    "revoke it with that CA", p->name, issuer);
	} else if (cs_serial_hex(X509_get0_serialNumber(leaf), serial, CS_SERIAL_HEX_MAX + 1) ==
	    0) {
		rc = 0;
	}
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* Marks serial R in idx (not saved yet). */
static int
mark_revoked(struct cs_index *idx, const char *serial, const struct cs_revoke_params *p,
    struct cs_revocation *out, struct cs_error *err)
{
	struct cs_index_entry *e = NULL;
	ASN1_TIME *t;

	for (size_t i = 0; i < idx->n && e == NULL; i++)
		if (strcmp(idx->e[i].serial, serial) == 0)
			e = &idx->e[i];
	if (e == NULL) {
		cs_error_set(err, "serial %s is not in the index: this store's CA did not issue it "
		    "(certwrapctl list shows the serials of the names)", serial);
		return -1;
	}
	if (e->status == 'R') {
		cs_error_set(err, "serial %s (%s) is already revoked (%s)", serial, e->subject,
		    e->revoked);
		return -1;
	}
	if ((t = ASN1_TIME_set(NULL, p->now)) == NULL || (size_t)t->length >= CS_INDEX_TIME_MAX) {
		ASN1_TIME_free(t);
		cs_error_set(err, "out of memory");
		return -1;
	}
	/* as `openssl ca -revoke` writes it: the time, then the reason if any */
	snprintf(e->revoked, sizeof(e->revoked), "%.*s%s%s", t->length, (const char *)t->data,
	    p->reason != NULL ? "," : "", p->reason != NULL ? p->reason : "");
	ASN1_TIME_free(t);
	e->status = 'R';
	memset(out, 0, sizeof(*out));
	snprintf(out->serial, sizeof(out->serial), "%s", e->serial);
	snprintf(out->subject, sizeof(out->subject), "%s", e->subject);
	snprintf(out->reason, sizeof(out->reason), "%s", p->reason != NULL ? p->reason : "");
	out->when = p->now;
	return 0;
}

int
certstore_revoke(struct certstore *cs, const struct cs_revoke_params *p,
    struct cs_revocation *out, struct cs_crl_info *crl, struct cs_error *err)
{
	struct cs_ca ca;
	struct cs_index idx = { 0 };
	char path[CS_PATH_MAX], serial[CS_SERIAL_HEX_MAX + 1];
	struct cs_error why;
	int rc = -1;

	if (p->reason != NULL && reason_code(p->reason, strlen(p->reason)) < 0) {
		cs_error_set(err, "revocation reason \"%.40s\" is not one of " CS_REVOKE_REASONS,
		    p->reason);
		return -1;
	}
	/* the CA key first: a wrong passphrase must change nothing */
	if (cs_ca_load(cs, p->passphrase, p->now, &ca, err) == -1)
		return -1;
	if (revoke_target(cs, p, &ca, serial, err) == -1 || cs_store_lock(cs, err) == -1 ||
	    cs_store_path(cs, path, err, "ca/index.txt") == -1 ||
	    cs_index_load(path, &idx, err) == -1 ||
	    mark_revoked(&idx, serial, p, out, err) == -1 || cs_index_save(path, &idx, err) == -1)
		goto done;
	if (crl_make(cs, &ca, &idx, p->now, crl, &why) == -1) {
		cs_error_set(err, "serial %s is revoked in the index, but the CRL could not be "
		    "made: %.700s; then run certwrapctl crl", serial, why.msg);
		goto done;
	}
	rc = 0;
done:
	cs_index_free(&idx);
	cs_store_unlock(cs);
	cs_ca_free(&ca);
	return rc;
}
