/* test_validate.c: certstore/validate.c, the one validation every served
 * certificate passes. One table of cases over real files: what is in the
 * certificate file, the key file and the trust anchors, and the exact
 * message, warnings, chain and summary expected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"

#define S_LEAF  "CN=mail.example.com, O=Example"
#define S_INTER "CN=Test Intermediate CA, O=Example"
#define S_ROOT  "CN=Test Root CA, O=Example"
#define S_OTHER "CN=other.example.org, O=Example"

/* --- the fixture: certificates and keys by name ----------------------------------- */

struct item {
	const char *name;
	X509 *cert;                     /* or */
	EVP_PKEY *key;                  /* written as a PRIVATE KEY block */
	const char *text;               /* or raw text */
};
static struct item items[64];
static unsigned n_items;
static struct tp_pki pki;

static void
add_cert(const char *name, X509 *x)
{
	items[n_items++] = (struct item){ .name = name, .cert = x };
}

static void
add_key(const char *name, EVP_PKEY *k)
{
	items[n_items++] = (struct item){ .name = name, .key = k };
}

static void
add_text(const char *name, const char *text)
{
	items[n_items++] = (struct item){ .name = name, .text = text };
}

static const struct item *
item(const char *name, size_t len)
{
	for (unsigned i = 0; i < n_items; i++)
		if (strlen(items[i].name) == len && strncmp(items[i].name, name, len) == 0)
			return &items[i];
	fail_msg("unknown item %.*s", (int)len, name);
	return NULL;
}

/* A leaf or CA, with changes to the defaults, signed by issuer. */
static X509 *
cert(struct tp_cert_spec s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	return tp_cert(&s, key, issuer, issuer_key);
}

static struct tp_cert_spec
leaf_spec(void)
{
	return tp_leaf_spec("mail.example.com");
}

static struct tp_cert_spec
with_dates(struct tp_cert_spec s, long not_before, long not_after)
{
	s.not_before_days = not_before;
	s.not_after_days = not_after;
	return s;
}

static struct tp_cert_spec
with_md(struct tp_cert_spec s, enum tp_md md)
{
	s.md = md;
	return s;
}

static void
make_cas(void)
{
	EVP_PKEY *k2 = tp_key(TP_RSA2048, 2), *k3 = tp_key(TP_RSA2048, 3);
	X509 *inter2, *other_root, *root_md5;

	add_cert("root", pki.root);
	add_cert("inter", pki.inter);
	inter2 = cert(tp_ca_spec("Test Intermediate 2"), tp_key(TP_RSA2048, 5), pki.inter,
	    pki.inter_key);
	add_cert("inter2", inter2);
	other_root = cert(tp_ca_spec("Other Root CA"), tp_key(TP_RSA2048, 4), NULL, NULL);
	/* our root's key and name, certified by another root (as ISRG Root X1 by DST) */
	add_cert("root_x", cert(tp_ca_spec("Test Root CA"), pki.root_key, other_root,
	    tp_key(TP_RSA2048, 4)));
	add_cert("other", cert(tp_leaf_spec("other.example.org"), tp_key(TP_RSA2048, 1),
	    other_root, tp_key(TP_RSA2048, 4)));
	add_cert("inter_wrong", cert(tp_ca_spec("Test Intermediate CA"), k3, pki.root,
	    pki.root_key));
	add_cert("inter_sha1", cert(with_md(tp_ca_spec("Test SHA-1 Intermediate CA"), TP_SHA1),
	    k2, pki.root, pki.root_key));
	add_cert("inter_md5", cert(with_md(tp_ca_spec("Test MD5 Intermediate CA"), TP_MD5),
	    k2, pki.root, pki.root_key));
	add_cert("inter_old", cert(with_dates(tp_ca_spec("Test Old Intermediate CA"), -400, -5),
	    k2, pki.root, pki.root_key));
	add_cert("inter_weak", cert(tp_ca_spec("Test Weak Intermediate CA"),
	    tp_key(TP_RSA1024, 1), pki.root, pki.root_key));
	add_cert("notca", cert(tp_leaf_spec("Test Not A CA"), k2, pki.root, pki.root_key));
	root_md5 = cert(with_md(tp_ca_spec("Test MD5 Root CA"), TP_MD5), k2, NULL, NULL);
	add_cert("root_md5", root_md5);
	add_cert("inter_m", cert(tp_ca_spec("Test Intermediate M"), k3, root_md5, k2));
	/* leaves under those CAs, all for the usual key */
	add_cert("leaf2", cert(tp_leaf_spec("imap.example.com"), pki.leaf_key, inter2,
	    tp_key(TP_RSA2048, 5)));
	add_cert("leaf_direct", cert(tp_leaf_spec("direct.example.com"), pki.leaf_key, pki.root,
	    pki.root_key));
	add_cert("leaf_m", cert(leaf_spec(), pki.leaf_key, item("inter_m", 7)->cert, k3));
	add_cert("leaf_u_sha1", cert(leaf_spec(), pki.leaf_key, item("inter_sha1", 10)->cert, k2));
	add_cert("leaf_u_md5", cert(leaf_spec(), pki.leaf_key, item("inter_md5", 9)->cert, k2));
	add_cert("leaf_u_old", cert(leaf_spec(), pki.leaf_key, item("inter_old", 9)->cert, k2));
	add_cert("leaf_u_weak", cert(leaf_spec(), pki.leaf_key, item("inter_weak", 10)->cert,
	    tp_key(TP_RSA1024, 1)));
	add_cert("leaf_u_notca", cert(leaf_spec(), pki.leaf_key, item("notca", 5)->cert, k2));
}

