/* validate.c: the one validation every served certificate passes.
 *
 * cs_keycert_validate() is the single entry point (the daemon at start and
 * reload, the store, the control socket all call it). It runs in steps, each
 * a small function that writes its own message: find the leaf by the key,
 * build the chain upward (each issuer from the file if it is there, else from
 * the trust anchors), note what was repaired, then check every certificate
 * that will be sent.
 *
 * Decisions an operator will meet:
 *  - A self-signed leaf (Courier's mkimapdcert, `openssl req -x509`) is fine,
 *    even with basicConstraints CA:TRUE, which `openssl req -x509` adds: it is
 *    its own root, and clients trust it by being told to.
 *  - A leaf issued by a CA but itself CA:TRUE is refused: it is a CA
 *    certificate used as a server certificate, which NSS clients (Thunderbird)
 *    refuse. So is a leaf whose keyUsage/extendedKeyUsage forbid TLS servers.
 *  - An intermediate that is in a trust anchor source (CAfile, CApath) but not
 *    in the file is sent from there, with a warning, since OpenSSL's clients
 *    and the operator's intent both want a complete chain.
 *  - The root's self-signature and dates are not checked: it is not sent, and
 *    the client's own copy is what counts. A self-signed leaf is sent, so it
 *    is checked like any leaf, MD5 or SHA-1 self-signature included. */
#include "certstore/internal.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define SUBJECT_MAX      256
#define SUMMARY_MAX      1024
#define KEYDESC_MAX      64
#define SECONDS_PER_DAY  86400
/* certificates after the leaf: the file's, plus a few from the trust store */
#define CHAIN_MAX        (CS_PEM_MAX_CERTS + 4)

struct cs_keycert {
	EVP_PKEY *key;
	X509 *leaf;
	STACK_OF(X509) *chain;          /* sent after the leaf, in order */
	X509 *root;                     /* not sent; NULL for a self-signed leaf */
	bool self_signed;               /* the leaf is its own root */
	time_t not_after;
	char subject[SUBJECT_MAX];
	char summary[SUMMARY_MAX];
};

enum role { ROLE_LEAF, ROLE_INTERMEDIATE, ROLE_STORE_INTERMEDIATE };

/* One validation in progress. */
struct vctx {
	STACK_OF(X509) *certs;          /* the input, borrowed */
	int ncerts;
	const char *cert_name, *key_name;
	const struct cs_trust *trust;
	STACK_OF(X509) *anchors;        /* more trust anchors, borrowed; or NULL */
	time_t now;
	struct cs_warnings *warn;
	struct cs_error *err;

	int leaf_idx;
	bool used[CS_PEM_MAX_CERTS];    /* leaf, chain or root */
	int chain_idx[CHAIN_MAX];       /* file index of chain[i]; -1: from the store */
	int root_idx;                   /* -1: the root is not in the file */
	int near_idx;                   /* has the name of the last missing issuer, did not
	                                   sign (an old or a different intermediate) */
	bool self_signed_leaf;

	bool store_tried, store_failed;
	X509_STORE *store;              /* trust anchors, loaded on first need */
	X509_STORE_CTX *store_ctx;
	struct cs_keycert *kc;          /* what is being built */
};

/* --- small helpers -------------------------------------------------------------- */

static X509 *
cert_at(const struct vctx *v, int i)
{
	return sk_X509_value(v->certs, i);
}

static const char *
subject(X509 *x, char *buf)
{
	cs_name_oneline(X509_get_subject_name(x), buf, SUBJECT_MAX);
	return buf;
}

static bool
self_signed(X509 *x)
{
	return X509_self_signed(x, 1) == 1;
}

/* issuer's name, key identifier and key usage fit x, and its key verifies
 * x's signature: the name alone proves nothing. */
static bool
signed_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);

	return k != NULL && X509_check_issued(issuer, x) == X509_V_OK && X509_verify(x, k) == 1;
}

static bool
valid_at(X509 *x, time_t now)
{
	time_t nb, na;

	return cs_time_from_asn1(X509_get0_notBefore(x), &nb) == 0 &&
	    cs_time_from_asn1(X509_get0_notAfter(x), &na) == 0 && nb <= now && now <= na;
}

/* Of two candidates, is a better than b: valid now, then expiring later. */
static bool
better(X509 *a, X509 *b, time_t now)
{
	if (valid_at(a, now) != valid_at(b, now))
		return valid_at(a, now);
	return ASN1_TIME_compare(X509_get0_notAfter(a), X509_get0_notAfter(b)) > 0;
}

