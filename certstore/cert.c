/* cert.c: building certificates (the profiles are in ca.c and issue.c) and
 * writing and reading them as PEM. */
#include "certstore/internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

X509 *
cs_cert_new(const struct cs_cert_spec *spec, struct cs_error *err)
{
	X509 *x = X509_new();
	X509_NAME *issuer = spec->issuer != NULL ? X509_get_subject_name(spec->issuer) :
	    spec->subject;

	if (x == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, spec->serial) ||
	    !X509_set_subject_name(x, spec->subject) || !X509_set_issuer_name(x, issuer) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), spec->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), spec->not_after) == NULL ||
	    !X509_set_pubkey(x, spec->pubkey)) {
		cs_error_set(err, "cannot make the certificate: %s",
		    cs_ossl_reason("out of memory"));
		X509_free(x);
		return NULL;
	}
	return x;
}

int
cs_cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value, struct cs_error *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL || !X509_add_ext(x, e, -1)) {
		cs_error_set(err, "cannot add %s = %s to the certificate: %s", OBJ_nid2ln(nid),
		    value, cs_ossl_reason("OpenSSL refused it"));
		X509_EXTENSION_free(e);
		return -1;
	}
	X509_EXTENSION_free(e);
	return 0;
}

int
cs_cert_sign(X509 *x, EVP_PKEY *key, struct cs_error *err)
{
	if (X509_sign(x, key, cs_ca_digest(key)) <= 0) {
		cs_error_set(err, "cannot sign the certificate: %s",
		    cs_ossl_reason("OpenSSL refused"));
		return -1;
	}
	return 0;
}

/* The content of a memory BIO as a malloc'ed string. */
static char *
bio_copy(BIO *b, size_t *len)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

char *
cs_cert_pem(X509 *x, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1)
		s = bio_copy(b, len);
	BIO_free(b);
	return s;
}

char *
cs_certs_pem(STACK_OF(X509) *certs, int from, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	int i;

	if (b == NULL)
		return NULL;
	for (i = from; i < sk_X509_num(certs); i++)
		if (PEM_write_bio_X509(b, sk_X509_value(certs, i)) != 1)
			break;
	if (i >= sk_X509_num(certs))
		s = bio_copy(b, len);
	BIO_free(b);
	return s;
}

STACK_OF(X509) *
cs_cert_load_all(const char *path, bool empty_ok, struct cs_error *err)
{
	size_t len;
	char *pem = cs_pem_read_file(path, &len, err);
	STACK_OF(X509) *certs = NULL;
	size_t i;

	if (pem == NULL)
		return NULL;
	for (i = 0; i < len && strchr(" \t\r\n", pem[i]) != NULL; i++)
		;
	if (i == len && empty_ok)
		certs = sk_X509_new_null();     /* an empty chain.pem: a root signs */
	else
		certs = cs_pem_parse_certs(pem, len, path, err);
	if (certs == NULL && i == len && empty_ok)
		cs_error_set(err, "%s: out of memory", path);
	cs_pem_buf_free(pem, len);
	return certs;
}
