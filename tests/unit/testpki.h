/* testpki.h: test certificates built in memory with OpenSSL, as PEM text
 * and as files in a temporary directory. Linked into every unit test.
 *
 * Everything a tp_* function returns is owned by testpki and freed by
 * tp_cleanup() (call it from a cmocka group teardown, since it also drops the
 * cached keys and the directory): tests never free. Keys are
 * generated once per (type, slot) and cached, so a test that needs "another
 * RSA key" asks for slot 1. Validity is in days relative to TP_NOW, a fixed
 * instant, so expected messages can spell out exact dates. Any failure to
 * build aborts the test program: a fixture that cannot be built is a bug.
 *
 *	struct tp_pki p;
 *	tp_pki(&p);                                  root -> intermediate -> leaf
 *	const char *cert = tp_write("mail.pem", tp_cat(tp_pem_key(p.leaf_key),
 *	    tp_pem_cert(p.leaf), tp_pem_cert(p.inter), NULL));
 */
#ifndef CERTWRAP_TESTPKI_H
#define CERTWRAP_TESTPKI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define TP_NOW ((time_t)1893456000)          /* 2030-01-01 00:00:00 UTC */
#define TP_DAY 86400

enum tp_key_type { TP_RSA1024, TP_RSA2048, TP_EC_P192, TP_EC_P256, TP_ED25519 };
enum tp_md { TP_SHA256, TP_SHA1, TP_MD5 };

struct tp_cert_spec {
	const char *cn;                   /* subject CN */
	const char *org;                  /* subject O, or NULL; reads "CN=cn, O=org" */
	bool ca;                          /* basicConstraints CA:TRUE + keyCertSign,cRLSign;
	                                     otherwise CA:FALSE */
	enum tp_md md;                    /* ignored for Ed25519 signers */
	long not_before_days;             /* relative to TP_NOW */
	long not_after_days;
	const char *san;                  /* subjectAltName, "DNS:mail.example.com", or NULL */
	const char *eku;                  /* extendedKeyUsage, "serverAuth", or NULL */
	const char *ku;                   /* keyUsage; NULL: the default above; "": none
	                                     (what `openssl req -x509` makes: CA:TRUE, no KU) */
};

/* Defaults: SHA-256, valid from TP_NOW - 1 day to TP_NOW + 365 days, O=Example.
 * A leaf also has SAN DNS:<cn> and extendedKeyUsage serverAuth. */
struct tp_cert_spec tp_leaf_spec(const char *cn);
struct tp_cert_spec tp_ca_spec(const char *cn);

/* The cached key of that type in that slot (0..7). */
EVP_PKEY *tp_key(enum tp_key_type type, unsigned slot);

/* A certificate for key, signed by issuer_key in the name of issuer; self-signed
 * when issuer is NULL. */
X509 *tp_cert(const struct tp_cert_spec *spec, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key);

/* CN=Test Root CA -> CN=Test Intermediate CA -> CN=mail.example.com (all
 * O=Example), RSA 2048, SHA-256; leaf_key is tp_key(TP_RSA2048, 0). */
struct tp_pki {
	EVP_PKEY *root_key, *inter_key, *leaf_key;
	X509 *root, *inter, *leaf;
};
void tp_pki(struct tp_pki *p);

/* PEM text, NUL-terminated. */
const char *tp_pem_cert(X509 *x);                              /* CERTIFICATE */
const char *tp_pem_cert_trusted(X509 *x);                      /* TRUSTED CERTIFICATE */
const char *tp_pem_key(EVP_PKEY *k);                           /* PRIVATE KEY (PKCS#8) */
const char *tp_pem_key_encrypted(EVP_PKEY *k, const char *pass); /* ENCRYPTED PRIVATE KEY */
/* RSA PRIVATE KEY / EC PRIVATE KEY; legacy Proc-Type encryption when pass != NULL */
const char *tp_pem_key_traditional(EVP_PKEY *k, const char *pass);
unsigned char *tp_der_cert(X509 *x, size_t *len);

/* Strings up to NULL, concatenated; and printf into a string. */
const char *tp_cat(const char *first, ...);
const char *tp_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s with every occurrence of from replaced by to. */
const char *tp_replace(const char *s, const char *from, const char *to);

/* A temporary directory made on first use, removed with its content by
 * tp_cleanup. tp_write makes a file there (mode 0600) and returns its path. */
const char *tp_dir(void);
const char *tp_path(const char *name);
const char *tp_write(const char *name, const char *text);
const char *tp_write_bytes(const char *name, const void *data, size_t len);

/* Frees everything above and removes the directory. Keys included. */
void tp_cleanup(void);

#endif