/* "RSA 2048 bits", "EC P-256", "Ed25519". */
static void
key_describe(EVP_PKEY *k, char *buf, size_t len)
{
	char group[48];
	int id = k != NULL ? EVP_PKEY_get_base_id(k) : NID_undef;
	const char *nist;

	if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS || id == EVP_PKEY_DSA)
		snprintf(buf, len, "%s %d bits", id == EVP_PKEY_DSA ? "DSA" : "RSA",
		    EVP_PKEY_get_bits(k));
	else if (id == EVP_PKEY_EC && EVP_PKEY_get_group_name(k, group, sizeof(group), NULL))
		snprintf(buf, len, "EC %s", (nist = EC_curve_nid2nist(OBJ_sn2nid(group))) != NULL ?
		    nist : group);
	else if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		snprintf(buf, len, "%s", id == EVP_PKEY_ED25519 ? "Ed25519" : "Ed448");
	else
		snprintf(buf, len, "%s", id != NID_undef ? OBJ_nid2sn(id) : "unknown type");
}

/* "certificate CN=x", "intermediate CA CN=y (from the trust store)". */
static const char *
describe(X509 *x, enum role role, char *buf, size_t len)
{
	char s[SUBJECT_MAX];

	snprintf(buf, len, "%s %s%s", role == ROLE_LEAF ? "certificate" : "intermediate CA",
	    subject(x, s), role == ROLE_STORE_INTERMEDIATE ? " (from the trust store)" : "");
	return buf;
}

static int
oom(struct vctx *v)
{
	cs_error_set(v->err, "%s: out of memory", v->cert_name);
	return -1;
}

/* Appends x to the chain to send; takes the caller's reference. */
static int
chain_push(struct vctx *v, X509 *x, int file_idx)
{
	int n = sk_X509_num(v->kc->chain);

	if (n >= CHAIN_MAX || sk_X509_push(v->kc->chain, x) == 0) {
		X509_free(x);
		return oom(v);
	}
	v->chain_idx[n] = file_idx;
	return 0;
}

/* --- step 1: the leaf is the certificate of the key -------------------------------- */

/* A best guess at the intended leaf when the key matches none: the first
 * certificate that issued no other certificate in the file. */
static int
guess_leaf(const struct vctx *v)
{
	for (int i = 0; i < v->ncerts; i++) {
		bool issuer = false;

		for (int j = 0; j < v->ncerts && !issuer; j++)
			issuer = j != i && X509_NAME_cmp(X509_get_subject_name(cert_at(v, i)),
			    X509_get_issuer_name(cert_at(v, j))) == 0;
		if (!issuer)
			return i;
	}
	return 0;
}

static int
key_mismatch(struct vctx *v)
{
	X509 *guess = cert_at(v, guess_leaf(v));
	char s[SUBJECT_MAX], kd[KEYDESC_MAX], cd[KEYDESC_MAX];

	key_describe(v->kc->key, kd, sizeof(kd));
	key_describe(X509_get0_pubkey(guess), cd, sizeof(cd));
	cs_error_set(v->err, "%s: the private key does not match certificate %s in %s "
	    "(key: %s; certificate: %s): use the key the certificate request was made with, "
	    "or have the certificate reissued for this key", v->key_name, subject(guess, s),
	    v->cert_name, kd, cd);
	return -1;
}

static int
find_leaf(struct vctx *v)
{
	int best = -1;

	for (int i = 0; i < v->ncerts; i++) {
		EVP_PKEY *pub = X509_get0_pubkey(cert_at(v, i));

		if (pub == NULL || EVP_PKEY_eq(pub, v->kc->key) != 1)
			continue;
		/* a renewed certificate for the same key may sit next to the old one */
		if (best == -1 || better(cert_at(v, i), cert_at(v, best), v->now))
			best = i;
	}
	if (best == -1)
		return key_mismatch(v);
	v->leaf_idx = best;
	v->used[best] = true;
	v->kc->leaf = cert_at(v, best);
	X509_up_ref(v->kc->leaf);
	subject(v->kc->leaf, v->kc->subject);
	return 0;
}

/* --- the trust anchors ------------------------------------------------------------------ */

