/* test_pem.c: certstore/pem.c, bounded parsing of outside PEM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"

#define S_LEAF  "CN=mail.example.com, O=Example"
#define S_INTER "CN=Test Intermediate CA, O=Example"
#define S_ROOT  "CN=Test Root CA, O=Example"

static struct tp_pki pki;

/* Named pieces of PEM text the cases are written with. */
struct token {
	const char *name;
	const char *text;
};
static struct token tokens[40];
static unsigned n_tokens;

static void
token(const char *name, const char *text)
{
	tokens[n_tokens++] = (struct token){ name, text };
}

static const char *
token_text(const char *name, size_t len)
{
	for (unsigned i = 0; i < n_tokens; i++)
		if (strlen(tokens[i].name) == len && strncmp(tokens[i].name, name, len) == 0)
			return tokens[i].text;
	fail_msg("unknown token %.*s", (int)len, name);
	return NULL;
}

/* "leaf inter key*2" -> the texts, concatenated. */
static const char *
build(const char *spec)
{
	const char *out = "";

	for (const char *p = spec; *p != '\0';) {
		size_t n = strcspn(p, " *");
		const char *text = n > 0 ? token_text(p, n) : "";
		unsigned times = 1;

		p += n;
		if (*p == '*') {
			char *end;

			times = (unsigned)strtoul(p + 1, &end, 10);
			p = end;
		}
		while (times-- > 0)
			out = tp_cat(out, text, NULL);
		p += strspn(p, " ");
	}
	return out;
}

/* A PEM block around the base64 of der. */
static const char *
pem_of(const char *label, const unsigned char *der, size_t len, bool one_line)
{
	char *b64 = malloc(4 * ((len + 2) / 3) + 1);
	const char *s, *body = "";

	assert_non_null(b64);
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	s = tp_fmt("%s", b64);
	free(b64);
	for (size_t i = 0; !one_line && i < strlen(s); i += 64)
		body = tp_fmt("%s%.64s\n", body, s + i);
	return tp_fmt("-----BEGIN %s-----\n%s%s-----END %s-----\n", label,
	    one_line ? s : body, one_line ? "\n" : "", label);
}

static const char *
first_half(const char *text)
{
	const char *nl = strchr(text + strlen(text) / 2, '\n');

	return tp_fmt("%.*s", (int)(nl - text + 1), text);
}

