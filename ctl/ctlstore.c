/* ctlstore.c: the store verbs as requests and responses (ctl/ctlstore.h).
 * Compiled into certwrapctl and certwrapd alike. A request is outside
 * input when it came over the socket, so every field is checked here before
 * the library sees it: known names only, single fields once, text without
 * control characters, bounded lengths and numbers. The rules of the store
 * itself stay in the library; this file only translates. */
#include "ctl/ctlstore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS_PER_DAY   86400L
#define MESSAGE_MAX       1024
#define NUMBER_DIGITS_MAX 10

/* One request being executed. Warnings and header fields are collected in
 * head and records in body, so that the response has them in the order the
 * protocol promises whatever order they were found in. */
struct exec {
	const struct ctlstore_env *env;
	const struct ctl_msg *req;
	const char *verb;
	struct ctl_msg head, body;
	bool failed, oom;
	char message[MESSAGE_MAX];
};

struct verb_def {
	const char *name;
	const char *const *fields;          /* what it takes; "dns*" may repeat */
	void (*run)(struct exec *x);
};

/* --- the response --------------------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
fail(struct exec *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;                         /* the first reason is the one to give */
	x->failed = true;
	va_start(ap, fmt);
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
say(struct exec *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;                         /* a failure's reason is not overwritten */
	va_start(ap, fmt);
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
putf(struct exec *x, struct ctl_msg *m, const char *name, const char *fmt, ...)
{
	char *text;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		x->oom = true;
		return;
	}
	if (ctl_msg_add(m, name, text, (size_t)n) == -1)
		x->oom = true;
	free(text);
}

static void
put(struct exec *x, const char *name, const char *value)
{
	if (ctl_msg_add_str(&x->body, name, value) == -1)
		x->oom = true;
}

static void
put_time(struct exec *x, const char *name, time_t t)
{
	char buf[CTLSTORE_TIME_MAX];

	ctlstore_time_format(t, buf, sizeof(buf));
	put(x, name, buf);
}

static void
record_begin(struct exec *x, const char *kind)
{
	put(x, "record", kind);
}

static void
record_end(struct exec *x)
{
	if (ctl_msg_end_record(&x->body) == -1)
		x->oom = true;
}

static void
put_warnings(struct exec *x, const struct cs_warnings *w)
{
	for (unsigned i = 0; i < w->count && i < CS_MAX_WARNINGS; i++)
		putf(x, &x->head, "warning", "%s", w->msg[i]);
}

/* status, message, head, body: the whole response. */
static void
finish(struct exec *x, struct ctl_msg *resp)
{
	if (!x->oom) {
		if (ctl_msg_add_str(resp, "status", x->failed ? "error" : "ok") == -1 ||
		    ctl_msg_add_str(resp, "message", x->message) == -1)
			x->oom = true;
		for (size_t i = 0; !x->oom && i < x->head.n + x->body.n; i++) {
			const struct ctl_field *f = i < x->head.n ? &x->head.fields[i] :
			    &x->body.fields[i - x->head.n];

			if (ctl_msg_add(resp, f->name, f->value, f->len) == -1)
				x->oom = true;
		}
	}
	if (x->oom)
		ctl_msg_error(resp, "%s: out of memory", x->verb);
	ctl_msg_free(&x->head);
	ctl_msg_free(&x->body);
}

/* --- reading the request ------------------------------------------------------------------- */

static bool
field_allowed(const struct verb_def *d, const char *name, bool *repeats)
{
	for (size_t i = 0; d->fields[i] != NULL; i++) {
		size_t n = strlen(d->fields[i]);
		bool star = n > 0 && d->fields[i][n - 1] == '*';

		if (strncmp(d->fields[i], name, star ? n - 1 : n) == 0 &&
		    name[star ? n - 1 : n] == '\0') {
			*repeats = star;
			return true;
		}
	}
	return false;
}

/* Every field after `verb` is one the verb takes, and a single one once. */
static int
check_fields(struct exec *x, const struct verb_def *d)
{
	for (size_t i = 1; i < x->req->n; i++) {
		const char *name = x->req->fields[i].name;
		bool repeats = false;

		if (!field_allowed(d, name, &repeats)) {
			fail(x, "%s: the request has a field \"%s\" this verb does not take (use the "
			    "certwrapctl of the same release as certwrapd)", x->verb, name);
			return -1;
		}
		if (!repeats && ctl_msg_find(x->req, name, &(size_t){ i + 1 }) != NULL) {
			fail(x, "%s: the request has the field \"%s\" twice", x->verb, name);
			return -1;
		}
	}
	return 0;
}

/* The value of name, checked as text: no NUL or control bytes (newlines
 * allowed when multiline, for PEM), at most max bytes. *out NULL when the
 * field is absent. */
