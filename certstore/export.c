/* export.c: a version's key, certificate and chain in the shapes other
 * daemons want, so that nobody concatenates them by hand in a fragile order
 * again (seeds 000, 002, 003). Each preset knows its daemon: which files,
 * in which order, with which mode. The library makes the contents and keeps
 * a copy in the version's directory (export_keep.c); the caller writes them
 * where the operator said (atomically, with the owner asked), since
 * certwrapd may run chrooted and unprivileged.
 *
 *   postfix   postfix.pem: key, cert, chain (smtpd_tls_chain_files), 0600
 *   dovecot   fullchain.pem (cert, chain) 0644 and key.pem 0600
 *   exim      the same as dovecot (tls_certificate, tls_privatekey)
 *   courier   courier.pem: key, cert, chain (TLS_CERTFILE), 0600
 *   qmail     servercert.pem: key, cert, chain, 0400; RSA keys only
 *   sendmail  key.pem 0600, cert.pem (cert, chain), ca.pem (the root) and
 *             cacerts/<hash>.0 (CACERT_PATH, as `openssl rehash` names it)
 *   stunnel   stunnel.pem: cert, chain, key (cert = ; key defaults to it), 0600
 *   separate  key.pem, cert.pem, chain.pem
 *   fullchain fullchain.pem and key.pem
 *   combined  combined.pem: key, cert, chain, 0600
 *   pkcs12    NAME.p12: key, cert, chain (AES-256 with a passphrase), 0600 */
#include "certstore/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pkcs12.h>

#define MODE_KEY       0600
#define MODE_KEY_RO    0400
#define MODE_PUBLIC    0644
#define P12_ITER       100000           /* PBKDF2 iterations (OpenSSL's default is 2048) */

static const char *const format_names[] = {
	[CS_EXPORT_POSTFIX] = "postfix", [CS_EXPORT_DOVECOT] = "dovecot",
	[CS_EXPORT_EXIM] = "exim", [CS_EXPORT_COURIER] = "courier", [CS_EXPORT_QMAIL] = "qmail",
	[CS_EXPORT_SENDMAIL] = "sendmail", [CS_EXPORT_STUNNEL] = "stunnel",
	[CS_EXPORT_SEPARATE] = "separate", [CS_EXPORT_FULLCHAIN] = "fullchain",
	[CS_EXPORT_COMBINED] = "combined", [CS_EXPORT_PKCS12] = "pkcs12",
};
#define N_FORMATS (sizeof(format_names) / sizeof(format_names[0]))

const char *
cs_export_format_name(enum cs_export_format f)
{
	return (size_t)f < N_FORMATS ? format_names[f] : "unknown";
}

int
cs_export_format_parse(const char *text, enum cs_export_format *f, struct cs_error *err)
{
	for (size_t i = 0; i < N_FORMATS; i++) {
		if (strcmp(text, format_names[i]) == 0) {
			*f = (enum cs_export_format)i;
			return 0;
		}
	}
	cs_error_set(err, "\"%.40s\" is not a daemon or format certwrapctl exports for: use "
	    "postfix, dovecot, exim, courier, qmail, sendmail or stunnel, or separate, fullchain, "
	    "combined or pkcs12", text);
	return -1;
}

void
cs_export_clear(struct cs_export *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (e->files[i].data != NULL)
			OPENSSL_cleanse(e->files[i].data, e->files[i].len);
		free(e->files[i].data);
	}
	memset(e, 0, sizeof(*e));
}

/* --- building the files ---------------------------------------------------------------------- */

struct parts {
	const char *key, *cert, *chain, *root;  /* PEM texts */
	size_t key_len, cert_len, chain_len, root_len;
};

/* A file of the concatenation of the texts given (NULL-terminated pairs of
 * pointer and length), in that order. */
static int __attribute__((sentinel))
add_file(struct cs_export *e, const char *name, unsigned mode, ...)
{
	struct cs_export_file *f;
	const char *s;
	size_t len = 0;
	va_list ap;

	if (e->n == CS_EXPORT_MAX_FILES)
		return -1;
	f = &e->files[e->n];
	memset(f, 0, sizeof(*f));
	va_start(ap, mode);
	while ((s = va_arg(ap, const char *)) != NULL)
		len += va_arg(ap, size_t);
	va_end(ap);
	if ((f->data = malloc(len + 1)) == NULL)
		return -1;
	va_start(ap, mode);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t n = va_arg(ap, size_t);

		memcpy(f->data + f->len, s, n);
		f->len += n;
	}
	va_end(ap);
	f->data[f->len] = '\0';
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->mode = mode;
	e->n++;
	return 0;
}

/* "<subject hash>.0" for x under dir ("" or "cacerts/"), as `openssl
 * rehash` names it; the writer moves to .1, .2 when another certificate
 * already has the name. */
