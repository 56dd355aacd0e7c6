/* test_store.c: certstore/store.c and info.c: names, versions and the
 * current pointer, loading a version through the one validation, rollback,
 * the status list and show report, and the sweep of what a killed writer
 * left. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

static void
test_names_versions_current(void **state)
{
	struct certstore *cs = ts_store("names", NULL);
	struct cs_error err = { "" };
	char **names;
	unsigned *v, cur;
	size_t n;

	assert_int_equal(certstore_names(cs, &names, &err), 0);
	assert_null(names[0]);
	cs_strv_free(names);
	ts_issue(cs, "zeta", TP_NOW, "z.example", NULL);
	ts_issue(cs, "alpha", TP_NOW, "a.example", NULL);
	assert_int_equal(ts_renew(cs, "alpha", TP_NOW, false), 2);
	/* a name without current (a crash before its first commit) is not listed */
	assert_int_equal(mkdir(tp_path("names/certs/half"), 0755), 0);
	assert_int_equal(certstore_names(cs, &names, &err), 0);
	assert_string_equal(names[0], "alpha");
	assert_string_equal(names[1], "zeta");
	assert_null(names[2]);
	cs_strv_free(names);
	assert_int_equal(certstore_versions(cs, "alpha", &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 2);
	free(v);
	assert_int_equal(certstore_current(cs, "alpha", &cur, &err), 0);
	assert_int_equal(cur, 2);
	assert_int_equal(certstore_current(cs, "nosuch", &cur, &err), -1);
	assert_string_equal(err.msg, tp_fmt("nosuch: no such certificate in %s (certwrapctl list "
	    "shows the names)", certstore_dir(cs)));
	assert_int_equal(certstore_current(cs, "../x", &cur, &err), -1);
	assert_string_equal(err.msg, "\"../x\" is not a valid certificate name: use letters, "
	    "digits, '.', '-' and '_' (at most 64, starting with a letter or digit)");
}

static void
test_paths(void **state)
{
	struct certstore *cs = ts_store("paths", NULL);
	struct cs_paths p;
	struct cs_error err = { "" };

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	assert_int_equal(certstore_paths(cs, "mail", 0, &p, &err), 0);
	assert_string_equal(p.dir, tp_fmt("%s/certs/mail/1", certstore_dir(cs)));
	assert_string_equal(p.chain, tp_fmt("%s/certs/mail/1/chain.pem", certstore_dir(cs)));
	assert_int_equal(certstore_paths(cs, "mail", 7, &p, &err), -1);
	assert_string_equal(err.msg, "mail: there is no version 7 (certwrapctl show mail lists "
	    "them)");
}