static int
load_ca_file(struct vctx *v, const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		cs_error_set(v->err, "%s: cannot read the CA file: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		cs_error_set(v->err, "%s: cannot read the CA file: not a regular file", path);
		return -1;
	}
	if (X509_STORE_load_file(v->store, path) != 1) {
		cs_error_set(v->err, "%s: no CA certificate could be read from the CA file (%s)",
		    path, cs_ossl_reason("not PEM"));
		return -1;
	}
	return 0;
}

static int
load_ca_path(struct vctx *v, const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		cs_error_set(v->err, "%s: cannot use the CA directory: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cs_error_set(v->err, "%s: cannot use the CA directory: not a directory", path);
		return -1;
	}
	if (X509_STORE_load_path(v->store, path) != 1) {
		cs_error_set(v->err, "%s: cannot use the CA directory (%s)", path,
		    cs_ossl_reason("unknown error"));
		return -1;
	}
	return 0;
}

static int
store_open(struct vctx *v)
{
	static const struct cs_trust no_trust;
	const struct cs_trust *t = v->trust != NULL ? v->trust : &no_trust;

	if ((v->store = X509_STORE_new()) == NULL || (v->store_ctx = X509_STORE_CTX_new()) == NULL)
		return oom(v);
	if ((t->ca_file != NULL && load_ca_file(v, t->ca_file) == -1) ||
	    (t->extra_file != NULL && load_ca_file(v, t->extra_file) == -1) ||
	    (t->ca_path != NULL && load_ca_path(v, t->ca_path) == -1))
		return -1;
	for (int i = 0; i < sk_X509_num(v->anchors); i++)
		if (X509_STORE_add_cert(v->store, sk_X509_value(v->anchors, i)) != 1)
			return oom(v);
	if (t->use_system && X509_STORE_set_default_paths(v->store) != 1) {
		cs_error_set(v->err, "%s: cannot load the system's trusted CA certificates (%s)",
		    v->cert_name, cs_ossl_reason("unknown error"));
		return -1;
	}
	if (X509_STORE_CTX_init(v->store_ctx, v->store, v->kc->leaf, NULL) != 1)
		return oom(v);
	return 0;
}

/* The trust anchors, opened on first need (a chain that ends at a root in
 * the file never reads them). None configured leaves v->store NULL. A
 * failure is reported once; the caller stops at it. */
static int
store_load(struct vctx *v)
{
	const struct cs_trust *t = v->trust;

	if (v->store_tried)
		return v->store_failed ? -1 : 0;
	v->store_tried = true;
	if (sk_X509_num(v->anchors) <= 0 && (t == NULL || (t->ca_file == NULL &&
	    t->extra_file == NULL && t->ca_path == NULL && !t->use_system)))
		return 0;
	if (store_open(v) == 0)
		return 0;
	v->store_failed = true;
	return -1;
}

/* A trust anchor that issued x (a self-signed one if root_only), with a
 * reference for the caller, or NULL in *out. */
static int
store_issuer(struct vctx *v, X509 *x, bool root_only, X509 **out)
{
	STACK_OF(X509) *found;

	*out = NULL;
	if (store_load(v) == -1)
		return -1;
	if (v->store == NULL)
		return 0;
	found = X509_STORE_CTX_get1_certs(v->store_ctx, X509_get_issuer_name(x));
	for (int i = 0; i < sk_X509_num(found); i++) {
		X509 *c = sk_X509_value(found, i);

		if (!signed_by(x, c) || (root_only && !self_signed(c)))
			continue;
		if (*out == NULL || better(c, *out, v->now))
			*out = c;
	}
	if (*out != NULL)
		X509_up_ref(*out);
	sk_X509_pop_free(found, X509_free);
	return 0;
}

static bool
on_chain(const struct vctx *v, X509 *x)
{
	for (int i = 0; i < sk_X509_num(v->kc->chain); i++)
		if (X509_cmp(sk_X509_value(v->kc->chain, i), x) == 0)
			return true;
	return X509_cmp(v->kc->leaf, x) == 0;
}

