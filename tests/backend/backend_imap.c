/* backend_imap.c: the test backend's IMAP server (an RFC 3501 subset).
 *
 * CAPABILITY, NOOP, LOGOUT; LOGIN (atoms, quoted strings, literals) and
 * AUTHENTICATE PLAIN, which curl uses when AUTH=PLAIN is advertised;
 * SELECT/EXAMINE INBOX, LIST/LSUB, CLOSE/UNSELECT, CHECK; FETCH and SEARCH
 * with and without UID (backend_imap_fetch.c). Unknown commands get BAD,
 * failures NO.
 *
 * A command arrives as lines; a line ending in a literal "{n}" is followed
 * (after our "+" continuation) by n raw bytes and then the rest of the
 * command. The pieces are joined as they came on the wire and parsed once
 * the command is complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_imap.h"

#define IMAP_COMMAND_NAME_MAX 32
#define IMAP_MAILBOX_NAME_MAX 256
#define IMAP_CAPS_PREAUTH "IMAP4rev1 AUTH=PLAIN"
#define IMAP_CAPS_AUTH    "IMAP4rev1"
#define IMAP_CAPS_TLS     " STARTTLS LOGINDISABLED"   /* --advertise-tls */

/* The backend's own TLS capabilities (none, unless it pretends). */
static const char *
imap_caps_tls(const struct imap_session *s)
{
	return conn_ctx(s->c)->advertise_tls ? IMAP_CAPS_TLS : "";
}

/* The states a command is valid in, as a set of (1 << enum imap_state). */
#define IN_NOT_AUTH (1u << IMAP_NOT_AUTH)
#define IN_AUTH     (1u << IMAP_AUTH)
#define IN_SELECTED (1u << IMAP_SELECTED)
#define IN_ANY      (IN_NOT_AUTH | IN_AUTH | IN_SELECTED)

struct imap_command {
	const char *name;
	unsigned valid_in;
	void (*run)(struct imap_session *s, const char *tag, struct imap_parser *ps);
};

static void
imap_bad_syntax(struct imap_session *s, const char *tag)
{
	conn_printf(s->c, "%s BAD Syntax error in arguments\r\n", tag);
}

static void
imap_capability(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	if (!imap_parse_at_end(ps)) {
		imap_bad_syntax(s, tag);
		return;
	}
	conn_printf(s->c, "* CAPABILITY %s%s\r\n%s OK CAPABILITY completed\r\n",
	    s->state == IMAP_NOT_AUTH ? IMAP_CAPS_PREAUTH : IMAP_CAPS_AUTH,
	    s->state == IMAP_NOT_AUTH ? imap_caps_tls(s) : "", tag);
}

/* In a selected mailbox, NOOP reports messages delivered meanwhile. */
static void
imap_noop(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	long added = 0;
	bool *seen;

	if (s->state == IMAP_SELECTED &&
	    (added = mailbox_view_extend(conn_ctx(s->c)->mailbox, &s->view)) > 0) {
		if ((seen = realloc(s->seen, s->view.count * sizeof(*seen))) == NULL) {
			conn_printf(s->c, "* BYE Out of memory\r\n");
			conn_close_after_flush(s->c);
			return;
		}
		memset(seen + s->view.count - (size_t)added, 0, (size_t)added * sizeof(*seen));
		s->seen = seen;
		conn_printf(s->c, "* %zu EXISTS\r\n", s->view.count);
	}
	conn_printf(s->c, "%s OK NOOP completed\r\n", tag);
}

static void
imap_logout(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	conn_printf(s->c, "* BYE testbackend logging out\r\n%s OK LOGOUT completed\r\n", tag);
	s->state = IMAP_LOGOUT;
	conn_close_after_flush(s->c);
}

static void
imap_auth_result(struct imap_session *s, const char *tag, enum auth_result r)
{
	if (r == AUTH_OK) {
		s->state = IMAP_AUTH;
		conn_printf(s->c, "%s OK [CAPABILITY " IMAP_CAPS_AUTH "] Logged in\r\n", tag);
	} else if (r == AUTH_FAILED) {
		conn_printf(s->c, "%s NO [AUTHENTICATIONFAILED] Invalid credentials\r\n", tag);
	} else {
		conn_printf(s->c, "%s BAD Malformed authentication response\r\n", tag);
	}
}

