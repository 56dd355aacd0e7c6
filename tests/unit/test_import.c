/* test_import.c: certstore/request.c and certstore/import.c: a key and
 * request for an outside CA, and its answer brought in (with its chain, a
 * root to trust, the request's key or another), the missing intermediate
 * refused by name, and what an imported version is afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

static struct tp_pki outside;       /* CN=Test Root CA -> CN=Test Intermediate CA */

static EVP_PKEY *
request_key(struct certstore *cs, const char *name)
{
	const char *path = tp_fmt("%s/certs/%s/request/key.pem", certstore_dir(cs), name);
	const char *pem = ts_read(path);
	struct cs_error err;
	EVP_PKEY *k = cs_pem_parse_key(pem, strlen(pem), path, NULL, &err);

	assert_non_null(k);
	return k;
}

/* The outside intermediate's answer for key (freed here): a leaf for dns. */
static const char *
answer(EVP_PKEY *key, const char *dns, long days)
{
	struct tp_cert_spec spec = tp_leaf_spec(dns);
	const char *pem;

	spec.not_after_days = days;
	pem = tp_pem_cert(tp_cert(&spec, key, outside.inter, outside.inter_key));
	EVP_PKEY_free(key);
	return pem;
}

static int
csr(struct certstore *cs, const char *name, const char *dns, const char *subject, bool replace,
    struct cs_request *r, struct cs_error *err)
{
	struct cs_csr_params p = { .name = name, .dns = (const char *[]){ dns }, .n_dns = 1,
		.subject = subject, .replace = replace, .now = TP_NOW };

	return certstore_csr(cs, &p, r, err);
}

static void
test_csr(void **state)
{
	struct certstore *cs = ts_store("csr", NULL);
	struct cs_request r, again;
	struct cs_error err = { "" };
	X509_REQ *req;
	BIO *b;
	char subject[256];
	const char *old_key;

	assert_int_equal(csr(cs, "ext", "Ext.Example.COM", NULL, false, &r, &err), 0);
	assert_string_equal(r.subject, "CN=ext.example.com");
	assert_string_equal(r.csr, tp_fmt("%s/certs/ext/request/csr.pem", certstore_dir(cs)));
	assert_string_equal(ts_read(r.csr), r.csr_pem);
	assert_int_equal(ts_mode(r.key) & 0777, 0600);
	b = BIO_new_mem_buf(r.csr_pem, (int)r.csr_len);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	cs_name_oneline(X509_REQ_get_subject_name(req), subject, sizeof(subject));
	assert_string_equal(subject, "CN=ext.example.com");
	X509_REQ_free(req);
	BIO_free(b);
	/* a request waits for its answer: no name yet */
	{
		char **names;

		assert_int_equal(certstore_names(cs, &names, &err), 0);
		assert_null(names[0]);
		cs_strv_free(names);
	}
	/* never replaced by accident */
	old_key = ts_read(r.key);
	assert_int_equal(csr(cs, "ext", "ext.example.com", NULL, false, &again, &err), -1);
	assert_non_null(strstr(err.msg, "ext: a request made 20"));
	assert_non_null(strstr(err.msg, tp_fmt("is waiting for its certificate (%s): import the "
	    "CA's answer with certwrapctl import ext --cert FILE, or make a new key and request "
	    "with --replace (the CA's answer to the old one will then fit no key)", r.csr)));
	assert_string_equal(ts_read(r.key), old_key);
	assert_int_equal(csr(cs, "ext", "ext.example.com", "/O=Example/CN=Ext Mail", true, &again,
	    &err), 0);
	assert_string_not_equal(ts_read(r.key), old_key);
	assert_string_equal(again.subject, "CN=Ext Mail, O=Example");
	cs_request_clear(&again);
	cs_request_clear(&r);
	/* refusals */
	assert_int_equal(csr(cs, "../x", "a.example", NULL, false, &r, &err), -1);
	assert_int_equal(csr(cs, "y", "a_b.example", NULL, false, &r, &err), -1);
	assert_string_equal(err.msg, "DNS name \"a_b.example\" is not valid: use letters, digits, "
	    "'-' and '.' only");
	assert_int_equal(csr(cs, "y", "a.example", "CN=x", false, &r, &err), -1);
	assert_int_equal(access(tp_fmt("%s/certs/y/request", certstore_dir(cs)), F_OK), -1);
}

static int
import(struct certstore *cs, const char *name, const char *cert, const char *chain,
    const char *key, const char *ca, time_t now, struct cs_change *ch, struct cs_error *err)
{
	struct cs_import_params p = { .name = name, .cert_pem = cert, .cert_len = strlen(cert),
		.cert_label = "cert.pem", .chain_pem = chain, .chain_len = chain ? strlen(chain) : 0,
		.chain_label = "chain.pem", .key_pem = key, .key_len = key ? strlen(key) : 0,
		.key_label = "key.pem", .ca_pem = ca, .ca_len = ca ? strlen(ca) : 0,
		.ca_label = "root.pem", .now = now };

	return certstore_import(cs, &p, ch, NULL, err);
}