static void
make_leaves(void)
{
	struct tp_cert_spec self = leaf_spec(), self_md5, ca = leaf_spec();
	struct tp_cert_spec client = leaf_spec(), ku = leaf_spec();
	X509 *in = pki.inter;
	EVP_PKEY *ik = pki.inter_key, *lk = pki.leaf_key;

	add_cert("leaf", pki.leaf);
	/* what `openssl req -x509` (Courier's mkimapdcert) makes: CA:TRUE, no keyUsage */
	self.ca = true;
	self.ku = "";
	self.eku = NULL;
	self_md5 = with_md(self, TP_MD5);
	add_cert("self", cert(self, lk, NULL, NULL));
	add_cert("self_md5", cert(self_md5, lk, NULL, NULL));
	add_cert("self_expired", cert(with_dates(self, -365, -1), lk, NULL, NULL));
	add_cert("self_weak", cert(self, tp_key(TP_RSA1024, 0), NULL, NULL));
	add_cert("leaf_ec", cert(leaf_spec(), tp_key(TP_EC_P256, 0), in, ik));
	add_cert("leaf_ed", cert(leaf_spec(), tp_key(TP_ED25519, 0), in, ik));
	add_cert("leaf_expired", cert(with_dates(leaf_spec(), -400, -10), lk, in, ik));
	add_cert("leaf_future", cert(with_dates(leaf_spec(), 3, 365), lk, in, ik));
	add_cert("leaf_soon", cert(with_dates(leaf_spec(), -80, 10), lk, in, ik));
	add_cert("leaf_weak", cert(leaf_spec(), tp_key(TP_RSA1024, 0), in, ik));
	add_cert("leaf_p192", cert(leaf_spec(), tp_key(TP_EC_P192, 0), in, ik));
	add_cert("leaf_md5", cert(with_md(leaf_spec(), TP_MD5), lk, in, ik));
	add_cert("leaf_sha1", cert(with_md(leaf_spec(), TP_SHA1), lk, in, ik));
	ca.ca = true;
	add_cert("leaf_ca", cert(ca, lk, in, ik));
	client.eku = "clientAuth";
	add_cert("leaf_client", cert(client, lk, in, ik));
	ku.ku = "critical,nonRepudiation";
	add_cert("leaf_ku", cert(ku, lk, in, ik));
}

static void
make_keys_and_text(void)
{
	char *big = malloc(CS_PEM_MAX_BYTES + 2);

	assert_non_null(big);
	add_key("k.leaf", pki.leaf_key);
	add_key("k.other", tp_key(TP_RSA2048, 1));
	add_key("k.ec", tp_key(TP_EC_P256, 0));
	add_key("k.ed", tp_key(TP_ED25519, 0));
	add_key("k.weak", tp_key(TP_RSA1024, 0));
	add_key("k.p192", tp_key(TP_EC_P192, 0));
	add_text("k.leaf_enc", tp_pem_key_encrypted(pki.leaf_key, "secret"));
	add_text("dh", "-----BEGIN DH PARAMETERS-----\nMAYCAQICAQI=\n-----END DH PARAMETERS-----\n");
	add_text("badb64", tp_replace(tp_pem_cert(pki.inter), "-----\n", "-----\n!!!!\n"));
	memset(big, '#', CS_PEM_MAX_BYTES + 1);
	big[CS_PEM_MAX_BYTES + 1] = '\0';
	add_text("big", tp_fmt("%s", big));
	free(big);
}

static int
setup(void **state)
{
	tp_pki(&pki);
	make_cas();
	make_leaves();
	make_keys_and_text();
	return 0;
}

static int
teardown(void **state)
{
	tp_cleanup();
	return 0;
}

/* "k.leaf leaf inter*2" -> PEM text. */
static const char *
build(const char *spec)
{
	const char *out = "";

	for (const char *p = spec; *p != '\0';) {
		size_t n = strcspn(p, " *");
		const struct item *it = item(p, n);
		const char *text = it->cert != NULL ? tp_pem_cert(it->cert) :
		    it->key != NULL ? tp_pem_key(it->key) : it->text;
		unsigned long times = 1;

		p += n;
		if (*p == '*') {
			char *end;

			times = strtoul(p + 1, &end, 10);
			p = end;
		}
		while (times-- > 0)
			out = tp_cat(out, text, NULL);
		p += strspn(p, " ");
	}
	return out;
}

