/* pem.c: bounded parsing of outside PEM (files, control-socket messages).
 *
 * The input is any bytes: not NUL-terminated, possibly hostile. A small
 * scanner of our own finds the "-----BEGIN X-----" ... "-----END X-----"
 * blocks by pointer and length, so every message can say which block is
 * wrong ("certificate 2 of 3"), and only then is one block at a time handed to
 * OpenSSL through a memory BIO that ends where the block ends.
 *
 * Labels accepted as certificates: CERTIFICATE, its old synonym X509
 * CERTIFICATE, and TRUSTED CERTIFICATE (OpenSSL's -trustout form: a
 * certificate plus trust settings, which serving ignores; operators copy
 * roots and intermediates out of trust stores in this form).
 * Labels accepted as private keys: PRIVATE KEY (PKCS#8), ENCRYPTED PRIVATE
 * KEY, and "<ALG> PRIVATE KEY" (traditional RSA, EC, DSA; with Proc-Type
 * encryption). Everything else (EC PARAMETERS, DH PARAMETERS as Courier
 * appends, CERTIFICATE REQUEST) is skipped.
 *
 * DER (binary) input is not accepted, because a server certificate file must
 * hold a chain and PEM is the form that concatenates; a DER certificate, DER
 * key or PKCS#12 bundle is recognised and the message gives the openssl
 * command that converts it. */
#include "certstore/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/pkcs12.h>

#define PEM_LABEL_MAX 64                /* longest label we look at */
#define PEM_WHY_MAX   200

static const char begin_tag[] = "-----BEGIN ";
static const char end_tag[] = "-----END ";
static const char dashes[] = "-----";

enum pem_kind { PEM_OTHER, PEM_CERT, PEM_TRUSTED_CERT, PEM_KEY, PEM_CSR };

/* One block as found by the scanner; pointers into the input. */
struct pem_block {
	const char *label;              /* not NUL-terminated */
	size_t label_len;
	const char *start;              /* the "-----BEGIN" */
	size_t len;                     /* through the END line */
	enum pem_kind kind;
	const char *malformed;          /* NULL, or why this is not a whole block */
};

/* What a whole input holds, counted before anything is decoded. */
struct pem_census {
	unsigned blocks, certs, keys, csrs;
};

/* --- reading files ---------------------------------------------------------- */

