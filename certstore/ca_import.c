/* ca_import.c: a new store that takes over an `openssl ca` directory made
 * as in seed 002 (cacert.pem, private/cakey.pem, serial, index.txt,
 * newcerts/, and its openssl.cnf). The directory is only read. What the
 * store needs is validated first (a root CA, valid now, a key that matches
 * and is strong enough, an index that parses) and then copied into a ca/
 * built aside and renamed into place, as certstore_ca_init does.
 *
 * Serials: a store draws random serials, but one that took over an
 * `openssl ca` directory continues its numbering (certstore.conf serials =
 * sequential): the operator's newcerts/01.pem, 02.pem... go on unbroken,
 * scripts that look serials up keep working, and `openssl ca` run on the
 * store later continues from the same serial file. Predictable serials were
 * a weakness only with MD5 signatures, which the store never makes. */
#include "certstore/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define SMALL_FILE_MAX  256             /* serial, crlnumber */
#define CONF_TEXT_MAX   4096

struct source {
	const struct cs_ca_import_params *p;
	X509 *cert;
	EVP_PKEY *key;
	char *index_text;
	size_t index_len;
	char serial[CS_SERIAL_HEX_MAX + 1], crlnumber[CS_SERIAL_HEX_MAX + 1];
	char conf[CONF_TEXT_MAX];           /* certstore.conf to write */
};

static void
source_clear(struct source *s)
{
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	free(s->index_text);
}

/* --- reading the openssl ca directory ------------------------------------------------------ */

static int
read_ca_cert(struct source *s, struct cs_warnings *w, struct cs_error *err)
{
	char path[CS_PATH_MAX], subject[CS_TEXT_MAX];
	STACK_OF(X509) *certs;
	const char *alg;
	time_t na;
	int md_nid = NID_undef;

	if (cs_path(path, err, "%s/cacert.pem", s->p->from) == -1 ||
	    (certs = cs_cert_load_all(path, false, err)) == NULL)
		return -1;
	s->cert = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	cs_name_oneline(X509_get_subject_name(s->cert), subject, sizeof(subject));
	if (X509_check_issued(s->cert, s->cert) != X509_V_OK || X509_check_ca(s->cert) < 1) {
		cs_error_set(err, "%s: %s is not a root CA (a self-signed certificate with "
		    "basicConstraints CA:TRUE): ca import takes over a root's `openssl ca` directory",
		    path, subject);
		return -1;
	}
	if (cs_time_from_asn1(X509_get0_notAfter(s->cert), &na) == -1 || na <= s->p->now) {
		cs_error_set(err, "%s: the CA certificate %s has expired: nothing it signs would be "
		    "trusted; make a new CA with certwrapctl ca init", path, subject);
		return -1;
	}
	if (EVP_PKEY_get_bits(X509_get0_pubkey(s->cert)) <
	    cs_key_min_bits(X509_get0_pubkey(s->cert), &alg)) {
		cs_error_set(err, "%s: the CA's %s key has %d bits, too weak (at least %d; the old "
		    "guides made 1024): clients refuse what it signs; make a new CA with certwrapctl "
		    "ca init", path, alg, EVP_PKEY_get_bits(X509_get0_pubkey(s->cert)),
		    cs_key_min_bits(X509_get0_pubkey(s->cert), &alg));
		return -1;
	}
	if (X509_get_signature_info(s->cert, &md_nid, NULL, NULL, NULL) == 1 &&
	    cs_weak_digest(md_nid) != NULL)
		cs_warn(w, "%s: the root signs itself with %s: clients do not check a root's own "
		    "signature, and what the store signs uses SHA-256", path, cs_weak_digest(md_nid));
	return 0;
}

static int
read_ca_key(struct source *s, struct cs_error *err)
{
	char path[CS_PATH_MAX], *pem;
	size_t len;
	bool encrypted;

	if (cs_path(path, err, "%s/private/cakey.pem", s->p->from) == -1 ||
	    (pem = cs_fsio_read_key(path, &len, err)) == NULL)
		return -1;
	encrypted = strstr(pem, "ENCRYPTED") != NULL;
	if (encrypted && s->p->passphrase == NULL)
		cs_error_set(err, "%s: the CA key is encrypted: give its passphrase "
		    "(certwrapctl: --passphrase-file FILE or --passphrase-prompt)", path);
	else
		s->key = cs_pem_parse_key(pem, len, path, s->p->passphrase, err);
	cs_pem_buf_free(pem, len);
	if (s->key == NULL)
		return -1;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		cs_error_set(err, "%s: the key does not match %s/cacert.pem", path, s->p->from);
		return -1;
	}
	return 0;
}