static int
get_value(struct exec *x, const char *name, size_t max, bool multiline, const char **out,
    size_t *len)
{
	const struct ctl_field *f = ctl_msg_find(x->req, name, NULL);

	*out = NULL;
	if (f == NULL)
		return 0;
	if (f->len > max) {
		fail(x, "%s: the field \"%s\" is longer than %zu bytes", x->verb, name, max);
		return -1;
	}
	for (size_t i = 0; i < f->len; i++) {
		unsigned char ch = (unsigned char)f->value[i];

		if ((ch < 0x20 || ch == 0x7f) &&
		    !(multiline && (ch == '\n' || ch == '\r' || ch == '\t'))) {
			fail(x, "%s: the field \"%s\" has a control character (0x%02x)", x->verb,
			    name, ch);
			return -1;
		}
	}
	*out = f->value;
	if (len != NULL)
		*len = f->len;
	return 0;
}

static int
get_text(struct exec *x, const char *name, size_t max, const char **out)
{
	return get_value(x, name, max, false, out, NULL);
}

static int
need_text(struct exec *x, const char *name, size_t max, const char **out)
{
	if (get_text(x, name, max, out) == -1)
		return -1;
	if (*out == NULL || (*out)[0] == '\0') {
		fail(x, "%s: the request has no \"%s\"", x->verb, name);
		return -1;
	}
	return 0;
}

