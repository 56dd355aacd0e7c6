/* test_ctlstore.c: ctl/ctlstore.c, the store verbs as requests and
 * responses: a request in, the response's fields out, the changes handed to
 * the caller for its hooks, and every malformed request refused with why. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "ctl/ctlstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

#define DAY 86400

struct run {
	struct ctl_msg req, resp;
	struct ctlstore_changes changes;
};

/* A request from "name", "value" pairs, NULL-terminated. */
static void
request(struct run *r, const char *verb, ...)
{
	va_list ap;
	const char *name;

	memset(r, 0, sizeof(*r));
	assert_int_equal(ctl_msg_add_str(&r->req, "verb", verb), 0);
	va_start(ap, verb);
	while ((name = va_arg(ap, const char *)) != NULL)
		assert_int_equal(ctl_msg_add_str(&r->req, name, va_arg(ap, const char *)), 0);
	va_end(ap);
}

static void
execute(struct run *r, struct certstore *cs, time_t now)
{
	struct ctlstore_env env = { .cs = cs, .now = now, .changes = &r->changes };

	ctlstore_execute(&env, &r->req, &r->resp);
	/* every response starts with status and message */
	assert_true(r->resp.n >= 2);
	assert_string_equal(r->resp.fields[0].name, "status");
	assert_string_equal(r->resp.fields[1].name, "message");
}

static void
run_free(struct run *r)
{
	ctl_msg_free(&r->req);
	ctl_msg_free(&r->resp);
	ctlstore_changes_free(&r->changes);
}

/* The value of the n-th (0-based) field called name, or NULL. */
static const char *
nth(const struct ctl_msg *m, const char *name, unsigned n)
{
	size_t from = 0;
	const struct ctl_field *f;

	while ((f = ctl_msg_find(m, name, &from)) != NULL)
		if (n-- == 0)
			return f->value;
	return NULL;
}

static unsigned
count(const struct ctl_msg *m, const char *name)
{
	unsigned n = 0;
	size_t from = 0;

	while (ctl_msg_find(m, name, &from) != NULL)
		n++;
	return n;
}

static void
assert_error(struct run *r, const char *message)
{
	assert_string_equal(ctl_msg_get(&r->resp, "status"), "error");
	assert_string_equal(ctl_msg_get(&r->resp, "message"), message);
	assert_int_equal(r->changes.n, 0);
}

/* --- issue, renew, rollback ---------------------------------------------------------------- */

static void
test_issue(void **state)
{
	struct certstore *cs = ts_store("issue", NULL);
	struct run r;
	const char *serial;

	request(&r, "issue", "name", "mail", "dns", "mail.example.com", "dns", "imap.example.com",
	    "ip", "192.0.2.1", "days", "90", "key_type", "ec:P-384", "client", "yes", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	serial = ctl_msg_get(&r.resp, "serial");
	assert_non_null(serial);
	assert_string_equal(ctl_msg_get(&r.resp, "message"),
	    tp_fmt("mail: issued: version 1 is current, serial %s", serial));
	/* one change record, in the protocol's order */
	assert_string_equal(r.resp.fields[2].name, "record");
	assert_string_equal(r.resp.fields[2].value, "change");
	assert_string_equal(ctl_msg_get(&r.resp, "event"), "issue");
	assert_string_equal(ctl_msg_get(&r.resp, "name"), "mail");
	assert_string_equal(ctl_msg_get(&r.resp, "version"), "1");
	assert_string_equal(ctl_msg_get(&r.resp, "previous"), "0");
	assert_string_equal(ctl_msg_get(&r.resp, "not_after"), "2030-04-01T00:00:00Z");
	assert_string_equal(ctl_msg_get(&r.resp, "days_left"), "90");
	assert_string_equal(ctl_msg_get(&r.resp, "file.cert"),
	    ts_file(cs, "mail", 1, "cert.pem"));
	assert_string_equal(r.resp.fields[r.resp.n - 1].name, CTLPROTO_RECORD_END);
	/* the change is handed back for the hook, not run */
	assert_int_equal(r.changes.n, 1);
	assert_string_equal(r.changes.v[0].name, "mail");
	assert_string_equal(r.changes.v[0].serial, serial);
	assert_int_equal(r.changes.v[0].event, CS_EVENT_ISSUE);
	run_free(&r);

	/* what the request asked for is what was made */
	request(&r, "show", "name", "mail", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "key"), "EC P-384");
	assert_string_equal(ctl_msg_get(&r.resp, "client"), "yes");
	assert_string_equal(nth(&r.resp, "san", 0), "DNS:mail.example.com");
	assert_string_equal(nth(&r.resp, "san", 1), "DNS:imap.example.com");
	assert_string_equal(nth(&r.resp, "san", 2), "IP:192.0.2.1");
	assert_int_equal(r.changes.n, 0);
	run_free(&r);
}

