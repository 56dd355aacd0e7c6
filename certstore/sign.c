/* sign.c: signing someone else's CSR, what seed 002 does with
 * `openssl ca -infiles req.pem`: the request's signature is checked, its
 * subject is held to certstore.conf's [policy] as openssl's policy_match
 * (match: the CA's own value; supplied: present; optional: may be; any
 * other field is dropped, as openssl does without -preserveDN), and the
 * certificate gets the profile of issue (issue.c), with the request's DNS
 * names and IP addresses as its subjectAltNames. The seeds' requests use
 * MD5 and 1024-bit keys: both are refused, with how to make a new one. */
#include "certstore/internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define SECONDS_PER_DAY 86400
#define VALUE_MAX       256

void
cs_signed_clear(struct cs_signed *s)
{
	free(s->cert_pem);
	free(s->chain_pem);
	memset(s, 0, sizeof(*s));
}

/* --- the request ---------------------------------------------------------------------------- */

static int
check_request(X509_REQ *req, const char *label, struct cs_error *err)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
	int md_nid = NID_undef, pk_nid, min;
	const char *weak, *alg;
	char key[64];

	if (pub == NULL) {
		cs_error_set(err, "%s: the request's public key cannot be read (%s)", label,
		    cs_ossl_reason("unknown key type"));
		return -1;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		cs_error_set(err, "%s: the request's signature does not verify: it was changed "
		    "after it was made, or is damaged; make it again", label);
		return -1;
	}
	if (OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req), &md_nid, &pk_nid) == 1 &&
	    (weak = cs_weak_digest(md_nid)) != NULL) {
		cs_error_set(err, "%s: the request is signed with %s (%s), which is refused: make "
		    "it again with SHA-256 (openssl req -new -sha256, or default_md = sha256 in "
		    "openssl.cnf)", label, weak, OBJ_nid2ln(X509_REQ_get_signature_nid(req)));
		return -1;
	}
	min = cs_key_min_bits(pub, &alg);
	if (EVP_PKEY_get_bits(pub) < min) {
		cs_key_describe(pub, key, sizeof(key));
		cs_error_set(err, "%s: the request's key (%s) is too weak (at least %d bits for "
		    "%s): make a new key (RSA 2048 bits or more, or EC P-256) and a new request",
		    label, key, min, alg);
		return -1;
	}
	return 0;
}

/* The first value of nid in name as UTF-8 text; false when there is none. */
static bool
name_value(const X509_NAME *name, int nid, char *buf, size_t len)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;
	int n;

	buf[0] = '\0';
	if (i < 0 || (n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)))) < 0)
		return false;
	snprintf(buf, len, "%.*s", n, (const char *)utf8);
	OPENSSL_free(utf8);
	return true;
}

/* policy_match: the request's subject, kept to the fields of the policy,
 * in its order; each rule met or the reason. */
static X509_NAME *
policy_subject(struct certstore *cs, X509_REQ *req, X509 *ca_cert, const char *label,
    struct cs_warnings *w, struct cs_error *err)
{
	const X509_NAME *src = X509_REQ_get_subject_name(req), *ca = X509_get_subject_name(ca_cert);
	X509_NAME *n = X509_NAME_new();
	char mine[VALUE_MAX], theirs[VALUE_MAX];

