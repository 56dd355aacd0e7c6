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