static void
test_issue_refused_by_the_library(void **state)
{
	struct certstore *cs = ts_store("issue-refused", NULL);
	struct run r;

	request(&r, "issue", "name", "../etc", "dns", "a.example", NULL);
	execute(&r, cs, TP_NOW);
	assert_error(&r, "\"../etc\" is not a valid certificate name: use letters, digits, '.', "
	    "'-' and '_' (at most 64, starting with a letter or digit)");
	assert_int_equal(r.resp.n, 2);
	run_free(&r);
	request(&r, "issue", "name", "x", NULL);
	execute(&r, cs, TP_NOW);
	assert_error(&r, "x: give from 1 to 100 DNS names and IP addresses (it has 0)");
	run_free(&r);
}

static void
test_renew_and_rollback(void **state)
{
	struct certstore *cs = ts_store("renew", NULL);
	struct run r;

	ts_issue(cs, "a", TP_NOW, "a.example.com", NULL);
	request(&r, "renew", "name", "a", "reuse_key", "yes", NULL);
	execute(&r, cs, TP_NOW + DAY);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "event"), "renew");
	assert_string_equal(ctl_msg_get(&r.resp, "version"), "2");
	assert_string_equal(ctl_msg_get(&r.resp, "previous"), "1");
	assert_int_equal(r.changes.n, 1);
	assert_string_equal(ts_read(ts_file(cs, "a", 2, "key.pem")),
	    ts_read(ts_file(cs, "a", 1, "key.pem")));
	run_free(&r);

	/* with before, a name is renewed only when due */
	request(&r, "renew", "name", "a", "before", tp_fmt("%d", 30 * DAY), NULL);
	execute(&r, cs, TP_NOW + DAY);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "record"), "not-due");
	assert_string_equal(ctl_msg_get(&r.resp, "due_at"), "2030-12-03T00:00:00Z");
	assert_int_equal(r.changes.n, 0);
	run_free(&r);

	request(&r, "rollback", "name", "a", NULL);
	execute(&r, cs, TP_NOW + DAY);
	assert_string_equal(ctl_msg_get(&r.resp, "message"),
	    "a: rolled back: version 1 is current (was 2)");
	assert_string_equal(ctl_msg_get(&r.resp, "event"), "rollback");
	assert_int_equal(r.changes.n, 1);
	assert_int_equal(r.changes.v[0].version, 1);
	run_free(&r);

	request(&r, "rollback", "name", "a", NULL);
	execute(&r, cs, TP_NOW + DAY);
	assert_error(&r, "a: version 1 is its first: there is nothing to roll back to");
	run_free(&r);
}

static void
test_renew_all_reports_each_name(void **state)
{
	struct certstore *cs = ts_store("renew-all", NULL);
	struct run r;

	ts_issue(cs, "a", TP_NOW, "a.example.com", NULL);
	ts_issue(cs, "b", TP_NOW, "b.example.com", NULL);
	ts_issue(cs, "c", TP_NOW, "c.example.com", NULL);
	tp_write("renew-all/certs/b/1/meta", "garbage\n");
	request(&r, "renew", "all", "yes", "before", tp_fmt("%d", 400 * DAY), NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "error");
	assert_string_equal(ctl_msg_get(&r.resp, "message"),
	    "renew --all: 1 of 3 failed (see above)");
	assert_int_equal(count(&r.resp, "record"), 3);
	assert_string_equal(nth(&r.resp, "record", 0), "change");
	assert_string_equal(nth(&r.resp, "record", 1), "failed");
	assert_string_equal(nth(&r.resp, "error", 0), tp_fmt("%s/certs/b/1/meta:1: expected "
	    "\"key value\": the version's metadata is damaged", certstore_dir(cs)));
	assert_string_equal(nth(&r.resp, "record", 2), "change");
	/* what was done is handed back even though the response is an error */
	assert_int_equal(r.changes.n, 2);
	assert_string_equal(r.changes.v[0].name, "a");
	assert_string_equal(r.changes.v[1].name, "c");
	run_free(&r);
}

