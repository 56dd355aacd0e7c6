/* ca.c: the store's certificate authority: creating it (ca init), loading
 * the signing CA, serial numbers, recording what it issued, and the subject
 * policy. ca/ is laid out as `openssl ca` expects (see certstore.h), so the
 * openssl CLI keeps working on it. */
#include "certstore/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/rand.h>

#define SERIAL_TRIES         32       /* random serials drawn before giving up */

/* --- serials -------------------------------------------------------------------------------- */

/* CS_SERIAL_BYTES random bytes, positive (top bit clear) and of full length
 * (first byte not zero), so every serial has the same length in the index. */
ASN1_INTEGER *
cs_ca_serial_random(void)
{
	unsigned char b[CS_SERIAL_BYTES];
	BIGNUM *bn;
	ASN1_INTEGER *ai = NULL;

	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return NULL;
		b[0] &= 0x7f;
	} while (b[0] == 0);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/* Whether hex is free: in neither the index nor newcerts/ (a crash may
 * leave a certificate there that the index lacks). */
static bool
serial_free(struct certstore *cs, const struct cs_index *idx, const char *hex,
    struct cs_error *err)
{
	char path[CS_PATH_MAX];

	return cs_index_find(idx, hex) == NULL &&
	    cs_store_path(cs, path, err, "ca/newcerts/%s.pem", hex) == 0 &&
	    access(path, F_OK) == -1 && errno == ENOENT;
}

/* The serial file's value, or the first free one after it: `openssl ca`'s
 * numbering, kept by a store that took over its directory. */
static ASN1_INTEGER *
serial_sequential(struct certstore *cs, const struct cs_index *idx, struct cs_error *err)
{
	char path[CS_PATH_MAX], hex[CS_SERIAL_HEX_MAX + 1], *text = NULL, *h = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	size_t len;

	if (cs_store_path(cs, path, err, "ca/serial") == -1 ||
	    (text = cs_fsio_read(path, 256, &len, NULL, err)) == NULL)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	if (cs_serial_normalize(text, strlen(text), hex, sizeof(hex)) == -1 ||
	    BN_hex2bn(&bn, hex) == 0) {
		cs_error_set(err, "%s: \"%.40s\" is not a serial number in hex: write the next "
		    "serial there (e.g. 1000)", path, text);
		goto done;
	}
	for (int i = 0; i < SERIAL_TRIES * 1024; i++) {
		OPENSSL_free(h);
		if ((h = BN_bn2hex(bn)) == NULL ||
		    cs_serial_normalize(h, strlen(h), hex, sizeof(hex)) == -1) {
			cs_error_set(err, "%s: the next serial does not fit %d hex digits", path,
			    CS_SERIAL_HEX_MAX);
			goto done;
		}
		if (!BN_is_zero(bn) && !BN_is_negative(bn) && serial_free(cs, idx, hex, err)) {
			ai = BN_to_ASN1_INTEGER(bn, NULL);
			goto done;
		}
		if (!BN_add_word(bn, 1))
			break;
	}
	cs_error_set(err, "%s: no free serial after %s: the index and newcerts/ use them all",
	    path, text);
done:
	OPENSSL_free(h);
	BN_free(bn);
	free(text);
	return ai;
}

ASN1_INTEGER *
cs_ca_serial_new(struct certstore *cs, const struct cs_index *idx, struct cs_error *err)
{
	char hex[CS_SERIAL_HEX_MAX + 1];
	ASN1_INTEGER *ai;

	if (cs->conf.sequential_serials)
		return serial_sequential(cs, idx, err);
	for (int i = 0; i < SERIAL_TRIES; i++) {
		if ((ai = cs_ca_serial_random()) == NULL || cs_serial_hex(ai, hex, sizeof(hex)) == -1) {
			ASN1_INTEGER_free(ai);
			cs_error_set(err, "cannot draw a random serial number: %s",
			    cs_ossl_reason("no randomness"));
			return NULL;
		}
		if (serial_free(cs, idx, hex, err))
			return ai;
		ASN1_INTEGER_free(ai);
	}
	cs_error_set(err, "%s/ca/index.txt: %d random serial numbers in a row were already "
	    "used: the random number generator is broken", cs->dir, SERIAL_TRIES);
	return NULL;
}

