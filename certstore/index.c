/* index.c: `openssl ca`'s database, index.txt, read and written as openssl
 * does, so that `openssl ca -status SERIAL`, `openssl ca -gencrl` and
 * scripts that grep it keep working on a certwrap store. One line per
 * certificate issued, six fields separated by tabs:
 *
 *   V	271123171300Z		5F3A01	unknown	/CN=mail.example.com
 *
 * status (V valid, R revoked, E expired), expiry (the notAfter's ASN.1 text),
 * revocation ("TIME[,reason]", empty unless R), serial (upper-case hex, even
 * length), file ("unknown"), subject (X509_NAME_oneline).
 *
 * The file is outside input when it was imported or edited by hand, so the
 * parser is strict, bounded and fuzzed (tests/fuzz/fuzz_index.c). */
#include "certstore/internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#define INDEX_FIELDS     6
#define INDEX_FILE_FIELD "unknown"
#define INDEX_SUBJECT_MAX 4096

/* --- serials --------------------------------------------------------------------------- */

int
cs_serial_normalize(const char *text, size_t len, char *out, size_t outlen)
{
	size_t pad = len % 2, o = 0;

	if (len == 0 || len + pad > CS_SERIAL_HEX_MAX || len + pad + 1 > outlen)
		return -1;
	if (pad)
		out[o++] = '0';
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)text[i]))
			return -1;
		out[o++] = (char)toupper((unsigned char)text[i]);
	}
	out[o] = '\0';
	return 0;
}

int
cs_serial_hex(const ASN1_INTEGER *serial, char *out, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	int rc = -1;

	/* BN_bn2hex writes whole bytes in upper case, as openssl's index does;
	 * a zero serial comes out as "0" and becomes "00". */
	if (hex != NULL && hex[0] != '-')
		rc = cs_serial_normalize(hex, strlen(hex), out, len);
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* --- parsing ------------------------------------------------------------------------------ */

struct parser {
	const char *file;
	unsigned line;
	struct cs_error *err;
	const char *f[INDEX_FIELDS];        /* the current line's fields */
	size_t n[INDEX_FIELDS];
};

static int __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	cs_error_set(p->err, "%s:%u: %s: fix the line, or restore the index from a backup",
	    p->file, p->line, what);
	return -1;
}

