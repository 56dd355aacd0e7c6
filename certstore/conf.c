/* conf.c: certstore.conf, the store's defaults. An INI file of three
 * sections, [defaults], [policy] and [hooks], read by a small parser of our
 * own: the certstore depends on OpenSSL only (DESIGN.md), and the file is
 * small. Every error carries FILE:LINE and the option; the first one is
 * reported with a count of the others, and nothing unknown is ignored.
 * Comments are whole lines starting with '#' or ';' (a hook command may
 * contain either character). Fuzzed by tests/fuzz/fuzz_storeconf.c. */
#include "certstore/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOOK_TIMEOUT_MAX_S  3600
#define SUGGEST_MAX_DIST    2

const char cs_conf_default_text[] =
    "# certstore.conf: the defaults of this certificate store; see certwrapctl(8).\n"
    "# Lines are \"name = value\"; comments are whole lines starting with # or ;.\n"
    "\n"
    "[defaults]\n"
    "# key type of issued certificates: rsa:2048, rsa:3072, rsa:4096, ec:P-256,\n"
    "# ec:P-384 or ed25519 (certwrapctl issue --key-type overrides it)\n"
    "key_type = ec:P-256\n"
    "# validity of issued certificates, in days (issue --days overrides it)\n"
    "days = 365\n"
    "# validity of certificate revocation lists (their nextUpdate), in days\n"
    "crl_days = 30\n"
    "# serial numbers: random (127 bits), or sequential from ca/serial, as\n"
    "# `openssl ca` does (what ca import sets, so that its numbering goes on)\n"
    "serials = random\n"
    "\n"
    "[policy]\n"
    "# what the subject of a certificate this CA signs must have, as openssl's\n"
    "# policy_match: match (the CA's own value), supplied (present) or optional\n"
    "countryName = optional\n"
    "stateOrProvinceName = optional\n"
    "organizationName = optional\n"
    "organizationalUnitName = optional\n"
    "commonName = supplied\n"
    "emailAddress = optional\n"
    "\n"
    "[hooks]\n"
    "# run after every change of a current version (issue, import, renew,\n"
    "# rollback) as\n"
    "# /bin/sh -c COMMAND with NAME and VERSION as $1 and $2 and CERTWRAP_*\n"
    "# variables in the environment (see certwrapctl(8)), e.g.\n"
    "#command = systemctl reload postfix dovecot\n"
    "# seconds before a hook that has not finished is killed\n"
    "timeout = 60\n";

enum section { SEC_NONE, SEC_DEFAULTS, SEC_POLICY, SEC_HOOKS };

struct parser {
	const char *file;
	unsigned line;
	enum section section;
	struct cs_conf *c;
	struct cs_error *err;
	unsigned n_errors;
	/* the line each option was set on, to refuse it twice */
	unsigned seen_defaults[4], seen_hooks[2], seen_policy[CS_POLICY_MAX];
};

static void __attribute__((format(printf, 3, 4)))
fail(struct parser *p, const char *name, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (p->n_errors++ > 0)
		return;                 /* the first is reported, the others counted */
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (name != NULL)
		cs_error_set(p->err, "%s:%u: %.64s: %s", p->file, p->line, name, why);
	else
		cs_error_set(p->err, "%s:%u: %s", p->file, p->line, why);
}

void
cs_conf_defaults(struct cs_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->key_type = CS_KEY_EC_P256;
	c->days = CS_DEFAULT_LEAF_DAYS;
	c->crl_days = CS_DEFAULT_CRL_DAYS;
	c->policy[0] = (struct cs_policy_rule){ NID_commonName, CS_POLICY_SUPPLIED };
	c->n_policy = 1;
	c->hook_timeout_s = CS_HOOK_TIMEOUT_S;
}

void
cs_conf_free(struct cs_conf *c)
{
	free(c->hook_command);
	c->hook_command = NULL;
}

/* --- values ------------------------------------------------------------------------------ */