/* The certificates named in spec, each in a hashed directory, as CApath wants. */
static const char *
write_ca_path(const char *spec)
{
	const char *dir = tp_path("capath");

	mkdir(dir, 0700);
	for (const char *p = spec; *p != '\0';) {
		size_t n = strcspn(p, " ");
		X509 *x = item(p, n)->cert;

		tp_write(tp_fmt("capath/%08lx.0", X509_subject_name_hash(x)), tp_pem_cert(x));
		p += n;
		p += strspn(p, " ");
	}
	return dir;
}

/* --- the table ------------------------------------------------------------------------ */

struct vcase {
	const char *name;
	const char *cert;               /* items in the certificate file */
	const char *key;                /* items in the key file; NULL: the key is in cert */
	const char *ca_file;            /* items in CAfile, or NULL */
	const char *ca_path;            /* items in a hashed CApath, or NULL */
	const char *error;              /* NULL: accepted; {cert} {key} {ca} are the paths */
	const char *warnings[4];
	const char *chain;              /* accepted: items sent after the leaf */
	const char *summary;            /* accepted: cs_keycert_summary */
};

#define SUMMARY_LEAF_INTER "leaf " S_LEAF ", issued by " S_INTER ", chain 1 (root " S_ROOT \
	" not sent), expires 2031-01-01 (365 days)"
#define W_ROOT(s) "{cert}: root CA " s " is not sent (clients use their own copy; sending " \
	"it only adds bytes): you may remove it from the file"
#define RENEW_SHA256 "which clients refuse: have your CA reissue it with SHA-256"
#define INTER_SHA256 "which clients refuse: replace it with your CA's current (SHA-256) " \
	"intermediate certificate"
#define NEW_KEY "make a new key (RSA 2048 bits or more, or EC P-256) and have the " \
	"certificate reissued for it"

