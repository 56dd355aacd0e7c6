/* test_issue.c: certstore/issue.c: the profile of an issued certificate,
 * what issue records (index, newcerts/, serial, meta, files and modes),
 * every refusal with its message, renew (new key, reused key, the request
 * kept) and the renewal rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

static struct certstore *cs;        /* one store for the whole file, root CA, EC */

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return timegm(&tm);
}

static const char *
sans_of(X509 *x)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	const char *s;

	assert_non_null(g);
	for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
		if (i > 0)
			BIO_puts(b, ", ");
		GENERAL_NAME_print(b, sk_GENERAL_NAME_value(g, i));
	}
	n = BIO_get_mem_data(b, &data);
	s = tp_fmt("%.*s", (int)n, data);
	BIO_free(b);
	GENERAL_NAMES_free(g);
	return s;
}

static int
issue(const char *name, const char *const *dns, size_t n_dns, const char *const *ip,
    size_t n_ip, struct cs_change *ch, struct cs_error *err)
{
	struct cs_issue_params p = { .name = name, .dns = dns, .n_dns = n_dns, .ip = ip,
		.n_ip = n_ip, .now = TP_NOW };

	return certstore_issue(cs, &p, ch, NULL, err);
}

static void
test_profile(void **state)
{
	const char *dns[] = { "Mail.Example.COM", "imap.example.com", "mail.example.com" };
	const char *ip[] = { "192.0.2.1", "2001:DB8:0::1" };
	struct cs_change ch;
	struct cs_error err = { "" };
	X509 *x, *ca = ts_cert(tp_fmt("%s/ca/cacert.pem", certstore_dir(cs)));
	char subject[256];
	const ASN1_INTEGER *serial;

	assert_int_equal(issue("mail", dns, 3, ip, 2, &ch, &err), 0);
	x = ts_cert(ch.paths.cert);
	cs_name_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	assert_string_equal(subject, "CN=mail.example.com");
	/* lower case, duplicates dropped, IPv6 in its short form */
	assert_string_equal(sans_of(x), "DNS:mail.example.com, DNS:imap.example.com, "
	    "IP Address:192.0.2.1, IP Address:2001:DB8:0:0:0:0:0:1");
	assert_int_equal(X509_get_extension_flags(x) & EXFLAG_CA, 0);
	assert_int_equal(X509_get_ext_by_critical(x, 1, -1) >= 0, 1);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	    X509_get0_subject_key_id(ca)), 0);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(asn1_time(X509_get0_notBefore(x)), TP_NOW - CS_BACKDATE_S);
	assert_int_equal(asn1_time(X509_get0_notAfter(x)),
	    TP_NOW + (time_t)CS_DEFAULT_LEAF_DAYS * TP_DAY);
	/* a random serial: CS_SERIAL_BYTES, positive */
	serial = X509_get0_serialNumber(x);
	assert_int_equal(ASN1_STRING_length(serial), CS_SERIAL_BYTES);
	assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);
	assert_int_equal(strlen(ch.serial), 2 * CS_SERIAL_BYTES);
	assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
}

static void
test_what_issue_records(void **state)
{
	const char *dns[] = { "smtp.example.com" };
	struct cs_change ch;
	struct cs_error err = { "" };
	const char *dir = certstore_dir(cs);
	const char *index;
	char link[16];
	ssize_t n;

	assert_int_equal(issue("smtp", dns, 1, NULL, 0, &ch, &err), 0);
	assert_int_equal(ch.event, CS_EVENT_ISSUE);
	assert_string_equal(ch.name, "smtp");
	assert_int_equal(ch.version, 1);
	assert_int_equal(ch.previous, 0);
	assert_int_equal(ch.not_after, TP_NOW + (time_t)CS_DEFAULT_LEAF_DAYS * TP_DAY);
	assert_string_equal(ch.paths.key, tp_fmt("%s/certs/smtp/1/key.pem", dir));
	assert_string_equal(ch.paths.fullchain, tp_fmt("%s/certs/smtp/1/fullchain.pem", dir));
	/* the index line as openssl writes it, newcerts/, and serial = ours + 1 */
	index = ts_read(tp_fmt("%s/ca/index.txt", dir));
	assert_non_null(strstr(index, tp_fmt("V\t310101000000Z\t\t%s\tunknown\t/CN=smtp.example."
	    "com\n", ch.serial)));
	assert_string_equal(ts_read(tp_fmt("%s/ca/newcerts/%s.pem", dir, ch.serial)),
	    ts_read(ch.paths.cert));
	assert_int_equal(strlen(ts_read(tp_fmt("%s/ca/serial", dir))), 2 * CS_SERIAL_BYTES + 1);
	assert_string_not_equal(ts_read(tp_fmt("%s/ca/serial", dir)), tp_fmt("%s\n", ch.serial));
	/* the version's files and modes */
	assert_int_equal(ts_mode(ch.paths.key), 0600);
	assert_int_equal(ts_mode(ch.paths.cert), 0644);
	assert_int_equal(ts_mode(ch.paths.dir), 0755);
	assert_string_equal(ts_read(ch.paths.chain), "");          /* the root signs */
	assert_string_equal(ts_read(ch.paths.fullchain), ts_read(ch.paths.cert));
	assert_non_null(strstr(ts_read(ch.paths.csr), "-----BEGIN CERTIFICATE REQUEST-----"));
	assert_string_equal(ts_read(ch.paths.meta), tp_fmt("# certwrap version metadata: written "
	    "once, never changed\nformat 1\nname smtp\nversion 1\nserial %s\norigin issue\n"
	    "created 2030-01-01T00:00:00Z\nkey_type ec:P-256\ndays 365\nclient no\n"
	    "reused_key no\ndns smtp.example.com\n", ch.serial));
	n = readlink(tp_fmt("%s/certs/smtp/current", dir), link, sizeof(link) - 1);
	assert_int_equal(n, 1);
	link[n] = '\0';
	assert_string_equal(link, "1");
}