static bool
parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Levenshtein distance, for "did you mean"; names are short. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + ((a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

static void
unknown(struct parser *p, const char *name, const char *const *known, const char *where)
{
	for (size_t i = 0; known[i] != NULL; i++) {
		if (distance(name, known[i]) <= SUGGEST_MAX_DIST) {
			fail(p, name, "unknown option in [%s] (did you mean %s?)", where, known[i]);
			return;
		}
	}
	fail(p, name, "unknown option in [%s]; see certwrapctl(8)", where);
}

static bool
first_time(struct parser *p, unsigned *seen, const char *name)
{
	if (*seen != 0) {
		fail(p, name, "set twice (also on line %u): keep one", *seen);
		return false;
	}
	*seen = p->line;
	return true;
}

/* --- the sections ----------------------------------------------------------------------- */

static void
option_defaults(struct parser *p, const char *name, const char *value)
{
	static const char *const known[] = { "key_type", "days", "crl_days", "serials", NULL };
	struct cs_error kerr;

	for (size_t i = 0; known[i] != NULL; i++) {
		if (strcmp(name, known[i]) != 0)
			continue;
		if (!first_time(p, &p->seen_defaults[i], name))
			return;
		if (i == 0 && cs_key_type_parse(value, &p->c->key_type, &kerr) == -1)
			fail(p, name, "%s", kerr.msg);
		else if (i == 1 && !parse_uint(value, 1, CS_MAX_DAYS, &p->c->days))
			fail(p, name, "expected a number of days from 1 to %d, got \"%.64s\"",
			    CS_MAX_DAYS, value);
		else if (i == 2 && !parse_uint(value, 1, CS_MAX_DAYS, &p->c->crl_days))
			fail(p, name, "expected a number of days from 1 to %d, got \"%.64s\"",
			    CS_MAX_DAYS, value);
		else if (i == 3 && strcmp(value, "random") != 0 && strcmp(value, "sequential") != 0)
			fail(p, name, "expected random or sequential, got \"%.64s\"", value);
		else if (i == 3)
			p->c->sequential_serials = strcmp(value, "sequential") == 0;
		return;
	}
	unknown(p, name, known, "defaults");
}

static void
option_hooks(struct parser *p, const char *name, const char *value)
{
	static const char *const known[] = { "command", "timeout", NULL };

	if (strcmp(name, "command") == 0) {
		if (!first_time(p, &p->seen_hooks[0], name))
			return;
		free(p->c->hook_command);
		p->c->hook_command = NULL;
		if (value[0] != '\0' && (p->c->hook_command = strdup(value)) == NULL)
			fail(p, name, "out of memory");
	} else if (strcmp(name, "timeout") == 0) {
		if (first_time(p, &p->seen_hooks[1], name) &&
		    !parse_uint(value, 1, HOOK_TIMEOUT_MAX_S, &p->c->hook_timeout_s))
			fail(p, name, "expected seconds from 1 to %d, got \"%.64s\"",
			    HOOK_TIMEOUT_MAX_S, value);
	} else {
		unknown(p, name, known, "hooks");
	}
}

static void
option_policy(struct parser *p, const char *name, const char *value)
{
	static const int attributes[] = { NID_countryName, NID_stateOrProvinceName,
		NID_localityName, NID_organizationName, NID_organizationalUnitName,
		NID_commonName, NID_pkcs9_emailAddress, NID_serialNumber, NID_streetAddress,
		NID_postalCode, NID_domainComponent, NID_givenName, NID_surname, NID_title };
	int nid = OBJ_txt2nid(name);
	enum cs_policy_mode mode;
	size_t i;

	for (i = 0; i < sizeof(attributes) / sizeof(attributes[0]); i++)
		if (attributes[i] == nid)
			break;
	if (nid == NID_undef || i == sizeof(attributes) / sizeof(attributes[0])) {
		fail(p, name, "not a subject attribute (use countryName, stateOrProvinceName, "
		    "localityName, organizationName, organizationalUnitName, commonName, "
		    "emailAddress)");
		return;
	}
	if (strcmp(value, "match") == 0)
		mode = CS_POLICY_MATCH;
	else if (strcmp(value, "supplied") == 0)
		mode = CS_POLICY_SUPPLIED;
	else if (strcmp(value, "optional") == 0)
		mode = CS_POLICY_OPTIONAL;
	else {
		fail(p, name, "expected match, supplied or optional, got \"%.64s\"", value);
		return;
	}
	for (i = 0; i < p->c->n_policy && p->c->policy[i].nid != nid; i++)
		;
	if (i == CS_POLICY_MAX) {
		fail(p, name, "more than %d policy lines", CS_POLICY_MAX);
		return;
	}
	if (!first_time(p, &p->seen_policy[i], name))
		return;
	/* a default the file sets again moves to where the file has it: the
	 * order of [policy] is the order of a signed subject, as in openssl */
	if (i < p->c->n_policy) {
		unsigned line = p->seen_policy[i];

		for (; i + 1 < p->c->n_policy; i++) {
			p->c->policy[i] = p->c->policy[i + 1];
			p->seen_policy[i] = p->seen_policy[i + 1];
		}
		p->seen_policy[i] = line;
	} else {
		p->c->n_policy++;
	}
	p->c->policy[i] = (struct cs_policy_rule){ nid, mode };
}

/* --- lines ----------------------------------------------------------------------------------- */

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static void
section_header(struct parser *p, char *s)
{
	char *close = strchr(s, ']');

	p->section = SEC_NONE;
	if (close == NULL || trim(close + 1)[0] != '\0') {
		fail(p, NULL, "a section header is [name] alone on its line");
		return;
	}
	*close = '\0';
	s = trim(s + 1);
	if (strcmp(s, "defaults") == 0)
		p->section = SEC_DEFAULTS;
	else if (strcmp(s, "policy") == 0)
		p->section = SEC_POLICY;
	else if (strcmp(s, "hooks") == 0)
		p->section = SEC_HOOKS;
	else
		fail(p, NULL, "unknown section [%.64s] (the sections are [defaults], [policy] "
		    "and [hooks])", s);
}

static void
pair(struct parser *p, char *s)
{
	char *eq = strchr(s, '='), *name, *value;

	if (eq == NULL) {
		fail(p, NULL, "expected name = value, [section] or a # comment");
		return;
	}
	*eq = '\0';
	name = trim(s);
	value = trim(eq + 1);
	if (name[0] == '\0') {
		fail(p, NULL, "no option name before '='");
		return;
	}
	switch (p->section) {
	case SEC_DEFAULTS: option_defaults(p, name, value); break;
	case SEC_POLICY: option_policy(p, name, value); break;
	case SEC_HOOKS: option_hooks(p, name, value); break;
	case SEC_NONE:
		/* after an unknown or broken header, its own error said enough */
		if (p->n_errors == 0)
			fail(p, name, "outside a section: put it under [defaults], [policy] or "
			    "[hooks]");
		break;
	}
}

static void
line(struct parser *p, const char *text, size_t len)
{
	char buf[CS_CONF_LINE_MAX + 1], *s;

	if (len > 0 && text[len - 1] == '\r')
		len--;                          /* CRLF */
	if (len > CS_CONF_LINE_MAX) {
		fail(p, NULL, "line longer than %d bytes", CS_CONF_LINE_MAX);
		return;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f) {
			fail(p, NULL, "control character 0x%02x in the line; is this a text file?",
			    (unsigned char)buf[i]);
			return;
		}
	}
	s = trim(buf);
	if (s[0] == '\0' || s[0] == '#' || s[0] == ';')
		return;
	if (s[0] == '[')
		section_header(p, s);
	else
		pair(p, s);
}

int
cs_conf_parse(const char *file, const char *text, size_t len, struct cs_conf *c,
    struct cs_error *err)
{
	struct parser p = { .file = file, .c = c, .err = err };
	const char *s = text, *end = text + len, *nl;
	char first[sizeof(err->msg)];

	cs_conf_defaults(c);
	if (len > CS_CONF_MAX_BYTES) {
		cs_error_set(err, "%s: too large (%zu bytes, at most %d)", file, len,
		    CS_CONF_MAX_BYTES);
		return -1;
	}
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		p.line++;
		line(&p, s, (size_t)((nl != NULL ? nl : end) - s));
		s = nl != NULL ? nl + 1 : end;
	}
	if (p.n_errors == 0)
		return 0;
	if (p.n_errors > 1 && err != NULL) {
		snprintf(first, sizeof(first), "%s", err->msg);
		cs_error_set(err, "%.900s (and %u more error%s)", first, p.n_errors - 1,
		    p.n_errors == 2 ? "" : "s");
	}
	cs_conf_free(c);
	cs_conf_defaults(c);
	return -1;
}

int
cs_conf_load(const char *path, struct cs_conf *c, struct cs_error *err)
{
	size_t len;
	int e;
	char *text = cs_fsio_read(path, CS_CONF_MAX_BYTES, &len, &e, err);
	int rc;

	if (text == NULL) {
		cs_conf_defaults(c);
		return e == ENOENT ? 0 : -1;
	}
	rc = cs_conf_parse(path, text, len, c, err);
	free(text);
	return rc;
}