static void
make_tokens(void)
{
	size_t der_len;
	unsigned char *der = tp_der_cert(pki.leaf, &der_len);
	unsigned char *junk = malloc(der_len + 4);
	const char *leaf = tp_pem_cert(pki.leaf);

	assert_non_null(junk);
	memcpy(junk, der, der_len);
	memcpy(junk + der_len, "junk", 4);
	token("leaf", leaf);
	token("inter", tp_pem_cert(pki.inter));
	token("root", tp_pem_cert(pki.root));
	token("trusted", tp_pem_cert_trusted(pki.inter));
	token("x509old", tp_replace(leaf, "CERTIFICATE", "X509 CERTIFICATE"));
	token("crlf", tp_replace(leaf, "\n", "\r\n"));
	token("bom", tp_cat("\xEF\xBB\xBF", leaf, NULL));
	token("oneline", pem_of("CERTIFICATE", der, der_len, true));
	token("trailing", pem_of("CERTIFICATE", junk, der_len + 4, false));
	token("notcert", "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
	token("badb64", tp_replace(tp_pem_cert(pki.inter), "-----\n", "-----\n!!!!\n"));
	token("truncated", first_half(leaf));
	token("mismatch", tp_replace(leaf, "END CERTIFICATE", "END PRIVATE KEY"));
	token("text", "Bag Attributes\n    localKeyID: 01 02\nsubject=CN = mail.example.com\n");
	token("csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
	token("dh", "-----BEGIN DH PARAMETERS-----\nMAYCAQICAQI=\n-----END DH PARAMETERS-----\n");
	token("ecparams", "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n");
	token("key", tp_pem_key(pki.leaf_key));
	token("key2", tp_pem_key(tp_key(TP_RSA2048, 1)));
	token("key_rsa", tp_pem_key_traditional(pki.leaf_key, NULL));
	token("key_ec", tp_pem_key_traditional(tp_key(TP_EC_P256, 0), NULL));
	token("key_ed", tp_pem_key(tp_key(TP_ED25519, 0)));
	token("key_enc", tp_pem_key_encrypted(pki.leaf_key, "secret"));
	token("key_legacy_enc", tp_pem_key_traditional(pki.leaf_key, "secret"));
	token("key_badb64", tp_replace(tp_pem_key(pki.leaf_key), "-----\n", "-----\n!!!!\n"));
	token("key_garbage", "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n");
	token("key_truncated", first_half(tp_pem_key(pki.leaf_key)));
	token("openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
	    "-----END OPENSSH PRIVATE KEY-----\n");
	free(junk);
}

static int
setup(void **state)
{
	tp_pki(&pki);
	make_tokens();
	return 0;
}

static int
teardown(void **state)
{
	tp_cleanup();
	return 0;
}

/* --- cs_pem_parse_certs ---------------------------------------------------------------- */

struct certs_case {
	const char *input;              /* tokens */
	const char *error;              /* NULL: parses */
	int count;                      /* certificates expected */
	const char *subjects[3];        /* of the first ones */
};

static const struct certs_case certs_cases[] = {
	/* accepted */
	{ "leaf", NULL, 1, { S_LEAF } },
	{ "leaf inter root", NULL, 3, { S_LEAF, S_INTER, S_ROOT } },
	{ "inter leaf", NULL, 2, { S_INTER, S_LEAF } },                 /* order kept */
	{ "key leaf inter", NULL, 2, { S_LEAF, S_INTER } },             /* qmail servercert.pem */
	{ "leaf key dh", NULL, 1, { S_LEAF } },                         /* Courier imapd.pem */
	{ "leaf trusted", NULL, 2, { S_LEAF, S_INTER } },
	{ "x509old", NULL, 1, { S_LEAF } },
	{ "crlf", NULL, 1, { S_LEAF } },
	{ "bom", NULL, 1, { S_LEAF } },
	{ "oneline", NULL, 1, { S_LEAF } },
	{ "text leaf text inter text", NULL, 2, { S_LEAF, S_INTER } },
	{ "csr leaf", NULL, 1, { S_LEAF } },
	{ "key_truncated leaf", NULL, 1, { S_LEAF } },                  /* a broken key is not ours */
	{ "leaf*16", NULL, 16, { S_LEAF, S_LEAF, S_LEAF } },
	/* refused */
	{ "", "mail.pem: no certificate found (expected a CERTIFICATE block; set cert = to the "
	    "file that holds it)", 0, { NULL } },
	{ "key", "mail.pem: no certificate found (expected a CERTIFICATE block; set cert = to the "
	    "file that holds it)", 0, { NULL } },
	{ "text dh", "mail.pem: no certificate found (expected a CERTIFICATE block; set cert = to "
	    "the file that holds it)", 0, { NULL } },
	{ "csr key", "mail.pem: no certificate found, only a certificate request (CSR): send it "
	    "to your CA and set cert = to the certificate it returns", 0, { NULL } },
	{ "leaf badb64 root", "mail.pem: certificate 2 of 3 is not valid PEM/DER: bad base64 "
	    "encoding", 0, { NULL } },
	{ "leaf notcert", "mail.pem: certificate 2 of 2 is not valid PEM/DER: the data is not an "
	    "X.509 certificate", 0, { NULL } },
	{ "trailing", "mail.pem: certificate 1 of 1 is not valid PEM/DER: 4 bytes of extra data "
	    "after the certificate", 0, { NULL } },
	{ "leaf truncated", "mail.pem: certificate 2 of 2 is not valid PEM/DER: no END line (the "
	    "file is cut short?)", 0, { NULL } },
	{ "truncated leaf", "mail.pem: certificate 1 of 2 is not valid PEM/DER: no END line before "
	    "the next BEGIN line", 0, { NULL } },
	{ "mismatch inter", "mail.pem: certificate 1 of 2 is not valid PEM/DER: its END line names "
	    "a different block", 0, { NULL } },
	{ "leaf*17", "mail.pem: too many certificates (17, at most 16): the file holds the leaf "
	    "and its chain; a bundle of trusted CAs belongs in CAfile", 0, { NULL } },
};

static void
subject_of(X509 *x, char *buf, size_t len)
{
	cs_name_oneline(X509_get_subject_name(x), buf, len);
}

static void
test_parse_certs_table(void **state)
{
	for (size_t i = 0; i < sizeof(certs_cases) / sizeof(certs_cases[0]); i++) {
		const struct certs_case *c = &certs_cases[i];
		const char *pem = build(c->input);
		struct cs_error err = { "" };
		STACK_OF(X509) *certs;
		char s[256];

		print_message("certs: \"%s\"\n", c->input);
		certs = cs_pem_parse_certs(pem, strlen(pem), "mail.pem", &err);
		if (c->error != NULL) {
			assert_null(certs);
			assert_string_equal(err.msg, c->error);
			continue;
		}
		assert_non_null(certs);
		assert_int_equal(sk_X509_num(certs), c->count);
		for (int j = 0; j < 3 && c->subjects[j] != NULL; j++) {
			subject_of(sk_X509_value(certs, j), s, sizeof(s));
			assert_string_equal(s, c->subjects[j]);
		}
		sk_X509_pop_free(certs, X509_free);
	}
}

/* --- cs_pem_parse_key ------------------------------------------------------------------------ */

enum want_key { NO_KEY, LEAF_KEY, P256_KEY, ED25519_KEY };

struct key_case {
	const char *input;
	const char *passphrase;
	const char *error;
	enum want_key want;
};

#define ENCRYPTED_NO_PASS "mail.key: the private key is encrypted and no passphrase was " \
	"given (certwrap never prompts): store it unencrypted, readable only by root, with " \
	"\"openssl pkey -in mail.key -out mail.key.plain\""
#define NO_KEY_FOUND "mail.key: no private key found (expected a PRIVATE KEY block; set " \
	"key = to the file that holds it)"
#define WRONG_PASS "mail.key: cannot decrypt the private key: wrong passphrase, or the key " \
	"is damaged"

static const struct key_case key_cases[] = {
	{ "key", NULL, NULL, LEAF_KEY },
	{ "key_rsa", NULL, NULL, LEAF_KEY },
	{ "ecparams key_ec", NULL, NULL, P256_KEY },                      /* openssl ecparam -genkey */
	{ "key_ed", NULL, NULL, ED25519_KEY },
	{ "leaf key inter", NULL, NULL, LEAF_KEY },
	{ "key leaf dh", NULL, NULL, LEAF_KEY },
	{ "key_enc", "secret", NULL, LEAF_KEY },
	{ "key_legacy_enc", "secret", NULL, LEAF_KEY },
	{ "key", "unused", NULL, LEAF_KEY },
	{ "key_enc", NULL, ENCRYPTED_NO_PASS, NO_KEY },
	{ "leaf key_legacy_enc", NULL, ENCRYPTED_NO_PASS, NO_KEY },
	{ "key_enc", "wrong", WRONG_PASS, NO_KEY },
	{ "key_legacy_enc", "wrong", WRONG_PASS, NO_KEY },
	{ "key key2", NULL, "mail.key: 2 private keys found, expected one: keep only the key "
	    "that matches the certificate", NO_KEY },
	{ "leaf inter", NULL, NO_KEY_FOUND, NO_KEY },
	{ "", NULL, NO_KEY_FOUND, NO_KEY },
	{ "ecparams", NULL, NO_KEY_FOUND, NO_KEY },
	{ "key_badb64", NULL, "mail.key: the private key is not valid PEM/DER: bad base64 "
	    "encoding", NO_KEY },
	{ "key_garbage", NULL, "mail.key: the private key is not valid PEM/DER: not a key type "
	    "OpenSSL can read, or damaged", NO_KEY },
	{ "key_truncated leaf", NULL, "mail.key: the private key is not valid PEM/DER: no END "
	    "line before the next BEGIN line", NO_KEY },
	{ "openssh", NULL, "mail.key: this is an OpenSSH key, not a TLS private key: use the key "
	    "the certificate request was made with", NO_KEY },
};

static EVP_PKEY *
wanted(enum want_key w)
{
	switch (w) {
	case LEAF_KEY: return pki.leaf_key;
	case P256_KEY: return tp_key(TP_EC_P256, 0);
	case ED25519_KEY: return tp_key(TP_ED25519, 0);
	case NO_KEY: break;
	}
	return NULL;
}

static void
test_parse_key_table(void **state)
{
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];
		const char *pem = build(c->input);
		struct cs_error err = { "" };
		EVP_PKEY *key;

		print_message("key: \"%s\" passphrase %s\n", c->input,
		    c->passphrase ? c->passphrase : "(none)");
		key = cs_pem_parse_key(pem, strlen(pem), "mail.key", c->passphrase, &err);
		if (c->error != NULL) {
			assert_null(key);
			assert_string_equal(err.msg, c->error);
			continue;
		}
		assert_non_null(key);
		assert_int_equal(EVP_PKEY_eq(key, wanted(c->want)), 1);
		EVP_PKEY_free(key);
	}
}

