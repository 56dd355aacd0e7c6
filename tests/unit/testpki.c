/* testpki.c: test certificates built in memory (see testpki.h). */
#include "tests/unit/testpki.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define TP_SLOTS      8
#define TP_KEY_TYPES  (TP_ED25519 + 1)

/* Everything handed out, freed by tp_cleanup. */
struct owned {
	void *p;
	void (*free)(void *);
};

static struct owned *owned;
static size_t n_owned, cap_owned;
static EVP_PKEY *keys[TP_KEY_TYPES][TP_SLOTS];
static char dir[64];
static uint64_t serial;

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "testpki: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	abort();
}

static void free_x509(void *p) { X509_free(p); }
static void free_mem(void *p) { free(p); }
static void free_openssl(void *p) { OPENSSL_free(p); }

static void *
own(void *p, void (*f)(void *))
{
	if (p == NULL)
		die("allocation");
	if (n_owned == cap_owned) {
		cap_owned = cap_owned ? 2 * cap_owned : 64;
		if ((owned = realloc(owned, cap_owned * sizeof(*owned))) == NULL)
			die("realloc");
	}
	owned[n_owned++] = (struct owned){ p, f };
	return p;
}

/* --- keys and certificates --------------------------------------------------------- */

EVP_PKEY *
tp_key(enum tp_key_type type, unsigned slot)
{
	EVP_PKEY **k = &keys[type][slot % TP_SLOTS];

	if (*k != NULL)
		return *k;
	switch (type) {
	case TP_RSA1024: *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024); break;
	case TP_RSA2048: *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); break;
	case TP_EC_P192: *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-192"); break;
	case TP_EC_P256: *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
	case TP_ED25519: *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
	}
	if (*k == NULL)
		die("key generation");
	return *k;
}

static struct tp_cert_spec
spec_defaults(const char *cn, bool ca)
{
	return (struct tp_cert_spec){
		.cn = cn, .org = "Example", .ca = ca, .md = TP_SHA256,
		.not_before_days = -1, .not_after_days = 365,
	};
}

struct tp_cert_spec
tp_leaf_spec(const char *cn)
{
	struct tp_cert_spec s = spec_defaults(cn, false);

	s.san = tp_fmt("DNS:%s", cn);
	s.eku = "serverAuth";
	return s;
}

struct tp_cert_spec
tp_ca_spec(const char *cn)
{
	return spec_defaults(cn, true);
}

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;

	if (value == NULL || value[0] == '\0')
		return;
	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL || !X509_add_ext(x, e, -1))
		die(value);
	X509_EXTENSION_free(e);
}

static X509_NAME *
make_name(const struct tp_cert_spec *spec)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL || (spec->org != NULL && !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)spec->org, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)spec->cn, -1, -1, 0))
		die("name");
	return n;
}

static const EVP_MD *
digest(enum tp_md md, EVP_PKEY *signer)
{
	if (EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519)
		return NULL;                    /* EdDSA hashes internally */
	return md == TP_MD5 ? EVP_md5() : md == TP_SHA1 ? EVP_sha1() : EVP_sha256();
}

X509 *
tp_cert(const struct tp_cert_spec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = own(X509_new(), free_x509);
	X509_NAME *name = make_name(spec);
	EVP_PKEY *signer = issuer != NULL ? issuer_key : key;
	time_t base = TP_NOW;
	X509V3_CTX ctx;

	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), ++serial) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), (int)spec->not_before_days, 0, &base) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)spec->not_after_days, 0, &base) ||
	    !X509_set_pubkey(x, key))
		die("certificate fields");
	X509_NAME_free(name);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, spec->ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(x, &ctx, NID_key_usage, spec->ku != NULL ? spec->ku :
	    spec->ca ? "critical,keyCertSign,cRLSign" : NULL);
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	add_ext(x, &ctx, NID_subject_alt_name, spec->san);
	add_ext(x, &ctx, NID_ext_key_usage, spec->eku);
	if (X509_sign(x, signer, digest(spec->md, signer)) <= 0)
		die("signing");
	return x;
}

void
tp_pki(struct tp_pki *p)
{
	struct tp_cert_spec root = tp_ca_spec("Test Root CA");
	struct tp_cert_spec inter = tp_ca_spec("Test Intermediate CA");
	struct tp_cert_spec leaf = tp_leaf_spec("mail.example.com");

	root.not_after_days = 3650;
	inter.not_after_days = 1825;
	p->root_key = tp_key(TP_RSA2048, 7);
	p->inter_key = tp_key(TP_RSA2048, 6);
	p->leaf_key = tp_key(TP_RSA2048, 0);
	p->root = tp_cert(&root, p->root_key, NULL, NULL);
	p->inter = tp_cert(&inter, p->inter_key, p->root, p->root_key);
	p->leaf = tp_cert(&leaf, p->leaf_key, p->inter, p->inter_key);
}

