/* fuzz_pem.c: libFuzzer target for certstore/pem.c, the parser of outside
 * PEM, and for cs_keycert_validate over whatever parses. Seeds in
 * tests/fuzz/corpus/pem/ (made by tests/fuzz/pem_corpus.sh).
 *
 * Besides memory errors it checks the contract: a refusal always says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certstore/certstore.h"

#define FUZZ_NOW ((time_t)1893456000)        /* 2030-01-01, as the unit tests */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must_explain(const struct cs_error *err, const char *what)
{
	if (err->msg[0] == '\0' || memchr(err->msg, '\0', sizeof(err->msg)) == NULL) {
		fprintf(stderr, "%s refused without a message\n", what);
		abort();
	}
}

static void
validate(STACK_OF(X509) *certs, EVP_PKEY *key)
{
	struct cs_error err = { "" };
	struct cs_warnings w;
	struct cs_keycert *kc;

	kc = cs_keycert_validate(certs, "fuzz.pem", key, "fuzz.pem", NULL, FUZZ_NOW, &w, &err);
	if (kc == NULL) {
		must_explain(&err, "cs_keycert_validate");
		return;
	}
	if (w.count > CS_MAX_WARNINGS || strlen(cs_keycert_summary(kc)) == 0)
		abort();
	cs_keycert_free(kc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pem = (const char *)data;
	struct cs_error err = { "" };
	STACK_OF(X509) *certs;
	EVP_PKEY *key;

	if ((certs = cs_pem_parse_certs(pem, size, "fuzz.pem", &err)) == NULL)
		must_explain(&err, "cs_pem_parse_certs");
	err.msg[0] = '\0';
	if ((key = cs_pem_parse_key(pem, size, "fuzz.pem", NULL, &err)) == NULL)
		must_explain(&err, "cs_pem_parse_key");
	/* With a passphrase the legacy (Proc-Type) decryption runs too. PKCS#8
	 * encryption is left out: up to CS_PEM_MAX_KDF_ITER PBKDF2 rounds per
	 * input would slow fuzzing a hundredfold (the bound is unit-tested). */
	if (key == NULL && memmem(pem, size, "ENCRYPTED PRIVATE KEY", 21) == NULL) {
		err.msg[0] = '\0';
		if ((key = cs_pem_parse_key(pem, size, "fuzz.pem", "fuzz", &err)) == NULL)
			must_explain(&err, "cs_pem_parse_key with a passphrase");
	}
	if (certs != NULL && key != NULL)
		validate(certs, key);
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
	return 0;
}