static const struct vcase accepted[] = {
	{ "leaf and intermediate, root trusted by CAfile",
	    "leaf inter", "k.leaf", "root", NULL, NULL, { NULL }, "inter", SUMMARY_LEAF_INTER },
	{ "leaf, intermediate and root in the file: root not sent",
	    "leaf inter root", "k.leaf", NULL, NULL, NULL, { W_ROOT(S_ROOT) }, "inter",
	    SUMMARY_LEAF_INTER },
	{ "shuffled chain of two intermediates is reordered",
	    "leaf2 root inter inter2", "k.leaf", NULL, NULL, NULL,
	    { "{cert}: the chain was out of order and is sent reordered, as certificates 1, 4, 3 "
	      "of the file (each followed by its issuer): reorder the file the same way",
	      W_ROOT(S_ROOT) }, "inter2 inter",
	    "leaf CN=imap.example.com, O=Example, issued by CN=Test Intermediate 2, O=Example, "
	    "chain 2 (root " S_ROOT " not sent), expires 2031-01-01 (365 days)" },
	{ "leaf not first",
	    "inter leaf", "k.leaf", "root", NULL, NULL,
	    { "{cert}: the leaf " S_LEAF " is certificate 2 of 2; it is sent first anyway (put "
	      "it first in the file)" }, "inter", SUMMARY_LEAF_INTER },
	{ "intermediates in order, root first: the root's place does not matter",
	    "leaf root inter", "k.leaf", NULL, NULL, NULL, { W_ROOT(S_ROOT) }, "inter",
	    SUMMARY_LEAF_INTER },
	{ "CA bundle pasted before the leaf",
	    "inter root leaf", "k.leaf", NULL, NULL, NULL,
	    { "{cert}: the leaf " S_LEAF " is certificate 3 of 3; it is sent first anyway (put "
	      "it first in the file)", W_ROOT(S_ROOT) }, "inter", SUMMARY_LEAF_INTER },
	{ "key, leaf and intermediate in one file (qmail servercert.pem)",
	    "k.leaf leaf inter", NULL, "root", NULL, NULL, { NULL }, "inter", SUMMARY_LEAF_INTER },
	{ "self-signed leaf with key and DH parameters (Courier imapd.pem)",
	    "k.leaf self dh", NULL, NULL, NULL, NULL, { NULL }, "",
	    "leaf " S_LEAF ", self-signed, chain 0, expires 2031-01-01 (365 days)" },
	{ "self-signed leaf, unrelated certificate dropped",
	    "self other", "k.leaf", NULL, NULL, NULL,
	    { "{cert}: certificate 2 of 2 (" S_OTHER ") is not part of the chain of the leaf and "
	      "is not sent (remove it from the file)" }, "", NULL },
	{ "EC P-256 key",
	    "leaf_ec inter", "k.ec", "root", NULL, NULL, { NULL }, "inter", SUMMARY_LEAF_INTER },
	{ "Ed25519 key",
	    "leaf_ed inter", "k.ed", "root", NULL, NULL, { NULL }, "inter", SUMMARY_LEAF_INTER },
	{ "leaf issued by a root in CAfile: chain complete with nothing to send",
	    "leaf_direct", "k.leaf", "root", NULL, NULL, { NULL }, "",
	    "leaf CN=direct.example.com, O=Example, issued by " S_ROOT ", chain 0 (root " S_ROOT
	    " not sent), expires 2031-01-01 (365 days)" },
	{ "root found in a hashed CApath",
	    "leaf inter", "k.leaf", NULL, "root", NULL, { NULL }, "inter", SUMMARY_LEAF_INTER },
	{ "missing intermediate found in CAfile is sent from there",
	    "leaf", "k.leaf", "root inter", NULL, NULL,
	    { "{cert}: intermediate CA " S_INTER " is not in the file; it is sent from the trust "
	      "store (append it to {cert} after " S_LEAF ")" }, "inter", SUMMARY_LEAF_INTER },
	{ "root in the file, intermediate only in CAfile",
	    "leaf root", "k.leaf", "inter", NULL, NULL,
	    { "{cert}: intermediate CA " S_INTER " is not in the file; it is sent from the trust "
	      "store (append it to {cert} after " S_LEAF ")", W_ROOT(S_ROOT) }, "inter",
	    SUMMARY_LEAF_INTER },
	{ "wrong intermediate in the file, the right one in CAfile",
	    "leaf inter_wrong", "k.leaf", "root inter", NULL, NULL,
	    { "{cert}: intermediate CA " S_INTER " is not in the file; it is sent from the trust "
	      "store (append it to {cert} after " S_LEAF ")",
	      "{cert}: certificate 2 of 2 (" S_INTER ") is not part of the chain of the leaf and "
	      "is not sent (remove it from the file)" }, "inter", SUMMARY_LEAF_INTER },
	{ "cross-signed root sent last, its self-signed twin trusted",
	    "leaf inter root_x", "k.leaf", "root", NULL, NULL, { NULL }, "inter root_x",
	    "leaf " S_LEAF ", issued by " S_INTER ", chain 2 (root " S_ROOT " not sent), expires "
	    "2031-01-01 (365 days)" },
	{ "unrelated certificate dropped",
	    "leaf inter other", "k.leaf", "root", NULL, NULL,
	    { "{cert}: certificate 3 of 3 (" S_OTHER ") is not part of the chain of the leaf and "
	      "is not sent (remove it from the file)" }, "inter", SUMMARY_LEAF_INTER },
	{ "duplicate intermediate sent once",
	    "leaf inter inter", "k.leaf", "root", NULL, NULL,
	    { "{cert}: certificate 3 of 3 (" S_INTER ") is a duplicate and is sent once (remove "
	      "it from the file)" }, "inter", SUMMARY_LEAF_INTER },
	{ "old certificate for the same key left in the file",
	    "leaf_expired leaf inter", "k.leaf", "root", NULL, NULL,
	    { "{cert}: the leaf " S_LEAF " is certificate 2 of 3; it is sent first anyway (put "
	      "it first in the file)",
	      "{cert}: certificate 1 of 3 (" S_LEAF ") is another certificate for the same key "
	      "and is not sent (remove it from the file)" }, "inter", SUMMARY_LEAF_INTER },
	{ "leaf expiring in 10 days",
	    "leaf_soon inter", "k.leaf", "root", NULL, NULL,
	    { "{cert}: certificate " S_LEAF " expires 2030-01-11 00:00 UTC (in 10 days): renew "
	      "it soon" }, "inter",
	    "leaf " S_LEAF ", issued by " S_INTER ", chain 1 (root " S_ROOT " not sent), expires "
	    "2030-01-11 (10 days)" },
	{ "a root's own MD5 self-signature does not matter",
	    "leaf_m inter_m root_md5", "k.leaf", NULL, NULL, NULL,
	    { W_ROOT("CN=Test MD5 Root CA, O=Example") }, "inter_m", NULL },
};