/* An ASN.1 time as openssl writes it: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ. */
static bool
time_is_valid(const char *s, size_t len)
{
	char buf[CS_INDEX_TIME_MAX];
	ASN1_TIME *t;
	bool ok;

	if (len != 13 && len != 15)
		return false;
	for (size_t i = 0; i < len - 1; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	if (s[len - 1] != 'Z')
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((t = ASN1_TIME_new()) == NULL)
		return false;
	ok = ASN1_TIME_set_string(t, buf) == 1 && ASN1_TIME_check(t) == 1;
	ASN1_TIME_free(t);
	return ok;
}

static int
check_dates(struct parser *p)
{
	const char *comma;
	char status = p->f[0][0];

	if (p->n[0] != 1 || strchr("VRE", status) == NULL)
		return fail(p, "status \"%.*s\" is not V, R or E", (int)(p->n[0] > 8 ? 8 : p->n[0]),
		    p->f[0]);
	if (!time_is_valid(p->f[1], p->n[1]))
		return fail(p, "expiry \"%.*s\" is not a date (YYMMDDHHMMSSZ)",
		    (int)(p->n[1] > 20 ? 20 : p->n[1]), p->f[1]);
	if (status != 'R' && p->n[2] != 0)
		return fail(p, "status %c but a revocation date is given (only R has one)", status);
	if (status != 'R')
		return 0;
	if (p->n[2] == 0)
		return fail(p, "status R (revoked) but no revocation date");
	if (p->n[2] >= sizeof(((struct cs_index_entry *)0)->revoked))
		return fail(p, "revocation field longer than %zu bytes",
		    sizeof(((struct cs_index_entry *)0)->revoked) - 1);
	comma = memchr(p->f[2], ',', p->n[2]);
	if (!time_is_valid(p->f[2], comma != NULL ? (size_t)(comma - p->f[2]) : p->n[2]))
		return fail(p, "revocation field \"%.*s\" does not start with a date "
		    "(YYMMDDHHMMSSZ)", (int)p->n[2], p->f[2]);
	return 0;
}

static bool
has_control_char(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static int
grow(struct cs_index *idx, struct parser *p)
{
	struct cs_index_entry *e;
	size_t cap;

	if (idx->n < idx->cap)
		return 0;
	cap = idx->cap ? 2 * idx->cap : 64;
	if ((e = realloc(idx->e, cap * sizeof(*e))) == NULL) {
		cs_error_set(p->err, "%s: out of memory", p->file);
		return -1;
	}
	idx->e = e;
	idx->cap = cap;
	return 0;
}

/* Checks the fields of one line and appends them to idx. */
static int
add_line(struct parser *p, struct cs_index *idx)
{
	struct cs_index_entry e = { 0 };

	if (check_dates(p) == -1)
		return -1;
	if (cs_serial_normalize(p->f[3], p->n[3], e.serial, sizeof(e.serial)) == -1)
		return fail(p, "serial \"%.*s\" is not 1 to %d hex digits",
		    (int)(p->n[3] > 48 ? 48 : p->n[3]), p->f[3], CS_SERIAL_HEX_MAX);
	if (cs_index_find(idx, e.serial) != NULL)
		return fail(p, "serial %s is listed twice", e.serial);
	if (p->n[4] == 0 || has_control_char(p->f[4], p->n[4]) || p->n[4] > INDEX_SUBJECT_MAX)
		return fail(p, "the file name field is empty or not text (openssl writes "
		    "\"unknown\")");
	if (has_control_char(p->f[5], p->n[5]) || p->n[5] > INDEX_SUBJECT_MAX)
		return fail(p, "the subject has control characters or is too long");
	e.status = p->f[0][0];
	memcpy(e.expiry, p->f[1], p->n[1]);
	memcpy(e.revoked, p->f[2], p->n[2]);
	if (grow(idx, p) == -1)
		return -1;
	if ((e.file = strndup(p->f[4], p->n[4])) == NULL ||
	    (e.subject = strndup(p->f[5], p->n[5])) == NULL) {
		free(e.file);
		cs_error_set(p->err, "%s: out of memory", p->file);
		return -1;
	}
	idx->e[idx->n++] = e;
	return 0;
}

/* Splits one line (no '\n') into its six fields. */
static int
parse_line(struct parser *p, const char *s, size_t len, struct cs_index *idx)
{
	size_t k = 0;
	const char *end = s + len, *tab;

	if (len > 0 && s[len - 1] == '\r')
		return fail(p, "the line ends in CR LF (a DOS text file): convert it with dos2unix");
	if (len > CS_INDEX_LINE_MAX)
		return fail(p, "line longer than %d bytes", CS_INDEX_LINE_MAX);
	if (memchr(s, '\0', len) != NULL)
		return fail(p, "NUL byte in the line; is this a text file?");
	while (k < INDEX_FIELDS) {
		/* the last field (the subject) runs to the end of the line */
		tab = k + 1 < INDEX_FIELDS ? memchr(s, '\t', (size_t)(end - s)) : NULL;
		p->f[k] = s;
		p->n[k] = (size_t)((tab != NULL ? tab : end) - s);
		k++;
		if (tab == NULL)
			break;
		s = tab + 1;
	}
	if (k != INDEX_FIELDS || memchr(p->f[5], '\t', p->n[5]) != NULL)
		return fail(p, "expected 6 tab-separated fields (status, expiry, revocation, "
		    "serial, file, subject), found %zu", k == INDEX_FIELDS ? (size_t)7 : k);
	return add_line(p, idx);
}

int
cs_index_parse(const char *file, const char *text, size_t len, struct cs_index *idx,
    struct cs_error *err)
{
	struct parser p = { .file = file, .err = err };
	const char *s = text, *end = text + len, *nl;

	memset(idx, 0, sizeof(*idx));
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		p.line++;
		/* openssl's TXT_DB skips lines that start with '#' */
		if (*s != '#' && parse_line(&p, s, (size_t)((nl ? nl : end) - s), idx) == -1) {
			cs_index_free(idx);
			return -1;
		}
		s = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

int
cs_index_load(const char *path, struct cs_index *idx, struct cs_error *err)
{
	size_t len;
	char *text = cs_fsio_read(path, CS_FILE_MAX_BYTES, &len, NULL, err);
	int rc;

	memset(idx, 0, sizeof(*idx));
	if (text == NULL)
		return -1;
	rc = cs_index_parse(path, text, len, idx, err);
	free(text);
	return rc;
}

/* --- writing ------------------------------------------------------------------------------ */

char *
cs_index_format(const struct cs_index *idx, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < idx->n; i++) {
		const struct cs_index_entry *e = &idx->e[i];

		fprintf(f, "%c\t%s\t%s\t%s\t%s\t%s\n", e->status, e->expiry, e->revoked, e->serial,
		    e->file, e->subject);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}

int
cs_index_save(const char *path, const struct cs_index *idx, struct cs_error *err)
{
	size_t len;
	char *text = cs_index_format(idx, &len);
	int rc;

	if (text == NULL) {
		cs_error_set(err, "%s: out of memory", path);
		return -1;
	}
	rc = cs_fsio_write(path, text, len, 0644, err);
	free(text);
	return rc;
}

const struct cs_index_entry *
cs_index_find(const struct cs_index *idx, const char *serial)
{
	char norm[CS_SERIAL_HEX_MAX + 1];

	if (cs_serial_normalize(serial, strlen(serial), norm, sizeof(norm)) == -1)
		return NULL;
	for (size_t i = 0; i < idx->n; i++)
		if (strcmp(idx->e[i].serial, norm) == 0)
			return &idx->e[i];
	return NULL;
}

int
cs_index_add(struct cs_index *idx, X509 *x, struct cs_error *err)
{
	struct cs_index_entry e = { .status = 'V' };
	const ASN1_TIME *na = X509_get0_notAfter(x);
	struct parser p = { .file = "index", .err = err };
	char *subject;

	if (cs_serial_hex(X509_get0_serialNumber(x), e.serial, sizeof(e.serial)) == -1 ||
	    na->length <= 0 || (size_t)na->length >= sizeof(e.expiry)) {
		cs_error_set(err, "index: the certificate's serial or expiry cannot be recorded");
		return -1;
	}
	memcpy(e.expiry, na->data, (size_t)na->length);
	if (grow(idx, &p) == -1)
		return -1;
	/* X509_NAME_oneline escapes control and non-ASCII bytes (\xHH): one line */
	subject = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	e.file = strdup(INDEX_FILE_FIELD);
	e.subject = subject != NULL ? strdup(subject) : NULL;
	OPENSSL_free(subject);
	if (e.file == NULL || e.subject == NULL) {
		free(e.file);
		free(e.subject);
		cs_error_set(err, "index: out of memory");
		return -1;
	}
	idx->e[idx->n++] = e;
	return 0;
}

void
cs_index_free(struct cs_index *idx)
{
	for (size_t i = 0; i < idx->n; i++) {
		free(idx->e[i].file);
		free(idx->e[i].subject);
	}
	free(idx->e);
	memset(idx, 0, sizeof(*idx));
}
