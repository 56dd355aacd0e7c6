/* output.c: how certwrapctl prints: aligned tables for people, JSON for
 * scripts (--json), and dates in the three spellings operators meet (ISO
 * 8601 in JSON, YYYY-MM-DD in tables, openssl's in show). */
#include "ctl/ctl.h"

#include <stdlib.h>
#include <string.h>

#define COLUMN_GAP "  "

void
out_table_init(struct out_table *t, size_t n_cols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->n_cols = n_cols < OUT_MAX_COLUMNS ? n_cols : OUT_MAX_COLUMNS;
	for (size_t i = 0; i < t->n_cols; i++)
		t->head[i] = head[i];
}

int
out_table_row(struct out_table *t, const char *const *cells)
{
	char **grown;

	if (t->n_rows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		if ((grown = realloc(t->cells, t->cap * t->n_cols * sizeof(*grown))) == NULL)
			return -1;
		t->cells = grown;
	}
	for (size_t i = 0; i < t->n_cols; i++) {
		if ((t->cells[t->n_rows * t->n_cols + i] = strdup(cells[i] ? cells[i] : "")) == NULL) {
			while (i-- > 0)
				free(t->cells[t->n_rows * t->n_cols + i]);
			return -1;
		}
	}
	t->n_rows++;
	return 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static void
print_row(const struct out_table *t, const char *const *cells, const size_t *w, FILE *f)
{
	for (size_t i = 0; i < t->n_cols; i++) {
		if (i + 1 == t->n_cols) {
			fprintf(f, "%s\n", cells[i]);
			break;
		}
		fprintf(f, "%s%*s" COLUMN_GAP, cells[i], (int)(w[i] - width(cells[i])), "");
	}
}

void
out_table_print(const struct out_table *t, FILE *f)
{
	size_t w[OUT_MAX_COLUMNS];

	for (size_t i = 0; i < t->n_cols; i++) {
		w[i] = width(t->head[i]);
		for (size_t r = 0; r < t->n_rows; r++)
			if (width(t->cells[r * t->n_cols + i]) > w[i])
				w[i] = width(t->cells[r * t->n_cols + i]);
	}
	print_row(t, t->head, w, f);
	for (size_t r = 0; r < t->n_rows; r++)
		print_row(t, (const char *const *)&t->cells[r * t->n_cols], w, f);
}

void
out_table_free(struct out_table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* --- JSON ------------------------------------------------------------------------------------ */

void
out_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

enum time_style { TIME_ISO, TIME_DATE, TIME_OPENSSL };

static void
format_time(time_t t, enum time_style style, char *buf, size_t len)
{
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&t, &tm) != NULL) {
		switch (style) {
		case TIME_ISO: n = strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm); break;
		case TIME_DATE: n = strftime(buf, len, "%Y-%m-%d", &tm); break;
		/* ASN1_TIME_print's "%s %2d %02d:%02d:%02d %d GMT": %e pads the day alike */
		case TIME_OPENSSL: n = strftime(buf, len, "%b %e %H:%M:%S %Y GMT", &tm); break;
		}
	}
	if (n == 0)
		snprintf(buf, len, "unknown");
}

void
out_iso_time(time_t t, char *buf, size_t len)
{
	format_time(t, TIME_ISO, buf, len);
}

void
out_date(time_t t, char *buf, size_t len)
{
	format_time(t, TIME_DATE, buf, len);
}

void
out_openssl_time(time_t t, char *buf, size_t len)
{
	format_time(t, TIME_OPENSSL, buf, len);
}

static void
json_field(FILE *f, const char *indent, const char *key, const char *value, bool last)
{
	fprintf(f, "%s  ", indent);
	out_json_string(f, key);
	fputs(": ", f);
	if (value != NULL)
		out_json_string(f, value);
	else
		fputs("null", f);
	fputs(last ? "\n" : ",\n", f);
}

static void
json_chain(FILE *f, const struct cs_cert_info *i, const char *indent)
{
	char when[32];

	fprintf(f, "%s  \"chain\": [", indent);
	for (size_t k = 0; k < i->n_chain; k++) {
		out_iso_time(i->chain[k].not_after, when, sizeof(when));
		fprintf(f, "%s{\"subject\": ", k ? ", " : "");
		out_json_string(f, i->chain[k].subject);
		fputs(", \"issuer\": ", f);
		out_json_string(f, i->chain[k].issuer);
		fputs(", \"not_after\": ", f);
		out_json_string(f, when);
		fputc('}', f);
	}
	fputs("],\n", f);
}

