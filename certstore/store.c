/* store.c: the store's directory layout (see certstore.h), its lock, its
 * versions and the `current` pointer of each name.
 *
 * Readers take no lock: a version directory never changes once it has its
 * name, and `current` is switched by one rename() of a symlink, so resolving
 * current once and then reading from that version's directory can never mix
 * two versions. Writers take DIR/.lock (flock) around every change; holding
 * it, they remove whatever a killed writer left under a temporary name. */
#include "certstore/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_FILE          ".lock"
#define CURRENT_LINK       "current"
#define LOCK_POLL_FIRST_MS 1
#define LOCK_POLL_MAX_MS   50

const char *
cs_event_name(enum cs_event e)
{
	switch (e) {
	case CS_EVENT_ISSUE: return "issue";
	case CS_EVENT_RENEW: return "renew";
	case CS_EVENT_ROLLBACK: return "rollback";
	case CS_EVENT_IMPORT: return "import";
	}
	return "change";
}

int
cs_store_path(const struct certstore *cs, char *buf, struct cs_error *err, const char *fmt, ...)
{
	char sub[CS_PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sub, sizeof(sub), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(sub))
		return cs_path(buf, err, "%s/%s...", cs->dir, "(too long)");
	return cs_path(buf, err, "%s/%s", cs->dir, sub);
}

/* --- open and close -------------------------------------------------------------------- */

bool
certstore_has_ca(const char *dir)
{
	char path[CS_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/ca/cacert.pem", dir);

	return n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0;
}

struct certstore *
certstore_open(const char *dir, struct cs_error *err)
{
	struct certstore *cs = calloc(1, sizeof(*cs));
	char path[CS_PATH_MAX];
	struct stat st;

	if (cs == NULL || (cs->dir = strdup(dir)) == NULL) {
		cs_error_set(err, "%s: out of memory", dir);
		free(cs);
		return NULL;
	}
	cs->lock_fd = -1;
	cs_conf_defaults(&cs->conf);
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cs_error_set(err, "%s: %s: make a store there with certwrapctl --store %s ca init",
		    dir, errno == ENOENT ? "no such directory" : "not a directory", dir);
		goto fail;
	}
	if (cs_store_path(cs, path, err, "ca/cacert.pem") == -1)
		goto fail;
	if (access(path, F_OK) == -1) {
		cs_error_set(err, "%s: not a certificate store (no ca/cacert.pem): make one with "
		    "certwrapctl --store %s ca init", dir, dir);
		goto fail;
	}
	if (cs_store_path(cs, path, err, CS_CONF_FILE) == -1 ||
	    cs_conf_load(path, &cs->conf, err) == -1)
		goto fail;
	return cs;
fail:
	certstore_close(cs);
	return NULL;
}

void
certstore_close(struct certstore *cs)
{
	if (cs == NULL)
		return;
	cs_store_unlock(cs);
	cs_conf_free(&cs->conf);
	free(cs->dir);
	free(cs);
}

const char *
certstore_dir(const struct certstore *cs)
{
	return cs->dir;
}

void
cs_store_trust(const struct certstore *cs, struct cs_trust *t, char *root_path)
{
	memset(t, 0, sizeof(*t));
	if (cs_store_path(cs, root_path, NULL, "ca/root.pem") == 0)
		t->ca_file = root_path;
}

/* --- the lock ------------------------------------------------------------------------------ */

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* What a killed writer may have left: temporary files and directories. */
static int
sweep(struct certstore *cs, struct cs_error *err)
{
	static const char *const dirs[] = { "", "ca", "ca/private", "ca/newcerts", "certs" };
	char path[CS_PATH_MAX];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (cs_store_path(cs, path, err, "%s", dirs[i]) == -1 ||
		    cs_fsio_sweep(path, err) == -1)
			return -1;
	if (cs_store_path(cs, path, err, "certs") == -1 || (d = opendir(path)) == NULL)
		return 0;               /* no certs/ yet: nothing to sweep */
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (!cs_name_is_valid(e->d_name))
			continue;
		rc = cs_store_path(cs, path, err, "certs/%s", e->d_name);
		if (rc == 0)
			rc = cs_fsio_sweep(path, err);
	}
	closedir(d);
	return rc;
}

