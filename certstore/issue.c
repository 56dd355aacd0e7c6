/* issue.c: issue and renew, and the profile of every server certificate the
 * store signs:
 *
 *   subject           CN = the first DNS name (or IP), plus the CA's values of
 *                     fields the policy says `match`
 *   subjectAltName    every DNS name and IP address
 *   basicConstraints  critical, CA:FALSE
 *   keyUsage          critical, digitalSignature (+ keyEncipherment for RSA
 *                     keys, which TLS 1.2's RSA key exchange needs)
 *   extendedKeyUsage  serverAuth (+ clientAuth with `client`)
 *   SKI, AKI          hash of the key; the CA's key identifier
 *   signature         SHA-256 (SHA-384 for a P-384 CA, EdDSA for Ed25519)
 *   validity          now - CS_BACKDATE_S (a tenth of a short lifetime) to now + days
 *                     (or lifetime seconds), never past the CA
 *
 * A new version goes through the same steps whether issued or renewed: the
 * key is made before the lock (an RSA 4096 key takes seconds), then, holding
 * the lock, a serial is drawn, the certificate is signed and validated, the
 * CA's records are written, and the version is committed and made current. */
#include "certstore/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#define SECONDS_PER_DAY  86400
#define CN_MAX           64         /* ub-common-name */

/* What a new version asks for. */
struct request {
	enum cs_event event;
	const char *name;
	char **dns, **ip;                   /* checked and canonical */
	size_t n_dns, n_ip;
	unsigned days;
	unsigned lifetime_s;                /* when set, instead of days */
	enum cs_key_type key_type;
	bool client, reused_key;
	EVP_PKEY *key;
	const char *passphrase;
	time_t now;
};

/* What it makes, as the files of the version. */
struct product {
	X509 *cert;
	X509_REQ *csr;
	char *key_pem, *cert_pem, *chain_pem, *fullchain_pem, *csr_pem, *meta;
	size_t key_len, cert_len, chain_len, fullchain_len, csr_len;
	unsigned version, previous;
};

static void
request_clear(struct request *r)
{
	cs_strv_free(r->dns);
	cs_strv_free(r->ip);
	EVP_PKEY_free(r->key);
	memset(r, 0, sizeof(*r));
}

static void
product_clear(struct product *p)
{
	X509_free(p->cert);
	X509_REQ_free(p->csr);
	cs_pem_buf_free(p->key_pem, p->key_len);
	free(p->cert_pem);
	free(p->chain_pem);
	free(p->fullchain_pem);
	free(p->csr_pem);
	free(p->meta);
	memset(p, 0, sizeof(*p));
}

time_t
cs_renew_at(time_t not_before, time_t not_after)
{
	time_t life = not_after - not_before;

	/* a third of the lifetime left; half for short-lived certificates, whose
	 * third would leave too little time to notice a failed renewal */
	if (life <= (time_t)CS_RENEW_SHORT_DAYS * SECONDS_PER_DAY)
		return not_after - life / 2;
	return not_after - life / 3;
}

/* --- the certificate ----------------------------------------------------------------------- */

/* The CN: the first DNS name that fits one, else the first IP address. */
static const char *
pick_cn(const struct request *r, struct cs_error *err)
{
	for (size_t i = 0; i < r->n_dns; i++)
		if (strlen(r->dns[i]) <= CN_MAX)
			return r->dns[i];
	if (r->n_dns == 0 && r->n_ip > 0)
		return r->ip[0];
	cs_error_set(err, "%s: every DNS name is longer than the %d characters a certificate's "
	    "CN can hold: add a shorter one", r->name, CN_MAX);
	return NULL;
}

int
cs_leaf_extensions(X509 *x, X509 *ca_cert, EVP_PKEY *key, bool client, GENERAL_NAMES *sans,
    struct cs_error *err)
{
	bool rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;