static void
imap_login(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	char user[AUTH_FIELD_MAX], pass[AUTH_FIELD_MAX];

	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, user, sizeof(user)) == -1 ||
	    imap_parse_sp(ps) == -1 || imap_parse_astring(ps, pass, sizeof(pass)) == -1 ||
	    !imap_parse_at_end(ps)) {
		imap_bad_syntax(s, tag);
		return;
	}
	imap_auth_result(s, tag, auth_check(conn_ctx(s->c), user, pass));
}

/* AUTHENTICATE PLAIN [initial-response]: without one, "+ " and wait. */
static void
imap_authenticate(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	char mech[IMAP_COMMAND_NAME_MAX], initial[2 * AUTH_FIELD_MAX];

	if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, mech, sizeof(mech)) == -1) {
		imap_bad_syntax(s, tag);
	} else if (strcasecmp(mech, "PLAIN") != 0) {
		conn_printf(s->c, "%s NO Unsupported authentication mechanism\r\n", tag);
	} else if (imap_parse_at_end(ps)) {
		snprintf(s->auth_tag, sizeof(s->auth_tag), "%s", tag);
		s->input = IMAP_IN_AUTH_RESPONSE;
		conn_puts(s->c, "+ \r\n");
	} else if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, initial, sizeof(initial)) == -1 ||
	    !imap_parse_at_end(ps)) {
		imap_bad_syntax(s, tag);
	} else {
		imap_auth_result(s, tag, auth_sasl_plain(conn_ctx(s->c),
		    strcmp(initial, "=") == 0 ? "" : initial));
	}
}

/* The SASL response line after "+ "; "*" cancels (RFC 3501 6.2.2). */
static void
imap_auth_response(struct imap_session *s, char *line)
{
	s->input = IMAP_IN_COMMAND;
	if (strcmp(line, "*") == 0)
		conn_printf(s->c, "%s BAD Authentication cancelled\r\n", s->auth_tag);
	else
		imap_auth_result(s, s->auth_tag, auth_sasl_plain(conn_ctx(s->c), line));
}

static void
imap_unselect_mailbox(struct imap_session *s)
{
	mailbox_view_release(&s->view);
	free(s->seen);
	s->seen = NULL;
	s->state = IMAP_AUTH;
}

static void
imap_select_reply(struct imap_session *s, const char *tag, const char *cmd)
{
	struct conn *c = s->c;

	conn_puts(c, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
	    "* OK [PERMANENTFLAGS ()] No permanent flags permitted\r\n");
	conn_printf(c, "* %zu EXISTS\r\n* 0 RECENT\r\n", s->view.count);
	conn_printf(c, "* OK [UIDVALIDITY %u] UIDs valid\r\n", s->view.uidvalidity);
	conn_printf(c, "* OK [UIDNEXT %u] Predicted next UID\r\n",
	    mailbox_uidnext(conn_ctx(c)->mailbox));
	conn_printf(c, "%s OK [%s] %s completed\r\n", tag,
	    s->read_only ? "READ-ONLY" : "READ-WRITE", cmd);
}

/* SELECT or EXAMINE INBOX, the one mailbox there is. */
static void
imap_select_common(struct imap_session *s, const char *tag, struct imap_parser *ps, bool examine)
{
	char name[IMAP_MAILBOX_NAME_MAX];
	const char *cmd = examine ? "EXAMINE" : "SELECT";

	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, name, sizeof(name)) == -1 ||
	    !imap_parse_at_end(ps)) {
		imap_bad_syntax(s, tag);
		return;
	}
	imap_unselect_mailbox(s);            /* even a failed SELECT leaves none selected */
	if (strcasecmp(name, "INBOX") != 0) {
		conn_printf(s->c, "%s NO [NONEXISTENT] Mailbox does not exist\r\n", tag);
		return;
	}
	if (mailbox_view_take(conn_ctx(s->c)->mailbox, &s->view) == -1 ||
	    (s->seen = calloc(s->view.count + 1, sizeof(*s->seen))) == NULL) {
		mailbox_view_release(&s->view);
		conn_printf(s->c, "%s NO [SERVERBUG] Cannot read the mailbox\r\n", tag);
		return;
	}
	s->state = IMAP_SELECTED;
	s->read_only = examine;
	imap_select_reply(s, tag, cmd);
}

static void
imap_select(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	imap_select_common(s, tag, ps, false);
}

static void
imap_examine(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	imap_select_common(s, tag, ps, true);
}

/* Whether name matches a LIST pattern (case-insensitive; % and * match
 * anything, there being no hierarchy). Greedy with one backtrack point. */