/* A small hex counter file (serial, crlnumber), normalized; def when it is
 * missing and def is not NULL. */
static int
read_counter(const struct source *s, const char *file, const char *def, char *out,
    struct cs_error *err)
{
	char path[CS_PATH_MAX], *text;
	size_t len;
	int e = 0;

	if (cs_path(path, err, "%s/%s", s->p->from, file) == -1)
		return -1;
	if ((text = cs_fsio_read(path, SMALL_FILE_MAX, &len, &e, err)) == NULL) {
		if (e != ENOENT || def == NULL)
			return -1;
		snprintf(out, CS_SERIAL_HEX_MAX + 1, "%s", def);
		return 0;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (cs_serial_normalize(text, strlen(text), out, CS_SERIAL_HEX_MAX + 1) == -1) {
		cs_error_set(err, "%s: \"%.40s\" is not a number in hex, as openssl writes it",
		    path, text);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

static int
read_index(struct source *s, struct cs_ca_import_result *out, struct cs_error *err)
{
	char path[CS_PATH_MAX];
	struct cs_index idx;

	if (cs_path(path, err, "%s/index.txt", s->p->from) == -1 ||
	    (s->index_text = cs_fsio_read(path, CS_FILE_MAX_BYTES, &s->index_len, NULL, err)) ==
	    NULL || cs_index_parse(path, s->index_text, s->index_len, &idx, err) == -1)
		return -1;
	for (size_t i = 0; i < idx.n; i++) {
		out->n_issued++;
		out->n_revoked += idx.e[i].status == 'R';
	}
	cs_index_free(&idx);
	return 0;
}

/* --- its openssl.cnf ------------------------------------------------------------------------ */

static const char *
conf_get(CONF *conf, const char *section, const char *name)
{
	const char *v;

	ERR_set_mark();
	v = NCONF_get_string(conf, section, name);
	ERR_pop_to_mark();
	return v;
}

static bool
days_value(const char *v, unsigned *out)
{
	char *end;
	unsigned long n;

	if (v == NULL || v[0] < '0' || v[0] > '9')
		return false;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || n < 1 || n > CS_MAX_DAYS)
		return false;
	*out = (unsigned)n;
	return true;
}

/* certstore.conf's [policy] lines from the CA section's policy. */
static int
conf_policy(CONF *conf, const char *section, const char *path, char *buf, size_t len,
    struct cs_ca_import_result *out, struct cs_error *err)
{
	const char *name = conf_get(conf, section, "policy");
	STACK_OF(CONF_VALUE) *lines;
	size_t used = strlen(buf);

	if (name == NULL)
		return 0;
	ERR_set_mark();
	lines = NCONF_get_section(conf, name);
	ERR_pop_to_mark();
	for (int i = 0; i < sk_CONF_VALUE_num(lines); i++) {
		const CONF_VALUE *v = sk_CONF_VALUE_value(lines, i);
		int nid = OBJ_txt2nid(v->name);

		if (nid == NID_undef) {
			cs_error_set(err, "%s: [%s] %s: not a subject attribute", path, name, v->name);
			return -1;
		}
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s = %s\n",
		    OBJ_nid2ln(nid), v->value);
		out->n_policy++;
	}
	return used < len ? 0 : (cs_error_set(err, "%s: [%s] is too long", path, name), -1);
}

/* The certstore.conf of the new store: the config's defaults and policy,
 * checked by the store's own parser before anything is written. */
static int
make_conf(struct source *s, struct cs_ca_import_result *out, struct cs_warnings *w,
    struct cs_error *err)
{
	char path[CS_PATH_MAX];
	const char *config = s->p->config, *section, *md;
	unsigned days = CS_DEFAULT_LEAF_DAYS, crl_days = CS_DEFAULT_CRL_DAYS;
	CONF *conf = NULL;
	long line = 0;
	struct cs_conf check;
	int rc = -1;

