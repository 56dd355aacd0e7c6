/* ca_init.c: certstore_ca_init, a new store with a new CA. The whole ca/
 * directory is built under a temporary name and renamed into place last, so
 * a store has a complete CA or none: `ca/` existing is what makes a
 * directory a store. */
#include "certstore/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#define INTERMEDIATE_WORD  "Intermediate"
#define INDEX_ATTR_TEXT    "unique_subject = no\n"    /* a renewal repeats a subject */
#define CRLNUMBER_TEXT     "01\n"

struct ca_build {
	const struct cs_ca_params *p;
	EVP_PKEY *root_key, *inter_key;
	X509 *root, *inter;
	X509_NAME *root_name, *inter_name;
};

static void
build_free(struct ca_build *b)
{
	EVP_PKEY_free(b->root_key);
	EVP_PKEY_free(b->inter_key);
	X509_free(b->root);
	X509_free(b->inter);
	X509_NAME_free(b->root_name);
	X509_NAME_free(b->inter_name);
}

/* The root's name with its CN made "... Intermediate CA": "Root" becomes
 * "Intermediate", or the word is added. */
static X509_NAME *
intermediate_name(const X509_NAME *root, struct cs_error *err)
{
	X509_NAME *n = X509_NAME_dup(root);
	int i = n != NULL ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
	char cn[CS_TEXT_MAX] = "certwrap", out[CS_TEXT_MAX + 16], *root_word;
	X509_NAME_ENTRY *e;

	if (n == NULL)
		goto oom;
	if (i >= 0) {
		X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn));
		e = X509_NAME_delete_entry(n, i);
		X509_NAME_ENTRY_free(e);
	}
	if ((root_word = strstr(cn, "Root")) != NULL)
		snprintf(out, sizeof(out), "%.*s" INTERMEDIATE_WORD "%s", (int)(root_word - cn), cn,
		    root_word + 4);
	else
		snprintf(out, sizeof(out), "%s " INTERMEDIATE_WORD " CA", cn);
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)out, -1, i, 0))
		goto oom;
	return n;
oom:
	cs_error_set(err, "out of memory");
	X509_NAME_free(n);
	return NULL;
}

static int
check_params(const struct cs_ca_params *p, struct ca_build *b, struct cs_error *err)
{
	if (p->days > CS_MAX_DAYS) {
		cs_error_set(err, "CA validity of %u days is more than %d", p->days, CS_MAX_DAYS);
		return -1;
	}
	if (p->passphrase != NULL && p->passphrase[0] == '\0') {
		cs_error_set(err, "the CA key passphrase is empty: give one, or none for an "
		    "unencrypted key");
		return -1;
	}
	if ((b->root_name = cs_name_parse(p->subject != NULL ? p->subject :
	    "/CN=certwrap Root CA", "CA subject", err)) == NULL)
		return -1;
	if (!p->intermediate)
		return 0;
	if (p->intermediate_subject != NULL)
		b->inter_name = cs_name_parse(p->intermediate_subject, "intermediate CA subject", err);
	else
		b->inter_name = intermediate_name(b->root_name, err);
	if (b->inter_name != NULL && X509_NAME_cmp(b->inter_name, b->root_name) == 0) {
		cs_error_set(err, "the intermediate CA's subject is the root's: give them "
		    "different names");
		return -1;
	}
	return b->inter_name != NULL ? 0 : -1;
}