static bool
imap_list_match(const char *pat, const char *name)
{
	const char *star = NULL, *resume = NULL;

	while (*name != '\0') {
		if (*pat == '*' || *pat == '%') {
			star = pat++;
			resume = name;
		} else if (strncasecmp(pat, name, 1) == 0) {
			pat++;
			name++;
		} else if (star != NULL) {
			pat = star + 1;
			name = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*' || *pat == '%')
		pat++;
	return *pat == '\0';
}

/* LIST/LSUB reference pattern: INBOX, or the delimiter for "". */
static void
imap_list_common(struct imap_session *s, const char *tag, struct imap_parser *ps, const char *cmd)
{
	char ref[IMAP_MAILBOX_NAME_MAX], pat[IMAP_MAILBOX_NAME_MAX];

	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, ref, sizeof(ref)) == -1 ||
	    imap_parse_sp(ps) == -1 || imap_parse_list_mailbox(ps, pat, sizeof(pat)) == -1 ||
	    !imap_parse_at_end(ps)) {
		imap_bad_syntax(s, tag);
		return;
	}
	if (pat[0] == '\0')
		conn_printf(s->c, "* %s (\\Noselect) \"/\" \"\"\r\n", cmd);
	else if (imap_list_match(pat, "INBOX"))
		conn_printf(s->c, "* %s (\\HasNoChildren) \"/\" INBOX\r\n", cmd);
	conn_printf(s->c, "%s OK %s completed\r\n", tag, cmd);
}

static void
imap_list(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	imap_list_common(s, tag, ps, "LIST");
}

static void
imap_lsub(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	imap_list_common(s, tag, ps, "LSUB");
}

/* CLOSE and UNSELECT: nothing is ever \Deleted, so they are the same. */
static void
imap_close(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	if (!imap_parse_at_end(ps)) {
		imap_bad_syntax(s, tag);
		return;
	}
	imap_unselect_mailbox(s);
	conn_printf(s->c, "%s OK Mailbox closed\r\n", tag);
}

static void
imap_check(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	conn_printf(s->c, "%s OK CHECK completed\r\n", tag);
}

static void
imap_fetch_cmd(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	imap_fetch(s, tag, ps, false);
}

static void
imap_search_cmd(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	imap_search(s, tag, ps, false);
}

/* UID FETCH | UID SEARCH */
static void
imap_uid(struct imap_session *s, const char *tag, struct imap_parser *ps)
{
	char sub[IMAP_COMMAND_NAME_MAX];

	if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, sub, sizeof(sub)) == -1)
		imap_bad_syntax(s, tag);
	else if (strcasecmp(sub, "FETCH") == 0)
		imap_fetch(s, tag, ps, true);
	else if (strcasecmp(sub, "SEARCH") == 0)
		imap_search(s, tag, ps, true);
	else
		conn_printf(s->c, "%s BAD Unsupported UID command\r\n", tag);
}

static const struct imap_command imap_commands[] = {
	{ "CAPABILITY",   IN_ANY,                  imap_capability },
	{ "NOOP",         IN_ANY,                  imap_noop },
	{ "LOGOUT",       IN_ANY,                  imap_logout },
	{ "LOGIN",        IN_NOT_AUTH,             imap_login },
	{ "AUTHENTICATE", IN_NOT_AUTH,             imap_authenticate },
	{ "SELECT",       IN_AUTH | IN_SELECTED,   imap_select },
	{ "EXAMINE",      IN_AUTH | IN_SELECTED,   imap_examine },
	{ "LIST",         IN_AUTH | IN_SELECTED,   imap_list },
	{ "LSUB",         IN_AUTH | IN_SELECTED,   imap_lsub },
	{ "CLOSE",        IN_SELECTED,             imap_close },
	{ "UNSELECT",     IN_SELECTED,             imap_close },
	{ "CHECK",        IN_SELECTED,             imap_check },
	{ "FETCH",        IN_SELECTED,             imap_fetch_cmd },
	{ "SEARCH",       IN_SELECTED,             imap_search_cmd },
	{ "UID",          IN_SELECTED,             imap_uid },
};

static const struct imap_command *
imap_find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++)
		if (strcasecmp(name, imap_commands[i].name) == 0)
			return &imap_commands[i];
	return NULL;
}

