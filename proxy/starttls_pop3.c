/* starttls_pop3.c: POP3's rules around STLS (RFC 2595 4, RFC 2449, RFC 1939).
 *
 * Before TLS: the greeting is relayed as it is. CAPA is relayed and its
 * list comes back with the backend's STLS removed and STLS added; with
 * requireTLS also USER and SASL removed (RFC 2595 4 lets a server hide
 * them until TLS is up; RFC 2449 6.8 and 6.3 say they list what is usable
 * now). QUIT is relayed. STLS is answered "+OK Begin TLS negotiation" by
 * certwrapd. With requireTLS, USER, PASS, APOP and AUTH get "-ERR" and any
 * other command too (in the AUTHORIZATION state nothing else is valid);
 * with requireTLS = no they are relayed and the session goes on in
 * plaintext.
 *
 * After TLS the filter removes STLS from CAPA's list. Only CAPA's body is
 * touched: the filter follows the client's commands to know which
 * response answers which, and which ones are multi-line (RETR, TOP, LIST
 * and UIDL without argument, AUTH without mechanism), so a message body
 * is never looked into. When it cannot follow (more commands in flight
 * than it keeps), it stops filtering. */
#include "proxy/starttls_internal.h"

#include <string.h>

static bool
is_credentials(const char *verb, size_t n)
{
	return st_word_is(verb, n, "USER") || st_word_is(verb, n, "PASS") ||
	    st_word_is(verb, n, "APOP") || st_word_is(verb, n, "AUTH");
}

static void
pop3_client_line(struct starttls *st, const char *line, size_t len)
{
	size_t next, n = st_word(line, len, 0, &next);

	if (st_word_is(line, n, "STLS")) {
		if (next < len)
			st_answer(st, REPLY_SYNTAX, "", 0);
		else
			st_client_upgrade(st, "", 0);
	} else if (st_word_is(line, n, "CAPA") || st_word_is(line, n, "QUIT")) {
		st_emit_line(st, ST_BACKEND, line, len);
		st_push(&st->queue, st_word_is(line, n, "CAPA") ? KIND_CAPS : KIND_RELAYED);
	} else if (!st->require_tls) {
		st_client_switch(st, line, len);
	} else {
		st_answer(st, is_credentials(line, n) ? REPLY_TLS_REQUIRED : REPLY_NOT_BEFORE_TLS,
		    "", 0);
	}
}

static void
pop3_backend_line(struct starttls *st, const char *line, size_t len)
{
	struct st_dialogue *d = st->dlg;
	struct st_entry *e = st_head(&st->queue);
	size_t next, n = st_word(line, len, 0, &next);

	if (e == NULL || e->kind == KIND_LOCAL || e->kind == KIND_SWITCH) {
		st->discarded[ST_BACKEND] += len + 2;
		return;
	}
	if (d->in_reply) {
		/* CAPA's list, up to the line with one dot */
		if (len == 1 && line[0] == '.') {
			st_emit_str(st, ST_CLIENT, "STLS\r\n.\r\n");
			d->in_reply = false;
			st_pop(&st->queue);
		} else if (!st_word_is(line, n, "STLS") && !(st->require_tls &&
		    (st_word_is(line, n, "USER") || st_word_is(line, n, "SASL")))) {
			st_emit_line(st, ST_CLIENT, line, len);
		}
		return;
	}
	st_emit_line(st, ST_CLIENT, line, len);
	if (e->kind == KIND_CAPS && st_starts_with(line, len, "+OK"))
		d->in_reply = true;
	else
		st_pop(&st->queue);
}

static void
pop3_reply(struct starttls *st, enum st_reply r, const char *tag)
{
	static const char *const text[] = {
		[REPLY_UPGRADE] = "+OK Begin TLS negotiation\r\n",
		[REPLY_TLS_REQUIRED] = "-ERR Use STLS first: no login before TLS\r\n",
		[REPLY_NOT_BEFORE_TLS] = "-ERR Command not allowed before STLS\r\n",
		[REPLY_SYNTAX] = "-ERR Syntax: STLS\r\n",
		[REPLY_LINE_TOO_LONG] = "-ERR Line too long\r\n",
	};

	st_emit_str(st, ST_CLIENT, text[r]);
}

/* After TLS: one client command line (its first bytes), in order. */
static void
pop3_observe_line(struct starttls *st, const char *line, size_t len)
{
	struct st_filter *f = st->filter;
	size_t next, n = st_word(line, len, 0, &next);
	bool arg = next < len;
	enum st_kind kind = KIND_RELAYED;

	if (f->auth_cont) {
		f->auth_cont = false;            /* a SASL answer, not a command */
		return;
	}
	if (st_word_is(line, n, "CAPA"))
		kind = KIND_CAPS;
	else if (st_word_is(line, n, "RETR") || st_word_is(line, n, "TOP") ||
	    ((st_word_is(line, n, "LIST") || st_word_is(line, n, "UIDL") ||
	      st_word_is(line, n, "AUTH")) && !arg))
		kind = KIND_MULTI;
	else if (st_word_is(line, n, "AUTH"))
		kind = KIND_AUTH;
	if (st_push(&f->cmds, kind) == NULL)
		f->lost = true;
}

static size_t
pop3_filter_line(struct starttls *st, const char *line, size_t len, char *out)
{
	struct st_filter *f = st->filter;
	size_t content = len >= 2 && line[len - 2] == '\r' ? len - 2 : len - 1;
	size_t next, n = st_word(line, content, 0, &next);
	struct st_entry *e = st_head(&f->cmds);

	if (f->body) {
		if (content == 1 && line[0] == '.')
			f->body = f->caps_body = false;
		else if (f->caps_body && st_word_is(line, n, "STLS"))
			return 0;
	} else if (e != NULL && st_starts_with(line, content, "+OK")) {
		f->body = e->kind == KIND_CAPS || e->kind == KIND_MULTI;
		f->caps_body = e->kind == KIND_CAPS;
		st_pop(&f->cmds);
	} else if (e != NULL && e->kind == KIND_AUTH && content >= 1 && line[0] == '+' &&
	    !st_starts_with(line, content, "+OK")) {
		f->auth_cont = true;             /* "+ challenge": the client answers next */
	} else if (e != NULL) {
		st_pop(&f->cmds);                /* -ERR, or anything else: one line */
	}
	memcpy(out, line, len);
	return len;
}

const struct st_proto st_pop3 = {
	.client_line = pop3_client_line,
	.backend_line = pop3_backend_line,
	.reply = pop3_reply,
	.filter_line = pop3_filter_line,
	.observe_line = pop3_observe_line,
};
