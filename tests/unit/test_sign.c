/* test_sign.c: certstore/sign.c: signing a CSR as openssl ca -infiles does,
 * under certstore.conf's policy_match, with issue's profile, recorded in
 * the index; and each refusal (policy, signature, digest, key, names). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

static struct certstore *cs;        /* CA /C=US/O=Example/CN=Example Root CA, a policy */

/* A CSR: subject "C=US,O=Example,CN=x" style pairs, optional SAN, digest. */
static const char *
make_csr(EVP_PKEY *key, const char *subject, const char *san, const EVP_MD *md)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	char buf[512], *tok, *save = NULL;
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	const char *pem;

	snprintf(buf, sizeof(buf), "%s", subject);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		assert_int_equal(X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8,
		    (const unsigned char *)eq + 1, -1, -1, 0), 1);
	}
	assert_int_equal(X509_REQ_set_subject_name(req, n), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	if (san != NULL) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);

		assert_non_null(e);
		sk_X509_EXTENSION_push(exts, e);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
	}
	assert_true(X509_REQ_sign(req, key, md) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &data);
	pem = tp_fmt("%.*s", (int)len, data);
	BIO_free(b);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return pem;
}

static int
sign(const char *pem, struct cs_signed *out, struct cs_warnings *w, struct cs_error *err)
{
	struct cs_sign_params p = { .csr_pem = pem, .csr_len = strlen(pem), .csr_label = "req.pem",
		.now = TP_NOW };

	return certstore_sign(cs, &p, out, w, err);
}

static X509 *
parse(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static void
test_sign(void **state)
{
	const char *pem = make_csr(tp_key(TP_EC_P256, 1), "C=US,O=Example,L=Metropolis,"
	    "OU=Mail,CN=www.example.org", "DNS:www.example.org,IP:192.0.2.5,email:a@b.example",
	    EVP_sha256());
	struct cs_signed out;
	struct cs_warnings w = { 0 };
	struct cs_error err = { "" };
	X509 *x, *ca = ts_cert(tp_fmt("%s/ca/cacert.pem", certstore_dir(cs)));
	char subject[256];
	GENERAL_NAMES *sans;

	assert_int_equal(sign(pem, &out, &w, &err), 0);
	x = parse(out.cert_pem);
	/* the policy's fields, in the policy's order; L dropped (not in it) */
	cs_name_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	assert_string_equal(subject, "CN=www.example.org, OU=Mail, O=Example, C=US");
	assert_string_equal(out.subject, subject);
	assert_int_equal(w.count, 2);
	assert_string_equal(w.msg[0], "req.pem: subject fields that certstore.conf [policy] does "
	    "not name were left out, as openssl ca does");
	assert_string_equal(w.msg[1], "req.pem: a subjectAltName that is neither a DNS name nor "
	    "an IP address was left out");
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(sans), 2);
	GENERAL_NAMES_free(sans);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
	assert_true((X509_get_extension_flags(x) & EXFLAG_CA) == 0);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	/* recorded as every certificate the store issues */
	assert_string_equal(ts_read(out.newcert), out.cert_pem);
	assert_non_null(strstr(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))),
	    tp_fmt("\t%s\tunknown\t/C=US/O=Example/OU=Mail/CN=www.example.org\n", out.serial)));
	assert_int_equal(out.not_after, TP_NOW + 365 * TP_DAY);
	assert_string_equal(out.chain_pem, "");
	X509_free(x);
	cs_signed_clear(&out);

	/* no SAN: the CN, when it is a host name */
	pem = make_csr(tp_key(TP_RSA2048, 0), "C=US,O=Example,CN=mail.example.org", NULL,
	    EVP_sha256());
	assert_int_equal(sign(pem, &out, NULL, &err), 0);
	x = parse(out.cert_pem);
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(sans), 1);
	GENERAL_NAMES_free(sans);
	X509_free(x);
	cs_signed_clear(&out);
}

