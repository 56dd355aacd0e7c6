/* names.c: certificate names and dates as an operator reads them. */
#include "certstore/internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#define SECONDS_PER_DAY 86400

/* Most specific part first ("CN=mail.example.com, O=Example"), UTF-8 kept
 * readable, but control characters and RFC 2253 specials escaped so a
 * hostile name cannot forge a log line. */
#define NAME_FLAGS (XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_DN_REV | XN_FLAG_FN_SN | \
	ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT | \
	ASN1_STRFLGS_DUMP_UNKNOWN | ASN1_STRFLGS_DUMP_DER)

void
cs_name_oneline(const X509_NAME *name, char *buf, size_t len)
{
	BIO *bio;
	char *text;
	long n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (name == NULL || X509_NAME_entry_count(name) == 0) {
		snprintf(buf, len, "(empty name)");
		return;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(bio, name, 0, NAME_FLAGS) < 0 ||
	    (n = BIO_get_mem_data(bio, &text)) < 0) {
		snprintf(buf, len, "(unreadable name)");
		BIO_free(bio);
		return;
	}
	if ((size_t)n >= len) {
		n = (long)len - 1;
		/* do not cut a UTF-8 sequence in half */
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf, text, (size_t)n);
	buf[n] = '\0';
	BIO_free(bio);
}

long
cs_days_until(time_t t, time_t now)
{
	/* difftime: no overflow for any pair of time_t; the cast truncates
	 * toward zero, so "less than a day" either way is 0. */
	return (long)(difftime(t, now) / SECONDS_PER_DAY);
}

int
cs_time_from_asn1(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	/* ASN1_TIME_to_tm(NULL) would mean "now": refuse it here. */
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

void
cs_time_format(time_t t, bool with_time, char *buf, size_t len)
{
	struct tm tm;

	if (len == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, with_time ? "%Y-%m-%d %H:%M UTC" : "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "(unknown date)");
}

void
cs_time_distance(time_t t, time_t now, char *buf, size_t len)
{
	long days = cs_days_until(t, now);

	if (days == 0)
		snprintf(buf, len, t >= now ? "(in less than a day)" : "(less than a day ago)");
	else if (days > 0)
		snprintf(buf, len, "(in %ld day%s)", days, days == 1 ? "" : "s");
	else
		snprintf(buf, len, "(%ld day%s ago)", -days, days == -1 ? "" : "s");
}

void
cs_name_openssl(const X509_NAME *name, char *buf, size_t len)
{
	BIO *bio;
	char *text;
	long n;

	if (len == 0)
		return;
	buf[0] = '\0';
	/* XN_FLAG_ONELINE is what `openssl x509 -subject` prints by default */
	if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE) >= 0 &&
	    (n = BIO_get_mem_data(bio, &text)) >= 0) {
		if ((size_t)n >= len)
			n = (long)len - 1;
		memcpy(buf, text, (size_t)n);
		buf[n] = '\0';
	}
	BIO_free(bio);
}

bool
cs_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	/* Also a directory name: no '/', no "." or "..", no leading '-' (an
	 * option to every shell command an operator might run on it), and not
	 * CS_TMP_PREFIX, which is what writers sweep. */
	if (len == 0 || len > CS_NAME_MAX || name[0] == '.' || name[0] == '-' || name[0] == '_')
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_'))
			return false;
	return true;
}

/* One "TYPE=value" of a subject, escapes already removed. */
static int
name_add(X509_NAME *n, const char *rdn, const char *what, const char *text,
    struct cs_error *err)
{
	const char *eq = strchr(rdn, '=');
	char type[64];
	size_t tlen;

	if (eq == NULL || eq == rdn || eq[1] == '\0') {
		cs_error_set(err, "%s \"%.200s\": \"%.64s\" is not TYPE=value: write it as openssl "
		    "req -subj does, e.g. /O=Example/CN=Example Mail CA", what, text, rdn);
		return -1;
	}
	tlen = (size_t)(eq - rdn);
	if (tlen >= sizeof(type)) {
		cs_error_set(err, "%s \"%.200s\": attribute type too long", what, text);
		return -1;
	}
	memcpy(type, rdn, tlen);
	type[tlen] = '\0';
	if (OBJ_txt2nid(type) == NID_undef) {
		cs_error_set(err, "%s \"%.200s\": unknown attribute type \"%s\" (use C, ST, L, O, OU, "
		    "CN or emailAddress)", what, text, type);
		return -1;
	}
	if (!X509_NAME_add_entry_by_txt(n, type, MBSTRING_UTF8, (const unsigned char *)eq + 1,
	    -1, -1, 0)) {
		cs_error_set(err, "%s \"%.200s\": %s=%s: %s", what, text, type, eq + 1,
		    cs_ossl_reason("not a valid value"));
		return -1;
	}
	return 0;
}

X509_NAME *
cs_name_parse(const char *text, const char *what, struct cs_error *err)
{
	X509_NAME *n = X509_NAME_new();
	char rdn[CS_TEXT_MAX];
	size_t r = 0;
	const char *p;

	if (n == NULL) {
		cs_error_set(err, "%s: out of memory", what);
		return NULL;
	}
	if (text[0] != '/' || text[1] == '\0') {
		cs_error_set(err, "%s \"%.200s\": expected /TYPE=value/..., as openssl req -subj, e.g. "
		    "/O=Example/CN=Example Mail CA", what, text);
		goto fail;
	}
	for (p = text + 1;; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;                    /* an escaped '/' (or any byte) is literal */
		else if (*p == '/' || *p == '\0') {
			rdn[r] = '\0';
			if (name_add(n, rdn, what, text, err) == -1)
				goto fail;
			r = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (r + 1 >= sizeof(rdn)) {
			cs_error_set(err, "%s \"%.200s\": too long", what, text);
			goto fail;
		}
		rdn[r++] = *p;
	}
	return n;
fail:
	X509_NAME_free(n);
	return NULL;
}
