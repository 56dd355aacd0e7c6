/* starttls_client.c: the STARTTLS dialogue of client mode, per protocol. */
#include "proxy/starttls_client.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define IMAP_TAG "a001"

static enum starttls_client_status
fail(struct starttls_client *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum starttls_client_status
fail(struct starttls_client *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	s->step = STC_FINISHED;
	return s->status = STC_FAILED;
}

/* The current line, printable, cut short, for a reason. */
static const char *
line_shown(struct starttls_client *s)
{
	static const size_t shown_max = 80;

	for (size_t i = 0; i < s->line_len; i++)
		if ((unsigned char)s->line[i] < 0x20 || (unsigned char)s->line[i] > 0x7e)
			s->line[i] = '?';
	if (s->line_len > shown_max)
		s->line[shown_max] = '\0';
	return s->line;
}

static bool
starts_with_nocase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

static enum starttls_client_status
send_command(struct starttls_client *s, enum starttls_client_step next, const char *cmd)
{
	s->out_len = (size_t)snprintf(s->out, sizeof(s->out), "%s\r\n", cmd);
	s->step = next;
	return s->status = STC_SEND;
}

static enum starttls_client_status
done(struct starttls_client *s)
{
	s->step = STC_FINISHED;
	return s->status = STC_DONE;
}

/* Keeps text (without its line end) as a CRLF line of the greeting. */
static int
greeting_add(struct starttls_client *s, const char *text, size_t len)
{
	if (len + 2 > sizeof(s->greeting) - s->greeting_len)
		return -1;
	memcpy(s->greeting + s->greeting_len, text, len);
	memcpy(s->greeting + s->greeting_len + len, "\r\n", 2);
	s->greeting_len += len + 2;
	return 0;
}

/* --- SMTP: "ddd-text" continues a reply, "ddd text" (or "ddd") ends it ------------ */

/* The reply code of the line, or -1 when it is no reply line; *last: it ends the reply. */
static int
smtp_code(const struct starttls_client *s, bool *last)
{
	const char *l = s->line;

	if (s->line_len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || (s->line_len > 3 && l[3] != ' ' && l[3] != '-'))
		return -1;
	*last = s->line_len == 3 || l[3] == ' ';
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

static bool
smtp_offers_starttls(const struct starttls_client *s)
{
	const char *kw = s->line + 4;
	size_t len = s->line_len > 4 ? s->line_len - 4 : 0;

	return len >= 8 && strncasecmp(kw, "STARTTLS", 8) == 0 && (len == 8 || kw[8] == ' ');
}

static enum starttls_client_status
smtp_line(struct starttls_client *s)
{
	bool last = false;
	int code = smtp_code(s, &last);
	char ehlo[sizeof(s->ehlo_name) + 8];

	if (code == -1)
		return fail(s, "upstream sent no SMTP reply: \"%s\"", line_shown(s));
	switch (s->step) {
	case STC_GREETING:
		if (code != 220)
			return fail(s, "upstream greeting is not 220: \"%s\"", line_shown(s));
		if (greeting_add(s, s->line, s->line_len) == -1)
			return fail(s, "upstream greeting longer than %d bytes",
			    STARTTLS_CLIENT_GREETING_MAX);
		if (!last)
			return STC_READ;
		snprintf(ehlo, sizeof(ehlo), "EHLO %s", s->ehlo_name);
		return send_command(s, STC_EHLO_REPLY, ehlo);
	case STC_EHLO_REPLY:
		if (code != 250)
			return fail(s, "upstream refused EHLO: \"%s\"", line_shown(s));
		/* the first line is the server's name, the others its extensions */
		if (s->starttls_offered == 0 && smtp_offers_starttls(s))
			s->starttls_offered = 1;
		if (!last)
			return STC_READ;
		if (!s->starttls_offered)
			return fail(s, "upstream does not offer STARTTLS in its EHLO reply");
		return send_command(s, STC_STARTTLS_REPLY, "STARTTLS");
	case STC_STARTTLS_REPLY:
		if (code != 220)
			return fail(s, "upstream refused STARTTLS: \"%s\"", line_shown(s));
		return last ? done(s) : STC_READ;
	case STC_FINISHED:
		break;
	}
	return s->status;
}

/* --- IMAP --------------------------------------------------------------------------- */

/* "* OK [CAPABILITY ...] text" without its capability code. */
static int
imap_greeting_add(struct starttls_client *s)
{
	static const char ok[] = "* OK ", code[] = "[CAPABILITY ";
	const char *l = s->line, *close;
	size_t skip = sizeof(ok) - 1;

	if (!starts_with_nocase(l + skip, s->line_len - skip, code) ||
	    (close = memchr(l + skip, ']', s->line_len - skip)) == NULL)
		return greeting_add(s, l, s->line_len);
	if (greeting_add(s, l, skip) == -1)
		return -1;
	s->greeting_len -= 2;             /* continue the line */
	close++;
	while ((size_t)(close - l) < s->line_len && *close == ' ')
		close++;
	return greeting_add(s, close, s->line_len - (size_t)(close - l));
}

static enum starttls_client_status
imap_line(struct starttls_client *s)
{
	const char *l = s->line;
	size_t n = s->line_len;

	switch (s->step) {
	case STC_GREETING:
		if (starts_with_nocase(l, n, "* PREAUTH"))
			return fail(s, "upstream greeting is PREAUTH, which rules out STARTTLS: \"%s\"",
			    line_shown(s));
		if (!starts_with_nocase(l, n, "* OK "))
			return fail(s, "upstream greeting is not * OK: \"%s\"", line_shown(s));
		if (imap_greeting_add(s) == -1)
			return fail(s, "upstream greeting longer than %d bytes",
			    STARTTLS_CLIENT_GREETING_MAX);
		return send_command(s, STC_STARTTLS_REPLY, IMAP_TAG " STARTTLS");
	case STC_STARTTLS_REPLY:
		if (starts_with_nocase(l, n, "* BYE"))
			return fail(s, "upstream said BYE: \"%s\"", line_shown(s));
		if (starts_with_nocase(l, n, "* "))
			return STC_READ;          /* untagged data before the answer */
		if (starts_with_nocase(l, n, IMAP_TAG " OK"))
			return done(s);
		if (starts_with_nocase(l, n, IMAP_TAG " "))
			return fail(s, "upstream refused STARTTLS: \"%s\"", line_shown(s));
		return fail(s, "upstream sent no IMAP response: \"%s\"", line_shown(s));
	case STC_EHLO_REPLY:
	case STC_FINISHED:
		break;
	}
	return s->status;
}

/* --- POP3 --------------------------------------------------------------------------- */

static enum starttls_client_status
pop3_line(struct starttls_client *s)
{
	bool ok = starts_with_nocase(s->line, s->line_len, "+OK");

	switch (s->step) {
	case STC_GREETING:
		if (!ok)
			return fail(s, "upstream greeting is not +OK: \"%s\"", line_shown(s));
		if (greeting_add(s, s->line, s->line_len) == -1)
			return fail(s, "upstream greeting longer than %d bytes",
			    STARTTLS_CLIENT_GREETING_MAX);
		return send_command(s, STC_STARTTLS_REPLY, "STLS");
	case STC_STARTTLS_REPLY:
		if (!ok)
			return fail(s, "upstream refused STLS: \"%s\"", line_shown(s));
		return done(s);
	case STC_EHLO_REPLY:
	case STC_FINISHED:
		break;
	}
	return s->status;
}

/* --- lines and the API ------------------------------------------------------------------ */

static enum starttls_client_status
line_end(struct starttls_client *s)
{
	if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
		s->line_len--;
	s->line[s->line_len] = '\0';
	if (++s->lines > STARTTLS_CLIENT_LINES_MAX)
		return fail(s, "upstream sent more than %d lines before TLS",
		    STARTTLS_CLIENT_LINES_MAX);
	switch (s->protocol) {
	case PROTOCOL_SMTP:
		return smtp_line(s);
	case PROTOCOL_IMAP:
		return imap_line(s);
	case PROTOCOL_POP3:
		return pop3_line(s);
	case PROTOCOL_NONE:
		break;
	}
	return fail(s, "no STARTTLS dialogue for this protocol");
}

void
starttls_client_init(struct starttls_client *s, enum service_protocol protocol,
    const char *ehlo_name)
{
	memset(s, 0, sizeof(*s));
	s->protocol = protocol;
	s->step = STC_GREETING;
	s->status = STC_READ;
	snprintf(s->ehlo_name, sizeof(s->ehlo_name), "%s",
	    ehlo_name && config_host_name_problem(ehlo_name) == NULL ? ehlo_name : "localhost");
}

enum starttls_client_status
starttls_client_feed(struct starttls_client *s, const char *data, size_t len)
{
	if (s->step == STC_FINISHED)
		return s->status;
	s->out_len = 0;
	s->status = STC_READ;
	for (size_t i = 0; i < len; i++) {
		if (s->status != STC_READ)
			return fail(s, "upstream sent more than its reply before %s",
			    s->status == STC_DONE ? "the TLS handshake" : "the next command");
		if (data[i] == '\n') {
			s->status = line_end(s);
			s->line_len = 0;
			if (s->status == STC_FAILED)
				return s->status;
			continue;
		}
		if (s->line_len == STARTTLS_CLIENT_LINE_MAX || data[i] == '\0')
			return fail(s, data[i] ? "upstream line longer than %d bytes"
			    : "upstream sent a NUL byte (within %d bytes of a line)",
			    STARTTLS_CLIENT_LINE_MAX);
		s->line[s->line_len++] = data[i];
	}
	return s->status;
}

const char *
starttls_client_greeting(const struct starttls_client *s, size_t *len)
{
	*len = s->greeting_len;
	return s->greeting;
}
