/* test_keycert.c: certstore/validate.c's accessors for a validated
 * certificate: serial, SANs, and which host names it covers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/x509.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"

/* A leaf for SANs signed by the test root, validated with the root as anchor. */
static struct cs_keycert *
leaf_with(const char *san)
{
	struct tp_pki p;
	struct tp_cert_spec spec;
	struct cs_error err;
	struct cs_trust trust = { .use_system = false };
	STACK_OF(X509) *certs = sk_X509_new_null();
	struct cs_keycert *kc;
	X509 *leaf;

	tp_pki(&p);
	spec = tp_leaf_spec("mail.example.com");
	spec.san = san;
	leaf = tp_cert(&spec, p.leaf_key, p.inter, p.inter_key);
	sk_X509_push(certs, leaf);
	sk_X509_push(certs, p.inter);
	sk_X509_push(certs, p.root);
	kc = cs_keycert_validate(certs, "t.pem", p.leaf_key, "t.key", &trust, TP_NOW, NULL, &err);
	if (kc == NULL)
		fail_msg("validate: %s", err.msg);
	sk_X509_free(certs);
	return kc;
}

static void
test_serial_and_sans_read_as_openssl_prints_them(void **state)
{
	struct cs_keycert *kc = leaf_with("DNS:mail.example.com, DNS:*.example.org, IP:192.0.2.25");
	char serial[64], sans[256], tiny[8];
	ASN1_INTEGER *want = X509_get_serialNumber(cs_keycert_leaf(kc));

	assert_int_equal(cs_keycert_serial(kc, serial, sizeof(serial)), 0);
	assert_true(strlen(serial) > 0);
	{
		BIGNUM *a = NULL, *b = ASN1_INTEGER_to_BN(want, NULL);

		assert_true(BN_hex2bn(&a, serial) > 0);
		assert_int_equal(BN_cmp(a, b), 0);
		BN_free(a);
		BN_free(b);
	}
	assert_int_equal(cs_keycert_sans(kc, sans, sizeof(sans)), 0);
	assert_string_equal(sans, "DNS:mail.example.com, DNS:*.example.org, IP:192.0.2.25");
	assert_int_equal(cs_keycert_sans(kc, tiny, sizeof(tiny)), -1);
	cs_keycert_free(kc);
}

struct cover_case {
	const char *host;
	bool covered;
};

static const struct cover_case cover_cases[] = {
	{ "mail.example.com", true },
	{ "MAIL.EXAMPLE.COM", true },
	{ "imap.example.com", false },
	{ "imap.example.org", true },          /* by the wildcard SAN */
	{ "a.b.example.org", false },          /* a wildcard covers one label */
	{ "example.org", false },
	{ "*.example.org", true },             /* the same wildcard */
	{ "*.example.com", false },
	{ "192.0.2.25", true },
	{ "192.0.2.26", false },
	{ "2001:db8::1", false },
};

static void
test_covers_like_a_client_checks(void **state)
{
	struct cs_keycert *kc = leaf_with("DNS:mail.example.com, DNS:*.example.org, IP:192.0.2.25");

	for (size_t i = 0; i < sizeof(cover_cases) / sizeof(cover_cases[0]); i++)
		if (cs_keycert_covers(kc, cover_cases[i].host) != cover_cases[i].covered)
			fail_msg("%s: covered should be %d", cover_cases[i].host, cover_cases[i].covered);
	cs_keycert_free(kc);
}

static int
teardown(void **state)
{
	tp_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_and_sans_read_as_openssl_prints_them),
		cmocka_unit_test(test_covers_like_a_client_checks),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
