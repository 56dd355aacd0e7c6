/* test_fsio.c: certstore/fsio.c, the one way the store writes: whole
 * files replaced by rename, modes that do not depend on the umask, no
 * replacement where none is allowed, temporary names swept, private keys
 * that others may read refused with the fix. (Includes certstore/internal.h:
 * fsio.c has no public API of its own.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certstore/internal.h"
#include "tests/unit/testpki.h"

static const char *
slurp(const char *path)
{
	size_t len;
	struct cs_error err = { "" };
	char *s = cs_fsio_read(path, 1 << 20, &len, NULL, &err);
	const char *copy;

	assert_non_null(s);
	copy = tp_fmt("%s", s);
	free(s);
	return copy;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Entries of dir whose names start with prefix. */
static int
count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
test_write_replaces_whole_file(void **state)
{
	const char *path = tp_write("index.txt", "old content\n");
	struct cs_error err = { "" };
	mode_t old_umask = umask(077);

	assert_int_equal(cs_fsio_write(path, "new\n", 4, 0644, &err), 0);
	umask(old_umask);
	assert_string_equal(slurp(path), "new\n");
	/* the umask does not decide: a certificate stays readable */
	assert_int_equal(mode_of(path), 0644);
	assert_int_equal(count_entries(tp_dir(), CS_TMP_PREFIX), 0);
}

static void
test_write_key_mode(void **state)
{
	const char *path = tp_path("key.pem");
	struct cs_error err = { "" };
	mode_t old_umask = umask(0);

	assert_int_equal(cs_fsio_write(path, "k", 1, 0600, &err), 0);
	umask(old_umask);
	assert_int_equal(mode_of(path), 0600);
}

static void
test_write_into_missing_directory(void **state)
{
	const char *path = tp_path("nodir/file");
	struct cs_error err = { "" };

	assert_int_equal(cs_fsio_write(path, "x", 1, 0644, &err), -1);
	/* the message names the temporary file it could not create */
	assert_non_null(strstr(err.msg, tp_fmt("%s/nodir/" CS_TMP_PREFIX "file-", tp_dir())));
	assert_non_null(strstr(err.msg, ": cannot create: No such file or directory"));
}

