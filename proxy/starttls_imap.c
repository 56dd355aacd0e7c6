/* starttls_imap.c: IMAP's rules around STARTTLS (RFC 3501 6.2.1, RFC 9051,
 * RFC 2595).
 *
 * Before TLS: capability lists (the untagged CAPABILITY response and the
 * [CAPABILITY ...] response code of the greeting and of tagged replies) are
 * relayed with the backend's STARTTLS and LOGINDISABLED removed and
 * STARTTLS added; with requireTLS also LOGINDISABLED added and every AUTH=
 * mechanism removed. CAPABILITY, NOOP, LOGOUT and ID are relayed. STARTTLS
 * is answered "tag OK Begin TLS negotiation now" by certwrapd. With
 * requireTLS, LOGIN and AUTHENTICATE get "tag NO [PRIVACYREQUIRED]" (RFC
 * 9051 6.2.3: LOGIN while LOGINDISABLED is refused with NO; RFC 5530's
 * code says why) and other commands "tag BAD"; with requireTLS = no they are
 * relayed and the session goes on in plaintext.
 *
 * Literals ({n} and {n+}) are followed both ways, so a literal's bytes are
 * never taken for a line. After TLS the filter removes STARTTLS and
 * LOGINDISABLED from capability lists and leaves everything else, literals
 * included, as it is. */
#include "proxy/starttls_internal.h"

#include <string.h>

/* Writes the capability tokens of caps (n bytes) to out, without the ones
 * certwrapd owns, and with its own before TLS. Returns the length. */
static size_t
imap_caps(const struct starttls *st, const char *caps, size_t n, bool before_tls, char *out)
{
	size_t o = 0, i = 0, next, k;

	while (i < n) {
		k = st_word(caps, n, i, &next);
		if (k > 0 && !st_word_is(caps + i, k, "STARTTLS") &&
		    !st_word_is(caps + i, k, "LOGINDISABLED") &&
		    !(before_tls && st->require_tls && st_starts_with(caps + i, k, "AUTH="))) {
			if (o > 0)
				out[o++] = ' ';
			memcpy(out + o, caps + i, k);
			o += k;
		}
		i = next;
	}
	if (before_tls) {
		memcpy(out + o, o > 0 ? " STARTTLS" : "STARTTLS", o > 0 ? 9 : 8);
		o += o > 0 ? 9 : 8;
		if (st->require_tls) {
			memcpy(out + o, " LOGINDISABLED", 14);
			o += 14;
		}
	}
	return o;
}

/* A response line (content, without its end) with its capability list
 * rewritten, if it has one, into out, then eol (the line's own end, so the
 * filter never makes a line longer). Returns the length. */
static size_t
imap_rewrite(const struct starttls *st, const char *line, size_t len, bool before_tls,
    const char *eol, size_t eol_len, char *out)
{
	size_t next, w1 = st_word(line, len, 0, &next), p2 = next;
	size_t w2 = st_word(line, len, p2, &next), start = 0, end = 0, o;
	const char *close;

	if (w1 == 1 && line[0] == '*' && st_word_is(line + p2, w2, "CAPABILITY")) {
		start = next;                               /* "* CAPABILITY a b c" */
		end = len;
	} else if (w1 > 0 && w2 > 0 && next < len && line[next] == '[' &&
	    (st_word_is(line + p2, w2, "OK") || st_word_is(line + p2, w2, "PREAUTH")) &&
	    st_starts_with(line + next + 1, len - next - 1, "CAPABILITY ") &&
	    (close = memchr(line + next, ']', len - next)) != NULL) {
		start = next + 1 + 11;                      /* "tag OK [CAPABILITY a b] text" */
		end = (size_t)(close - line);
	}
	if (end == 0) {
		memcpy(out, line, len);
		o = len;
	} else {
		memcpy(out, line, start);
		o = start + imap_caps(st, line + start, end - start, before_tls, out + start);
		memcpy(out + o, line + end, len - end);
		o += len - end;
	}
	memcpy(out + o, eol, eol_len);
	return o + eol_len;
}

/* A command certwrapd answers: a literal the client sends without waiting
 * ({n+}) and the rest of the command are dropped with it. */
static void
imap_refuse(struct starttls *st, enum st_reply r, const char *tag, size_t tag_len,
    int64_t literal, bool plus)
{
	struct st_dialogue *d = st->dlg;

	st_answer(st, r, tag, tag_len);
	if (literal >= 0 && plus) {
		d->raw[ST_CLIENT] = (uint64_t)literal;
		d->cont[ST_CLIENT] = true;
		d->drop_cont = true;
	}
}