/* Runs the complete command in s->cmd. */
static void
imap_execute(struct imap_session *s)
{
	struct imap_parser ps = { s->cmd, s->cmd + s->cmd_len };
	char tag[IMAP_TAG_MAX], name[IMAP_COMMAND_NAME_MAX];
	const struct imap_command *cmd;

	if (imap_parse_tag(&ps, tag, sizeof(tag)) == -1) {
		conn_puts(s->c, "* BAD Missing or invalid tag\r\n");
	} else if (imap_parse_sp(&ps) == -1 || imap_parse_atom(&ps, name, sizeof(name)) == -1) {
		conn_printf(s->c, "%s BAD Missing command\r\n", tag);
	} else if ((cmd = imap_find_command(name)) == NULL) {
		conn_printf(s->c, "%s BAD Unknown command\r\n", tag);
	} else if ((cmd->valid_in & (1u << s->state)) == 0) {
		conn_printf(s->c, "%s BAD Command not valid in this state\r\n", tag);
	} else {
		cmd->run(s, tag, &ps);
	}
}

/* Refuses the command being collected, tagged if its tag is readable. */
static void
imap_refuse_command(struct imap_session *s, const char *why)
{
	struct imap_parser ps = { s->cmd, s->cmd + s->cmd_len };
	char tag[IMAP_TAG_MAX];

	if (imap_parse_tag(&ps, tag, sizeof(tag)) == 0)
		conn_printf(s->c, "%s BAD %s\r\n", tag, why);
	else
		conn_printf(s->c, "* BAD %s\r\n", why);
	s->cmd_len = 0;
}

/* The n of a line ending in a synchronizing literal "{n}"; -1 if none. */
static long
imap_line_literal(const char *line, size_t len)
{
	const char *open;
	char *end;
	long n;

	if (len < 3 || line[len - 1] != '}' || (open = memrchr(line, '{', len)) == NULL ||
	    open[1] < '0' || open[1] > '9')
		return -1;
	n = strtol(open + 1, &end, 10);
	return end == line + len - 1 ? n : -1;
}

static void
imap_command_line(struct imap_session *s, const char *line, size_t len)
{
	long literal = imap_line_literal(line, len);

	if (s->cmd_len + len + 2 > IMAP_COMMAND_MAX) {
		imap_refuse_command(s, "Command too long");
		return;
	}
	memcpy(s->cmd + s->cmd_len, line, len);
	s->cmd_len += len;
	if (literal < 0) {
		s->cmd[s->cmd_len] = '\0';
		imap_execute(s);
		s->cmd_len = 0;
		return;
	}
	if (literal > IMAP_LITERAL_MAX || s->cmd_len + 2 + (size_t)literal > IMAP_COMMAND_MAX) {
		imap_refuse_command(s, "Literal too large");   /* no "+": the client drops it */
		return;
	}
	memcpy(s->cmd + s->cmd_len, "\r\n", 2);
	s->cmd_len += 2;
	s->literal_left = (size_t)literal;
	if (literal > 0) {
		s->input = IMAP_IN_LITERAL;
		conn_expect_raw(s->c, s->literal_left);
	}
	conn_puts(s->c, "+ Ready for literal data\r\n");
}

static void
imap_on_line(void *session, char *line, size_t len)
{
	struct imap_session *s = session;

	if (s->input == IMAP_IN_AUTH_RESPONSE)
		imap_auth_response(s, line);
	else if (len == 0 && s->cmd_len == 0)
		conn_puts(s->c, "* BAD Empty command line\r\n");
	else
		imap_command_line(s, line, len);
}

/* Literal bytes; room was checked when the literal was announced. */
static void
imap_on_raw(void *session, const char *data, size_t len)
{
	struct imap_session *s = session;

	memcpy(s->cmd + s->cmd_len, data, len);
	s->cmd_len += len;
	s->literal_left -= len;
	if (s->literal_left == 0)
		s->input = IMAP_IN_COMMAND;     /* the command goes on in the next line */
}

static void
imap_on_line_too_long(void *session)
{
	struct imap_session *s = session;

	conn_puts(s->c, "* BYE Line too long\r\n");
}

static void *
imap_start(struct conn *c)
{
	struct imap_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->c = c;
	s->state = IMAP_NOT_AUTH;
	s->input = IMAP_IN_COMMAND;
	conn_printf(c, "* OK [CAPABILITY " IMAP_CAPS_PREAUTH "%s] testbackend ready\r\n",
	    imap_caps_tls(s));
	return s;
}

static void
imap_free(void *session)
{
	struct imap_session *s = session;

	mailbox_view_release(&s->view);
	free(s->seen);
	free(s);
}

const struct conn_ops imap_ops = {
	.name = "imap",
	.start = imap_start,
	.on_line = imap_on_line,
	.on_raw = imap_on_raw,
	.on_line_too_long = imap_on_line_too_long,
	.free = imap_free,
};