void
out_json_cert(FILE *f, const struct cs_cert_info *i, const char *indent)
{
	char nb[32], na[32], ra[32];

	out_iso_time(i->not_before, nb, sizeof(nb));
	out_iso_time(i->not_after, na, sizeof(na));
	out_iso_time(i->renew_at, ra, sizeof(ra));
	fprintf(f, "%s{\n", indent);
	json_field(f, indent, "name", i->name, false);
	fprintf(f, "%s  \"version\": %u,\n%s  \"current\": %s,\n%s  \"versions\": %u,\n", indent,
	    i->version, indent, i->current ? "true" : "false", indent, i->n_versions);
	json_field(f, indent, "serial", i->serial, false);
	json_field(f, indent, "subject", i->subject, false);
	json_field(f, indent, "issuer", i->issuer, false);
	fprintf(f, "%s  \"sans\": [", indent);
	for (size_t k = 0; k < i->n_sans; k++) {
		fputs(k ? ", " : "", f);
		out_json_string(f, i->sans[k]);
	}
	fputs("],\n", f);
	json_field(f, indent, "not_before", nb, false);
	json_field(f, indent, "not_after", na, false);
	fprintf(f, "%s  \"days_left\": %ld,\n", indent, i->days_left);
	json_field(f, indent, "renew_at", ra, false);
	json_field(f, indent, "key", i->key, false);
	json_field(f, indent, "fingerprint_sha256", i->fingerprint, false);
	fprintf(f, "%s  \"client\": %s,\n", indent, i->client ? "true" : "false");
	json_chain(f, i, indent);
	json_field(f, indent, "status", cs_status_name(i->status), false);
	json_field(f, indent, "problem", i->problem[0] != '\0' ? i->problem : NULL, true);
	fprintf(f, "%s}", indent);
}

/* --- responses ------------------------------------------------------------------------------ */

static bool
is_end(const struct ctl_field *f)
{
	return strcmp(f->name, CTLPROTO_RECORD_END) == 0;
}

static bool
is_head_name(const char *name)
{
	return strcmp(name, "status") == 0 || strcmp(name, "message") == 0 ||
	    strcmp(name, "warning") == 0;
}

static int
push_record(struct out_response *r, const struct ctl_field *f, size_t n)
{
	struct out_record *grown;

	if (n == 0)
		return 0;
	if ((grown = realloc(r->rec, (r->n_rec + 1) * sizeof(*grown))) == NULL)
		return -1;
	r->rec = grown;
	r->rec[r->n_rec++] = (struct out_record){ f, n };
	return 0;
}

/* Records start at each `record` field and end at "-". A peer that sends
 * records without `record` fields is understood too: then the header is
 * status, message and warnings, and each run of fields up to "-" a record.
 * A response with neither is all header. */
int
out_response_split(const struct ctl_msg *m, struct out_response *r)
{
	bool kinds = ctl_msg_find(m, "record", NULL) != NULL;
	bool ends = ctl_msg_find(m, CTLPROTO_RECORD_END, NULL) != NULL;
	size_t i = 0, start;
	const char *status = ctl_msg_get(m, "status");

	memset(r, 0, sizeof(*r));
	if (status == NULL)
		return -1;
	r->ok = strcmp(status, "ok") == 0;
	r->message = ctl_msg_get(m, "message") ? ctl_msg_get(m, "message") : "";
	while (i < m->n && (kinds ? strcmp(m->fields[i].name, "record") != 0 :
	    !ends || is_head_name(m->fields[i].name)))
		i++;
	r->head = (struct out_record){ m->fields, i };
	while (i < m->n) {
		start = i;
		while (i < m->n && !is_end(&m->fields[i]) &&
		    !(i > start && strcmp(m->fields[i].name, "record") == 0))
			i++;
		if (push_record(r, &m->fields[start], i - start) == -1) {
			out_response_free(r);
			return -1;
		}
		if (i < m->n && is_end(&m->fields[i]))
			i++;
	}
	return 0;
}

void
out_response_free(struct out_response *r)
{
	free(r->rec);
	memset(r, 0, sizeof(*r));
}

const char *
out_field(const struct out_record *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].name, name) == 0)
			return r->f[i].value;
	return NULL;
}

long
out_field_long(const struct out_record *r, const char *name, long def)
{
	const char *v = out_field(r, name);
	char *end;
	long n;

	if (v == NULL || v[0] == '\0')
		return def;
	n = strtol(v, &end, 10);
	return *end == '\0' ? n : def;
}