static const struct vcase refused[] = {
	{ "key does not match",
	    "leaf inter", "k.other", "root", NULL,
	    "{key}: the private key does not match certificate " S_LEAF " in {cert} (key: RSA "
	    "2048 bits; certificate: RSA 2048 bits): use the key the certificate request was made "
	    "with, or have the certificate reissued for this key", { NULL }, NULL, NULL },
	{ "key of another type, leaf not first",
	    "inter leaf", "k.ec", "root", NULL,
	    "{key}: the private key does not match certificate " S_LEAF " in {cert} (key: EC "
	    "P-256; certificate: RSA 2048 bits): use the key the certificate request was made "
	    "with, or have the certificate reissued for this key", { NULL }, NULL, NULL },
	{ "missing intermediate (qmail error 140943F2)",
	    "k.leaf leaf", NULL, "root", NULL,
	    "{cert}: incomplete chain: the issuer of " S_LEAF " (" S_INTER ") is neither in {cert} "
	    "nor a trusted root: append that intermediate CA certificate to {cert} after the leaf",
	    { NULL }, NULL, NULL },
	{ "second intermediate missing",
	    "leaf2 inter2", "k.leaf", "root", NULL,
	    "{cert}: incomplete chain: the issuer of CN=Test Intermediate 2, O=Example (" S_INTER
	    ") is neither in {cert} nor a trusted root: append that CA certificate to {cert} after "
	    "CN=Test Intermediate 2, O=Example, or if it is a root CA, add it to the trusted CAs "
	    "(CAfile)", { NULL }, NULL, NULL },
	{ "root neither in the file nor trusted",
	    "leaf inter", "k.leaf", NULL, NULL,
	    "{cert}: incomplete chain: the issuer of " S_INTER " (" S_ROOT ") is neither in {cert} "
	    "nor a trusted root: append that CA certificate to {cert} after " S_INTER ", or if it "
	    "is a root CA, add it to the trusted CAs (CAfile)", { NULL }, NULL, NULL },
	{ "intermediate with the right name and the wrong key",
	    "leaf inter_wrong", "k.leaf", "root", NULL,
	    "{cert}: certificate 2 of 2 (" S_INTER ") has the name of the issuer of " S_LEAF " but "
	    "did not sign it (an old or a different intermediate): replace it with the "
	    "intermediate CA certificate that issued " S_LEAF, { NULL }, NULL, NULL },
	{ "expired leaf",
	    "leaf_expired inter", "k.leaf", "root", NULL,
	    "{cert}: certificate " S_LEAF " expired 2029-12-22 00:00 UTC (10 days ago): renew it "
	    "and install the new certificate", { NULL }, NULL, NULL },
	{ "expired intermediate",
	    "leaf_u_old inter_old", "k.leaf", "root", NULL,
	    "{cert}: intermediate CA CN=Test Old Intermediate CA, O=Example expired 2029-12-27 "
	    "00:00 UTC (5 days ago): replace it with your CA's current intermediate certificate",
	    { NULL }, NULL, NULL },
	{ "leaf not yet valid",
	    "leaf_future inter", "k.leaf", "root", NULL,
	    "{cert}: certificate " S_LEAF " is not valid before 2030-01-04 00:00 UTC (in 3 days): "
	    "check the system clock, or wait until then", { NULL }, NULL, NULL },
	{ "RSA 1024 leaf (Courier's default_bits = 1024)",
	    "leaf_weak inter", "k.weak", "root", NULL,
	    "{cert}: certificate " S_LEAF " has a 1024-bit RSA key, too weak (at least 2048 bits): "
	    NEW_KEY, { NULL }, NULL, NULL },
	{ "EC P-192 leaf",
	    "leaf_p192 inter", "k.p192", "root", NULL,
	    "{cert}: certificate " S_LEAF " has a 192-bit EC key, too weak (at least 224 bits): "
	    NEW_KEY, { NULL }, NULL, NULL },
	{ "RSA 1024 intermediate",
	    "leaf_u_weak inter_weak", "k.leaf", "root", NULL,
	    "{cert}: intermediate CA CN=Test Weak Intermediate CA, O=Example has a 1024-bit RSA "
	    "key, too weak (at least 2048 bits): replace it with your CA's current intermediate "
	    "certificate", { NULL }, NULL, NULL },
	{ "MD5-signed leaf (default_md = md5)",
	    "leaf_md5 inter", "k.leaf", "root", NULL,
	    "{cert}: certificate " S_LEAF " is signed with MD5 (md5WithRSAEncryption), "
	    RENEW_SHA256, { NULL }, NULL, NULL },
	{ "SHA-1-signed leaf",
	    "leaf_sha1 inter", "k.leaf", "root", NULL,
	    "{cert}: certificate " S_LEAF " is signed with SHA-1 (sha1WithRSAEncryption), "
	    RENEW_SHA256, { NULL }, NULL, NULL },
	{ "SHA-1-signed intermediate",
	    "leaf_u_sha1 inter_sha1", "k.leaf", "root", NULL,
	    "{cert}: intermediate CA CN=Test SHA-1 Intermediate CA, O=Example is signed with SHA-1 "
	    "(sha1WithRSAEncryption), " INTER_SHA256, { NULL }, NULL, NULL },
	{ "MD5-signed intermediate",
	    "leaf_u_md5 inter_md5", "k.leaf", "root", NULL,
	    "{cert}: intermediate CA CN=Test MD5 Intermediate CA, O=Example is signed with MD5 "
	    "(md5WithRSAEncryption), " INTER_SHA256, { NULL }, NULL, NULL },
	{ "MD5 self-signed leaf",
	    "k.leaf self_md5", NULL, NULL, NULL,
	    "{cert}: certificate " S_LEAF " is signed with MD5 (md5WithRSAEncryption), which "
	    "clients refuse: make it again signed with SHA-256 (openssl req -x509 -sha256 ...)",
	    { NULL }, NULL, NULL },
	{ "Courier's self-signed certificate expired after a year",
	    "k.leaf self_expired dh", NULL, NULL, NULL,
	    "{cert}: certificate " S_LEAF " expired 2029-12-31 00:00 UTC (1 day ago): make a new "
	    "self-signed certificate and install it", { NULL }, NULL, NULL },
	{ "self-signed leaf with an RSA 1024 key (mkimapdcert, default_bits = 1024)",
	    "k.weak self_weak", NULL, NULL, NULL,
	    "{cert}: certificate " S_LEAF " has a 1024-bit RSA key, too weak (at least 2048 bits): "
	    "make a new key (RSA 2048 bits or more, or EC P-256) and a new self-signed certificate "
	    "with it", { NULL }, NULL, NULL },
	{ "CA certificate used as the leaf",
	    "leaf_ca inter", "k.leaf", "root", NULL,
	    "{cert}: certificate " S_LEAF " is a CA certificate (basicConstraints CA:TRUE), not a "
	    "server certificate, and clients such as Thunderbird refuse it: issue a server "
	    "certificate with this CA and use that", { NULL }, NULL, NULL },
	{ "client certificate used as the leaf",
	    "leaf_client inter", "k.leaf", "root", NULL,
	    "{cert}: certificate " S_LEAF " is not for TLS servers (its extendedKeyUsage lacks "
	    "serverAuth): request a server certificate", { NULL }, NULL, NULL },
	{ "keyUsage forbids TLS",
	    "leaf_ku inter", "k.leaf", "root", NULL,
	    "{cert}: certificate " S_LEAF " is not for TLS servers (its keyUsage allows neither "
	    "digitalSignature nor keyEncipherment): request a server certificate",
	    { NULL }, NULL, NULL },
	{ "issuer that is not a CA",
	    "leaf_u_notca notca", "k.leaf", "root", NULL,
	    "{cert}: CN=Test Not A CA, O=Example issued " S_LEAF " but is not a CA certificate "
	    "(no basicConstraints CA:TRUE), so clients refuse the chain: replace it with your CA's "
	    "intermediate certificate", { NULL }, NULL, NULL },
	{ "encrypted key, no passphrase",
	    "leaf inter", "k.leaf_enc", "root", NULL,
	    "{key}: the private key is encrypted and no passphrase was given (certwrap never "
	    "prompts): store it unencrypted, readable only by root, with \"openssl pkey -in {key} "
	    "-out {key}.plain\"", { NULL }, NULL, NULL },
	{ "no key in the certificate file",
	    "leaf inter", NULL, "root", NULL,
	    "{cert}: no private key found (expected a PRIVATE KEY block; set key = to the file "
	    "that holds it)", { NULL }, NULL, NULL },
	{ "no certificate",
	    "k.leaf", NULL, "root", NULL,
	    "{cert}: no certificate found (expected a CERTIFICATE block; set cert = to the file "
	    "that holds it)", { NULL }, NULL, NULL },
	{ "cert and key swapped",
	    "k.leaf", "leaf inter", "root", NULL,
	    "{cert}: no certificate found (expected a CERTIFICATE block; set cert = to the file "
	    "that holds it)", { NULL }, NULL, NULL },
	{ "malformed PEM",
	    "leaf badb64", "k.leaf", "root", NULL,
	    "{cert}: certificate 2 of 2 is not valid PEM/DER: bad base64 encoding",
	    { NULL }, NULL, NULL },
	{ "too many certificates",
	    "leaf inter*16", "k.leaf", "root", NULL,
	    "{cert}: too many certificates (17, at most 16): the file holds the leaf and its "
	    "chain; a bundle of trusted CAs belongs in CAfile", { NULL }, NULL, NULL },
	{ "file too large",
	    "big", "k.leaf", NULL, NULL,
	    "{cert}: too large (1048577 bytes, at most 1048576): expected a PEM certificate or key "
	    "file", { NULL }, NULL, NULL },
};