	for (size_t i = 0; n != NULL && i < cs->conf.n_policy; i++) {
		const struct cs_policy_rule *r = &cs->conf.policy[i];
		const char *field = OBJ_nid2ln(r->nid);
		bool has = name_value(src, r->nid, theirs, sizeof(theirs));

		if (r->mode == CS_POLICY_SUPPLIED && !has) {
			cs_error_set(err, "%s: the request has no %s, which certstore.conf [policy] "
			    "says must be supplied", label, field);
			goto fail;
		}
		if (r->mode == CS_POLICY_MATCH) {
			if (!name_value(ca, r->nid, mine, sizeof(mine))) {
				cs_error_set(err, "%s/" CS_CONF_FILE ": [policy] %s = match, but the CA's "
				    "subject has none: set it to optional or supplied", cs->dir, field);
				goto fail;
			}
			if (!has || strcmp(mine, theirs) != 0) {
				cs_error_set(err, "%s: %s is %s%s%s in the request but \"%s\" in the CA "
				    "certificate, and certstore.conf [policy] says match: make the request "
				    "again with the CA's value", label, field, has ? "\"" : "",
				    has ? theirs : "missing", has ? "\"" : "", mine);
				goto fail;
			}
		}
		for (int k = -1; (k = X509_NAME_get_index_by_NID(src, r->nid, k)) >= 0;)
			if (!X509_NAME_add_entry(n, X509_NAME_get_entry(src, k), -1, 0))
				goto oom;
	}
	if (n == NULL)
		goto oom;
	if (X509_NAME_entry_count(n) < X509_NAME_entry_count(src))
		cs_warn(w, "%s: subject fields that certstore.conf [policy] does not name were left "
		    "out, as openssl ca does", label);
	if (X509_NAME_entry_count(n) == 0) {
		cs_error_set(err, "%s: the request's subject has none of the fields certstore.conf "
		    "[policy] names", label);
		goto fail;
	}
	return n;
oom:
	cs_error_set(err, "out of memory");
fail:
	X509_NAME_free(n);
	return NULL;
}

/* The request's DNS names and IP addresses (from its extension request),
 * else its CN; checked and canonical as issue's. */
static GENERAL_NAMES *
request_sans(X509_REQ *req, const char *label, struct cs_warnings *w, struct cs_error *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *in = NULL, *out = NULL;
	const char *dns[CS_MAX_SANS], *ip[CS_MAX_SANS];
	char text[CS_MAX_SANS][INET6_ADDRSTRLEN], cn[CS_DNS_MAX + 1];
	char **cdns = NULL, **cip = NULL;
	size_t n_dns = 0, n_ip = 0, nd, ni;
	int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);

	if (idx >= 0)
		in = X509V3_EXT_d2i(X509v3_get_ext(exts, idx));
	for (int i = 0; i < sk_GENERAL_NAME_num(in) && n_dns + n_ip < CS_MAX_SANS; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(in, i);
		const ASN1_OCTET_STRING *o = g->d.iPAddress;

		if (g->type == GEN_DNS) {
			const char *d = (const char *)ASN1_STRING_get0_data(g->d.dNSName);

			/* a NUL inside would make the name checked differ from the one asked */
			if (strlen(d) != (size_t)ASN1_STRING_length(g->d.dNSName)) {
				cs_error_set(err, "%s: a DNS name of the request has a NUL byte in it",
				    label);
				goto done;
			}
			dns[n_dns++] = d;
		} else if (g->type == GEN_IPADD && (o->length == 4 || o->length == 16) &&
		    inet_ntop(o->length == 4 ? AF_INET : AF_INET6, o->data, text[n_ip],
		    sizeof(text[n_ip])) != NULL) {
			ip[n_ip] = text[n_ip];
			n_ip++;
		} else {
			cs_warn(w, "%s: a subjectAltName that is neither a DNS name nor an IP address "
			    "was left out", label);
		}
	}
	if (n_dns + n_ip == 0 && name_value(X509_REQ_get_subject_name(req), NID_commonName, cn,
	    sizeof(cn)))
		dns[n_dns++] = cn;
	if (n_dns + n_ip == 0)
		cs_error_set(err, "%s: the request names no host (no subjectAltName and no CN): a "
		    "server certificate needs one", label);
	else if (cs_san_dns_check(dns, n_dns, &cdns, &nd, err) == 0 &&
	    cs_san_ip_check(ip, n_ip, &cip, &ni, err) == 0 &&
	    (out = cs_san_names(cdns, nd, cip, ni)) == NULL)
		cs_error_set(err, "out of memory");
	if (out == NULL && idx < 0 && n_dns == 1 && dns[0] == cn)
		cs_error_set(err, "%s: the request has no subjectAltName and its CN \"%.64s\" is "
		    "not a host name: a server certificate needs one", label, cn);
done:
	cs_strv_free(cdns);
	cs_strv_free(cip);
	GENERAL_NAMES_free(in);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return out;
}

/* --- the certificate ------------------------------------------------------------------------- */

struct signing {
	const struct cs_sign_params *p;
	X509_REQ *req;
	X509_NAME *subject;
	GENERAL_NAMES *sans;
	struct cs_ca ca;
	X509 *cert;
};

