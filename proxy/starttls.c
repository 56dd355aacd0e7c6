/* starttls.c: the engine of the plaintext dialogue and of the filter after it.
 *
 * The engine reads whole lines, keeps the client's commands in a queue in
 * the order they came, and lets the protocol's rules (starttls_X.c) decide
 * what each line becomes. A reply certwrapd gives itself waits in the queue
 * for its turn, so pipelined commands are answered in order whoever answers
 * them. Every buffer is bounded: a line longer than STARTTLS_LINE_MAX ends
 * the dialogue with the protocol's error. */
#include "proxy/starttls_internal.h"

#include <stdlib.h>
#include <string.h>

/* Room one line's handling may need in an output: the line, what a rewrite
 * adds, and a reply of certwrapd's. */
#define LINE_OUT_NEED (STARTTLS_LINE_MAX + 256)

_Static_assert(STARTTLS_OUT_BYTES >= 2 * LINE_OUT_NEED, "an output holds two lines");
_Static_assert(STARTTLS_OUT_BYTES <= RELAY_BUF_BYTES, "an output fits a relay pipe");
_Static_assert(2 * STARTTLS_LINE_MAX + 64 < RELAY_BUF_BYTES, "the filter's slack fits a pipe");

static const struct st_proto *
proto_of(enum service_protocol p)
{
	switch (p) {
	case PROTOCOL_SMTP:
		return &st_smtp;
	case PROTOCOL_IMAP:
		return &st_imap;
	case PROTOCOL_POP3:
		return &st_pop3;
	case PROTOCOL_NONE:
		break;
	}
	return NULL;
}

struct starttls *
starttls_new(enum service_protocol proto, bool require_tls)
{
	struct starttls *st;

	if (proto_of(proto) == NULL || (st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->dlg = calloc(1, sizeof(*st->dlg))) == NULL) {
		free(st);
		return NULL;
	}
	st->proto = proto_of(proto);
	st->protocol = proto;
	st->require_tls = require_tls;
	st->phase = PHASE_DIALOGUE;
	st_push(&st->queue, KIND_GREETING);
	return st;
}

void
starttls_free(struct starttls *st)
{
	if (st == NULL)
		return;
	free(st->dlg);
	free(st->filter);
	free(st);
}

/* --- the queue and small helpers ---------------------------------------------------- */

struct st_entry *
st_push(struct st_queue *q, enum st_kind kind)
{
	struct st_entry *e;

	if (q->n == STARTTLS_PENDING_MAX)
		return NULL;
	e = &q->e[(q->head + q->n++) % STARTTLS_PENDING_MAX];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	return e;
}

struct st_entry *
st_head(struct st_queue *q)
{
	return q->n > 0 ? &q->e[q->head] : NULL;
}

void
st_pop(struct st_queue *q)
{
	if (q->n == 0)
		return;
	q->head = (q->head + 1) % STARTTLS_PENDING_MAX;
	q->n--;
}

