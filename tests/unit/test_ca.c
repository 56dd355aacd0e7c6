/* test_ca.c: certstore/ca_init.c and ca.c through the public API: the
 * layout ca init makes (what `openssl ca` expects), the CA certificates'
 * profile, refusals, an encrypted CA key, and the subject policy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

static const char *
store_file(struct certstore *cs, const char *file)
{
	return tp_fmt("%s/%s", certstore_dir(cs), file);
}

static time_t
not_after(X509 *x)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	return timegm(&tm);
}

static time_t
not_before(X509 *x)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	return timegm(&tm);
}

static const char *
subject(X509 *x)
{
	char buf[256];

	cs_name_oneline(X509_get_subject_name(x), buf, sizeof(buf));
	return tp_fmt("%s", buf);
}

static void
assert_ca_cert(X509 *x, long pathlen)
{
	uint32_t flags = X509_get_extension_flags(x);

	assert_true(flags & EXFLAG_CA);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(X509_get_pathlen(x), pathlen);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
}

static void
test_layout(void **state)
{
	struct certstore *cs = ts_store("layout", NULL);
	X509 *root;
	const char *serial;

	/* what openssl ca reads */
	assert_int_equal(ts_mode(store_file(cs, "ca/private")), 0700);
	assert_int_equal(ts_mode(store_file(cs, "ca/private/cakey.pem")), 0600);
	assert_int_equal(ts_mode(store_file(cs, "ca/cacert.pem")), 0644);
	assert_int_equal(ts_mode(store_file(cs, "ca/newcerts")), 0755);
	assert_string_equal(ts_read(store_file(cs, "ca/index.txt")), "");
	assert_string_equal(ts_read(store_file(cs, "ca/index.txt.attr")), "unique_subject = no\n");
	assert_string_equal(ts_read(store_file(cs, "ca/crlnumber")), "01\n");
	serial = ts_read(store_file(cs, "ca/serial"));
	assert_int_equal(strlen(serial), 2 * CS_SERIAL_BYTES + 1);
	assert_int_equal(strspn(serial, "0123456789ABCDEF"), 2 * CS_SERIAL_BYTES);
	/* root only: the root signs, and a leaf sends no chain */
	assert_string_equal(ts_read(store_file(cs, "ca/cacert.pem")),
	    ts_read(store_file(cs, "ca/root.pem")));
	assert_string_equal(ts_read(store_file(cs, "ca/chain.pem")), "");
	assert_int_equal(access(store_file(cs, "ca/private/rootkey.pem"), F_OK), -1);
	assert_int_equal(ts_mode(store_file(cs, "certs")), 0755);
	assert_int_equal(ts_mode(store_file(cs, ".lock")), 0600);
	/* the commented defaults, for the operator to edit */
	assert_non_null(strstr(ts_read(store_file(cs, "certstore.conf")), "key_type = ec:P-256\n"));
	root = ts_cert(store_file(cs, "ca/root.pem"));
	assert_string_equal(subject(root), "CN=certwrap Root CA");
	assert_int_equal(X509_check_issued(root, root), X509_V_OK);
	assert_ca_cert(root, -1);
	assert_int_equal(not_before(root), TP_NOW - CS_BACKDATE_S);
	assert_int_equal(not_after(root), TP_NOW + (time_t)CS_DEFAULT_CA_DAYS * TP_DAY);
	assert_false(certstore_ca_key_encrypted(cs));
}

static void
test_intermediate(void **state)
{
	struct cs_ca_params p = { .subject = "/O=Example/CN=Example Root CA", .intermediate = true,
		.days = 1000, .now = TP_NOW };
	struct certstore *cs = ts_store("inter", &p);
	X509 *root = ts_cert(store_file(cs, "ca/root.pem"));
	X509 *inter = ts_cert(store_file(cs, "ca/cacert.pem"));

	assert_string_equal(subject(root), "CN=Example Root CA, O=Example");
	/* "Root" becomes "Intermediate"; other fields are the root's */
	assert_string_equal(subject(inter), "CN=Example Intermediate CA, O=Example");
	assert_int_equal(X509_check_issued(root, inter), X509_V_OK);
	assert_ca_cert(inter, 0);
	assert_non_null(X509_get0_authority_key_id(inter));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(inter),
	    X509_get0_subject_key_id(root)), 0);
	assert_int_equal(not_after(root), TP_NOW + 1000L * TP_DAY);
	assert_int_equal(not_after(inter), TP_NOW + 500L * TP_DAY);
	/* what a leaf sends after itself */
	assert_string_equal(ts_read(store_file(cs, "ca/chain.pem")),
	    ts_read(store_file(cs, "ca/cacert.pem")));
	assert_int_equal(ts_mode(store_file(cs, "ca/private/rootkey.pem")), 0600);
}

