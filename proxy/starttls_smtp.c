/* starttls_smtp.c: SMTP's rules around STARTTLS (RFC 3207, RFC 5321).
 *
 * Before TLS: the backend's 220 greeting is relayed as it is. EHLO goes to
 * the backend and its 250 reply comes back with STARTTLS as the last
 * keyword, the backend's own STARTTLS removed and, with requireTLS, AUTH
 * removed. HELO, NOOP, RSET, QUIT and HELP are relayed. STARTTLS is answered
 * "220 2.0.0 Ready to start TLS" by certwrapd; with requireTLS every other
 * command (AUTH, MAIL, RCPT, DATA, VRFY, ...) gets "530 5.7.0 Must issue a
 * STARTTLS command first"; with requireTLS = no it is relayed and the
 * session goes on in plaintext.
 *
 * After TLS the client must EHLO again (RFC 3207 4.2); the backend sees its
 * second EHLO, which resets the session (RFC 5321 4.1.4), and the filter
 * removes STARTTLS from the reply. SMTP replies are all the backend ever
 * sends, so the filter needs no command tracking; DATA only flows the other
 * way. */
#include "proxy/starttls_internal.h"

#include <string.h>

/* The EHLO keyword of a "250-KEYWORD params" or "250 KEYWORD" line. */
static size_t
ehlo_keyword(const char *line, size_t len, const char **kw)
{
	size_t next;

	*kw = line + 4;
	return len > 4 ? st_word(line, len, 4, &next) : 0;
}

static bool
is_auth_keyword(const char *kw, size_t n)
{
	/* "AUTH PLAIN" and the pre-standard "AUTH=PLAIN" */
	return (n == 4 || (n > 4 && kw[4] == '=')) && st_starts_with(kw, n, "AUTH");
}

static void
smtp_client_line(struct starttls *st, const char *line, size_t len)
{
	size_t next, n = st_word(line, len, 0, &next);

	if (st_word_is(line, n, "STARTTLS")) {
		while (next < len && line[next] == ' ')
			next++;
		if (next < len)
			st_answer(st, REPLY_SYNTAX, "", 0);
		else
			st_client_upgrade(st, "", 0);
	} else if (st_word_is(line, n, "EHLO")) {
		st_emit_line(st, ST_BACKEND, line, len);
		st_push(&st->queue, KIND_CAPS);
	} else if (st_word_is(line, n, "HELO") || st_word_is(line, n, "NOOP") ||
	    st_word_is(line, n, "RSET") || st_word_is(line, n, "QUIT") ||
	    st_word_is(line, n, "HELP")) {
		st_emit_line(st, ST_BACKEND, line, len);
		st_push(&st->queue, KIND_RELAYED);
	} else if (st->require_tls) {
		st_answer(st, REPLY_TLS_REQUIRED, "", 0);
	} else {
		st_client_switch(st, line, len);
	}
}

/* One line of the 250 reply to EHLO: every line becomes a continuation
 * ("250-"), and STARTTLS is added as the last. */
static void
smtp_ehlo_line(struct starttls *st, const char *line, size_t len, bool first, bool final)
{
	const char *kw;
	size_t n = ehlo_keyword(line, len, &kw);

	if (!first && (st_word_is(kw, n, "STARTTLS") ||
	    (st->require_tls && is_auth_keyword(kw, n)))) {
		/* dropped */
	} else {
		st_emit_str(st, ST_CLIENT, "250-");
		st_emit_line(st, ST_CLIENT, line + 4, len > 4 ? len - 4 : 0);
	}
	if (final)
		st_emit_str(st, ST_CLIENT, "250 STARTTLS\r\n");
}

static void
smtp_backend_line(struct starttls *st, const char *line, size_t len)
{
	struct st_dialogue *d = st->dlg;
	struct st_entry *e = st_head(&st->queue);
	bool final = len < 4 || line[3] != '-';

	if (e == NULL || e->kind == KIND_LOCAL || e->kind == KIND_SWITCH) {
		/* nobody asked: never let it pass for the answer to a later command */
		st->discarded[ST_BACKEND] += len + 2;
		return;
	}
	if (!d->in_reply)
		d->rewrite = e->kind == KIND_CAPS && len >= 3 && memcmp(line, "250", 3) == 0;
	if (d->rewrite)
		smtp_ehlo_line(st, line, len, !d->in_reply, final);
	else
		st_emit_line(st, ST_CLIENT, line, len);
	d->in_reply = !final;
	if (final)
		st_pop(&st->queue);
}

static void
smtp_reply(struct starttls *st, enum st_reply r, const char *tag)
{
	static const char *const text[] = {
		[REPLY_UPGRADE] = "220 2.0.0 Ready to start TLS\r\n",
		[REPLY_TLS_REQUIRED] = "530 5.7.0 Must issue a STARTTLS command first\r\n",
		[REPLY_NOT_BEFORE_TLS] = "530 5.7.0 Must issue a STARTTLS command first\r\n",
		[REPLY_SYNTAX] = "501 5.5.4 Syntax: STARTTLS\r\n",
		[REPLY_LINE_TOO_LONG] = "500 5.5.2 Line too long\r\n",
	};

	st_emit_str(st, ST_CLIENT, text[r]);
}

/* After TLS: STARTTLS leaves the EHLO reply. Each "250-" line is held until
 * the next one shows whether a dropped STARTTLS was the last line, in which
 * case the held line becomes the last ("250 "). */
static size_t
smtp_filter_line(struct starttls *st, const char *line, size_t len, char *out)
{
	struct st_filter *f = st->filter;
	size_t content = len >= 2 && line[len - 2] == '\r' ? len - 2 : len - 1;
	bool final = content < 4 || line[3] != '-';
	bool is_250 = content >= 4 && memcmp(line, "250", 3) == 0;
	const char *kw;
	size_t n = is_250 ? ehlo_keyword(line, content, &kw) : 0, o = 0;

	if (f->held_len > 0 && is_250 && st_word_is(kw, n, "STARTTLS")) {
		if (final) {
			f->held[3] = ' ';
			o = f->held_len;
			memcpy(out, f->held, o);
			f->held_len = 0;
		}
		return o;
	}
	if (f->held_len > 0) {
		memcpy(out, f->held, f->held_len);
		o = f->held_len;
		f->held_len = 0;
	}
	if (is_250 && !final) {
		memcpy(f->held, line, len);
		f->held_len = len;
		return o;
	}
	memcpy(out + o, line, len);
	return o + len;
}

const struct st_proto st_smtp = {
	.client_line = smtp_client_line,
	.backend_line = smtp_backend_line,
	.reply = smtp_reply,
	.filter_line = smtp_filter_line,
};