/* --- list and show ---------------------------------------------------------------------------- */

static void
test_list_and_show(void **state)
{
	struct certstore *cs = ts_store("list", NULL);
	struct run r;

	request(&r, "list", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "message"), tp_fmt("%s: no certificates yet "
	    "(certwrapctl issue NAME --dns HOST)", certstore_dir(cs)));
	assert_null(ctl_msg_get(&r.resp, "record"));
	run_free(&r);

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	ts_issue(cs, "imap", TP_NOW, "imap.example.com", NULL);
	request(&r, "list", NULL);
	execute(&r, cs, TP_NOW + 10 * DAY);
	assert_string_equal(ctl_msg_get(&r.resp, "message"), "2 certificates");
	assert_int_equal(count(&r.resp, "record"), 2);
	assert_int_equal(count(&r.resp, CTLPROTO_RECORD_END), 2);
	assert_string_equal(nth(&r.resp, "name", 0), "imap");
	assert_string_equal(nth(&r.resp, "name", 1), "mail");
	assert_string_equal(nth(&r.resp, "days_left", 0), "355");
	assert_string_equal(nth(&r.resp, "status", 1), "valid");
	assert_string_equal(nth(&r.resp, "current", 0), "yes");
	run_free(&r);

	request(&r, "show", "name", "mail", "version", "1", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "record"), "certificate");
	assert_string_equal(ctl_msg_get(&r.resp, "subject_openssl"), "CN = mail.example.com");
	assert_string_equal(ctl_msg_get(&r.resp, "not_before"), "2029-12-31T23:00:00Z");
	assert_string_equal(ctl_msg_get(&r.resp, "file.csr"), ts_file(cs, "mail", 1, "csr.pem"));
	assert_null(ctl_msg_get(&r.resp, "problem"));
	run_free(&r);

	request(&r, "show", "name", "mail", "version", "7", NULL);
	execute(&r, cs, TP_NOW);
	assert_error(&r, "mail: there is no version 7 (certwrapctl show mail lists them)");
	run_free(&r);
}

/* --- what a request may hold ------------------------------------------------------------------- */

static void
test_malformed_requests(void **state)
{
	struct certstore *cs = ts_store("malformed", NULL);
	static const struct {
		const char *verb, *n1, *v1, *n2, *v2, *message;
	} cases[] = {
		{ "frobnicate", NULL, NULL, NULL, NULL, "\"frobnicate\" is not a store verb (issue, "
		  "csr, import, sign, renew, rollback, revoke, crl, list, show, check, export, "
		  "export-ca)" },
		{ "status", NULL, NULL, NULL, NULL, "\"status\" is not a store verb (issue, csr, "
		  "import, sign, renew, rollback, revoke, crl, list, show, check, export, export-ca)" },
		{ "list", "bogus", "1", NULL, NULL, "list: the request has a field \"bogus\" this "
		  "verb does not take (use the certwrapctl of the same release as certwrapd)" },
		{ "show", "name", "a", "name", "b", "show: the request has the field \"name\" twice" },
		{ "show", NULL, NULL, NULL, NULL, "show: the request has no \"name\"" },
		{ "show", "name", "", NULL, NULL, "show: the request has no \"name\"" },
		{ "show", "name", "a\nb", NULL, NULL, "show: the field \"name\" has a control "
		  "character (0x0a)" },
		{ "show", "name", "a", "version", "01", "show: the field \"version\" is \"01\", not "
		  "a number from 0 to 999999" },
		{ "show", "name", "a", "version", "1000000", "show: the field \"version\" is "
		  "\"1000000\", not a number from 0 to 999999" },
		{ "show", "name", "a", "version", "-1", "show: the field \"version\" is \"-1\", not "
		  "a number from 0 to 999999" },
		{ "show", "name", "a", "version", "99999999999999999999", "show: the field "
		  "\"version\" is longer than 11 bytes" },
		{ "issue", "name", "a", "days", "0", "issue: the field \"days\" is \"0\", not a "
		  "number from 1 to 36500" },
		{ "issue", "name", "a", "client", "true", "issue: the field \"client\" is \"true\", "
		  "not yes or no" },
		{ "issue", "name", "a", "passphrase", "", "issue: the passphrase is empty" },
		{ "issue", "name", "a", "key_type", "dsa", "issue: key_type: key type \"dsa\" is "
		  "not one of rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ed25519" },
		{ "issue", "name", "a", "dns", "", "issue: a \"dns\" field is empty, longer than 253 "
		  "bytes or not text" },
		{ "renew", NULL, NULL, NULL, NULL, "renew: give either a name or all=yes" },
		{ "renew", "name", "a", "all", "yes", "renew: give either a name or all=yes" },
		{ "renew", "all", "yes", "before", "0", "renew: the field \"before\" is \"0\", not a "
		  "number from 1 to 3153600000" },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request(&r, cases[i].verb, NULL);
		if (cases[i].n1 != NULL)
			ctl_msg_add_str(&r.req, cases[i].n1, cases[i].v1);
		if (cases[i].n2 != NULL)
			ctl_msg_add_str(&r.req, cases[i].n2, cases[i].v2);
		execute(&r, cs, TP_NOW);
		assert_error(&r, cases[i].message);
		run_free(&r);
	}
	/* a NUL byte inside a value, and a request that does not start with verb */
	request(&r, "show", NULL);
	ctl_msg_add(&r.req, "name", "a\0b", 3);
	execute(&r, cs, TP_NOW);
	assert_error(&r, "show: the field \"name\" has a control character (0x00)");
	run_free(&r);
	memset(&r, 0, sizeof(r));
	ctl_msg_add_str(&r.req, "name", "a");
	execute(&r, cs, TP_NOW);
	assert_error(&r, "the request does not start with a verb field");
	run_free(&r);
}