	if (cs_cert_add_ext(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE", err) == -1 ||
	    cs_cert_add_ext(x, ca_cert, NID_key_usage, rsa ?
	    "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature", err) == -1 ||
	    cs_cert_add_ext(x, ca_cert, NID_ext_key_usage, client ?
	    "serverAuth,clientAuth" : "serverAuth", err) == -1 ||
	    cs_cert_add_ext(x, ca_cert, NID_subject_key_identifier, "hash", err) == -1 ||
	    cs_cert_add_ext(x, ca_cert, NID_authority_key_identifier, "keyid:always", err) == -1)
		return -1;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1) {
		cs_error_set(err, "cannot add the subjectAltName: %s", cs_ossl_reason("out of memory"));
		return -1;
	}
	return 0;
}

/* notAfter: now + days, but never after the CA's own end. */
static time_t
leaf_end(const struct cs_ca *ca, const struct request *r, struct cs_warnings *w)
{
	time_t end = r->now + (r->lifetime_s ? (time_t)r->lifetime_s
	    : (time_t)r->days * SECONDS_PER_DAY), ca_end;
	char when[64];

	if (cs_time_from_asn1(X509_get0_notAfter(ca->cert), &ca_end) == 0 && end > ca_end) {
		cs_time_format(ca_end, false, when, sizeof(when));
		cs_warn(w, "%s: valid until %s only, when the CA expires, not %u days: make a new CA "
		    "before then", r->name, when, r->days);
		return ca_end;
	}
	return end;
}

static int
sign_cert(struct certstore *cs, const struct cs_ca *ca, const struct request *r,
    ASN1_INTEGER *serial, struct product *p, struct cs_warnings *w, struct cs_error *err)
{
	/* backdated for slow client clocks, but a short-lived certificate by a
	 * tenth of its life only, or the renewal rule would see it half gone */
	time_t backdate = r->lifetime_s && r->lifetime_s / 10 < CS_BACKDATE_S
	    ? (time_t)r->lifetime_s / 10 : CS_BACKDATE_S;
	struct cs_cert_spec spec = { .issuer = ca->cert, .pubkey = r->key, .serial = serial,
		.not_before = r->now - backdate };
	GENERAL_NAMES *sans = cs_san_names(r->dns, r->n_dns, r->ip, r->n_ip);
	const char *cn = pick_cn(r, err);
	int rc = -1;

	spec.not_after = leaf_end(ca, r, w);
	if (sans == NULL) {
		cs_error_set(err, "out of memory");
		goto done;
	}
	if (cn == NULL || (spec.subject = cs_ca_policy_subject(cs, ca, cn, err)) == NULL ||
	    (p->csr = cs_csr_make(r->key, spec.subject, sans, err)) == NULL ||
	    (p->cert = cs_cert_new(&spec, err)) == NULL ||
	    cs_leaf_extensions(p->cert, ca->cert, r->key, r->client, sans, err) == -1 ||
	    cs_cert_sign(p->cert, ca->key, err) == -1)
		goto done;
	rc = 0;
done:
	X509_NAME_free(spec.subject);
	GENERAL_NAMES_free(sans);
	return rc;
}

/* --- the version's files ------------------------------------------------------------------ */

static int
encode(const struct cs_ca *ca, const struct request *r, struct product *p,
    struct cs_error *err)
{
	size_t chain_len = 0;

	if ((p->key_pem = cs_key_pem(r->key, NULL, &p->key_len, err)) == NULL)
		return -1;
	if ((p->cert_pem = cs_cert_pem(p->cert, &p->cert_len)) == NULL ||
	    (p->chain_pem = cs_certs_pem(ca->chain, 0, &chain_len)) == NULL ||
	    (p->csr_pem = cs_csr_pem(p->csr, &p->csr_len)) == NULL ||
	    (p->fullchain_pem = malloc(p->cert_len + chain_len + 1)) == NULL) {
		cs_error_set(err, "cannot encode the certificate: out of memory");
		return -1;
	}
	p->chain_len = chain_len;
	memcpy(p->fullchain_pem, p->cert_pem, p->cert_len);
	memcpy(p->fullchain_pem + p->cert_len, p->chain_pem, chain_len + 1);
	p->fullchain_len = p->cert_len + chain_len;
	return 0;
}

