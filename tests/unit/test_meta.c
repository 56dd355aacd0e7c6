/* test_meta.c: certstore/meta.c, a version's metadata: written and read
 * back the same, and damaged files refused with FILE:LINE. (Includes
 * certstore/internal.h: meta.c has no public API of its own.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "certstore/internal.h"
#include "tests/unit/testpki.h"

static const char good[] =
    "# certwrap version metadata: written once, never changed\n"
    "format 1\n"
    "name mail\n"
    "version 2\n"
    "previous 1\n"
    "serial 5F3A01\n"
    "origin renew\n"
    "created 2030-01-01T00:00:00Z\n"
    "key_type ec:P-256\n"
    "days 90\n"
    "client yes\n"
    "reused_key no\n"
    "dns mail.example.com\n"
    "dns imap.example.com\n"
    "ip 192.0.2.1\n";

static void
test_round_trip(void **state)
{
	struct cs_meta m;
	struct cs_error err = { "" };
	char *text;

	assert_int_equal(cs_meta_parse("meta", good, strlen(good), &m, &err), 0);
	assert_string_equal(m.name, "mail");
	assert_int_equal(m.version, 2);
	assert_int_equal(m.previous, 1);
	assert_string_equal(m.serial, "5F3A01");
	assert_int_equal(m.origin, CS_EVENT_RENEW);
	assert_int_equal(m.created, TP_NOW);
	assert_int_equal(m.key_type, CS_KEY_EC_P256);
	assert_int_equal(m.days, 90);
	assert_true(m.client);
	assert_false(m.reused_key);
	assert_int_equal(m.n_dns, 2);
	assert_string_equal(m.dns[1], "imap.example.com");
	assert_null(m.dns[2]);
	assert_int_equal(m.n_ip, 1);
	assert_string_equal(m.ip[0], "192.0.2.1");
	/* what we write is what we read */
	assert_non_null(text = cs_meta_format(&m));
	assert_string_equal(text, good);
	free(text);
	cs_meta_clear(&m);
}

struct refusal {
	const char *replace, *with;         /* in good */
	const char *msg;
};

static const struct refusal refusals[] = {
	{ "format 1\n", "format 2\n", "meta:2: format 2 is not 1: written by another version of "
	  "certwrap: the version's metadata is damaged" },
	{ "format 1\n", "", "meta:2: the first line must be \"format 1\": the version's "
	  "metadata is damaged" },
	{ "name mail\n", "name ../etc\n", "meta:3: name \"../etc\" is not a valid certificate "
	  "name: the version's metadata is damaged" },
	{ "version 2\n", "version two\n", "meta:4: version \"two\" is not a number from 0 to "
	  "999999: the version's metadata is damaged" },
	{ "serial 5F3A01\n", "serial 5G\n", "meta:6: serial \"5G\" is not hex: the version's "
	  "metadata is damaged" },
	{ "origin renew\n", "origin rollback\n", "meta:7: origin \"rollback\" is not issue, renew "
	  "or import: the version's metadata is damaged" },
	{ "created 2030-01-01T00:00:00Z\n", "created yesterday\n", "meta:8: created \"yesterday\" "
	  "is not a time (YYYY-MM-DDTHH:MM:SSZ): the version's metadata is damaged" },
	{ "key_type ec:P-256\n", "key_type dsa\n", "meta:9: key type \"dsa\" is not one of "
	  "rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ed25519: the version's metadata is "
	  "damaged" },
	{ "client yes\n", "client maybe\n", "meta:11: client \"maybe\" is not yes or no: the "
	  "version's metadata is damaged" },
	{ "days 90\n", "days 90\ndays 91\n", "meta:11: days given twice (also on line 10): the "
	  "version's metadata is damaged" },
	{ "days 90\n", "days 90\ncolour blue\n", "meta:11: unknown key \"colour\": the version's "
	  "metadata is damaged" },
	{ "days 90\n", "days\n", "meta:10: expected \"key value\": the version's metadata is "
	  "damaged" },
	{ "days 90\n", "", "meta: no \"days\" line: the version's metadata is damaged" },
	{ "dns mail.example.com\ndns imap.example.com\nip 192.0.2.1\n", "",
	  "meta: no dns or ip line: the version's metadata is damaged" },
	{ "dns imap.example.com\n", "dns imap_example.com\n", "meta: DNS name "
	  "\"imap_example.com\" is not valid: use letters, digits, '-' and '.' only" },
	{ "ip 192.0.2.1\n", "ip 192.0.2.300\n", "meta: IP address \"192.0.2.300\" is not valid: "
	  "write an IPv4 address (192.0.2.1) or an IPv6 address (2001:db8::1), without a prefix "
	  "length or zone" },
};

static void
test_refusals(void **state)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const char *text = tp_replace(good, refusals[i].replace, refusals[i].with);
		struct cs_meta m;
		struct cs_error err = { "" };

		assert_int_equal(cs_meta_parse("meta", text, strlen(text), &m, &err), -1);
		assert_string_equal(err.msg, refusals[i].msg);
		assert_null(m.dns);
		assert_null(m.ip);
	}
}

static void
test_names_are_canonical(void **state)
{
	const char *text = tp_replace(tp_replace(good, "dns imap.example.com\n",
	    "dns IMAP.Example.COM.\ndns mail.example.com\n"), "ip 192.0.2.1\n",
	    "ip 2001:DB8:0::1\n");
	struct cs_meta m;
	struct cs_error err = { "" };

	assert_int_equal(cs_meta_parse("meta", text, strlen(text), &m, &err), 0);
	assert_int_equal(m.n_dns, 2);                   /* the duplicate is dropped */
	assert_string_equal(m.dns[1], "imap.example.com");
	assert_string_equal(m.ip[0], "2001:db8::1");
	cs_meta_clear(&m);
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
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_names_are_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
