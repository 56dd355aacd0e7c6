/* backend_pop3.c: the test backend's POP3 server (RFC 1939, CAPA RFC 2449,
 * AUTH RFC 5034).
 *
 * USER/PASS (poplib) and AUTH PLAIN (curl uses it when CAPA lists SASL PLAIN);
 * no APOP: the greeting has no timestamp, so no client tries it. STAT, LIST,
 * UIDL, RETR and TOP (dot-stuffed), DELE, RSET, NOOP, QUIT; deletions are
 * carried out at QUIT, as the RFC's UPDATE state asks. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "backend_mailbox.h"

#define POP3_ARGS_MAX 2

enum pop3_state {
	POP3_AUTHORIZATION,          /* before USER/PASS or AUTH */
	POP3_TRANSACTION,            /* logged in, maildrop open */
	POP3_UPDATE,                 /* QUIT answered; closing */
};

struct pop3_session {
	struct conn *c;
	enum pop3_state state;
	bool auth_waiting;           /* after "AUTH PLAIN": the next line is the response */
	bool have_user;              /* USER accepted, PASS may follow */
	char user[AUTH_FIELD_MAX];
	struct mailbox_view view;
	bool *deleted;               /* per view entry */
};

/* Where a command is valid. */
enum pop3_when { WHEN_ANY, WHEN_AUTHORIZATION, WHEN_TRANSACTION };

struct pop3_command {
	const char *verb;
	enum pop3_when valid;
	void (*run)(struct pop3_session *s, char *rest);
};

static const char pop3_capa[] =
    "+OK Capability list follows\r\n"
    "USER\r\n"
    "UIDL\r\n"
    "TOP\r\n"
    "RESP-CODES\r\n"
    "PIPELINING\r\n"
    "SASL PLAIN\r\n"
    "IMPLEMENTATION testbackend\r\n"
    ".\r\n";

static void
pop3_capa_cmd(struct pop3_session *s, char *rest)
{
	/* STLS first in the list: the one line certwrapd must remove */
	if (conn_ctx(s->c)->advertise_tls)
		conn_puts(s->c, "+OK Capability list follows\r\nSTLS\r\n");
	conn_puts(s->c, conn_ctx(s->c)->advertise_tls ? strchr(pop3_capa, '\n') + 1 : pop3_capa);
}

/* Opens the maildrop after a successful login. */
static void
pop3_login(struct pop3_session *s)
{
	size_t octets = 0;

	if (mailbox_view_take(conn_ctx(s->c)->mailbox, &s->view) == -1 ||
	    (s->deleted = calloc(s->view.count + 1, sizeof(*s->deleted))) == NULL) {
		mailbox_view_release(&s->view);
		conn_puts(s->c, "-ERR [SYS/TEMP] Cannot open the maildrop\r\n");
		return;
	}
	for (size_t i = 0; i < s->view.count; i++)
		octets += s->view.entries[i].msg->len;
	s->state = POP3_TRANSACTION;
	conn_printf(s->c, "+OK Maildrop has %zu messages (%zu octets)\r\n", s->view.count, octets);
}

static void
pop3_auth_result(struct pop3_session *s, enum auth_result r)
{
	s->have_user = false;
	if (r == AUTH_OK)
		pop3_login(s);
	else if (r == AUTH_FAILED)
		conn_puts(s->c, "-ERR [AUTH] Invalid credentials\r\n");
	else
		conn_puts(s->c, "-ERR Malformed authentication response\r\n");
}

static void
pop3_user(struct pop3_session *s, char *rest)
{
	if (*rest == '\0' || strlen(rest) >= sizeof(s->user)) {
		conn_puts(s->c, "-ERR Syntax: USER name\r\n");
		return;
	}
	strcpy(s->user, rest);
	s->have_user = true;
	conn_puts(s->c, "+OK Send PASS\r\n");
}