bool
st_remove_tag(struct st_queue *q, const char *tag, size_t tag_len)
{
	for (unsigned i = 0; i < q->n; i++) {
		struct st_entry *e = &q->e[(q->head + i) % STARTTLS_PENDING_MAX];

		if (e->kind == KIND_LOCAL || e->kind == KIND_GREETING || e->kind == KIND_SWITCH ||
		    strlen(e->tag) != tag_len || memcmp(e->tag, tag, tag_len) != 0)
			continue;
		/* close the gap: later entries move up one */
		for (unsigned j = i; j + 1 < q->n; j++)
			q->e[(q->head + j) % STARTTLS_PENDING_MAX] =
			    q->e[(q->head + j + 1) % STARTTLS_PENDING_MAX];
		q->n--;
		return true;
	}
	return false;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
st_word_is(const char *word, size_t len, const char *keyword)
{
	size_t k = strlen(keyword);

	if (len != k)
		return false;
	for (size_t i = 0; i < k; i++)
		if (lower(word[i]) != lower(keyword[i]))
			return false;
	return true;
}

bool
st_starts_with(const char *line, size_t len, const char *prefix)
{
	size_t k = strlen(prefix);

	return len >= k && st_word_is(line, k, prefix);
}

size_t
st_word(const char *line, size_t len, size_t from, size_t *next)
{
	size_t end = from;

	while (end < len && line[end] != ' ')
		end++;
	*next = end < len ? end + 1 : end;
	return end - from;
}

int64_t
st_literal_at_end(const char *line, size_t len, bool *plus)
{
	size_t i;
	int64_t n = 0;

	*plus = false;
	if (len < 3 || line[len - 1] != '}')
		return -1;
	i = len - 1;
	if (line[i - 1] == '+') {
		*plus = true;
		i--;
	}
	/* the digits before i, at most 18 of them: no overflow */
	size_t end = i, start = i;
	while (start > 0 && line[start - 1] >= '0' && line[start - 1] <= '9' && end - start < 18)
		start--;
	if (start == end || start == 0 || line[start - 1] != '{')
		return -1;
	for (size_t k = start; k < end; k++)
		n = n * 10 + (line[k] - '0');
	return n;
}

/* --- outputs ------------------------------------------------------------------------ */

static size_t
out_room(const struct starttls *st, enum starttls_side side)
{
	return STARTTLS_OUT_BYTES - st->dlg->out_len[side];
}

void
st_emit(struct starttls *st, enum starttls_side side, const char *data, size_t len)
{
	struct st_dialogue *d = st->dlg;

	/* the engine checked the room for a line; a rule that wrote more is cut */
	if (len > out_room(st, side))
		len = out_room(st, side);
	memcpy(d->out[side] + d->out_len[side], data, len);
	d->out_len[side] += len;
}

void
st_emit_str(struct starttls *st, enum starttls_side side, const char *s)
{
	st_emit(st, side, s, strlen(s));
}

void
st_emit_line(struct starttls *st, enum starttls_side side, const char *line, size_t len)
{
	st_emit(st, side, line, len);
	st_emit(st, side, "\r\n", 2);
}

const char *
starttls_out(const struct starttls *st, enum starttls_side side, size_t *len)
{
	*len = st->dlg != NULL ? st->dlg->out_len[side] : 0;
	return st->dlg != NULL ? st->dlg->out[side] : NULL;
}

void
starttls_out_consume(struct starttls *st, enum starttls_side side, size_t n)
{
	struct st_dialogue *d = st->dlg;

	if (d == NULL || n == 0)
		return;
	if (n > d->out_len[side])
		n = d->out_len[side];
	memmove(d->out[side], d->out[side] + n, d->out_len[side] - n);
	d->out_len[side] -= n;
}

/* --- inputs ------------------------------------------------------------------------- */

/* Input that is read only to be dropped: the client's after its STARTTLS
 * line, the backend's once the upgrade is under way. */
static bool
discarding(const struct starttls *st, enum starttls_side side)
{
	if (side == ST_CLIENT)
		return st->phase == PHASE_DIALOGUE && st->dlg->client_done &&
		    st->dlg->switch_len == 0;
	return st->phase == PHASE_UPGRADE;
}

char *
starttls_in_space(struct starttls *st, enum starttls_side side, size_t *room)
{
	struct st_dialogue *d = st->dlg;

	*room = 0;
	if (d == NULL)
		return NULL;
	if (discarding(st, side)) {
		*room = STARTTLS_LINE_MAX;
		return d->in[side];
	}
	if (st->phase != PHASE_DIALOGUE || (side == ST_CLIENT && d->client_done))
		return NULL;
	*room = STARTTLS_LINE_MAX - d->in_len[side];
	return d->in[side] + d->in_len[side];
}

void
starttls_in_commit(struct starttls *st, enum starttls_side side, size_t n)
{
	if (st->dlg == NULL)
		return;
	if (discarding(st, side))
		st->discarded[side] += n;
	else
		st->dlg->in_len[side] += n;
}

static void
in_consume(struct st_dialogue *d, enum starttls_side side, size_t n)
{
	memmove(d->in[side], d->in[side] + n, d->in_len[side] - n);
	d->in_len[side] -= n;
}

size_t
starttls_discarded(const struct starttls *st, enum starttls_side side)
{
	return st->discarded[side];
}

/* --- ends of the dialogue ---------------------------------------------------------- */

static void
close_with(struct starttls *st, const char *reason, bool by_client)
{
	st->phase = PHASE_CLOSE;
	st->close_reason = reason;
	st->close_by_client = by_client;
}

const char *
starttls_close_reason(const struct starttls *st)
{
	return st->close_reason ? st->close_reason : "";
}

bool
starttls_close_by_client(const struct starttls *st)
{
	return st->close_by_client;
}

void
st_answer(struct starttls *st, enum st_reply r, const char *tag, size_t tag_len)
{
	struct st_entry *e = st_push(&st->queue, KIND_LOCAL);

	if (e == NULL)
		return;
	e->reply = r;
	if (tag_len >= sizeof(e->tag))
		tag_len = 0;
	memcpy(e->tag, tag, tag_len);
	e->tag[tag_len] = '\0';
}

void
st_client_upgrade(struct starttls *st, const char *tag, size_t tag_len)
{
	st_answer(st, REPLY_UPGRADE, tag, tag_len);
	st->dlg->client_done = true;
}

void
st_client_switch(struct starttls *st, const char *line, size_t len)
{
	struct st_dialogue *d = st->dlg;

	memcpy(d->switch_line, line, len);
	d->switch_len = len;
	d->client_done = true;
	st_push(&st->queue, KIND_SWITCH);
}

static struct st_filter *
filter_new(struct starttls *st)
{
	free(st->filter);
	st->filter = calloc(1, sizeof(*st->filter));
	return st->filter;
}

/* STARTTLS answered: what either side sent meanwhile is not relayed. */
static void
upgrade_now(struct starttls *st)
{
	struct st_dialogue *d = st->dlg;

	st->phase = PHASE_UPGRADE;
	for (int side = ST_CLIENT; side <= ST_BACKEND; side++) {
		st->discarded[side] += d->in_len[side];
		d->in_len[side] = 0;
		d->raw[side] = 0;
	}
}

static void
switch_now(struct starttls *st)
{
	struct st_dialogue *d = st->dlg;

	st_pop(&st->queue);
	if (filter_new(st) == NULL) {
		close_with(st, "out of memory", false);
		return;
	}
	st_emit_line(st, ST_BACKEND, d->switch_line, d->switch_len);
	starttls_observe_client(st, d->switch_line, d->switch_len);
	starttls_observe_client(st, "\r\n", 2);
	st->phase = PHASE_PASSTHROUGH;
}

/* Replies certwrapd owes, when their turn has come. */
static bool
answer_head(struct starttls *st)
{
	struct st_entry *e;
	bool moved = false;

	while ((e = st_head(&st->queue)) != NULL && st->phase == PHASE_DIALOGUE &&
	    (e->kind == KIND_LOCAL || e->kind == KIND_SWITCH)) {
		if (out_room(st, ST_CLIENT) < LINE_OUT_NEED || out_room(st, ST_BACKEND) < LINE_OUT_NEED)
			break;
		moved = true;
		if (e->kind == KIND_SWITCH) {
			switch_now(st);
			break;
		}
		st->proto->reply(st, e->reply, e->tag);
		if (e->reply == REPLY_UPGRADE) {
			st_pop(&st->queue);
			upgrade_now(st);
			break;
		}
		st_pop(&st->queue);
	}
	return moved;
}

/* The length of the line in in[side] with its LF, or 0 when incomplete; the
 * length without CR LF in *content. */
static size_t
line_at(const struct st_dialogue *d, enum starttls_side side, size_t *content)
{
	const char *lf = memchr(d->in[side], '\n', d->in_len[side]);
	size_t n;

	if (lf == NULL)
		return 0;
	n = (size_t)(lf - d->in[side]);
	*content = n > 0 && d->in[side][n - 1] == '\r' ? n - 1 : n;
	return n + 1;
}

/* Literal bytes, passed as they are (or dropped: a refused command's). */
static bool
pass_raw(struct starttls *st, enum starttls_side from)
{
	struct st_dialogue *d = st->dlg;
	enum starttls_side to = from == ST_CLIENT ? ST_BACKEND : ST_CLIENT;
	size_t n = d->in_len[from];

	if (n > d->raw[from])
		n = (size_t)d->raw[from];
	if (n > out_room(st, to))
		n = out_room(st, to);
	if (n == 0)
		return false;
	if (from == ST_CLIENT && d->drop_cont)
		st->discarded[ST_CLIENT] += n;
	else
		st_emit(st, to, d->in[from], n);
	in_consume(d, from, n);
	d->raw[from] -= n;
	return true;
}

static bool
backend_step(struct starttls *st)
{
	struct st_dialogue *d = st->dlg;
	size_t len, content;
	bool moved = false;

	while (st->phase == PHASE_DIALOGUE && d->in_len[ST_BACKEND] > 0 &&
	    out_room(st, ST_CLIENT) >= LINE_OUT_NEED) {
		if (d->raw[ST_BACKEND] > 0) {
			moved |= pass_raw(st, ST_BACKEND);
			continue;
		}
		if ((len = line_at(d, ST_BACKEND, &content)) == 0) {
			if (d->in_len[ST_BACKEND] == STARTTLS_LINE_MAX) {
				close_with(st, "backend line too long before STARTTLS", false);
				st_emit_str(st, ST_CLIENT,
				    starttls_fatal_reply(st->protocol, ST_FATAL_UNAVAILABLE));
				return true;
			}
			break;
		}
		st->proto->backend_line(st, d->in[ST_BACKEND], content);
		in_consume(d, ST_BACKEND, len);
		moved = true;
	}
	return moved;
}

static bool
client_step(struct starttls *st)
{
	struct st_dialogue *d = st->dlg;
	size_t len, content;
	bool moved = false;

	while (st->phase == PHASE_DIALOGUE && !d->client_done && d->in_len[ST_CLIENT] > 0 &&
	    st->queue.n < STARTTLS_PENDING_MAX && out_room(st, ST_BACKEND) >= LINE_OUT_NEED) {
		if (d->raw[ST_CLIENT] > 0) {
			moved |= pass_raw(st, ST_CLIENT);
			continue;
		}
		if ((len = line_at(d, ST_CLIENT, &content)) == 0) {
			if (d->in_len[ST_CLIENT] == STARTTLS_LINE_MAX &&
			    out_room(st, ST_CLIENT) >= LINE_OUT_NEED) {
				close_with(st, "client line too long before STARTTLS", true);
				st->proto->reply(st, REPLY_LINE_TOO_LONG, "*");
				return true;
			}
			break;
		}
		st->proto->client_line(st, d->in[ST_CLIENT], content);
		in_consume(d, ST_CLIENT, len);
		moved = true;
	}
	/* after STARTTLS, what the client pipelined is never parsed */
	if (d->client_done && d->switch_len == 0 && d->in_len[ST_CLIENT] > 0) {
		st->discarded[ST_CLIENT] += d->in_len[ST_CLIENT];
		d->in_len[ST_CLIENT] = 0;
		d->raw[ST_CLIENT] = 0;
	}
	return moved;
}

static enum starttls_event
event_of(enum st_phase phase)
{
	switch (phase) {
	case PHASE_UPGRADE:
		return ST_UPGRADE;
	case PHASE_PASSTHROUGH:
		return ST_PASSTHROUGH;
	case PHASE_CLOSE:
		return ST_CLOSE;
	case PHASE_DIALOGUE:
	case PHASE_TLS:
		break;
	}
	return ST_CONTINUE;
}

enum starttls_event
starttls_step(struct starttls *st)
{
	bool moved;

	/* each round handles at least one line or stops: bounded by the input */
	do {
		if (st->phase != PHASE_DIALOGUE)
			break;
		moved = answer_head(st);
		moved |= backend_step(st);
		moved |= answer_head(st);
		moved |= client_step(st);
	} while (moved);
	return event_of(st->phase);
}

size_t
starttls_take_client_rest(struct starttls *st, char *out, size_t room)
{
	struct st_dialogue *d = st->dlg;
	size_t n;

	if (d == NULL)
		return 0;
	n = d->in_len[ST_CLIENT] < room ? d->in_len[ST_CLIENT] : room;
	memcpy(out, d->in[ST_CLIENT], n);
	starttls_observe_client(st, out, n);
	in_consume(d, ST_CLIENT, n);
	return n;
}

size_t
starttls_take_backend_rest(struct starttls *st, char *out, size_t room)
{
	struct st_dialogue *d = st->dlg;
	size_t n;

	if (d == NULL || st->filter == NULL)
		return 0;
	n = starttls_filter(st, d->in[ST_BACKEND], d->in_len[ST_BACKEND], out, room);
	/* the last of the dialogue: its buffers go */
	free(st->dlg);
	st->dlg = NULL;
	return n;
}

int
starttls_tls_started(struct starttls *st)
{
	free(st->dlg);
	st->dlg = NULL;
	st->phase = PHASE_TLS;
	return filter_new(st) != NULL ? 0 : -1;
}

/* --- the filter ----------------------------------------------------------------------- */

size_t
starttls_filter_slack(void)
{
	/* a held "250-" line and the line being read */
	return 2 * STARTTLS_LINE_MAX + 64;
}

/* IMAP: follows "{digits}" CR LF at the end of a line too long to hold. */
static void
literal_scan(struct st_filter *f, const char *p, size_t n)
{
	enum { NONE, OPEN, DIGITS, CLOSED, CR };

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '{') {
			f->lit_state = OPEN;
			f->lit_value = 0;
		} else if (c >= '0' && c <= '9' && (f->lit_state == OPEN || f->lit_state == DIGITS) &&
		    f->lit_value < (1ULL << 50)) {
			f->lit_state = DIGITS;
			f->lit_value = f->lit_value * 10 + (uint64_t)(c - '0');
		} else if (c == '}' && f->lit_state == DIGITS) {
			f->lit_state = CLOSED;
		} else if (c == '\r' && f->lit_state == CLOSED) {
			f->lit_state = CR;
		} else if (c == '\n' && (f->lit_state == CLOSED || f->lit_state == CR)) {
			f->raw = f->lit_value;
			f->mid = true;
			f->lit_state = NONE;
		} else {
			f->lit_state = NONE;
			if (c == '\n')
				f->mid = false;
		}
	}
}