int
cs_store_lock(struct certstore *cs, struct cs_error *err)
{
	char path[CS_PATH_MAX];
	struct timespec start, pause = { 0, LOCK_POLL_FIRST_MS * 1000000L };

	if (cs_store_path(cs, path, err, LOCK_FILE) == -1)
		return -1;
	if ((cs->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		cs_error_set(err, "%s: cannot open the store's lock file: %s", path, strerror(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Polled rather than blocking, so that a writer that hangs holding the
	 * lock makes the others fail with a message instead of hanging too. */
	while (flock(cs->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			cs_error_set(err, "%s: cannot lock: %s", path, strerror(errno));
			goto fail;
		}
		if (elapsed_ms(&start) > CS_LOCK_TIMEOUT_MS) {
			cs_error_set(err, "%s: another certwrapctl or certwrapd has been changing the "
			    "store for more than %d s: try again later, or find it with fuser %s",
			    path, CS_LOCK_TIMEOUT_MS / 1000, path);
			goto fail;
		}
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < LOCK_POLL_MAX_MS * 1000000L)
			pause.tv_nsec *= 2;
	}
	if (sweep(cs, err) == -1)
		goto fail;
	return 0;
fail:
	close(cs->lock_fd);
	cs->lock_fd = -1;
	return -1;
}

void
cs_store_unlock(struct certstore *cs)
{
	if (cs->lock_fd != -1) {
		close(cs->lock_fd);     /* releases the flock */
		cs->lock_fd = -1;
	}
}

/* --- names and versions ---------------------------------------------------------------------- */

static bool
parse_version(const char *s, unsigned *v)
{
	unsigned long n = 0;

	if (s[0] < '1' || s[0] > '9')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || (n = n * 10 + (unsigned long)(*s - '0')) > CS_MAX_VERSION)
			return false;
	}
	*v = (unsigned)n;
	return true;
}

static int
check_name(const char *name, struct cs_error *err)
{
	if (cs_name_is_valid(name))
		return 0;
	cs_error_set(err, "\"%.80s\" is not a valid certificate name: use letters, digits, '.', "
	    "'-' and '_' (at most %d, starting with a letter or digit)", name, CS_NAME_MAX);
	return -1;
}

int
certstore_current(struct certstore *cs, const char *name, unsigned *version,
    struct cs_error *err)
{
	char path[CS_PATH_MAX], target[32];
	ssize_t n;

	if (check_name(name, err) == -1 ||
	    cs_store_path(cs, path, err, "certs/%s/" CURRENT_LINK, name) == -1)
		return -1;
	if ((n = readlink(path, target, sizeof(target) - 1)) == -1) {
		if (errno == ENOENT)
			cs_error_set(err, "%s: no such certificate in %s (certwrapctl list shows "
			    "the names)", name, cs->dir);
		else
			cs_error_set(err, "%s: cannot read the link: %s", path, strerror(errno));
		return -1;
	}
	target[n] = '\0';
	if (!parse_version(target, version)) {
		cs_error_set(err, "%s: points to \"%s\", not a version number: the store was "
		    "changed by hand; point it at a version directory", path, target);
		return -1;
	}
	return 0;
}

static int
compare_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int
version_push(unsigned **v, size_t *n, size_t *cap, unsigned value)
{
	unsigned *grown;

	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		if ((grown = realloc(*v, *cap * sizeof(**v))) == NULL)
			return -1;
		*v = grown;
	}
	(*v)[(*n)++] = value;
	return 0;
}

int
certstore_versions(struct certstore *cs, const char *name, unsigned **versions, size_t *n,
    struct cs_error *err)
{
	char path[CS_PATH_MAX];
	size_t cap = 0;
	struct dirent *e;
	unsigned v;
	DIR *d;