char *
cs_pem_read_file(const char *path, size_t *len, struct cs_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not hang before fstat refuses it. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		cs_error_set(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		cs_error_set(err, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cs_error_set(err, "%s: not a regular file (%s): expected a PEM file", path,
		    S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
		goto fail;
	}
	if (st.st_size > CS_PEM_MAX_BYTES) {
		cs_error_set(err, "%s: too large (%lld bytes, at most %d): expected a PEM "
		    "certificate or key file", path, (long long)st.st_size, CS_PEM_MAX_BYTES);
		goto fail;
	}
	/* Read what fstat promised; a file growing meanwhile is cut there. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		cs_error_set(err, "%s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cs_error_set(err, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	if (buf != NULL)
		cs_pem_buf_free(buf, (size_t)st.st_size);
	close(fd);
	return NULL;
}

void
cs_pem_buf_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/* --- the scanner -------------------------------------------------------------- */

static const char *
line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl : end;
}

static const char *
next_line(const char *p, const char *end)
{
	const char *e = line_end(p, end);

	return e < end ? e + 1 : end;
}

static bool
has_prefix(const char *p, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

/* The first line at or after p (a line start) that begins with "-----". */
static const char *
next_dash_line(const char *p, const char *end)
{
	for (; p < end; p = next_line(p, end))
		if (has_prefix(p, end, dashes))
			return p;
	return NULL;
}

/* The label of a "-----BEGIN X-----" or "-----END X-----" line; false when
 * the line is not one (bad characters, no closing dashes, too long). */
static bool
tag_label(const char *line, const char *end, const char *tag,
    const char **label, size_t *label_len)
{
	const char *e, *l;

	if (!has_prefix(line, end, tag))
		return false;
	l = line + strlen(tag);
	e = line_end(line, end);
	while (e > l && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - l < 6 || memcmp(e - 5, dashes, 5) != 0)
		return false;
	e -= 5;
	if (e - l > PEM_LABEL_MAX)
		return false;
	for (const char *c = l; c < e; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == ' ' ||
		    *c == '-'))
			return false;
	*label = l;
	*label_len = (size_t)(e - l);
	return true;
}

static bool
label_is(const struct pem_block *b, const char *s)
{
	return b->label_len == strlen(s) && memcmp(b->label, s, b->label_len) == 0;
}

static enum pem_kind
label_kind(const struct pem_block *b)
{
	static const char key_suffix[] = " PRIVATE KEY";
	size_t n = sizeof(key_suffix) - 1;

	if (label_is(b, "CERTIFICATE") || label_is(b, "X509 CERTIFICATE"))
		return PEM_CERT;
	if (label_is(b, "TRUSTED CERTIFICATE"))
		return PEM_TRUSTED_CERT;
	if (label_is(b, "PRIVATE KEY") ||
	    (b->label_len > n && memcmp(b->label + b->label_len - n, key_suffix, n) == 0))
		return PEM_KEY;
	if (label_is(b, "CERTIFICATE REQUEST") || label_is(b, "NEW CERTIFICATE REQUEST"))
		return PEM_CSR;
	return PEM_OTHER;
}

/* The rest of the block whose BEGIN line is at begin: its END line, or why
 * there is none, and where scanning goes on. A missing END resumes at the
 * next BEGIN line, so counting goes on past a damaged block. */
static void
scan_block(const char *begin, const char *end, struct pem_block *b, const char **resume)
{
	const char *body = next_line(begin, end);
	const char *q = next_dash_line(body, end);
	const char *label;
	size_t label_len;

	b->len = 0;
	b->malformed = NULL;
	if (q == NULL) {
		b->malformed = "no END line (the file is cut short?)";
		*resume = end;
	} else if (!tag_label(q, end, end_tag, &label, &label_len)) {
		b->malformed = has_prefix(q, end, begin_tag) ?
		    "no END line before the next BEGIN line" : "no END line";
		*resume = has_prefix(q, end, begin_tag) ? q : next_line(q, end);
	} else if (label_len != b->label_len || memcmp(label, b->label, label_len) != 0) {
		b->malformed = "its END line names a different block";
		*resume = next_line(q, end);
	} else {
		*resume = next_line(q, end);
		b->len = (size_t)(*resume - begin);
	}
}

/* The next block at or after *pos; false when there is none. */
static bool
pem_next(const char *buf, size_t len, size_t *pos, struct pem_block *b)
{
	const char *end = buf + len;
	const char *p = buf + *pos;
	const char *resume;

	/* A UTF-8 byte order mark (Windows editors) is not a line's content. */
	if (*pos == 0 && has_prefix(p, end, "\xEF\xBB\xBF"))
		p += 3;
	for (; (p = next_dash_line(p, end)) != NULL; p = next_line(p, end)) {
		if (!tag_label(p, end, begin_tag, &b->label, &b->label_len))
			continue;
		b->start = p;
		b->kind = label_kind(b);
		scan_block(p, end, b, &resume);
		*pos = (size_t)(resume - buf);
		return true;
	}
	*pos = len;
	return false;
}

static void
pem_count(const char *buf, size_t len, struct pem_census *c)
{
	struct pem_block b;
	size_t pos = 0;

	memset(c, 0, sizeof(*c));
	while (pem_next(buf, len, &pos, &b)) {
		c->blocks++;
		c->certs += b.kind == PEM_CERT || b.kind == PEM_TRUSTED_CERT;
		c->keys += b.kind == PEM_KEY;
		c->csrs += b.kind == PEM_CSR;
	}
}

/* --- recognising binary input ------------------------------------------------- */

enum pem_binary { BIN_NONE, BIN_DER_CERT, BIN_DER_KEY, BIN_PKCS12 };

/* What a PEM-less input is, if it is one DER object filling it exactly. */
static enum pem_binary
sniff_binary(const char *buf, size_t len)
{
	const unsigned char *der = (const unsigned char *)buf, *p = der;
	long obj_len;
	int tag, cls;
	X509 *x;
	PKCS12 *p12;
	X509_SIG *sig;
	EVP_PKEY *k;

	if (len < 2 || der[0] != 0x30 ||
	    (ASN1_get_object(&p, &obj_len, &tag, &cls, (long)len) & 0x80) != 0 ||
	    p + obj_len != der + len)
		return BIN_NONE;
	if ((p = der, x = d2i_X509(NULL, &p, (long)len)) != NULL) {
		X509_free(x);
		return BIN_DER_CERT;
	}
	if ((p = der, p12 = d2i_PKCS12(NULL, &p, (long)len)) != NULL) {
		PKCS12_free(p12);
		return BIN_PKCS12;
	}
	if ((p = der, sig = d2i_X509_SIG(NULL, &p, (long)len)) != NULL) {
		X509_SIG_free(sig);             /* an encrypted PKCS#8 key */
		return BIN_DER_KEY;
	}
	if ((p = der, k = d2i_AutoPrivateKey(NULL, &p, (long)len)) != NULL) {
		EVP_PKEY_free(k);
		return BIN_DER_KEY;
	}
	return BIN_NONE;
}

/* Describes binary input in err; false when it is not binary we know. */
static bool
binary_error(const char *buf, size_t len, const char *name, bool want_cert,
    struct cs_error *err)
{
	switch (sniff_binary(buf, len)) {
	case BIN_DER_CERT:
		if (!want_cert)
			return false;
		cs_error_set(err, "%s: binary (DER) certificate, not PEM: convert it with "
		    "\"openssl x509 -inform DER -in %s -out %s.pem\"", name, name, name);
		return true;
	case BIN_DER_KEY:
		if (want_cert)
			return false;
		cs_error_set(err, "%s: binary (DER) private key, not PEM: convert it with "
		    "\"openssl pkey -inform DER -in %s -out %s.pem\"", name, name, name);
		return true;
	case BIN_PKCS12:
		cs_error_set(err, "%s: PKCS#12 (.p12/.pfx) bundle, not PEM: convert it with "
		    "\"openssl pkcs12 -nodes -in %s -out %s.pem\" (the result holds the key "
		    "and the certificates: keep it mode 0600)", name, name, name);
		return true;
	case BIN_NONE:
		break;
	}
	return false;
}

/* --- certificates ----------------------------------------------------------------- */

static bool
check_size(size_t len, const char *name, struct cs_error *err)
{
	if (len <= CS_PEM_MAX_BYTES)
		return true;
	cs_error_set(err, "%s: too large (%zu bytes, at most %d)", name, len, CS_PEM_MAX_BYTES);
	return false;
}

/* Base64-decodes one whole block into *der (the caller frees it with
 * OPENSSL_clear_free: it may be a key). -1 with why filled otherwise. */
static int
block_decode(const struct pem_block *b, unsigned char **der, long *der_len,
    char *why, size_t whylen)
{
	BIO *bio = BIO_new_mem_buf(b->start, (int)b->len);
	char *label = NULL, *header = NULL;
	int rc = -1;

	*der = NULL;
	if (b->malformed != NULL)
		snprintf(why, whylen, "%s", b->malformed);
	else if (bio == NULL)
		snprintf(why, whylen, "out of memory");
	else if (PEM_read_bio(bio, &label, &header, der, der_len) != 1)
		snprintf(why, whylen, "%s", ERR_GET_REASON(ERR_peek_last_error()) ==
		    PEM_R_BAD_BASE64_DECODE ? "bad base64 encoding" :
		    cs_ossl_reason("unreadable PEM"));
	else
		rc = 0;
	OPENSSL_free(label);
	OPENSSL_free(header);
	BIO_free(bio);
	return rc;
}

/* Decodes one whole certificate block; NULL with why filled otherwise. */
static X509 *
decode_cert(const struct pem_block *b, char *why, size_t whylen)
{
	unsigned char *der;
	const unsigned char *p;
	long der_len;
	X509 *x;

	if (block_decode(b, &der, &der_len, why, whylen) == -1)
		return NULL;
	p = der;
	x = b->kind == PEM_TRUSTED_CERT ? d2i_X509_AUX(NULL, &p, der_len) :
	    d2i_X509(NULL, &p, der_len);
	if (x == NULL)
		snprintf(why, whylen, "the data is not an X.509 certificate");
	else if (p != der + der_len) {
		snprintf(why, whylen, "%ld bytes of extra data after the certificate",
		    (long)(der + der_len - p));
		X509_free(x);
		x = NULL;
	}
	OPENSSL_free(der);
	return x;
}

static void
no_cert_error(const char *pem, size_t len, const char *name, const struct pem_census *c,
    struct cs_error *err)
{
	if (c->blocks == 0 && binary_error(pem, len, name, true, err))
		return;
	if (c->csrs > 0)
		cs_error_set(err, "%s: no certificate found, only a certificate request (CSR): "
		    "send it to your CA and set cert = to the certificate it returns", name);
	else
		cs_error_set(err, "%s: no certificate found (expected a CERTIFICATE block; "
		    "set cert = to the file that holds it)", name);
}

STACK_OF(X509) *
cs_pem_parse_certs(const char *pem, size_t len, const char *name, struct cs_error *err)
{
	STACK_OF(X509) *certs = NULL;
	struct pem_census c;
	struct pem_block b;
	char why[PEM_WHY_MAX];
	size_t pos = 0;
	unsigned nth = 0;
	X509 *x;

	if (!check_size(len, name, err))
		return NULL;
	pem_count(pem, len, &c);
	if (c.certs == 0) {
		no_cert_error(pem, len, name, &c, err);
		return NULL;
	}
	if (c.certs > CS_PEM_MAX_CERTS) {
		cs_error_set(err, "%s: too many certificates (%u, at most %d): the file holds "
		    "the leaf and its chain; a bundle of trusted CAs belongs in CAfile",
		    name, c.certs, CS_PEM_MAX_CERTS);
		return NULL;
	}
	ERR_set_mark();
	if ((certs = sk_X509_new_null()) == NULL)
		goto oom;
	while (pem_next(pem, len, &pos, &b)) {
		if (b.kind != PEM_CERT && b.kind != PEM_TRUSTED_CERT)
			continue;
		nth++;
		if ((x = decode_cert(&b, why, sizeof(why))) == NULL) {
			cs_error_set(err, "%s: certificate %u of %u is not valid PEM/DER: %s",
			    name, nth, c.certs, why);
			goto fail;
		}
		if (sk_X509_push(certs, x) == 0) {
			X509_free(x);
			goto oom;
		}
	}
	ERR_pop_to_mark();
	return certs;
oom:
	cs_error_set(err, "%s: out of memory", name);
fail:
	sk_X509_pop_free(certs, X509_free);
	ERR_pop_to_mark();
	return NULL;
}

/* --- certificate requests ------------------------------------------------------------ */

static X509_REQ *
decode_csr(const struct pem_block *b, char *why, size_t whylen)
{
	unsigned char *der;
	const unsigned char *p;
	long der_len;
	X509_REQ *req;

	if (block_decode(b, &der, &der_len, why, whylen) == -1)
		return NULL;
	p = der;
	if ((req = d2i_X509_REQ(NULL, &p, der_len)) == NULL) {
		snprintf(why, whylen, "the data is not a certificate request");
	} else if (p != der + der_len) {
		snprintf(why, whylen, "%ld bytes of extra data after the request",
		    (long)(der + der_len - p));
		X509_REQ_free(req);
		req = NULL;
	}
	OPENSSL_free(der);
	return req;
}

X509_REQ *
cs_pem_parse_csr(const char *pem, size_t len, const char *name, struct cs_error *err)
{
	struct pem_census c;
	struct pem_block b;
	char why[PEM_WHY_MAX];
	const unsigned char *p = (const unsigned char *)pem;
	size_t pos = 0;
	X509_REQ *req = NULL;

	if (!check_size(len, name, err))
		return NULL;
	pem_count(pem, len, &c);
	if (c.csrs != 1) {
		ERR_set_mark();
		if (c.blocks == 0 && len > 0 && (req = d2i_X509_REQ(NULL, &p, (long)len)) != NULL)
			cs_error_set(err, "%s: binary (DER) certificate request, not PEM: convert it "
			    "with \"openssl req -inform DER -in %s -out %s.pem\"", name, name, name);
		else if (c.csrs > 1)
			cs_error_set(err, "%s: %u certificate requests: give one at a time", name,
			    c.csrs);
		else if (c.certs > 0)
			cs_error_set(err, "%s: a certificate, not a certificate request (CSR)", name);
		else
			cs_error_set(err, "%s: no certificate request found (expected a CERTIFICATE "
			    "REQUEST block, as openssl req -new makes)", name);
		X509_REQ_free(req);
		ERR_pop_to_mark();
		return NULL;
	}
	ERR_set_mark();
	while (req == NULL && pem_next(pem, len, &pos, &b)) {
		if (b.kind != PEM_CSR)
			continue;
		if ((req = decode_csr(&b, why, sizeof(why))) == NULL)
			cs_error_set(err, "%s: the certificate request is not valid PEM/DER: %s",
			    name, why);
		break;
	}
	ERR_pop_to_mark();
	return req;
}

/* --- private keys ----------------------------------------------------------------- */

/* OpenSSL's password callback. Never prompts: without a passphrase it fails,
 * where OpenSSL's default would read the terminal of a daemon. */
static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pass = u;
	size_t n;

	if (pass == NULL || (n = strlen(pass)) > (size_t)size)
		return -1;
	memcpy(buf, pass, n);
	return (int)n;
}

static bool
key_is_encrypted(const struct pem_block *b)
{
	static const char proc_type[] = "Proc-Type: 4,ENCRYPTED";

	return label_is(b, "ENCRYPTED PRIVATE KEY") ||
	    memmem(b->start, b->len, proc_type, sizeof(proc_type) - 1) != NULL;
}

/* The one key block; its census says there is exactly one. */
static void
find_key_block(const char *pem, size_t len, struct pem_block *b)
{
	size_t pos = 0;

	while (pem_next(pem, len, &pos, b))
		if (b->kind == PEM_KEY)
			return;
}

/* The work a password-based key derivation asks for, 0 when it is not one
 * we know (then OpenSSL refuses it or it is cheap). Overflow saturates. */
static uint64_t
kdf_work(const X509_ALGOR *kdf, const char **what)
{
	uint64_t n = 0, r = 0, p = 0, work = 0;
	PBKDF2PARAM *pbkdf2;
	SCRYPT_PARAMS *sp;

	if (OBJ_obj2nid(kdf->algorithm) == NID_id_pbkdf2 && (pbkdf2 =
	    ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), kdf->parameter)) != NULL) {
		*what = "PBKDF2 iterations";
		if (!ASN1_INTEGER_get_uint64(&work, pbkdf2->iter))
			work = UINT64_MAX;
		PBKDF2PARAM_free(pbkdf2);
	} else if (OBJ_obj2nid(kdf->algorithm) == NID_id_scrypt && (sp =
	    ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), kdf->parameter)) != NULL) {
		*what = "scrypt N*r*p";
		if (!ASN1_INTEGER_get_uint64(&n, sp->costParameter) ||
		    !ASN1_INTEGER_get_uint64(&r, sp->blockSize) ||
		    !ASN1_INTEGER_get_uint64(&p, sp->parallelizationParameter) ||
		    (r != 0 && n > UINT64_MAX / r) || (p != 0 && n * r > UINT64_MAX / p))
			work = UINT64_MAX;
		else
			work = n * r * p;
		SCRYPT_PARAMS_free(sp);
	}
	return work;
}