/* The serial file holds the next serial `openssl ca` would use: ours + 1. */
static int
serial_file_update(struct certstore *cs, const ASN1_INTEGER *serial, struct cs_error *err)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = NULL, path[CS_PATH_MAX], text[CS_SERIAL_HEX_MAX + 4];
	int rc = -1;

	if (bn == NULL || !BN_add_word(bn, 1) || (hex = BN_bn2hex(bn)) == NULL) {
		cs_error_set(err, "%s/ca/serial: out of memory", cs->dir);
		goto done;
	}
	if (cs_serial_normalize(hex, strlen(hex), text, sizeof(text) - 1) == 0 &&
	    cs_store_path(cs, path, err, "ca/serial") == 0) {
		strcat(text, "\n");
		rc = cs_fsio_write(path, text, strlen(text), 0644, err);
	}
done:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int
cs_ca_record(struct certstore *cs, struct cs_index *idx, X509 *x, struct cs_error *err)
{
	char hex[CS_SERIAL_HEX_MAX + 1], path[CS_PATH_MAX];
	size_t len;
	char *pem = NULL;
	int rc = -1;

	/* newcerts/ first, then the index: a crash in between leaves a file the
	 * next serial draw avoids, never an index entry without its certificate */
	if (cs_serial_hex(X509_get0_serialNumber(x), hex, sizeof(hex)) == -1 ||
	    (pem = cs_cert_pem(x, &len)) == NULL) {
		cs_error_set(err, "cannot encode the certificate: out of memory");
		goto done;
	}
	if (cs_store_path(cs, path, err, "ca/newcerts/%s.pem", hex) == -1 ||
	    cs_fsio_write_new(path, pem, len, 0644, err) == -1 ||
	    cs_index_add(idx, x, err) == -1 ||
	    cs_store_path(cs, path, err, "ca/index.txt") == -1 ||
	    cs_index_save(path, idx, err) == -1 ||
	    serial_file_update(cs, X509_get0_serialNumber(x), err) == -1)
		goto done;
	rc = 0;
done:
	free(pem);
	return rc;
}

/* --- the signing CA ------------------------------------------------------------------------ */

const EVP_MD *
cs_ca_digest(EVP_PKEY *ca_key)
{
	switch (EVP_PKEY_get_base_id(ca_key)) {
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return NULL;                    /* EdDSA hashes as part of the scheme */
	case EVP_PKEY_EC:
		/* P-384 with SHA-384, as the CA/Browser Forum's rules pair them */
		return EVP_PKEY_get_bits(ca_key) >= 384 ? EVP_sha384() : EVP_sha256();
	default:
		return EVP_sha256();
	}
}

void
cs_ca_free(struct cs_ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	sk_X509_pop_free(ca->chain, X509_free);
	memset(ca, 0, sizeof(*ca));
}

static bool
key_text_is_encrypted(const char *pem)
{
	return strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	    strstr(pem, "Proc-Type: 4,ENCRYPTED") != NULL;
}

bool
certstore_ca_key_encrypted(struct certstore *cs)
{
	char path[CS_PATH_MAX], *pem;
	size_t len;
	bool enc;

	if (cs_store_path(cs, path, NULL, "ca/private/cakey.pem") == -1 ||
	    (pem = cs_fsio_read(path, CS_PEM_MAX_BYTES, &len, NULL, NULL)) == NULL)
		return false;
	enc = key_text_is_encrypted(pem);
	cs_pem_buf_free(pem, len);
	return enc;
}

static EVP_PKEY *
ca_key_load(const char *path, const char *passphrase, struct cs_error *err)
{
	size_t len;
	char *pem = cs_fsio_read_key(path, &len, err);
	EVP_PKEY *key = NULL;

	if (pem == NULL)
		return NULL;
	if (passphrase == NULL && key_text_is_encrypted(pem))
		cs_error_set(err, "%s: the CA key is encrypted: give its passphrase "
		    "(certwrapctl: --passphrase-file FILE or --passphrase-prompt)", path);
	else
		key = cs_pem_parse_key(pem, len, path, passphrase, err);
	cs_pem_buf_free(pem, len);
	return key;
}