static void
test_import_the_answer(void **state)
{
	struct certstore *cs = ts_store("imp", NULL);
	struct cs_request r;
	struct cs_change ch;
	struct cs_error err = { "" };
	struct cs_cert_info i;
	const char *cert, *inter = tp_pem_cert(outside.inter), *root = tp_pem_cert(outside.root);
	const char *key_pem;

	assert_int_equal(csr(cs, "ext", "ext.example.com", NULL, false, &r, &err), 0);
	key_pem = ts_read(r.key);
	cert = answer(request_key(cs, "ext"), "ext.example.com", 90);
	/* seed 003: the intermediate bundle missing, refused by name */
	assert_int_equal(import(cs, "ext", cert, NULL, NULL, NULL, TP_NOW, &ch, &err), -1);
	assert_string_equal(err.msg, "cert.pem: incomplete chain: the issuer of "
	    "CN=ext.example.com, O=Example (CN=Test Intermediate CA, O=Example) is neither in "
	    "cert.pem nor a trusted root: append that intermediate CA certificate to cert.pem "
	    "after the leaf (certwrapctl import: --chain FILE gives the intermediates, --ca-file "
	    "FILE a root to trust)");
	/* with the intermediate, the root is still nobody's */
	assert_int_equal(import(cs, "ext", cert, inter, NULL, NULL, TP_NOW, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "(CN=Test Root CA, O=Example) is neither in cert.pem nor "
	    "a trusted root"));
	assert_int_equal(access(tp_fmt("%s/certs/ext/1", certstore_dir(cs)), F_OK), -1);
	/* with the root to trust: version 1, the request's key */
	assert_int_equal(import(cs, "ext", cert, inter, NULL, root, TP_NOW, &ch, &err), 0);
	assert_int_equal(ch.event, CS_EVENT_IMPORT);
	assert_int_equal(ch.version, 1);
	assert_int_equal(ch.previous, 0);
	assert_string_equal(ts_read(ch.paths.key), key_pem);
	assert_string_equal(ts_read(ch.paths.chain), inter);
	assert_string_equal(ts_read(tp_fmt("%s/root.pem", ch.paths.dir)), root);
	assert_string_equal(ts_read(ch.paths.csr), r.csr_pem);
	assert_non_null(strstr(ts_read(ch.paths.meta), "\norigin import\n"));
	assert_non_null(strstr(ts_read(ch.paths.meta), "\ndns ext.example.com\n"));
	/* the request is answered */
	assert_int_equal(access(tp_fmt("%s/certs/ext/request", certstore_dir(cs)), F_OK), -1);
	cs_request_clear(&r);
	/* the version validates again later, with its own root */
	assert_int_equal(certstore_info(cs, "ext", 0, TP_NOW, &i, &err), 0);
	assert_int_equal(i.status, CS_STATUS_VALID);
	assert_string_equal(i.issuer, "CN=Test Intermediate CA, O=Example");
	cs_cert_info_clear(&i);
	assert_true(certstore_is_imported(cs, "ext"));
	{
		struct cs_renew_params rp = { .name = "ext", .now = TP_NOW };

		assert_int_equal(certstore_renew(cs, &rp, &ch, NULL, &err), -1);
		assert_string_equal(err.msg, "ext: version 1 came from an outside CA (certwrapctl "
		    "import): renew it there (certwrapctl csr ext makes the request), then import "
		    "the answer");
	}
	/* the next answer for the same key (no request waits): the current version's key */
	cert = answer(cs_pem_parse_key(key_pem, strlen(key_pem), "k", NULL, &err),
	    "ext.example.com", 200);
	assert_int_equal(import(cs, "ext", tp_cat(cert, inter, root, NULL), NULL, NULL, NULL,
	    TP_NOW, &ch, &err), 0);
	assert_int_equal(ch.version, 2);
	assert_int_equal(ch.previous, 1);
}

static void
test_import_refusals(void **state)
{
	struct certstore *cs = ts_store("imp-refused", NULL);
	struct cs_change ch;
	struct cs_error err = { "" };
	const char *inter = tp_pem_cert(outside.inter), *root = tp_pem_cert(outside.root);
	EVP_PKEY *other = tp_key(TP_EC_P256, 3);
	const char *cert;

	EVP_PKEY_up_ref(other);             /* answer frees it; testpki keeps its own */
	cert = answer(other, "x.example.com", 90);

	/* no key given, no request, no current version */
	assert_int_equal(import(cs, "x", cert, inter, NULL, root, TP_NOW, &ch, &err), -1);
	assert_string_equal(err.msg, "x: cert.pem fits neither the key of x's waiting request nor "
	    "that of its current version: give the key with --key FILE (the one the request was "
	    "made with)");
	/* a key that does not fit */
	assert_int_equal(import(cs, "x", cert, inter, tp_pem_key(tp_key(TP_EC_P256, 4)), root,
	    TP_NOW, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "does not match"));
	/* expired */
	assert_int_equal(import(cs, "x", cert, inter, tp_pem_key(other), root,
	    TP_NOW + 100 * TP_DAY, &ch, &err), -1);
	assert_non_null(strstr(err.msg, "expired"));
	/* garbage */
	assert_int_equal(import(cs, "x", "garbage\n", NULL, tp_pem_key(other), NULL, TP_NOW, &ch,
	    &err), -1);
	assert_string_equal(err.msg, "cert.pem: no certificate found (expected a CERTIFICATE "
	    "block; set cert = to the file that holds it)");
	assert_int_equal(access(tp_fmt("%s/certs/x", certstore_dir(cs)), F_OK), -1);
	/* with its key, it goes in */
	assert_int_equal(import(cs, "x", cert, inter, tp_pem_key(other), root, TP_NOW, &ch, &err),
	    0);
	assert_int_equal(ch.version, 1);
}

static int
setup(void **state)
{
	tp_pki(&outside);
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
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_import_the_answer),
		cmocka_unit_test(test_import_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
