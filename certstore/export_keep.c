/* export_keep.c: every export of a version is kept in that version's own
 * directory, certs/NAME/N/export/FORMAT/, beside its key and certificate.
 *
 * It is written once, the first time that format is exported, through a
 * temporary directory renamed into place (a crash leaves the old state and
 * a temporary the next export sweeps), and only read after that: exporting
 * the same version again gives the same bytes (a PKCS#12 included, whose
 * salt is random), and a rollback finds the older version's exports where
 * they always were. */
#include "certstore/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pkcs12.h>

#define EXPORT_DIR   "export"

static bool
is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Writes f under dir, making its subdirectory ("cacerts/") first. A hashed
 * name taken by another certificate of the same export moves to the next
 * suffix, as `openssl rehash` does. */
static int
write_file(const char *dir, struct cs_export_file *f, struct cs_error *err)
{
	char path[CS_PATH_MAX], sub[CS_PATH_MAX];
	const char *slash = strrchr(f->name, '/');

	if (slash != NULL) {
		if (cs_path(sub, err, "%s/%.*s", dir, (int)(slash - f->name), f->name) == -1 ||
		    cs_fsio_mkdir(sub, 0755, err) == -1)
			return -1;
	}
	for (unsigned suffix = 0; suffix < 10; suffix++) {
		if (cs_path(path, err, "%s/%s", dir, f->name) == -1)
			return -1;
		if (cs_fsio_create(path, f->data, f->len, f->mode, err) == 0)
			return cs_fsio_sync_dir(slash != NULL ? sub : dir, err);
		if (!f->hashed || errno != EEXIST)
			return -1;
		f->name[strlen(f->name) - 1] = (char)('1' + suffix);
	}
	return -1;
}

/* The PKCS#12 kept earlier replaces the one just made, if passphrase opens it. */
static int
reuse_pkcs12(const char *kept, struct cs_export *e, const char *passphrase,
    struct cs_error *err)
{
	struct cs_export_file *f = &e->files[0];
	const unsigned char *p;
	char path[CS_PATH_MAX], *data;
	size_t len;
	PKCS12 *p12;
	bool opens;

	if (cs_path(path, err, "%s/%s", kept, f->name) == -1 ||
	    (data = cs_fsio_read(path, CS_PEM_MAX_BYTES, &len, NULL, err)) == NULL)
		return -1;
	p = (const unsigned char *)data;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	opens = p12 != NULL && (passphrase != NULL ? PKCS12_verify_mac(p12, passphrase, -1) == 1 :
	    !PKCS12_mac_present(p12) || PKCS12_verify_mac(p12, NULL, 0) == 1 ||
	    PKCS12_verify_mac(p12, "", 0) == 1);
	PKCS12_free(p12);
	if (!opens) {
		OPENSSL_cleanse(data, len);
		free(data);
		cs_error_set(err, "%s was exported before with %s: give the same passphrase "
		    "(or renew to export a new version with another)", path,
		    passphrase != NULL ? "another passphrase" : "a passphrase");
		return -1;
	}
	OPENSSL_cleanse(f->data, f->len);
	free(f->data);
	f->data = data;
	f->len = len;
	return 0;
}

static int
write_kept(struct certstore *cs, const char *exports, const char *kept, const char *format,
    struct cs_export *e, struct cs_error *err)
{
	char tmp[CS_PATH_MAX];
	int rc = -1;

	if (cs_store_lock(cs, err) == -1)
		return -1;
	if (is_dir(kept)) {                 /* another writer was first */
		cs_store_unlock(cs);
		return 1;
	}
	if (cs_fsio_mkdir(exports, 0755, err) == 0 && cs_fsio_sweep(exports, err) == 0 &&
	    cs_fsio_mkdtemp(exports, format, tmp, err) == 0) {
		rc = 0;
		for (size_t i = 0; rc == 0 && i < e->n; i++)
			rc = write_file(tmp, &e->files[i], err);
		if (rc == 0)
			rc = cs_fsio_rename_new(tmp, kept, err);
		if (rc == -1)
			cs_fsio_remove_tree(tmp, NULL);
	}
	cs_store_unlock(cs);
	return rc;
}

int
cs_export_keep(struct certstore *cs, const char *name, unsigned version,
    enum cs_export_format f, const char *p12_passphrase, struct cs_export *e,
    struct cs_error *err)
{
	const char *format = cs_export_format_name(f);
	char exports[CS_PATH_MAX];
	int written = 1;

	if (cs_store_path(cs, exports, err, "certs/%s/%u/" EXPORT_DIR, name, version) == -1 ||
	    cs_path(e->kept, err, "%s/%s", exports, format) == -1)
		return -1;
	if (!is_dir(e->kept) &&
	    (written = write_kept(cs, exports, e->kept, format, e, err)) == -1)
		return -1;
	/* made before: only a PKCS#12 differs from what was just built */
	if (written == 1 && f == CS_EXPORT_PKCS12)
		return reuse_pkcs12(e->kept, e, p12_passphrase, err);
	return 0;
}