/* --- binary input ------------------------------------------------------------------------ */

static void
test_der_certificate_is_explained(void **state)
{
	size_t len;
	unsigned char *der = tp_der_cert(pki.leaf, &len);
	struct cs_error err = { "" };

	assert_null(cs_pem_parse_certs((const char *)der, len, "mail.cer", &err));
	assert_string_equal(err.msg, "mail.cer: binary (DER) certificate, not PEM: convert it "
	    "with \"openssl x509 -inform DER -in mail.cer -out mail.cer.pem\"");
	/* as a key file it is simply not a key */
	assert_null(cs_pem_parse_key((const char *)der, len, "mail.cer", NULL, &err));
	assert_string_equal(err.msg, "mail.cer: no private key found (expected a PRIVATE KEY "
	    "block; set key = to the file that holds it)");
}

static void
test_der_key_is_explained(void **state)
{
	unsigned char *der = NULL;
	int len = i2d_PrivateKey(pki.leaf_key, &der);
	struct cs_error err = { "" };

	assert_true(len > 0);
	assert_null(cs_pem_parse_key((const char *)der, (size_t)len, "mail.der", NULL, &err));
	assert_string_equal(err.msg, "mail.der: binary (DER) private key, not PEM: convert it "
	    "with \"openssl pkey -inform DER -in mail.der -out mail.der.pem\"");
	OPENSSL_free(der);
}

