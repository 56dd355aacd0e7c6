/* request.c: a key and a CSR for an outside CA (what seed 000 did by hand,
 * and where it went wrong: a CSR made with another key than the one later
 * installed). The key is made here and never leaves the store; the request
 * waits in certs/NAME/request/ until certstore_import brings the CA's
 * answer in and takes that very key. A waiting request is never replaced
 * by accident: the answer would fit no key. */
#include "certstore/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUEST_DIR "request"

void
cs_request_clear(struct cs_request *r)
{
	free(r->csr_pem);
	memset(r, 0, sizeof(*r));
}

/* The subject: the one given (with a CN added when it has none), or CN =
 * the first name. */
static X509_NAME *
request_subject(const struct cs_csr_params *p, char *const *dns, size_t n_dns,
    char *const *ip, struct cs_error *err)
{
	const char *cn = n_dns > 0 ? dns[0] : ip[0];
	X509_NAME *n;

	n = p->subject != NULL ? cs_name_parse(p->subject, "--subject", err) : X509_NAME_new();
	if (n == NULL) {
		if (p->subject == NULL)
			cs_error_set(err, "out of memory");
		return NULL;
	}
	if (X509_NAME_get_index_by_NID(n, NID_commonName, -1) < 0 &&
	    !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0)) {
		cs_error_set(err, "%s: the CN \"%.80s\" does not fit a certificate's subject: give "
		    "--subject with a shorter CN", p->name, cn);
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

struct made {
	EVP_PKEY *key;
	X509_REQ *req;
	char *key_pem, *csr_pem;
	size_t key_len, csr_len;
};

static void
made_clear(struct made *m)
{
	EVP_PKEY_free(m->key);
	X509_REQ_free(m->req);
	cs_pem_buf_free(m->key_pem, m->key_len);
	free(m->csr_pem);
	memset(m, 0, sizeof(*m));
}

/* Key, CSR and their PEM, before the lock (an RSA 4096 key takes seconds). */
static int
make(struct certstore *cs, const struct cs_csr_params *p, struct made *m, char *subject,
    struct cs_error *err)
{
	char **dns = NULL, **ip = NULL;
	size_t n_dns = 0, n_ip = 0;
	X509_NAME *name = NULL;
	GENERAL_NAMES *sans = NULL;
	enum cs_key_type type = p->key_type != CS_KEY_DEFAULT ? p->key_type : cs->conf.key_type;
	int rc = -1;

	if (p->n_dns + p->n_ip == 0 || p->n_dns + p->n_ip > CS_MAX_SANS) {
		cs_error_set(err, "%s: give from 1 to %d DNS names and IP addresses (it has %zu)",
		    p->name, CS_MAX_SANS, p->n_dns + p->n_ip);
		return -1;
	}
	if (cs_san_dns_check(p->dns, p->n_dns, &dns, &n_dns, err) == -1 ||
	    cs_san_ip_check(p->ip, p->n_ip, &ip, &n_ip, err) == -1 ||
	    (name = request_subject(p, dns, n_dns, ip, err)) == NULL)
		goto done;
	if ((sans = cs_san_names(dns, n_dns, ip, n_ip)) == NULL) {
		cs_error_set(err, "out of memory");
		goto done;
	}
	cs_name_oneline(name, subject, CS_TEXT_MAX);
	if ((m->key = cs_key_generate(type, err)) == NULL ||
	    (m->req = cs_csr_make(m->key, name, sans, err)) == NULL ||
	    (m->key_pem = cs_key_pem(m->key, NULL, &m->key_len, err)) == NULL)
		goto done;
	if ((m->csr_pem = cs_csr_pem(m->req, &m->csr_len)) == NULL) {
		cs_error_set(err, "out of memory");
		goto done;
	}
	rc = 0;
done:
	cs_strv_free(dns);
	cs_strv_free(ip);
	X509_NAME_free(name);
	GENERAL_NAMES_free(sans);
	return rc;
}

/* "2030-01-01 00:00 UTC": when the waiting request was made. */
static void
made_when(const char *csr_path, char *buf, size_t len)
{
	struct stat st;

	if (stat(csr_path, &st) == 0)
		cs_time_format(st.st_mtime, true, buf, len);
	else
		snprintf(buf, len, "(unknown date)");
}

/* Under the lock: the request's directory built aside, then put in place
 * (exchanged with a waiting one when replacing, which is then removed). */
static int
put_request(struct certstore *cs, const struct cs_csr_params *p, const struct made *m,
    struct cs_request *out, struct cs_error *err)
{
	char parent[CS_PATH_MAX], tmp[CS_PATH_MAX] = "", path[CS_PATH_MAX], when[64];
	bool waiting;
	int rc = -1;

	if (cs_store_path(cs, parent, err, "certs") == -1 || cs_fsio_mkdir(parent, 0755, err) == -1 ||
	    cs_store_path(cs, parent, err, "certs/%s", p->name) == -1 ||
	    cs_fsio_mkdir(parent, 0755, err) == -1 ||
	    cs_path(out->dir, err, "%s/" REQUEST_DIR, parent) == -1 ||
	    cs_path(out->key, err, "%s/key.pem", out->dir) == -1 ||
	    cs_path(out->csr, err, "%s/csr.pem", out->dir) == -1)
		return -1;
	waiting = access(out->dir, F_OK) == 0;
	if (waiting && !p->replace) {
		made_when(out->csr, when, sizeof(when));
		cs_error_set(err, "%s: a request made %s is waiting for its certificate (%s): "
		    "import the CA's answer with certwrapctl import %s --cert FILE, or make a new "
		    "key and request with --replace (the CA's answer to the old one will then fit "
		    "no key)", p->name, when, out->csr, p->name);
		return -1;
	}
	if (cs_fsio_mkdtemp(parent, REQUEST_DIR, tmp, err) == -1 ||
	    cs_path(path, err, "%s/key.pem", tmp) == -1 ||
	    cs_fsio_create(path, m->key_pem, m->key_len, 0600, err) == -1 ||
	    cs_path(path, err, "%s/csr.pem", tmp) == -1 ||
	    cs_fsio_create(path, m->csr_pem, m->csr_len, 0644, err) == -1 ||
	    cs_fsio_sync_dir(tmp, err) == -1)
		goto done;
	if (waiting ? cs_fsio_exchange(tmp, out->dir, err) : cs_fsio_rename_new(tmp, out->dir,
	    err))
		goto done;
	if (!waiting)
		tmp[0] = '\0';
	rc = 0;
done:
	/* the directory built aside, or after an exchange the old request */
	if (tmp[0] != '\0')
		cs_fsio_remove_tree(tmp, NULL);
	return rc;
}

int
certstore_csr(struct certstore *cs, const struct cs_csr_params *p, struct cs_request *out,
    struct cs_error *err)
{
	struct made m = { 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!cs_name_is_valid(p->name)) {
		cs_error_set(err, "\"%.80s\" is not a valid certificate name: use letters, digits, "
		    "'.', '-' and '_' (at most %d, starting with a letter or digit)", p->name,
		    CS_NAME_MAX);
		return -1;
	}
	if (make(cs, p, &m, out->subject, err) == -1)
		goto done;
	if (cs_store_lock(cs, err) == -1)
		goto done;
	rc = put_request(cs, p, &m, out, err);
	cs_store_unlock(cs);
	if (rc == 0) {
		out->csr_pem = m.csr_pem;
		out->csr_len = m.csr_len;
		m.csr_pem = NULL;
	}
done:
	made_clear(&m);
	return rc;
}

/* --- what import takes from it --------------------------------------------------------------- */

int
cs_request_load(struct certstore *cs, const char *name, EVP_PKEY **key, char **csr_pem,
    size_t *csr_len, struct cs_error *err)
{
	char path[CS_PATH_MAX];
	int e = 0;

	if (key != NULL)
		*key = NULL;
	if (csr_pem != NULL)
		*csr_pem = NULL;
	if (cs_store_path(cs, path, err, "certs/%s/" REQUEST_DIR "/key.pem", name) == -1)
		return -1;
	if (access(path, F_OK) == -1)
		return errno == ENOENT ? 1 : (cs_error_set(err, "%s: %s", path, strerror(errno)), -1);
	if (key != NULL && (*key = cs_key_load(path, NULL, err)) == NULL)
		return -1;
	if (csr_pem == NULL)
		return 0;
	if (cs_store_path(cs, path, err, "certs/%s/" REQUEST_DIR "/csr.pem", name) == -1 ||
	    (*csr_pem = cs_fsio_read(path, CS_PEM_MAX_BYTES, csr_len, &e, err)) == NULL) {
		if (key != NULL) {
			EVP_PKEY_free(*key);
			*key = NULL;
		}
		return -1;
	}
	return 0;
}

int
cs_request_remove(struct certstore *cs, const char *name, struct cs_error *err)
{
	char dir[CS_PATH_MAX], away[CS_PATH_MAX];

	if (cs_store_path(cs, dir, err, "certs/%s/" REQUEST_DIR, name) == -1 ||
	    cs_store_path(cs, away, err, "certs/%s/" CS_TMP_PREFIX "used-" REQUEST_DIR, name) == -1)
		return -1;
	/* renamed away in one step, so that a crash leaves a whole request or
	 * none (the next writer sweeps what is left under the temporary name) */
	cs_fsio_remove_tree(away, NULL);
	if (rename(dir, away) == -1) {
		if (errno == ENOENT)
			return 0;
		cs_error_set(err, "%s: cannot remove: %s", dir, strerror(errno));
		return -1;
	}
	return cs_fsio_remove_tree(away, err);
}