static void
test_refusals(void **state)
{
	static const struct {
		const char *subject, *san;
		int key;                    /* 0: EC, 1: RSA 1024, 2: RSA 2048 with MD5 */
		const char *msg;
	} cases[] = {
		{ "C=FR,O=Example,CN=a.example.org", NULL, 0, "req.pem: countryName is \"FR\" in the "
		  "request but \"US\" in the CA certificate, and certstore.conf [policy] says match: "
		  "make the request again with the CA's value" },
		{ "O=Example,CN=a.example.org", NULL, 0, "req.pem: countryName is missing in the "
		  "request but \"US\" in the CA certificate, and certstore.conf [policy] says match: "
		  "make the request again with the CA's value" },
		{ "C=US,O=Example", "DNS:a.example.org", 0, "req.pem: the request has no commonName, "
		  "which certstore.conf [policy] says must be supplied" },
		{ "C=US,O=Example,CN=John Smith", NULL, 0, "req.pem: the request has no "
		  "subjectAltName and its CN \"John Smith\" is not a host name: a server "
		  "certificate needs one" },
		{ "C=US,O=Example,CN=a.example.org", "DNS:a_b.example.org", 0, "DNS name "
		  "\"a_b.example.org\" is not valid: use letters, digits, '-' and '.' only" },
		{ "C=US,O=Example,CN=a.example.org", NULL, 1, "req.pem: the request's key (RSA 1024 "
		  "bits) is too weak (at least 2048 bits for RSA): make a new key (RSA 2048 bits or "
		  "more, or EC P-256) and a new request" },
		{ "C=US,O=Example,CN=a.example.org", NULL, 2, "req.pem: the request is signed with "
		  "MD5 (md5WithRSAEncryption), which is refused: make it again with SHA-256 (openssl "
		  "req -new -sha256, or default_md = sha256 in openssl.cnf)" },
	};
	const char *index = ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs)));
	struct cs_signed out;
	struct cs_error err = { "" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *key = cases[i].key == 0 ? tp_key(TP_EC_P256, 2) : cases[i].key == 1 ?
		    tp_key(TP_RSA1024, 0) : tp_key(TP_RSA2048, 0);
		const char *pem = make_csr(key, cases[i].subject, cases[i].san, cases[i].key == 2 ?
		    EVP_md5() : EVP_sha256());

		if (sign(pem, &out, NULL, &err) != -1)
			fail_msg("case %zu (%s) was signed", i, cases[i].msg);
		assert_string_equal(err.msg, cases[i].msg);
	}
	/* a request changed after it was signed: a byte of its signature */
	{
		const char *pem = make_csr(tp_key(TP_EC_P256, 2), "C=US,O=Example,CN=a.example.org",
		    NULL, EVP_sha256());
		BIO *b = BIO_new_mem_buf(pem, -1);
		X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
		BIO *o = BIO_new(BIO_s_mem());
		unsigned char *der = NULL;
		int n = i2d_X509_REQ(req, &der);
		char *data;
		long len;

		der[n - 1] ^= 0x01;
		PEM_write_bio(o, "CERTIFICATE REQUEST", "", der, n);
		len = BIO_get_mem_data(o, &data);
		pem = tp_fmt("%.*s", (int)len, data);
		assert_int_equal(sign(pem, &out, NULL, &err), -1);
		assert_string_equal(err.msg, "req.pem: the request's signature does not verify: it "
		    "was changed after it was made, or is damaged; make it again");
		OPENSSL_free(der);
		X509_REQ_free(req);
		BIO_free(b);
		BIO_free(o);
	}
	assert_int_equal(sign("garbage\n", &out, NULL, &err), -1);
	assert_string_equal(err.msg, "req.pem: no certificate request found (expected a "
	    "CERTIFICATE REQUEST block, as openssl req -new makes)");
	assert_int_equal(sign(tp_pem_cert(ts_cert(tp_fmt("%s/ca/cacert.pem", certstore_dir(cs)))),
	    &out, NULL, &err), -1);
	assert_string_equal(err.msg, "req.pem: a certificate, not a certificate request (CSR)");
	/* nothing was recorded */
	assert_string_equal(ts_read(tp_fmt("%s/ca/index.txt", certstore_dir(cs))), index);
}

static int
setup(void **state)
{
	struct cs_ca_params p = { .subject = "/C=US/O=Example/CN=Example Root CA", .now = TP_NOW };

	cs = ts_store("sign", &p);
	tp_write("sign/certstore.conf", "[policy]\ncountryName = match\norganizationName = "
	    "match\norganizationalUnitName = optional\ncommonName = supplied\n");
	cs = ts_open("sign");
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
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
