/* backend_smtp.c: the test backend's SMTP server (RFC 5321, AUTH RFC 4954).
 *
 * Enough for smtplib and curl: EHLO/HELO, optional AUTH PLAIN and LOGIN,
 * MAIL, RCPT, DATA (dot-unstuffed, CRLF kept, delivered to the mailbox), RSET,
 * NOOP, VRFY, HELP, QUIT. Replies carry enhanced status codes. Pipelining
 * needs nothing special: commands are answered in order as their lines come. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "backend_mailbox.h"

enum smtp_state {
	SMTP_START,                  /* before HELO/EHLO */
	SMTP_READY,                  /* greeted, no transaction */
	SMTP_MAIL,                   /* MAIL FROM accepted */
	SMTP_RCPT,                   /* at least one RCPT TO accepted */
	SMTP_DATA,                   /* reading the message, up to "." */
	SMTP_AUTH_PLAIN,             /* waiting for the PLAIN response */
	SMTP_AUTH_LOGIN_USER,        /* waiting for the LOGIN user name */
	SMTP_AUTH_LOGIN_PASS,        /* waiting for the LOGIN password */
};

struct smtp_session {
	struct conn *c;
	enum smtp_state state;
	bool authenticated;
	unsigned rcpts;
	char *msg;                   /* the message being received */
	size_t msg_len;
	size_t msg_cap;
	bool msg_too_big;            /* over MESSAGE_MAX: read to "." and refuse */
	char login_user[AUTH_FIELD_MAX];
};

struct smtp_command {
	const char *verb;
	void (*run)(struct smtp_session *s, char *arg);
};

static void
smtp_reset_transaction(struct smtp_session *s)
{
	free(s->msg);
	s->msg = NULL;
	s->msg_len = s->msg_cap = 0;
	s->msg_too_big = false;
	s->rcpts = 0;
	if (s->state != SMTP_START)
		s->state = SMTP_READY;
}

