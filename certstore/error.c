/* error.c: filling struct cs_error, the library's one way to say what failed. */
#include "certstore/internal.h"

#include <stdarg.h>
#include <stdio.h>

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