/* A CA certificate: the root (issuer NULL) or the intermediate. */
static X509 *
ca_cert(struct ca_build *b, X509_NAME *name, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    unsigned days, struct cs_error *err)
{
	struct cs_cert_spec spec = { .subject = name, .issuer = issuer, .pubkey = key,
		.not_before = b->p->now - CS_BACKDATE_S,
		.not_after = b->p->now + (time_t)days * 86400 };
	X509 *x = NULL;
	time_t issuer_end;

	/* an intermediate never outlives its root */
	if (issuer != NULL && cs_time_from_asn1(X509_get0_notAfter(issuer), &issuer_end) == 0 &&
	    spec.not_after > issuer_end)
		spec.not_after = issuer_end;
	if ((spec.serial = cs_ca_serial_random()) == NULL) {
		cs_error_set(err, "cannot draw a random serial number: %s",
		    cs_ossl_reason("no randomness"));
		return NULL;
	}
	if ((x = cs_cert_new(&spec, err)) == NULL ||
	    cs_cert_add_ext(x, issuer, NID_basic_constraints, issuer == NULL ?
	    "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0", err) == -1 ||
	    cs_cert_add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign", err) == -1 ||
	    cs_cert_add_ext(x, issuer, NID_subject_key_identifier, "hash", err) == -1 ||
	    (issuer != NULL && cs_cert_add_ext(x, issuer, NID_authority_key_identifier,
	    "keyid:always", err) == -1) ||
	    cs_cert_sign(x, issuer_key != NULL ? issuer_key : key, err) == -1) {
		X509_free(x);
		x = NULL;
	}
	ASN1_INTEGER_free(spec.serial);
	return x;
}

static int
build_certs(struct ca_build *b, struct cs_error *err)
{
	enum cs_key_type type = b->p->key_type != CS_KEY_DEFAULT ? b->p->key_type :
	    CS_KEY_EC_P256;
	unsigned days = b->p->days != 0 ? b->p->days : CS_DEFAULT_CA_DAYS;

	if ((b->root_key = cs_key_generate(type, err)) == NULL ||
	    (b->root = ca_cert(b, b->root_name, b->root_key, NULL, NULL, days, err)) == NULL)
		return -1;
	if (!b->p->intermediate)
		return 0;
	if ((b->inter_key = cs_key_generate(type, err)) == NULL ||
	    (b->inter = ca_cert(b, b->inter_name, b->inter_key, b->root, b->root_key,
	    days / 2 > 0 ? days / 2 : 1, err)) == NULL)
		return -1;
	return 0;
}

/* --- writing ca/ -------------------------------------------------------------------------- */

static int
put_cert(const char *dir, const char *name, X509 *x, struct cs_error *err)
{
	char path[CS_PATH_MAX], *pem;
	size_t len;
	int rc;

	if (cs_path(path, err, "%s/%s", dir, name) == -1)
		return -1;
	if ((pem = cs_cert_pem(x, &len)) == NULL) {
		cs_error_set(err, "%s: out of memory", path);
		return -1;
	}
	rc = cs_fsio_create(path, pem, len, 0644, err);
	free(pem);
	return rc;
}

static int
put_key(const char *dir, const char *name, EVP_PKEY *key, const char *passphrase,
    struct cs_error *err)
{
	char path[CS_PATH_MAX], *pem;
	size_t len;
	int rc;

	if (cs_path(path, err, "%s/private/%s", dir, name) == -1 ||
	    (pem = cs_key_pem(key, passphrase, &len, err)) == NULL)
		return -1;
	rc = cs_fsio_create(path, pem, len, 0600, err);
	cs_pem_buf_free(pem, len);
	return rc;
}

static int
put_text(const char *dir, const char *name, const char *text, struct cs_error *err)
{
	char path[CS_PATH_MAX];

	if (cs_path(path, err, "%s/%s", dir, name) == -1)
		return -1;
	return cs_fsio_create(path, text, strlen(text), 0644, err);
}

/* The serial file as `openssl ca -create_serial` starts it: a random one. */
static int
put_serial(const char *dir, struct cs_error *err)
{
	ASN1_INTEGER *ai = cs_ca_serial_random();
	char hex[CS_SERIAL_HEX_MAX + 2];
	int rc = -1;

	if (ai == NULL || cs_serial_hex(ai, hex, sizeof(hex) - 1) == -1)
		cs_error_set(err, "cannot draw a random serial number");
	else
		rc = put_text(dir, "serial", strcat(hex, "\n"), err);
	ASN1_INTEGER_free(ai);
	return rc;
}