/* THE validation, on the very bytes that will be written: what the daemon
 * will later read back is what passed here. */
static int
validate(struct certstore *cs, const struct request *r, const struct product *p,
    struct cs_warnings *w, struct cs_error *err)
{
	char label[CS_NAME_MAX + 16], root[CS_PATH_MAX];
	struct cs_trust trust;
	struct cs_warnings vw = { 0 };
	STACK_OF(X509) *certs;
	EVP_PKEY *key = NULL;
	struct cs_keycert *kc = NULL;

	snprintf(label, sizeof(label), "%s@%u", r->name, p->version);
	cs_store_trust(cs, &trust, root);
	if ((certs = cs_pem_parse_certs(p->fullchain_pem, p->fullchain_len, label, err)) != NULL &&
	    (key = cs_pem_parse_key(p->key_pem, p->key_len, label, NULL, err)) != NULL)
		kc = cs_keycert_validate(certs, label, key, label, &trust, r->now, &vw, err);
	/* validation resets its list: add to what signing already said */
	for (unsigned i = 0; i < vw.count && i < CS_MAX_WARNINGS; i++)
		cs_warn(w, "%s", vw.msg[i]);
	cs_keycert_free(kc);
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
	return kc != NULL ? 0 : -1;
}

static int
make_meta(const struct request *r, struct product *p, struct cs_error *err)
{
	struct cs_meta m = { .version = p->version, .previous = p->previous, .origin = r->event,
		.created = r->now, .key_type = r->key_type, .days = r->days,
		.lifetime_s = r->lifetime_s, .client = r->client,
		.reused_key = r->reused_key, .dns = r->dns, .ip = r->ip, .n_dns = r->n_dns,
		.n_ip = r->n_ip };

	snprintf(m.name, sizeof(m.name), "%s", r->name);
	cs_serial_hex(X509_get0_serialNumber(p->cert), m.serial, sizeof(m.serial));
	if ((p->meta = cs_meta_format(&m)) == NULL) {
		cs_error_set(err, "cannot write the version's metadata: out of memory");
		return -1;
	}
	return 0;
}

/* Under the lock: everything from the serial to the new current. */
static int
make_version(struct certstore *cs, const struct cs_ca *ca, const struct request *r,
    struct product *p, struct cs_warnings *w, struct cs_error *err)
{
	struct cs_index idx = { 0 };
	char path[CS_PATH_MAX];
	ASN1_INTEGER *serial = NULL;
	struct cs_version_files f;
	int rc = -1;

	if (cs_store_max_version(cs, r->name, &p->version, err) == -1 ||
	    cs_store_path(cs, path, err, "ca/index.txt") == -1 ||
	    cs_index_load(path, &idx, err) == -1 ||
	    (serial = cs_ca_serial_new(cs, &idx, err)) == NULL)
		goto done;
	p->version++;
	if (p->version > CS_MAX_VERSION) {
		cs_error_set(err, "%s: has %d versions, the most a name can have: issue it under a "
		    "new name", r->name, CS_MAX_VERSION);
		goto done;
	}
	if (sign_cert(cs, ca, r, serial, p, w, err) == -1 || encode(ca, r, p, err) == -1 ||
	    validate(cs, r, p, w, err) == -1 || make_meta(r, p, err) == -1)
		goto done;
	f = (struct cs_version_files){ p->key_pem, p->cert_pem, p->chain_pem, p->fullchain_pem,
		p->csr_pem, p->meta, p->key_len, p->cert_len, p->chain_len, p->fullchain_len,
		p->csr_len, strlen(p->meta), NULL, 0 };
	/* the CA's records first: a certificate is in the index before anyone
	 * can use it; a crash after that leaves an entry and no version */
	if (cs_ca_record(cs, &idx, p->cert, err) == -1 ||
	    cs_store_commit(cs, r->name, p->version, &f, err) == -1)
		goto done;
	rc = 0;
done:
	ASN1_INTEGER_free(serial);
	cs_index_free(&idx);
	return rc;
}