static void
test_rsa_client_and_ip_only(void **state)
{
	const char *ip[] = { "192.0.2.7" };
	struct cs_issue_params p = { .name = "relay", .ip = ip, .n_ip = 1, .client = true,
		.key_type = CS_KEY_RSA2048, .days = 10, .now = TP_NOW };
	struct cs_change ch;
	struct cs_error err = { "" };
	X509 *x;
	char subject[64];

	assert_int_equal(certstore_issue(cs, &p, &ch, NULL, &err), 0);
	x = ts_cert(ch.paths.cert);
	/* TLS 1.2's RSA key exchange needs keyEncipherment */
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	cs_name_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	assert_string_equal(subject, "CN=192.0.2.7");
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 2048);
	assert_int_equal(ch.not_after, TP_NOW + 10 * TP_DAY);
}

struct refusal {
	const char *name;
	const char *dns;                    /* one, or NULL */
	const char *ip;
	unsigned days;
	const char *msg;
};

static const struct refusal refusals[] = {
	{ "../etc", "a.example", NULL, 0, "\"../etc\" is not a valid certificate name: use "
	  "letters, digits, '.', '-' and '_' (at most 64, starting with a letter or digit)" },
	{ ".tmp-x", "a.example", NULL, 0, "\".tmp-x\" is not a valid certificate name: use "
	  "letters, digits, '.', '-' and '_' (at most 64, starting with a letter or digit)" },
	{ "-rf", "a.example", NULL, 0, "\"-rf\" is not a valid certificate name: use letters, "
	  "digits, '.', '-' and '_' (at most 64, starting with a letter or digit)" },
	{ "", "a.example", NULL, 0, "\"\" is not a valid certificate name: use letters, digits, "
	  "'.', '-' and '_' (at most 64, starting with a letter or digit)" },
	{ "x", NULL, NULL, 0, "x: give from 1 to 100 DNS names and IP addresses (it has 0)" },
	{ "x", "a..example", NULL, 0, "DNS name \"a..example\" is not valid: a label is empty "
	  "or ends with '-'" },
	{ "x", "-a.example", NULL, 0, "DNS name \"-a.example\" is not valid: a label starts "
	  "with '-'" },
	{ "x", "a_b.example", NULL, 0, "DNS name \"a_b.example\" is not valid: use letters, "
	  "digits, '-' and '.' only" },
	{ "x", "mail.*.example", NULL, 0, "DNS name \"mail.*.example\" is not valid: a wildcard "
	  "may only be the whole first label (*.example.com)" },
	{ "x", "192.0.2.1", NULL, 0, "DNS name \"192.0.2.1\" is not valid: an IP address: give "
	  "it with --ip" },
	{ "x", "a.example", "192.0.2.0/24", 0, "IP address \"192.0.2.0/24\" is not valid: write "
	  "an IPv4 address (192.0.2.1) or an IPv6 address (2001:db8::1), without a prefix length "
	  "or zone" },
	{ "x", "a.example", "fe80::1%eth0", 0, "IP address \"fe80::1%eth0\" is not valid: write "
	  "an IPv4 address (192.0.2.1) or an IPv6 address (2001:db8::1), without a prefix length "
	  "or zone" },
	{ "x", "a.example", NULL, CS_MAX_DAYS + 1, "x: a validity of 36501 days is not from 1 "
	  "to 36500" },
	{ "x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaa",
	  NULL, 0, "x: every DNS name is longer than the 64 characters a certificate's CN can "
	  "hold: add a shorter one" },
};