/* A decimal number from min to max; *out keeps its value when absent. */
static int
get_number(struct exec *x, const char *name, unsigned long min, unsigned long max,
    unsigned long *out)
{
	const char *v;
	unsigned long n = 0;
	size_t i;

	if (get_text(x, name, NUMBER_DIGITS_MAX + 1, &v) == -1)
		return -1;
	if (v == NULL)
		return 0;
	for (i = 0; v[i] >= '0' && v[i] <= '9' && i < NUMBER_DIGITS_MAX; i++)
		n = n * 10 + (unsigned long)(v[i] - '0');
	if (i == 0 || v[i] != '\0' || (i > 1 && v[0] == '0') || n < min || n > max) {
		fail(x, "%s: the field \"%s\" is \"%.16s\", not a number from %lu to %lu", x->verb,
		    name, v, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

static int
get_unsigned(struct exec *x, const char *name, unsigned min, unsigned max, unsigned *out)
{
	unsigned long n = *out;

	if (get_number(x, name, min, max, &n) == -1)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* "yes" or "no"; false when absent. */
static int
get_bool(struct exec *x, const char *name, bool *out)
{
	const char *v;

	*out = false;
	if (get_text(x, name, 16, &v) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
		fail(x, "%s: the field \"%s\" is \"%s\", not yes or no", x->verb, name, v);
		return -1;
	}
	*out = strcmp(v, "yes") == 0;
	return 0;
}

/* Every value of a repeated field, at most max_n, each at most max_len. */
static int
get_list(struct exec *x, const char *name, size_t max_n, size_t max_len, const char **v,
    size_t *n)
{
	size_t from = 0;
	const struct ctl_field *f;

	*n = 0;
	while ((f = ctl_msg_find(x->req, name, &from)) != NULL) {
		if (*n == max_n) {
			fail(x, "%s: more than %zu \"%s\" fields", x->verb, max_n, name);
			return -1;
		}
		if (f->len > max_len || strlen(f->value) != f->len || f->len == 0) {
			fail(x, "%s: a \"%s\" field is empty, longer than %zu bytes or not text",
			    x->verb, name, max_len);
			return -1;
		}
		for (size_t i = 0; i < f->len; i++) {
			if ((unsigned char)f->value[i] < 0x20 || f->value[i] == 0x7f) {
				fail(x, "%s: a \"%s\" field has a control character", x->verb, name);
				return -1;
			}
		}
		v[(*n)++] = f->value;
	}
	return 0;
}

static int
get_passphrase(struct exec *x, const char **out)
{
	if (get_text(x, "passphrase", CTLSTORE_PASSPHRASE_MAX, out) == -1)
		return -1;
	if (*out != NULL && (*out)[0] == '\0') {
		fail(x, "%s: the passphrase is empty", x->verb);
		return -1;
	}
	return 0;
}

static int
get_key_type(struct exec *x, enum cs_key_type *type)
{
	const char *v;
	struct cs_error err;

	*type = CS_KEY_DEFAULT;
	if (get_text(x, "key_type", 32, &v) == -1)
		return -1;
	if (v != NULL && cs_key_type_parse(v, type, &err) == -1) {
		fail(x, "%s: key_type: %s", x->verb, err.msg);
		return -1;
	}
	return 0;
}

/* --- records ----------------------------------------------------------------------------- */

static void
put_change(struct exec *x, const struct cs_change *ch)
{
	struct ctlstore_changes *c = x->env->changes;

	record_begin(x, "change");
	put(x, "event", cs_event_name(ch->event));
	put(x, "name", ch->name);
	putf(x, &x->body, "version", "%u", ch->version);
	putf(x, &x->body, "previous", "%u", ch->previous);
	put(x, "serial", ch->serial);
	put_time(x, "not_after", ch->not_after);
	putf(x, &x->body, "days_left", "%ld", cs_days_until(ch->not_after, x->env->now));
	put(x, "dir", ch->paths.dir);
	put(x, "file.key", ch->paths.key);
	put(x, "file.cert", ch->paths.cert);
	put(x, "file.chain", ch->paths.chain);
	put(x, "file.fullchain", ch->paths.fullchain);
	record_end(x);
	if (c == NULL)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		struct cs_change *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL) {
			x->oom = true;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *ch;
}

static void
put_cert(struct exec *x, const struct cs_cert_info *i, const struct cs_paths *p)
{
	record_begin(x, "certificate");
	put(x, "name", i->name);
	putf(x, &x->body, "version", "%u", i->version);
	put(x, "current", i->current ? "yes" : "no");
	putf(x, &x->body, "versions", "%u", i->n_versions);
	put(x, "serial", i->serial);
	put(x, "subject", i->subject);
	put(x, "issuer", i->issuer);
	put(x, "subject_openssl", i->subject_openssl);
	put(x, "issuer_openssl", i->issuer_openssl);
	put_time(x, "not_before", i->not_before);
	put_time(x, "not_after", i->not_after);
	putf(x, &x->body, "days_left", "%ld", i->days_left);
	put_time(x, "renew_at", i->renew_at);
	put(x, "fingerprint_sha256", i->fingerprint);
	put(x, "key", i->key);
	for (size_t k = 0; k < i->n_sans; k++)
		put(x, "san", i->sans[k]);
	put(x, "client", i->client ? "yes" : "no");
	put(x, "status", cs_status_name(i->status));
	if (i->problem[0] != '\0')
		put(x, "problem", i->problem);
	for (size_t k = 0; k < i->n_chain; k++) {
		put(x, "chain.subject", i->chain[k].subject);
		put(x, "chain.issuer", i->chain[k].issuer);
		put_time(x, "chain.not_after", i->chain[k].not_after);
	}
	if (p != NULL) {
		put(x, "dir", p->dir);
		put(x, "file.key", p->key);
		put(x, "file.cert", p->cert);
		put(x, "file.chain", p->chain);
		put(x, "file.fullchain", p->fullchain);
		put(x, "file.csr", p->csr);
	}
	record_end(x);
}

static void
put_failed(struct exec *x, const char *name, const char *error)
{
	record_begin(x, "failed");
	put(x, "name", name);
	put(x, "error", error);
	record_end(x);
}

/* The CRL's record; its PEM too when with_pem. */
static void
put_crl(struct exec *x, const struct cs_crl_info *c, bool made, bool with_pem)
{
	struct cs_error err;
	size_t len;
	char *pem;

	record_begin(x, "crl");
	put(x, "made", made ? "yes" : "no");
	put(x, "file.crl", c->path);
	put(x, "crl_number", c->number);
	put_time(x, "last_update", c->last_update);
	put_time(x, "next_update", c->next_update);
	put_time(x, "due_at", c->due_at);
	putf(x, &x->body, "revoked", "%zu", c->n_revoked);
	if (with_pem && c->exists) {
		if ((pem = cs_pem_read_file(c->path, &len, &err)) == NULL) {
			fail(x, "%s", err.msg);
		} else {
			if (ctl_msg_add(&x->body, "crl_pem", pem, len) == -1)
				x->oom = true;
			cs_pem_buf_free(pem, len);
		}
	}
	record_end(x);
}

/* --- issue, renew, rollback ------------------------------------------------------------------ */

static const char *const issue_fields[] = { "name", "dns*", "ip*", "days", "lifetime",
	"key_type", "client", "passphrase", NULL };

static void
verb_issue(struct exec *x)
{
	struct cs_issue_params p = { .now = x->env->now };
	const char *dns[CS_MAX_SANS], *ip[CS_MAX_SANS];
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err;

	if (need_text(x, "name", CS_NAME_MAX, &p.name) == -1 ||
	    get_list(x, "dns", CS_MAX_SANS, CS_DNS_MAX, dns, &p.n_dns) == -1 ||
	    get_list(x, "ip", CS_MAX_SANS, 64, ip, &p.n_ip) == -1 ||
	    get_unsigned(x, "days", 1, CS_MAX_DAYS, &p.days) == -1 ||
	    get_unsigned(x, "lifetime", CS_MIN_LIFETIME_S, CS_MAX_LIFETIME_S, &p.lifetime_s) == -1 ||
	    get_key_type(x, &p.key_type) == -1 || get_bool(x, "client", &p.client) == -1 ||
	    get_passphrase(x, &p.passphrase) == -1)
		return;
	if (p.days != 0 && p.lifetime_s != 0) {
		fail(x, "issue: give days or lifetime, not both");
		return;
	}
	p.dns = dns;
	p.ip = ip;
	if (certstore_issue(x->env->cs, &p, &ch, &w, &err) == -1) {
		put_warnings(x, &w);
		fail(x, "%s", err.msg);
		return;
	}
	put_warnings(x, &w);
	say(x, "%s: issued: version %u is current, serial %s", ch.name, ch.version, ch.serial);
	put_change(x, &ch);
}

static const char *const renew_fields[] = { "name", "all", "reuse_key", "before", "days",
	"key_type", "passphrase", NULL };

/* One name: renewed, not due, or failed (a record when several are asked,
 * the response's error when one was). */
static bool
renew_one(struct exec *x, const char *name, const struct cs_renew_params *base,
    long before_s, bool check_due, bool several)
{
	struct cs_renew_params p = *base;
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err;
	time_t due_at;
	bool due;

	p.name = name;
	if (check_due) {
		if (certstore_renew_due(x->env->cs, name, before_s, x->env->now, &due, &due_at,
		    &err) == -1)
			goto failed;
		if (!due) {
			record_begin(x, "not-due");
			put(x, "name", name);
			put_time(x, "due_at", due_at);
			record_end(x);
			return true;
		}
	}
	if (certstore_renew(x->env->cs, &p, &ch, &w, &err) == -1) {
		put_warnings(x, &w);
		goto failed;
	}
	put_warnings(x, &w);
	put_change(x, &ch);
	return true;
failed:
	if (several)
		put_failed(x, name, err.msg);
	else
		fail(x, "%s", err.msg);
	return false;
}

/* A name from an outside CA is renewed there: said, not failed. */
static void
renew_outside(struct exec *x, const char *name)
{
	struct cs_cert_info i;
	struct cs_error err;

	record_begin(x, "outside");
	put(x, "name", name);
	if (certstore_info(x->env->cs, name, 0, x->env->now, &i, &err) == 0) {
		put(x, "issuer", i.issuer);
		put_time(x, "not_after", i.not_after);
		putf(x, &x->body, "days_left", "%ld", i.days_left);
		put_time(x, "due_at", i.renew_at);
		cs_cert_info_clear(&i);
	}
	record_end(x);
}

/* The CRL is due again at two thirds of its validity: renew --all, run
 * daily, makes it then. -1 when it was due and could not be made. */
static int
renew_crl(struct exec *x, const char *passphrase)
{
	struct cs_crl_info c;
	struct cs_error err;

	if (certstore_crl_info(x->env->cs, x->env->now, &c, &err) == 0 && !c.due)
		return 0;
	if (certstore_crl(x->env->cs, passphrase, x->env->now, &c, &err) == -1) {
		put_failed(x, "crl", err.msg);
		return -1;
	}
	put_crl(x, &c, true, false);
	return 0;
}

static void
verb_renew(struct exec *x)
{
	struct cs_renew_params p = { .now = x->env->now };
	unsigned long before_s = 0;
	const char *name;
	char **names;
	struct cs_error err;
	unsigned failed = 0, n = 0;
	bool all;

	if (get_text(x, "name", CS_NAME_MAX, &name) == -1 || get_bool(x, "all", &all) == -1 ||
	    get_bool(x, "reuse_key", &p.reuse_key) == -1 ||
	    get_number(x, "before", 1, (unsigned long)CS_MAX_DAYS * SECONDS_PER_DAY,
	    &before_s) == -1 ||
	    get_unsigned(x, "days", 1, CS_MAX_DAYS, &p.days) == -1 ||
	    get_key_type(x, &p.key_type) == -1 || get_passphrase(x, &p.passphrase) == -1)
		return;
	if (all == (name != NULL)) {
		fail(x, "renew: give either a name or all=yes");
		return;
	}
	/* a name is renewed when asked, unless `before` makes it conditional */
	if (!all) {
		if (renew_one(x, name, &p, (long)before_s, before_s > 0, false))
			say(x, "%s: done", name);
		return;
	}
	if (certstore_names(x->env->cs, &names, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	for (char **nm = names; *nm != NULL; nm++, n++) {
		if (certstore_is_imported(x->env->cs, *nm))
			renew_outside(x, *nm);
		else if (!renew_one(x, *nm, &p, (long)before_s, true, true))
			failed++;
	}
	cs_strv_free(names);
	failed += renew_crl(x, p.passphrase) == -1;
	if (failed > 0)
		fail(x, "renew --all: %u of %u failed (see above)", failed, n);
	else
		say(x, "renew --all: %u certificate%s looked at", n, n == 1 ? "" : "s");
}

static const char *const rollback_fields[] = { "name", NULL };

static void
verb_rollback(struct exec *x)
{
	const char *name;
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err;

	if (need_text(x, "name", CS_NAME_MAX, &name) == -1)
		return;
	if (certstore_rollback(x->env->cs, name, x->env->now, &ch, &w, &err) == -1) {
		put_warnings(x, &w);
		fail(x, "%s", err.msg);
		return;
	}
	put_warnings(x, &w);
	say(x, "%s: rolled back: version %u is current (was %u)", ch.name, ch.version, ch.previous);
	put_change(x, &ch);
}

/* --- list and show ---------------------------------------------------------------------- */

static const char *const list_fields[] = { NULL };

static void
verb_list(struct exec *x)
{
	struct certstore *cs = x->env->cs;
	struct cs_cert_info i;
	struct cs_paths p;
	struct cs_error err;
	char **names;
	unsigned n = 0, bad = 0;

	if (certstore_names(cs, &names, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	for (char **name = names; *name != NULL; name++, n++) {
		if (certstore_info(cs, *name, 0, x->env->now, &i, &err) == -1) {
			put_failed(x, *name, err.msg);
			bad++;
			continue;
		}
		put_cert(x, &i, certstore_paths(cs, *name, i.version, &p, NULL) == 0 ? &p : NULL);
		cs_cert_info_clear(&i);
	}
	cs_strv_free(names);
	if (bad > 0)
		fail(x, "list: %u of %u certificates could not be read (see above)", bad, n);
	else if (n == 0)
		say(x, "%s: no certificates yet (certwrapctl issue NAME --dns HOST)",
		    certstore_dir(cs));
	else
		say(x, "%u certificate%s", n, n == 1 ? "" : "s");
}

static const char *const show_fields[] = { "name", "version", NULL };

static void
verb_show(struct exec *x)
{
	struct certstore *cs = x->env->cs;
	struct cs_cert_info i;
	struct cs_paths p;
	struct cs_error err;
	const char *name;
	unsigned version = 0;

	if (need_text(x, "name", CS_NAME_MAX, &name) == -1 ||
	    get_unsigned(x, "version", 0, CS_MAX_VERSION, &version) == -1)
		return;
	if (certstore_info(cs, name, version, x->env->now, &i, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	if (certstore_paths(cs, name, i.version, &p, &err) == -1)
		fail(x, "%s", err.msg);
	else
		put_cert(x, &i, &p);
	say(x, "%s@%u: %s", i.name, i.version, cs_status_name(i.status));
	cs_cert_info_clear(&i);
}

/* --- requests for outside CAs, their answers, and signing ------------------------------------ */

static int
get_pem(struct exec *x, const char *name, const char **out, size_t *len)
{
	return get_value(x, name, CS_PEM_MAX_BYTES, true, out, len);
}

/* A PEM field and its optional *_name label (the file it came from). */
static int
get_pem_labelled(struct exec *x, const char *name, const char *label_field, const char *def,
    const char **pem, size_t *len, const char **label)
{
	if (get_pem(x, name, pem, len) == -1 ||
	    get_text(x, label_field, CTLSTORE_LABEL_MAX, label) == -1)
		return -1;
	if (*label == NULL || (*label)[0] == '\0')
		*label = def;
	return 0;
}

static const char *const csr_fields[] = { "name", "dns*", "ip*", "subject", "key_type",
	"replace", NULL };

static void
verb_csr(struct exec *x)
{
	struct cs_csr_params p = { .now = x->env->now };
	const char *dns[CS_MAX_SANS], *ip[CS_MAX_SANS];
	struct cs_request r;
	struct cs_error err;

	if (need_text(x, "name", CS_NAME_MAX, &p.name) == -1 ||
	    get_list(x, "dns", CS_MAX_SANS, CS_DNS_MAX, dns, &p.n_dns) == -1 ||
	    get_list(x, "ip", CS_MAX_SANS, 64, ip, &p.n_ip) == -1 ||
	    get_text(x, "subject", CS_TEXT_MAX, &p.subject) == -1 ||
	    get_key_type(x, &p.key_type) == -1 || get_bool(x, "replace", &p.replace) == -1)
		return;
	p.dns = dns;
	p.ip = ip;
	if (certstore_csr(x->env->cs, &p, &r, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	say(x, "%s: a new key and request for %s are waiting for the CA's certificate", p.name,
	    r.subject);
	record_begin(x, "request");
	put(x, "name", p.name);
	put(x, "subject", r.subject);
	put(x, "dir", r.dir);
	put(x, "file.key", r.key);
	put(x, "file.csr", r.csr);
	if (ctl_msg_add(&x->body, "csr", r.csr_pem, r.csr_len) == -1)
		x->oom = true;
	record_end(x);
	cs_request_clear(&r);
}

static const char *const import_fields[] = { "name", "cert", "cert_name", "chain", "chain_name",
	"key", "key_name", "ca", "ca_name", NULL };

static void
verb_import(struct exec *x)
{
	struct cs_import_params p = { .now = x->env->now };
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err;

	if (need_text(x, "name", CS_NAME_MAX, &p.name) == -1 ||
	    get_pem_labelled(x, "cert", "cert_name", "the certificate", &p.cert_pem, &p.cert_len,
	    &p.cert_label) == -1 ||
	    get_pem_labelled(x, "chain", "chain_name", "the chain", &p.chain_pem, &p.chain_len,
	    &p.chain_label) == -1 ||
	    get_pem_labelled(x, "key", "key_name", "the key", &p.key_pem, &p.key_len,
	    &p.key_label) == -1 ||
	    get_pem_labelled(x, "ca", "ca_name", "the CA file", &p.ca_pem, &p.ca_len,
	    &p.ca_label) == -1)
		return;
	if (p.cert_pem == NULL) {
		fail(x, "import: the request has no \"cert\"");
		return;
	}
	if (certstore_import(x->env->cs, &p, &ch, &w, &err) == -1) {
		put_warnings(x, &w);
		fail(x, "%s", err.msg);
		return;
	}
	put_warnings(x, &w);
	say(x, "%s: imported: version %u is current, serial %s", ch.name, ch.version, ch.serial);
	put_change(x, &ch);
}

static const char *const sign_fields[] = { "csr", "csr_name", "days", "client", "passphrase",
	NULL };

static void
verb_sign(struct exec *x)
{
	struct cs_sign_params p = { .now = x->env->now };
	struct cs_signed out;
	struct cs_warnings w = { 0 };
	struct cs_error err;

	if (get_pem_labelled(x, "csr", "csr_name", "the request", &p.csr_pem, &p.csr_len,
	    &p.csr_label) == -1 || get_unsigned(x, "days", 1, CS_MAX_DAYS, &p.days) == -1 ||
	    get_bool(x, "client", &p.client) == -1 || get_passphrase(x, &p.passphrase) == -1)
		return;
	if (p.csr_pem == NULL) {
		fail(x, "sign: the request has no \"csr\"");
		return;
	}
	if (certstore_sign(x->env->cs, &p, &out, &w, &err) == -1) {
		put_warnings(x, &w);
		fail(x, "%s", err.msg);
		return;
	}
	put_warnings(x, &w);
	say(x, "signed: serial %s, %s", out.serial, out.subject);
	record_begin(x, "signed");
	put(x, "serial", out.serial);
	put(x, "subject", out.subject);
	put_time(x, "not_after", out.not_after);
	putf(x, &x->body, "days_left", "%ld", cs_days_until(out.not_after, x->env->now));
	put(x, "file.newcert", out.newcert);
	if (ctl_msg_add(&x->body, "cert", out.cert_pem, out.cert_len) == -1 ||
	    ctl_msg_add(&x->body, "chain", out.chain_pem, out.chain_len) == -1)
		x->oom = true;
	record_end(x);
	cs_signed_clear(&out);
}

/* --- revocation and the CRL ------------------------------------------------------------------ */

static const char *const revoke_fields[] = { "name", "serial", "target", "reason",
	"passphrase", NULL };

static void
verb_revoke(struct exec *x)
{
	struct cs_revoke_params p = { .now = x->env->now };
	struct cs_revocation r;
	struct cs_crl_info crl;
	struct cs_error err;
	const char *target;
	unsigned cur;

	if (get_text(x, "name", CS_NAME_MAX, &p.name) == -1 ||
	    get_text(x, "serial", CS_SERIAL_HEX_MAX, &p.serial) == -1 ||
	    get_text(x, "target", CS_SERIAL_HEX_MAX, &target) == -1 ||
	    get_text(x, "reason", 32, &p.reason) == -1 || get_passphrase(x, &p.passphrase) == -1)
		return;
	if ((p.name != NULL) + (p.serial != NULL) + (target != NULL) != 1) {
		fail(x, "revoke: give one of name, serial or target");
		return;
	}
	/* target: a name that has a current version, else a serial */
	if (target != NULL && certstore_current(x->env->cs, target, &cur, NULL) == 0)
		p.name = target;
	else if (target != NULL)
		p.serial = target;
	if (certstore_revoke(x->env->cs, &p, &r, &crl, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	say(x, "revoked: serial %s (%s)%s%s", r.serial, r.subject, r.reason[0] ? ", " : "",
	    r.reason);
	record_begin(x, "revoked");
	if (p.name != NULL)
		put(x, "name", p.name);
	put(x, "serial", r.serial);
	put(x, "subject", r.subject);
	put(x, "reason", r.reason);
	put_time(x, "revoked_at", r.when);
	record_end(x);
	put_crl(x, &crl, true, false);
}

static const char *const crl_fields[] = { "if_due", "passphrase", NULL };

static void
verb_crl(struct exec *x)
{
	struct cs_crl_info c;
	struct cs_error err;
	char when[CTLSTORE_TIME_MAX];
	const char *pass;
	bool if_due;

	if (get_bool(x, "if_due", &if_due) == -1 || get_passphrase(x, &pass) == -1)
		return;
	/* if_due (for cron): only a CRL that is due, or one that revocations
	 * need; a CRL that cannot be read is made again */
	if (if_due && certstore_crl_info(x->env->cs, x->env->now, &c, &err) == 0 && !c.due) {
		ctlstore_time_format(c.due_at, when, sizeof(when));
		if (c.exists)
			say(x, "crl: not due until %s", when);
		else
			say(x, "crl: none needed yet: nothing is revoked");
		put_crl(x, &c, false, c.exists);
		return;
	}
	if (certstore_crl(x->env->cs, pass, x->env->now, &c, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	ctlstore_time_format(c.next_update, when, sizeof(when));
	say(x, "crl: made number %s, %zu revoked, next update %s", c.number, c.n_revoked, when);
	put_crl(x, &c, true, true);
}

/* --- check, for monitoring ----------------------------------------------------------------- */

#define CHECK_WARN_DEFAULT_S  (30 * SECONDS_PER_DAY)
#define CHECK_CRIT_DEFAULT_S  (7 * SECONDS_PER_DAY)

static const char *const check_verb_fields[] = { "warn", "crit", NULL };

/* The Nagios line: "CERTWRAP STATE - what happened | perfdata". */
static void
check_summary(struct exec *x, const struct cs_check *c, char *buf, size_t len)
{
	unsigned crit = 0, warn = 0;
	size_t used;
	char when[CTLSTORE_TIME_MAX];

	for (size_t i = 0; i < c->n_items; i++) {
		crit += c->items[i].state == CS_CHECK_CRITICAL;
		warn += c->items[i].state == CS_CHECK_WARNING;
	}
	used = (size_t)snprintf(buf, len, "CERTWRAP %s - ", cs_check_state_name(c->state));
	for (size_t i = 0; i < c->n_items && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s: %s", i ? "; " : "",
		    c->items[i].what, c->items[i].problem);
	if (c->n_items == 0 && c->next_name[0] != '\0' && used < len) {
		ctlstore_time_format(c->next_expiry, when, sizeof(when));
		used += (size_t)snprintf(buf + used, len - used, "%u certificate%s, CA and CRL "
		    "fine; next to expire: %s in %ld days (%.10s)", c->n_certs, c->n_certs == 1 ?
		    "" : "s", c->next_name, cs_days_until(c->next_expiry, x->env->now), when);
	} else if (c->n_items == 0 && used < len) {
		used += (size_t)snprintf(buf + used, len - used, "no certificates yet; CA fine");
	}
	if (used < len)
		snprintf(buf + used, len - used, " | certificates=%u critical=%u warning=%u",
		    c->n_certs, crit, warn);
}

static void
verb_check(struct exec *x)
{
	unsigned long warn_s = CHECK_WARN_DEFAULT_S, crit_s = CHECK_CRIT_DEFAULT_S;
	const unsigned long max = (unsigned long)CS_MAX_DAYS * SECONDS_PER_DAY;
	struct cs_check c;
	struct cs_error err;
	char line[MESSAGE_MAX];

	if (get_number(x, "warn", 0, max, &warn_s) == -1 ||
	    get_number(x, "crit", 0, max, &crit_s) == -1)
		return;
	if (crit_s > warn_s) {
		fail(x, "check: crit (%lu s) is longer than warn (%lu s): critical comes after "
		    "warning", crit_s, warn_s);
		return;
	}
	if (certstore_check(x->env->cs, (long)warn_s, (long)crit_s, x->env->now, &c, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	check_summary(x, &c, line, sizeof(line));
	say(x, "%s", line);
	putf(x, &x->head, "exit", "%d", (int)c.state);
	putf(x, &x->head, "state", "%s", cs_check_state_name(c.state));
	for (size_t i = 0; i < c.n_items; i++) {
		record_begin(x, "problem");
		put(x, "what", c.items[i].what);
		put(x, "state", cs_check_state_name(c.items[i].state));
		put(x, "problem", c.items[i].problem);
		record_end(x);
	}
	cs_check_clear(&c);
}

/* --- exports ---------------------------------------------------------------------------------- */

static void
put_files(struct exec *x, const struct cs_export *e)
{
	putf(x, &x->head, "hint", "%s", e->hint);
	putf(x, &x->head, "kept", "%s", e->kept);
	for (size_t i = 0; i < e->n; i++) {
		record_begin(x, "file");
		put(x, "name", e->files[i].name);
		putf(x, &x->body, "mode", "%04o", e->files[i].mode);
		put(x, "hashed", e->files[i].hashed ? "yes" : "no");
		if (ctl_msg_add(&x->body, "data", e->files[i].data, e->files[i].len) == -1)
			x->oom = true;
		record_end(x);
	}
}

static const char *const export_fields[] = { "name", "version", "format", "passphrase", NULL };

static void
verb_export(struct exec *x)
{
	const char *name, *format, *pass;
	enum cs_export_format f;
	unsigned version = 0;
	struct cs_export e;
	struct cs_error err;

	if (need_text(x, "name", CS_NAME_MAX, &name) == -1 ||
	    get_unsigned(x, "version", 0, CS_MAX_VERSION, &version) == -1 ||
	    need_text(x, "format", 32, &format) == -1 || get_passphrase(x, &pass) == -1)
		return;
	if (cs_export_format_parse(format, &f, &err) == -1 ||
	    certstore_export(x->env->cs, name, version, f, pass, x->env->now, &e, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	say(x, "%s: %zu file%s for %s", name, e.n, e.n == 1 ? "" : "s", format);
	put_files(x, &e);
	cs_export_clear(&e);
}

static const char *const export_ca_fields[] = { "hashed", NULL };

static void
verb_export_ca(struct exec *x)
{
	struct cs_export e;
	struct cs_error err;
	bool hashed;

	if (get_bool(x, "hashed", &hashed) == -1)
		return;
	if (certstore_export_ca(x->env->cs, hashed, &e, &err) == -1) {
		fail(x, "%s", err.msg);
		return;
	}
	say(x, "the CA: %zu file%s%s", e.n, e.n == 1 ? "" : "s", hashed ? ", hashed" : "");
	put_files(x, &e);
	cs_export_clear(&e);
}

/* --- dispatch ---------------------------------------------------------------------------------- */

static const struct verb_def verbs[] = {
	{ "issue", issue_fields, verb_issue },
	{ "csr", csr_fields, verb_csr },
	{ "import", import_fields, verb_import },
	{ "sign", sign_fields, verb_sign },
	{ "renew", renew_fields, verb_renew },
	{ "rollback", rollback_fields, verb_rollback },
	{ "revoke", revoke_fields, verb_revoke },
	{ "crl", crl_fields, verb_crl },
	{ "list", list_fields, verb_list },
	{ "show", show_fields, verb_show },
	{ "check", check_verb_fields, verb_check },
	{ "export", export_fields, verb_export },
	{ "export-ca", export_ca_fields, verb_export_ca },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct verb_def *
find_verb(const char *name)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

bool
ctlstore_handles(const char *verb)
{
	return verb != NULL && find_verb(verb) != NULL;
}

void
ctlstore_execute(const struct ctlstore_env *env, const struct ctl_msg *req,
    struct ctl_msg *resp)
{
	struct exec x = { .env = env, .req = req, .verb = "request" };
	const struct verb_def *d = NULL;

	if (req->n == 0 || strcmp(req->fields[0].name, "verb") != 0)
		fail(&x, "the request does not start with a verb field");
	else if (strlen(req->fields[0].value) != req->fields[0].len ||
	    (d = find_verb(req->fields[0].value)) == NULL)
		fail(&x, "\"%.32s\" is not a store verb (issue, csr, import, sign, renew, "
		    "rollback, revoke, crl, list, show, check, export, export-ca)",
		    req->fields[0].value);
	else
		x.verb = d->name;
	if (d != NULL && check_fields(&x, d) == 0)
		d->run(&x);
	finish(&x, resp);
}

void
ctlstore_changes_free(struct ctlstore_changes *c)
{
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

/* --- times ------------------------------------------------------------------------------------ */

#define ISO_FORMAT "%Y-%m-%dT%H:%M:%SZ"

void
ctlstore_time_format(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, ISO_FORMAT, &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

int
ctlstore_time_parse(const char *text, time_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (text == NULL || (end = strptime(text, ISO_FORMAT, &tm)) == NULL || *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}
