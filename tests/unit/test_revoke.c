/* test_revoke.c: certstore/revoke.c: revocation as openssl ca writes it in
 * the index, the CRL (entries, reasons, number, dates, signature), when a
 * CRL is due, and every refusal, with nothing written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

static X509_CRL *
read_crl(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	X509_CRL *crl;

	assert_non_null(b);
	crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(crl);
	return crl;
}

static const char *
serial_of(struct certstore *cs, const char *name)
{
	struct cs_cert_info i;
	struct cs_error err;
	const char *s;

	assert_int_equal(certstore_info(cs, name, 0, TP_NOW, &i, &err), 0);
	s = tp_fmt("%s", i.serial);
	cs_cert_info_clear(&i);
	return s;
}

static void
test_revoke_and_crl(void **state)
{
	struct certstore *cs = ts_store("rv", NULL);
	struct cs_revoke_params p = { .name = "a", .reason = "keyCompromise",
		.now = TP_NOW + TP_DAY };
	struct cs_revocation r;
	struct cs_crl_info crl;
	struct cs_error err = { "" };
	X509_CRL *x;
	X509 *ca = ts_cert(tp_fmt("%s/ca/cacert.pem", certstore_dir(cs)));
	X509_REVOKED *rev;
	ASN1_ENUMERATED *reason;
	const char *a, *b;

	ts_issue(cs, "a", TP_NOW, "a.example.com", NULL);
	ts_issue(cs, "b", TP_NOW, "b.example.com", NULL);
	a = serial_of(cs, "a");
	b = serial_of(cs, "b");
	assert_int_equal(certstore_revoke(cs, &p, &r, &crl, &err), 0);
	assert_string_equal(r.serial, a);
	assert_string_equal(r.subject, "/CN=a.example.com");
	assert_string_equal(r.reason, "keyCompromise");
	/* the index line as openssl ca -revoke writes it */
	assert_non_null(strstr(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))),
	    tp_fmt("R\t310101000000Z\t300102000000Z,keyCompromise\t%s\tunknown\t/CN=a.example.com\n",
	    a)));
	assert_true(crl.exists);
	assert_string_equal(crl.number, "01");
	assert_int_equal(crl.n_revoked, 1);
	assert_int_equal(crl.last_update, TP_NOW + TP_DAY);
	assert_int_equal(crl.next_update, TP_NOW + 31 * TP_DAY);
	assert_int_equal(crl.due_at, TP_NOW + 21 * TP_DAY);
	assert_false(crl.due);
	assert_false(crl.stale);
	assert_string_equal(ts_read(tp_fmt("%s/ca/crlnumber", certstore_dir(cs))), "02\n");

	x = read_crl(crl.path);
	assert_int_equal(X509_CRL_verify(x, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(x), X509_get_subject_name(ca)), 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(x)), 1);
	rev = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(x), 0);
	reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
	ASN1_ENUMERATED_free(reason);
	{
		AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(x, NID_authority_key_identifier, NULL,
		    NULL);

		assert_non_null(aki);
		AUTHORITY_KEYID_free(aki);
	}
	X509_CRL_free(x);

	/* revoked is what list says */
	{
		struct cs_cert_info i;

		assert_int_equal(certstore_info(cs, "a", 0, TP_NOW + TP_DAY, &i, &err), 0);
		assert_int_equal(i.status, CS_STATUS_REVOKED);
		cs_cert_info_clear(&i);
	}

	/* by serial, any case, no reason: the CRL is made again, number 02 */
	{
		char lower[CS_SERIAL_HEX_MAX + 1];

		snprintf(lower, sizeof(lower), "%s", b);
		for (char *s = lower; *s; s++)
			*s = (char)(*s >= 'A' && *s <= 'F' ? *s + 32 : *s);
		p = (struct cs_revoke_params){ .serial = tp_fmt("%s", lower),
			.now = TP_NOW + 2 * TP_DAY };
	}
	assert_int_equal(certstore_revoke(cs, &p, &r, &crl, &err), 0);
	assert_string_equal(r.reason, "");
	assert_string_equal(crl.number, "02");
	assert_int_equal(crl.n_revoked, 2);
	assert_non_null(strstr(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))),
	    tp_fmt("R\t310101000000Z\t300103000000Z\t%s\t", b)));
}

