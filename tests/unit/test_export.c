/* test_export.c: certstore/export.c: the files each daemon and format gets
 * (names, order, modes), qmail's refusal of non-RSA keys, PKCS#12, the
 * hashed CA directory, and that only a valid version is exported. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/pkcs12.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

static struct certstore *cs;        /* an intermediate signs; "mail" (EC), "rsa" (RSA) */

static void
export(const char *name, enum cs_export_format f, const char *pass, struct cs_export *e)
{
	struct cs_error err = { "" };

	if (certstore_export(cs, name, 0, f, pass, TP_NOW, e, &err) == -1)
		fail_msg("%s", err.msg);
}

/* The version's own files, concatenated. */
static const char *
files(const char *name, const char *a, const char *b, const char *c)
{
	return tp_cat(ts_read(ts_file(cs, name, 1, a)), b ? ts_read(ts_file(cs, name, 1, b)) : "",
	    c ? ts_read(ts_file(cs, name, 1, c)) : "", NULL);
}

static void
assert_file(const struct cs_export *e, size_t i, const char *name, unsigned mode,
    const char *data)
{
	assert_true(i < e->n);
	assert_string_equal(e->files[i].name, name);
	assert_int_equal(e->files[i].mode, mode);
	assert_int_equal(e->files[i].len, strlen(data));
	assert_memory_equal(e->files[i].data, data, e->files[i].len);
}

static void
test_daemons(void **state)
{
	struct cs_export e;
	const char *root = ts_read(tp_fmt("%s/ca/root.pem", certstore_dir(cs)));
	X509 *rx = ts_cert(tp_fmt("%s/ca/root.pem", certstore_dir(cs)));

	export("mail", CS_EXPORT_POSTFIX, NULL, &e);
	assert_int_equal(e.n, 1);
	assert_file(&e, 0, "postfix.pem", 0600, files("mail", "key.pem", "cert.pem", "chain.pem"));
	assert_string_equal(e.hint, "main.cf: smtpd_tls_chain_files = DIR/postfix.pem");
	cs_export_clear(&e);
	export("mail", CS_EXPORT_DOVECOT, NULL, &e);
	assert_int_equal(e.n, 2);
	assert_file(&e, 0, "fullchain.pem", 0644, files("mail", "fullchain.pem", NULL, NULL));
	assert_file(&e, 1, "key.pem", 0600, files("mail", "key.pem", NULL, NULL));
	cs_export_clear(&e);
	export("mail", CS_EXPORT_COURIER, NULL, &e);
	assert_file(&e, 0, "courier.pem", 0600, files("mail", "key.pem", "cert.pem", "chain.pem"));
	cs_export_clear(&e);
	export("mail", CS_EXPORT_STUNNEL, NULL, &e);
	assert_file(&e, 0, "stunnel.pem", 0600, files("mail", "cert.pem", "chain.pem", "key.pem"));
	cs_export_clear(&e);
	export("rsa", CS_EXPORT_QMAIL, NULL, &e);
	assert_file(&e, 0, "servercert.pem", 0400, files("rsa", "key.pem", "cert.pem", "chain.pem"));
	cs_export_clear(&e);
	export("mail", CS_EXPORT_SENDMAIL, NULL, &e);
	assert_int_equal(e.n, 4);
	assert_file(&e, 0, "key.pem", 0600, files("mail", "key.pem", NULL, NULL));
	assert_file(&e, 1, "cert.pem", 0644, files("mail", "cert.pem", "chain.pem", NULL));
	assert_file(&e, 2, "ca.pem", 0644, root);
	assert_file(&e, 3, tp_fmt("cacerts/%08lx.0", X509_subject_name_hash(rx)), 0644, root);
	assert_true(e.files[3].hashed);
	assert_false(e.files[2].hashed);
	cs_export_clear(&e);
	export("mail", CS_EXPORT_SEPARATE, NULL, &e);
	assert_int_equal(e.n, 3);
	assert_file(&e, 2, "chain.pem", 0644, files("mail", "chain.pem", NULL, NULL));
	cs_export_clear(&e);
	export("mail", CS_EXPORT_COMBINED, NULL, &e);
	assert_file(&e, 0, "combined.pem", 0600, files("mail", "key.pem", "cert.pem", "chain.pem"));
	assert_int_equal(e.hint[0], '\0');
	cs_export_clear(&e);
}