static void
test_handles_and_times(void **state)
{
	char buf[CTLSTORE_TIME_MAX];
	time_t t;

	assert_true(ctlstore_handles("issue"));
	assert_true(ctlstore_handles("list"));
	assert_false(ctlstore_handles("status"));
	assert_false(ctlstore_handles("ca init"));
	assert_false(ctlstore_handles(NULL));
	ctlstore_time_format(TP_NOW, buf, sizeof(buf));
	assert_string_equal(buf, "2030-01-01T00:00:00Z");
	assert_int_equal(ctlstore_time_parse(buf, &t), 0);
	assert_int_equal(t, TP_NOW);
	assert_int_equal(ctlstore_time_parse("2030-01-01 00:00:00", &t), -1);
	assert_int_equal(ctlstore_time_parse("2030-01-01T00:00:00Zjunk", &t), -1);
	assert_int_equal(ctlstore_time_parse(NULL, &t), -1);
}

static void
test_changes_not_wanted(void **state)
{
	struct certstore *cs = ts_store("nochanges", NULL);
	struct ctl_msg req = { 0 }, resp = { 0 };
	struct ctlstore_env env = { .cs = cs, .now = TP_NOW, .changes = NULL };

	ctl_msg_add_str(&req, "verb", "issue");
	ctl_msg_add_str(&req, "name", "a");
	ctl_msg_add_str(&req, "dns", "a.example");
	ctlstore_execute(&env, &req, &resp);
	assert_string_equal(ctl_msg_get(&resp, "status"), "ok");
	ctl_msg_free(&req);
	ctl_msg_free(&resp);
}

/* --- the verbs of outside CAs, revocation, monitoring and exports ------------------------------- */

static const char *
csr_pem(EVP_PKEY *key, const char *cn)
{
	X509_REQ *req = X509_REQ_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	const char *pem;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	PEM_write_bio_X509_REQ(b, req);
	len = BIO_get_mem_data(b, &data);
	pem = tp_fmt("%.*s", (int)len, data);
	BIO_free(b);
	X509_REQ_free(req);
	return pem;
}

