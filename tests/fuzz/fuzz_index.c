/* fuzz_index.c: certstore/index.c, the parser of openssl ca's index.txt
 * (outside input when a store imports an openssl CA directory or an
 * operator edits it). Seeds in tests/fuzz/corpus/index/.
 *
 * Besides memory errors it checks the contract: a refusal says where
 * ("fuzz.txt:LINE: ..."), and what parses is written back in a form that
 * parses again to the same entries (the index survives our rewrite). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certstore/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void
same_entries(const struct cs_index *a, const struct cs_index *b)
{
	REQUIRE(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		REQUIRE(a->e[i].status == b->e[i].status);
		REQUIRE(strcmp(a->e[i].expiry, b->e[i].expiry) == 0);
		REQUIRE(strcmp(a->e[i].revoked, b->e[i].revoked) == 0);
		REQUIRE(strcmp(a->e[i].serial, b->e[i].serial) == 0);
		REQUIRE(strcmp(a->e[i].file, b->e[i].file) == 0);
		REQUIRE(strcmp(a->e[i].subject, b->e[i].subject) == 0);
		REQUIRE(cs_index_find(a, a->e[i].serial) == &a->e[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_index idx, again;
	struct cs_error err = { "" };
	char *text;
	size_t len;

	if (size > 1024 * 1024)
		return 0;
	if (cs_index_parse("fuzz.txt", (const char *)data, size, &idx, &err) == -1) {
		REQUIRE(strncmp(err.msg, "fuzz.txt:", 9) == 0);
		REQUIRE(idx.n == 0 && idx.e == NULL);
		return 0;
	}
	REQUIRE((text = cs_index_format(&idx, &len)) != NULL);
	REQUIRE(cs_index_parse("again.txt", text, len, &again, &err) == 0);
	same_entries(&idx, &again);
	free(text);
	cs_index_free(&again);
	cs_index_free(&idx);
	return 0;
}