static int
incomplete(struct vctx *v, X509 *cur)
{
	char of[SUBJECT_MAX], missing[SUBJECT_MAX], near[SUBJECT_MAX];

	subject(cur, of);
	cs_name_oneline(X509_get_issuer_name(cur), missing, sizeof(missing));
	if (v->near_idx != -1)
		cs_error_set(v->err, "%s: certificate %d of %d (%s) has the name of the issuer "
		    "of %s but did not sign it (an old or a different intermediate): replace it "
		    "with the intermediate CA certificate that issued %s", v->cert_name,
		    v->near_idx + 1, v->ncerts, subject(cert_at(v, v->near_idx), near), of, of);
	else if (cur == v->kc->leaf)
		cs_error_set(v->err, "%s: incomplete chain: the issuer of %s (%s) is neither in "
		    "%s nor a trusted root: append that intermediate CA certificate to %s after "
		    "the leaf", v->cert_name, of, missing, v->cert_name, v->cert_name);
	else            /* above an intermediate, the missing one may be an untrusted root */
		cs_error_set(v->err, "%s: incomplete chain: the issuer of %s (%s) is neither in "
		    "%s nor a trusted root: append that CA certificate to %s after %s, or if it "
		    "is a root CA, add it to the trusted CAs (CAfile)", v->cert_name, of, missing,
		    v->cert_name, v->cert_name, of);
	return -1;
}

/* A root in the store may have issued a certificate below the end of the
 * chain: the file then ends with a cross-signed copy of that root. */
static int
earlier_anchor(struct vctx *v)
{
	X509 *root;

	for (int i = sk_X509_num(v->kc->chain) - 1; i >= -1; i--) {
		X509 *x = i >= 0 ? sk_X509_value(v->kc->chain, i) : v->kc->leaf;

		if (store_issuer(v, x, true, &root) == -1)
			return -1;
		if (root != NULL) {
			v->kc->root = root;
			return 1;
		}
	}
	return 0;
}

/* --- step 2: build the chain, from the file first, then the trust anchors ------------ */

/* The unused certificate of the file that issued x, or -1. *near: one with
 * the right name that did not sign x (an old or a different intermediate). */
static int
file_issuer(struct vctx *v, X509 *x, int *near)
{
	int best = -1;

	for (int i = 0; i < v->ncerts; i++) {
		X509 *c = cert_at(v, i);

		if (v->used[i] || X509_NAME_cmp(X509_get_subject_name(c),
		    X509_get_issuer_name(x)) != 0)
			continue;
		if (!signed_by(x, c))
			*near = *near == -1 ? i : *near;
		else if (best == -1 || better(c, cert_at(v, best), v->now))
			best = i;
	}
	return best;
}

/* One step up from cur: its issuer from the file, else from the trust
 * store. 1 when found (*next is the certificate to go on from, pushed on the
 * chain, or NULL when a root was reached), 0 when there is none, -1 on error. */
static int
chain_step(struct vctx *v, X509 *cur, X509 **next)
{
	char s[SUBJECT_MAX], of[SUBJECT_MAX];
	int i;
	X509 *iss;

	*next = NULL;
	v->near_idx = -1;
	if ((i = file_issuer(v, cur, &v->near_idx)) != -1) {
		v->used[i] = true;
		iss = cert_at(v, i);
		X509_up_ref(iss);
		if (self_signed(iss)) {
			v->root_idx = i;
			v->kc->root = iss;
			return 1;
		}
		*next = iss;
		return chain_push(v, iss, i) == -1 ? -1 : 1;
	}
	if (store_issuer(v, cur, false, &iss) == -1)
		return -1;
	if (iss == NULL || on_chain(v, iss)) {
		X509_free(iss);
		return 0;
	}
	if (self_signed(iss)) {
		v->kc->root = iss;
		return 1;
	}
	cs_warn(v->warn, "%s: intermediate CA %s is not in the file; it is sent from the "
	    "trust store (append it to %s after %s)", v->cert_name, subject(iss, s),
	    v->cert_name, subject(cur, of));
	*next = iss;
	return chain_push(v, iss, -1) == -1 ? -1 : 1;
}

static int
chain_build(struct vctx *v)
{
	X509 *cur = v->kc->leaf, *next;
	int rc;

	if (self_signed(cur)) {
		v->self_signed_leaf = v->kc->self_signed = true;
		return 0;
	}
	/* every step lengthens the chain, so this ends */
	while (sk_X509_num(v->kc->chain) < CHAIN_MAX) {
		if ((rc = chain_step(v, cur, &next)) == -1)
			return -1;
		if (rc == 0)
			break;
		if (next == NULL)
			return 0;
		cur = next;
	}
	if ((rc = earlier_anchor(v)) != 0)
		return rc == 1 ? 0 : -1;
	return incomplete(v, cur);
}

/* --- step 3: say what was repaired ------------------------------------------------ */

/* The order of what is sent: the leaf, then each issuer. Where the root sits
 * in the file does not matter, since it is not sent. */
