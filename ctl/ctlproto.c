/* ctlproto.c: encoding and decoding control-protocol frames (outside input). */
#include "ctl/ctlproto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
name_is_valid(const char *name)
{
	size_t n = strlen(name);

	if (strcmp(name, CTLPROTO_RECORD_END) == 0)
		return true;
	if (n == 0 || n > CTLPROTO_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_' || name[i] == '.' || name[i] == '-'))
			return false;
	return true;
}

int
ctl_msg_add(struct ctl_msg *m, const char *name, const void *value, size_t len)
{
	struct ctl_field *f;
	char *copy;

	if (!name_is_valid(name) || m->n >= CTLPROTO_MAX_FIELDS || len > CTLPROTO_MAX_FRAME)
		return -1;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct ctl_field *fields = realloc(m->fields, cap * sizeof(*fields));

		if (fields == NULL)
			return -1;
		m->fields = fields;
		m->cap = cap;
	}
	if ((copy = malloc(len + 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(copy, value, len);
	copy[len] = '\0';
	f = &m->fields[m->n++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->value = copy;
	f->len = len;
	return 0;
}

int
ctl_msg_add_str(struct ctl_msg *m, const char *name, const char *value)
{
	return ctl_msg_add(m, name, value, strlen(value));
}

int
ctl_msg_addf(struct ctl_msg *m, const char *name, const char *fmt, ...)
{
	char *text;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	rc = ctl_msg_add(m, name, text, (size_t)n);
	free(text);
	return rc;
}

int
ctl_msg_end_record(struct ctl_msg *m)
{
	return ctl_msg_add(m, CTLPROTO_RECORD_END, "", 0);
}

const struct ctl_field *
ctl_msg_find(const struct ctl_msg *m, const char *name, size_t *from)
{
	for (size_t i = from ? *from : 0; i < m->n; i++) {
		if (strcmp(m->fields[i].name, name) == 0) {
			if (from != NULL)
				*from = i + 1;
			return &m->fields[i];
		}
	}
	if (from != NULL)
		*from = m->n;
	return NULL;
}

const char *
ctl_msg_get(const struct ctl_msg *m, const char *name)
{
	const struct ctl_field *f = ctl_msg_find(m, name, NULL);

	return f ? f->value : NULL;
}

void
ctl_msg_free(struct ctl_msg *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->fields[i].value);
	free(m->fields);
	m->fields = NULL;
	m->n = m->cap = 0;
}

int
ctl_msg_encode(const struct ctl_msg *m, char **frame, size_t *len)
{
	size_t body = 0, off;
	char header[CTLPROTO_MAX_HEADER];
	int h;

	for (size_t i = 0; i < m->n; i++) {
		/* "<name> <len>\n<value>\n": the length needs at most 20 digits */
		body += strlen(m->fields[i].name) + 1 + 20 + 1 + m->fields[i].len + 1;
		if (body > CTLPROTO_MAX_FRAME)
			return -1;
	}
	if ((*frame = malloc(CTLPROTO_MAX_HEADER + body)) == NULL)
		return -1;
	off = CTLPROTO_MAX_HEADER;         /* the body first; the header goes in front */
	for (size_t i = 0; i < m->n; i++) {
		const struct ctl_field *f = &m->fields[i];

		off += (size_t)sprintf(*frame + off, "%s %zu\n", f->name, f->len);
		memcpy(*frame + off, f->value, f->len);
		off += f->len;
		(*frame)[off++] = '\n';
	}
	body = off - CTLPROTO_MAX_HEADER;
	h = snprintf(header, sizeof(header), CTLPROTO_MAGIC "%d %zu\n", CTLPROTO_VERSION, body);
	memmove(*frame + h, *frame + CTLPROTO_MAX_HEADER, body);
	memcpy(*frame, header, (size_t)h);
	*len = (size_t)h + body;
	return 0;
}

/* A decimal number of at most max, ending at the byte `end`, at p (within
 * n bytes). The number of bytes read including `end`, 0 if incomplete, -1
 * if malformed. */
static long
parse_number(const char *p, size_t n, char end, size_t max, size_t *value)
{
	size_t v = 0, i;

	for (i = 0; i < n && i < 21; i++) {
		if (p[i] == end && i > 0)
			break;
		if (p[i] < '0' || p[i] > '9' || (i > 0 && v == 0))   /* no leading zeros */
			return -1;
		v = v * 10 + (size_t)(p[i] - '0');
		if (v > max)
			return -1;
	}
	if (i == n)
		return 0;
	if (i >= 21 || p[i] != end)
		return -1;
	*value = v;
	return (long)i + 1;
}

static enum ctl_decode
decode_fail(struct ctl_msg *m, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum ctl_decode
decode_fail(struct ctl_msg *m, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	ctl_msg_free(m);
	return CTL_DECODE_ERROR;
}

/* The fields of a complete body. */
static enum ctl_decode
decode_body(const char *p, size_t n, struct ctl_msg *m, char *err, size_t errlen)
{
	size_t off = 0;

	while (off < n) {
		char name[CTLPROTO_NAME_MAX + 1];
		size_t nlen = 0, vlen = 0;
		long used;

		while (off + nlen < n && p[off + nlen] != ' ' && nlen <= CTLPROTO_NAME_MAX)
			nlen++;
		if (off + nlen >= n || nlen == 0 || nlen > CTLPROTO_NAME_MAX)
			return decode_fail(m, err, errlen, "malformed field name at byte %zu", off);
		memcpy(name, p + off, nlen);
		name[nlen] = '\0';
		off += nlen + 1;
		used = parse_number(p + off, n - off, '\n', n - off, &vlen);
		if (used <= 0 || off + (size_t)used + vlen + 1 > n || p[off + (size_t)used + vlen] != '\n')
			return decode_fail(m, err, errlen, "field \"%s\": bad length or truncated value",
			    name);
		off += (size_t)used;
		if (ctl_msg_add(m, name, p + off, vlen) == -1)
			return decode_fail(m, err, errlen, "field \"%s\": invalid name or too many "
			    "fields", name);
		off += vlen + 1;
	}
	return CTL_DECODE_DONE;
}

enum ctl_decode
ctl_msg_decode(const char *buf, size_t len, struct ctl_msg *m, size_t *used, char *err,
    size_t errlen)
{
	const size_t magic = sizeof(CTLPROTO_MAGIC) - 1;
	size_t version, body;
	long v, b;

	memset(m, 0, sizeof(*m));
	if (memcmp(buf, CTLPROTO_MAGIC, len < magic ? len : magic) != 0)
		return decode_fail(m, err, errlen, "not a certwrap control message (expected "
		    "\"%s%d\")", CTLPROTO_MAGIC, CTLPROTO_VERSION);
	if (len <= magic)
		return CTL_DECODE_MORE;
	if ((v = parse_number(buf + magic, len - magic, ' ', 999, &version)) <= 0)
		return v == 0 ? CTL_DECODE_MORE
		    : decode_fail(m, err, errlen, "malformed control message header");
	if (version != CTLPROTO_VERSION)
		return decode_fail(m, err, errlen, "unsupported protocol version %zu (this side "
		    "speaks %d): use the certwrapctl of the same release as certwrapd",
		    version, CTLPROTO_VERSION);
	b = parse_number(buf + magic + (size_t)v, len - magic - (size_t)v, '\n',
	    CTLPROTO_MAX_FRAME, &body);
	if (b < 0)
		return decode_fail(m, err, errlen, "control message larger than %u bytes, or a "
		    "malformed header", CTLPROTO_MAX_FRAME);
	if (b == 0 || len - magic - (size_t)v - (size_t)b < body)
		return CTL_DECODE_MORE;
	if (decode_body(buf + magic + (size_t)v + (size_t)b, body, m, err, errlen) == CTL_DECODE_ERROR)
		return CTL_DECODE_ERROR;
	*used = magic + (size_t)v + (size_t)b + body;
	return CTL_DECODE_DONE;
}

int
ctl_msg_error(struct ctl_msg *resp, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ctl_msg_free(resp);
	return ctl_msg_add_str(resp, "status", "error") == 0 &&
	    ctl_msg_add_str(resp, "message", text) == 0 ? 0 : -1;
}

int
ctl_msg_ok(struct ctl_msg *resp, const char *message)
{
	if (ctl_msg_add_str(resp, "status", "ok") == -1)
		return -1;
	return message ? ctl_msg_add_str(resp, "message", message) : 0;
}
