/* import.c: an outside CA's certificate brought into the store as a new
 * version: the answer to a request made by certstore_csr (the key waiting
 * in certs/NAME/request/ is used), or any certificate with its key. It goes
 * through the one validation with the system trust store, the store's root
 * and any roots given as anchors, so the missing intermediate bundle of
 * seed 003 is refused here, naming the issuer that is missing, instead of
 * by remote MTAs a few days later. */
#include "certstore/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define SECONDS_PER_DAY 86400

struct import {
	const struct cs_import_params *p;
	STACK_OF(X509) *certs, *anchors;
	EVP_PKEY *key;
	bool key_from_request;
	char key_label[CS_PATH_MAX + 64];
	char *request_csr;                  /* the waiting request's CSR, when its key fits */
	size_t request_csr_len;
	struct cs_keycert *kc;
};

static void
import_clear(struct import *im)
{
	sk_X509_pop_free(im->certs, X509_free);
	sk_X509_pop_free(im->anchors, X509_free);
	EVP_PKEY_free(im->key);
	free(im->request_csr);
	cs_keycert_free(im->kc);
}

/* --- the input -------------------------------------------------------------------------------- */

static int
parse_certs(struct import *im, struct cs_error *err)
{
	const struct cs_import_params *p = im->p;
	STACK_OF(X509) *chain = NULL;

	if ((im->certs = cs_pem_parse_certs(p->cert_pem, p->cert_len, p->cert_label, err)) == NULL)
		return -1;
	if (p->chain_pem != NULL) {
		if ((chain = cs_pem_parse_certs(p->chain_pem, p->chain_len, p->chain_label, err)) ==
		    NULL)
			return -1;
		if (sk_X509_num(im->certs) + sk_X509_num(chain) > CS_PEM_MAX_CERTS) {
			cs_error_set(err, "%s and %s: more than %d certificates together", p->cert_label,
			    p->chain_label, CS_PEM_MAX_CERTS);
			sk_X509_pop_free(chain, X509_free);
			return -1;
		}
		while (sk_X509_num(chain) > 0)
			sk_X509_push(im->certs, sk_X509_shift(chain));
		sk_X509_free(chain);
	}
	if (p->ca_pem != NULL &&
	    (im->anchors = cs_pem_parse_certs(p->ca_pem, p->ca_len, p->ca_label, err)) == NULL)
		return -1;
	return 0;
}

static bool
key_fits(STACK_OF(X509) *certs, EVP_PKEY *key)
{
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (X509_check_private_key(sk_X509_value(certs, i), key) == 1)
			return true;
	return false;
}

/* The key given, else the waiting request's, else the current version's:
 * the first that fits one of the certificates. */
static int
pick_key(struct certstore *cs, struct import *im, struct cs_error *err)
{
	const struct cs_import_params *p = im->p;
	struct cs_paths paths;
	unsigned cur;
	int r;

	ERR_set_mark();
	if (p->key_pem != NULL) {
		snprintf(im->key_label, sizeof(im->key_label), "%s", p->key_label);
		im->key = cs_pem_parse_key(p->key_pem, p->key_len, p->key_label, NULL, err);
		ERR_pop_to_mark();
		return im->key != NULL ? 0 : -1;
	}
	if ((r = cs_request_load(cs, p->name, &im->key, &im->request_csr, &im->request_csr_len,
	    err)) == -1)
		goto fail;
	if (r == 0 && key_fits(im->certs, im->key)) {
		im->key_from_request = true;
		snprintf(im->key_label, sizeof(im->key_label), "the key of the request for %s",
		    p->name);
		ERR_pop_to_mark();
		return 0;
	}
	EVP_PKEY_free(im->key);
	im->key = NULL;
	if (certstore_current(cs, p->name, &cur, NULL) == 0 &&
	    cs_store_paths(cs, p->name, cur, &paths, err) == 0 &&
	    (im->key = cs_key_load(paths.key, NULL, err)) != NULL &&
	    key_fits(im->certs, im->key)) {
		snprintf(im->key_label, sizeof(im->key_label), "%s@%u", p->name, cur);
		ERR_pop_to_mark();
		return 0;
	}
	cs_error_set(err, "%s: %s fits neither the key of %s's waiting request nor that of its "
	    "current version: give the key with --key FILE (the one the request was made with)",
	    p->name, p->cert_label, p->name);
fail:
	ERR_pop_to_mark();
	return -1;
}

/* --- the version --------------------------------------------------------------------------- */

struct files {
	char *key_pem, *cert_pem, *chain_pem, *fullchain_pem, *csr_pem, *root_pem, *meta;
	size_t key_len, cert_len, chain_len, fullchain_len, csr_len, root_len;
	X509_REQ *csr;
};