static void
note_order(struct vctx *v)
{
	char s[SUBJECT_MAX], order[4 * CHAIN_MAX + 8];
	int prev = -1, len;
	bool shuffled = false;

	if (v->leaf_idx != 0)
		cs_warn(v->warn, "%s: the leaf %s is certificate %d of %d; it is sent first "
		    "anyway (put it first in the file)", v->cert_name, v->kc->subject,
		    v->leaf_idx + 1, v->ncerts);
	len = snprintf(order, sizeof(order), "%d", v->leaf_idx + 1);
	for (int i = 0; i < sk_X509_num(v->kc->chain); i++) {
		int idx = v->chain_idx[i];

		if (idx == -1)                  /* from the trust store */
			continue;
		shuffled |= idx < prev;
		prev = idx;
		len += snprintf(order + len, sizeof(order) - (size_t)len, ", %d", idx + 1);
	}
	if (shuffled)
		cs_warn(v->warn, "%s: the chain was out of order and is sent reordered, as "
		    "certificates %s of the file (each followed by its issuer): reorder the file "
		    "the same way", v->cert_name, order);
	if (v->root_idx != -1)
		cs_warn(v->warn, "%s: root CA %s is not sent (clients use their own copy; sending "
		    "it only adds bytes): you may remove it from the file", v->cert_name,
		    subject(v->kc->root, s));
}

static void
note_dropped(struct vctx *v)
{
	char s[SUBJECT_MAX];

	for (int i = 0; i < v->ncerts; i++) {
		X509 *x = cert_at(v, i);
		EVP_PKEY *pub = X509_get0_pubkey(x);
		const char *why = "is not part of the chain of the leaf and is not sent";

		if (v->used[i])
			continue;
		if (pub != NULL && EVP_PKEY_eq(pub, v->kc->key) == 1)
			why = "is another certificate for the same key and is not sent";
		for (int j = 0; j < v->ncerts; j++)
			if (v->used[j] && X509_cmp(cert_at(v, j), x) == 0)
				why = "is a duplicate and is sent once";
		cs_warn(v->warn, "%s: certificate %d of %d (%s) %s (remove it from the file)",
		    v->cert_name, i + 1, v->ncerts, subject(x, s), why);
	}
}

/* --- step 4: every certificate that will be sent ----------------------------------- */

static int
check_dates(struct vctx *v, X509 *x, enum role role)
{
	char d[SUBJECT_MAX + 64], when[64], dist[64];
	time_t nb, na;

	describe(x, role, d, sizeof(d));
	if (cs_time_from_asn1(X509_get0_notBefore(x), &nb) == -1 ||
	    cs_time_from_asn1(X509_get0_notAfter(x), &na) == -1) {
		cs_error_set(v->err, "%s: %s has an unreadable validity date: the file is damaged",
		    v->cert_name, d);
		return -1;
	}
	if (v->now < nb) {
		cs_time_format(nb, true, when, sizeof(when));
		cs_time_distance(nb, v->now, dist, sizeof(dist));
		cs_error_set(v->err, "%s: %s is not valid before %s %s: check the system clock, "
		    "or wait until then", v->cert_name, d, when, dist);
		return -1;
	}
	cs_time_format(na, true, when, sizeof(when));
	cs_time_distance(na, v->now, dist, sizeof(dist));
	if (v->now > na) {
		cs_error_set(v->err, "%s: %s expired %s %s: %s", v->cert_name, d, when, dist,
		    role != ROLE_LEAF ? "replace it with your CA's current intermediate certificate" :
		    v->self_signed_leaf ? "make a new self-signed certificate and install it" :
		    "renew it and install the new certificate");
		return -1;
	}
	if (difftime(na, v->now) < (double)CS_EXPIRY_WARN_DAYS * SECONDS_PER_DAY)
		cs_warn(v->warn, "%s: %s expires %s %s: renew it soon", v->cert_name, d, when, dist);
	return 0;
}

int
cs_key_min_bits(EVP_PKEY *pub, const char **alg)
{
	int id = pub != NULL ? EVP_PKEY_get_base_id(pub) : NID_undef;

	*alg = id == EVP_PKEY_DSA ? "DSA" : id == EVP_PKEY_EC ? "EC" : "RSA";
	if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS || id == EVP_PKEY_DSA)
		return CS_MIN_RSA_BITS;
	if (id == EVP_PKEY_EC)
		return CS_MIN_EC_BITS;
	return 0;
}

