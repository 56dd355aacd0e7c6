/* test_names.c: certstore/names.c, names and dates as an operator reads them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certstore/certstore.h"
#include "certstore/internal.h"

static X509_NAME *
name(const char *o, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	assert_non_null(n);
	if (o != NULL)
		assert_true(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
		    (const unsigned char *)o, -1, -1, 0));
	if (cn != NULL)
		assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0));
	return n;
}

struct name_case {
	const char *o, *cn;
	size_t buflen;
	const char *want;
};

static const struct name_case name_cases[] = {
	{ "Example", "mail.example.com", 256, "CN=mail.example.com, O=Example" },
	{ NULL, "mail.example.com", 256, "CN=mail.example.com" },
	{ NULL, NULL, 256, "(empty name)" },
	/* UTF-8 stays readable; RFC 2253 specials are escaped */
	{ "Soci\xC3\xA9t\xC3\xA9, Inc", "a", 256, "CN=a, O=Soci\xC3\xA9t\xC3\xA9\\, Inc" },
	/* a newline cannot forge a log line */
	{ "Example", "evil\ninfo: x", 256, "CN=evil\\0Ainfo: x, O=Example" },
	/* cut to the buffer, never inside a UTF-8 sequence */
	{ "Example", "mail.example.com", 8, "CN=mail" },
	{ "Soci\xC3\xA9t\xC3\xA9", "evil\ninfo: x", 26, "CN=evil\\0Ainfo: x, O=Soci" },
	{ "Example", "a", 1, "" },
};

static void
test_name_oneline(void **state)
{
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];
		X509_NAME *n = name(c->o, c->cn);
		char buf[256];

		memset(buf, 'x', sizeof(buf));
		cs_name_oneline(n, buf, c->buflen);
		assert_string_equal(buf, c->want);
		X509_NAME_free(n);
	}
}

static void
test_name_oneline_null(void **state)
{
	char buf[32] = "x";

	cs_name_oneline(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "(empty name)");
	cs_name_oneline(NULL, buf, 0);          /* writes nothing */
	assert_string_equal(buf, "(empty name)");
}

struct days_case {
	long long seconds;              /* t - now */
	long days;
	const char *distance;
};

static const struct days_case days_cases[] = {
	{ 0, 0, "(in less than a day)" },
	{ 86399, 0, "(in less than a day)" },
	{ 86400, 1, "(in 1 day)" },
	{ 10 * 86400 + 5, 10, "(in 10 days)" },
	{ -1, 0, "(less than a day ago)" },
	{ -86400, -1, "(1 day ago)" },
	{ -86401, -1, "(1 day ago)" },
	{ -205LL * 86400, -205, "(205 days ago)" },
};

static void
test_days_until(void **state)
{
	const time_t now = 1893456000;

	for (size_t i = 0; i < sizeof(days_cases) / sizeof(days_cases[0]); i++) {
		const struct days_case *c = &days_cases[i];
		char buf[64];

		assert_int_equal(cs_days_until(now + (time_t)c->seconds, now), c->days);
		cs_time_distance(now + (time_t)c->seconds, now, buf, sizeof(buf));
		assert_string_equal(buf, c->distance);
	}
}

static void
test_time_format(void **state)
{
	ASN1_TIME *t = ASN1_TIME_new();
	time_t got;
	char buf[32];

	assert_non_null(t);
	assert_true(ASN1_TIME_set_string(t, "20291222000000Z"));
	assert_int_equal(cs_time_from_asn1(t, &got), 0);
	assert_true(got == 1893456000 - 10 * 86400);
	cs_time_format(got, true, buf, sizeof(buf));
	assert_string_equal(buf, "2029-12-22 00:00 UTC");
	cs_time_format(got, false, buf, sizeof(buf));
	assert_string_equal(buf, "2029-12-22");
	assert_int_equal(cs_time_from_asn1(NULL, &got), -1);
	ASN1_TIME_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_oneline),
		cmocka_unit_test(test_name_oneline_null),
		cmocka_unit_test(test_days_until),
		cmocka_unit_test(test_time_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