static void
test_pkcs12_is_explained(void **state)
{
	PKCS12 *p12 = PKCS12_create("secret", "mail", pki.leaf_key, pki.leaf, NULL, 0, 0, 0, 0, 0);
	unsigned char *der = NULL;
	int len;
	struct cs_error err = { "" };
	const char *want = "mail.p12: PKCS#12 (.p12/.pfx) bundle, not PEM: convert it with "
	    "\"openssl pkcs12 -nodes -in mail.p12 -out mail.p12.pem\" (the result holds the key "
	    "and the certificates: keep it mode 0600)";

	assert_non_null(p12);
	len = i2d_PKCS12(p12, &der);
	assert_true(len > 0);
	assert_null(cs_pem_parse_certs((const char *)der, (size_t)len, "mail.p12", &err));
	assert_string_equal(err.msg, want);
	assert_null(cs_pem_parse_key((const char *)der, (size_t)len, "mail.p12", NULL, &err));
	assert_string_equal(err.msg, want);
	OPENSSL_free(der);
	PKCS12_free(p12);
}

/* --- the cost of decrypting ------------------------------------------------------------- */

/* An ENCRYPTED PRIVATE KEY block with these parameters and a dummy payload:
 * the parameters are written, never run. Takes pbe. */
static const char *
encrypted_key_asking(X509_ALGOR *pbe)
{
	X509_SIG *sig = X509_SIG_new();
	BIO *bio = BIO_new(BIO_s_mem());
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *data;
	char *text;
	long n;
	const char *out;

	assert_non_null(pbe);
	assert_non_null(sig);
	assert_non_null(bio);
	X509_SIG_getm(sig, &alg, &data);
	assert_true(X509_ALGOR_copy(alg, pbe));
	assert_true(ASN1_OCTET_STRING_set(data, (const unsigned char *)"0123456789abcdef", 16));
	assert_true(PEM_write_bio_PKCS8(bio, sig));
	n = BIO_get_mem_data(bio, &text);
	out = tp_fmt("%.*s", (int)n, text);
	BIO_free(bio);
	X509_SIG_free(sig);
	X509_ALGOR_free(pbe);
	return out;
}