static void
test_sign_revoke_crl_check(void **state)
{
	struct certstore *cs = ts_store("verbs2", NULL);
	struct run r;
	const char *serial;

	request(&r, "sign", "csr", csr_pem(tp_key(TP_EC_P256, 1), "www.example.org"), "csr_name",
	    "req.pem", "days", "30", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "record"), "signed");
	assert_string_equal(ctl_msg_get(&r.resp, "subject"), "CN=www.example.org");
	assert_string_equal(ctl_msg_get(&r.resp, "not_after"), "2030-01-31T00:00:00Z");
	assert_non_null(strstr(ctl_msg_get(&r.resp, "cert"), "-----BEGIN CERTIFICATE-----"));
	assert_string_equal(ctl_msg_get(&r.resp, "chain"), "");
	serial = tp_fmt("%s", ctl_msg_get(&r.resp, "serial"));
	assert_int_equal(r.changes.n, 0);
	run_free(&r);

	request(&r, "check", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "exit"), "0");
	assert_string_equal(ctl_msg_get(&r.resp, "message"), "CERTWRAP OK - no certificates yet; "
	    "CA fine | certificates=0 critical=0 warning=0");
	run_free(&r);

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	request(&r, "revoke", "target", "mail", "reason", "superseded", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(nth(&r.resp, "record", 0), "revoked");
	assert_string_equal(ctl_msg_get(&r.resp, "name"), "mail");
	assert_string_equal(ctl_msg_get(&r.resp, "reason"), "superseded");
	assert_string_equal(nth(&r.resp, "record", 1), "crl");
	assert_string_equal(ctl_msg_get(&r.resp, "crl_number"), "01");
	assert_null(ctl_msg_get(&r.resp, "crl_pem"));
	run_free(&r);
	/* a target that is no name is a serial */
	request(&r, "revoke", "target", serial, NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "serial"), serial);
	run_free(&r);

	request(&r, "crl", "if_due", "yes", NULL);
	execute(&r, cs, TP_NOW + TP_DAY);
	assert_string_equal(ctl_msg_get(&r.resp, "made"), "no");
	assert_string_equal(ctl_msg_get(&r.resp, "message"), "crl: not due until "
	    "2030-01-21T00:00:00Z");
	run_free(&r);
	request(&r, "crl", NULL);
	execute(&r, cs, TP_NOW + TP_DAY);
	assert_string_equal(ctl_msg_get(&r.resp, "made"), "yes");
	assert_string_equal(ctl_msg_get(&r.resp, "crl_number"), "03");
	assert_string_equal(ctl_msg_get(&r.resp, "revoked"), "2");
	assert_non_null(strstr(ctl_msg_get(&r.resp, "crl_pem"), "-----BEGIN X509 CRL-----"));
	run_free(&r);

	request(&r, "check", "warn", tp_fmt("%d", 30 * DAY), "crit", tp_fmt("%d", 7 * DAY), NULL);
	execute(&r, cs, TP_NOW + TP_DAY);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "exit"), "2");
	assert_string_equal(ctl_msg_get(&r.resp, "state"), "CRITICAL");
	assert_string_equal(ctl_msg_get(&r.resp, "record"), "problem");
	assert_string_equal(ctl_msg_get(&r.resp, "what"), "mail");
	assert_non_null(strstr(ctl_msg_get(&r.resp, "message"), "CERTWRAP CRITICAL - mail: "
	    "revoked (serial "));
	run_free(&r);
}

static void
test_csr_import_export(void **state)
{
	struct certstore *cs = ts_store("verbs3", NULL);
	struct tp_pki pki;
	struct tp_cert_spec spec = tp_leaf_spec("ext.example.com");
	struct run r;
	const char *pem, *path;
	struct cs_error err;
	EVP_PKEY *key;

	tp_pki(&pki);
	request(&r, "csr", "name", "ext", "dns", "ext.example.com", "key_type", "rsa:2048", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "record"), "request");
	assert_non_null(strstr(ctl_msg_get(&r.resp, "csr"), "BEGIN CERTIFICATE REQUEST"));
	path = tp_fmt("%s", ctl_msg_get(&r.resp, "file.key"));
	run_free(&r);
	pem = ts_read(path);
	key = cs_pem_parse_key(pem, strlen(pem), path, NULL, &err);
	pem = tp_pem_cert(tp_cert(&spec, key, pki.inter, pki.inter_key));
	EVP_PKEY_free(key);
	request(&r, "import", "name", "ext", "cert", pem, "cert_name", "ext.pem", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "error");
	assert_non_null(strstr(ctl_msg_get(&r.resp, "message"), "ext.pem: incomplete chain: the "
	    "issuer of CN=ext.example.com, O=Example (CN=Test Intermediate CA, O=Example)"));
	run_free(&r);
	request(&r, "import", "name", "ext", "cert", pem, "chain", tp_pem_cert(pki.inter), "ca",
	    tp_pem_cert(pki.root), NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "event"), "import");
	assert_int_equal(r.changes.n, 1);
	assert_int_equal(r.changes.v[0].event, CS_EVENT_IMPORT);
	run_free(&r);

	request(&r, "export", "name", "ext", "format", "qmail", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "record"), "file");
	assert_string_equal(ctl_msg_get(&r.resp, "name"), "servercert.pem");
	assert_string_equal(ctl_msg_get(&r.resp, "mode"), "0400");
	assert_string_equal(ctl_msg_get(&r.resp, "hashed"), "no");
	assert_non_null(strstr(ctl_msg_get(&r.resp, "data"), "-----BEGIN PRIVATE KEY-----"));
	assert_string_equal(ctl_msg_get(&r.resp, "hint"), "qmail: copy DIR/servercert.pem to "
	    "/var/qmail/control/ (clientcert.pem may be a symlink to it), owned by the qmail user "
	    "(--owner qmaild)");
	run_free(&r);
	request(&r, "export-ca", "hashed", "yes", NULL);
	execute(&r, cs, TP_NOW);
	assert_int_equal(count(&r.resp, "record"), 1);
	assert_string_equal(ctl_msg_get(&r.resp, "hashed"), "yes");
	run_free(&r);
	/* renew --all leaves an outside CA's certificate to it */
	request(&r, "renew", "all", "yes", NULL);
	execute(&r, cs, TP_NOW);
	assert_string_equal(ctl_msg_get(&r.resp, "status"), "ok");
	assert_string_equal(ctl_msg_get(&r.resp, "record"), "outside");
	assert_string_equal(ctl_msg_get(&r.resp, "issuer"), "CN=Test Intermediate CA, O=Example");
	run_free(&r);
}