static int
check_key_strength(struct vctx *v, X509 *x, enum role role)
{
	EVP_PKEY *pub = X509_get0_pubkey(x);
	int bits = pub != NULL ? EVP_PKEY_get_bits(pub) : 0;
	const char *alg;
	int min = cs_key_min_bits(pub, &alg);
	char d[SUBJECT_MAX + 64];

	if (bits >= min)
		return 0;
	cs_error_set(v->err, "%s: %s has a %d-bit %s key, too weak (at least %d bits): %s%s",
	    v->cert_name, describe(x, role, d, sizeof(d)), bits, alg, min, role != ROLE_LEAF ?
	    "replace it with your CA's current intermediate certificate" :
	    "make a new key (RSA 2048 bits or more, or EC P-256) and ", role != ROLE_LEAF ? "" :
	    v->self_signed_leaf ? "a new self-signed certificate with it" :
	    "have the certificate reissued for it");
	return -1;
}

/* MD5, SHA-1 and older digests: clients refuse signatures made with them. */
const char *
cs_weak_digest(int md_nid)
{
	switch (md_nid) {
	case NID_md2: return "MD2";
	case NID_md4: return "MD4";
	case NID_md5: return "MD5";
	case NID_md5_sha1: return "MD5+SHA-1";
	case NID_sha1: return "SHA-1";
	default: return NULL;
	}
}

static int
check_signature(struct vctx *v, X509 *x, enum role role)
{
	int md_nid = NID_undef;
	const char *weak, *fix;
	char d[SUBJECT_MAX + 64];

	if (X509_get_signature_info(x, &md_nid, NULL, NULL, NULL) != 1 ||
	    (weak = cs_weak_digest(md_nid)) == NULL)
		return 0;
	if (role != ROLE_LEAF)
		fix = "replace it with your CA's current (SHA-256) intermediate certificate";
	else if (v->self_signed_leaf)
		fix = "make it again signed with SHA-256 (openssl req -x509 -sha256 ...)";
	else
		fix = "have your CA reissue it with SHA-256";
	cs_error_set(v->err, "%s: %s is signed with %s (%s), which clients refuse: %s",
	    v->cert_name, describe(x, role, d, sizeof(d)), weak,
	    OBJ_nid2ln(X509_get_signature_nid(x)), fix);
	return -1;
}

/* Why a client certificate may not be sent, or NULL when it may. */
static const char *
client_leaf_use_problem(struct vctx *v, X509 *leaf)
{
	uint32_t flags = X509_get_extension_flags(leaf);

	if (!v->self_signed_leaf && (flags & EXFLAG_CA) != 0)
		return "is a CA certificate (basicConstraints CA:TRUE), not a client certificate: "
		    "issue a client certificate with this CA and use that";
	if (X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) == 1)
		return NULL;
	if ((flags & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) == 0)
		return "is not for TLS clients (its extendedKeyUsage lacks clientAuth): request "
		    "a client certificate";
	return "is not for TLS clients (its extensions forbid it): request a client certificate";
}

/* Why a leaf may not serve TLS, or NULL when it may. */
static const char *
leaf_use_problem(struct vctx *v, X509 *leaf)
{
	uint32_t flags = X509_get_extension_flags(leaf);

	if (v->trust != NULL && v->trust->client_leaf)
		return client_leaf_use_problem(v, leaf);

	if (!v->self_signed_leaf && (flags & EXFLAG_CA) != 0)
		return "is a CA certificate (basicConstraints CA:TRUE), not a server certificate, "
		    "and clients such as Thunderbird refuse it: issue a server certificate with "
		    "this CA and use that";
	if (X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) == 1)
		return NULL;
	if ((flags & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(leaf) & (XKU_SSL_SERVER | XKU_SGC)) == 0)
		return "is not for TLS servers (its extendedKeyUsage lacks serverAuth): request "
		    "a server certificate";
	if ((flags & EXFLAG_KUSAGE) != 0)
		return "is not for TLS servers (its keyUsage allows neither digitalSignature nor "
		    "keyEncipherment): request a server certificate";
	return "is not for TLS servers (its extensions forbid it): request a server certificate";
}

