/* test_conf.c: certstore/conf.c, certstore.conf. The defaults, the file ca
 * init writes, every option, and a table of refusals with their exact
 * FILE:LINE message. (Includes certstore/internal.h: the parser is internal.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certstore/internal.h"
#include "tests/unit/testpki.h"

static enum cs_policy_mode
mode_of(const struct cs_conf *c, int nid)
{
	for (size_t i = 0; i < c->n_policy; i++)
		if (c->policy[i].nid == nid)
			return c->policy[i].mode;
	return CS_POLICY_OPTIONAL;
}

static void
test_defaults(void **state)
{
	struct cs_conf c;
	struct cs_error err = { "" };

	assert_int_equal(cs_conf_parse("c", "", 0, &c, &err), 0);
	assert_int_equal(c.key_type, CS_KEY_EC_P256);
	assert_int_equal(c.days, CS_DEFAULT_LEAF_DAYS);
	assert_int_equal(c.crl_days, CS_DEFAULT_CRL_DAYS);
	assert_int_equal(c.hook_timeout_s, CS_HOOK_TIMEOUT_S);
	assert_null(c.hook_command);
	assert_int_equal(mode_of(&c, NID_commonName), CS_POLICY_SUPPLIED);
	assert_int_equal(mode_of(&c, NID_countryName), CS_POLICY_OPTIONAL);
	cs_conf_free(&c);
}

/* The commented file ca init writes says what the defaults are. */
static void
test_default_text_is_the_defaults(void **state)
{
	struct cs_conf c, d;
	struct cs_error err = { "" };

	cs_conf_defaults(&d);
	assert_int_equal(cs_conf_parse("c", cs_conf_default_text, strlen(cs_conf_default_text),
	    &c, &err), 0);
	assert_int_equal(c.key_type, d.key_type);
	assert_int_equal(c.days, d.days);
	assert_int_equal(c.crl_days, d.crl_days);
	assert_int_equal(c.hook_timeout_s, d.hook_timeout_s);
	assert_null(c.hook_command);
	assert_int_equal(c.n_policy, 6);
	assert_int_equal(mode_of(&c, NID_commonName), CS_POLICY_SUPPLIED);
	cs_conf_free(&c);
}

static void
test_every_option(void **state)
{
	const char *text =
	    "# comment\r\n"
	    "; also a comment\n"
	    "[defaults]\n"
	    "  key_type = RSA:4096  \n"
	    "days=90\n"
	    "crl_days = 7\n"
	    "[ policy ]\n"
	    "countryName = match\n"
	    "O = match\n"
	    "commonName = optional\n"
	    "emailAddress = supplied\n"
	    "[hooks]\n"
	    "command = systemctl reload postfix; echo '#done'\n"
	    "timeout = 5\n";
	struct cs_conf c;
	struct cs_error err = { "" };

	assert_int_equal(cs_conf_parse("c", text, strlen(text), &c, &err), 0);
	assert_int_equal(c.key_type, CS_KEY_RSA4096);
	assert_int_equal(c.days, 90);
	assert_int_equal(c.crl_days, 7);
	assert_int_equal(mode_of(&c, NID_countryName), CS_POLICY_MATCH);
	assert_int_equal(mode_of(&c, NID_organizationName), CS_POLICY_MATCH);
	assert_int_equal(mode_of(&c, NID_commonName), CS_POLICY_OPTIONAL);
	assert_int_equal(mode_of(&c, NID_pkcs9_emailAddress), CS_POLICY_SUPPLIED);
	assert_string_equal(c.hook_command, "systemctl reload postfix; echo '#done'");
	assert_int_equal(c.hook_timeout_s, 5);
	cs_conf_free(&c);
}

static void
test_empty_command_means_no_hook(void **state)
{
	const char *text = "[hooks]\ncommand =\n";
	struct cs_conf c;
	struct cs_error err = { "" };

	assert_int_equal(cs_conf_parse("c", text, strlen(text), &c, &err), 0);
	assert_null(c.hook_command);
	cs_conf_free(&c);
}

struct refusal {
	const char *text;
	const char *msg;
};

