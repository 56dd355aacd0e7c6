/* log.c: stderr, syslog and file logging; one write(2) per line. */
#include "proxy/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#define LOG_LINE_MAX 2048

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* The sink is process-wide by nature; it changes only at start and reload,
 * under the mutex, while the level is read lock-free on every call. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int current_level = LOG_LVL_NOTICE;
static bool sink_stderr = true;
static bool sink_syslog;
static int sink_fd = -1;
static char sink_path[4096];

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "?";
}

int
log_level_parse(const char *name)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	/* syslog's spellings that stunnel accepts too */
	if (strcasecmp(name, "err") == 0)
		return LOG_LVL_ERROR;
	if (strcasecmp(name, "warn") == 0)
		return LOG_LVL_WARN;
	if (name[0] >= '0' && name[0] <= '7' && name[1] == '\0')
		return name[0] - '0';
	return -1;
}

static int
open_output(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd == -1)
		snprintf(err, errlen, "%.300s: cannot open log file: %s", path, strerror(errno));
	return fd;
}

int
log_configure(const struct log_settings *s, char *err, size_t errlen)
{
	int fd = -1;

	if (s->output_path != NULL && (fd = open_output(s->output_path, err, errlen)) == -1)
		return -1;
	pthread_mutex_lock(&sink_lock);
	if (sink_fd != -1)
		close(sink_fd);
	sink_fd = fd;
	snprintf(sink_path, sizeof(sink_path), "%s", s->output_path ? s->output_path : "");
	sink_stderr = s->to_stderr;
	if (s->to_syslog && !sink_syslog)
		openlog("certwrapd", LOG_PID | LOG_NDELAY, s->syslog_facility);
	else if (!s->to_syslog && sink_syslog)
		closelog();
	sink_syslog = s->to_syslog;
	atomic_store(&current_level, (int)s->level);
	pthread_mutex_unlock(&sink_lock);
	return 0;
}

void
log_reopen(void)
{
	char err[512];
	int fd;

	pthread_mutex_lock(&sink_lock);
	if (sink_fd != -1 && (fd = open_output(sink_path, err, sizeof(err))) != -1) {
		close(sink_fd);
		sink_fd = fd;
	}
	pthread_mutex_unlock(&sink_lock);
}

bool
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&current_level, memory_order_relaxed);
}

static void
write_line(enum log_level level, const char *body)
{
	char line[LOG_LINE_MAX + 64];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s: %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, log_level_name(level), body);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;

	pthread_mutex_lock(&sink_lock);
	if (sink_stderr)
		(void)!write(STDERR_FILENO, line, (size_t)n);
	if (sink_fd != -1)
		(void)!write(sink_fd, line, (size_t)n);
	if (sink_syslog)
		syslog((int)level, "%s: %s", log_level_name(level), body);
	pthread_mutex_unlock(&sink_lock);
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char body[LOG_LINE_MAX];

	if (!log_enabled(level))
		return;
	vsnprintf(body, sizeof(body), fmt, ap);
	write_line(level, body);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_errno(enum log_level level, const char *fmt, ...)
{
	char body[LOG_LINE_MAX];
	int saved = errno;
	size_t len;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	len = strlen(body);
	snprintf(body + len, sizeof(body) - len, ": %s", strerror(saved));
	write_line(level, body);
}

void
log_ssl(enum log_level level, const char *fmt, ...)
{
	char body[LOG_LINE_MAX];
	unsigned long e;
	size_t len;
	va_list ap;

	if (!log_enabled(level)) {
		ERR_clear_error();
		return;
	}
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	while ((e = ERR_get_error()) != 0) {
		len = strlen(body);
		snprintf(body + len, sizeof(body) - len, ": %s", ERR_reason_error_string(e) ?
		    ERR_reason_error_string(e) : "unknown TLS error");
	}
	write_line(level, body);
}