static void
test_intermediate_names(void **state)
{
	struct cs_ca_params p = { .subject = "/CN=Mail CA", .intermediate = true, .now = TP_NOW };
	struct certstore *cs = ts_store("inter-names", &p);
	struct cs_ca_params q = { .subject = "/CN=A", .intermediate = true,
		.intermediate_subject = "/O=Example/CN=B", .now = TP_NOW };
	struct certstore *cs2 = ts_store("inter-names2", &q);

	assert_string_equal(subject(ts_cert(store_file(cs, "ca/cacert.pem"))),
	    "CN=Mail CA Intermediate CA");
	assert_string_equal(subject(ts_cert(store_file(cs2, "ca/cacert.pem"))), "CN=B, O=Example");
}

static void
test_key_types(void **state)
{
	struct cs_ca_params p = { .key_type = CS_KEY_EC_P384, .now = TP_NOW };
	struct cs_ca_params q = { .key_type = CS_KEY_ED25519, .now = TP_NOW };
	struct certstore *cs = ts_store("p384", &p), *ed = ts_store("ed", &q);

	/* P-384 signs with SHA-384, Ed25519 with itself */
	assert_int_equal(X509_get_signature_nid(ts_cert(store_file(cs, "ca/cacert.pem"))),
	    NID_ecdsa_with_SHA384);
	assert_int_equal(X509_get_signature_nid(ts_cert(store_file(ed, "ca/cacert.pem"))),
	    NID_ED25519);
	ts_issue(ed, "mail", TP_NOW, "mail.example.com", NULL);
	assert_int_equal(X509_get_signature_nid(ts_cert(ts_file(ed, "mail", 1, "cert.pem"))),
	    NID_ED25519);
}

struct refusal {
	struct cs_ca_params p;
	const char *msg;
};

static void
test_refusals(void **state)
{
	const struct refusal refusals[] = {
		{ { .subject = "CN=x", .now = TP_NOW }, "CA subject \"CN=x\": expected /TYPE=value/..., "
		  "as openssl req -subj, e.g. /O=Example/CN=Example Mail CA" },
		{ { .subject = "/CN", .now = TP_NOW }, "CA subject \"/CN\": \"CN\" is not TYPE=value: "
		  "write it as openssl req -subj does, e.g. /O=Example/CN=Example Mail CA" },
		{ { .subject = "/XX=y", .now = TP_NOW }, "CA subject \"/XX=y\": unknown attribute "
		  "type \"XX\" (use C, ST, L, O, OU, CN or emailAddress)" },
		{ { .subject = "/C=USA", .now = TP_NOW }, "CA subject \"/C=USA\": C=USA: string too "
		  "long" },
		{ { .days = CS_MAX_DAYS + 1, .now = TP_NOW }, "CA validity of 36501 days is more "
		  "than 36500" },
		{ { .passphrase = "", .now = TP_NOW }, "the CA key passphrase is empty: give one, or "
		  "none for an unencrypted key" },
		{ { .subject = "/CN=Same", .intermediate = true, .intermediate_subject = "/CN=Same",
		  .now = TP_NOW }, "the intermediate CA's subject is the root's: give them different "
		  "names" },
	};

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct cs_error err = { "" };
		const char *dir = tp_path(tp_fmt("refused%zu", i));

		assert_int_equal(certstore_ca_init(dir, &refusals[i].p, &err), -1);
		assert_string_equal(err.msg, refusals[i].msg);
		assert_int_equal(access(tp_fmt("%s/ca", dir), F_OK), -1);
	}
}

static void
test_init_twice_changes_nothing(void **state)
{
	struct certstore *cs = ts_store("twice", NULL);
	struct cs_ca_params p = { .now = TP_NOW };
	struct cs_error err = { "" };
	const char *before = ts_read(store_file(cs, "ca/cacert.pem"));

	assert_int_equal(certstore_ca_init(certstore_dir(cs), &p, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: already has a CA (%s/ca/cacert.pem): nothing was "
	    "changed; to start over, move the directory away first", certstore_dir(cs),
	    certstore_dir(cs)));
	assert_string_equal(ts_read(store_file(cs, "ca/cacert.pem")), before);
}

static void
test_open_refusals(void **state)
{
	struct cs_error err = { "" };
	const char *empty = tp_path("empty-dir"), *bad = tp_path("badconf");
	struct cs_ca_params p = { .now = TP_NOW };

	assert_null(certstore_open(tp_path("nowhere"), &err));
	assert_string_equal(err.msg, tp_fmt("%s: no such directory: make a store there with "
	    "certwrapctl --store %s ca init", tp_path("nowhere"), tp_path("nowhere")));
	assert_int_equal(mkdir(empty, 0755), 0);
	assert_null(certstore_open(empty, &err));
	assert_string_equal(err.msg, tp_fmt("%s: not a certificate store (no ca/cacert.pem): make "
	    "one with certwrapctl --store %s ca init", empty, empty));
	assert_int_equal(certstore_ca_init(bad, &p, &err), 0);
	tp_write("badconf/certstore.conf", "[defaults]\ndays = never\n");
	assert_null(certstore_open(bad, &err));
	assert_string_equal(err.msg, tp_fmt("%s/certstore.conf:2: days: expected a number of days "
	    "from 1 to 36500, got \"never\"", bad));
}

