/* report.c: an ordered list of errors, warnings and findings. */
#include "proxy/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/log.h"

static void
report_append(struct report *r, enum report_kind kind, char *text)
{
	if (r->n_lines == r->cap) {
		unsigned cap = r->cap ? r->cap * 2 : 16;
		struct report_line *lines = realloc(r->lines, cap * sizeof(*lines));

		if (lines == NULL) {
			free(text);
			r->n_errors++;          /* an incomplete report must not pass */
			return;
		}
		r->lines = lines;
		r->cap = cap;
	}
	r->lines[r->n_lines++] = (struct report_line){ kind, text };
	if (kind == REPORT_ERROR)
		r->n_errors++;
	else if (kind == REPORT_WARN)
		r->n_warnings++;
}

void
report_add(struct report *r, enum report_kind kind, const char *fmt, ...)
{
	char *text;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	if (text == NULL) {
		if (kind == REPORT_ERROR)
			r->n_errors++;
		return;
	}
	report_append(r, kind, text);
}

void
report_add_lines(struct report *r, enum report_kind kind, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		if (n > 0)
			report_add(r, kind, "%.*s", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

void
report_log(const struct report *r, const char *prefix)
{
	static const enum log_level levels[] = {
		[REPORT_ERROR] = LOG_LVL_ERROR,
		[REPORT_WARN] = LOG_LVL_WARN,
		[REPORT_INFO] = LOG_LVL_INFO,
	};

	for (unsigned i = 0; i < r->n_lines; i++)
		log_msg(levels[r->lines[i].kind], "%s%s", prefix, r->lines[i].text);
}

void
report_free(struct report *r)
{
	for (unsigned i = 0; i < r->n_lines; i++)
		free(r->lines[i].text);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}
