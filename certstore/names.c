/* names.c: certificate names and dates as an operator reads them. */
#include "certstore/internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
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