static int
write_ca_dir(const char *tmp, struct ca_build *b, struct cs_error *err)
{
	X509 *signing = b->inter != NULL ? b->inter : b->root;
	char sub[CS_PATH_MAX];

	if (cs_path(sub, err, "%s/private", tmp) == -1 || cs_fsio_mkdir(sub, 0700, err) == -1 ||
	    cs_path(sub, err, "%s/newcerts", tmp) == -1 || cs_fsio_mkdir(sub, 0755, err) == -1)
		return -1;
	if (put_cert(tmp, "cacert.pem", signing, err) == -1 ||
	    put_cert(tmp, "root.pem", b->root, err) == -1 ||
	    (b->inter != NULL ? put_cert(tmp, "chain.pem", b->inter, err) :
	    put_text(tmp, "chain.pem", "", err)) == -1 ||
	    put_key(tmp, "cakey.pem", b->inter != NULL ? b->inter_key : b->root_key,
	    b->p->passphrase, err) == -1 ||
	    (b->inter != NULL && put_key(tmp, "rootkey.pem", b->root_key, b->p->passphrase,
	    err) == -1) ||
	    put_text(tmp, "index.txt", "", err) == -1 ||
	    put_text(tmp, "index.txt.attr", INDEX_ATTR_TEXT, err) == -1 ||
	    put_text(tmp, "crlnumber", CRLNUMBER_TEXT, err) == -1 ||
	    put_serial(tmp, err) == -1)
		return -1;
	if (cs_path(sub, err, "%s/private", tmp) == -1 || cs_fsio_sync_dir(sub, err) == -1)
		return -1;
	return cs_fsio_sync_dir(tmp, err);
}

/* certs/ and certstore.conf (unless there is one), before ca/ makes it a store. */
static int
write_store_files(struct certstore *cs, struct cs_error *err)
{
	char path[CS_PATH_MAX];

	if (cs_store_path(cs, path, err, "certs") == -1 || cs_fsio_mkdir(path, 0755, err) == -1 ||
	    cs_store_path(cs, path, err, CS_CONF_FILE) == -1)
		return -1;
	if (access(path, F_OK) == 0)
		return cs_conf_load(path, &cs->conf, err);      /* kept, but must be valid */
	return cs_fsio_write(path, cs_conf_default_text, strlen(cs_conf_default_text), 0644, err);
}

static int
refuse_existing_ca(struct certstore *cs, struct cs_error *err)
{
	char path[CS_PATH_MAX];

	if (cs_store_path(cs, path, err, "ca") == -1)
		return -1;
	if (access(path, F_OK) == 0) {
		cs_error_set(err, "%s: already has a CA (%s/cacert.pem): nothing was changed; to "
		    "start over, move the directory away first", cs->dir, path);
		return -1;
	}
	return 0;
}

int
certstore_ca_init(const char *dir, const struct cs_ca_params *p, struct cs_error *err)
{
	struct certstore cs = { .dir = (char *)(uintptr_t)dir, .lock_fd = -1 };
	struct ca_build b = { .p = p };
	char tmp[CS_PATH_MAX] = "", ca_path[CS_PATH_MAX];
	int rc = -1;

	cs_conf_defaults(&cs.conf);
	if (check_params(p, &b, err) == -1 || cs_fsio_mkdir(dir, 0755, err) == -1 ||
	    cs_store_lock(&cs, err) == -1)
		goto done;
	if (refuse_existing_ca(&cs, err) == -1 || build_certs(&b, err) == -1 ||
	    cs_fsio_mkdtemp(dir, "ca", tmp, err) == -1 || write_ca_dir(tmp, &b, err) == -1 ||
	    write_store_files(&cs, err) == -1 ||
	    cs_store_path(&cs, ca_path, err, "ca") == -1 ||
	    cs_fsio_rename_new(tmp, ca_path, err) == -1)
		goto done;
	tmp[0] = '\0';
	rc = 0;
done:
	if (tmp[0] != '\0')
		cs_fsio_remove_tree(tmp, NULL);
	cs_store_unlock(&cs);
	cs_conf_free(&cs.conf);
	build_free(&b);
	return rc;
}
