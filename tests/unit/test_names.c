/* test_names.c: certstore/names.c, names and dates as an operator reads them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certstore/certstore.h"

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
};

static const struct days_case days_cases[] = {
	{ 0, 0 }, { 86399, 0 }, { 86400, 1 }, { 10 * 86400 + 5, 10 },
	{ -1, 0 }, { -86399, 0 }, { -86400, -1 }, { -86401, -1 }, { -205LL * 86400, -205 },
};

static void
test_days_until(void **state)
{
	const time_t now = 1893456000;

	for (size_t i = 0; i < sizeof(days_cases) / sizeof(days_cases[0]); i++)
		assert_int_equal(cs_days_until(now + (time_t)days_cases[i].seconds, now),
		    days_cases[i].days);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_oneline),
		cmocka_unit_test(test_name_oneline_null),
		cmocka_unit_test(test_days_until),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
