/* internal.h: shared by the certstore library's own files; callers use certstore.h. */
#ifndef CERTWRAP_CERTSTORE_INTERNAL_H
#define CERTWRAP_CERTSTORE_INTERNAL_H

#include "certstore/certstore.h"

/* Writes the message (printf format) into err; NULL err is a no-op. */
void cs_error_set(struct cs_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