static void
test_pkcs12(void **state)
{
	struct cs_export e;
	const unsigned char *p;
	PKCS12 *p12;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;

	export("mail", CS_EXPORT_PKCS12, "s3cret", &e);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.files[0].name, "mail.p12");
	assert_int_equal(e.files[0].mode, 0600);
	p = (const unsigned char *)e.files[0].data;
	p12 = d2i_PKCS12(NULL, &p, (long)e.files[0].len);
	assert_non_null(p12);
	assert_int_equal(PKCS12_verify_mac(p12, "wrong", -1), 0);
	assert_int_equal(PKCS12_parse(p12, "s3cret", &key, &cert, &ca), 1);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_int_equal(sk_X509_num(ca), 1);
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p12);
	cs_export_clear(&e);
}

static void
test_refusals(void **state)
{
	struct cs_export e;
	struct cs_error err = { "" };
	enum cs_export_format f;

	assert_int_equal(certstore_export(cs, "mail", 0, CS_EXPORT_QMAIL, NULL, TP_NOW, &e, &err),
	    -1);
	assert_string_equal(err.msg, "mail@1: qmail loads RSA keys only, and this key is EC "
	    "P-256: make an RSA one for qmail (certwrapctl renew mail --key-type rsa:2048, or "
	    "issue another name with it)");
	assert_int_equal(e.n, 0);
	assert_int_equal(certstore_export(cs, "mail", 0, CS_EXPORT_POSTFIX, NULL,
	    TP_NOW + 400 * TP_DAY, &e, &err), -1);
	assert_string_equal(err.msg, "cannot export mail: mail@1: certificate CN=mail.example.com "
	    "expired 2031-01-01 00:00 UTC (35 days ago): renew it and install the new "
	    "certificate");
	assert_int_equal(certstore_export(cs, "nosuch", 0, CS_EXPORT_POSTFIX, NULL, TP_NOW, &e,
	    &err), -1);
	assert_int_equal(cs_export_format_parse("postfix", &f, &err), 0);
	assert_int_equal(f, CS_EXPORT_POSTFIX);
	assert_string_equal(cs_export_format_name(CS_EXPORT_PKCS12), "pkcs12");
	assert_int_equal(cs_export_format_parse("Postfix", &f, &err), -1);
	assert_string_equal(err.msg, "\"Postfix\" is not a daemon or format certwrapctl exports "
	    "for: use postfix, dovecot, exim, courier, qmail, sendmail or stunnel, or separate, "
	    "fullchain, combined or pkcs12");
}

static void
test_ca(void **state)
{
	struct cs_export e;
	struct cs_error err = { "" };
	X509 *root = ts_cert(tp_fmt("%s/ca/root.pem", certstore_dir(cs)));
	X509 *inter = ts_cert(tp_fmt("%s/ca/chain.pem", certstore_dir(cs)));

	assert_int_equal(certstore_export_ca(cs, true, &e, &err), 0);
	assert_int_equal(e.n, 2);
	assert_file(&e, 0, tp_fmt("%08lx.0", X509_subject_name_hash(root)), 0644,
	    ts_read(tp_fmt("%s/ca/root.pem", certstore_dir(cs))));
	assert_file(&e, 1, tp_fmt("%08lx.0", X509_subject_name_hash(inter)), 0644,
	    ts_read(tp_fmt("%s/ca/chain.pem", certstore_dir(cs))));
	assert_true(e.files[0].hashed && e.files[1].hashed);
	cs_export_clear(&e);
	assert_int_equal(certstore_export_ca(cs, false, &e, &err), 0);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.files[0].name, "root.pem");
	assert_string_equal(e.files[1].name, "chain.pem");
	cs_export_clear(&e);
}

static int
setup(void **state)
{
	struct cs_ca_params p = { .intermediate = true, .now = TP_NOW };
	struct cs_issue_params ip = { .name = "rsa", .dns = (const char *[]){ "rsa.example.com" },
		.n_dns = 1, .key_type = CS_KEY_RSA2048, .now = TP_NOW };
	struct cs_change ch;
	struct cs_error err;

	cs = ts_store("export", &p);
	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	if (certstore_issue(cs, &ip, &ch, NULL, &err) == -1)
		fail_msg("%s", err.msg);
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
		cmocka_unit_test(test_daemons),
		cmocka_unit_test(test_pkcs12),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ca),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