	*versions = NULL;
	*n = 0;
	if (check_name(name, err) == -1 || cs_store_path(cs, path, err, "certs/%s", name) == -1)
		return -1;
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			cs_error_set(err, "%s: no such certificate in %s (certwrapctl list shows "
			    "the names)", name, cs->dir);
		else
			cs_error_set(err, "%s: cannot read the directory: %s", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		/* only renamed-into-place versions have a bare number for a name */
		if (parse_version(e->d_name, &v) && version_push(versions, n, &cap, v) == -1) {
			closedir(d);
			free(*versions);
			*versions = NULL;
			*n = 0;
			cs_error_set(err, "%s: out of memory", path);
			return -1;
		}
	}
	closedir(d);
	/* none: certs/NAME may hold only a request waiting for an outside CA */
	if (*n > 1)
		qsort(*versions, *n, sizeof(**versions), compare_unsigned);
	return 0;
}

int
cs_store_max_version(struct certstore *cs, const char *name, unsigned *max,
    struct cs_error *err)
{
	unsigned *v;
	size_t n;
	char path[CS_PATH_MAX];

	*max = 0;
	if (cs_store_path(cs, path, err, "certs/%s", name) == -1)
		return -1;
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (certstore_versions(cs, name, &v, &n, err) == -1)
		return -1;
	if (n > 0)
		*max = v[n - 1];
	free(v);
	return 0;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
certstore_names(struct certstore *cs, char ***names, struct cs_error *err)
{
	char path[CS_PATH_MAX], link[CS_PATH_MAX], target[32];
	char **v = NULL, **grown;
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	*names = NULL;
	if (cs_store_path(cs, path, err, "certs") == -1)
		return -1;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		goto oom;
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT) {
			*names = v;             /* a store whose CA has issued nothing */
			return 0;
		}
		cs_error_set(err, "%s: cannot read the directory: %s", path, strerror(errno));
		free(v);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		/* a name counts once it has a current version */
		if (!cs_name_is_valid(e->d_name) ||
		    cs_path(link, NULL, "%s/%s/" CURRENT_LINK, path, e->d_name) == -1 ||
		    readlink(link, target, sizeof(target)) == -1)
			continue;
		if ((grown = realloc(v, (n + 2) * sizeof(*v))) == NULL) {
			closedir(d);
			goto oom;
		}
		v = grown;
		if ((v[n] = strdup(e->d_name)) == NULL) {
			closedir(d);
			goto oom;
		}
		v[++n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), compare_names);
	*names = v;
	return 0;
oom:
	cs_strv_free(v);
	cs_error_set(err, "%s: out of memory", path);
	return -1;
}

/* --- one version ---------------------------------------------------------------------------- */

int
cs_store_paths(const struct certstore *cs, const char *name, unsigned version,
    struct cs_paths *p, struct cs_error *err)
{
	memset(p, 0, sizeof(*p));
	if (cs_store_path(cs, p->dir, err, "certs/%s/%u", name, version) == -1 ||
	    cs_path(p->key, err, "%s/key.pem", p->dir) == -1 ||
	    cs_path(p->cert, err, "%s/cert.pem", p->dir) == -1 ||
	    cs_path(p->chain, err, "%s/chain.pem", p->dir) == -1 ||
	    cs_path(p->fullchain, err, "%s/fullchain.pem", p->dir) == -1 ||
	    cs_path(p->csr, err, "%s/csr.pem", p->dir) == -1 ||
	    cs_path(p->meta, err, "%s/" CS_META_FILE, p->dir) == -1)
		return -1;
	return 0;
}