/* The signing CA must be usable now: not expired, not in the future. */
static int
ca_check_dates(const char *path, X509 *x, time_t now, struct cs_error *err)
{
	char subject[CS_TEXT_MAX], when[64];
	time_t na;

	cs_name_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	if (cs_time_from_asn1(X509_get0_notAfter(x), &na) == -1 || na < now) {
		cs_time_format(na, true, when, sizeof(when));
		cs_error_set(err, "%s: the CA certificate %s expired %s: certificates it signs "
		    "would not be trusted; make a new CA (certwrapctl ca init in a new store)",
		    path, subject, when);
		return -1;
	}
	return 0;
}

int
cs_ca_load(struct certstore *cs, const char *passphrase, time_t now, struct cs_ca *ca,
    struct cs_error *err)
{
	char cert_path[CS_PATH_MAX], key_path[CS_PATH_MAX], chain_path[CS_PATH_MAX];
	STACK_OF(X509) *certs = NULL;

	memset(ca, 0, sizeof(*ca));
	if (cs_store_path(cs, cert_path, err, "ca/cacert.pem") == -1 ||
	    cs_store_path(cs, key_path, err, "ca/private/cakey.pem") == -1 ||
	    cs_store_path(cs, chain_path, err, "ca/chain.pem") == -1)
		return -1;
	if ((certs = cs_cert_load_all(cert_path, false, err)) == NULL)
		goto fail;
	ca->cert = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	if (ca_check_dates(cert_path, ca->cert, now, err) == -1 ||
	    (ca->chain = cs_cert_load_all(chain_path, true, err)) == NULL ||
	    (ca->key = ca_key_load(key_path, passphrase, err)) == NULL)
		goto fail;
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		cs_error_set(err, "%s: the CA key does not match the CA certificate %s: restore "
		    "the right key from a backup", key_path, cert_path);
		goto fail;
	}
	return 0;
fail:
	cs_ca_free(ca);
	return -1;
}

/* --- the subject policy ------------------------------------------------------------------- */

static enum cs_policy_mode
policy_mode(const struct cs_conf *conf, int nid)
{
	for (size_t i = 0; i < conf->n_policy; i++)
		if (conf->policy[i].nid == nid)
			return conf->policy[i].mode;
	return CS_POLICY_OPTIONAL;
}

/* The rules issue cannot meet: a field it does not set must be optional or
 * match (then it is copied from the CA). */
static int
policy_check(struct certstore *cs, const X509_NAME *ca_name, struct cs_error *err)
{
	for (size_t i = 0; i < cs->conf.n_policy; i++) {
		const struct cs_policy_rule *r = &cs->conf.policy[i];

		if (r->nid == NID_commonName)
			continue;
		if (r->mode == CS_POLICY_SUPPLIED) {
			cs_error_set(err, "%s/" CS_CONF_FILE ": [policy] %s = supplied, but "
			    "certificates made by issue have only a commonName: set it to match or "
			    "optional", cs->dir, OBJ_nid2ln(r->nid));
			return -1;
		}
		if (r->mode == CS_POLICY_MATCH && X509_NAME_get_index_by_NID(ca_name, r->nid, -1) < 0) {
			cs_error_set(err, "%s/" CS_CONF_FILE ": [policy] %s = match, but the CA's "
			    "subject has no %s: set it to optional", cs->dir, OBJ_nid2ln(r->nid),
			    OBJ_nid2ln(r->nid));
			return -1;
		}
	}
	return 0;
}

X509_NAME *
cs_ca_policy_subject(struct certstore *cs, const struct cs_ca *ca, const char *cn,
    struct cs_error *err)
{
	const X509_NAME *ca_name = X509_get_subject_name(ca->cert);
	X509_NAME *n;

	if (policy_check(cs, ca_name, err) == -1)
		return NULL;
	if ((n = X509_NAME_new()) == NULL)
		goto oom;
	/* the CA's own values of `match` fields, in the CA's order, then the CN */
	for (int i = 0; i < X509_NAME_entry_count(ca_name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(ca_name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));

		if (nid != NID_commonName && policy_mode(&cs->conf, nid) == CS_POLICY_MATCH &&
		    !X509_NAME_add_entry(n, e, -1, 0))
			goto oom;
	}
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		goto oom;
	return n;
oom:
	cs_error_set(err, "out of memory");
	X509_NAME_free(n);
	return NULL;
}