static void
files_clear(struct files *f)
{
	cs_pem_buf_free(f->key_pem, f->key_len);
	free(f->cert_pem);
	free(f->chain_pem);
	free(f->fullchain_pem);
	free(f->csr_pem);
	free(f->root_pem);
	free(f->meta);
	X509_REQ_free(f->csr);
}

/* The root is kept with the version when it came with the import (in the
 * files or as an anchor given): the system store has not got it. */
static bool
root_given(const struct import *im, X509 *root)
{
	for (int i = 0; i < sk_X509_num(im->certs); i++)
		if (X509_cmp(sk_X509_value(im->certs, i), root) == 0)
			return true;
	for (int i = 0; i < sk_X509_num(im->anchors); i++)
		if (X509_cmp(sk_X509_value(im->anchors, i), root) == 0)
			return true;
	return false;
}

static int
strv_push(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 2) * sizeof(**v));

	if (grown == NULL)
		return -1;
	*v = grown;
	if ((grown[*n] = strdup(s)) == NULL)
		return -1;
	grown[++*n] = NULL;
	return 0;
}

/* The names a client can check, canonical: the SANs' DNS names and IP
 * addresses (others, e-mail addresses or URIs, are not ours to check),
 * else the CN when it is a host name. */
static int
leaf_names(const struct import *im, X509 *leaf, struct cs_meta *m, struct cs_error *err)
{
	char **sans = NULL, **one = NULL, cn[CS_DNS_MAX + 1];
	const char *v[1];
	size_t n = 0, n_one;
	int rc = 0;

	if (cs_san_list(leaf, &sans, &n, err) == -1)
		return -1;
	for (size_t i = 0; rc == 0 && i < n && m->n_dns + m->n_ip < CS_MAX_SANS; i++) {
		bool dns = strncmp(sans[i], "DNS:", 4) == 0, ip = strncmp(sans[i], "IP:", 3) == 0;

		v[0] = sans[i] + (dns ? 4 : 3);
		if ((!dns && !ip) || (dns ? cs_san_dns_check(v, 1, &one, &n_one, NULL) :
		    cs_san_ip_check(v, 1, &one, &n_one, NULL)) == -1)
			continue;
		rc = dns ? strv_push(&m->dns, &m->n_dns, one[0]) :
		    strv_push(&m->ip, &m->n_ip, one[0]);
		cs_strv_free(one);
	}
	cs_strv_free(sans);
	if (rc == -1) {
		cs_error_set(err, "out of memory");
		return -1;
	}
	v[0] = cn;
	if (m->n_dns + m->n_ip > 0 || (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn)) > 0 &&
	    cs_san_dns_check(v, 1, &m->dns, &m->n_dns, NULL) == 0))
		return 0;
	cs_error_set(err, "%s: the certificate names no DNS name or IP address (no "
	    "subjectAltName, and its CN is not a host name): clients cannot check it",
	    im->p->cert_label);
	return -1;
}

static int
make_meta(const struct import *im, unsigned version, unsigned previous, struct files *f,
    struct cs_error *err)
{
	X509 *leaf = cs_keycert_leaf(im->kc);
	struct cs_meta m = { .version = version, .previous = previous, .origin = CS_EVENT_IMPORT,
		.created = im->p->now, .key_type = cs_key_type_of(im->key) };
	time_t nb, na;

	snprintf(m.name, sizeof(m.name), "%s", im->p->name);
	cs_serial_hex(X509_get0_serialNumber(leaf), m.serial, sizeof(m.serial));
	if (cs_time_from_asn1(X509_get0_notBefore(leaf), &nb) == 0 &&
	    cs_time_from_asn1(X509_get0_notAfter(leaf), &na) == 0 && na > nb)
		m.days = (unsigned)((na - nb + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY);
	if (m.days > CS_MAX_DAYS)
		m.days = CS_MAX_DAYS;
	m.client = (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) != 0;
	if (leaf_names(im, leaf, &m, err) == -1) {
		cs_meta_clear(&m);
		return -1;
	}
	f->meta = cs_meta_format(&m);
	cs_meta_clear(&m);
	if (f->meta == NULL) {
		cs_error_set(err, "out of memory");
		return -1;
	}
	return 0;
}

/* A CSR for the version: the waiting request's, or one made for the key
 * with the certificate's subject and names, so that it can be signed again. */
static int
make_csr(const struct import *im, struct files *f, struct cs_error *err)
{
	X509 *leaf = cs_keycert_leaf(im->kc);
	GENERAL_NAMES *sans;

	if (im->key_from_request && im->request_csr != NULL) {
		if ((f->csr_pem = strdup(im->request_csr)) == NULL)
			goto oom;
		f->csr_len = im->request_csr_len;
		return 0;
	}
	if ((sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL)) == NULL &&
	    (sans = GENERAL_NAMES_new()) == NULL)
		goto oom;
	f->csr = cs_csr_make(im->key, X509_get_subject_name(leaf), sans, err);
	GENERAL_NAMES_free(sans);
	if (f->csr == NULL)
		return -1;
	if ((f->csr_pem = cs_csr_pem(f->csr, &f->csr_len)) == NULL)
		goto oom;
	return 0;
oom:
	cs_error_set(err, "out of memory");
	return -1;
}

