/* error.c: filling struct cs_error and struct cs_warnings, the library's one
 * way to say what failed or what it repaired. */
#include "certstore/internal.h"

#include <stdarg.h>
#include <stdio.h>

#include <openssl/err.h>

void
cs_error_set(struct cs_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
cs_warn(struct cs_warnings *w, const char *fmt, ...)
{
	va_list ap;

	if (w == NULL)
		return;
	/* A full list keeps its first warnings and says that more exist. */
	if (w->count >= CS_MAX_WARNINGS) {
		snprintf(w->msg[CS_MAX_WARNINGS - 1], sizeof(w->msg[0]),
		    "(more warnings left out)");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(w->msg[w->count], sizeof(w->msg[0]), fmt, ap);
	va_end(ap);
	w->count++;
}

const char *
cs_ossl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : fallback;
}
