/* fuzz_meta.c: certstore/meta.c, the parser of a version's metadata file.
 * Seeds in tests/fuzz/corpus/meta/.
 *
 * Checks the contract besides memory errors: a refusal names the file, and
 * what parses is formatted back into text that parses to the same request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certstore/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void
same_names(char **a, size_t na, char **b, size_t nb)
{
	REQUIRE(na == nb);
	for (size_t i = 0; i < na; i++)
		REQUIRE(strcmp(a[i], b[i]) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_meta m, again;
	struct cs_error err = { "" };
	char *text;

	if (cs_meta_parse("fuzz.meta", (const char *)data, size, &m, &err) == -1) {
		REQUIRE(strncmp(err.msg, "fuzz.meta", 9) == 0);
		REQUIRE(m.dns == NULL && m.ip == NULL);
		return 0;
	}
	REQUIRE(m.n_dns + m.n_ip >= 1 && m.n_dns + m.n_ip <= CS_MAX_SANS);
	REQUIRE((text = cs_meta_format(&m)) != NULL);
	REQUIRE(cs_meta_parse("again.meta", text, strlen(text), &again, &err) == 0);
	REQUIRE(strcmp(m.name, again.name) == 0 && m.version == again.version &&
	    m.previous == again.previous && strcmp(m.serial, again.serial) == 0 &&
	    m.origin == again.origin && m.created == again.created &&
	    m.key_type == again.key_type && m.days == again.days &&
	    m.client == again.client && m.reused_key == again.reused_key);
	same_names(m.dns, m.n_dns, again.dns, again.n_dns);
	same_names(m.ip, m.n_ip, again.ip, again.n_ip);
	free(text);
	cs_meta_clear(&again);
	cs_meta_clear(&m);
	return 0;
}