/* --- running a case ----------------------------------------------------------------------- */

struct paths {
	const char *cert, *key, *ca;
};

static const char *
expand(const char *s, const struct paths *p)
{
	return tp_replace(tp_replace(tp_replace(s, "{cert}", p->cert), "{key}", p->key),
	    "{ca}", p->ca != NULL ? p->ca : "(none)");
}

static void
check_chain(const struct cs_keycert *kc, const char *spec)
{
	STACK_OF(X509) *chain = cs_keycert_chain(kc);
	int n = 0;

	for (const char *p = spec; *p != '\0'; n++) {
		size_t len = strcspn(p, " ");

		assert_true(n < sk_X509_num(chain));
		assert_int_equal(X509_cmp(sk_X509_value(chain, n), item(p, len)->cert), 0);
		p += len;
		p += strspn(p, " ");
	}
	assert_int_equal(sk_X509_num(chain), n);
}

static void
run_case(const struct vcase *c)
{
	struct paths p = { tp_path("cert.pem"), NULL, NULL };
	struct cs_trust trust = { .use_system = false };
	struct cs_warnings w;
	struct cs_error err = { "" };
	struct cs_keycert *kc;
	unsigned n = 0;

	print_message("case: %s\n", c->name);
	tp_write("cert.pem", build(c->cert));
	p.key = c->key != NULL ? tp_write("key.pem", build(c->key)) : p.cert;
	if (c->ca_file != NULL)
		trust.ca_file = p.ca = tp_write("ca.pem", build(c->ca_file));
	if (c->ca_path != NULL)
		trust.ca_path = write_ca_path(c->ca_path);
	memset(&w, 0xA5, sizeof(w));
	kc = cs_keycert_load_files(p.cert, c->key != NULL ? p.key : NULL, &trust, TP_NOW, &w, &err);
	if (c->error != NULL) {
		assert_null(kc);
		assert_string_equal(err.msg, expand(c->error, &p));
		return;
	}
	if (kc == NULL)
		fail_msg("refused: %s", err.msg);
	for (; n < 4 && c->warnings[n] != NULL; n++) {
		assert_true(n < w.count);
		assert_string_equal(w.msg[n], expand(c->warnings[n], &p));
	}
	for (unsigned i = n; i < w.count; i++)
		print_error("unexpected warning: %s\n", w.msg[i]);
	assert_int_equal(w.count, n);
	check_chain(kc, c->chain);
	if (c->summary != NULL)
		assert_string_equal(cs_keycert_summary(kc), c->summary);
	cs_keycert_free(kc);
}