static int
check_certs(struct vctx *v)
{
	X509 *leaf = v->kc->leaf;
	const char *problem;
	char d[SUBJECT_MAX + 64], s[SUBJECT_MAX];

	if (check_dates(v, leaf, ROLE_LEAF) == -1 || check_key_strength(v, leaf, ROLE_LEAF) == -1 ||
	    check_signature(v, leaf, ROLE_LEAF) == -1)
		return -1;
	if ((problem = leaf_use_problem(v, leaf)) != NULL) {
		cs_error_set(v->err, "%s: certificate %s %s", v->cert_name, v->kc->subject, problem);
		return -1;
	}
	for (int i = 0; i < sk_X509_num(v->kc->chain); i++) {
		X509 *x = sk_X509_value(v->kc->chain, i);
		enum role role = v->chain_idx[i] == -1 ? ROLE_STORE_INTERMEDIATE : ROLE_INTERMEDIATE;

		if (check_dates(v, x, role) == -1 || check_key_strength(v, x, role) == -1 ||
		    check_signature(v, x, role) == -1)
			return -1;
		if (X509_check_ca(x) == 0) {
			cs_error_set(v->err, "%s: %s issued %s but is not a CA certificate (no "
			    "basicConstraints CA:TRUE), so clients refuse the chain: replace it with "
			    "your CA's intermediate certificate", v->cert_name, subject(x, d),
			    subject(i > 0 ? sk_X509_value(v->kc->chain, i - 1) : leaf, s));
			return -1;
		}
	}
	return 0;
}

/* --- the one entry point -------------------------------------------------------------- */

static void
summarize(struct cs_keycert *kc, time_t now)
{
	char issuer[SUBJECT_MAX], root[SUBJECT_MAX + 32] = "", date[32];
	char s[SUBJECT_MAX];
	int n;

	cs_name_oneline(X509_get_issuer_name(kc->leaf), issuer, sizeof(issuer));
	if (kc->root != NULL)
		snprintf(root, sizeof(root), " (root %s not sent)", subject(kc->root, s));
	cs_time_format(kc->not_after, false, date, sizeof(date));
	n = snprintf(kc->summary, sizeof(kc->summary), "leaf %s, ", kc->subject);
	if (kc->self_signed)
		n += snprintf(kc->summary + n, sizeof(kc->summary) - (size_t)n, "self-signed, ");
	else
		n += snprintf(kc->summary + n, sizeof(kc->summary) - (size_t)n,
		    "issued by %s, ", issuer);
	if (n > 0 && (size_t)n < sizeof(kc->summary))
		snprintf(kc->summary + n, sizeof(kc->summary) - (size_t)n,
		    "chain %d%s, expires %s (%ld days)", sk_X509_num(kc->chain), root, date,
		    cs_days_until(kc->not_after, now));
}

static int
check_input(struct vctx *v, EVP_PKEY *key)
{
	if (v->certs == NULL || v->ncerts == 0) {
		cs_error_set(v->err, "%s: no certificate found", v->cert_name);
		return -1;
	}
	if (v->ncerts > CS_PEM_MAX_CERTS) {
		cs_error_set(v->err, "%s: too many certificates (%d, at most %d)", v->cert_name,
		    v->ncerts, CS_PEM_MAX_CERTS);
		return -1;
	}
	if (key == NULL) {
		cs_error_set(v->err, "%s: no private key found", v->key_name);
		return -1;
	}
	return 0;
}

struct cs_keycert *
cs_keycert_validate(STACK_OF(X509) *certs, const char *cert_name, EVP_PKEY *key,
    const char *key_name, const struct cs_trust *trust, time_t now,
    struct cs_warnings *warnings, struct cs_error *err)
{
	return cs_keycert_validate_anchors(certs, cert_name, key, key_name, trust, NULL, now,
	    warnings, err);
}

struct cs_keycert *
cs_keycert_validate_anchors(STACK_OF(X509) *certs, const char *cert_name, EVP_PKEY *key,
    const char *key_name, const struct cs_trust *trust, STACK_OF(X509) *anchors, time_t now,
    struct cs_warnings *warnings, struct cs_error *err)
{
	struct vctx v = {
		.certs = certs, .ncerts = certs != NULL ? sk_X509_num(certs) : 0,
		.cert_name = cert_name, .key_name = key_name, .trust = trust, .now = now,
		.warn = warnings, .err = err, .root_idx = -1, .near_idx = -1, .anchors = anchors,
	};
	struct cs_keycert *kc = NULL;
	int rc = -1;