static size_t
release_held(struct st_filter *f, char *out)
{
	size_t n = f->held_len;

	memcpy(out, f->held, n);
	f->held_len = 0;
	return n;
}

size_t
starttls_filter(struct starttls *st, const char *in, size_t n, char *out, size_t room)
{
	struct st_filter *f = st->filter;
	size_t o = 0, i = 0, k;
	const char *lf;

	if (f == NULL || f->lost) {
		n = n < room ? n : room;
		memcpy(out, in, n);
		return n;
	}
	while (i < n) {
		if (f->raw > 0) {
			k = n - i < f->raw ? n - i : (size_t)f->raw;
			memcpy(out + o, in + i, k);
			o += k;
			i += k;
			f->raw -= k;
			continue;
		}
		lf = memchr(in + i, '\n', n - i);
		k = lf != NULL ? (size_t)(lf - (in + i)) + 1 : n - i;
		if (f->passing) {
			if (st->protocol == PROTOCOL_IMAP)
				literal_scan(f, in + i, k);
			memcpy(out + o, in + i, k);
			o += k;
			i += k;
			f->passing = lf == NULL;
			continue;
		}
		if (f->len + k > sizeof(f->line)) {
			/* too long to be a capability reply: let it through as it is */
			o += release_held(f, out + o);
			memcpy(out + o, f->line, f->len);
			if (st->protocol == PROTOCOL_IMAP)
				literal_scan(f, f->line, f->len);
			o += f->len;
			f->len = 0;
			f->passing = true;
			continue;
		}
		memcpy(f->line + f->len, in + i, k);
		f->len += k;
		i += k;
		if (lf != NULL) {
			o += st->proto->filter_line(st, f->line, f->len, out + o);
			f->len = 0;
		}
	}
	return o;
}