static void
test_accepted(void **state)
{
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		run_case(&accepted[i]);
}

static void
test_refused(void **state)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		run_case(&refused[i]);
}

/* --- the API without files ------------------------------------------------------------------- */

static STACK_OF(X509) *
stack_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *s = sk_X509_new_null();

	assert_non_null(s);
	assert_true(sk_X509_push(s, a) > 0);
	if (b != NULL)
		assert_true(sk_X509_push(s, b) > 0);
	return s;
}

static void
test_validate_in_memory(void **state)
{
	STACK_OF(X509) *certs = stack_of(pki.inter, pki.leaf);
	struct cs_trust trust = { .ca_file = tp_write("ca.pem", tp_pem_cert(pki.root)) };
	struct cs_error err = { "" };
	struct cs_keycert *kc;

	/* warnings may be NULL; the caller keeps its stack and key */
	kc = cs_keycert_validate(certs, "NAME@3", pki.leaf_key, "NAME@3", &trust, TP_NOW, NULL,
	    &err);
	sk_X509_free(certs);
	assert_non_null(kc);
	assert_ptr_equal(cs_keycert_leaf(kc), pki.leaf);
	assert_ptr_equal(cs_keycert_key(kc), pki.leaf_key);
	assert_int_equal(sk_X509_num(cs_keycert_chain(kc)), 1);
	assert_ptr_equal(sk_X509_value(cs_keycert_chain(kc), 0), pki.inter);
	assert_true(cs_keycert_not_after(kc) == TP_NOW + 365 * TP_DAY);
	assert_string_equal(cs_keycert_subject(kc), S_LEAF);
	assert_string_equal(cs_keycert_summary(kc), SUMMARY_LEAF_INTER);
	cs_keycert_free(kc);
	cs_keycert_free(NULL);
}

static void
test_validate_bad_arguments(void **state)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	struct cs_error err = { "" };

	assert_null(cs_keycert_validate(NULL, "a.pem", pki.leaf_key, "a.key", NULL, TP_NOW, NULL,
	    &err));
	assert_string_equal(err.msg, "a.pem: no certificate found");
	assert_null(cs_keycert_validate(certs, "a.pem", pki.leaf_key, "a.key", NULL, TP_NOW, NULL,
	    &err));
	assert_string_equal(err.msg, "a.pem: no certificate found");
	for (int i = 0; i < CS_PEM_MAX_CERTS + 1; i++)
		assert_true(sk_X509_push(certs, pki.leaf) > 0);
	assert_null(cs_keycert_validate(certs, "a.pem", pki.leaf_key, "a.key", NULL, TP_NOW, NULL,
	    &err));
	assert_string_equal(err.msg, "a.pem: too many certificates (17, at most 16)");
	sk_X509_free(certs);
	certs = stack_of(pki.leaf, pki.inter);
	assert_null(cs_keycert_validate(certs, "a.pem", NULL, "a.key", NULL, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, "a.key: no private key found");
	/* err may be NULL too */
	assert_null(cs_keycert_validate(certs, "a.pem", pki.leaf_key, "a.key", NULL, TP_NOW, NULL,
	    NULL));
	sk_X509_free(certs);
}