static const struct refusal refusals[] = {
	{ "days = 1\n", "c:1: days: outside a section: put it under [defaults], [policy] or "
	  "[hooks]" },
	{ "[default]\ndays = 1\n", "c:1: unknown section [default] (the sections are "
	  "[defaults], [policy] and [hooks])" },
	{ "[defaults\n", "c:1: a section header is [name] alone on its line" },
	{ "[defaults] x\n", "c:1: a section header is [name] alone on its line" },
	{ "[defaults]\nkeytype = ec\n", "c:2: keytype: unknown option in [defaults] (did you "
	  "mean key_type?)" },
	{ "[defaults]\nlifetime = 3\n", "c:2: lifetime: unknown option in [defaults]; see "
	  "certwrapctl(8)" },
	{ "[defaults]\nkey_type = dsa\n", "c:2: key_type: key type \"dsa\" is not one of "
	  "rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ed25519" },
	{ "[defaults]\ndays = 0\n", "c:2: days: expected a number of days from 1 to 36500, "
	  "got \"0\"" },
	{ "[defaults]\ndays = 1y\n", "c:2: days: expected a number of days from 1 to 36500, "
	  "got \"1y\"" },
	{ "[defaults]\ncrl_days = -1\n", "c:2: crl_days: expected a number of days from 1 to "
	  "36500, got \"-1\"" },
	{ "[defaults]\ndays = 5\n\ndays = 6\n", "c:4: days: set twice (also on line 2): keep "
	  "one" },
	{ "[defaults]\njust words\n", "c:2: expected name = value, [section] or a # comment" },
	{ "[defaults]\n = 3\n", "c:2: no option name before '='" },
	{ "[policy]\nsha256 = match\n", "c:2: sha256: not a subject attribute (use countryName, "
	  "stateOrProvinceName, localityName, organizationName, organizationalUnitName, "
	  "commonName, emailAddress)" },
	{ "[policy]\ncountryName = always\n", "c:2: countryName: expected match, supplied or "
	  "optional, got \"always\"" },
	{ "[policy]\ncommonName = match\ncommonName = optional\n", "c:3: commonName: set twice "
	  "(also on line 2): keep one" },
	{ "[hooks]\ntimeout = 0\n", "c:2: timeout: expected seconds from 1 to 3600, got \"0\"" },
	{ "[hooks]\ncomand = true\n", "c:2: comand: unknown option in [hooks] (did you mean "
	  "command?)" },
	{ "[hooks]\ncommand = a\x01" "b\n", "c:2: control character 0x01 in the line; is this a "
	  "text file?" },
	/* the first error, and how many more */
	{ "[defaults]\ndays = 0\ncrl_days = 0\n[bad]\n", "c:2: days: expected a number of days "
	  "from 1 to 36500, got \"0\" (and 2 more errors)" },
	{ "[defaults]\ndays = 0\ncrl_days = 0\n", "c:2: days: expected a number of days "
	  "from 1 to 36500, got \"0\" (and 1 more error)" },
};

static void
test_refusals(void **state)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct cs_conf c;
		struct cs_error err = { "" };
		const char *t = refusals[i].text;

		assert_int_equal(cs_conf_parse("c", t, strlen(t), &c, &err), -1);
		assert_string_equal(err.msg, refusals[i].msg);
		/* a refused file leaves the defaults, and nothing to free */
		assert_null(c.hook_command);
		assert_int_equal(c.days, CS_DEFAULT_LEAF_DAYS);
	}
}

static void
test_long_line_and_nul(void **state)
{
	char line[CS_CONF_LINE_MAX + 32];
	struct cs_conf c;
	struct cs_error err = { "" };
	static const char nul[] = "[hooks]\ncommand = a\0b\n";

	memset(line, 'x', sizeof(line));
	memcpy(line, "[hooks]\ncommand = ", 18);
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(cs_conf_parse("c", line, sizeof(line), &c, &err), -1);
	assert_string_equal(err.msg, tp_fmt("c:2: line longer than %d bytes", CS_CONF_LINE_MAX));
	assert_int_equal(cs_conf_parse("c", nul, sizeof(nul) - 1, &c, &err), -1);
	assert_string_equal(err.msg, "c:2: control character 0x00 in the line; is this a text "
	    "file?");
}

static void
test_load(void **state)
{
	struct cs_conf c;
	struct cs_error err = { "" };
	const char *path = tp_write("certstore.conf", "[defaults]\ndays = 30\n");

	assert_int_equal(cs_conf_load(path, &c, &err), 0);
	assert_int_equal(c.days, 30);
	cs_conf_free(&c);
	/* a store without the file has the defaults */
	assert_int_equal(cs_conf_load(tp_path("absent.conf"), &c, &err), 0);
	assert_int_equal(c.days, CS_DEFAULT_LEAF_DAYS);
	cs_conf_free(&c);
	path = tp_write("bad.conf", "[defaults]\ndays = x\n");
	assert_int_equal(cs_conf_load(path, &c, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s:2: days: expected a number of days from 1 to "
	    "36500, got \"x\"", path));
}

static int
teardown(void **state)
{
	tp_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_text_is_the_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_empty_command_means_no_hook),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