static void
test_create_refuses_existing_and_symlinks(void **state)
{
	const char *path = tp_write("exists", "x");
	const char *link = tp_path("link");
	struct cs_error err = { "" };

	assert_int_equal(cs_fsio_create(path, "y", 1, 0644, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: cannot create: File exists", path));
	assert_int_equal(errno, EEXIST);
	assert_string_equal(slurp(path), "x");
	/* a symlink planted where a key will go is not followed */
	assert_int_equal(symlink(tp_path("elsewhere"), link), 0);
	assert_int_equal(cs_fsio_create(link, "secret", 6, 0600, &err), -1);
	assert_int_equal(access(tp_path("elsewhere"), F_OK), -1);
}

static void
test_write_new_never_replaces(void **state)
{
	const char *path = tp_path("newcerts-01.pem");
	struct cs_error err = { "" };

	assert_int_equal(cs_fsio_write_new(path, "first", 5, 0644, &err), 0);
	assert_int_equal(cs_fsio_write_new(path, "second", 6, 0644, &err), -1);
	assert_non_null(strstr(err.msg, tp_fmt(": cannot rename to %s: File exists", path)));
	assert_string_equal(slurp(path), "first");
	assert_int_equal(count_entries(tp_dir(), CS_TMP_PREFIX), 0);
}

static void
test_rename_new_refuses_empty_directory(void **state)
{
	const char *from = tp_path("vtmp"), *to = tp_path("v1");
	struct cs_error err = { "" };

	assert_int_equal(mkdir(from, 0755), 0);
	assert_int_equal(mkdir(to, 0755), 0);
	/* plain rename() would replace the empty directory; this must not */
	assert_int_equal(cs_fsio_rename_new(from, to, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: cannot rename to %s: File exists", from, to));
	assert_int_equal(rmdir(to), 0);
	assert_int_equal(cs_fsio_rename_new(from, to, &err), 0);
	assert_int_equal(access(from, F_OK), -1);
	assert_int_equal(rmdir(to), 0);
}

static void
test_symlink_switch(void **state)
{
	const char *link = tp_path("current");
	struct cs_error err = { "" };
	char target[16];
	ssize_t n;

	assert_int_equal(cs_fsio_symlink("1", link, &err), 0);
	assert_int_equal(cs_fsio_symlink("2", link, &err), 0);
	n = readlink(link, target, sizeof(target) - 1);
	assert_int_equal(n, 1);
	target[n] = '\0';
	assert_string_equal(target, "2");
	assert_int_equal(count_entries(tp_dir(), CS_TMP_PREFIX), 0);
	assert_int_equal(unlink(link), 0);
}

static void
test_mkdir(void **state)
{
	const char *dir = tp_path("d");
	struct cs_error err = { "" };
	mode_t old_umask = umask(077);

	assert_int_equal(cs_fsio_mkdir(dir, 0755, &err), 0);
	umask(old_umask);
	assert_int_equal(mode_of(dir), 0755);
	assert_int_equal(cs_fsio_mkdir(dir, 0755, &err), 0);       /* exists: fine */
	tp_write("f", "x");
	assert_int_equal(cs_fsio_mkdir(tp_path("f"), 0755, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: cannot make the directory: something else has "
	    "that name", tp_path("f")));
}

static void
test_mkdtemp_and_sweep(void **state)
{
	const char *dir = tp_path("sweep");
	char tmp[CS_PATH_MAX];
	struct cs_error err = { "" };

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(cs_fsio_mkdtemp(dir, "v3", tmp, &err), 0);
	assert_int_equal(strncmp(tmp, tp_fmt("%s/" CS_TMP_PREFIX "v3-", dir), strlen(dir) + 9), 0);
	assert_int_equal(mode_of(tmp), 0755);
	/* a half-built version with files in it, a half-written file, and a keeper */
	tp_write("sweep/" CS_TMP_PREFIX "v3-aaaaaa.ignored", "x");
	assert_int_equal(cs_fsio_create(tp_fmt("%s/key.pem", tmp), "k", 1, 0600, &err), 0);
	tp_write("sweep/" CS_TMP_PREFIX "index.txt-0011", "half");
	tp_write("sweep/keep", "x");
	assert_int_equal(count_entries(dir, CS_TMP_PREFIX), 3);
	assert_int_equal(cs_fsio_sweep(dir, &err), 0);
	assert_int_equal(count_entries(dir, CS_TMP_PREFIX), 0);
	assert_int_equal(count_entries(dir, "keep"), 1);
	/* a missing directory has nothing to sweep */
	assert_int_equal(cs_fsio_sweep(tp_path("nothing-here"), &err), 0);
}

static void
test_remove_tree_keeps_symlink_targets(void **state)
{
	const char *outside = tp_write("outside", "keep me");
	const char *tree = tp_path("tree");
	struct cs_error err = { "" };

	assert_int_equal(mkdir(tree, 0755), 0);
	assert_int_equal(mkdir(tp_path("tree/sub"), 0755), 0);
	tp_write("tree/sub/f", "x");
	assert_int_equal(symlink(outside, tp_path("tree/link")), 0);
	assert_int_equal(cs_fsio_remove_tree(tree, &err), 0);
	assert_int_equal(access(tree, F_OK), -1);
	assert_string_equal(slurp(outside), "keep me");
	assert_int_equal(cs_fsio_remove_tree(tree, &err), 0);      /* gone already: fine */
}

struct key_mode_case {
	mode_t mode;
	const char *who;                    /* NULL: accepted */
};

static const struct key_mode_case key_modes[] = {
	{ 0600, NULL }, { 0400, NULL }, { 0640, "its group" }, { 0660, "its group" },
	{ 0604, "every user" }, { 0644, "every user" }, { 0610, "its group" },
};

static void
test_read_key_refuses_readable_keys(void **state)
{
	const char *path = tp_write("key-mode.pem", "-----BEGIN PRIVATE KEY-----\n");
	struct cs_error err = { "" };
	size_t len;
	char *s;

	for (size_t i = 0; i < sizeof(key_modes) / sizeof(key_modes[0]); i++) {
		assert_int_equal(chmod(path, key_modes[i].mode), 0);
		s = cs_fsio_read_key(path, &len, &err);
		if (key_modes[i].who == NULL) {
			assert_non_null(s);
			assert_int_equal(len, 28);
			cs_pem_buf_free(s, len);
			continue;
		}
		assert_null(s);
		assert_string_equal(err.msg, tp_fmt("%s: the private key may be read by %s (mode "
		    "%04o): chmod 600 %s", path, key_modes[i].who, (unsigned)key_modes[i].mode,
		    path));
	}
}

static void
test_read_bounds(void **state)
{
	const char *path = tp_write("big", "0123456789");
	struct cs_error err = { "" };
	size_t len;
	int e;
	char *s;

	assert_null(cs_fsio_read(path, 9, &len, &e, &err));
	assert_string_equal(err.msg, tp_fmt("%s: too large (10 bytes, at most 9): is this the "
	    "right file?", path));
	assert_int_equal(e, EINVAL);
	assert_non_null(s = cs_fsio_read(path, 10, &len, &e, &err));
	assert_int_equal(len, 10);
	assert_int_equal(e, 0);
	free(s);
	assert_null(cs_fsio_read(tp_path("absent"), 9, &len, &e, &err));
	assert_int_equal(e, ENOENT);
	assert_null(cs_fsio_read(tp_dir(), 9, &len, &e, &err));
	assert_string_equal(err.msg, tp_fmt("%s: not a regular file", tp_dir()));
}

static void
test_path_too_long(void **state)
{
	char buf[CS_PATH_MAX], *longname = malloc(CS_PATH_MAX + 1);
	struct cs_error err = { "" };

	assert_non_null(longname);
	memset(longname, 'a', CS_PATH_MAX);
	longname[CS_PATH_MAX] = '\0';
	assert_int_equal(cs_path(buf, &err, "/store/%s", longname), -1);
	assert_non_null(strstr(err.msg, tp_fmt("...: path too long (at most %d bytes): use a "
	    "shorter store directory", CS_PATH_MAX - 1)));
	free(longname);
}

static int
teardown(void **state)
{
	tp_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_replaces_whole_file),
		cmocka_unit_test(test_write_key_mode),
		cmocka_unit_test(test_write_into_missing_directory),
		cmocka_unit_test(test_create_refuses_existing_and_symlinks),
		cmocka_unit_test(test_write_new_never_replaces),
		cmocka_unit_test(test_rename_new_refuses_empty_directory),
		cmocka_unit_test(test_symlink_switch),
		cmocka_unit_test(test_mkdir),
		cmocka_unit_test(test_mkdtemp_and_sweep),
		cmocka_unit_test(test_remove_tree_keeps_symlink_targets),
		cmocka_unit_test(test_read_key_refuses_readable_keys),
		cmocka_unit_test(test_read_bounds),
		cmocka_unit_test(test_path_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