	if (config == NULL && cs_path(path, err, "%s/openssl.cnf", s->p->from) == 0 &&
	    access(path, F_OK) == 0)
		config = path;
	snprintf(s->conf, sizeof(s->conf), "# certstore.conf: taken over from an openssl ca "
	    "directory by certwrapctl ca import; see certwrapctl(8).\n");
	if (config != NULL) {
		if ((conf = NCONF_new(NULL)) == NULL || NCONF_load(conf, config, &line) != 1) {
			cs_error_set(err, "%s%s%ld: cannot read it (%s)", config, line > 0 ? ":" : "",
			    line, cs_ossl_reason("no such file"));
			goto done;
		}
		section = conf_get(conf, "ca", "default_ca");
		days_value(section != NULL ? conf_get(conf, section, "default_days") : NULL, &days);
		days_value(section != NULL ? conf_get(conf, section, "default_crl_days") : NULL,
		    &crl_days);
		md = section != NULL ? conf_get(conf, section, "default_md") : NULL;
		if (md != NULL && (strcmp(md, "md5") == 0 || strcmp(md, "sha1") == 0))
			cs_warn(w, "%s: default_md = %s is not taken over: the store signs with "
			    "SHA-256", config, md);
	}
	snprintf(s->conf + strlen(s->conf), sizeof(s->conf) - strlen(s->conf), "\n[defaults]\n"
	    "key_type = ec:P-256\ndays = %u\ncrl_days = %u\n# go on with the openssl ca "
	    "directory's numbering\nserials = sequential\n\n[policy]\n", days, crl_days);
	if (conf != NULL && (section = conf_get(conf, "ca", "default_ca")) != NULL &&
	    conf_policy(conf, section, config, s->conf, sizeof(s->conf), out, err) == -1)
		goto done;
	if (out->n_policy == 0)
		snprintf(s->conf + strlen(s->conf), sizeof(s->conf) - strlen(s->conf),
		    "commonName = supplied\n");
	snprintf(s->conf + strlen(s->conf), sizeof(s->conf) - strlen(s->conf),
	    "\n[hooks]\ntimeout = %d\n", CS_HOOK_TIMEOUT_S);
	if (cs_conf_parse(config != NULL ? config : "certstore.conf", s->conf, strlen(s->conf),
	    &check, err) == 0) {
		cs_conf_free(&check);
		rc = 0;
	}
done:
	NCONF_free(conf);
	return rc;
}

/* --- writing the store ----------------------------------------------------------------------- */

static int
put(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
    struct cs_error *err)
{
	char path[CS_PATH_MAX];

	if (cs_path(path, err, "%s/%s", dir, name) == -1)
		return -1;
	return cs_fsio_create(path, data, len, mode, err);
}

/* newcerts/SERIAL.pem files, copied as they are; other names are skipped. */
static int
copy_newcerts(const struct source *s, const char *tmp, struct cs_warnings *w,
    struct cs_error *err)
{
	char from[CS_PATH_MAX], path[CS_PATH_MAX], hex[CS_SERIAL_HEX_MAX + 1], *text;
	struct dirent *e;
	size_t len, n;
	DIR *d;
	int rc = 0;