/* Case-insensitive prefix match; returns what follows it, or NULL. */
static char *
smtp_skip_prefix(char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* "FROM:<path> params" or "TO:<path> params": the params after the path,
 * or NULL if the path is malformed. */
static char *
smtp_parse_path(char *arg, const char *keyword)
{
	char *p = smtp_skip_prefix(arg, keyword), *end;

	if (p == NULL)
		return NULL;
	while (*p == ' ')
		p++;
	if (*p != '<' || (end = strchr(p, '>')) == NULL)
		return NULL;
	end++;
	if (*end != '\0' && *end != ' ')
		return NULL;
	while (*end == ' ')
		end++;
	return end;
}

/* MAIL parameters: SIZE=n, BODY=7BIT|8BITMIME, AUTH=...; the reply code
 * to send, or NULL if they are acceptable. */
static const char *
smtp_check_mail_params(char *params)
{
	char *tok, *save = NULL, *v;

	for (tok = strtok_r(params, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		if ((v = smtp_skip_prefix(tok, "SIZE=")) != NULL) {
			if (strtoull(v, NULL, 10) > MESSAGE_MAX)
				return "552 5.3.4 Message size exceeds fixed maximum message size";
		} else if ((v = smtp_skip_prefix(tok, "BODY=")) != NULL) {
			if (strcasecmp(v, "7BIT") != 0 && strcasecmp(v, "8BITMIME") != 0)
				return "501 5.5.4 Unknown BODY type";
		} else if (smtp_skip_prefix(tok, "AUTH=") == NULL) {
			return "555 5.5.4 Unsupported MAIL parameter";
		}
	}
	return NULL;
}

static void
smtp_ehlo(struct smtp_session *s, char *arg)
{
	if (*arg == '\0') {
		conn_puts(s->c, "501 5.5.4 Syntax: EHLO hostname\r\n");
		return;
	}
	s->state = SMTP_READY;
	smtp_reset_transaction(s);
	conn_printf(s->c, "250-%s greets %.200s\r\n", conn_ctx(s->c)->hostname, arg);
	conn_puts(s->c, "250-PIPELINING\r\n250-8BITMIME\r\n");
	conn_printf(s->c, "250-SIZE %d\r\n", MESSAGE_MAX);
	if (conn_ctx(s->c)->advertise_tls)
		conn_puts(s->c, "250-STARTTLS\r\n");
	conn_puts(s->c, "250-AUTH PLAIN LOGIN\r\n250 ENHANCEDSTATUSCODES\r\n");
}

static void
smtp_helo(struct smtp_session *s, char *arg)
{
	if (*arg == '\0') {
		conn_puts(s->c, "501 5.5.4 Syntax: HELO hostname\r\n");
		return;
	}
	s->state = SMTP_READY;
	smtp_reset_transaction(s);
	conn_printf(s->c, "250 %s\r\n", conn_ctx(s->c)->hostname);
}

static void
smtp_auth_result(struct smtp_session *s, enum auth_result r)
{
	s->state = SMTP_READY;
	if (r == AUTH_OK) {
		s->authenticated = true;
		conn_puts(s->c, "235 2.7.0 Authentication successful\r\n");
	} else if (r == AUTH_MALFORMED) {
		conn_puts(s->c, "501 5.5.2 Cannot decode response\r\n");
	} else {
		conn_puts(s->c, "535 5.7.8 Authentication credentials invalid\r\n");
	}
}

/* One client line of an AUTH exchange: "*" cancels (RFC 4954). */
static void
smtp_auth_continue(struct smtp_session *s, const char *line)
{
	char pass[AUTH_FIELD_MAX];

	if (strcmp(line, "*") == 0) {
		s->state = SMTP_READY;
		conn_puts(s->c, "501 5.0.0 Authentication cancelled\r\n");
		return;
	}
	switch (s->state) {
	case SMTP_AUTH_PLAIN:
		smtp_auth_result(s, auth_sasl_plain(conn_ctx(s->c), line));
		break;
	case SMTP_AUTH_LOGIN_USER:
		if (auth_base64_decode(line, s->login_user, sizeof(s->login_user)) < 0) {
			smtp_auth_result(s, AUTH_MALFORMED);
			break;
		}
		s->state = SMTP_AUTH_LOGIN_PASS;
		conn_puts(s->c, "334 UGFzc3dvcmQ6\r\n");          /* "Password:" */
		break;
	case SMTP_AUTH_LOGIN_PASS:
		if (auth_base64_decode(line, pass, sizeof(pass)) < 0)
			smtp_auth_result(s, AUTH_MALFORMED);
		else
			smtp_auth_result(s, auth_check(conn_ctx(s->c), s->login_user, pass));
		break;
	default:
		break;
	}
}

/* AUTH PLAIN [initial-response] | AUTH LOGIN [user-name] */
static void
smtp_auth(struct smtp_session *s, char *arg)
{
	char *save = NULL;
	char *mech = strtok_r(arg, " ", &save), *initial = strtok_r(NULL, " ", &save);

	if (s->state != SMTP_READY) {
		conn_puts(s->c, s->state == SMTP_START ? "503 5.5.1 Send EHLO first\r\n" :
		    "503 5.5.1 AUTH not allowed during a mail transaction\r\n");
	} else if (s->authenticated) {
		conn_puts(s->c, "503 5.5.1 Already authenticated\r\n");
	} else if (mech != NULL && strcasecmp(mech, "PLAIN") == 0) {
		s->state = SMTP_AUTH_PLAIN;
		if (initial == NULL)
			conn_puts(s->c, "334 \r\n");
		else
			smtp_auth_continue(s, strcmp(initial, "=") == 0 ? "" : initial);
	} else if (mech != NULL && strcasecmp(mech, "LOGIN") == 0) {
		s->state = SMTP_AUTH_LOGIN_USER;
		if (initial == NULL)
			conn_puts(s->c, "334 VXNlcm5hbWU6\r\n");          /* "Username:" */
		else
			smtp_auth_continue(s, initial);
	} else {
		conn_puts(s->c, "504 5.5.4 Unrecognized authentication type\r\n");
	}
}

static void
smtp_mail(struct smtp_session *s, char *arg)
{
	const char *refusal;
	char *params;

	if (s->state == SMTP_START) {
		conn_puts(s->c, "503 5.5.1 Send HELO or EHLO first\r\n");
	} else if (s->state != SMTP_READY) {
		conn_puts(s->c, "503 5.5.1 Nested MAIL command\r\n");
	} else if ((params = smtp_parse_path(arg, "FROM:")) == NULL) {
		conn_puts(s->c, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	} else if ((refusal = smtp_check_mail_params(params)) != NULL) {
		conn_printf(s->c, "%s\r\n", refusal);
	} else {
		s->state = SMTP_MAIL;
		conn_puts(s->c, "250 2.1.0 Sender OK\r\n");
	}
}

static void
smtp_rcpt(struct smtp_session *s, char *arg)
{
	char *params;

	if (s->state != SMTP_MAIL && s->state != SMTP_RCPT) {
		conn_puts(s->c, "503 5.5.1 Need MAIL before RCPT\r\n");
	} else if ((params = smtp_parse_path(arg, "TO:")) == NULL || *params != '\0') {
		conn_puts(s->c, params == NULL ? "501 5.5.4 Syntax: RCPT TO:<address>\r\n" :
		    "555 5.5.4 Unsupported RCPT parameter\r\n");
	} else if (s->rcpts >= SMTP_RCPT_MAX) {
		conn_puts(s->c, "452 4.5.3 Too many recipients\r\n");
	} else {
		s->rcpts++;
		s->state = SMTP_RCPT;
		conn_puts(s->c, "250 2.1.5 Recipient OK\r\n");
	}
}

static void
smtp_data(struct smtp_session *s, char *arg)
{
	if (*arg != '\0') {
		conn_puts(s->c, "501 5.5.4 Syntax: DATA\r\n");
	} else if (s->state != SMTP_RCPT) {
		conn_puts(s->c, s->state == SMTP_MAIL ? "554 5.5.1 No valid recipients\r\n" :
		    "503 5.5.1 Need RCPT before DATA\r\n");
	} else {
		s->state = SMTP_DATA;
		conn_puts(s->c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	}
}

static void
smtp_rset(struct smtp_session *s, char *arg)
{
	smtp_reset_transaction(s);
	conn_puts(s->c, "250 2.0.0 OK\r\n");
}

static void
smtp_noop(struct smtp_session *s, char *arg)
{
	conn_puts(s->c, "250 2.0.0 OK\r\n");
}

static void
smtp_vrfy(struct smtp_session *s, char *arg)
{
	conn_puts(s->c, "252 2.5.0 Cannot VRFY user, but will accept message\r\n");
}

static void
smtp_help(struct smtp_session *s, char *arg)
{
	conn_puts(s->c, "214 2.0.0 EHLO HELO AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\r\n");
}

static void
smtp_quit(struct smtp_session *s, char *arg)
{
	conn_printf(s->c, "221 2.0.0 %s closing connection\r\n", conn_ctx(s->c)->hostname);
	conn_close_after_flush(s->c);
}

static const struct smtp_command smtp_commands[] = {
	{ "EHLO", smtp_ehlo },
	{ "HELO", smtp_helo },
	{ "AUTH", smtp_auth },
	{ "MAIL", smtp_mail },
	{ "RCPT", smtp_rcpt },
	{ "DATA", smtp_data },
	{ "RSET", smtp_rset },
	{ "NOOP", smtp_noop },
	{ "VRFY", smtp_vrfy },
	{ "HELP", smtp_help },
	{ "QUIT", smtp_quit },
};

static void
smtp_command(struct smtp_session *s, char *line)
{
	char *arg = strchr(line, ' ');

	if (arg != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	for (size_t i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++) {
		if (strcasecmp(line, smtp_commands[i].verb) == 0) {
			smtp_commands[i].run(s, arg);
			return;
		}
	}
	conn_puts(s->c, "500 5.5.2 Command not recognized\r\n");
}

/* Appends one message line and its CRLF; past MESSAGE_MAX only notes it. */
static void
smtp_append_line(struct smtp_session *s, const char *line, size_t len)
{
	size_t need = s->msg_len + len + 2, cap;
	char *p;

	if (s->msg_too_big || need > MESSAGE_MAX) {
		s->msg_too_big = true;
		return;
	}
	if (need > s->msg_cap) {
		for (cap = s->msg_cap ? s->msg_cap : 4096; cap < need; cap *= 2)
			;
		if ((p = realloc(s->msg, cap)) == NULL) {
			s->msg_too_big = true;       /* refused at the end like a big one */
			return;
		}
		s->msg = p;
		s->msg_cap = cap;
	}
	memcpy(s->msg + s->msg_len, line, len);
	memcpy(s->msg + s->msg_len + len, "\r\n", 2);
	s->msg_len = need;
}

static void
smtp_end_of_data(struct smtp_session *s)
{
	char name[MAILBOX_NAME_MAX], err[512];

	if (s->msg_too_big) {
		conn_puts(s->c, "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	} else if (mailbox_deliver(conn_ctx(s->c)->mailbox, s->msg ? s->msg : "", s->msg_len,
	    name, sizeof(name), err, sizeof(err)) == -1) {
		conn_printf(s->c, "451 4.3.0 Delivery failed: %.300s\r\n", err);
	} else {
		conn_trace(s->c, "delivered %zu bytes as %s", s->msg_len, name);
		conn_printf(s->c, "250 2.0.0 OK: queued as %s\r\n", name);
	}
	smtp_reset_transaction(s);
}

static void
smtp_on_line(void *session, char *line, size_t len)
{
	struct smtp_session *s = session;

	switch (s->state) {
	case SMTP_DATA:
		if (len == 1 && line[0] == '.')
			smtp_end_of_data(s);
		else if (line[0] == '.')
			smtp_append_line(s, line + 1, len - 1);     /* dot-unstuffing */
		else
			smtp_append_line(s, line, len);
		break;
	case SMTP_AUTH_PLAIN:
	case SMTP_AUTH_LOGIN_USER:
	case SMTP_AUTH_LOGIN_PASS:
		smtp_auth_continue(s, line);
		break;
	default:
		smtp_command(s, line);
		break;
	}
}

static void
smtp_on_line_too_long(void *session)
{
	struct smtp_session *s = session;

	conn_puts(s->c, "500 5.5.6 Line too long\r\n");
}

static void
smtp_on_raw(void *session, const char *data, size_t len)
{
	/* SMTP never asks for raw bytes */
}

static void *
smtp_start(struct conn *c)
{
	struct smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->c = c;
	s->state = SMTP_START;
	conn_printf(c, "220 %s ESMTP testbackend\r\n", conn_ctx(c)->hostname);
	return s;
}

static void
smtp_free(void *session)
{
	struct smtp_session *s = session;

	free(s->msg);
	free(s);
}

const struct conn_ops smtp_ops = {
	.name = "smtp",
	.start = smtp_start,
	.on_line = smtp_on_line,
	.on_raw = smtp_on_raw,
	.on_line_too_long = smtp_on_line_too_long,
	.free = smtp_free,
};