static void
test_key_derivation_cost_is_bounded(void **state)
{
	struct {
		X509_ALGOR *pbe;
		const char *want;
	} cases[] = {
		{ PKCS5_pbe2_set_iv_ex(EVP_aes_256_cbc(), 2000000, NULL, 0, NULL, NID_hmacWithSHA256,
		    NULL), "2000000 PBKDF2 iterations (at most 1000000)" },
		{ PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, 16384, 8, 64),
		    "8388608 scrypt N*r*p (at most 4194304)" },
		{ PKCS5_pbe_set(NID_pbeWithSHA1AndDES_CBC, 2000000, NULL, 0),
		    "2000000 PBE iterations (at most 1000000)" },
	};
	struct cs_error err = { "" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *pem = encrypted_key_asking(cases[i].pbe);

		assert_null(cs_pem_parse_key(pem, strlen(pem), "mail.key", "secret", &err));
		assert_string_equal(err.msg, tp_fmt("mail.key: the encrypted private key asks for %s, "
		    "too slow to decrypt: re-encrypt it with \"openssl pkey -aes256 -in mail.key -out "
		    "mail.key.new\"", cases[i].want));
		/* without a passphrase nothing is derived: the usual message */
		assert_null(cs_pem_parse_key(pem, strlen(pem), "mail.key", NULL, &err));
		assert_string_equal(err.msg, ENCRYPTED_NO_PASS);
	}
}

/* --- bounds ----------------------------------------------------------------------------------- */