static void
imap_client_line(struct starttls *st, const char *line, size_t len)
{
	struct st_dialogue *d = st->dlg;
	bool plus;
	int64_t literal = st_literal_at_end(line, len, &plus);
	size_t next, tag_len = st_word(line, len, 0, &next), verb_at = next;
	size_t verb_len = st_word(line, len, verb_at, &next);
	const char *verb = line + verb_at;

	if (d->cont[ST_CLIENT]) {
		/* the rest of a command after a literal */
		if (!d->drop_cont)
			st_emit_line(st, ST_BACKEND, line, len);
		if (literal >= 0 && (!d->drop_cont || plus)) {
			d->raw[ST_CLIENT] = (uint64_t)literal;
		} else {
			d->cont[ST_CLIENT] = false;
			d->drop_cont = false;
		}
		return;
	}
	if (tag_len == 0 || tag_len >= STARTTLS_TAG_MAX || verb_len == 0 ||
	    (tag_len == 1 && (line[0] == '*' || line[0] == '+'))) {
		imap_refuse(st, REPLY_SYNTAX, "*", 1, literal, plus);
	} else if (st_word_is(verb, verb_len, "STARTTLS")) {
		if (next < len || literal >= 0)
			imap_refuse(st, REPLY_SYNTAX, line, tag_len, literal, plus);
		else
			st_client_upgrade(st, line, tag_len);
	} else if (st_word_is(verb, verb_len, "CAPABILITY") || st_word_is(verb, verb_len, "NOOP") ||
	    st_word_is(verb, verb_len, "LOGOUT") || st_word_is(verb, verb_len, "ID")) {
		struct st_entry *e = st_push(&st->queue, KIND_RELAYED);

		memcpy(e->tag, line, tag_len);
		e->tag[tag_len] = '\0';
		st_emit_line(st, ST_BACKEND, line, len);
		if (literal >= 0) {
			d->raw[ST_CLIENT] = (uint64_t)literal;
			d->cont[ST_CLIENT] = true;
		}
	} else if (!st->require_tls) {
		st_client_switch(st, line, len);
	} else if (st_word_is(verb, verb_len, "LOGIN") ||
	    st_word_is(verb, verb_len, "AUTHENTICATE")) {
		imap_refuse(st, REPLY_TLS_REQUIRED, line, tag_len, literal, plus);
	} else {
		imap_refuse(st, REPLY_NOT_BEFORE_TLS, line, tag_len, literal, plus);
	}
}

static void
imap_backend_line(struct starttls *st, const char *line, size_t len)
{
	struct st_dialogue *d = st->dlg;
	struct st_entry *e = st_head(&st->queue);
	bool plus;
	int64_t literal = st_literal_at_end(line, len, &plus);
	size_t next, tag_len = st_word(line, len, 0, &next);
	char out[STARTTLS_LINE_MAX + 64];

	if (d->cont[ST_BACKEND]) {
		st_emit_line(st, ST_CLIENT, line, len);  /* the rest of a response */
	} else if (len > 0 && line[0] == '+') {
		st_emit_line(st, ST_CLIENT, line, len);  /* continuation request */
	} else if (tag_len == 1 && line[0] == '*') {
		if (e != NULL && e->kind == KIND_GREETING)
			st_pop(&st->queue);
		st_emit(st, ST_CLIENT, out, imap_rewrite(st, line, len, true, "\r\n", 2, out));
	} else if (st_remove_tag(&st->queue, line, tag_len)) {
		st_emit(st, ST_CLIENT, out, imap_rewrite(st, line, len, true, "\r\n", 2, out));
	} else {
		/* a tagged reply nobody is waiting for: not passed on */
		st->discarded[ST_BACKEND] += len + 2;
		return;
	}
	d->cont[ST_BACKEND] = literal >= 0;
	d->raw[ST_BACKEND] = literal >= 0 ? (uint64_t)literal : 0;
}

static void
imap_reply(struct starttls *st, enum st_reply r, const char *tag)
{
	static const char *const text[] = {
		[REPLY_UPGRADE] = " OK Begin TLS negotiation now\r\n",
		[REPLY_TLS_REQUIRED] = " NO [PRIVACYREQUIRED] TLS is required: use STARTTLS first\r\n",
		[REPLY_NOT_BEFORE_TLS] = " BAD Command not allowed before STARTTLS\r\n",
		[REPLY_SYNTAX] = " BAD Syntax error\r\n",
		[REPLY_LINE_TOO_LONG] = " BYE Line too long\r\n",
	};

	st_emit_str(st, ST_CLIENT, r == REPLY_LINE_TOO_LONG || tag[0] == '\0' ? "*" : tag);
	st_emit_str(st, ST_CLIENT, text[r]);
}

static size_t
imap_filter_line(struct starttls *st, const char *line, size_t len, char *out)
{
	struct st_filter *f = st->filter;
	size_t content = len >= 2 && line[len - 2] == '\r' ? len - 2 : len - 1, o;
	bool plus;
	int64_t literal = st_literal_at_end(line, content, &plus);

	if (f->mid) {
		memcpy(out, line, len);
		o = len;
	} else {
		o = imap_rewrite(st, line, content, false, line + content, len - content, out);
	}
	f->mid = literal >= 0;
	f->raw = literal >= 0 ? (uint64_t)literal : 0;
	return o;
}

const struct st_proto st_imap = {
	.client_line = imap_client_line,
	.backend_line = imap_backend_line,
	.reply = imap_reply,
	.filter_line = imap_filter_line,
};