/* version 0 means the current one; a named version must exist. */
static int
resolve(struct certstore *cs, const char *name, unsigned *version, struct cs_error *err)
{
	char path[CS_PATH_MAX];
	struct stat st;

	if (*version == 0)
		return certstore_current(cs, name, version, err);
	if (check_name(name, err) == -1 ||
	    cs_store_path(cs, path, err, "certs/%s/%u", name, *version) == -1)
		return -1;
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cs_error_set(err, "%s: there is no version %u (certwrapctl show %s lists them)",
		    name, *version, name);
		return -1;
	}
	return 0;
}

int
certstore_paths(struct certstore *cs, const char *name, unsigned version,
    struct cs_paths *out, struct cs_error *err)
{
	if (resolve(cs, name, &version, err) == -1)
		return -1;
	return cs_store_paths(cs, name, version, out, err);
}

int
cs_store_meta(struct certstore *cs, const char *name, unsigned version, struct cs_meta *m,
    struct cs_error *err)
{
	struct cs_paths p;
	size_t len;
	char *text;
	int rc;

	memset(m, 0, sizeof(*m));
	if (cs_store_paths(cs, name, version, &p, err) == -1 ||
	    (text = cs_fsio_read(p.meta, CS_META_MAX_BYTES, &len, NULL, err)) == NULL)
		return -1;
	rc = cs_meta_parse(p.meta, text, len, m, err);
	free(text);
	return rc;
}

/* cert.pem and chain.pem are fullchain.pem in two parts. Files that disagree
 * were changed after the version was made, and what a reader got would depend
 * on which file it reads: such a version is refused as a whole. */
static int
check_parts(const struct cs_paths *p, const char *label, STACK_OF(X509) *full,
    struct cs_error *err)
{
	STACK_OF(X509) *cert = cs_cert_load_all(p->cert, false, err), *chain = NULL;
	bool same = false;

	if (cert != NULL && (chain = cs_cert_load_all(p->chain, true, err)) != NULL) {
		same = sk_X509_num(cert) == 1 && sk_X509_num(full) == 1 + sk_X509_num(chain);
		for (int i = 0; same && i < sk_X509_num(full); i++)
			same = X509_cmp(sk_X509_value(full, i), i == 0 ? sk_X509_value(cert, 0) :
			    sk_X509_value(chain, i - 1)) == 0;
		if (!same)
			cs_error_set(err, "%s: cert.pem and chain.pem are not the certificates of "
			    "fullchain.pem: the version's files were changed after it was made; make "
			    "a new version (certwrapctl renew) or point current at a good one "
			    "(certwrapctl rollback)", label);
	}
	sk_X509_pop_free(cert, X509_free);
	sk_X509_pop_free(chain, X509_free);
	return cert != NULL && chain != NULL && same ? 0 : -1;
}

struct cs_keycert *
certstore_load(struct certstore *cs, const char *name, unsigned version, time_t now,
    unsigned *loaded, struct cs_warnings *warnings, struct cs_error *err)
{
	char label[CS_NAME_MAX + 16], root[CS_PATH_MAX];
	struct cs_paths p;
	struct cs_trust trust;
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	struct cs_keycert *kc = NULL;

	if (warnings != NULL)
		warnings->count = 0;
	/* resolved once: everything below reads the one immutable directory */
	if (resolve(cs, name, &version, err) == -1 ||
	    cs_store_paths(cs, name, version, &p, err) == -1)
		return NULL;
	snprintf(label, sizeof(label), "%s@%u", name, version);
	cs_version_trust(cs, name, version, &trust, root);
	if ((key = cs_key_load(p.key, NULL, err)) != NULL &&
	    (certs = cs_cert_load_all(p.fullchain, false, err)) != NULL &&
	    check_parts(&p, label, certs, err) == 0)
		kc = cs_keycert_validate(certs, label, key, label, &trust, now, warnings, err);
	if (kc != NULL && loaded != NULL)
		*loaded = version;
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	return kc;
}

void
cs_version_trust(struct certstore *cs, const char *name, unsigned version,
    struct cs_trust *t, char *root_path)
{
	struct cs_meta m;
	char path[CS_PATH_MAX];