static int
encode(const struct import *im, struct files *f, struct cs_error *err)
{
	X509 *root = cs_keycert_root(im->kc);

	if ((f->key_pem = cs_key_pem(im->key, NULL, &f->key_len, err)) == NULL)
		return -1;
	if ((f->cert_pem = cs_cert_pem(cs_keycert_leaf(im->kc), &f->cert_len)) == NULL ||
	    (f->chain_pem = cs_certs_pem(cs_keycert_chain(im->kc), 0, &f->chain_len)) == NULL ||
	    (f->fullchain_pem = malloc(f->cert_len + f->chain_len + 1)) == NULL ||
	    (root != NULL && root_given(im, root) &&
	    (f->root_pem = cs_cert_pem(root, &f->root_len)) == NULL)) {
		cs_error_set(err, "cannot encode the certificate: out of memory");
		return -1;
	}
	memcpy(f->fullchain_pem, f->cert_pem, f->cert_len);
	memcpy(f->fullchain_pem + f->cert_len, f->chain_pem, f->chain_len + 1);
	f->fullchain_len = f->cert_len + f->chain_len;
	return make_csr(im, f, err);
}

/* Under the lock: the next version, made current. */
static int
commit(struct certstore *cs, struct import *im, struct cs_change *out, struct cs_error *err)
{
	struct files f = { 0 };
	struct cs_version_files vf;
	unsigned version, previous;
	int rc = -1;

	if (certstore_current(cs, im->p->name, &previous, NULL) == -1)
		previous = 0;
	if (cs_store_max_version(cs, im->p->name, &version, err) == -1)
		return -1;
	if (++version > CS_MAX_VERSION) {
		cs_error_set(err, "%s: has %d versions, the most a name can have: import it under "
		    "a new name", im->p->name, CS_MAX_VERSION);
		return -1;
	}
	if (encode(im, &f, err) == -1 || make_meta(im, version, previous, &f, err) == -1)
		goto done;
	vf = (struct cs_version_files){ f.key_pem, f.cert_pem, f.chain_pem, f.fullchain_pem,
		f.csr_pem, f.meta, f.key_len, f.cert_len, f.chain_len, f.fullchain_len, f.csr_len,
		strlen(f.meta), f.root_pem, f.root_len };
	if (cs_store_commit(cs, im->p->name, version, &vf, err) == -1)
		goto done;
	/* the request is answered; a failure to remove it harms nothing */
	if (im->key_from_request)
		cs_request_remove(cs, im->p->name, NULL);
	cs_store_change(cs, out, CS_EVENT_IMPORT, im->p->name, version, previous,
	    cs_keycert_leaf(im->kc));
	rc = 0;
done:
	files_clear(&f);
	return rc;
}

int
certstore_import(struct certstore *cs, const struct cs_import_params *p,
    struct cs_change *out, struct cs_warnings *w, struct cs_error *err)
{
	struct import im = { .p = p };
	struct cs_trust trust;
	char root[CS_PATH_MAX];
	int rc = -1;

	if (w != NULL)
		w->count = 0;
	if (!cs_name_is_valid(p->name)) {
		cs_error_set(err, "\"%.80s\" is not a valid certificate name: use letters, digits, "
		    "'.', '-' and '_' (at most %d, starting with a letter or digit)", p->name,
		    CS_NAME_MAX);
		return -1;
	}
	if (parse_certs(&im, err) == -1 || pick_key(cs, &im, err) == -1)
		goto done;
	cs_store_trust(cs, &trust, root);
	trust.use_system = true;
	if ((im.kc = cs_keycert_validate_anchors(im.certs, p->cert_label, im.key, im.key_label,
	    &trust, im.anchors, p->now, w, err)) == NULL) {
		/* the validation speaks of files to fix; here they are options */
		if (err != NULL && strstr(err->msg, "incomplete chain") != NULL) {
			struct cs_error first = *err;

			cs_error_set(err, "%.850s (certwrapctl import: --chain FILE gives the "
			    "intermediates, --ca-file FILE a root to trust)", first.msg);
		}
		goto done;
	}
	if (cs_store_lock(cs, err) == 0)
		rc = commit(cs, &im, out, err);
	cs_store_unlock(cs);
done:
	import_clear(&im);
	return rc;
}
