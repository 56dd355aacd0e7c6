/* log.h: certwrapd's one logging module.
 *
 * Lines are lowercase, subject first, key=value where scripts parse them:
 *   info: imaps: conn client=203.0.113.9:51234 tls=TLSv1.3 ... end=client-close
 * Destinations are stderr (foreground), syslog and an `output =` file, any mix.
 * Every line is formatted into one buffer and written with one write(2), so
 * lines from several threads never interleave. */
#ifndef CERTWRAP_LOG_H
#define CERTWRAP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* syslog's numbering, which stunnel's `debug = N` uses too. */
enum log_level {
	LOG_LVL_EMERG = 0,
	LOG_LVL_ALERT,
	LOG_LVL_CRIT,
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

struct log_settings {
	enum log_level level;        /* lines above this level are dropped */
	bool to_stderr;
	bool to_syslog;
	int syslog_facility;         /* LOG_DAEMON etc. */
	const char *output_path;     /* append to this file; NULL for none */
};

/* Applies settings (at start and on reload). Opens output_path before closing
 * the previous file, so a failure leaves logging as it was. 0, or -1 with
 * err naming the file. */
int log_configure(const struct log_settings *s, char *err, size_t errlen);

/* Reopens the output file (SIGUSR1, for log rotation). */
void log_reopen(void);

/* Whether a line at this level would be written (skip expensive formatting). */
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* log_msg with ": strerror(errno)" appended. */
void log_errno(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* log_msg with OpenSSL's queued errors appended (and the queue cleared). */
void log_ssl(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)  log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Name of a level ("info"), and the reverse for `debug = info` (-1: unknown). */
const char *log_level_name(enum log_level level);
int log_level_parse(const char *name);

#endif
