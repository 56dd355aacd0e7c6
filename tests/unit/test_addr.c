/* test_addr.c: proxy/addr.c, resolving and printing accept/connect addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/addr.h"
#include "proxy/config.h"

struct resolve_case {
	char *host;                   /* NULL: the role's default */
	char *port;
	enum addr_role role;
	const char *first_label;      /* expected first address, or NULL for failure */
	const char *error_prefix;     /* expected start of the error */
};

static const struct resolve_case cases[] = {
	{ NULL, "993", ADDR_ACCEPT, "0.0.0.0:993", NULL },
	{ "127.0.0.1", "143", ADDR_CONNECT, "127.0.0.1:143", NULL },
	{ "::1", "995", ADDR_ACCEPT, "[::1]:995", NULL },
	{ "::", "465", ADDR_ACCEPT, "[::]:465", NULL },
	{ "127.0.0.1", "imaps", ADDR_ACCEPT, "127.0.0.1:993", NULL },
	{ "127.0.0.1", "no-such-service", ADDR_CONNECT, NULL,
	  "cannot resolve \"127.0.0.1\" port \"no-such-service\": " },
	{ "no-such-host.invalid", "25", ADDR_CONNECT, NULL,
	  "cannot resolve \"no-such-host.invalid\" port \"25\": " },
};

static void
test_resolve_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct resolve_case *tc = &cases[i];
		struct conf_endpoint ep = { tc->host, tc->port, 1 };
		struct addr out[4];
		char err[256] = "";
		int n = addr_resolve(&ep, tc->role, out, 4, err, sizeof(err));

		if (tc->first_label != NULL) {
			assert_true(n >= 1);
			assert_string_equal(out[0].label, tc->first_label);
		} else {
			assert_int_equal(n, -1);
			assert_memory_equal(err, tc->error_prefix, strlen(tc->error_prefix));
		}
	}
}

static void
test_connect_default_is_localhost(void **state)
{
	struct conf_endpoint ep = { NULL, "143", 1 };
	struct addr out[4];
	char err[256];
	int n = addr_resolve(&ep, ADDR_CONNECT, out, 4, err, sizeof(err));
	bool loopback = false;

	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		loopback |= strcmp(out[i].label, "127.0.0.1:143") == 0 ||
		    strcmp(out[i].label, "[::1]:143") == 0;
	assert_true(loopback);
}

static void
test_equal_and_duplicates_removed(void **state)
{
	struct conf_endpoint ep = { "127.0.0.1", "25", 1 };
	struct addr a[4], b[4];
	char err[256];

	assert_int_equal(addr_resolve(&ep, ADDR_CONNECT, a, 4, err, sizeof(err)), 1);
	assert_int_equal(addr_resolve(&ep, ADDR_CONNECT, b, 4, err, sizeof(err)), 1);
	assert_true(addr_equal(&a[0], &b[0]));
	ep.port = "26";
	assert_int_equal(addr_resolve(&ep, ADDR_CONNECT, b, 4, err, sizeof(err)), 1);
	assert_false(addr_equal(&a[0], &b[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_table),
		cmocka_unit_test(test_connect_default_is_localhost),
		cmocka_unit_test(test_equal_and_duplicates_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
