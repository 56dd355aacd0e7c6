/* backend_imap_parse.c: the tokens of an IMAP command (RFC 3501 section 9).
 *
 * The command text holds its literals as they came on the wire:
 * "{n}" CRLF and then n bytes, so a literal is parsed like any other token. */
#include <stdlib.h>
#include <string.h>

#include "backend_imap.h"

int
imap_parse_sp(struct imap_parser *ps)
{
	if (ps->p >= ps->end || *ps->p != ' ')
		return -1;
	ps->p++;
	return 0;
}

bool
imap_parse_at_end(const struct imap_parser *ps)
{
	return ps->p >= ps->end;
}

/* ATOM-CHAR: any CHAR except atom-specials; ASTRING-CHAR adds "]". */
static bool
is_atom_char(char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("(){%*\"\\]", ch) == NULL;
}

static bool
is_astring_char(char ch)
{
	return is_atom_char(ch) || ch == ']';
}

static bool
is_tag_char(char ch)
{
	return is_astring_char(ch) && ch != '+';
}

/* 1*ch with accept(ch), copied into out. */
static int
parse_run(struct imap_parser *ps, bool (*accept)(char), char *out, size_t outsize)
{
	const char *q = ps->p;
	size_t n;

	while (q < ps->end && accept(*q))
		q++;
	n = (size_t)(q - ps->p);
	if (n == 0 || n >= outsize)
		return -1;
	memcpy(out, ps->p, n);
	out[n] = '\0';
	ps->p = q;
	return 0;
}

int
imap_parse_tag(struct imap_parser *ps, char *out, size_t outsize)
{
	return parse_run(ps, is_tag_char, out, outsize);
}

int
imap_parse_atom(struct imap_parser *ps, char *out, size_t outsize)
{
	return parse_run(ps, is_atom_char, out, outsize);
}

/* "..." with \" and \\ escapes. */
static int
parse_quoted(struct imap_parser *ps, char *out, size_t outsize)
{
	const char *q = ps->p + 1;
	size_t n = 0;

	for (; q < ps->end && *q != '"'; q++) {
		if (*q == '\\' && q + 1 < ps->end && (q[1] == '"' || q[1] == '\\'))
			q++;
		else if (*q == '\\' || *q == '\r' || *q == '\n' || *q == '\0')
			return -1;
		if (n + 1 >= outsize)
			return -1;
		out[n++] = *q;
	}
	if (q >= ps->end)
		return -1;
	out[n] = '\0';
	ps->p = q + 1;
	return 0;
}

/* "{" number "}" CRLF and number bytes, without NULs. */
static int
parse_literal(struct imap_parser *ps, char *out, size_t outsize)
{
	const char *q;
	char *end;
	unsigned long n;

	if (ps->p + 1 >= ps->end || ps->p[1] < '0' || ps->p[1] > '9')
		return -1;
	n = strtoul(ps->p + 1, &end, 10);      /* the command text is NUL-terminated */
	if (*end != '}' || end + 3 > ps->end || memcmp(end + 1, "\r\n", 2) != 0)
		return -1;
	q = end + 3;
	if (n >= outsize || n > (size_t)(ps->end - q) || memchr(q, '\0', n) != NULL)
		return -1;
	memcpy(out, q, n);
	out[n] = '\0';
	ps->p = q + n;
	return 0;
}

int
imap_parse_astring(struct imap_parser *ps, char *out, size_t outsize)
{
	if (ps->p >= ps->end)
		return -1;
	if (*ps->p == '"')
		return parse_quoted(ps, out, outsize);
	if (*ps->p == '{')
		return parse_literal(ps, out, outsize);
	return parse_run(ps, is_astring_char, out, outsize);
}

static bool
is_list_char(char ch)
{
	return is_astring_char(ch) || ch == '%' || ch == '*';
}

int
imap_parse_list_mailbox(struct imap_parser *ps, char *out, size_t outsize)
{
	if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '{'))
		return imap_parse_astring(ps, out, outsize);
	return parse_run(ps, is_list_char, out, outsize);
}

/* nz-number or "*". */
static int
parse_seq_number(struct imap_parser *ps, unsigned *value)
{
	unsigned long v = 0;
	const char *q = ps->p;

	if (q < ps->end && *q == '*') {
		*value = IMAP_SEQ_STAR;
		ps->p = q + 1;
		return 0;
	}
	if (q >= ps->end || *q < '1' || *q > '9')
		return -1;
	for (; q < ps->end && *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (unsigned long)(*q - '0');
		if (v >= IMAP_SEQ_STAR)
			return -1;
	}
	*value = (unsigned)v;
	ps->p = q;
	return 0;
}

int
imap_parse_seq_set(struct imap_parser *ps, struct imap_seq_set *set)
{
	struct imap_parser start = *ps;

	set->n = 0;
	do {
		struct imap_seq_range *r = &set->r[set->n];

		if (set->n == IMAP_SEQ_RANGES_MAX || parse_seq_number(ps, &r->lo) == -1)
			goto fail;
		r->hi = r->lo;
		if (ps->p < ps->end && *ps->p == ':') {
			ps->p++;
			if (parse_seq_number(ps, &r->hi) == -1)
				goto fail;
		}
		set->n++;
	} while (ps->p < ps->end && *ps->p == ',' && ps->p++);
	return 0;
fail:
	*ps = start;
	return -1;
}

bool
imap_seq_set_contains(const struct imap_seq_set *set, unsigned key, unsigned star)
{
	for (size_t i = 0; i < set->n; i++) {
		unsigned lo = set->r[i].lo == IMAP_SEQ_STAR ? star : set->r[i].lo;
		unsigned hi = set->r[i].hi == IMAP_SEQ_STAR ? star : set->r[i].hi;

		if (lo > hi) {
			unsigned t = lo;
			lo = hi;
			hi = t;
		}
		if (key >= lo && key <= hi)
			return true;
	}
	return false;
}
