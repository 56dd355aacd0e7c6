/* files.c: writing the files a response carries (an export, a signed
 * certificate, a CRL) where the operator said, all or nothing: each is
 * written to a temporary file in its directory (mode set and owner given
 * before it has content anyone else could see), synced, and only when every
 * one is ready are they renamed into place. A refusal or a failure before
 * the renames leaves nothing behind. The names come from the response,
 * which may come from a daemon: they are checked to stay inside the
 * directory. */
#include "ctl/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASHED_SUFFIX_MAX 32            /* <hash>.0 ... .31, as openssl rehash allows */

/* A relative name of one or two plain components, inside the directory. */
static bool
name_is_safe(const char *name)
{
	size_t slashes = 0;

	if (name[0] == '\0' || name[0] == '/' || name[0] == '.' || strstr(name, "/.") != NULL ||
	    strstr(name, "//") != NULL || name[strlen(name) - 1] == '/')
		return false;
	for (const char *p = name; *p; p++) {
		if (*p == '/')
			slashes++;
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return false;
	}
	return slashes <= 1;
}

static int
mkdir_p(struct ctl *c, const char *path)
{
	char buf[CS_PATH_MAX];
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return ctl_fail(c, "%s: path too long", path);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return ctl_fail(c, "%s: cannot make the directory: %s", buf, strerror(errno));
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return ctl_fail(c, "%s: not a directory", path);
	return CTL_OK;
}

/* A user or group name, or a number. */
static bool
numeric_id(const char *s, unsigned long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	*out = strtoul(s, &end, 10);
	return *end == '\0';
}

int
files_owner(struct ctl *c, const char *owner, const char *group, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	struct group *gr;
	unsigned long n;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (owner != NULL) {
		if ((pw = getpwnam(owner)) != NULL)
			*uid = pw->pw_uid;
		else if (numeric_id(owner, &n))
			*uid = (uid_t)n;
		else
			return ctl_fail(c, "--owner %s: no such user", owner);
	}
	if (group != NULL) {
		if ((gr = getgrnam(group)) != NULL)
			*gid = gr->gr_gid;
		else if (numeric_id(group, &n))
			*gid = (gid_t)n;
		else
			return ctl_fail(c, "--group %s: no such group", group);
	}
	return CTL_OK;
}

/* Whether path holds exactly data. */
static bool
same_content(const char *path, const char *data, size_t len)
{
	struct cs_error err;
	size_t n;
	char *text = cs_pem_read_file(path, &n, &err);
	bool same = text != NULL && n == len && memcmp(text, data, len) == 0;

	if (text != NULL)
		cs_pem_buf_free(text, n);
	return same;
}

/* "<hash>.N": the one already holding this certificate, else the first free N. */
static int
hashed_name(struct ctl *c, const char *dir, struct out_file *f, char *final)
{
	size_t base = strlen(f->name) - 1;      /* "<hash>." */

	for (int n = 0; n < HASHED_SUFFIX_MAX; n++) {
		snprintf(final, CS_PATH_MAX, "%s/%.*s%d", dir, (int)base, f->name, n);
		if (access(final, F_OK) == -1 && errno == ENOENT)
			return CTL_OK;
		if (same_content(final, f->data, f->len)) {
			f->unchanged = true;
			return CTL_OK;
		}
	}
	return ctl_fail(c, "%s/%s: %d certificates with that subject hash already: clean up "
	    "the directory", dir, f->name, HASHED_SUFFIX_MAX);
}

/* One temporary file with the content, mode and owner, synced. */
static int
write_temp(struct ctl *c, struct out_file *f, uid_t uid, gid_t gid)
{
	char dir[CS_PATH_MAX];
	const char *slash = strrchr(f->final, '/');
	size_t off = 0;
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - f->final), f->final);
	if (snprintf(f->tmp, sizeof(f->tmp), "%.*s/.tmp-certwrapctl-XXXXXX", CS_PATH_MAX - 32,
	    dir) >= (int)sizeof(f->tmp) || (fd = mkstemp(f->tmp)) == -1) {
		f->tmp[0] = '\0';
		return ctl_fail(c, "%s: cannot write there: %s", dir, strerror(errno));
	}
	/* mkstemp made it 0600: mode and owner are set before any content */
	if (fchmod(fd, f->mode) == -1 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) == -1)) {
		close(fd);
		return ctl_fail(c, "%s: cannot set its mode or owner: %s%s", f->final,
		    strerror(errno), errno == EPERM ? " (--owner and --group need root)" : "");
	}
	while (off < f->len) {
		ssize_t n = write(fd, f->data + off, f->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return ctl_fail(c, "%s: cannot write: %s", f->final, strerror(errno));
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1)
		return ctl_fail(c, "%s: cannot write: %s", f->final, strerror(errno));
	return CTL_OK;
}

static void
sync_dir(const char *path)
{
	char dir[CS_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
}

int
files_write(struct ctl *c, const char *dir, struct out_file *files, size_t n, uid_t uid,
    gid_t gid)
{
	char sub[CS_PATH_MAX];
	int rc = CTL_OK;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!name_is_safe(files[i].name))
			return ctl_fail(c, "the response names a file \"%.80s\" outside %s: not "
			    "written", files[i].name, dir);
		if (files[i].mode != 0400 && files[i].mode != 0600 && files[i].mode != 0644)
			return ctl_fail(c, "the response gives %s mode %04o: not written",
			    files[i].name, files[i].mode);
		files[i].tmp[0] = '\0';
		files[i].unchanged = false;
	}
	if ((rc = mkdir_p(c, dir)) != CTL_OK)
		return rc;
	for (i = 0; rc == CTL_OK && i < n; i++) {
		const char *slash = strchr(files[i].name, '/');

		if (slash != NULL) {
			snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - files[i].name),
			    files[i].name);
			if ((rc = mkdir_p(c, sub)) != CTL_OK)
				break;
		}
		if (files[i].hashed) {
			if ((rc = hashed_name(c, dir, &files[i], files[i].final)) != CTL_OK)
				break;
		} else if (snprintf(files[i].final, sizeof(files[i].final), "%s/%s", dir,
		    files[i].name) >= (int)sizeof(files[i].final)) {
			rc = ctl_fail(c, "%s: path too long", dir);
			break;
		}
		if (!files[i].unchanged)
			rc = write_temp(c, &files[i], uid, gid);
	}
	/* all or nothing: the renames only once every file is ready */
	for (i = 0; i < n; i++) {
		if (files[i].tmp[0] == '\0')
			continue;
		if (rc == CTL_OK && rename(files[i].tmp, files[i].final) == -1)
			rc = ctl_fail(c, "%s: cannot put it in place: %s (the files before it were "
			    "written)", files[i].final, strerror(errno));
		if (rc != CTL_OK)
			unlink(files[i].tmp);
		else
			sync_dir(files[i].final);
		files[i].tmp[0] = '\0';
	}
	return rc;
}