static int
build(struct certstore *cs, struct signing *s, ASN1_INTEGER *serial, struct cs_error *err)
{
	unsigned days = s->p->days != 0 ? s->p->days : cs->conf.days;
	struct cs_cert_spec spec = { .subject = s->subject, .issuer = s->ca.cert,
		.pubkey = X509_REQ_get0_pubkey(s->req), .serial = serial,
		.not_before = s->p->now - CS_BACKDATE_S,
		.not_after = s->p->now + (time_t)days * SECONDS_PER_DAY };
	time_t ca_end;

	if (days < 1 || days > CS_MAX_DAYS) {
		cs_error_set(err, "a validity of %u days is not from 1 to %d", days, CS_MAX_DAYS);
		return -1;
	}
	/* never past the CA's own end */
	if (cs_time_from_asn1(X509_get0_notAfter(s->ca.cert), &ca_end) == 0 &&
	    spec.not_after > ca_end)
		spec.not_after = ca_end;
	if ((s->cert = cs_cert_new(&spec, err)) == NULL ||
	    cs_leaf_extensions(s->cert, s->ca.cert, spec.pubkey, s->p->client, s->sans, err) ==
	    -1 || cs_cert_sign(s->cert, s->ca.key, err) == -1)
		return -1;
	return 0;
}

/* Under the lock: a serial, the certificate, the CA's records. */
static int
sign_locked(struct certstore *cs, struct signing *s, struct cs_error *err)
{
	struct cs_index idx = { 0 };
	char path[CS_PATH_MAX];
	ASN1_INTEGER *serial = NULL;
	int rc = -1;

	if (cs_store_path(cs, path, err, "ca/index.txt") == 0 &&
	    cs_index_load(path, &idx, err) == 0 &&
	    (serial = cs_ca_serial_new(cs, &idx, err)) != NULL &&
	    build(cs, s, serial, err) == 0 && cs_ca_record(cs, &idx, s->cert, err) == 0)
		rc = 0;
	ASN1_INTEGER_free(serial);
	cs_index_free(&idx);
	return rc;
}

static int
fill(struct certstore *cs, struct signing *s, struct cs_signed *out, struct cs_error *err)
{
	cs_serial_hex(X509_get0_serialNumber(s->cert), out->serial, sizeof(out->serial));
	cs_name_oneline(X509_get_subject_name(s->cert), out->subject, sizeof(out->subject));
	if (cs_time_from_asn1(X509_get0_notAfter(s->cert), &out->not_after) == -1)
		out->not_after = 0;
	if (cs_store_path(cs, out->newcert, err, "ca/newcerts/%s.pem", out->serial) == -1)
		return -1;
	if ((out->cert_pem = cs_cert_pem(s->cert, &out->cert_len)) == NULL ||
	    (out->chain_pem = cs_certs_pem(s->ca.chain, 0, &out->chain_len)) == NULL) {
		cs_error_set(err, "out of memory");
		return -1;
	}
	return 0;
}

int
certstore_sign(struct certstore *cs, const struct cs_sign_params *p, struct cs_signed *out,
    struct cs_warnings *w, struct cs_error *err)
{
	struct signing s = { .p = p };
	const char *label = p->csr_label != NULL ? p->csr_label : "the request";
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (w != NULL)
		w->count = 0;
	ERR_set_mark();
	if ((s.req = cs_pem_parse_csr(p->csr_pem, p->csr_len, label, err)) == NULL ||
	    check_request(s.req, label, err) == -1 ||
	    cs_ca_load(cs, p->passphrase, p->now, &s.ca, err) == -1 ||
	    (s.subject = policy_subject(cs, s.req, s.ca.cert, label, w, err)) == NULL ||
	    (s.sans = request_sans(s.req, label, w, err)) == NULL)
		goto done;
	if (cs_store_lock(cs, err) == 0 && sign_locked(cs, &s, err) == 0)
		rc = fill(cs, &s, out, err);
	cs_store_unlock(cs);
done:
	ERR_pop_to_mark();
	if (rc == -1)
		cs_signed_clear(out);
	X509_REQ_free(s.req);
	X509_NAME_free(s.subject);
	GENERAL_NAMES_free(s.sans);
	X509_free(s.cert);
	cs_ca_free(&s.ca);
	return rc;
}