static void
test_refusals_write_nothing(void **state)
{
	struct certstore *cs = ts_store("rv-refused", NULL);
	const char *index, *a;
	struct cs_revoke_params p = { .name = "a", .now = TP_NOW };
	struct cs_revocation r;
	struct cs_error err = { "" };

	ts_issue(cs, "a", TP_NOW, "a.example.com", NULL);
	a = serial_of(cs, "a");
	index = ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs)));
	p.reason = "stolen";
	assert_int_equal(certstore_revoke(cs, &p, &r, NULL, &err), -1);
	assert_string_equal(err.msg, "revocation reason \"stolen\" is not one of unspecified, "
	    "keyCompromise, CACompromise, affiliationChanged, superseded, cessationOfOperation");
	p = (struct cs_revoke_params){ .serial = "ABCD", .now = TP_NOW };
	assert_int_equal(certstore_revoke(cs, &p, &r, NULL, &err), -1);
	assert_string_equal(err.msg, "serial ABCD is not in the index: this store's CA did not "
	    "issue it (certwrapctl list shows the serials of the names)");
	p.serial = "xyz";
	assert_int_equal(certstore_revoke(cs, &p, &r, NULL, &err), -1);
	assert_string_equal(err.msg, "\"xyz\" is not a serial number (hex, as openssl prints it)");
	p = (struct cs_revoke_params){ .name = "nosuch", .now = TP_NOW };
	assert_int_equal(certstore_revoke(cs, &p, &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("nosuch: no such certificate in %s (certwrapctl list "
	    "shows the names)", certstore_dir(cs)));
	assert_string_equal(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))), index);
	assert_int_equal(access(tp_fmt("%s/ca/crl.pem", certstore_dir(cs)), F_OK), -1);

	p = (struct cs_revoke_params){ .name = "a", .now = TP_NOW };
	assert_int_equal(certstore_revoke(cs, &p, &r, NULL, &err), 0);
	index = ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs)));
	assert_int_equal(certstore_revoke(cs, &p, &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("serial %s (/CN=a.example.com) is already revoked "
	    "(300101000000Z)", a));
	assert_string_equal(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))), index);
}

static void
test_wrong_passphrase_changes_nothing(void **state)
{
	struct cs_ca_params ca = { .passphrase = "right", .now = TP_NOW };
	struct certstore *cs = ts_store("rv-pass", &ca);
	struct cs_issue_params ip = { .name = "a", .dns = (const char *[]){ "a.example" },
		.n_dns = 1, .passphrase = "right", .now = TP_NOW };
	struct cs_revoke_params p = { .name = "a", .passphrase = "wrong", .now = TP_NOW };
	struct cs_revocation r;
	struct cs_change ch;
	struct cs_crl_info crl;
	struct cs_error err = { "" };
	const char *index;

	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), 0);
	index = ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs)));
	assert_int_equal(certstore_revoke(cs, &p, &r, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/ca/private/cakey.pem: cannot decrypt the private "
	    "key: wrong passphrase, or the key is damaged", certstore_dir(cs)));
	assert_string_equal(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))), index);
	assert_int_equal(certstore_crl(cs, NULL, TP_NOW, &crl, &err), -1);
	assert_int_equal(access(tp_fmt("%s/ca/crl.pem", certstore_dir(cs)), F_OK), -1);
	if (certstore_crl(cs, "right", TP_NOW, &crl, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(crl.n_revoked, 0);
}

static void
test_when_a_crl_is_due(void **state)
{
	struct certstore *cs = ts_store("rv-due", NULL);
	struct cs_crl_info c;
	struct cs_error err = { "" };
	const char *path = tp_fmt("%s/ca/index.txt", certstore_dir(cs)), *a;

	/* none made and nothing revoked: nothing due */
	assert_int_equal(certstore_crl_info(cs, TP_NOW, &c, &err), 0);
	assert_false(c.exists);
	assert_false(c.due);
	assert_int_equal(certstore_crl(cs, NULL, TP_NOW, &c, &err), 0);
	assert_string_equal(c.number, "01");
	/* two thirds of 30 days */
	assert_int_equal(certstore_crl_info(cs, TP_NOW + 19 * TP_DAY, &c, &err), 0);
	assert_false(c.due);
	assert_int_equal(certstore_crl_info(cs, TP_NOW + 20 * TP_DAY, &c, &err), 0);
	assert_true(c.due);
	assert_false(c.stale);
	/* a revocation by openssl ca -revoke, behind the store's back: stale */
	ts_issue(cs, "a", TP_NOW, "a.example.com", NULL);
	a = serial_of(cs, "a");
	tp_write("rv-due/ca/index.txt", tp_replace(ts_read(path), "V\t310101000000Z\t\t",
	    "R\t310101000000Z\t300101000000Z,superseded\t"));
	assert_int_equal(certstore_crl_info(cs, TP_NOW, &c, &err), 0);
	assert_true(c.stale);
	assert_true(c.due);
	assert_int_equal(c.n_index_revoked, 1);
	assert_int_equal(certstore_crl(cs, NULL, TP_NOW, &c, &err), 0);
	assert_false(c.stale);
	assert_int_equal(c.n_revoked, 1);
	assert_string_equal(c.number, "02");
	(void)a;
	/* a damaged CRL is an error for info, and is made again */
	tp_write("rv-due/ca/crl.pem", "garbage\n");
	assert_int_equal(certstore_crl_info(cs, TP_NOW, &c, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/ca/crl.pem: not a CRL in PEM (no start line): make "
	    "it again with certwrapctl crl", certstore_dir(cs)));
	assert_int_equal(certstore_crl(cs, NULL, TP_NOW, &c, &err), 0);
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
		cmocka_unit_test(test_revoke_and_crl),
		cmocka_unit_test(test_refusals_write_nothing),
		cmocka_unit_test(test_wrong_passphrase_changes_nothing),
		cmocka_unit_test(test_when_a_crl_is_due),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