static void
test_refusals(void **state)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];
		struct cs_issue_params p = { .name = r->name, .dns = &r->dns, .n_dns = r->dns != NULL,
			.ip = &r->ip, .n_ip = r->ip != NULL, .days = r->days, .now = TP_NOW };
		struct cs_change ch;
		struct cs_error err = { "" };
		const char *index = ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs)));

		assert_int_equal(certstore_issue(cs, &p, &ch, NULL, &err), -1);
		assert_string_equal(err.msg, r->msg);
		/* nothing was written */
		assert_string_equal(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))), index);
		assert_int_equal(access(tp_fmt("%s/certs/x", certstore_dir(cs)), F_OK), -1);
	}
}

static void
test_existing_name_is_refused(void **state)
{
	const char *dns[] = { "dup.example.com" };
	struct cs_change ch;
	struct cs_error err = { "" };

	assert_int_equal(issue("dup", dns, 1, NULL, 0, &ch, &err), 0);
	assert_int_equal(issue("dup", dns, 1, NULL, 0, &ch, &err), -1);
	assert_string_equal(err.msg, "dup: already exists (version 1 is current): renew it with "
	    "certwrapctl renew dup, or choose another name");
}

static void
test_lifetime_cut_to_the_ca(void **state)
{
	struct cs_ca_params p = { .days = 100, .now = TP_NOW };
	struct certstore *shortca = ts_store("shortca", &p);
	const char *dns[] = { "a.example" };
	struct cs_issue_params ip = { .name = "a", .dns = dns, .n_dns = 1, .days = 365,
		.now = TP_NOW };
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err = { "" };

	assert_int_equal(certstore_issue(shortca, &ip, &ch, &w, &err), 0);
	assert_int_equal(ch.not_after, TP_NOW + 100 * TP_DAY);
	assert_int_equal(w.count, 1);
	assert_string_equal(w.msg[0], "a: valid until 2030-04-11 only, when the CA expires, not "
	    "365 days: make a new CA before then");
}

static void
test_renew(void **state)
{
	const char *dns[] = { "pop.example.com" };
	const char *ip[] = { "192.0.2.9" };
	struct cs_issue_params p = { .name = "pop", .dns = dns, .n_dns = 1, .ip = ip, .n_ip = 1,
		.days = 90, .client = true, .now = TP_NOW };
	struct cs_renew_params rp = { .name = "pop", .now = TP_NOW + 70 * TP_DAY };
	struct cs_change ch;
	struct cs_error err = { "" };
	X509 *v1, *v2;

	assert_int_equal(certstore_issue(cs, &p, &ch, NULL, &err), 0);
	assert_int_equal(certstore_renew(cs, &rp, &ch, NULL, &err), 0);
	assert_int_equal(ch.event, CS_EVENT_RENEW);
	assert_int_equal(ch.version, 2);
	assert_int_equal(ch.previous, 1);
	v1 = ts_cert(ts_file(cs, "pop", 1, "cert.pem"));
	v2 = ts_cert(ch.paths.cert);
	/* the same request: names, clientAuth, lifetime; a new key and serial */
	assert_string_equal(sans_of(v2), sans_of(v1));
	assert_int_equal(X509_get_extended_key_usage(v2), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_int_equal(ch.not_after, rp.now + 90 * TP_DAY);
	assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(v1), X509_get0_pubkey(v2)), 1);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(v1),
	    X509_get0_serialNumber(v2)), 0);
	assert_non_null(strstr(ts_read(ch.paths.meta), "\nprevious 1\n"));
	assert_non_null(strstr(ts_read(ch.paths.meta), "\norigin renew\n"));
	/* reuse the key (DANE/TLSA pins), and another lifetime */
	rp.reuse_key = true;
	rp.days = 30;
	assert_int_equal(certstore_renew(cs, &rp, &ch, NULL, &err), 0);
	assert_int_equal(ch.version, 3);
	assert_string_equal(ts_read(ch.paths.key), ts_read(ts_file(cs, "pop", 2, "key.pem")));
	assert_int_equal(ch.not_after, rp.now + 30 * TP_DAY);
	assert_non_null(strstr(ts_read(ch.paths.meta), "\nreused_key yes\n"));
	/* both versions stay, untouched */
	assert_int_equal(ts_mode(ts_file(cs, "pop", 1, "key.pem")), 0600);
}