/* An exact-size heap copy with no NUL: ASan sees any read past len. */
static char *
exact_copy(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static void
test_never_reads_past_len(void **state)
{
	const char *leaf = build("leaf"), *two = build("leaf inter");
	size_t cut = strlen(leaf) + strlen(build("inter")) / 2;
	struct cs_error err = { "" };
	STACK_OF(X509) *certs;
	char *p;

	/* the whole first certificate, nothing of the second */
	p = exact_copy(two, strlen(leaf));
	certs = cs_pem_parse_certs(p, strlen(leaf), "mail.pem", &err);
	assert_non_null(certs);
	assert_int_equal(sk_X509_num(certs), 1);
	sk_X509_pop_free(certs, X509_free);
	free(p);
	/* the second cut in half: it has no END line within len */
	p = exact_copy(two, cut);
	assert_null(cs_pem_parse_certs(p, cut, "mail.pem", &err));
	assert_string_equal(err.msg, "mail.pem: certificate 2 of 2 is not valid PEM/DER: no END "
	    "line (the file is cut short?)");
	free(p);
	/* a BEGIN line cut before its dashes is no block at all */
	p = exact_copy(leaf, 20);
	assert_null(cs_pem_parse_certs(p, 20, "mail.pem", &err));
	assert_null(cs_pem_parse_key(p, 20, "mail.pem", NULL, &err));
	free(p);
	p = exact_copy("", 0);
	assert_null(cs_pem_parse_certs(p, 0, "mail.pem", &err));
	free(p);
}

static void
test_input_size_is_bounded(void **state)
{
	size_t len = CS_PEM_MAX_BYTES + 1;
	char *big = malloc(len);
	struct cs_error err = { "" };

	assert_non_null(big);
	memset(big, '\n', len);
	assert_null(cs_pem_parse_certs(big, len, "mail.pem", &err));
	assert_string_equal(err.msg, "mail.pem: too large (1048577 bytes, at most 1048576)");
	assert_null(cs_pem_parse_key(big, len, "mail.pem", NULL, &err));
	assert_string_equal(err.msg, "mail.pem: too large (1048577 bytes, at most 1048576)");
	free(big);
}

/* --- cs_pem_read_file ---------------------------------------------------------------------- */

static void
test_read_file(void **state)
{
	const char *text = build("key leaf");
	const char *path = tp_write("read.pem", text);
	struct cs_error err = { "" };
	size_t len = 99;
	char *buf;

	buf = cs_pem_read_file(path, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(buf, text, len);
	assert_int_equal(buf[len], '\0');
	cs_pem_buf_free(buf, len);
	cs_pem_buf_free(NULL, 0);

	path = tp_write("empty.pem", "");
	buf = cs_pem_read_file(path, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	cs_pem_buf_free(buf, len);
}

static void
test_read_file_limits(void **state)
{
	size_t max = CS_PEM_MAX_BYTES, len;
	char *big = malloc(max + 1), *buf;
	struct cs_error err = { "" };
	const char *path;

	assert_non_null(big);
	memset(big, '#', max + 1);
	path = tp_write_bytes("max.pem", big, max);
	buf = cs_pem_read_file(path, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, max);
	cs_pem_buf_free(buf, len);

	path = tp_write_bytes("big.pem", big, max + 1);
	assert_null(cs_pem_read_file(path, &len, &err));
	assert_string_equal(err.msg, tp_fmt("%s: too large (1048577 bytes, at most 1048576): "
	    "expected a PEM certificate or key file", path));
	free(big);
}

static void
test_read_file_refusals(void **state)
{
	const char *missing = tp_path("missing.pem"), *fifo = tp_path("fifo.pem");
	struct cs_error err = { "" };
	size_t len;

	assert_null(cs_pem_read_file(missing, &len, &err));
	assert_string_equal(err.msg, tp_fmt("%s: cannot open: No such file or directory", missing));
	assert_null(cs_pem_read_file(tp_dir(), &len, &err));
	assert_string_equal(err.msg, tp_fmt("%s: not a regular file (a directory): expected a "
	    "PEM file", tp_dir()));
	/* a FIFO with no writer: must not hang in open() or read() */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_null(cs_pem_read_file(fifo, &len, &err));
	assert_string_equal(err.msg, tp_fmt("%s: not a regular file (a device, FIFO or socket): "
	    "expected a PEM file", fifo));
}

/* Root reads mode 000 files, so as root the check runs in a child that has
 * become nobody. */
static void
test_read_file_unreadable(void **state)
{
	const char *path = tp_write("secret.pem", "x");
	const char *want = tp_fmt("%s: cannot open: Permission denied", path);
	struct cs_error err = { "" };
	size_t len;
	pid_t pid;
	int status;

	assert_int_equal(chmod(path, 0), 0);
	if (geteuid() != 0) {
		assert_null(cs_pem_read_file(path, &len, &err));
		assert_string_equal(err.msg, want);
		return;
	}
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		bool ok = setgid(65534) == 0 && setuid(65534) == 0 &&
		    cs_pem_read_file(path, &len, &err) == NULL && strcmp(err.msg, want) == 0;

		if (!ok)
			fprintf(stderr, "unreadable: got \"%s\"\n", err.msg);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_certs_table),
		cmocka_unit_test(test_parse_key_table),
		cmocka_unit_test(test_der_certificate_is_explained),
		cmocka_unit_test(test_der_key_is_explained),
		cmocka_unit_test(test_pkcs12_is_explained),
		cmocka_unit_test(test_key_derivation_cost_is_bounded),
		cmocka_unit_test(test_never_reads_past_len),
		cmocka_unit_test(test_input_size_is_bounded),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_file_limits),
		cmocka_unit_test(test_read_file_refusals),
		cmocka_unit_test(test_read_file_unreadable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
