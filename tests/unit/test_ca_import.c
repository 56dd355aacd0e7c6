/* test_ca_import.c: certstore/ca_import.c: a store made from an openssl ca
 * directory (as seed 002 lays it out): what is copied and taken from its
 * openssl.cnf, the serials going on in sequence, and each refusal with
 * nothing made. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

#define CNF "dir = .\n[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndatabase = " \
	"$dir/index.txt\ndefault_days = 90\ndefault_crl_days = 10\ndefault_md = md5\npolicy = " \
	"policy_match\n[ policy_match ]\norganizationName = match\ncommonName = supplied\n" \
	"emailAddress = optional\n"

static X509 *root;
static EVP_PKEY *root_key;

/* An openssl ca directory in tp_path(dir): the CA, its key (passphrase
 * "demo"), serial 1F, one certificate issued (1E), its openssl.cnf. */
static const char *
source(const char *dir)
{
	struct tp_cert_spec leaf = tp_leaf_spec("old.example.com");
	X509 *old = tp_cert(&leaf, tp_key(TP_EC_P256, 5), root, root_key);

	mkdir(tp_path(dir), 0755);
	mkdir(tp_path(tp_fmt("%s/private", dir)), 0700);
	mkdir(tp_path(tp_fmt("%s/newcerts", dir)), 0755);
	tp_write(tp_fmt("%s/cacert.pem", dir), tp_pem_cert(root));
	tp_write(tp_fmt("%s/private/cakey.pem", dir), tp_pem_key_encrypted(root_key, "demo"));
	tp_write(tp_fmt("%s/serial", dir), "1F\n");
	tp_write(tp_fmt("%s/index.txt", dir), "V\t310101000000Z\t\t1E\tunknown\t"
	    "/O=Example/CN=old.example.com\n");
	tp_write(tp_fmt("%s/newcerts/1E.pem", dir), tp_pem_cert(old));
	tp_write(tp_fmt("%s/openssl.cnf", dir), CNF);
	return tp_path(dir);
}

static int
ca_import(const char *to, const char *from, const char *pass, struct cs_ca_import_result *r,
    struct cs_warnings *w, struct cs_error *err)
{
	struct cs_ca_import_params p = { .from = from, .passphrase = pass, .now = TP_NOW };

	return certstore_ca_import(tp_path(to), &p, r, w, err);
}

static void
test_import(void **state)
{
	const char *from = source("src");
	struct cs_ca_import_result r;
	struct cs_warnings w = { 0 };
	struct cs_error err = { "" };
	struct certstore *cs;
	struct cs_issue_params ip = { .name = "a", .dns = (const char *[]){ "a.example.com" },
		.n_dns = 1, .passphrase = "demo", .now = TP_NOW };
	struct cs_change ch;
	const char *conf;

	if (ca_import("imported", from, "demo", &r, &w, &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(r.subject, "CN=Test Root CA, O=Example");
	assert_string_equal(r.next_serial, "1F");
	assert_int_equal(r.n_issued, 1);
	assert_int_equal(r.n_policy, 3);
	assert_true(r.encrypted);
	assert_int_equal(w.count, 1);
	assert_string_equal(w.msg[0], tp_fmt("%s/openssl.cnf: default_md = md5 is not taken over: "
	    "the store signs with SHA-256", from));
	conf = ts_read(tp_path("imported/certstore.conf"));
	assert_non_null(strstr(conf, "days = 90\ncrl_days = 10\n"));
	assert_non_null(strstr(conf, "serials = sequential\n"));
	assert_non_null(strstr(conf, "[policy]\norganizationName = match\ncommonName = supplied\n"
	    "emailAddress = optional\n"));
	assert_string_equal(ts_read(tp_path("imported/ca/newcerts/1E.pem")),
	    ts_read(tp_fmt("%s/newcerts/1E.pem", from)));
	assert_string_equal(ts_read(tp_path("imported/ca/crlnumber")), "01\n");
	assert_int_equal(ts_mode(tp_path("imported/ca/private/cakey.pem")) & 0777, 0600);
	assert_non_null(strstr(ts_read(tp_path("imported/ca/private/cakey.pem")),
	    "ENCRYPTED PRIVATE KEY"));
	/* the serials go on: 1F, then 20 */
	cs = ts_open("imported");
	assert_true(certstore_ca_key_encrypted(cs));
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), 0);
	assert_string_equal(ch.serial, "1F");
	ip.name = "b";
	ip.dns = (const char *[]){ "b.example.com" };
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), 0);
	assert_string_equal(ch.serial, "20");
	assert_string_equal(ts_read(tp_path("imported/ca/serial")), "21\n");
	/* the policy's match: the CA's O in what it issues */
	{
		char subject[256];

		cs_name_oneline(X509_get_subject_name(ts_cert(ch.paths.cert)), subject,
		    sizeof(subject));
		assert_string_equal(subject, "CN=b.example.com, O=Example");
	}
	/* the source is untouched */
	assert_string_equal(ts_read(tp_fmt("%s/serial", from)), "1F\n");
}

