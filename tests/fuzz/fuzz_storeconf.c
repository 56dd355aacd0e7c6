/* fuzz_storeconf.c: certstore/conf.c, the parser of a store's
 * certstore.conf. Seeds in tests/fuzz/corpus/storeconf/.
 *
 * Checks the contract besides memory errors: a refusal says where
 * ("fuzz.conf:LINE: ...") and leaves the defaults; a success has values in
 * their ranges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certstore/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_conf c;
	struct cs_error err = { "" };

	if (cs_conf_parse("fuzz.conf", (const char *)data, size, &c, &err) == -1) {
		REQUIRE(strncmp(err.msg, "fuzz.conf", 9) == 0);
		REQUIRE(c.hook_command == NULL && c.days == CS_DEFAULT_LEAF_DAYS);
		cs_conf_free(&c);
		return 0;
	}
	REQUIRE(c.key_type != CS_KEY_DEFAULT);
	REQUIRE(c.days >= 1 && c.days <= CS_MAX_DAYS);
	REQUIRE(c.crl_days >= 1 && c.crl_days <= CS_MAX_DAYS);
	REQUIRE(c.n_policy >= 1 && c.n_policy <= CS_POLICY_MAX);
	REQUIRE(c.hook_timeout_s >= 1);
	REQUIRE(c.hook_command == NULL || (c.hook_command[0] != '\0' &&
	    strchr(c.hook_command, '\n') == NULL));
	cs_conf_free(&c);
	return 0;
}