size_t
starttls_filter_finish(struct starttls *st, char *out, size_t room)
{
	struct st_filter *f = st->filter;
	size_t o;

	if (f == NULL)
		return 0;
	o = release_held(f, out);
	memcpy(out + o, f->line, f->len);
	o += f->len;
	f->len = 0;
	return o;
}

void
starttls_observe_client(struct starttls *st, const char *data, size_t n)
{
	struct st_filter *f = st->filter;

	if (f == NULL || f->lost || st->proto->observe_line == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			size_t len = f->clen > 0 && f->cline[f->clen - 1] == '\r' && !f->cline_long
			    ? f->clen - 1 : f->clen;

			st->proto->observe_line(st, f->cline, len);
			f->clen = 0;
			f->cline_long = false;
		} else if (f->clen < sizeof(f->cline)) {
			f->cline[f->clen++] = data[i];
		} else {
			f->cline_long = true;
		}
	}
}

/* --- replies certwrapd gives before closing ------------------------------------------- */

const char *
starttls_fatal_reply(enum service_protocol proto, enum starttls_fatal why)
{
	switch (proto) {
	case PROTOCOL_SMTP:
		return why == ST_FATAL_TIMEOUT
		    ? "421 4.4.2 Timeout before STARTTLS, closing connection\r\n"
		    : "421 4.3.0 Mail service temporarily unavailable, try again later\r\n";
	case PROTOCOL_IMAP:
		return why == ST_FATAL_TIMEOUT ? "* BYE Timeout before STARTTLS\r\n"
		    : "* BYE [UNAVAILABLE] Mail service temporarily unavailable, try again later\r\n";
	case PROTOCOL_POP3:
		return why == ST_FATAL_TIMEOUT ? "-ERR Timeout before STLS\r\n"
		    : "-ERR [SYS/TEMP] Mail service temporarily unavailable, try again later\r\n";
	case PROTOCOL_NONE:
		break;
	}
	return "";
}