static void
test_load(void **state)
{
	struct cs_ca_params cp = { .intermediate = true, .now = TP_NOW };
	struct certstore *cs = ts_store("load", &cp);
	struct cs_keycert *kc;
	struct cs_error err = { "" };
	unsigned loaded = 0;
	const char *key;

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	kc = certstore_load(cs, "mail", 0, TP_NOW, &loaded, NULL, &err);
	assert_non_null(kc);
	assert_int_equal(loaded, 1);
	/* the chain is the intermediate, not the root */
	assert_int_equal(sk_X509_num(cs_keycert_chain(kc)), 1);
	assert_string_equal(cs_keycert_summary(kc), "leaf CN=mail.example.com, issued by "
	    "CN=certwrap Intermediate CA, chain 1 (root CN=certwrap Root CA not sent), expires "
	    "2031-01-01 (365 days)");
	cs_keycert_free(kc);
	/* a key others may read is refused, with the fix */
	key = ts_file(cs, "mail", 1, "key.pem");
	assert_int_equal(chmod(key, 0644), 0);
	assert_null(certstore_load(cs, "mail", 0, TP_NOW, NULL, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: the private key may be read by every user (mode "
	    "0644): chmod 600 %s", key, key));
	assert_int_equal(chmod(key, 0600), 0);
	/* messages name the version */
	assert_null(certstore_load(cs, "mail", 0, TP_NOW + 400 * TP_DAY, NULL, NULL, &err));
	assert_string_equal(err.msg, "mail@1: certificate CN=mail.example.com expired "
	    "2031-01-01 00:00 UTC (35 days ago): renew it and install the new certificate");
	/* cert.pem changed by hand: fullchain.pem alone would still validate */
	ts_issue(cs, "other", TP_NOW, "other.example.com", NULL);
	tp_write("cert.pem", ts_read(ts_file(cs, "other", 1, "cert.pem")));
	assert_int_equal(rename(tp_path("cert.pem"), ts_file(cs, "mail", 1, "cert.pem")), 0);
	assert_null(certstore_load(cs, "mail", 0, TP_NOW, NULL, NULL, &err));
	assert_string_equal(err.msg, "mail@1: cert.pem and chain.pem are not the certificates of "
	    "fullchain.pem: the version's files were changed after it was made; make a new version "
	    "(certwrapctl renew) or point current at a good one (certwrapctl rollback)");
}

static void
test_rollback(void **state)
{
	struct certstore *cs = ts_store("rollback", NULL);
	struct cs_change ch;
	struct cs_error err = { "" };
	unsigned cur;

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	assert_int_equal(certstore_rollback(cs, "mail", TP_NOW, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, "mail: version 1 is its first: there is nothing to roll back "
	    "to");
	ts_renew(cs, "mail", TP_NOW, false);
	ts_renew(cs, "mail", TP_NOW, false);
	assert_int_equal(certstore_rollback(cs, "mail", TP_NOW, &ch, NULL, &err), 0);
	assert_int_equal(ch.event, CS_EVENT_ROLLBACK);
	assert_int_equal(ch.version, 2);
	assert_int_equal(ch.previous, 3);
	assert_string_equal(ch.paths.cert, ts_file(cs, "mail", 2, "cert.pem"));
	assert_int_equal(certstore_current(cs, "mail", &cur, &err), 0);
	assert_int_equal(cur, 2);
	assert_int_equal(certstore_rollback(cs, "mail", TP_NOW, &ch, NULL, &err), 0);
	assert_int_equal(ch.version, 1);
	/* a renew after a rollback makes a version above all of them */
	assert_int_equal(ts_renew(cs, "mail", TP_NOW, false), 4);
}

static void
test_rollback_validates(void **state)
{
	struct certstore *cs = ts_store("rollback2", NULL);
	const char *dns[] = { "mail.example.com" };
	struct cs_issue_params p = { .name = "mail", .dns = dns, .n_dns = 1, .days = 5,
		.now = TP_NOW };
	struct cs_change ch;
	struct cs_error err = { "" };
	unsigned cur;

	assert_int_equal(certstore_issue(cs, &p, &ch, NULL, &err), 0);
	ts_renew(cs, "mail", TP_NOW + 4 * TP_DAY, false);
	/* version 1 has expired by now: it must not become current again */
	assert_int_equal(certstore_rollback(cs, "mail", TP_NOW + 6 * TP_DAY, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, "cannot roll back mail to version 1: mail@1: certificate "
	    "CN=mail.example.com expired 2030-01-06 00:00 UTC (1 day ago): renew it and install "
	    "the new certificate");
	assert_int_equal(certstore_current(cs, "mail", &cur, &err), 0);
	assert_int_equal(cur, 2);
}

static void
test_info(void **state)
{
	struct cs_ca_params cp = { .intermediate = true, .now = TP_NOW };
	struct certstore *cs = ts_store("info", &cp);
	struct cs_cert_info i;
	struct cs_error err = { "" };

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", "imap.example.com", NULL);
	assert_int_equal(certstore_info(cs, "mail", 0, TP_NOW, &i, &err), 0);
	assert_string_equal(i.name, "mail");
	assert_int_equal(i.version, 1);
	assert_true(i.current);
	assert_int_equal(i.n_versions, 1);
	assert_string_equal(i.subject, "CN=mail.example.com");
	assert_string_equal(i.issuer, "CN=certwrap Intermediate CA");
	assert_string_equal(i.subject_openssl, "CN = mail.example.com");
	assert_string_equal(i.issuer_openssl, "CN = certwrap Intermediate CA");
	assert_int_equal(i.not_before, TP_NOW - CS_BACKDATE_S);
	assert_int_equal(i.not_after, TP_NOW + 365 * TP_DAY);
	assert_int_equal(i.days_left, 365);
	assert_int_equal(i.n_sans, 2);
	assert_string_equal(i.sans[0], "DNS:mail.example.com");
	assert_string_equal(i.sans[1], "DNS:imap.example.com");
	assert_string_equal(i.key, "EC P-256");
	assert_int_equal(strlen(i.fingerprint), 32 * 3 - 1);
	assert_false(i.client);
	assert_int_equal(i.status, CS_STATUS_VALID);
	assert_string_equal(i.problem, "");
	assert_int_equal(i.n_chain, 1);
	assert_string_equal(i.chain[0].subject, "CN=certwrap Intermediate CA");
	assert_string_equal(i.chain[0].issuer, "CN=certwrap Root CA");
	cs_cert_info_clear(&i);
}

struct status_case {
	time_t now;                         /* relative to TP_NOW */
	enum cs_status status;
};

static void
test_statuses(void **state)
{
	struct certstore *cs = ts_store("status", NULL);
	struct cs_cert_info i;
	struct cs_error err = { "" };
	const char *index;
	time_t renew_at;

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	assert_int_equal(certstore_info(cs, "mail", 0, TP_NOW, &i, &err), 0);
	renew_at = i.renew_at;
	cs_cert_info_clear(&i);
	assert_int_equal(certstore_info(cs, "mail", 0, renew_at, &i, &err), 0);
	assert_int_equal(i.status, CS_STATUS_DUE);
	cs_cert_info_clear(&i);
	assert_int_equal(certstore_info(cs, "mail", 0, TP_NOW + 366 * TP_DAY, &i, &err), 0);
	assert_int_equal(i.status, CS_STATUS_EXPIRED);
	assert_int_equal(i.days_left, -1);
	cs_cert_info_clear(&i);
	/* a key that does not match: invalid, and why */
	tp_write(tp_fmt("status/certs/mail/1/key.pem"), tp_pem_key(tp_key(TP_EC_P256, 3)));
	assert_int_equal(certstore_info(cs, "mail", 0, TP_NOW, &i, &err), 0);
	assert_int_equal(i.status, CS_STATUS_INVALID);
	assert_non_null(strstr(i.problem, "mail@1: the private key does not match"));
	assert_string_equal(i.subject, "CN=mail.example.com");     /* still described */
	cs_cert_info_clear(&i);
	/* revoked in the index, as openssl ca -revoke marks it */
	index = ts_read(tp_path("status/ca/index.txt"));
	tp_write("status/ca/index.txt", tp_replace(tp_replace(index, "V\t", "R\t"), "Z\t\t",
	    "Z\t300102000000Z,keyCompromise\t"));
	assert_int_equal(certstore_info(cs, "mail", 0, TP_NOW, &i, &err), 0);
	assert_int_equal(i.status, CS_STATUS_REVOKED);
	cs_cert_info_clear(&i);
	assert_string_equal(cs_status_name(CS_STATUS_DUE), "due");
}

static void
test_ca_info(void **state)
{
	struct certstore *cs = ts_store("cainfo", NULL);
	struct cs_cert_info i;
	struct cs_error err = { "" };

	assert_int_equal(certstore_ca_info(cs, CS_CA_ROOT, TP_NOW, &i, &err), 0);
	assert_string_equal(i.name, "root");
	assert_string_equal(i.subject, "CN=certwrap Root CA");
	assert_int_equal(i.status, CS_STATUS_VALID);
	cs_cert_info_clear(&i);
	assert_int_equal(certstore_ca_info(cs, CS_CA_SIGNING, TP_NOW + 4000L * TP_DAY, &i, &err),
	    0);
	assert_string_equal(i.name, "ca");
	assert_int_equal(i.status, CS_STATUS_EXPIRED);
	cs_cert_info_clear(&i);
}

/* What a writer killed mid-change leaves is removed by the next writer,
 * and is never seen by a reader. */
static void
test_sweep_after_a_crash(void **state)
{
	struct certstore *cs = ts_store("sweep", NULL);
	struct cs_error err = { "" };
	unsigned *v;
	size_t n;

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	assert_int_equal(mkdir(tp_path("sweep/certs/mail/.tmp-v2-abcdef"), 0755), 0);
	tp_write("sweep/certs/mail/.tmp-v2-abcdef/key.pem", "half");
	tp_write("sweep/ca/.tmp-index.txt-0011", "half");
	tp_write("sweep/ca/newcerts/.tmp-01.pem-0011", "half");
	assert_int_equal(symlink("9", tp_path("sweep/certs/mail/.tmp-current-0011")), 0);
	assert_int_equal(certstore_versions(cs, "mail", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	free(v);
	ts_renew(cs, "mail", TP_NOW, false);
	assert_int_equal(access(tp_path("sweep/certs/mail/.tmp-v2-abcdef"), F_OK), -1);
	assert_int_equal(access(tp_path("sweep/ca/.tmp-index.txt-0011"), F_OK), -1);
	assert_int_equal(access(tp_path("sweep/ca/newcerts/.tmp-01.pem-0011"), F_OK), -1);
	assert_int_equal(access(tp_path("sweep/certs/mail/.tmp-current-0011"), F_OK), -1);
	assert_int_equal(access(tp_path("sweep/certs/mail/2/key.pem"), F_OK), 0);
}

/* A version renamed into place but never made current (a crash between
 * the two renames) is kept, and the next version goes above it. */
static void
test_version_without_current(void **state)
{
	struct certstore *cs = ts_store("orphan", NULL);
	struct cs_error err = { "" };
	unsigned cur;

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	ts_renew(cs, "mail", TP_NOW, false);
	/* undo the switch: current back at 1, version 2 complete but not current */
	assert_int_equal(unlink(tp_path("orphan/certs/mail/current")), 0);
	assert_int_equal(symlink("1", tp_path("orphan/certs/mail/current")), 0);
	assert_int_equal(ts_renew(cs, "mail", TP_NOW, false), 3);
	assert_int_equal(certstore_current(cs, "mail", &cur, &err), 0);
	assert_int_equal(cur, 3);
}

static void
test_damaged_current(void **state)
{
	struct certstore *cs = ts_store("damaged", NULL);
	struct cs_cert_info i;
	struct cs_error err = { "" };
	unsigned cur;

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	assert_int_equal(unlink(tp_path("damaged/certs/mail/current")), 0);
	assert_int_equal(symlink("../../ca", tp_path("damaged/certs/mail/current")), 0);
	assert_int_equal(certstore_current(cs, "mail", &cur, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/certs/mail/current: points to \"../../ca\", not a "
	    "version number: the store was changed by hand; point it at a version directory",
	    certstore_dir(cs)));
	assert_int_equal(unlink(tp_path("damaged/certs/mail/current")), 0);
	assert_int_equal(symlink("1", tp_path("damaged/certs/mail/current")), 0);
	/* a damaged certificate file is shown as invalid, not hidden */
	tp_write("damaged/certs/mail/1/fullchain.pem", "garbage\n");
	assert_int_equal(certstore_info(cs, "mail", 0, TP_NOW, &i, &err), 0);
	assert_int_equal(i.status, CS_STATUS_INVALID);
	assert_string_equal(i.problem, tp_fmt("%s/certs/mail/1/fullchain.pem: no certificate "
	    "found (expected a CERTIFICATE block; set cert = to the file that holds it)",
	    certstore_dir(cs)));
	cs_cert_info_clear(&i);
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
		cmocka_unit_test(test_names_versions_current),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_rollback_validates),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_ca_info),
		cmocka_unit_test(test_sweep_after_a_crash),
		cmocka_unit_test(test_version_without_current),
		cmocka_unit_test(test_damaged_current),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
