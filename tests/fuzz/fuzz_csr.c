/* fuzz_csr.c: libFuzzer target for cs_pem_parse_csr (certstore/pem.c), the
 * parser of the requests `sign` takes from outside (through certwrapd's
 * control socket too), and for the checks sign makes on what parses.
 * Seeds in tests/fuzz/corpus/csr/ (made by tests/fuzz/csr_corpus.sh).
 * Besides memory errors it checks the contract: a refusal always says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "certstore/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_error err = { "" };
	X509_REQ *req = cs_pem_parse_csr((const char *)data, size, "fuzz.csr", &err);
	EVP_PKEY *pub;

	if (req == NULL) {
		if (err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof(err.msg)) == NULL) {
			fprintf(stderr, "cs_pem_parse_csr refused without a message\n");
			abort();
		}
		return 0;
	}
	/* what sign looks at next: the key, the signature, the requested names */
	if ((pub = X509_REQ_get0_pubkey(req)) != NULL)
		X509_REQ_verify(req, pub);
	sk_X509_EXTENSION_pop_free(X509_REQ_get_extensions(req), X509_EXTENSION_free);
	X509_REQ_free(req);
	ERR_clear_error();
	return 0;
}