static void
test_encrypted_ca_key(void **state)
{
	struct cs_ca_params p = { .passphrase = "correct horse", .now = TP_NOW };
	struct certstore *cs = ts_store("encrypted", &p);
	const char *dns[] = { "mail.example.com" };
	struct cs_issue_params ip = { .name = "mail", .dns = dns, .n_dns = 1, .now = TP_NOW };
	const char *key = store_file(cs, "ca/private/cakey.pem");
	struct cs_change ch;
	struct cs_error err = { "" };

	assert_true(certstore_ca_key_encrypted(cs));
	assert_non_null(strstr(ts_read(key), "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: the CA key is encrypted: give its passphrase "
	    "(certwrapctl: --passphrase-file FILE or --passphrase-prompt)", key));
	ip.passphrase = "wrong";
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: cannot decrypt the private key: wrong passphrase, "
	    "or the key is damaged", key));
	ip.passphrase = "correct horse";
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), 0);
	assert_int_equal(ch.version, 1);
}

static void
test_ca_key_mode_and_mismatch(void **state)
{
	struct certstore *cs = ts_store("camode", NULL);
	struct certstore *other = ts_store("camode-other", NULL);
	const char *dns[] = { "mail.example.com" };
	struct cs_issue_params ip = { .name = "mail", .dns = dns, .n_dns = 1, .now = TP_NOW };
	const char *key = store_file(cs, "ca/private/cakey.pem");
	struct cs_change ch;
	struct cs_error err = { "" };

	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: the private key may be read by its group (mode "
	    "0640): chmod 600 %s", key, key));
	assert_int_equal(chmod(key, 0600), 0);
	tp_write("camode/ca/private/cakey.pem", ts_read(store_file(other, "ca/private/cakey.pem")));
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: the CA key does not match the CA certificate "
	    "%s/ca/cacert.pem: restore the right key from a backup", key, certstore_dir(cs)));
}

static void
test_expired_ca_refuses_to_sign(void **state)
{
	struct cs_ca_params p = { .days = 10, .now = TP_NOW };
	struct certstore *cs = ts_store("shortca", &p);
	const char *dns[] = { "mail.example.com" };
	struct cs_issue_params ip = { .name = "mail", .dns = dns, .n_dns = 1,
		.now = TP_NOW + 11 * TP_DAY };
	struct cs_change ch;
	struct cs_error err = { "" };

	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/ca/cacert.pem: the CA certificate CN=certwrap "
	    "Root CA expired 2030-01-11 00:00 UTC: certificates it signs would not be trusted; make "
	    "a new CA (certwrapctl ca init in a new store)", certstore_dir(cs)));
}

static void
test_policy(void **state)
{
	struct cs_ca_params p = { .subject = "/C=FR/O=Example/CN=Example CA", .now = TP_NOW };
	struct certstore *cs = ts_store("policy", &p);
	const char *dns[] = { "mail.example.com" };
	struct cs_issue_params ip = { .name = "a", .dns = dns, .n_dns = 1, .now = TP_NOW };
	struct cs_change ch;
	struct cs_error err = { "" };

	/* match: the CA's value is copied, in the CA's order, CN last */
	tp_write("policy/certstore.conf", "[policy]\norganizationName = match\ncountryName = "
	    "match\n");
	cs = ts_open("policy");
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), 0);
	assert_string_equal(subject(ts_cert(ch.paths.cert)), "CN=mail.example.com, O=Example, C=FR");
	/* a supplied field issue cannot supply is refused, before any work */
	tp_write("policy/certstore.conf", "[policy]\nlocalityName = supplied\n");
	cs = ts_open("policy");
	ip.name = "b";
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/certstore.conf: [policy] localityName = supplied, "
	    "but certificates made by issue have only a commonName: set it to match or optional",
	    tp_path("policy")));
	tp_write("policy/certstore.conf", "[policy]\nlocalityName = match\n");
	cs = ts_open("policy");
	assert_int_equal(certstore_issue(cs, &ip, &ch, NULL, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s/certstore.conf: [policy] localityName = match, but "
	    "the CA's subject has no localityName: set it to optional", tp_path("policy")));
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
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_intermediate),
		cmocka_unit_test(test_intermediate_names),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_init_twice_changes_nothing),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_encrypted_ca_key),
		cmocka_unit_test(test_ca_key_mode_and_mismatch),
		cmocka_unit_test(test_expired_ca_refuses_to_sign),
		cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