/* Refuses, before any work, an ENCRYPTED PRIVATE KEY whose key derivation
 * (written in the key itself) would keep a CPU busy for minutes. */
static int
check_kdf_cost(const unsigned char *der, long der_len, const char *name, struct cs_error *err)
{
	const unsigned char *p = der;
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, der_len);
	const X509_ALGOR *alg;
	PBE2PARAM *pbe2 = NULL;
	PBEPARAM *pbe1 = NULL;
	const char *what = NULL;
	uint64_t work = 0, max = CS_PEM_MAX_KDF_ITER;

	if (sig == NULL)
		return 0;               /* not PKCS#8: the decoder will say so */
	X509_SIG_get0(sig, &alg, NULL);
	if (OBJ_obj2nid(alg->algorithm) == NID_pbes2) {
		if ((pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
		    alg->parameter)) != NULL && pbe2->keyfunc != NULL)
			work = kdf_work(pbe2->keyfunc, &what);
	} else if ((pbe1 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM),
	    alg->parameter)) != NULL) {
		what = "PBE iterations";        /* PKCS#5 v1.5, PKCS#12 */
		if (!ASN1_INTEGER_get_uint64(&work, pbe1->iter))
			work = UINT64_MAX;
	}
	if (what != NULL && strncmp(what, "scrypt", 6) == 0)
		max = CS_PEM_MAX_SCRYPT_WORK;
	PBE2PARAM_free(pbe2);
	PBEPARAM_free(pbe1);
	X509_SIG_free(sig);
	if (work <= max)
		return 0;
	cs_error_set(err, "%s: the encrypted private key asks for %s%llu %s (at most %llu), "
	    "too slow to decrypt: re-encrypt it with \"openssl pkey -aes256 -in %s -out %s.new\"",
	    name, work == UINT64_MAX ? "over " : "", work == UINT64_MAX ? (unsigned long long)max :
	    (unsigned long long)work, what, (unsigned long long)max, name, name);
	return -1;
}