	if (warnings != NULL)
		warnings->count = 0;
	if (check_input(&v, key) == -1)
		return NULL;
	ERR_set_mark();
	if ((kc = calloc(1, sizeof(*kc))) == NULL || (kc->chain = sk_X509_new_null()) == NULL) {
		oom(&v);
		goto done;
	}
	v.kc = kc;
	kc->key = key;
	EVP_PKEY_up_ref(key);
	if (find_leaf(&v) == -1 || chain_build(&v) == -1)
		goto done;
	note_order(&v);
	note_dropped(&v);
	if (check_certs(&v) == -1)
		goto done;
	cs_time_from_asn1(X509_get0_notAfter(kc->leaf), &kc->not_after);
	summarize(kc, now);
	rc = 0;
done:
	X509_STORE_CTX_free(v.store_ctx);
	X509_STORE_free(v.store);
	ERR_pop_to_mark();
	if (rc == 0)
		return kc;
	cs_keycert_free(kc);
	return NULL;
}

/* --- files ------------------------------------------------------------------------------ */

/* A key file anyone may read is a key anyone may have copied. */
static void
note_key_mode(const char *path, struct cs_warnings *warnings)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH) != 0)
		cs_warn(warnings, "%s: the private key is readable by every user (mode %04o): "
		    "chmod o-rwx %s", path, (unsigned)(st.st_mode & 07777), path);
}

struct cs_keycert *
cs_keycert_load_files(const char *cert_path, const char *key_path,
    const struct cs_trust *trust, time_t now, struct cs_warnings *warnings,
    struct cs_error *err)
{
	bool same = key_path == NULL || strcmp(key_path, cert_path) == 0;
	const char *key_name = same ? cert_path : key_path;
	char *cert_pem, *key_pem = NULL;
	size_t cert_len = 0, key_len = 0;
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	struct cs_keycert *kc = NULL;

	if ((cert_pem = cs_pem_read_file(cert_path, &cert_len, err)) == NULL)
		return NULL;
	if ((certs = cs_pem_parse_certs(cert_pem, cert_len, cert_path, err)) == NULL)
		goto done;
	if (!same && (key_pem = cs_pem_read_file(key_path, &key_len, err)) == NULL)
		goto done;
	key = cs_pem_parse_key(same ? cert_pem : key_pem, same ? cert_len : key_len, key_name,
	    NULL, err);
	if (key == NULL)
		goto done;
	if ((kc = cs_keycert_validate(certs, cert_path, key, key_name, trust, now, warnings,
	    err)) != NULL)
		note_key_mode(key_name, warnings);
done:
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
	cs_pem_buf_free(key_pem, key_len);
	cs_pem_buf_free(cert_pem, cert_len);
	return kc;
}

/* --- accessors ---------------------------------------------------------------------------- */

X509 *
cs_keycert_root(const struct cs_keycert *kc)
{
	return kc->root;
}

EVP_PKEY *
cs_keycert_key(const struct cs_keycert *kc)
{
	return kc->key;
}

X509 *
cs_keycert_leaf(const struct cs_keycert *kc)
{
	return kc->leaf;
}

STACK_OF(X509) *
cs_keycert_chain(const struct cs_keycert *kc)
{
	return kc->chain;
}

time_t
cs_keycert_not_after(const struct cs_keycert *kc)
{
	return kc->not_after;
}

const char *
cs_keycert_subject(const struct cs_keycert *kc)
{
	return kc->subject;
}

const char *
cs_keycert_summary(const struct cs_keycert *kc)
{
	return kc->summary;
}

int
cs_keycert_serial(const struct cs_keycert *kc, char *buf, size_t len)
{
	return cs_serial_hex(X509_get0_serialNumber(kc->leaf), buf, len);
}

int
cs_keycert_sans(const struct cs_keycert *kc, char *buf, size_t len)
{
	struct cs_error err;
	char **sans = NULL;
	size_t n = 0, used = 0;

	buf[0] = '\0';
	if (cs_san_list(kc->leaf, &sans, &n, &err) == -1)
		return -1;
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", sans[i]);

		used += w > 0 ? (size_t)w : 0;
	}
	cs_strv_free(sans);
	return used < len ? 0 : -1;
}

bool
cs_keycert_covers(const struct cs_keycert *kc, const char *host)
{
	unsigned char ip[16];

	/* an IP address must be an IP SAN; a name matches DNS SANs (wildcards
	 * one label deep, as clients match them) */
	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
		return X509_check_ip_asc(kc->leaf, host, 0) == 1;
	return X509_check_host(kc->leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

void
cs_keycert_free(struct cs_keycert *kc)
{
	if (kc == NULL)
		return;
	EVP_PKEY_free(kc->key);
	X509_free(kc->leaf);
	sk_X509_pop_free(kc->chain, X509_free);
	X509_free(kc->root);
	free(kc);
}
