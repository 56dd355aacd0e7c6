/* meta.c: a version's metadata, certs/NAME/N/meta: what was asked for when
 * the version was made, so that renew can ask again. One "key value" per
 * line, written once and never changed:
 *
 *   # certwrap version metadata
 *   format 1
 *   name mail
 *   version 2
 *   previous 1
 *   serial 5F3A01...
 *   origin renew                 (issue, renew, or import: from an outside CA)
 *   created 2030-01-01T00:00:00Z
 *   key_type ec:P-256
 *   days 365
 *   client no
 *   reused_key no
 *   dns mail.example.com
 *   ip 192.0.2.1
 *
 * The certificate itself stays the truth about what it says; meta is the
 * request. The parser is strict (unknown keys are an error, so a newer
 * format is not half-read) and fuzzed (tests/fuzz/fuzz_meta.c). */
#include "certstore/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define META_LINE_MAX   512
#define META_TIME_FMT   "%Y-%m-%dT%H:%M:%SZ"

enum field { F_FORMAT, F_NAME, F_VERSION, F_PREVIOUS, F_SERIAL, F_ORIGIN, F_CREATED,
	F_KEY_TYPE, F_DAYS, F_CLIENT, F_REUSED_KEY, F_DNS, F_IP, F_LIFETIME, F_COUNT };

/* lifetime (seconds, for lifetimes that are not whole days) is optional:
 * versions written before it existed have days only */
static const char *const field_names[F_COUNT] = { "format", "name", "version", "previous",
	"serial", "origin", "created", "key_type", "days", "client", "reused_key", "dns", "ip",
	"lifetime" };

struct parser {
	const char *file;
	unsigned line;
	struct cs_meta *m;
	struct cs_error *err;
	unsigned seen[F_COUNT];
	const char **dns, **ip;             /* borrowed from the text copy */
};

static int __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	cs_error_set(p->err, "%s:%u: %s: the version's metadata is damaged", p->file, p->line,
	    why);
	return -1;
}

static int
parse_unsigned(struct parser *p, const char *key, const char *v, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = (*v >= '0' && *v <= '9') ? strtoul(v, &end, 10) : 0;
	if (*v < '0' || *v > '9' || errno != 0 || *end != '\0' || n > max)
		return fail(p, "%s \"%.32s\" is not a number from 0 to %u", key, v, max);
	*out = (unsigned)n;
	return 0;
}

static int
parse_bool(struct parser *p, const char *key, const char *v, bool *out)
{
	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return fail(p, "%s \"%.32s\" is not yes or no", key, v);
	*out = strcmp(v, "yes") == 0;
	return 0;
}

static int
parse_time(struct parser *p, const char *v, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(v, META_TIME_FMT, &tm)) == NULL || *end != '\0')
		return fail(p, "created \"%.32s\" is not a time (YYYY-MM-DDTHH:MM:SSZ)", v);
	*out = timegm(&tm);
	return 0;
}

static int
add_name(struct parser *p, const char ***list, size_t *n, const char *v)
{
	const char **grown;

	if (*n >= CS_MAX_SANS)
		return fail(p, "more than %d names", CS_MAX_SANS);
	if ((grown = realloc(*list, (*n + 1) * sizeof(**list))) == NULL)
		return fail(p, "out of memory");
	*list = grown;
	grown[(*n)++] = v;
	return 0;
}

static int
parse_origin(struct parser *p, const char *v)
{
	if (strcmp(v, "issue") == 0)
		p->m->origin = CS_EVENT_ISSUE;
	else if (strcmp(v, "renew") == 0)
		p->m->origin = CS_EVENT_RENEW;
	else if (strcmp(v, "import") == 0)
		p->m->origin = CS_EVENT_IMPORT;
	else
		return fail(p, "origin \"%.32s\" is not issue, renew or import", v);
	return 0;
}

static int
field_set(struct parser *p, enum field f, const char *v)
{
	struct cs_meta *m = p->m;
	struct cs_error kerr;
	unsigned fmt;

	switch (f) {
	case F_FORMAT:
		if (parse_unsigned(p, "format", v, UINT32_MAX, &fmt) == -1)
			return -1;
		if (fmt != CS_META_FORMAT)
			return fail(p, "format %u is not %d: written by another version of certwrap",
			    fmt, CS_META_FORMAT);
		return 0;
	case F_NAME:
		if (!cs_name_is_valid(v))
			return fail(p, "name \"%.64s\" is not a valid certificate name", v);
		snprintf(m->name, sizeof(m->name), "%s", v);
		return 0;
	case F_VERSION: return parse_unsigned(p, "version", v, CS_MAX_VERSION, &m->version);
	case F_PREVIOUS: return parse_unsigned(p, "previous", v, CS_MAX_VERSION, &m->previous);
	case F_SERIAL:
		if (cs_serial_normalize(v, strlen(v), m->serial, sizeof(m->serial)) == -1)
			return fail(p, "serial \"%.48s\" is not hex", v);
		return 0;
	case F_ORIGIN: return parse_origin(p, v);
	case F_CREATED: return parse_time(p, v, &m->created);
	case F_KEY_TYPE:
		/* "default": an imported key of a type issue does not make (P-521) */
		if (strcmp(v, "default") == 0)
			m->key_type = CS_KEY_DEFAULT;
		else if (cs_key_type_parse(v, &m->key_type, &kerr) == -1)
			return fail(p, "%s", kerr.msg);
		return 0;
	case F_DAYS: return parse_unsigned(p, "days", v, CS_MAX_DAYS, &m->days);
	case F_CLIENT: return parse_bool(p, "client", v, &m->client);
	case F_REUSED_KEY: return parse_bool(p, "reused_key", v, &m->reused_key);
	case F_DNS: return add_name(p, &p->dns, &m->n_dns, v);
	case F_IP: return add_name(p, &p->ip, &m->n_ip, v);
	case F_LIFETIME:
		return parse_unsigned(p, "lifetime", v, CS_MAX_LIFETIME_S, &m->lifetime_s);
	case F_COUNT: break;
	}
	return -1;
}

