/* fsio.c: the one way the store writes. A file is never changed in place:
 * it is written whole under a temporary name in the same directory, fsync()ed,
 * renamed over the old one, and the directory is fsync()ed so that the rename
 * itself survives a power cut. A reader, or a crash at any instant, sees the
 * old file or the new one. Temporary names start with CS_TMP_PREFIX so that
 * readers skip them and the next writer, under the store's lock, removes
 * what a killed writer left. */
#include "certstore/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#define TMP_SUFFIX_LEN   12         /* random hex after the prefix and tag */
#define TMP_TRIES        16         /* O_EXCL collisions before giving up */
#define KEY_MODE_MASK    077        /* no bit for group or others on a key */

int
cs_path(char *buf, struct cs_error *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, CS_PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= CS_PATH_MAX) {
		cs_error_set(err, "%.200s...: path too long (at most %d bytes): use a shorter "
		    "store directory", buf, CS_PATH_MAX - 1);
		return -1;
	}
	return 0;
}

/* The directory part of path ("." when there is none), in out. */
static void
dir_of(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		strcpy(out, ".");
	} else if (slash == path) {
		strcpy(out, "/");
	} else {
		memcpy(out, path, (size_t)(slash - path));
		out[slash - path] = '\0';
	}
}

/* A temporary name beside path: DIR/.tmp-BASE-RANDOM. */
static int
tmp_name(const char *path, char *out, struct cs_error *err)
{
	char dir[CS_PATH_MAX];
	unsigned char rnd[TMP_SUFFIX_LEN / 2];
	char hex[TMP_SUFFIX_LEN + 1];
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	dir_of(path, dir);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		cs_error_set(err, "%s: no random numbers for a temporary name", path);
		return -1;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	return cs_path(out, err, "%s/" CS_TMP_PREFIX "%s-%s", dir, base, hex);
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cs_fsio_sync_dir(const char *dir, struct cs_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1 || fsync(fd) == -1) {
		cs_error_set(err, "%s: cannot sync the directory: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
cs_fsio_create(const char *path, const void *data, size_t len, mode_t mode,
    struct cs_error *err)
{
	int fd, saved;

	/* O_EXCL: never through a symlink, never over a file; fchmod: the
	 * umask must not decide a key's mode, nor make a certificate unreadable. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) == -1) {
		saved = errno;
		cs_error_set(err, "%s: cannot create: %s", path, strerror(saved));
		errno = saved;                  /* callers retry on EEXIST */
		return -1;
	}
	if (fchmod(fd, mode) == -1 || write_all(fd, data, len) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	cs_error_set(err, "%s: cannot write: %s", path, strerror(saved));
	if (fd != -1)
		close(fd);
	unlink(path);
	errno = saved;
	return -1;
}

int
cs_fsio_write(const char *path, const void *data, size_t len, mode_t mode,
    struct cs_error *err)
{
	char tmp[CS_PATH_MAX], dir[CS_PATH_MAX];
	int tries = 0;

	for (;;) {
		if (tmp_name(path, tmp, err) == -1)
			return -1;
		if (cs_fsio_create(tmp, data, len, mode, err) == 0)
			break;
		if (errno != EEXIST || ++tries == TMP_TRIES)
			return -1;
	}
	if (rename(tmp, path) == -1) {
		cs_error_set(err, "%s: cannot replace: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	dir_of(path, dir);
	return cs_fsio_sync_dir(dir, err);
}

int
cs_fsio_write_new(const char *path, const void *data, size_t len, mode_t mode,
    struct cs_error *err)
{
	char tmp[CS_PATH_MAX];
	int tries = 0;

	for (;;) {
		if (tmp_name(path, tmp, err) == -1)
			return -1;
		if (cs_fsio_create(tmp, data, len, mode, err) == 0)
			break;
		if (errno != EEXIST || ++tries == TMP_TRIES)
			return -1;
	}
	if (cs_fsio_rename_new(tmp, path, err) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
cs_fsio_rename_new(const char *from, const char *to, struct cs_error *err)
{
	char dir_from[CS_PATH_MAX], dir_to[CS_PATH_MAX];

	/* RENAME_NOREPLACE: an empty directory would otherwise be replaced
	 * silently, and nothing in the store is ever replaced but by design. */
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == -1) {
		cs_error_set(err, "%s: cannot rename to %s: %s", from, to, strerror(errno));
		return -1;
	}
	dir_of(to, dir_to);
	dir_of(from, dir_from);
	if (cs_fsio_sync_dir(dir_to, err) == -1)
		return -1;
	return strcmp(dir_from, dir_to) == 0 ? 0 : cs_fsio_sync_dir(dir_from, err);
}

int
cs_fsio_exchange(const char *a, const char *b, struct cs_error *err)
{
	char dir[CS_PATH_MAX];

	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == -1) {
		cs_error_set(err, "%s: cannot exchange with %s: %s", a, b, strerror(errno));
		return -1;
	}
	dir_of(b, dir);
	return cs_fsio_sync_dir(dir, err);
}

int
cs_fsio_symlink(const char *target, const char *linkpath, struct cs_error *err)
{
	char tmp[CS_PATH_MAX], dir[CS_PATH_MAX];
	int tries = 0;

	for (;;) {
		if (tmp_name(linkpath, tmp, err) == -1)
			return -1;
		if (symlink(target, tmp) == 0)
			break;
		if (errno != EEXIST || ++tries == TMP_TRIES) {
			cs_error_set(err, "%s: cannot make a symlink: %s", tmp, strerror(errno));
			return -1;
		}
	}
	/* The one rename that switches: readers see the old target or the new. */
	if (rename(tmp, linkpath) == -1) {
		cs_error_set(err, "%s: cannot replace: %s", linkpath, strerror(errno));
		unlink(tmp);
		return -1;
	}
	dir_of(linkpath, dir);
	return cs_fsio_sync_dir(dir, err);
}

int
cs_fsio_mkdir(const char *path, mode_t mode, struct cs_error *err)
{
	char dir[CS_PATH_MAX];
	struct stat st;

	if (mkdir(path, mode) == -1) {
		if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		cs_error_set(err, "%s: cannot make the directory: %s", path,
		    errno == EEXIST ? "something else has that name" : strerror(errno));
		return -1;
	}
	if (chmod(path, mode) == -1) {
		cs_error_set(err, "%s: cannot set its mode: %s", path, strerror(errno));
		return -1;
	}
	dir_of(path, dir);
	return cs_fsio_sync_dir(dir, err);
}

int
cs_fsio_mkdtemp(const char *parent, const char *tag, char *out, struct cs_error *err)
{
	if (cs_path(out, err, "%s/" CS_TMP_PREFIX "%s-XXXXXX", parent, tag) == -1)
		return -1;
	if (mkdtemp(out) == NULL) {
		cs_error_set(err, "%s: cannot make a directory: %s", parent, strerror(errno));
		return -1;
	}
	if (chmod(out, 0755) == -1) {
		cs_error_set(err, "%s: cannot set its mode: %s", out, strerror(errno));
		rmdir(out);
		return -1;
	}
	return 0;
}

int
cs_fsio_remove_tree(const char *path, struct cs_error *err)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char child[CS_PATH_MAX];
	int rc = 0;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : (cs_error_set(err, "%s: %s", path, strerror(errno)), -1);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) == -1 && errno != ENOENT) {
			cs_error_set(err, "%s: cannot remove: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		cs_error_set(err, "%s: cannot read the directory: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = cs_path(child, err, "%s/%s", path, e->d_name);
		if (rc == 0)
			rc = cs_fsio_remove_tree(child, err);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) == -1 && errno != ENOENT) {
		cs_error_set(err, "%s: cannot remove: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

int
cs_fsio_sweep(const char *dir, struct cs_error *err)
{
	DIR *d;
	struct dirent *e;
	char path[CS_PATH_MAX];
	bool removed = false;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		cs_error_set(err, "%s: cannot read the directory: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, CS_TMP_PREFIX, strlen(CS_TMP_PREFIX)) != 0)
			continue;
		rc = cs_path(path, err, "%s/%s", dir, e->d_name);
		if (rc == 0)
			rc = cs_fsio_remove_tree(path, err);
		removed = true;
	}
	closedir(d);
	if (rc == 0 && removed)
		rc = cs_fsio_sync_dir(dir, err);
	return rc;
}

/* Reads fd to its end, at most max bytes; the caller closes fd. */
static char *
read_fd(int fd, const char *path, size_t max, size_t *len, struct cs_error *err)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1) {
		cs_error_set(err, "%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		cs_error_set(err, "%s: not a regular file", path);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		cs_error_set(err, "%s: too large (%lld bytes, at most %zu): is this the right file?",
		    path, (long long)st.st_size, max);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		cs_error_set(err, "%s: out of memory", path);
		return NULL;
	}
	/* Read what fstat promised; a file growing meanwhile is cut there. */
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cs_error_set(err, "%s: cannot read: %s", path, strerror(errno));
			OPENSSL_cleanse(buf, (size_t)st.st_size);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

char *
cs_fsio_read(const char *path, size_t max, size_t *len, int *errno_out,
    struct cs_error *err)
{
	int fd;
	char *buf;

	*len = 0;
	if (errno_out != NULL)
		*errno_out = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		if (errno_out != NULL)
			*errno_out = errno;
		cs_error_set(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = read_fd(fd, path, max, len, err)) == NULL && errno_out != NULL)
		*errno_out = EINVAL;
	close(fd);
	return buf;
}

char *
cs_fsio_read_key(const char *path, size_t *len, struct cs_error *err)
{
	struct stat st;
	int fd;
	char *buf;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		cs_error_set(err, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	/* Checked on the open file, so a chmod between check and read is moot. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & KEY_MODE_MASK) != 0) {
		cs_error_set(err, "%s: the private key may be read by %s (mode %04o): chmod 600 %s",
		    path, (st.st_mode & 07) != 0 ? "every user" : "its group",
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return NULL;
	}
	buf = read_fd(fd, path, CS_PEM_MAX_BYTES, len, err);
	close(fd);
	return buf;
}