static void
test_renew_key_types(void **state)
{
	struct cs_renew_params rp = { .name = "kt", .key_type = CS_KEY_ED25519, .now = TP_NOW };
	struct cs_change ch;
	struct cs_error err = { "" };

	ts_issue(cs, "kt", TP_NOW, "kt.example.com", NULL);
	assert_int_equal(certstore_renew(cs, &rp, &ch, NULL, &err), 0);
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(ts_cert(ch.paths.cert))),
	    EVP_PKEY_ED25519);
	assert_non_null(strstr(ts_read(ch.paths.meta), "\nkey_type ed25519\n"));
	rp.key_type = CS_KEY_EC_P384;
	rp.reuse_key = true;
	assert_int_equal(certstore_renew(cs, &rp, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, "kt: reusing the key keeps its type (ed25519), which is not "
	    "ec:P-384: renew without reusing the key to change it");
	rp.name = "nosuch";
	assert_int_equal(certstore_renew(cs, &rp, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("nosuch: no such certificate in %s (certwrapctl list "
	    "shows the names)", certstore_dir(cs)));
}

struct due_case {
	unsigned days;
	long before_s;
	time_t due_at;                      /* relative to TP_NOW */
};

static const struct due_case due_cases[] = {
	/* a third of the lifetime (days + the backdating hour) left */
	{ 90, 0, 90 * TP_DAY - (90 * TP_DAY + CS_BACKDATE_S) / 3 },
	{ 365, 0, 365 * TP_DAY - (365 * TP_DAY + CS_BACKDATE_S) / 3 },
	/* half for short lifetimes: 10 days and an hour is not "10 days or less" */
	{ 9, 0, 9 * TP_DAY - (9 * TP_DAY + CS_BACKDATE_S) / 2 },
	{ 10, 0, 10 * TP_DAY - (10 * TP_DAY + CS_BACKDATE_S) / 3 },
	{ 365, 30 * TP_DAY, 335 * TP_DAY },
};

static void
test_renew_due(void **state)
{
	for (size_t i = 0; i < sizeof(due_cases) / sizeof(due_cases[0]); i++) {
		const char *name = tp_fmt("due%zu", i), *dns[] = { "due.example.com" };
		struct cs_issue_params p = { .name = name, .dns = dns, .n_dns = 1,
			.days = due_cases[i].days, .now = TP_NOW };
		struct cs_change ch;
		struct cs_error err = { "" };
		time_t at;
		bool due;

		assert_int_equal(certstore_issue(cs, &p, &ch, NULL, &err), 0);
		assert_int_equal(certstore_renew_due(cs, name, due_cases[i].before_s, TP_NOW, &due,
		    &at, &err), 0);
		assert_int_equal(at, TP_NOW + due_cases[i].due_at);
		assert_false(due);
		assert_int_equal(certstore_renew_due(cs, name, due_cases[i].before_s, at - 1, &due,
		    &at, &err), 0);
		assert_false(due);
		assert_int_equal(certstore_renew_due(cs, name, due_cases[i].before_s, at, &due, &at,
		    &err), 0);
		assert_true(due);
	}
}

/* A short-lived certificate: minutes, backdated by a tenth of its life,
 * renewed with the same lifetime, due at half of it. */
static void
test_short_lifetime(void **state)
{
	const char *dns[] = { "short.example.com" };
	struct cs_issue_params p = { .name = "short", .dns = dns, .n_dns = 1, .lifetime_s = 300,
		.now = TP_NOW };
	struct cs_renew_params rp = { .name = "short", .now = TP_NOW + 200 };
	struct cs_change ch;
	struct cs_error err = { "" };
	X509 *x;
	time_t at;
	bool due;

	assert_int_equal(certstore_issue(cs, &p, &ch, NULL, &err), 0);
	x = ts_cert(ch.paths.cert);
	assert_int_equal(asn1_time(X509_get0_notBefore(x)), TP_NOW - 30);
	assert_int_equal(asn1_time(X509_get0_notAfter(x)), TP_NOW + 300);
	assert_int_equal(certstore_renew_due(cs, "short", 0, TP_NOW, &due, &at, &err), 0);
	assert_int_equal(at, TP_NOW + 135);           /* half of 330 s left */
	assert_int_equal(certstore_renew(cs, &rp, &ch, NULL, &err), 0);
	x = ts_cert(ch.paths.cert);
	assert_int_equal(asn1_time(X509_get0_notAfter(x)), TP_NOW + 200 + 300);
	assert_true(strstr(ts_read(ch.paths.meta), "\nlifetime 300\n") != NULL);

	p.name = "tooshort";
	p.lifetime_s = 59;
	assert_int_equal(certstore_issue(cs, &p, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, "tooshort: a lifetime of 59 seconds is not from 60 seconds "
	    "to 36500 days");
}

static int
setup(void **state)
{
	cs = ts_store("issue", NULL);
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
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_what_issue_records),
		cmocka_unit_test(test_rsa_client_and_ip_only),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_existing_name_is_refused),
		cmocka_unit_test(test_lifetime_cut_to_the_ca),
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_renew_key_types),
		cmocka_unit_test(test_renew_due),
		cmocka_unit_test(test_short_lifetime),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
