/* teststore.c: stores for unit tests (see teststore.h). */
#include "tests/unit/teststore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/testpki.h"

#define TS_MAX_STORES 64
#define TS_MAX_CERTS  256
#define TS_MAX_DNS    8

static struct certstore *stores[TS_MAX_STORES];
static size_t n_stores;
static X509 *certs[TS_MAX_CERTS];
static size_t n_certs;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("teststore: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static struct certstore *
keep(struct certstore *cs)
{
	if (n_stores == TS_MAX_STORES)
		die("too many stores");
	stores[n_stores++] = cs;
	return cs;
}

struct certstore *
ts_store(const char *dir, const struct cs_ca_params *p)
{
	struct cs_ca_params defaults = { .now = TP_NOW };
	struct cs_error err = { "" };
	struct certstore *cs;

	if (certstore_ca_init(tp_path(dir), p != NULL ? p : &defaults, &err) == -1 ||
	    (cs = certstore_open(tp_path(dir), &err)) == NULL)
		die("store %s: %s", dir, err.msg);
	return keep(cs);
}

struct certstore *
ts_open(const char *dir)
{
	struct cs_error err = { "" };
	struct certstore *cs = certstore_open(tp_path(dir), &err);

	if (cs == NULL)
		die("open %s: %s", dir, err.msg);
	return keep(cs);
}

void
ts_issue(struct certstore *cs, const char *name, time_t now, const char *dns, ...)
{
	const char *names[TS_MAX_DNS];
	struct cs_issue_params p = { .name = name, .dns = names, .now = now };
	struct cs_change ch;
	struct cs_error err = { "" };
	va_list ap;

	va_start(ap, dns);
	for (const char *d = dns; d != NULL && p.n_dns < TS_MAX_DNS; d = va_arg(ap, const char *))
		names[p.n_dns++] = d;
	va_end(ap);
	if (certstore_issue(cs, &p, &ch, NULL, &err) == -1)
		die("issue %s: %s", name, err.msg);
}

unsigned
ts_renew(struct certstore *cs, const char *name, time_t now, bool reuse_key)
{
	struct cs_renew_params p = { .name = name, .now = now, .reuse_key = reuse_key };
	struct cs_change ch;
	struct cs_error err = { "" };

	if (certstore_renew(cs, &p, &ch, NULL, &err) == -1)
		die("renew %s: %s", name, err.msg);
	return ch.version;
}

X509 *
ts_cert(const char *path)
{
	struct cs_error err = { "" };
	size_t len;
	char *pem = cs_pem_read_file(path, &len, &err);
	STACK_OF(X509) *s = pem != NULL ? cs_pem_parse_certs(pem, len, path, &err) : NULL;

	if (s == NULL)
		die("%s", err.msg);
	cs_pem_buf_free(pem, len);
	if (n_certs == TS_MAX_CERTS)
		die("too many certificates");
	certs[n_certs] = sk_X509_shift(s);
	sk_X509_pop_free(s, X509_free);
	return certs[n_certs++];
}

const char *
ts_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (f == NULL)
		die("cannot open %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return tp_fmt("%s", buf);
}

mode_t
ts_mode(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		die("cannot stat %s", path);
	return st.st_mode & 07777;
}

const char *
ts_file(struct certstore *cs, const char *name, unsigned version, const char *file)
{
	return tp_fmt("%s/certs/%s/%u/%s", certstore_dir(cs), name, version, file);
}

void
ts_cleanup(void)
{
	while (n_stores > 0)
		certstore_close(stores[--n_stores]);
	while (n_certs > 0)
		X509_free(certs[--n_certs]);
}
