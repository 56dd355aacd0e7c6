/* report.h: what loading a config found, line by line.
 *
 * Loading a config (at start, on reload, and for -t) checks everything and
 * collects every error and warning instead of stopping at the first; the
 * caller then prints the report (-t), logs it (start, reload) or both. */
#ifndef CERTWRAP_REPORT_H
#define CERTWRAP_REPORT_H

#include <stdbool.h>

enum report_kind { REPORT_ERROR, REPORT_WARN, REPORT_INFO };

struct report_line {
	enum report_kind kind;
	char *text;
};

struct report {
	struct report_line *lines;
	unsigned n_lines, cap;
	unsigned n_errors, n_warnings;
};

void report_add(struct report *r, enum report_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define report_error(r, ...) report_add((r), REPORT_ERROR, __VA_ARGS__)
#define report_warn(r, ...)  report_add((r), REPORT_WARN, __VA_ARGS__)
#define report_info(r, ...)  report_add((r), REPORT_INFO, __VA_ARGS__)

/* Adds each '\n'-separated line of text (a config_error, say) as an error. */
void report_add_lines(struct report *r, enum report_kind kind, const char *text);

/* Sends every line to the log at its level (error, warning, info). */
void report_log(const struct report *r, const char *prefix);

void report_free(struct report *r);

#endif