/* Signs and commits r; fills out on success. The lock is taken here. */
static int
produce(struct certstore *cs, const struct request *r, struct cs_change *out,
    struct cs_warnings *w, struct cs_error *err)
{
	struct cs_ca ca;
	struct product p = { 0 };
	int rc = -1;

	if (cs_ca_load(cs, r->passphrase, r->now, &ca, err) == -1)
		return -1;
	if (cs_store_lock(cs, err) == -1)
		goto done;
	/* decided under the lock: two writers cannot both see "no such name" */
	if (certstore_current(cs, r->name, &p.previous, NULL) == -1)
		p.previous = 0;
	if (r->event == CS_EVENT_ISSUE && p.previous != 0) {
		cs_error_set(err, "%s: already exists (version %u is current): renew it with "
		    "certwrapctl renew %s, or choose another name", r->name, p.previous, r->name);
		goto done;
	}
	if (r->event == CS_EVENT_RENEW && p.previous == 0) {
		cs_error_set(err, "%s: no such certificate in %s (certwrapctl list shows the names)",
		    r->name, cs->dir);
		goto done;
	}
	if (make_version(cs, &ca, r, &p, w, err) == -1)
		goto done;
	cs_store_change(cs, out, r->event, r->name, p.version, p.previous, p.cert);
	rc = 0;
done:
	cs_store_unlock(cs);
	product_clear(&p);
	cs_ca_free(&ca);
	return rc;
}

/* --- the API ------------------------------------------------------------------------------- */

static int
check_days(const char *name, unsigned days, struct cs_error *err)
{
	if (days >= 1 && days <= CS_MAX_DAYS)
		return 0;
	cs_error_set(err, "%s: a validity of %u days is not from 1 to %d", name, days, CS_MAX_DAYS);
	return -1;
}

static int
check_lifetime(const char *name, unsigned lifetime_s, struct cs_error *err)
{
	if (lifetime_s == 0 || (lifetime_s >= CS_MIN_LIFETIME_S && lifetime_s <= CS_MAX_LIFETIME_S))
		return 0;
	cs_error_set(err, "%s: a lifetime of %u seconds is not from %d seconds to %d days", name,
	    lifetime_s, CS_MIN_LIFETIME_S, CS_MAX_DAYS);
	return -1;
}

int
certstore_issue(struct certstore *cs, const struct cs_issue_params *ip,
    struct cs_change *out, struct cs_warnings *w, struct cs_error *err)
{
	struct request r = { .event = CS_EVENT_ISSUE, .name = ip->name, .client = ip->client,
		.passphrase = ip->passphrase, .now = ip->now };
	int rc = -1;

	if (w != NULL)
		w->count = 0;
	r.days = ip->days != 0 ? ip->days : cs->conf.days;
	r.lifetime_s = ip->lifetime_s;
	r.key_type = ip->key_type != CS_KEY_DEFAULT ? ip->key_type : cs->conf.key_type;
	if (!cs_name_is_valid(ip->name)) {
		cs_error_set(err, "\"%.80s\" is not a valid certificate name: use letters, digits, "
		    "'.', '-' and '_' (at most %d, starting with a letter or digit)", ip->name,
		    CS_NAME_MAX);
		return -1;
	}
	if (ip->n_dns + ip->n_ip == 0 || ip->n_dns + ip->n_ip > CS_MAX_SANS) {
		cs_error_set(err, "%s: give from 1 to %d DNS names and IP addresses (it has %zu)",
		    ip->name, CS_MAX_SANS, ip->n_dns + ip->n_ip);
		return -1;
	}
	if (check_days(ip->name, r.days, err) == -1 ||
	    check_lifetime(ip->name, r.lifetime_s, err) == -1 ||
	    cs_san_dns_check(ip->dns, ip->n_dns, &r.dns, &r.n_dns, err) == -1 ||
	    cs_san_ip_check(ip->ip, ip->n_ip, &r.ip, &r.n_ip, err) == -1 ||
	    (r.key = cs_key_generate(r.key_type, err)) == NULL)
		goto done;
	rc = produce(cs, &r, out, w, err);
done:
	request_clear(&r);
	return rc;
}