static void
test_refusals(void **state)
{
	const char *from = source("src2");
	struct cs_ca_import_result r;
	struct cs_error err = { "" };
	struct tp_cert_spec old = tp_ca_spec("Old CA");
	X509 *weak;

	assert_int_equal(ca_import("r1", from, NULL, &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/private/cakey.pem: the CA key is encrypted: give "
	    "its passphrase (certwrapctl: --passphrase-file FILE or --passphrase-prompt)", from));
	assert_int_equal(ca_import("r1", from, "wrong", &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/private/cakey.pem: cannot decrypt the private "
	    "key: wrong passphrase, or the key is damaged", from));
	chmod(tp_fmt("%s/private/cakey.pem", from), 0644);
	assert_int_equal(ca_import("r1", from, "demo", &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/private/cakey.pem: the private key may be read by "
	    "every user (mode 0644): chmod 600 %s/private/cakey.pem", from, from));
	chmod(tp_fmt("%s/private/cakey.pem", from), 0600);
	tp_write("src2/serial", "twelve\n");
	assert_int_equal(ca_import("r1", from, "demo", &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/serial: \"twelve\" is not a number in hex, as "
	    "openssl writes it", from));
	tp_write("src2/serial", "1F\n");
	tp_write("src2/index.txt", "V\t310101000000Z\t\t1E\n");
	assert_int_equal(ca_import("r1", from, "demo", &r, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "/index.txt:1: expected 6 tab-separated fields"));
	tp_write("src2/index.txt", "");
	tp_write("src2/openssl.cnf", tp_replace(CNF, "commonName = supplied", "commonName = must"));
	assert_int_equal(ca_import("r1", from, "demo", &r, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "commonName: expected match, supplied or optional, got "
	    "\"must\""));
	tp_write("src2/openssl.cnf", CNF);
	/* not a root CA; too weak; expired */
	tp_write("src2/cacert.pem", tp_pem_cert(tp_cert(&(struct tp_cert_spec){ .cn = "leaf",
	    .not_before_days = -1, .not_after_days = 365 }, root_key, NULL, NULL)));
	assert_int_equal(ca_import("r1", from, "demo", &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/cacert.pem: CN=leaf is not a root CA (a "
	    "self-signed certificate with basicConstraints CA:TRUE): ca import takes over a "
	    "root's `openssl ca` directory", from));
	weak = tp_cert(&old, tp_key(TP_RSA1024, 0), NULL, NULL);
	tp_write("src2/cacert.pem", tp_pem_cert(weak));
	tp_write("src2/private/cakey.pem", tp_pem_key(tp_key(TP_RSA1024, 0)));
	assert_int_equal(ca_import("r1", from, NULL, &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/cacert.pem: the CA's RSA key has 1024 bits, too "
	    "weak (at least 2048; the old guides made 1024): clients refuse what it signs; make a "
	    "new CA with certwrapctl ca init", from));
	assert_int_equal(access(tp_path("r1/ca"), F_OK), -1);
	/* a store that has a CA already */
	tp_write("src2/cacert.pem", tp_pem_cert(root));
	tp_write("src2/private/cakey.pem", tp_pem_key(root_key));
	ts_store("r2", NULL);
	assert_int_equal(ca_import("r2", from, NULL, &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: already has a CA (%s/ca/cacert.pem): nothing was "
	    "changed; import into a new directory", tp_path("r2"), tp_path("r2")));
	assert_int_equal(ca_import("r3", from, NULL, &r, NULL, &err), 0);
	assert_false(r.encrypted);
	assert_int_equal(r.n_issued, 0);
}

static int
setup(void **state)
{
	struct tp_cert_spec s = tp_ca_spec("Test Root CA");

	root_key = tp_key(TP_RSA2048, 2);
	root = tp_cert(&s, root_key, NULL, NULL);
	return 0;
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
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