	if (cs_path(from, err, "%s/newcerts", s->p->from) == -1)
		return -1;
	if ((d = opendir(from)) == NULL)
		return errno == ENOENT ? 0 : (cs_error_set(err, "%s: %s", from, strerror(errno)), -1);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0 ||
		    cs_serial_normalize(e->d_name, n - 4, hex, sizeof(hex)) == -1) {
			cs_warn(w, "%s/%s: not SERIAL.pem, left out", from, e->d_name);
			continue;
		}
		if ((rc = cs_path(path, err, "%s/%s", from, e->d_name)) == 0 &&
		    (text = cs_fsio_read(path, CS_PEM_MAX_BYTES, &len, NULL, err)) != NULL) {
			rc = cs_path(path, err, "%s/newcerts/%s.pem", tmp, hex) == 0 ?
			    cs_fsio_create(path, text, len, 0644, err) : -1;
			free(text);
		} else {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

static int
write_ca(const struct source *s, const char *tmp, struct cs_warnings *w, struct cs_error *err)
{
	char sub[CS_PATH_MAX], *cert = NULL, *key = NULL, line[CS_SERIAL_HEX_MAX + 2];
	size_t cert_len, key_len = 0;
	int rc = -1;

	if (cs_path(sub, err, "%s/private", tmp) == -1 || cs_fsio_mkdir(sub, 0700, err) == -1 ||
	    cs_path(sub, err, "%s/newcerts", tmp) == -1 || cs_fsio_mkdir(sub, 0755, err) == -1)
		return -1;
	if ((cert = cs_cert_pem(s->cert, &cert_len)) == NULL) {
		cs_error_set(err, "out of memory");
		goto done;
	}
	/* kept encrypted with the same passphrase, as AES-256 PKCS#8 */
	if ((key = cs_key_pem(s->key, s->p->passphrase, &key_len, err)) == NULL ||
	    put(tmp, "cacert.pem", cert, cert_len, 0644, err) == -1 ||
	    put(tmp, "root.pem", cert, cert_len, 0644, err) == -1 ||
	    put(tmp, "chain.pem", "", 0, 0644, err) == -1 ||
	    put(tmp, "private/cakey.pem", key, key_len, 0600, err) == -1 ||
	    put(tmp, "index.txt", s->index_text, s->index_len, 0644, err) == -1 ||
	    put(tmp, "index.txt.attr", "unique_subject = no\n", 20, 0644, err) == -1 ||
	    put(tmp, "serial", line, (size_t)snprintf(line, sizeof(line), "%s\n", s->serial), 0644,
	    err) == -1 ||
	    put(tmp, "crlnumber", line, (size_t)snprintf(line, sizeof(line), "%s\n",
	    s->crlnumber), 0644, err) == -1 ||
	    copy_newcerts(s, tmp, w, err) == -1 ||
	    cs_path(sub, err, "%s/private", tmp) == -1 || cs_fsio_sync_dir(sub, err) == -1 ||
	    cs_path(sub, err, "%s/newcerts", tmp) == -1 || cs_fsio_sync_dir(sub, err) == -1 ||
	    cs_fsio_sync_dir(tmp, err) == -1)
		goto done;
	rc = 0;
done:
	free(cert);
	cs_pem_buf_free(key, key_len);
	return rc;
}

/* Under the lock: certs/, certstore.conf and ca/, the last renamed whole. */
static int
write_store(const char *dir, const struct source *s, struct cs_warnings *w,
    struct cs_error *err)
{
	char path[CS_PATH_MAX], tmp[CS_PATH_MAX] = "";
	int rc = -1;

	if (cs_path(path, err, "%s/ca", dir) == -1)
		return -1;
	if (access(path, F_OK) == 0) {
		cs_error_set(err, "%s: already has a CA (%s/cacert.pem): nothing was changed; "
		    "import into a new directory", dir, path);
		return -1;
	}
	if (cs_path(path, err, "%s/" CS_CONF_FILE, dir) == -1)
		return -1;
	if (access(path, F_OK) == 0) {
		cs_error_set(err, "%s: already exists: ca import writes the store's configuration "
		    "from the openssl ca directory; move it away first", path);
		return -1;
	}
	if (cs_fsio_mkdtemp(dir, "ca", tmp, err) == -1 || write_ca(s, tmp, w, err) == -1 ||
	    cs_path(path, err, "%s/certs", dir) == -1 || cs_fsio_mkdir(path, 0755, err) == -1 ||
	    cs_path(path, err, "%s/" CS_CONF_FILE, dir) == -1 ||
	    cs_fsio_write(path, s->conf, strlen(s->conf), 0644, err) == -1 ||
	    cs_path(path, err, "%s/ca", dir) == -1 || cs_fsio_rename_new(tmp, path, err) == -1)
		goto done;
	tmp[0] = '\0';
	rc = 0;
done:
	if (tmp[0] != '\0')
		cs_fsio_remove_tree(tmp, NULL);
	return rc;
}

int
certstore_ca_import(const char *dir, const struct cs_ca_import_params *p,
    struct cs_ca_import_result *out, struct cs_warnings *w, struct cs_error *err)
{
	struct certstore cs = { .dir = (char *)(uintptr_t)dir, .lock_fd = -1 };
	struct source s = { .p = p };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (w != NULL)
		w->count = 0;
	cs_conf_defaults(&cs.conf);
	if (p->passphrase != NULL && p->passphrase[0] == '\0') {
		cs_error_set(err, "the CA key passphrase is empty");
		return -1;
	}
	if (read_ca_cert(&s, w, err) == -1 || read_ca_key(&s, err) == -1 ||
	    read_counter(&s, "serial", NULL, s.serial, err) == -1 ||
	    read_counter(&s, "crlnumber", "01", s.crlnumber, err) == -1 ||
	    read_index(&s, out, err) == -1 || make_conf(&s, out, w, err) == -1)
		goto done;
	if (cs_fsio_mkdir(dir, 0755, err) == -1 || cs_store_lock(&cs, err) == -1)
		goto done;
	rc = write_store(dir, &s, w, err);
	cs_store_unlock(&cs);
	if (rc == 0) {
		cs_name_oneline(X509_get_subject_name(s.cert), out->subject, sizeof(out->subject));
		snprintf(out->next_serial, sizeof(out->next_serial), "%s", s.serial);
		out->encrypted = p->passphrase != NULL;
	}
done:
	cs_conf_free(&cs.conf);
	source_clear(&s);
	return rc;
}