	cs_store_trust(cs, t, root_path);
	if (cs_store_meta(cs, name, version, &m, NULL) == -1)
		return;
	/* an outside CA's certificate: its own root when it came with it, and
	 * the system's, as when it was imported */
	if (m.origin == CS_EVENT_IMPORT) {
		t->use_system = true;
		if (cs_store_path(cs, path, NULL, "certs/%s/%u/" CS_VERSION_ROOT, name, version) ==
		    0 && access(path, F_OK) == 0) {
			snprintf(root_path, CS_PATH_MAX, "%s", path);
			t->ca_file = root_path;
		}
	}
	cs_meta_clear(&m);
}

bool
certstore_is_imported(struct certstore *cs, const char *name)
{
	struct cs_meta m;
	unsigned cur;
	bool imported;

	if (certstore_current(cs, name, &cur, NULL) == -1 ||
	    cs_store_meta(cs, name, cur, &m, NULL) == -1)
		return false;
	imported = m.origin == CS_EVENT_IMPORT;
	cs_meta_clear(&m);
	return imported;
}

/* --- changing current ------------------------------------------------------------------------- */

static int
put(const char *dir, const char *file, const char *data, size_t len, mode_t mode,
    struct cs_error *err)
{
	char path[CS_PATH_MAX];

	if (cs_path(path, err, "%s/%s", dir, file) == -1)
		return -1;
	return cs_fsio_create(path, data, len, mode, err);
}

static int
switch_current(struct certstore *cs, const char *name, unsigned version, struct cs_error *err)
{
	char link[CS_PATH_MAX], target[16];

	snprintf(target, sizeof(target), "%u", version);
	if (cs_store_path(cs, link, err, "certs/%s/" CURRENT_LINK, name) == -1)
		return -1;
	return cs_fsio_symlink(target, link, err);
}

static int
put_version(const char *dir, const struct cs_version_files *f, struct cs_error *err)
{
	if (put(dir, "key.pem", f->key_pem, f->key_len, 0600, err) == -1 ||
	    put(dir, "cert.pem", f->cert_pem, f->cert_len, 0644, err) == -1 ||
	    put(dir, "chain.pem", f->chain_pem, f->chain_len, 0644, err) == -1 ||
	    put(dir, "fullchain.pem", f->fullchain_pem, f->fullchain_len, 0644, err) == -1 ||
	    put(dir, "csr.pem", f->csr_pem, f->csr_len, 0644, err) == -1 ||
	    put(dir, CS_META_FILE, f->meta_text, f->meta_len, 0644, err) == -1 ||
	    (f->root_pem != NULL && put(dir, CS_VERSION_ROOT, f->root_pem, f->root_len, 0644,
	    err) == -1))
		return -1;
	return cs_fsio_sync_dir(dir, err);
}

/* A name's first version: certs/.tmp-NAME-XXXXXX holding the version and
 * its current link, renamed whole to certs/NAME. The name appears with a
 * current version, or not at all. */
static int
commit_first(struct certstore *cs, const char *name, unsigned version,
    const struct cs_version_files *f, const char *final, char *tmp, struct cs_error *err)
{
	char certs[CS_PATH_MAX], vdir[CS_PATH_MAX], link[CS_PATH_MAX], target[16];

	snprintf(target, sizeof(target), "%u", version);
	if (cs_store_path(cs, certs, err, "certs") == -1 || cs_fsio_mkdir(certs, 0755, err) == -1 ||
	    cs_fsio_mkdtemp(certs, name, tmp, err) == -1 ||
	    cs_path(vdir, err, "%s/%u", tmp, version) == -1 ||
	    cs_fsio_mkdir(vdir, 0755, err) == -1 || put_version(vdir, f, err) == -1 ||
	    cs_path(link, err, "%s/" CURRENT_LINK, tmp) == -1)
		return -1;
	if (symlink(target, link) == -1) {
		cs_error_set(err, "%s: cannot make a symlink: %s", link, strerror(errno));
		return -1;
	}
	if (cs_fsio_sync_dir(tmp, err) == -1 || cs_fsio_rename_new(tmp, final, err) == -1)
		return -1;
	tmp[0] = '\0';
	return 0;
}