/* PASS takes the rest of the line: a password may hold spaces. */
static void
pop3_pass(struct pop3_session *s, char *rest)
{
	if (!s->have_user)
		conn_puts(s->c, "-ERR Send USER first\r\n");
	else
		pop3_auth_result(s, auth_check(conn_ctx(s->c), s->user, rest));
}

/* AUTH lists mechanisms; AUTH PLAIN [initial-response] logs in. */
static void
pop3_auth(struct pop3_session *s, char *rest)
{
	char *save = NULL;
	char *mech = strtok_r(rest, " ", &save), *initial = strtok_r(NULL, " ", &save);

	if (mech == NULL) {
		conn_puts(s->c, "+OK Mechanisms follow\r\nPLAIN\r\n.\r\n");
	} else if (strcasecmp(mech, "PLAIN") != 0) {
		conn_puts(s->c, "-ERR Unsupported authentication mechanism\r\n");
	} else if (initial == NULL) {
		s->auth_waiting = true;
		conn_puts(s->c, "+ \r\n");
	} else {
		pop3_auth_result(s, auth_sasl_plain(conn_ctx(s->c),
		    strcmp(initial, "=") == 0 ? "" : initial));
	}
}

static void
pop3_auth_response(struct pop3_session *s, char *line)
{
	s->auth_waiting = false;
	if (strcmp(line, "*") == 0)
		conn_puts(s->c, "-ERR Authentication cancelled\r\n");
	else
		pop3_auth_result(s, auth_sasl_plain(conn_ctx(s->c), line));
}

/* Splits rest into at most POP3_ARGS_MAX words; -1 if there are more. */
static int
pop3_split_args(char *rest, char **argv, size_t *argc)
{
	char *save = NULL, *w;

	*argc = 0;
	for (w = strtok_r(rest, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		if (*argc == POP3_ARGS_MAX)
			return -1;
		argv[(*argc)++] = w;
	}
	return 0;
}

/* A message number naming an undeleted message: its index, or -1 (replied). */
static long
pop3_message_index(struct pop3_session *s, const char *arg)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || n == 0 || n > s->view.count ||
	    s->deleted[n - 1]) {
		conn_puts(s->c, "-ERR No such message\r\n");
		return -1;
	}
	return (long)n - 1;
}

/* With one argument, the index it names (-1 if replied); -2 without one. */
static long
pop3_optional_index(struct pop3_session *s, char *rest)
{
	char *argv[POP3_ARGS_MAX];
	size_t argc;

	if (pop3_split_args(rest, argv, &argc) == -1 || argc > 1) {
		conn_puts(s->c, "-ERR Too many arguments\r\n");
		return -1;
	}
	return argc == 0 ? -2 : pop3_message_index(s, argv[0]);
}

static void
pop3_stat(struct pop3_session *s, char *rest)
{
	size_t n = 0, octets = 0;

	for (size_t i = 0; i < s->view.count; i++) {
		if (!s->deleted[i]) {
			n++;
			octets += s->view.entries[i].msg->len;
		}
	}
	conn_printf(s->c, "+OK %zu %zu\r\n", n, octets);
}

/* LIST and UIDL: one line per undeleted message, or the one asked for. */
static void
pop3_listing(struct pop3_session *s, char *rest, bool uidl)
{
	long one = pop3_optional_index(s, rest);
	const struct message *m;

	if (one == -1)
		return;
	if (one >= 0) {
		m = s->view.entries[one].msg;
		if (uidl)
			conn_printf(s->c, "+OK %ld %s\r\n", one + 1, m->name);
		else
			conn_printf(s->c, "+OK %ld %zu\r\n", one + 1, m->len);
		return;
	}
	conn_puts(s->c, uidl ? "+OK Unique-id listing follows\r\n" : "+OK Scan listing follows\r\n");
	for (size_t i = 0; i < s->view.count; i++) {
		if (s->deleted[i])
			continue;
		m = s->view.entries[i].msg;
		if (uidl)
			conn_printf(s->c, "%zu %s\r\n", i + 1, m->name);
		else
			conn_printf(s->c, "%zu %zu\r\n", i + 1, m->len);
	}
	conn_puts(s->c, ".\r\n");
}