static void
test_malformed_part2_requests(void **state)
{
	struct certstore *cs = ts_store("malformed2", NULL);
	static const struct {
		const char *verb, *n1, *v1, *n2, *v2, *message;
	} cases[] = {
		{ "import", "name", "a", NULL, NULL, "import: the request has no \"cert\"" },
		{ "sign", "days", "3", NULL, NULL, "sign: the request has no \"csr\"" },
		{ "export", "name", "a", "format", "outlook", "\"outlook\" is not a daemon or format "
		  "certwrapctl exports for: use postfix, dovecot, exim, courier, qmail, sendmail or "
		  "stunnel, or separate, fullchain, combined or pkcs12" },
		{ "export", "name", "a", NULL, NULL, "export: the request has no \"format\"" },
		{ "revoke", "name", "a", "serial", "0A", "revoke: give one of name, serial or "
		  "target" },
		{ "revoke", NULL, NULL, NULL, NULL, "revoke: give one of name, serial or target" },
		{ "crl", "if_due", "maybe", NULL, NULL, "crl: the field \"if_due\" is \"maybe\", not "
		  "yes or no" },
		{ "check", "warn", "60", "crit", "120", "check: crit (120 s) is longer than warn "
		  "(60 s): critical comes after warning" },
		{ "csr", "name", "a", "subject", "/CN=a\nb", "csr: the field \"subject\" has a "
		  "control character (0x0a)" },
		{ "export-ca", "hashed", "yes", "hashed", "no", "export-ca: the request has the field "
		  "\"hashed\" twice" },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request(&r, cases[i].verb, NULL);
		if (cases[i].n1 != NULL)
			ctl_msg_add_str(&r.req, cases[i].n1, cases[i].v1);
		if (cases[i].n2 != NULL)
			ctl_msg_add_str(&r.req, cases[i].n2, cases[i].v2);
		execute(&r, cs, TP_NOW);
		assert_error(&r, cases[i].message);
		run_free(&r);
	}
	/* PEM may span lines, but holds no NUL and no more than a PEM file may */
	request(&r, "sign", NULL);
	ctl_msg_add(&r.req, "csr", "-----BEGIN\0", 11);
	execute(&r, cs, TP_NOW);
	assert_error(&r, "sign: the field \"csr\" has a control character (0x00)");
	run_free(&r);
	request(&r, "sign", NULL);
	{
		char *big = calloc(1, CS_PEM_MAX_BYTES + 2);

		memset(big, 'A', CS_PEM_MAX_BYTES + 1);
		ctl_msg_add(&r.req, "csr", big, CS_PEM_MAX_BYTES + 1);
		free(big);
	}
	execute(&r, cs, TP_NOW);
	assert_error(&r, "sign: the field \"csr\" is longer than 1048576 bytes");
	run_free(&r);
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
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_issue_refused_by_the_library),
		cmocka_unit_test(test_renew_and_rollback),
		cmocka_unit_test(test_renew_all_reports_each_name),
		cmocka_unit_test(test_list_and_show),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_handles_and_times),
		cmocka_unit_test(test_changes_not_wanted),
		cmocka_unit_test(test_sign_revoke_crl_check),
		cmocka_unit_test(test_csr_import_export),
		cmocka_unit_test(test_malformed_part2_requests),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
