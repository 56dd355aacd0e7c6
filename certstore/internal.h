/* internal.h: shared by the certstore's .c files only; callers use certstore.h. */
#ifndef CERTWRAP_CERTSTORE_INTERNAL_H
#define CERTWRAP_CERTSTORE_INTERNAL_H

#include "certstore/certstore.h"

#include <openssl/asn1.h>

/* Writes the message (printf format) into err; NULL err is a no-op. */
void cs_error_set(struct cs_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends a warning (printf format); NULL w is a no-op. When the list is full
 * the last slot says that more were left out. */
void cs_warn(struct cs_warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The reason of the newest error in OpenSSL's queue ("bad base64 decode"),
 * or fallback when the queue is empty. Leaves the queue alone. */
const char *cs_ossl_reason(const char *fallback);

/* An ASN1_TIME as a time_t. -1 when t is NULL or malformed. */
int cs_time_from_asn1(const ASN1_TIME *t, time_t *out);

/* "2030-01-01 00:00 UTC" (with_time) or "2030-01-01". */
void cs_time_format(time_t t, bool with_time, char *buf, size_t len);

/* "(in 10 days)", "(3 days ago)", "(less than a day ago)": how far t is from now. */
void cs_time_distance(time_t t, time_t now, char *buf, size_t len);

#endif