/* The request of a renewal: the current version's, with the changes asked. */
static int
renew_request(struct certstore *cs, const struct cs_renew_params *rp, struct request *r,
    struct cs_error *err)
{
	struct cs_meta m;
	struct cs_paths paths;
	unsigned cur;

	if (certstore_current(cs, rp->name, &cur, err) == -1 ||
	    cs_store_meta(cs, rp->name, cur, &m, err) == -1)
		return -1;
	if (m.origin == CS_EVENT_IMPORT) {
		cs_error_set(err, "%s: version %u came from an outside CA (certwrapctl import): "
		    "renew it there (certwrapctl csr %s makes the request), then import the answer",
		    rp->name, cur, rp->name);
		cs_meta_clear(&m);
		return -1;
	}
	r->dns = m.dns;                     /* taken from m */
	r->ip = m.ip;
	r->n_dns = m.n_dns;
	r->n_ip = m.n_ip;
	m.dns = m.ip = NULL;
	r->client = m.client;
	r->days = rp->days != 0 ? rp->days : m.days;
	/* the lifetime asked now, or as issued when no days are asked either */
	r->lifetime_s = rp->lifetime_s != 0 ? rp->lifetime_s : rp->days != 0 ? 0 : m.lifetime_s;
	r->key_type = rp->key_type != CS_KEY_DEFAULT ? rp->key_type : m.key_type;
	cs_meta_clear(&m);
	if (check_days(rp->name, r->days, err) == -1 ||
	    check_lifetime(rp->name, r->lifetime_s, err) == -1)
		return -1;
	if (!rp->reuse_key)
		return (r->key = cs_key_generate(r->key_type, err)) != NULL ? 0 : -1;
	/* a version's directory never changes: reading its key needs no lock */
	if (cs_store_paths(cs, rp->name, cur, &paths, err) == -1 ||
	    (r->key = cs_key_load(paths.key, NULL, err)) == NULL)
		return -1;
	if (rp->key_type != CS_KEY_DEFAULT && cs_key_type_of(r->key) != rp->key_type) {
		cs_error_set(err, "%s: reusing the key keeps its type (%s), which is not %s: "
		    "renew without reusing the key to change it", rp->name,
		    cs_key_type_name(cs_key_type_of(r->key)), cs_key_type_name(rp->key_type));
		return -1;
	}
	r->key_type = cs_key_type_of(r->key) != CS_KEY_DEFAULT ? cs_key_type_of(r->key) :
	    r->key_type;
	r->reused_key = true;
	return 0;
}

int
certstore_renew(struct certstore *cs, const struct cs_renew_params *rp,
    struct cs_change *out, struct cs_warnings *w, struct cs_error *err)
{
	struct request r = { .event = CS_EVENT_RENEW, .name = rp->name,
		.passphrase = rp->passphrase, .now = rp->now };
	int rc = -1;

	if (w != NULL)
		w->count = 0;
	if (renew_request(cs, rp, &r, err) == 0)
		rc = produce(cs, &r, out, w, err);
	request_clear(&r);
	return rc;
}

int
certstore_renew_due(struct certstore *cs, const char *name, long before_s, time_t now,
    bool *due, time_t *due_at, struct cs_error *err)
{
	struct cs_paths p;
	STACK_OF(X509) *certs;
	time_t nb, na;

	if (certstore_paths(cs, name, 0, &p, err) == -1 ||
	    (certs = cs_cert_load_all(p.cert, false, err)) == NULL)
		return -1;
	if (cs_time_from_asn1(X509_get0_notBefore(sk_X509_value(certs, 0)), &nb) == -1 ||
	    cs_time_from_asn1(X509_get0_notAfter(sk_X509_value(certs, 0)), &na) == -1) {
		cs_error_set(err, "%s: unreadable validity dates: the file is damaged", p.cert);
		sk_X509_pop_free(certs, X509_free);
		return -1;
	}
	sk_X509_pop_free(certs, X509_free);
	*due_at = before_s > 0 ? na - before_s : cs_renew_at(nb, na);
	*due = now >= *due_at;
	return 0;
}