static EVP_PKEY *
decode_key(const struct pem_block *b, const char *name, const char *passphrase,
    struct cs_error *err)
{
	char why[PEM_WHY_MAX];
	unsigned char *der;
	long der_len;
	BIO *bio;
	EVP_PKEY *key = NULL;
	bool encrypted = key_is_encrypted(b);

	/* The base64 first, so a damaged block says so whatever its type. */
	if (block_decode(b, &der, &der_len, why, sizeof(why)) == -1) {
		cs_error_set(err, "%s: the private key is not valid PEM/DER: %s", name, why);
		return NULL;
	}
	if (encrypted && passphrase != NULL && label_is(b, "ENCRYPTED PRIVATE KEY") &&
	    check_kdf_cost(der, der_len, name, err) == -1) {
		OPENSSL_free(der);
		return NULL;
	}
	OPENSSL_clear_free(der, (size_t)der_len);
	if (encrypted && passphrase == NULL) {
		cs_error_set(err, "%s: the private key is encrypted and no passphrase was given "
		    "(certwrap never prompts): store it unencrypted, readable only by root, with "
		    "\"openssl pkey -in %s -out %s.plain\"", name, name, name);
		return NULL;
	}
	if (label_is(b, "OPENSSH PRIVATE KEY")) {
		cs_error_set(err, "%s: this is an OpenSSH key, not a TLS private key: use the key "
		    "the certificate request was made with", name);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(b->start, (int)b->len)) != NULL)
		key = PEM_read_bio_PrivateKey_ex(bio, NULL, pass_cb,
		    (void *)(uintptr_t)passphrase, NULL, NULL);
	if (key == NULL && encrypted)
		cs_error_set(err, "%s: cannot decrypt the private key: wrong passphrase, or the "
		    "key is damaged", name);
	else if (key == NULL)
		cs_error_set(err, "%s: the private key is not valid PEM/DER: not a key type "
		    "OpenSSL can read, or damaged", name);
	BIO_free(bio);
	return key;
}

EVP_PKEY *
cs_pem_parse_key(const char *pem, size_t len, const char *name, const char *passphrase,
    struct cs_error *err)
{
	struct pem_census c;
	struct pem_block b;
	EVP_PKEY *key;

	if (!check_size(len, name, err))
		return NULL;
	pem_count(pem, len, &c);
	if (c.keys == 0) {
		if (c.blocks > 0 || !binary_error(pem, len, name, false, err))
			cs_error_set(err, "%s: no private key found (expected a PRIVATE KEY block; "
			    "set key = to the file that holds it)", name);
		return NULL;
	}
	if (c.keys > 1) {
		cs_error_set(err, "%s: %u private keys found, expected one: keep only the key "
		    "that matches the certificate", name, c.keys);
		return NULL;
	}
	find_key_block(pem, len, &b);
	ERR_set_mark();
	key = decode_key(&b, name, passphrase, err);
	ERR_pop_to_mark();
	return key;
}
