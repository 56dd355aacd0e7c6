/* csr.c: certificate signing requests. Every version keeps the request its
 * certificate was made from (csr.pem), as `openssl ca` users keep req.pem, so
 * that a certificate can be signed again, here or by another CA. */
#include "certstore/internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

X509_REQ *
cs_csr_make(EVP_PKEY *key, X509_NAME *subject, GENERAL_NAMES *sans, struct cs_error *err)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();

	if (req == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subject) || !X509_REQ_set_pubkey(req, key) ||
	    X509V3_add1_i2d(&exts, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1 ||
	    !X509_REQ_add_extensions(req, exts) || X509_REQ_sign(req, key, md) <= 0) {
		cs_error_set(err, "cannot make the certificate request: %s",
		    cs_ossl_reason("out of memory"));
		X509_REQ_free(req);
		req = NULL;
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return req;
}

char *
cs_csr_pem(X509_REQ *req, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509_REQ(b, req) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 && (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(b);
	return s;
}