/* --- trust anchors and files that cannot be used ----------------------------------------------- */

static void
test_trust_sources_refused(void **state)
{
	const char *cert = tp_write("cert.pem", build("k.leaf leaf inter"));
	const char *missing = tp_path("missing.pem"), *junk = tp_write("junk.pem", "junk\n");
	struct cs_trust trust = { .ca_file = missing };
	struct cs_error err = { "" };

	assert_null(cs_keycert_load_files(cert, NULL, &trust, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: cannot read the CA file: No such file or "
	    "directory", missing));
	trust.ca_file = tp_dir();
	assert_null(cs_keycert_load_files(cert, NULL, &trust, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: cannot read the CA file: not a regular file",
	    tp_dir()));
	trust.ca_file = junk;
	assert_null(cs_keycert_load_files(cert, NULL, &trust, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: no CA certificate could be read from the CA file "
	    "(no certificate or crl found)", junk));
	trust.ca_file = NULL;
	trust.ca_path = junk;
	assert_null(cs_keycert_load_files(cert, NULL, &trust, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: cannot use the CA directory: not a directory",
	    junk));
	trust.ca_path = missing;
	assert_null(cs_keycert_load_files(cert, NULL, &trust, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: cannot use the CA directory: No such file or "
	    "directory", missing));
}

static void
test_files_refused(void **state)
{
	const char *cert = tp_write("cert.pem", build("leaf inter"));
	const char *missing = tp_path("missing.pem");
	struct cs_error err = { "" };

	assert_null(cs_keycert_load_files(missing, NULL, NULL, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: cannot open: No such file or directory", missing));
	assert_null(cs_keycert_load_files(cert, missing, NULL, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: cannot open: No such file or directory", missing));
	assert_null(cs_keycert_load_files(tp_dir(), NULL, NULL, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: not a regular file (a directory): expected a PEM "
	    "file", tp_dir()));
}

/* The system store holds public roots, not ours: the chain stays incomplete,
 * and loading it must neither fail nor leak. */
static void
test_system_store(void **state)
{
	const char *cert = tp_write("cert.pem", build("k.leaf leaf inter"));
	struct cs_trust trust = { .use_system = true };
	struct cs_error err = { "" };

	assert_null(cs_keycert_load_files(cert, NULL, &trust, TP_NOW, NULL, &err));
	assert_string_equal(err.msg, tp_fmt("%s: incomplete chain: the issuer of " S_INTER " ("
	    S_ROOT ") is neither in %s nor a trusted root: append that CA certificate to %s "
	    "after " S_INTER ", or if it is a root CA, add it to the trusted CAs (CAfile)",
	    cert, cert, cert));
}

static void
test_world_readable_key_is_a_warning(void **state)
{
	const char *cert = tp_write("cert.pem", build("leaf inter root"));
	const char *key = tp_write("key.pem", build("k.leaf"));
	struct cs_warnings w;
	struct cs_error err = { "" };
	struct cs_keycert *kc;

	assert_int_equal(chmod(key, 0644), 0);
	kc = cs_keycert_load_files(cert, key, NULL, TP_NOW, &w, &err);
	assert_non_null(kc);
	assert_int_equal(w.count, 2);
	assert_string_equal(w.msg[1], tp_fmt("%s: the private key is readable by every user "
	    "(mode 0644): chmod o-rwx %s", key, key));
	cs_keycert_free(kc);
}

/* 16 warnings from the validation, and one more for the key file: the list
 * keeps 15 and says that more were left out. */
static void
test_warnings_are_bounded(void **state)
{
	const char *cert = tp_write("cert.pem", build("other*13 inter leaf_soon root"));
	const char *key = tp_write("key.pem", build("k.leaf"));
	struct cs_warnings w;
	struct cs_error err = { "" };
	struct cs_keycert *kc;

	assert_int_equal(chmod(key, 0644), 0);
	kc = cs_keycert_load_files(cert, key, NULL, TP_NOW, &w, &err);
	assert_non_null(kc);
	assert_int_equal(w.count, CS_MAX_WARNINGS);
	assert_string_equal(w.msg[0], tp_fmt("%s: the leaf " S_LEAF " is certificate 15 of 16; it "
	    "is sent first anyway (put it first in the file)", cert));
	assert_string_equal(w.msg[14], tp_fmt("%s: certificate 13 of 16 (" S_OTHER ") is not part "
	    "of the chain of the leaf and is not sent (remove it from the file)", cert));
	assert_string_equal(w.msg[CS_MAX_WARNINGS - 1], "(more warnings left out)");
	cs_keycert_free(kc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_validate_in_memory),
		cmocka_unit_test(test_validate_bad_arguments),
		cmocka_unit_test(test_trust_sources_refused),
		cmocka_unit_test(test_files_refused),
		cmocka_unit_test(test_system_store),
		cmocka_unit_test(test_world_readable_key_is_a_warning),
		cmocka_unit_test(test_warnings_are_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