static int
add_hashed(struct cs_export *e, const char *dir, X509 *x)
{
	char name[CS_EXPORT_NAME_MAX], *pem;
	size_t len;
	int rc;

	if ((pem = cs_cert_pem(x, &len)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s%08lx.0", dir, X509_subject_name_hash(x));
	rc = add_file(e, name, MODE_PUBLIC, pem, len, (const char *)NULL);
	free(pem);
	if (rc == 0)
		e->files[e->n - 1].hashed = true;
	return rc;
}

static int
add_pkcs12(struct cs_export *e, const char *name, const struct cs_keycert *kc,
    const char *passphrase)
{
	char file[CS_EXPORT_NAME_MAX];
	unsigned char *der = NULL;
	PKCS12 *p12;
	int len, rc = -1;
	/* without a passphrase nothing is encrypted (and there is no MAC to key) */
	int nid = passphrase != NULL ? NID_aes_256_cbc : -1;

	p12 = PKCS12_create(passphrase, name, cs_keycert_key(kc), cs_keycert_leaf(kc),
	    cs_keycert_chain(kc), nid, nid, passphrase != NULL ? P12_ITER : 0,
	    passphrase != NULL ? P12_ITER : -1, 0);
	if (p12 != NULL && (len = i2d_PKCS12(p12, &der)) > 0) {
		snprintf(file, sizeof(file), "%s.p12", name);
		rc = add_file(e, file, MODE_KEY, (const char *)der, (size_t)len, (const char *)NULL);
		OPENSSL_cleanse(der, (size_t)len);
	}
	OPENSSL_free(der);
	PKCS12_free(p12);
	return rc;
}

#define T(x) (x), (x##_len)              /* a text and its length, for add_file */

static int
build(struct cs_export *e, enum cs_export_format f, const char *name, const struct parts *p,
    const struct cs_keycert *kc, const char *p12_passphrase)
{
	const char *key = p->key, *cert = p->cert, *chain = p->chain, *root = p->root;
	size_t key_len = p->key_len, cert_len = p->cert_len, chain_len = p->chain_len;
	size_t root_len = p->root_len;
	X509 *anchor = cs_keycert_root(kc) != NULL ? cs_keycert_root(kc) : cs_keycert_leaf(kc);
	const char *hint = "";
	int rc = 0;

	switch (f) {
	case CS_EXPORT_POSTFIX:
		rc = add_file(e, "postfix.pem", MODE_KEY, T(key), T(cert), T(chain), NULL);
		hint = "main.cf: smtpd_tls_chain_files = DIR/postfix.pem";
		break;
	case CS_EXPORT_DOVECOT:
	case CS_EXPORT_EXIM:
	case CS_EXPORT_FULLCHAIN:
		rc = add_file(e, "fullchain.pem", MODE_PUBLIC, T(cert), T(chain), NULL) == 0 &&
		    add_file(e, "key.pem", MODE_KEY, T(key), NULL) == 0 ? 0 : -1;
		hint = f == CS_EXPORT_DOVECOT ? "dovecot: ssl_cert = <DIR/fullchain.pem, ssl_key = "
		    "<DIR/key.pem" : f == CS_EXPORT_EXIM ? "exim: tls_certificate = "
		    "DIR/fullchain.pem, tls_privatekey = DIR/key.pem" : "";
		break;
	case CS_EXPORT_COURIER:
		rc = add_file(e, "courier.pem", MODE_KEY, T(key), T(cert), T(chain), NULL);
		hint = "imapd-ssl, pop3d-ssl: TLS_CERTFILE=DIR/courier.pem";
		break;
	case CS_EXPORT_QMAIL:
		rc = add_file(e, "servercert.pem", MODE_KEY_RO, T(key), T(cert), T(chain), NULL);
		hint = "qmail: copy DIR/servercert.pem to /var/qmail/control/ (clientcert.pem may "
		    "be a symlink to it), owned by the qmail user (--owner qmaild)";
		break;
	case CS_EXPORT_SENDMAIL:
		rc = add_file(e, "key.pem", MODE_KEY, T(key), NULL) == 0 &&
		    add_file(e, "cert.pem", MODE_PUBLIC, T(cert), T(chain), NULL) == 0 &&
		    add_file(e, "ca.pem", MODE_PUBLIC, T(root), NULL) == 0 &&
		    add_hashed(e, "cacerts/", anchor) == 0 ? 0 : -1;
		hint = "sendmail.mc: confSERVER_KEY DIR/key.pem, confSERVER_CERT DIR/cert.pem, "
		    "confCACERT DIR/ca.pem, confCACERT_PATH DIR/cacerts";
		break;
	case CS_EXPORT_STUNNEL:
		rc = add_file(e, "stunnel.pem", MODE_KEY, T(cert), T(chain), T(key), NULL);
		hint = "stunnel.conf: cert = DIR/stunnel.pem (the key is in it too)";
		break;
	case CS_EXPORT_SEPARATE:
		rc = add_file(e, "key.pem", MODE_KEY, T(key), NULL) == 0 &&
		    add_file(e, "cert.pem", MODE_PUBLIC, T(cert), NULL) == 0 &&
		    add_file(e, "chain.pem", MODE_PUBLIC, T(chain), NULL) == 0 ? 0 : -1;
		break;
	case CS_EXPORT_COMBINED:
		rc = add_file(e, "combined.pem", MODE_KEY, T(key), T(cert), T(chain), NULL);
		break;
	case CS_EXPORT_PKCS12:
		rc = add_pkcs12(e, name, kc, p12_passphrase);
		break;
	}
	snprintf(e->hint, sizeof(e->hint), "%s", hint);
	return rc;
}

#undef T

/* The refusals of a format before anything is made. */
static int
refuse(const char *name, const char *label, enum cs_export_format f, EVP_PKEY *key,
    struct cs_error *err)
{
	char what[64];

	if (f == CS_EXPORT_QMAIL && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		cs_key_describe(key, what, sizeof(what));
		cs_error_set(err, "%s: qmail loads RSA keys only, and this key is %s: make an RSA "
		    "one for qmail (certwrapctl renew %s --key-type rsa:2048, or issue another name "
		    "with it)", label, what, name);
		return -1;
	}
	return 0;
}

int
certstore_export(struct certstore *cs, const char *name, unsigned version,
    enum cs_export_format f, const char *p12_passphrase, time_t now, struct cs_export *out,
    struct cs_error *err)
{
	struct cs_keycert *kc;
	struct parts p = { 0 };
	char *key = NULL, *cert = NULL, *chain = NULL, *root = NULL, label[CS_NAME_MAX + 16];
	unsigned loaded = 0;
	struct cs_error why;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* what is exported is what would be served: validated now */
	if ((kc = certstore_load(cs, name, version, now, &loaded, NULL, &why)) == NULL) {
		cs_error_set(err, "cannot export %s: %.900s", name, why.msg);
		return -1;
	}
	snprintf(label, sizeof(label), "%s@%u", name, loaded);
	if (refuse(name, label, f, cs_keycert_key(kc), err) == -1)
		goto done;
	if ((key = cs_key_pem(cs_keycert_key(kc), NULL, &p.key_len, err)) == NULL)
		goto done;
	if ((cert = cs_cert_pem(cs_keycert_leaf(kc), &p.cert_len)) == NULL ||
	    (chain = cs_certs_pem(cs_keycert_chain(kc), 0, &p.chain_len)) == NULL ||
	    (root = cs_cert_pem(cs_keycert_root(kc) != NULL ? cs_keycert_root(kc) :
	    cs_keycert_leaf(kc), &p.root_len)) == NULL)
		goto oom;
	p.key = key;
	p.cert = cert;
	p.chain = chain;
	p.root = root;
	if (build(out, f, name, &p, kc, p12_passphrase) == -1)
		goto oom;
	rc = cs_export_keep(cs, name, loaded, f, p12_passphrase, out, err);
	goto done;
oom:
	cs_error_set(err, "%s: cannot make the %s files: %s", label, cs_export_format_name(f),
	    cs_ossl_reason("out of memory"));
done:
	if (rc == -1)
		cs_export_clear(out);
	cs_pem_buf_free(key, p.key_len);
	free(cert);
	free(chain);
	free(root);
	cs_keycert_free(kc);
	return rc;
}

int
certstore_export_ca(struct certstore *cs, bool hashed, struct cs_export *out,
    struct cs_error *err)
{
	char path[CS_PATH_MAX];
	STACK_OF(X509) *root = NULL, *chain = NULL;
	char *root_pem = NULL, *chain_pem = NULL;
	size_t root_len, chain_len;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (cs_store_path(cs, path, err, "ca/root.pem") == -1 ||
	    (root = cs_cert_load_all(path, false, err)) == NULL ||
	    cs_store_path(cs, path, err, "ca/chain.pem") == -1 ||
	    (chain = cs_cert_load_all(path, true, err)) == NULL)
		goto done;
	if (hashed) {
		for (int i = 0; i < sk_X509_num(root) + sk_X509_num(chain); i++)
			if (add_hashed(out, "", i < sk_X509_num(root) ? sk_X509_value(root, i) :
			    sk_X509_value(chain, i - sk_X509_num(root))) == -1)
				goto oom;
		snprintf(out->hint, sizeof(out->hint), "sendmail.mc: confCACERT_PATH DIR; "
		    "openssl verify -CApath DIR");
	} else {
		if ((root_pem = cs_certs_pem(root, 0, &root_len)) == NULL ||
		    (chain_pem = cs_certs_pem(chain, 0, &chain_len)) == NULL ||
		    add_file(out, "root.pem", MODE_PUBLIC, root_pem, root_len, (const char *)NULL) ==
		    -1 || (chain_len > 0 && add_file(out, "chain.pem", MODE_PUBLIC, chain_pem,
		    chain_len, (const char *)NULL) == -1))
			goto oom;
		snprintf(out->hint, sizeof(out->hint), "give DIR/root.pem to the clients (their "
		    "CAfile)");
	}
	rc = 0;
	goto done;
oom:
	cs_error_set(err, "%s: cannot export the CA certificates: out of memory", cs->dir);
	cs_export_clear(out);
done:
	sk_X509_pop_free(root, X509_free);
	sk_X509_pop_free(chain, X509_free);
	free(root_pem);
	free(chain_pem);
	return rc;
}
