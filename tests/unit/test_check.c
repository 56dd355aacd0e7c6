/* test_check.c: certstore/check.c: the store judged at one instant for
 * monitoring: leaves against the thresholds, revoked and invalid ones, the
 * intermediates and the CA, the CRL, and the order of what is reported. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

#define WARN (30L * TP_DAY)
#define CRIT (7L * TP_DAY)

static void
check(struct certstore *cs, time_t now, struct cs_check *c)
{
	struct cs_error err = { "" };

	if (certstore_check(cs, WARN, CRIT, now, c, &err) == -1)
		fail_msg("%s", err.msg);
}

static void
test_thresholds(void **state)
{
	struct certstore *cs = ts_store("chk", NULL);
	struct cs_check c;

	check(cs, TP_NOW, &c);
	assert_int_equal(c.state, CS_CHECK_OK);
	assert_int_equal(c.n_certs, 0);
	assert_int_equal(c.n_items, 0);
	cs_check_clear(&c);

	ts_issue(cs, "a", TP_NOW, "a.example.com", NULL);        /* ends 2031-01-01 */
	check(cs, TP_NOW, &c);
	assert_int_equal(c.state, CS_CHECK_OK);
	assert_int_equal(c.n_certs, 1);
	assert_string_equal(c.next_name, "a");
	assert_int_equal(c.next_expiry, TP_NOW + 365 * TP_DAY);
	cs_check_clear(&c);

	check(cs, TP_NOW + 340 * TP_DAY, &c);
	assert_int_equal(c.state, CS_CHECK_WARNING);
	assert_int_equal(c.n_items, 1);
	assert_string_equal(c.items[0].what, "a");
	assert_string_equal(c.items[0].problem, "expires 2031-01-01 (in 25 days)");
	cs_check_clear(&c);

	check(cs, TP_NOW + 360 * TP_DAY, &c);
	assert_int_equal(c.state, CS_CHECK_CRITICAL);
	assert_string_equal(c.items[0].problem, "expires 2031-01-01 (in 5 days)");
	cs_check_clear(&c);

	check(cs, TP_NOW + 368 * TP_DAY, &c);
	assert_int_equal(c.state, CS_CHECK_CRITICAL);
	assert_string_equal(c.items[0].problem, "expired 2031-01-01 (3 days ago)");
	assert_string_equal(c.next_name, "");
	cs_check_clear(&c);
	assert_string_equal(cs_check_state_name(CS_CHECK_UNKNOWN), "UNKNOWN");
}

static void
test_problems_and_their_order(void **state)
{
	struct certstore *cs = ts_store("chk2", NULL);
	struct cs_revoke_params rp = { .name = "r", .now = TP_NOW };
	struct cs_revocation rev;
	struct cs_check c;
	struct cs_error err = { "" };
	const char *key;

	ts_issue(cs, "bad", TP_NOW, "bad.example.com", NULL);
	ts_issue(cs, "r", TP_NOW, "r.example.com", NULL);
	ts_issue(cs, "soon", TP_NOW - 340 * TP_DAY, "soon.example.com", NULL);
	key = ts_file(cs, "bad", 1, "key.pem");
	chmod(key, 0644);
	assert_int_equal(certstore_revoke(cs, &rp, &rev, NULL, &err), 0);
	check(cs, TP_NOW, &c);
	assert_int_equal(c.state, CS_CHECK_CRITICAL);
	assert_int_equal(c.n_certs, 3);
	assert_int_equal(c.n_items, 3);
	/* critical first, each in the order found */
	assert_string_equal(c.items[0].what, "bad");
	assert_string_equal(c.items[0].problem, tp_fmt("%s: the private key may be read by every "
	    "user (mode 0644): chmod 600 %s", key, key));
	assert_string_equal(c.items[1].what, "r");
	assert_string_equal(c.items[1].problem, tp_fmt("revoked (serial %s): renew it", rev.serial));
	assert_string_equal(c.items[2].what, "soon");
	assert_int_equal(c.items[2].state, CS_CHECK_WARNING);
	cs_check_clear(&c);
	chmod(key, 0600);
}

static void
test_ca_intermediate_and_crl(void **state)
{
	struct cs_ca_params p = { .intermediate = true, .days = 100, .now = TP_NOW };
	struct certstore *cs = ts_store("chk3", &p);
	struct cs_crl_info crl;
	struct cs_check c;
	struct cs_error err = { "" };

	/* the intermediate (50 days) runs out before the root (100) */
	check(cs, TP_NOW + 30 * TP_DAY, &c);
	assert_int_equal(c.state, CS_CHECK_WARNING);
	assert_int_equal(c.n_items, 1);
	assert_string_equal(c.items[0].what, "ca");
	assert_string_equal(c.items[0].problem, "the signing CA CN=certwrap Intermediate CA "
	    "expires 2030-02-20 (in 20 days)");
	cs_check_clear(&c);
	/* a leaf sends the intermediate: its end is the leaf's problem too */
	ts_issue(cs, "a", TP_NOW, "a.example.com", NULL);
	check(cs, TP_NOW + 45 * TP_DAY, &c);
	assert_int_equal(c.state, CS_CHECK_CRITICAL);
	assert_string_equal(c.items[0].what, "a");
	assert_string_equal(c.items[0].problem, "expires 2030-02-20 (in 5 days)");
	assert_string_equal(c.items[1].what, "a");
	assert_string_equal(c.items[1].problem, "intermediate CN=certwrap Intermediate CA expires "
	    "2030-02-20 (in 5 days)");
	cs_check_clear(&c);

	/* the CRL: due at two thirds, critical near and past its nextUpdate */
	assert_int_equal(certstore_crl(cs, NULL, TP_NOW, &crl, &err), 0);
	check(cs, TP_NOW + 21 * TP_DAY, &c);
	assert_int_equal(c.state, CS_CHECK_WARNING);
	assert_int_equal(c.n_items, 4);         /* the leaf, its intermediate, the CA, the CRL */
	assert_string_equal(c.items[3].what, "crl");
	assert_string_equal(c.items[3].problem, "due to be made again (nextUpdate 2030-01-31 "
	    "00:00 UTC (in 9 days)): run certwrapctl crl, or renew --all");
	cs_check_clear(&c);
	check(cs, TP_NOW + 32 * TP_DAY, &c);
	assert_string_equal(c.items[0].what, "crl");
	assert_int_equal(c.items[0].state, CS_CHECK_CRITICAL);
	assert_string_equal(c.items[0].problem, "its nextUpdate 2030-01-31 00:00 UTC passed (2 "
	    "days ago): clients that check it refuse every certificate; run certwrapctl crl");
	cs_check_clear(&c);
}

static int
teardown(void **state)
{
	ts_cleanup();
	tp_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_problems_and_their_order),
		cmocka_unit_test(test_ca_intermediate_and_crl),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