time_t
out_field_time(const struct out_record *r, const char *name)
{
	time_t t;

	return ctlstore_time_parse(out_field(r, name), &t) == 0 ? t : 0;
}

static void
copy_text(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static enum cs_status
status_of(const char *s)
{
	for (enum cs_status st = CS_STATUS_VALID; st <= CS_STATUS_INVALID; st++)
		if (s != NULL && strcmp(s, cs_status_name(st)) == 0)
			return st;
	return CS_STATUS_INVALID;
}

/* The repeated san and chain.* fields of a certificate record. */
static int
cert_lists(const struct out_record *r, struct cs_cert_info *i)
{
	size_t n_sans = 0;

	for (size_t k = 0; k < r->n; k++)
		n_sans += strcmp(r->f[k].name, "san") == 0;
	if ((i->sans = calloc(n_sans + 1, sizeof(*i->sans))) == NULL)
		return -1;
	for (size_t k = 0; k < r->n; k++) {
		const char *name = r->f[k].name, *v = r->f[k].value;
		/* chain.issuer and chain.not_after belong to the last chain.subject */
		struct cs_chain_entry *e = i->n_chain > 0 ? &i->chain[i->n_chain - 1] : NULL;

		if (strcmp(name, "san") == 0) {
			if ((i->sans[i->n_sans++] = strdup(v)) == NULL)
				return -1;
		} else if (strcmp(name, "chain.subject") == 0 && i->n_chain < CS_PEM_MAX_CERTS) {
			copy_text(i->chain[i->n_chain++].subject, CS_TEXT_MAX, v);
		} else if (e != NULL && strcmp(name, "chain.issuer") == 0) {
			copy_text(e->issuer, sizeof(e->issuer), v);
		} else if (e != NULL && strcmp(name, "chain.not_after") == 0) {
			ctlstore_time_parse(v, &e->not_after);
		}
	}
	return 0;
}

int
out_cert_info(const struct out_record *r, struct cs_cert_info *i, struct cs_paths *p)
{
	const char *v;

	memset(i, 0, sizeof(*i));
	memset(p, 0, sizeof(*p));
	copy_text(i->name, sizeof(i->name), out_field(r, "name"));
	i->version = (unsigned)out_field_long(r, "version", 0);
	i->current = (v = out_field(r, "current")) != NULL && strcmp(v, "yes") == 0;
	i->n_versions = (unsigned)out_field_long(r, "versions", 0);
	copy_text(i->serial, sizeof(i->serial), out_field(r, "serial"));
	copy_text(i->subject, sizeof(i->subject), out_field(r, "subject"));
	copy_text(i->issuer, sizeof(i->issuer), out_field(r, "issuer"));
	copy_text(i->subject_openssl, sizeof(i->subject_openssl), out_field(r, "subject_openssl"));
	copy_text(i->issuer_openssl, sizeof(i->issuer_openssl), out_field(r, "issuer_openssl"));
	i->not_before = out_field_time(r, "not_before");
	i->not_after = out_field_time(r, "not_after");
	i->days_left = out_field_long(r, "days_left", 0);
	i->renew_at = out_field_time(r, "renew_at");
	copy_text(i->fingerprint, sizeof(i->fingerprint), out_field(r, "fingerprint_sha256"));
	copy_text(i->key, sizeof(i->key), out_field(r, "key"));
	i->client = (v = out_field(r, "client")) != NULL && strcmp(v, "yes") == 0;
	i->status = status_of(out_field(r, "status"));
	copy_text(i->problem, sizeof(i->problem), out_field(r, "problem"));
	copy_text(p->dir, sizeof(p->dir), out_field(r, "dir"));
	copy_text(p->key, sizeof(p->key), out_field(r, "file.key"));
	copy_text(p->cert, sizeof(p->cert), out_field(r, "file.cert"));
	copy_text(p->chain, sizeof(p->chain), out_field(r, "file.chain"));
	copy_text(p->fullchain, sizeof(p->fullchain), out_field(r, "file.fullchain"));
	copy_text(p->csr, sizeof(p->csr), out_field(r, "file.csr"));
	if (cert_lists(r, i) == -1) {
		cs_cert_info_clear(i);
		return -1;
	}
	return 0;
}

void
out_warnings(const struct out_response *r, FILE *f)
{
	for (size_t i = 0; i < r->head.n; i++)
		if (strcmp(r->head.f[i].name, "warning") == 0)
			fprintf(f, "certwrapctl: warning: %s\n", r->head.f[i].value);
}

/* --- any response, for people -------------------------------------------------------------- */

/* A value as it can be printed on one line: embedded line ends shown as
 * spaces, other control bytes as '?'; a long PEM value is summarized. */
static char *
printable(const struct ctl_field *f)
{
	char *s;

	if (strncmp(f->value, "-----BEGIN ", 11) == 0 && f->len > 64) {
		if (asprintf(&s, "(%zu bytes of PEM)", f->len) < 0)
			return NULL;
		return s;
	}
	if ((s = malloc(f->len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < f->len; i++) {
		unsigned char ch = (unsigned char)f->value[i];

		s[i] = ch == '\n' || ch == '\t' ? ' ' : ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	s[f->len] = '\0';
	return s;
}

/* The fields of r other than `record`, for display. */
static bool
shown(const struct ctl_field *f)
{
	return strcmp(f->name, "record") != 0;
}

static size_t
shown_count(const struct out_record *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += shown(&r->f[i]);
	return n;
}

/* Whether records [from, to) have the same field names in the same order,
 * none repeated, few enough for a table. */
static bool
tabular(const struct out_response *r, size_t from, size_t to)
{
	const struct out_record *first = &r->rec[from];
	size_t n = shown_count(first);

	if (n == 0 || n > OUT_MAX_COLUMNS)
		return false;
	for (size_t i = 0; i < first->n; i++)
		for (size_t j = i + 1; j < first->n; j++)
			if (strcmp(first->f[i].name, first->f[j].name) == 0)
				return false;
	for (size_t k = from + 1; k < to; k++) {
		if (r->rec[k].n != first->n)
			return false;
		for (size_t i = 0; i < first->n; i++)
			if (strcmp(r->rec[k].f[i].name, first->f[i].name) != 0)
				return false;
	}
	return true;
}

static void
print_table(const struct out_response *r, size_t from, size_t to, FILE *f)
{
	const struct out_record *first = &r->rec[from];
	char heads[OUT_MAX_COLUMNS][CTLPROTO_NAME_MAX + 1];
	const char *head[OUT_MAX_COLUMNS], *cells[OUT_MAX_COLUMNS];
	char *owned[OUT_MAX_COLUMNS];
	struct out_table t;
	size_t n = 0;

	for (size_t i = 0; i < first->n; i++) {
		if (!shown(&first->f[i]))
			continue;
		for (size_t c = 0; c <= CTLPROTO_NAME_MAX; c++) {
			char ch = first->f[i].name[c];

			heads[n][c] = ch == '_' ? ' ' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
			if (ch == '\0')
				break;
		}
		head[n] = heads[n];
		n++;
	}
	out_table_init(&t, n, head);
	for (size_t k = from; k < to; k++) {
		size_t c = 0;

		for (size_t i = 0; i < r->rec[k].n; i++)
			if (shown(&r->rec[k].f[i])) {
				owned[c] = printable(&r->rec[k].f[i]);
				cells[c] = owned[c] != NULL ? owned[c] : "?";
				c++;
			}
		out_table_row(&t, cells);
		for (size_t i = 0; i < c; i++)
			free(owned[i]);
	}
	out_table_print(&t, f);
	out_table_free(&t);
}

static void
print_block(const struct out_record *rec, FILE *f)
{
	size_t w = 0;

	for (size_t i = 0; i < rec->n; i++)
		if (shown(&rec->f[i]) && strlen(rec->f[i].name) > w)
			w = strlen(rec->f[i].name);
	for (size_t i = 0; i < rec->n; i++) {
		char *v;

		if (!shown(&rec->f[i]))
			continue;
		v = printable(&rec->f[i]);
		fprintf(f, "%-*s  %s\n", (int)w, rec->f[i].name, v != NULL ? v : "?");
		free(v);
	}
}

void
out_record_print(const struct out_record *r, FILE *f)
{
	print_block(r, f);
}

void
out_generic(const struct out_response *r, FILE *f)
{
	bool gap = false;

	if (r->message[0] != '\0' && r->ok) {
		fprintf(f, "%s\n", r->message);
		gap = true;
	}
	for (size_t i = 0; i < r->head.n; i++) {
		char *v;

		if (is_head_name(r->head.f[i].name))
			continue;
		v = printable(&r->head.f[i]);
		fprintf(f, "%s: %s\n", r->head.f[i].name, v != NULL ? v : "?");
		free(v);
		gap = true;
	}
	for (size_t k = 0, end; k < r->n_rec; k = end) {
		const char *kind = out_field(&r->rec[k], "record");

		/* one group per run of records of the same kind */
		for (end = k + 1; end < r->n_rec; end++) {
			const char *other = out_field(&r->rec[end], "record");

			if ((kind == NULL) != (other == NULL) || (kind && strcmp(kind, other) != 0))
				break;
		}
		if (gap)
			fputc('\n', f);
		if (end - k > 1 && tabular(r, k, end)) {
			print_table(r, k, end, f);
		} else {
			for (size_t j = k; j < end; j++) {
				if (j > k)
					fputc('\n', f);
				print_block(&r->rec[j], f);
			}
		}
		gap = true;
	}
}

/* --- any response, for scripts -------------------------------------------------------------- */

/* Fields whose values are numbers or booleans in JSON; all others are strings. */
static const char *const json_numbers[] = { "version", "previous", "versions", "days_left",
	"exit", "connections", "handshakes", "handshake_failures", "bytes_in", "bytes_out",
	"listeners", "services", "pid", "revoked", "crl_number", "active", "backend_failures",
	"count", "worker", NULL };
static const char *const json_booleans[] = { "current", "client", "reuse_key", NULL };
/* Fields that are lists even when they occur once. */
static const char *const json_lists[] = { "san", "warning", "dns", "ip", NULL };

static bool
in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static bool
is_number(const char *s)
{
	size_t i = s[0] == '-' ? 1 : 0;

	if (s[i] == '\0' || (s[i] == '0' && s[i + 1] != '\0') || strlen(s) > 18)
		return false;
	for (; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void
json_value(FILE *f, const struct ctl_field *fl)
{
	if (in_list(json_numbers, fl->name) && is_number(fl->value))
		fputs(fl->value, f);
	else if (in_list(json_booleans, fl->name) && (strcmp(fl->value, "yes") == 0 ||
	    strcmp(fl->value, "no") == 0))
		fputs(strcmp(fl->value, "yes") == 0 ? "true" : "false", f);
	else
		out_json_string(f, fl->value);
}

/* The fields of rec as JSON members (without braces): a name that repeats
 * becomes one array, at the place of its first occurrence. */
static void
json_members(const struct out_record *rec, FILE *f, const char *indent, bool *first,
    bool skip_head)
{
	for (size_t i = 0; i < rec->n; i++) {
		const struct ctl_field *fl = &rec->f[i];
		size_t count = 0;
		bool seen = false;

		if (skip_head && (strcmp(fl->name, "status") == 0 || strcmp(fl->name, "message") == 0))
			continue;
		for (size_t j = 0; j < rec->n; j++) {
			if (strcmp(rec->f[j].name, fl->name) != 0)
				continue;
			seen |= j < i;
			count++;
		}
		if (seen)
			continue;
		fprintf(f, "%s\n%s", *first ? "" : ",", indent);
		*first = false;
		out_json_string(f, strcmp(fl->name, "warning") == 0 ? "warnings" : fl->name);
		fputs(": ", f);
		if (count == 1 && !in_list(json_lists, fl->name)) {
			json_value(f, fl);
			continue;
		}
		fputc('[', f);
		for (size_t j = i, k = 0; j < rec->n; j++) {
			if (strcmp(rec->f[j].name, fl->name) != 0)
				continue;
			fputs(k++ ? ", " : "", f);
			json_value(f, &rec->f[j]);
		}
		fputc(']', f);
	}
}

void
out_json_response(const struct out_response *r, FILE *f)
{
	bool first = true;

	fputs("{\n  \"status\": ", f);
	out_json_string(f, r->ok ? "ok" : "error");
	fputs(",\n  \"message\": ", f);
	out_json_string(f, r->message);
	first = false;
	json_members(&r->head, f, "  ", &first, true);
	if (out_field(&r->head, "warning") == NULL)
		fputs(",\n  \"warnings\": []", f);
	fputs(",\n  \"records\": [", f);
	for (size_t k = 0; k < r->n_rec; k++) {
		bool rfirst = true;

		fprintf(f, "%s\n    {", k ? "," : "");
		json_members(&r->rec[k], f, "      ", &rfirst, false);
		fputs("\n    }", f);
	}
	fputs(r->n_rec ? "\n  ]\n}\n" : "]\n}\n", f);
}