static int
parse_line(struct parser *p, char *s)
{
	char *sp = strchr(s, ' ');
	size_t f;

	if (sp == NULL || sp == s || sp[1] == '\0')
		return fail(p, "expected \"key value\"");
	*sp = '\0';
	for (f = 0; f < F_COUNT && strcmp(s, field_names[f]) != 0; f++)
		;
	if (f == F_COUNT)
		return fail(p, "unknown key \"%.32s\"", s);
	if (f != F_FORMAT && p->seen[F_FORMAT] == 0)
		return fail(p, "the first line must be \"format %d\"", CS_META_FORMAT);
	if (p->seen[f] != 0 && f != F_DNS && f != F_IP)
		return fail(p, "%s given twice (also on line %u)", field_names[f], p->seen[f]);
	p->seen[f] = p->line;
	return field_set(p, (enum field)f, sp + 1);
}

/* Every key a version must have, and names checked as issue checks them. */
static int
finish(struct parser *p)
{
	static const enum field required[] = { F_FORMAT, F_NAME, F_VERSION, F_SERIAL, F_ORIGIN,
		F_CREATED, F_KEY_TYPE, F_DAYS };
	struct cs_meta *m = p->m;
	struct cs_error why;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (p->seen[required[i]] == 0) {
			cs_error_set(p->err, "%s: no \"%s\" line: the version's metadata is damaged",
			    p->file, field_names[required[i]]);
			return -1;
		}
	}
	if (m->n_dns + m->n_ip == 0 || m->n_dns + m->n_ip > CS_MAX_SANS) {
		cs_error_set(p->err, "%s: no dns or ip line: the version's metadata is damaged",
		    p->file);
		return -1;
	}
	if (cs_san_dns_check(p->dns, m->n_dns, &m->dns, &m->n_dns, &why) == -1 ||
	    cs_san_ip_check(p->ip, m->n_ip, &m->ip, &m->n_ip, &why) == -1) {
		cs_error_set(p->err, "%s: %.900s", p->file, why.msg);
		return -1;
	}
	return 0;
}

int
cs_meta_parse(const char *file, const char *text, size_t len, struct cs_meta *m,
    struct cs_error *err)
{
	struct parser p = { .file = file, .m = m, .err = err };
	char *copy = NULL, *s, *end, *nl;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > CS_META_MAX_BYTES) {
		cs_error_set(err, "%s: too large (%zu bytes): the version's metadata is damaged",
		    file, len);
		return -1;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		cs_error_set(err, "%s: out of memory", file);
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (s = copy, end = copy + len; s < end; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		*nl = '\0';
		p.line++;
		if ((size_t)(nl - s) > META_LINE_MAX || strlen(s) != (size_t)(nl - s)) {
			fail(&p, "line too long or with a NUL byte");
			goto done;
		}
		if (s[0] != '\0' && s[0] != '#' && parse_line(&p, s) == -1)
			goto done;
	}
	rc = finish(&p);
done:
	free(p.dns);
	free(p.ip);
	free(copy);
	if (rc == -1)
		cs_meta_clear(m);
	return rc;
}

static void
put_names(FILE *f, const char *key, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %s\n", key, v[i]);
}

char *
cs_meta_format(const struct cs_meta *m)
{
	char *buf = NULL, created[32];
	size_t size = 0;
	struct tm tm;
	FILE *f = open_memstream(&buf, &size);

	if (f == NULL)
		return NULL;
	if (gmtime_r(&m->created, &tm) == NULL ||
	    strftime(created, sizeof(created), META_TIME_FMT, &tm) == 0)
		snprintf(created, sizeof(created), "1970-01-01T00:00:00Z");
	fprintf(f, "# certwrap version metadata: written once, never changed\n"
	    "format %d\nname %s\nversion %u\n", CS_META_FORMAT, m->name, m->version);
	if (m->previous != 0)
		fprintf(f, "previous %u\n", m->previous);
	fprintf(f, "serial %s\norigin %s\ncreated %s\nkey_type %s\ndays %u\nclient %s\n"
	    "reused_key %s\n", m->serial, cs_event_name(m->origin), created,
	    cs_key_type_name(m->key_type), m->days, m->client ? "yes" : "no",
	    m->reused_key ? "yes" : "no");
	put_names(f, "dns", m->dns, m->n_dns);
	put_names(f, "ip", m->ip, m->n_ip);
	if (m->lifetime_s != 0)
		fprintf(f, "lifetime %u\n", m->lifetime_s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void
cs_meta_clear(struct cs_meta *m)
{
	cs_strv_free(m->dns);
	cs_strv_free(m->ip);
	memset(m, 0, sizeof(*m));
}