static void
pop3_list(struct pop3_session *s, char *rest)
{
	pop3_listing(s, rest, false);
}

static void
pop3_uidl(struct pop3_session *s, char *rest)
{
	pop3_listing(s, rest, true);
}

/* Sends len bytes of data as a multi-line body: dot-stuffed, CRLF-ended,
 * then the terminating ".". */
static void
pop3_send_stuffed(struct conn *c, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *lf;

	while (p < end) {
		if (*p == '.')
			conn_puts(c, ".");
		lf = memchr(p, '\n', (size_t)(end - p));
		lf = lf != NULL ? lf + 1 : end;
		conn_write(c, p, (size_t)(lf - p));
		p = lf;
	}
	if (len > 0 && data[len - 1] != '\n')
		conn_puts(c, "\r\n");
	conn_puts(c, ".\r\n");
}

static void
pop3_retr(struct pop3_session *s, char *rest)
{
	char *argv[POP3_ARGS_MAX];
	size_t argc;
	long i;

	if (pop3_split_args(rest, argv, &argc) == -1 || argc != 1) {
		conn_puts(s->c, "-ERR Syntax: RETR msg\r\n");
		return;
	}
	if ((i = pop3_message_index(s, argv[0])) < 0)
		return;
	conn_printf(s->c, "+OK %zu octets\r\n", s->view.entries[i].msg->len);
	pop3_send_stuffed(s->c, s->view.entries[i].msg->data, s->view.entries[i].msg->len);
}

/* The length of the header, its blank line and the first `lines` body lines. */
static size_t
pop3_top_length(const struct message *m, unsigned long lines)
{
	const char *blank = memmem(m->data, m->len, "\r\n\r\n", 4), *p, *end = m->data + m->len;

	if (blank == NULL)
		return m->len;
	p = blank + 4;
	while (lines-- > 0 && p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		p = lf != NULL ? lf + 1 : end;
	}
	return (size_t)(p - m->data);
}

static void
pop3_top(struct pop3_session *s, char *rest)
{
	char *argv[POP3_ARGS_MAX], *end = NULL;
	unsigned long lines = 0;
	size_t argc;
	long i;

	if (pop3_split_args(rest, argv, &argc) == 0 && argc == 2 &&
	    argv[1][0] >= '0' && argv[1][0] <= '9')
		lines = strtoul(argv[1], &end, 10);
	if (end == NULL || *end != '\0') {
		conn_puts(s->c, "-ERR Syntax: TOP msg n\r\n");
		return;
	}
	if ((i = pop3_message_index(s, argv[0])) < 0)
		return;
	conn_puts(s->c, "+OK Top of message follows\r\n");
	pop3_send_stuffed(s->c, s->view.entries[i].msg->data,
	    pop3_top_length(s->view.entries[i].msg, lines));
}

static void
pop3_dele(struct pop3_session *s, char *rest)
{
	long i = pop3_optional_index(s, rest);

	if (i == -2)
		conn_puts(s->c, "-ERR Syntax: DELE msg\r\n");
	if (i < 0)
		return;
	s->deleted[i] = true;
	conn_printf(s->c, "+OK Message %ld deleted\r\n", i + 1);
}

static void
pop3_noop(struct pop3_session *s, char *rest)
{
	conn_puts(s->c, "+OK\r\n");
}

static void
pop3_rset(struct pop3_session *s, char *rest)
{
	memset(s->deleted, 0, s->view.count * sizeof(*s->deleted));
	conn_printf(s->c, "+OK Maildrop has %zu messages\r\n", s->view.count);
}