/* --- PEM ------------------------------------------------------------------------------ */

static BIO *
mem_bio(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL)
		die("BIO_new");
	return b;
}

/* The BIO's content as an owned string; frees the BIO. */
static const char *
bio_text(BIO *b)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		die("bio_text");
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	return own(s, free_mem);
}

const char *
tp_pem_cert(X509 *x)
{
	BIO *b = mem_bio();

	if (!PEM_write_bio_X509(b, x))
		die("PEM_write_bio_X509");
	return bio_text(b);
}

const char *
tp_pem_cert_trusted(X509 *x)
{
	BIO *b = mem_bio();

	if (!PEM_write_bio_X509_AUX(b, x))
		die("PEM_write_bio_X509_AUX");
	return bio_text(b);
}

const char *
tp_pem_key(EVP_PKEY *k)
{
	BIO *b = mem_bio();

	if (!PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		die("PEM_write_bio_PrivateKey");
	return bio_text(b);
}

const char *
tp_pem_key_encrypted(EVP_PKEY *k, const char *pass)
{
	BIO *b = mem_bio();

	if (!PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), NULL, 0, NULL,
	    (void *)(uintptr_t)pass))
		die("PEM_write_bio_PKCS8PrivateKey");
	return bio_text(b);
}

const char *
tp_pem_key_traditional(EVP_PKEY *k, const char *pass)
{
	BIO *b = mem_bio();

	if (!PEM_write_bio_PrivateKey_traditional(b, k, pass != NULL ? EVP_aes_256_cbc() : NULL,
	    NULL, 0, NULL, (void *)(uintptr_t)pass))
		die("PEM_write_bio_PrivateKey_traditional");
	return bio_text(b);
}

unsigned char *
tp_der_cert(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		die("i2d_X509");
	*len = (size_t)n;
	return own(der, free_openssl);
}

/* --- strings ---------------------------------------------------------------------------- */

const char *
tp_cat(const char *first, ...)
{
	va_list ap;
	size_t len = 0;
	char *s;

	va_start(ap, first);
	for (const char *p = first; p != NULL; p = va_arg(ap, const char *))
		len += strlen(p);
	va_end(ap);
	if ((s = malloc(len + 1)) == NULL)
		die("tp_cat");
	s[0] = '\0';
	va_start(ap, first);
	for (const char *p = first; p != NULL; p = va_arg(ap, const char *))
		strcat(s, p);
	va_end(ap);
	return own(s, free_mem);
}

const char *
tp_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		die("vasprintf");
	va_end(ap);
	return own(s, free_mem);
}

const char *
tp_replace(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += nf)
		n++;
	if ((out = o = malloc(strlen(s) + n * nt + 1)) == NULL)
		die("tp_replace");
	for (p = s; (s = strstr(p, from)) != NULL; p = s + nf) {
		memcpy(o, p, (size_t)(s - p));
		o += s - p;
		memcpy(o, to, nt);
		o += nt;
	}
	strcpy(o, p);
	return own(out, free_mem);
}

/* --- files ------------------------------------------------------------------------------------ */

const char *
tp_dir(void)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/certwrap-test-XXXXXX");
		if (mkdtemp(dir) == NULL)
			die("mkdtemp");
	}
	return dir;
}

const char *
tp_path(const char *name)
{
	return tp_fmt("%s/%s", tp_dir(), name);
}

const char *
tp_write_bytes(const char *name, const void *data, size_t len)
{
	const char *path = tp_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len || close(fd) == -1)
		die(path);
	return path;
}

const char *
tp_write(const char *name, const char *text)
{
	return tp_write_bytes(name, text, strlen(text));
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void
tp_cleanup(void)
{
	while (n_owned > 0) {
		n_owned--;
		owned[n_owned].free(owned[n_owned].p);
	}
	free(owned);
	owned = NULL;
	cap_owned = 0;
	for (int t = 0; t < TP_KEY_TYPES; t++)
		for (int s = 0; s < TP_SLOTS; s++) {
			EVP_PKEY_free(keys[t][s]);
			keys[t][s] = NULL;
		}
	if (dir[0] != '\0') {
		nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
		dir[0] = '\0';
	}
}