/* A further version: built as certs/NAME/.tmp-vN-*, renamed to
 * certs/NAME/N, then current switched to it by one rename. */
static int
commit_next(struct certstore *cs, const char *name, unsigned version,
    const struct cs_version_files *f, const char *parent, char *tmp, struct cs_error *err)
{
	char final[CS_PATH_MAX], tag[32];

	snprintf(tag, sizeof(tag), "v%u", version);
	if (cs_fsio_mkdtemp(parent, tag, tmp, err) == -1 || put_version(tmp, f, err) == -1 ||
	    cs_path(final, err, "%s/%u", parent, version) == -1 ||
	    cs_fsio_rename_new(tmp, final, err) == -1)
		return -1;
	tmp[0] = '\0';
	/* A failure from here leaves a complete version that is not current. */
	return switch_current(cs, name, version, err);
}

int
cs_store_commit(struct certstore *cs, const char *name, unsigned version,
    const struct cs_version_files *f, struct cs_error *err)
{
	char parent[CS_PATH_MAX], tmp[CS_PATH_MAX] = "";
	struct stat st;
	int rc;

	if (cs_store_path(cs, parent, err, "certs/%s", name) == -1)
		return -1;
	if (lstat(parent, &st) == -1 && errno == ENOENT)
		rc = commit_first(cs, name, version, f, parent, tmp, err);
	else
		rc = commit_next(cs, name, version, f, parent, tmp, err);
	if (rc == -1 && tmp[0] != '\0')
		cs_fsio_remove_tree(tmp, NULL);
	return rc;
}

void
cs_store_change(struct certstore *cs, struct cs_change *c, enum cs_event event,
    const char *name, unsigned version, unsigned previous, X509 *leaf)
{
	memset(c, 0, sizeof(*c));
	c->event = event;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->version = version;
	c->previous = previous;
	cs_serial_hex(X509_get0_serialNumber(leaf), c->serial, sizeof(c->serial));
	if (cs_time_from_asn1(X509_get0_notAfter(leaf), &c->not_after) == -1)
		c->not_after = 0;
	cs_store_paths(cs, name, version, &c->paths, NULL);
}

static int
rollback_target(struct certstore *cs, const char *name, unsigned cur, unsigned *target,
    struct cs_error *err)
{
	unsigned *v;
	size_t n;

	if (certstore_versions(cs, name, &v, &n, err) == -1)
		return -1;
	*target = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] < cur)
			*target = v[i];
	free(v);
	if (*target == 0) {
		cs_error_set(err, "%s: version %u is its first: there is nothing to roll back to",
		    name, cur);
		return -1;
	}
	return 0;
}

int
certstore_rollback(struct certstore *cs, const char *name, time_t now,
    struct cs_change *out, struct cs_warnings *warnings, struct cs_error *err)
{
	struct cs_keycert *kc = NULL;
	struct cs_error why;
	unsigned cur, target;
	int rc = -1;

	if (cs_store_lock(cs, err) == -1)
		return -1;
	if (certstore_current(cs, name, &cur, err) == -1 ||
	    rollback_target(cs, name, cur, &target, err) == -1)
		goto done;
	/* the same validation as anything that becomes current */
	if ((kc = certstore_load(cs, name, target, now, NULL, warnings, &why)) == NULL) {
		cs_error_set(err, "cannot roll back %s to version %u: %.900s", name, target, why.msg);
		goto done;
	}
	if (switch_current(cs, name, target, err) == -1)
		goto done;
	cs_store_change(cs, out, CS_EVENT_ROLLBACK, name, target, cur, cs_keycert_leaf(kc));
	rc = 0;
done:
	cs_keycert_free(kc);
	cs_store_unlock(cs);
	return rc;
}