/* QUIT: in TRANSACTION, the UPDATE state removes what DELE marked. */
static void
pop3_quit(struct pop3_session *s, char *rest)
{
	size_t failed = 0, left = 0;

	if (s->state == POP3_TRANSACTION) {
		for (size_t i = 0; i < s->view.count; i++) {
			if (!s->deleted[i])
				left++;
			else if (mailbox_remove(conn_ctx(s->c)->mailbox, s->view.entries[i].msg) == -1)
				failed++;
		}
	}
	s->state = POP3_UPDATE;
	if (failed > 0)
		conn_puts(s->c, "-ERR [SYS/TEMP] Some deleted messages not removed\r\n");
	else
		conn_printf(s->c, "+OK testbackend signing off (%zu messages left)\r\n", left);
	conn_close_after_flush(s->c);
}

static const struct pop3_command pop3_commands[] = {
	{ "CAPA", WHEN_ANY,           pop3_capa_cmd },
	{ "QUIT", WHEN_ANY,           pop3_quit },
	{ "USER", WHEN_AUTHORIZATION, pop3_user },
	{ "PASS", WHEN_AUTHORIZATION, pop3_pass },
	{ "AUTH", WHEN_AUTHORIZATION, pop3_auth },
	{ "NOOP", WHEN_TRANSACTION,   pop3_noop },
	{ "STAT", WHEN_TRANSACTION,   pop3_stat },
	{ "LIST", WHEN_TRANSACTION,   pop3_list },
	{ "UIDL", WHEN_TRANSACTION,   pop3_uidl },
	{ "RETR", WHEN_TRANSACTION,   pop3_retr },
	{ "TOP",  WHEN_TRANSACTION,   pop3_top },
	{ "DELE", WHEN_TRANSACTION,   pop3_dele },
	{ "RSET", WHEN_TRANSACTION,   pop3_rset },
};

static bool
pop3_valid_now(const struct pop3_session *s, enum pop3_when when)
{
	return when == WHEN_ANY ||
	    (when == WHEN_AUTHORIZATION && s->state == POP3_AUTHORIZATION) ||
	    (when == WHEN_TRANSACTION && s->state == POP3_TRANSACTION);
}

static void
pop3_command(struct pop3_session *s, char *line)
{
	char *rest = strchr(line, ' ');

	if (rest != NULL)
		*rest++ = '\0';
	else
		rest = line + strlen(line);
	for (size_t i = 0; i < sizeof(pop3_commands) / sizeof(pop3_commands[0]); i++) {
		const struct pop3_command *cmd = &pop3_commands[i];

		if (strcasecmp(line, cmd->verb) != 0)
			continue;
		if (!pop3_valid_now(s, cmd->valid))
			conn_puts(s->c, "-ERR Command not valid in this state\r\n");
		else
			cmd->run(s, rest);
		return;
	}
	conn_puts(s->c, "-ERR Unknown command\r\n");
}

static void
pop3_on_line(void *session, char *line, size_t len)
{
	struct pop3_session *s = session;

	if (s->auth_waiting)
		pop3_auth_response(s, line);
	else
		pop3_command(s, line);
}

static void
pop3_on_raw(void *session, const char *data, size_t len)
{
	/* POP3 never asks for raw bytes */
}

static void
pop3_on_line_too_long(void *session)
{
	struct pop3_session *s = session;

	conn_puts(s->c, "-ERR Line too long\r\n");
}

static void *
pop3_start(struct conn *c)
{
	struct pop3_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->c = c;
	s->state = POP3_AUTHORIZATION;
	conn_puts(c, "+OK testbackend ready\r\n");
	return s;
}

static void
pop3_free(void *session)
{
	struct pop3_session *s = session;

	mailbox_view_release(&s->view);
	free(s->deleted);
	free(s);
}

const struct conn_ops pop3_ops = {
	.name = "pop3",
	.start = pop3_start,
	.on_line = pop3_on_line,
	.on_raw = pop3_on_raw,
	.on_line_too_long = pop3_on_line_too_long,
	.free = pop3_free,
};
