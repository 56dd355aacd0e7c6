/* verbs.c: certwrapctl's verbs, one table row each (name, arguments,
 * help, handlers: relayctl's token table idea). A store verb is two
 * handlers: build turns the arguments into a request (ctl/ctlstore.h) and
 * render shows the response. Between them main.c runs the request on the
 * store in-process or sends it to certwrapd, so both give the same answers;
 * every rule lives in the library. Only ca init works on a directory
 * itself, since it makes the store. */
#include "ctl/ctl.h"
#include "ctl/client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS_PER_DAY 86400L

/* --- building requests ------------------------------------------------------------------------ */

/* A request being built; one out-of-memory check at the end. */
struct reqb {
	struct ctl_msg *m;
	bool oom;
};

static void
rq(struct reqb *b, const char *name, const char *value)
{
	if (value != NULL && ctl_msg_add_str(b->m, name, value) == -1)
		b->oom = true;
}

static void __attribute__((format(printf, 3, 4)))
rqf(struct reqb *b, const char *name, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rq(b, name, buf);
}

static void
rq_list(struct reqb *b, const struct args *a, const char *opt, const char *name)
{
	size_t n;
	const char *const *v = args_list(a, opt, &n);

	for (size_t i = 0; i < n; i++)
		rq(b, name, v[i]);
}

static int
rq_done(struct ctl *c, struct reqb *b)
{
	return b->oom ? ctl_fail(c, "out of memory") : CTL_OK;
}

/* A file's whole content as a field, and its path as the field's label. */
static int
rq_file(struct ctl *c, struct reqb *b, const char *path, const char *name, const char *label)
{
	struct cs_error err;
	size_t len;
	char *text;

	if ((text = cs_pem_read_file(path, &len, &err)) == NULL)
		return ctl_fail(c, "%s", err.msg);
	if (ctl_msg_add(b->m, name, text, len) == -1)
		b->oom = true;
	cs_pem_buf_free(text, len);
	rq(b, label, path);
	return CTL_OK;
}

/* The passphrase of --passphrase-file or --passphrase-prompt, if any, as a
 * field (main.c wipes it once the request is done). */
static int
rq_passphrase(struct ctl *c, const struct args *a, bool confirm, struct reqb *b)
{
	char *pass = NULL;
	int rc = passphrase_get(c, a, confirm, &pass);

	if (rc == CTL_OK && pass != NULL)
		rq(b, "passphrase", pass);
	passphrase_free(pass);
	return rc;
}

/* "N" days, 1..CS_MAX_DAYS; 0 when absent. -1 after a usage message. */
static int
parse_days(struct ctl *c, const struct args *a, unsigned *days)
{
	const char *v = args_value(a, "--days");
	char *end;
	unsigned long n;

	*days = 0;
	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || errno != 0 || *end != '\0' || n < 1 || n > CS_MAX_DAYS) {
		ctl_usage_error(c, "--days: expected a number of days from 1 to %d, got \"%.32s\"",
		    CS_MAX_DAYS, v);
		return -1;
	}
	*days = (unsigned)n;
	return 0;
}

/* "30d", "12h", "2w", "90m", "3600s" (a bare number is days) in seconds. */
static int
parse_duration(struct ctl *c, const char *opt, const char *v, long *seconds)
{
	char *end;
	unsigned long n;
	long unit;

	errno = 0;
	n = strtoul(v, &end, 10);
	unit = *end == '\0' || strcmp(end, "d") == 0 ? SECONDS_PER_DAY : strcmp(end, "h") == 0 ?
	    3600 : strcmp(end, "w") == 0 ? 7 * SECONDS_PER_DAY : strcmp(end, "m") == 0 ? 60 :
	    strcmp(end, "s") == 0 ? 1 : 0;
	if (v[0] < '0' || v[0] > '9' || errno != 0 || unit == 0 || n < 1 ||
	    n > (unsigned long)CS_MAX_DAYS * SECONDS_PER_DAY / (unsigned long)unit) {
		ctl_usage_error(c, "%s: expected a duration such as 30d, 12h or 2w, got \"%.32s\"",
		    opt, v);
		return -1;
	}
	*seconds = (long)n * unit;
	return 0;
}

static int
parse_key_type(struct ctl *c, const struct args *a, enum cs_key_type *type)
{
	const char *v = args_value(a, "--key-type");
	struct cs_error err;

	*type = CS_KEY_DEFAULT;
	if (v != NULL && cs_key_type_parse(v, type, &err) == -1) {
		ctl_usage_error(c, "--key-type: %s", err.msg);
		return -1;
	}
	return 0;
}

/* --days and --key-type, checked here (a usage error) and sent as given. */
static int
rq_days_key_type(struct ctl *c, const struct args *a, struct reqb *b)
{
	enum cs_key_type type;
	unsigned days;

	if (parse_days(c, a, &days) == -1 || parse_key_type(c, a, &type) == -1)
		return CTL_USAGE;
	if (days != 0)
		rqf(b, "days", "%u", days);
	if (type != CS_KEY_DEFAULT)
		rq(b, "key_type", cs_key_type_name(type));
	return CTL_OK;
}

/* --lifetime: a short-lived certificate's validity, instead of --days. */
static int
rq_lifetime(struct ctl *c, const struct args *a, struct reqb *b)
{
	const char *v = args_value(a, "--lifetime");
	long seconds;

	if (v == NULL)
		return CTL_OK;
	if (args_value(a, "--days") != NULL)
		return ctl_usage_error(c, "give --days or --lifetime, not both");
	if (parse_duration(c, "--lifetime", v, &seconds) == -1)
		return CTL_USAGE;
	if (seconds < CS_MIN_LIFETIME_S)
		return ctl_usage_error(c, "--lifetime: %s is too short: a certificate lives %d "
		    "seconds at least", v, CS_MIN_LIFETIME_S);
	rqf(b, "lifetime", "%ld", seconds);
	return CTL_OK;
}

/* --- showing responses ---------------------------------------------------------------------------- */

static void
print_expiry(struct ctl *c, time_t not_after, long days)
{
	char date[32];

	out_date(not_after, date, sizeof(date));
	fprintf(c->out, "expires %s (%ld days)", date, days);
}

static const char *
done_word(const char *event)
{
	static const char *const words[][2] = { { "issue", "issued" }, { "renew", "renewed" },
		{ "rollback", "rolled back" }, { "import", "imported" } };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (event != NULL && strcmp(event, words[i][0]) == 0)
			return words[i][1];
	return event != NULL ? event : "changed";
}

static const char *
field_or(const struct out_record *r, const char *name, const char *def)
{
	const char *v = out_field(r, name);

	return v != NULL ? v : def;
}

static void
print_change(struct ctl *c, const struct out_record *r)
{
	long previous = out_field_long(r, "previous", 0);

	fprintf(c->out, "%s: %s: version %ld is current", field_or(r, "name", "?"),
	    done_word(out_field(r, "event")), out_field_long(r, "version", 0));
	if (previous != 0)
		fprintf(c->out, " (was %ld)", previous);
	fprintf(c->out, ", serial %s, ", field_or(r, "serial", "?"));
	print_expiry(c, out_field_time(r, "not_after"), out_field_long(r, "days_left", 0));
	fprintf(c->out, "\n  key        %s\n  cert       %s\n  chain      %s\n  fullchain  %s\n",
	    field_or(r, "file.key", "?"), field_or(r, "file.cert", "?"),
	    field_or(r, "file.chain", "?"), field_or(r, "file.fullchain", "?"));
}

static bool
kind_is(const struct out_record *r, const char *kind)
{
	const char *k = out_field(r, "record");

	return k != NULL && strcmp(k, kind) == 0;
}

/* A record no renderer here knows: shown as it came. */
static void
print_other(struct ctl *c, const struct out_record *r)
{
	out_record_print(r, c->out);
}

/* A failed record on stderr, as a failure of one name. */
static void
print_failed(struct ctl *c, const struct out_record *r)
{
	fprintf(c->err, "certwrapctl: %s\n", field_or(r, "error", "failed"));
}

/* The end of every render: an error response fails with its message. */
static int
finish(struct ctl *c, const struct out_response *r)
{
	return r->ok ? CTL_OK : ctl_fail(c, "%s", r->message[0] ? r->message : "failed");
}

/* A crl record: made or not, its number, revocations and dates. */
static void
print_crl(struct ctl *c, const struct out_record *rec)
{
	char next[32], due[32];
	const char *made = out_field(rec, "made");

	out_date(out_field_time(rec, "next_update"), next, sizeof(next));
	out_date(out_field_time(rec, "due_at"), due, sizeof(due));
	if (made != NULL && strcmp(made, "no") == 0 && out_field_time(rec, "next_update") == 0) {
		fprintf(c->out, "crl: none needed yet: nothing is revoked\n");
		return;
	}
	fprintf(c->out, "crl: %s number %s, %ld revoked, next update %s (made again from %s)\n"
	    "  file  %s\n", made != NULL && strcmp(made, "yes") == 0 ? "made" : "not due:",
	    field_or(rec, "crl_number", "?"), out_field_long(rec, "revoked", 0), next, due,
	    field_or(rec, "file.crl", "?"));
}

/* issue, renew, rollback (and every verb that changes a current). */
static int
render_changes(struct ctl *c, const struct args *a, const struct out_response *r)
{
	char date[32];

	out_warnings(r, c->err);
	if (c->json) {
		out_json_response(r, c->out);
		return finish(c, r);
	}
	for (size_t k = 0; k < r->n_rec; k++) {
		const struct out_record *rec = &r->rec[k];

		if (kind_is(rec, "change")) {
			print_change(c, rec);
		} else if (kind_is(rec, "not-due")) {
			out_date(out_field_time(rec, "due_at"), date, sizeof(date));
			fprintf(c->out, "%s: not due until %s\n", field_or(rec, "name", "?"), date);
		} else if (kind_is(rec, "failed")) {
			print_failed(c, rec);
		} else if (kind_is(rec, "outside")) {
			out_date(out_field_time(rec, "due_at"), date, sizeof(date));
			fprintf(c->out, "%s: from an outside CA (%s): renew it there and import it, "
			    "by %s (%ld days left)\n", field_or(rec, "name", "?"),
			    field_or(rec, "issuer", "?"), date, out_field_long(rec, "days_left", 0));
		} else if (kind_is(rec, "crl")) {
			print_crl(c, rec);
		} else {
			print_other(c, rec);
		}
	}
	return finish(c, r);
}

/* Any verb: what the response says, as it says it. */
static int
render_generic(struct ctl *c, const struct args *a, const struct out_response *r)
{
	out_warnings(r, c->err);
	if (c->json)
		out_json_response(r, c->out);
	else
		out_generic(r, c->out);
	return finish(c, r);
}

/* The verb, NAME and the --dns and --ip names a new certificate is for
 * (issue, csr): at least one. */
static int
rq_name_and_names(struct ctl *c, const struct args *a, struct reqb *b, const char *verb)
{
	size_t n_dns, n_ip;

	args_list(a, "--dns", &n_dns);
	args_list(a, "--ip", &n_ip);
	if (n_dns + n_ip == 0)
		return ctl_usage_error(c, "give at least one --dns HOST or --ip ADDR");
	rq(b, "verb", verb);
	rq(b, "name", a->pos[0]);
	rq_list(b, a, "--dns", "dns");
	rq_list(b, a, "--ip", "ip");
	return CTL_OK;
}

/* --- issue, renew, rollback ----------------------------------------------------------------------- */

static int
build_issue(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	int rc;

	if ((rc = rq_name_and_names(c, a, &b, "issue")) != CTL_OK)
		return rc;
	if (args_flag(a, "--client"))
		rq(&b, "client", "yes");
	if ((rc = rq_days_key_type(c, a, &b)) != CTL_OK ||
	    (rc = rq_lifetime(c, a, &b)) != CTL_OK ||
	    (rc = rq_passphrase(c, a, false, &b)) != CTL_OK)
		return rc;
	return rq_done(c, &b);
}

static int
build_renew(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *before = args_value(a, "--before");
	bool all = args_flag(a, "--all");
	long before_s = 0;
	int rc;

	if (all == (a->n_pos == 1))
		return ctl_usage_error(c, "give either a NAME or --all");
	rq(&b, "verb", "renew");
	rq(&b, all ? "all" : "name", all ? "yes" : a->pos[0]);
	if (args_flag(a, "--reuse-key"))
		rq(&b, "reuse_key", "yes");
	if (before != NULL) {
		if (parse_duration(c, "--before", before, &before_s) == -1)
			return CTL_USAGE;
		rqf(&b, "before", "%ld", before_s);
	}
	if ((rc = rq_days_key_type(c, a, &b)) != CTL_OK ||
	    (rc = rq_passphrase(c, a, false, &b)) != CTL_OK)
		return rc;
	return rq_done(c, &b);
}

static int
build_rollback(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };

	rq(&b, "verb", "rollback");
	rq(&b, "name", a->pos[0]);
	return rq_done(c, &b);
}

/* --- list and show --------------------------------------------------------------------------------- */

static void
join_sans(const struct cs_cert_info *i, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < i->n_sans && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? ", " : "", i->sans[k]);
}

static int
list_row(struct ctl *c, struct out_table *t, const struct cs_cert_info *i)
{
	char version[16], days[24], date[32], sans[2048];
	const char *cells[8];

	snprintf(version, sizeof(version), "%u", i->version);
	snprintf(days, sizeof(days), "%ld", i->days_left);
	out_date(i->not_after, date, sizeof(date));
	join_sans(i, sans, sizeof(sans));
	cells[0] = i->name;
	cells[1] = version;
	cells[2] = i->serial[0] ? i->serial : "-";
	cells[3] = i->not_after ? date : "-";
	cells[4] = i->not_after ? days : "-";
	cells[5] = cs_status_name(i->status);
	cells[6] = i->issuer[0] ? i->issuer : "-";
	cells[7] = sans[0] ? sans : "-";
	return out_table_row(t, cells) == 0 ? 0 : ctl_fail(c, "out of memory");
}

static int
build_list(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };

	rq(&b, "verb", "list");
	return rq_done(c, &b);
}

static int
render_list(struct ctl *c, const struct args *a, const struct out_response *r)
{
	static const char *const head[] = { "NAME", "VERSION", "SERIAL", "NOT AFTER", "DAYS",
		"STATUS", "ISSUER", "SANS" };
	struct out_table t;
	struct cs_cert_info i;
	struct cs_paths p;
	int rc = CTL_OK;
	size_t n = 0;

	out_warnings(r, c->err);
	out_table_init(&t, 8, head);
	if (c->json)
		fputs("[", c->out);
	for (size_t k = 0; k < r->n_rec; k++) {
		if (kind_is(&r->rec[k], "failed")) {
			print_failed(c, &r->rec[k]);
			continue;
		}
		if (!kind_is(&r->rec[k], "certificate"))
			continue;
		if (out_cert_info(&r->rec[k], &i, &p) == -1) {
			rc = ctl_fail(c, "out of memory");
			continue;
		}
		if (c->json) {
			fputs(n++ ? ",\n" : "\n", c->out);
			out_json_cert(c->out, &i, "  ");
		} else if (list_row(c, &t, &i) != 0) {
			rc = CTL_FAILED;
		}
		cs_cert_info_clear(&i);
	}
	if (c->json)
		fputs(n ? "\n]\n" : "]\n", c->out);
	else if (t.n_rows > 0)
		out_table_print(&t, c->out);
	else if (r->ok)
		fprintf(c->out, "%s\n", r->message);
	out_table_free(&t);
	return rc != CTL_OK ? rc : finish(c, r);
}

static int
build_show(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *v = args_value(a, "--version");
	char *end;
	unsigned long n = 0;

	if (v != NULL) {
		errno = 0;
		n = strtoul(v, &end, 10);
		if (v[0] < '1' || v[0] > '9' || errno != 0 || *end != '\0' || n > CS_MAX_VERSION)
			return ctl_usage_error(c, "--version: expected a version number, got "
			    "\"%.32s\"", v);
	}
	rq(&b, "verb", "show");
	rq(&b, "name", a->pos[0]);
	if (n != 0)
		rqf(&b, "version", "%lu", n);
	return rq_done(c, &b);
}

static void
show_text(struct ctl *c, const struct cs_cert_info *i, const struct cs_paths *p)
{
	char nb[48], na[48], ra[32], sans[2048];

	out_openssl_time(i->not_before, nb, sizeof(nb));
	out_openssl_time(i->not_after, na, sizeof(na));
	out_date(i->renew_at, ra, sizeof(ra));
	join_sans(i, sans, sizeof(sans));
	fprintf(c->out, "name=%s\nversion=%u (%s, %u version%s)\n", i->name, i->version,
	    i->current ? "current" : "not current", i->n_versions, i->n_versions == 1 ? "" : "s");
	fprintf(c->out, "subject=%s\nissuer=%s\nnotBefore=%s\nnotAfter=%s\n"
	    "sha256 Fingerprint=%s\nserial=%s\n", i->subject_openssl, i->issuer_openssl, nb, na,
	    i->fingerprint, i->serial);
	fprintf(c->out, "SANs=%s\nkey=%s\nusage=serverAuth%s\nstatus=%s", sans, i->key,
	    i->client ? ", clientAuth" : "", cs_status_name(i->status));
	if (i->status == CS_STATUS_VALID || i->status == CS_STATUS_DUE)
		fprintf(c->out, " (%ld days left, renewal due %s)", i->days_left, ra);
	fprintf(c->out, "%s%s\nchain:\n  0 s:%s\n    i:%s\n", i->problem[0] ? ": " : "",
	    i->problem, i->subject, i->issuer);
	for (size_t k = 0; k < i->n_chain; k++)
		fprintf(c->out, "  %zu s:%s\n    i:%s\n", k + 1, i->chain[k].subject,
		    i->chain[k].issuer);
	fprintf(c->out, "files:\n  key        %s\n  cert       %s\n  chain      %s\n"
	    "  fullchain  %s\n  csr        %s\n", p->key, p->cert, p->chain, p->fullchain, p->csr);
}

static int
render_show(struct ctl *c, const struct args *a, const struct out_response *r)
{
	struct cs_cert_info i;
	struct cs_paths p;

	out_warnings(r, c->err);
	for (size_t k = 0; k < r->n_rec; k++) {
		if (!kind_is(&r->rec[k], "certificate"))
			continue;
		if (out_cert_info(&r->rec[k], &i, &p) == -1)
			return ctl_fail(c, "out of memory");
		if (c->json) {
			out_json_cert(c->out, &i, "");
			fputc('\n', c->out);
		} else {
			show_text(c, &i, &p);
		}
		cs_cert_info_clear(&i);
	}
	return finish(c, r);
}

/* --- ca init: makes the store, so it works on the directory itself ---------------------------------- */

static void
print_ca(struct ctl *c, struct certstore *cs, enum cs_ca_role role, const char *label)
{
	struct cs_cert_info i;
	struct cs_error err;

	if (certstore_ca_info(cs, role, c->now, &i, &err) == -1) {
		fprintf(c->err, "certwrapctl: %s\n", err.msg);
		return;
	}
	fprintf(c->out, "  %-13s %s, %s, ", label, i.subject, i.key);
	print_expiry(c, i.not_after, cs_days_until(i.not_after, c->now));
	fputc('\n', c->out);
	cs_cert_info_clear(&i);
}

static int
run_ca_init(struct ctl *c, const struct args *a)
{
	struct cs_ca_params p = { .subject = args_value(a, "--subject"),
		.intermediate_subject = args_value(a, "--intermediate-subject"),
		.intermediate = args_flag(a, "--intermediate"), .now = c->now };
	struct certstore *cs;
	struct cs_error err;
	char *pass = NULL;
	bool encrypted;
	int rc;

	if (p.intermediate_subject != NULL && !p.intermediate)
		return ctl_usage_error(c, "--intermediate-subject needs --intermediate");
	if (parse_days(c, a, &p.days) == -1 || parse_key_type(c, a, &p.key_type) == -1)
		return CTL_USAGE;
	if ((rc = passphrase_get(c, a, true, &pass)) != CTL_OK)
		return rc;
	p.passphrase = pass;
	encrypted = pass != NULL;
	rc = certstore_ca_init(c->store_dir, &p, &err);
	passphrase_free(pass);
	if (rc == -1)
		return ctl_fail(c, "%s", err.msg);
	if ((cs = certstore_open(c->store_dir, &err)) == NULL)
		return ctl_fail(c, "%s", err.msg);
	fprintf(c->out, "%s: new CA%s\n", c->store_dir, encrypted ? " (keys encrypted)" : "");
	print_ca(c, cs, CS_CA_ROOT, "root");
	if (p.intermediate)
		print_ca(c, cs, CS_CA_SIGNING, "intermediate");
	fprintf(c->out, "  trust anchor  %s/ca/root.pem: give it to the clients\n", c->store_dir);
	certstore_close(cs);
	return CTL_OK;
}

/* --- files in responses -------------------------------------------------------------------------- */

/* One file of a response written to path (made atomically, mode). */
static int
write_one(struct ctl *c, const char *path, const char *data, size_t len, unsigned mode)
{
	const char *slash = strrchr(path, '/');
	char dir[CS_PATH_MAX];
	struct out_file f = { .name = slash != NULL ? slash + 1 : path, .mode = mode,
		.data = data, .len = len };

	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash != NULL)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	return files_write(c, dir, &f, 1, (uid_t)-1, (gid_t)-1);
}

/* The value of a field with its length (PEM may hold anything). */
static const struct ctl_field *
field_of(const struct out_record *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].name, name) == 0)
			return &r->f[i];
	return NULL;
}

static const struct out_record *
first_record(const struct out_response *r, const char *kind)
{
	for (size_t k = 0; k < r->n_rec; k++)
		if (kind_is(&r->rec[k], kind))
			return &r->rec[k];
	return NULL;
}

/* --- csr, import, sign ---------------------------------------------------------------------------- */

static int
build_csr(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	int rc;

	if ((rc = rq_name_and_names(c, a, &b, "csr")) != CTL_OK)
		return rc;
	rq(&b, "subject", args_value(a, "--subject"));
	if (args_flag(a, "--replace"))
		rq(&b, "replace", "yes");
	if ((rc = rq_days_key_type(c, a, &b)) != CTL_OK)
		return rc;
	return rq_done(c, &b);
}

static int
render_csr(struct ctl *c, const struct args *a, const struct out_response *r)
{
	const struct out_record *rec = first_record(r, "request");
	const struct ctl_field *csr = rec != NULL ? field_of(rec, "csr") : NULL;
	const char *out = args_value(a, "--out"), *name;
	FILE *say = out != NULL ? c->out : c->err;
	int rc;

	out_warnings(r, c->err);
	if (c->json || !r->ok || csr == NULL) {
		if (c->json)
			out_json_response(r, c->out);
		return finish(c, r);
	}
	if (out != NULL && (rc = write_one(c, out, csr->value, csr->len, 0644)) != CTL_OK)
		return rc;
	if (out == NULL)
		fwrite(csr->value, 1, csr->len, c->out);
	name = field_or(rec, "name", "?");
	/* with the request on stdout, what to do next goes to stderr */
	fprintf(say, "%s: a new key and request for %s\n", name, field_or(rec, "subject", "?"));
	fprintf(say, "  request  %s: send it to your CA\n", out != NULL ? out :
	    field_or(rec, "file.csr", "?"));
	fprintf(say, "  key      %s: stays in the store\n", field_or(rec, "file.key", "?"));
	fprintf(say, "then: certwrapctl import %s --cert CERT.pem --chain INTERMEDIATES.pem\n",
	    name);
	return CTL_OK;
}

static int
build_import(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *cert = args_value(a, "--cert"), *chain = args_value(a, "--chain");
	const char *key = args_value(a, "--key"), *ca = args_value(a, "--ca-file");
	int rc;

	if (cert == NULL)
		return ctl_usage_error(c, "give the certificate with --cert FILE");
	rq(&b, "verb", "import");
	rq(&b, "name", a->pos[0]);
	if ((rc = rq_file(c, &b, cert, "cert", "cert_name")) != CTL_OK ||
	    (chain != NULL && (rc = rq_file(c, &b, chain, "chain", "chain_name")) != CTL_OK) ||
	    (key != NULL && (rc = rq_file(c, &b, key, "key", "key_name")) != CTL_OK) ||
	    (ca != NULL && (rc = rq_file(c, &b, ca, "ca", "ca_name")) != CTL_OK))
		return rc;
	return rq_done(c, &b);
}

static int
build_sign(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *csr = args_value(a, "--csr");
	int rc;

	if (csr == NULL)
		return ctl_usage_error(c, "give the request with --csr FILE");
	rq(&b, "verb", "sign");
	if (args_flag(a, "--client"))
		rq(&b, "client", "yes");
	if ((rc = rq_days_key_type(c, a, &b)) != CTL_OK ||
	    (rc = rq_file(c, &b, csr, "csr", "csr_name")) != CTL_OK ||
	    (rc = rq_passphrase(c, a, false, &b)) != CTL_OK)
		return rc;
	return rq_done(c, &b);
}

static int
render_sign(struct ctl *c, const struct args *a, const struct out_response *r)
{
	const struct out_record *rec = first_record(r, "signed");
	const struct ctl_field *cert = rec != NULL ? field_of(rec, "cert") : NULL;
	const struct ctl_field *chain = rec != NULL ? field_of(rec, "chain") : NULL;
	const char *out = args_value(a, "--out");
	bool full = args_flag(a, "--fullchain");
	FILE *say = out != NULL ? c->out : c->err;
	char *pem = NULL, date[32];
	size_t len;
	int rc = CTL_OK;

	out_warnings(r, c->err);
	if (c->json || !r->ok || cert == NULL || chain == NULL) {
		if (c->json)
			out_json_response(r, c->out);
		return finish(c, r);
	}
	len = cert->len + (full ? chain->len : 0);
	if ((pem = malloc(len + 1)) == NULL)
		return ctl_fail(c, "out of memory");
	memcpy(pem, cert->value, cert->len);
	if (full)
		memcpy(pem + cert->len, chain->value, chain->len);
	if (out != NULL)
		rc = write_one(c, out, pem, len, 0644);
	else
		fwrite(pem, 1, len, c->out);
	free(pem);
	if (rc != CTL_OK)
		return rc;
	out_date(out_field_time(rec, "not_after"), date, sizeof(date));
	fprintf(say, "signed: serial %s for %s, expires %s (%ld days)\n",
	    field_or(rec, "serial", "?"), field_or(rec, "subject", "?"), date,
	    out_field_long(rec, "days_left", 0));
	fprintf(say, "  certificate  %s%s\n  recorded     %s\n", out != NULL ? out : "(above)",
	    full && chain->len > 0 ? " (with the intermediate after it)" : "",
	    field_or(rec, "file.newcert", "?"));
	if (!full && chain->len > 0)
		fprintf(say, "  intermediate not included: give --fullchain, or send the store's "
		    "ca/chain.pem after it\n");
	return CTL_OK;
}

/* --- revoke, crl ---------------------------------------------------------------------------------- */

static int
build_revoke(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	int rc;

	rq(&b, "verb", "revoke");
	rq(&b, "target", a->pos[0]);
	rq(&b, "reason", args_value(a, "--reason"));
	if ((rc = rq_passphrase(c, a, false, &b)) != CTL_OK)
		return rc;
	return rq_done(c, &b);
}

static int
render_revoke(struct ctl *c, const struct args *a, const struct out_response *r)
{
	out_warnings(r, c->err);
	if (c->json) {
		out_json_response(r, c->out);
		return finish(c, r);
	}
	for (size_t k = 0; k < r->n_rec; k++) {
		const struct out_record *rec = &r->rec[k];
		const char *reason = out_field(rec, "reason");

		if (kind_is(rec, "revoked"))
			fprintf(c->out, "revoked: serial %s (%s)%s%s\n", field_or(rec, "serial", "?"),
			    field_or(rec, "subject", "?"), reason != NULL && reason[0] ? ", " : "",
			    reason != NULL ? reason : "");
		else if (kind_is(rec, "crl"))
			print_crl(c, rec);
		else
			print_other(c, rec);
	}
	return finish(c, r);
}

static int
build_crl(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	int rc;

	rq(&b, "verb", "crl");
	if (args_flag(a, "--if-due"))
		rq(&b, "if_due", "yes");
	if ((rc = rq_passphrase(c, a, false, &b)) != CTL_OK)
		return rc;
	return rq_done(c, &b);
}

static int
render_crl(struct ctl *c, const struct args *a, const struct out_response *r)
{
	const struct out_record *rec = first_record(r, "crl");
	const struct ctl_field *pem = rec != NULL ? field_of(rec, "crl_pem") : NULL;
	const char *out = args_value(a, "--out");
	int rc;

	out_warnings(r, c->err);
	if (r->ok && out != NULL && pem != NULL &&
	    (rc = write_one(c, out, pem->value, pem->len, 0644)) != CTL_OK)
		return rc;
	if (c->json) {
		out_json_response(r, c->out);
		return finish(c, r);
	}
	if (rec != NULL)
		print_crl(c, rec);
	if (rec != NULL && out != NULL && pem != NULL)
		fprintf(c->out, "  copy  %s\n", out);
	return finish(c, r);
}

/* --- check ----------------------------------------------------------------------------------------- */

static int
build_check(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *warn = args_value(a, "--warn"), *crit = args_value(a, "--crit");
	long warn_s, crit_s;

	rq(&b, "verb", "check");
	if (warn != NULL) {
		if (parse_duration(c, "--warn", warn, &warn_s) == -1)
			return CTL_USAGE;
		rqf(&b, "warn", "%ld", warn_s);
	}
	if (crit != NULL) {
		if (parse_duration(c, "--crit", crit, &crit_s) == -1)
			return CTL_USAGE;
		rqf(&b, "crit", "%ld", crit_s);
	}
	return rq_done(c, &b);
}

/* Nagios: the summary line on stdout, the exit status it carries. */
static int
render_check(struct ctl *c, const struct args *a, const struct out_response *r)
{
	long code = out_field_long(&r->head, "exit", CTL_CHECK_UNKNOWN);

	out_warnings(r, c->err);
	if (!r->ok) {
		if (c->json)
			out_json_response(r, c->out);
		else
			fprintf(c->out, "CERTWRAP UNKNOWN - %s\n", r->message);
		return CTL_CHECK_UNKNOWN;
	}
	if (c->json)
		out_json_response(r, c->out);
	else
		fprintf(c->out, "%s\n", r->message);
	return code >= 0 && code <= CTL_CHECK_UNKNOWN ? (int)code : CTL_CHECK_UNKNOWN;
}

/* --- export, export-ca ------------------------------------------------------------------------------ */

static int
build_export(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *daemon = args_value(a, "--for"), *format = args_value(a, "--format");
	const char *f = daemon != NULL ? daemon : format, *v = args_value(a, "--version");
	enum cs_export_format ef;
	struct cs_error err;
	char *end;
	unsigned long n;
	int rc;

	if ((daemon == NULL) == (format == NULL))
		return ctl_usage_error(c, "give --for DAEMON or --format FORMAT");
	if (args_value(a, "--out") == NULL)
		return ctl_usage_error(c, "give the directory to write to with --out DIR");
	if (cs_export_format_parse(f, &ef, &err) == -1)
		return ctl_usage_error(c, "%s", err.msg);
	if (ef >= CS_EXPORT_SEPARATE && daemon != NULL)
		return ctl_usage_error(c, "--for %s: %s is a format: give --format %s", f, f, f);
	if (ef < CS_EXPORT_SEPARATE && format != NULL)
		return ctl_usage_error(c, "--format %s: %s is a daemon: give --for %s", f, f, f);
	rq(&b, "verb", "export");
	rq(&b, "name", a->pos[0]);
	rq(&b, "format", cs_export_format_name(ef));
	if (v != NULL) {
		errno = 0;
		n = strtoul(v, &end, 10);
		if (v[0] < '1' || v[0] > '9' || errno != 0 || *end != '\0' || n > CS_MAX_VERSION)
			return ctl_usage_error(c, "--version: expected a version number, got "
			    "\"%.32s\"", v);
		rq(&b, "version", v);
	}
	/* the passphrase of a PKCS#12 file (not the CA's) */
	if (ef == CS_EXPORT_PKCS12 && (rc = rq_passphrase(c, a, true, &b)) != CTL_OK)
		return rc;
	return rq_done(c, &b);
}

/* The file records of a response written into dir; what was written said. */
static int
write_files(struct ctl *c, const struct out_response *r, const char *dir, const char *owner,
    const char *group)
{
	struct out_file *files;
	char hint[CS_TEXT_MAX * 2], dirslash[CS_PATH_MAX + 1];
	const char *h = out_field(&r->head, "hint"), *kept = out_field(&r->head, "kept");
	size_t n = 0;
	uid_t uid;
	gid_t gid;
	int rc;

	if ((rc = files_owner(c, owner, group, &uid, &gid)) != CTL_OK)
		return rc;
	if ((files = calloc(r->n_rec + 1, sizeof(*files))) == NULL)
		return ctl_fail(c, "out of memory");
	for (size_t k = 0; k < r->n_rec; k++) {
		const struct ctl_field *data = field_of(&r->rec[k], "data");
		const char *hashed = out_field(&r->rec[k], "hashed");

		if (!kind_is(&r->rec[k], "file") || data == NULL)
			continue;
		files[n].name = field_or(&r->rec[k], "name", "");
		files[n].mode = (unsigned)strtoul(field_or(&r->rec[k], "mode", "0"), NULL, 8);
		files[n].hashed = hashed != NULL && strcmp(hashed, "yes") == 0;
		files[n].data = data->value;
		files[n].len = data->len;
		n++;
	}
	if ((rc = files_write(c, dir, files, n, uid, gid)) == CTL_OK && !c->json) {
		for (size_t i = 0; i < n; i++)
			fprintf(c->out, "%s %s (mode %04o%s%s%s%s)\n", files[i].unchanged ? "kept " :
			    "wrote", files[i].final, files[i].mode, owner ? ", owner " : "",
			    owner ? owner : "", group ? ", group " : "", group ? group : "");
		if (h != NULL && h[0] != '\0') {
			/* the hint names files as DIR/...: the directory they are in */
			snprintf(dirslash, sizeof(dirslash), "%s", dir);
			snprintf(hint, sizeof(hint), "%s", h);
			for (char *p; (p = strstr(hint, "DIR")) != NULL;) {
				char rest[sizeof(hint)];

				snprintf(rest, sizeof(rest), "%s", p + 3);
				snprintf(p, sizeof(hint) - (size_t)(p - hint), "%s%s", dirslash, rest);
			}
			fprintf(c->out, "%s\n", hint);
		}
		if (kept != NULL && kept[0] != '\0')
			fprintf(c->out, "the store keeps a copy in %s\n", kept);
	}
	free(files);
	return rc;
}

static int
render_export(struct ctl *c, const struct args *a, const struct out_response *r)
{
	const char *dir = args_value(a, "--out");
	int rc;

	out_warnings(r, c->err);
	if (!r->ok)
		return finish(c, r);
	if (dir == NULL)
		dir = args_value(a, "--hashed");
	if ((rc = write_files(c, r, dir, args_value(a, "--owner"), args_value(a, "--group"))) !=
	    CTL_OK)
		return rc;
	if (c->json)
		out_json_response(r, c->out);
	return CTL_OK;
}

static int
build_export_ca(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *hashed = args_value(a, "--hashed"), *out = args_value(a, "--out");

	if ((hashed == NULL) == (out == NULL))
		return ctl_usage_error(c, "give --hashed DIR (a hashed CA directory) or --out DIR "
		    "(root.pem and chain.pem)");
	rq(&b, "verb", "export-ca");
	if (hashed != NULL)
		rq(&b, "hashed", "yes");
	return rq_done(c, &b);
}

/* --- ca import: makes a store from an openssl ca directory ------------------------------------------ */

static int
run_ca_import(struct ctl *c, const struct args *a)
{
	struct cs_ca_import_params p = { .from = a->pos[0], .config = args_value(a, "--config"),
		.now = c->now };
	struct cs_ca_import_result res;
	struct cs_warnings w = { 0 };
	struct certstore *cs;
	struct cs_error err;
	char *pass = NULL;
	int rc;

	if ((rc = passphrase_get(c, a, false, &pass)) != CTL_OK)
		return rc;
	p.passphrase = pass;
	rc = certstore_ca_import(c->store_dir, &p, &res, &w, &err);
	passphrase_free(pass);
	ctl_warnings(c, &w);
	if (rc == -1)
		return ctl_fail(c, "%s", err.msg);
	if ((cs = certstore_open(c->store_dir, &err)) == NULL)
		return ctl_fail(c, "%s", err.msg);
	fprintf(c->out, "%s: took over the openssl ca directory %s%s\n", c->store_dir, p.from,
	    res.encrypted ? " (key encrypted)" : "");
	print_ca(c, cs, CS_CA_ROOT, "CA");
	fprintf(c->out, "  index         %u certificate%s (%u revoked), newcerts/ copied\n",
	    res.n_issued, res.n_issued == 1 ? "" : "s", res.n_revoked);
	fprintf(c->out, "  serials       go on from %s, in sequence, as openssl ca numbers them\n",
	    res.next_serial);
	fprintf(c->out, "  policy        %zu line%s from its openssl.cnf (certstore.conf [policy])\n",
	    res.n_policy, res.n_policy == 1 ? "" : "s");
	fprintf(c->out, "  trust anchor  %s/ca/root.pem: the clients have it already\n",
	    c->store_dir);
	certstore_close(cs);
	return CTL_OK;
}

/* --- certwrapd's own verbs: status, stats, reload, swap --------------------------------------------- */

static int
build_status(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };

	rq(&b, "verb", "status");
	return rq_done(c, &b);
}

static int
build_stats(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };

	rq(&b, "verb", "stats");
	if (a->n_pos == 1)
		rq(&b, "service", a->pos[0]);
	return rq_done(c, &b);
}

static int
build_reload(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };

	rq(&b, "verb", "reload");
	return rq_done(c, &b);
}

/* "NAME" or "NAME@VERSION" as the name and version fields. */
static int
rq_name_version(struct ctl *c, struct reqb *b, const char *arg)
{
	const char *at = strchr(arg, '@');
	char name[CS_NAME_MAX + 1], *end;
	unsigned long v;

	if (at == NULL) {
		rq(b, "name", arg);
		return CTL_OK;
	}
	errno = 0;
	v = strtoul(at + 1, &end, 10);
	if (at - arg > CS_NAME_MAX || at[1] < '1' || at[1] > '9' || *end != '\0' || errno != 0 ||
	    v > CS_MAX_VERSION)
		return ctl_usage_error(c, "\"%.80s\": expected NAME or NAME@VERSION", arg);
	snprintf(name, sizeof(name), "%.*s", (int)(at - arg), arg);
	rq(b, "name", name);
	rqf(b, "version", "%lu", v);
	return CTL_OK;
}

static int
build_swap(struct ctl *c, const struct args *a, struct ctl_msg *req)
{
	struct reqb b = { req, false };
	const char *cert = args_value(a, "--cert"), *key = args_value(a, "--key");
	const char *chain = args_value(a, "--chain");
	int rc;

	if ((a->n_pos == 2) == (cert != NULL))
		return ctl_usage_error(c, "give either NAME[@VERSION] or --cert FILE --key FILE");
	if (cert == NULL && (key != NULL || chain != NULL))
		return ctl_usage_error(c, "--key and --chain go with --cert");
	if (cert != NULL && key == NULL)
		return ctl_usage_error(c, "--cert needs --key FILE");
	rq(&b, "verb", "swap");
	rq(&b, "service", a->pos[0]);
	if (a->n_pos == 2)
		rc = rq_name_version(c, &b, a->pos[1]);
	else if ((rc = rq_file(c, &b, cert, "cert", "cert_name")) == CTL_OK &&
	    (rc = rq_file(c, &b, key, "key", "key_name")) == CTL_OK && chain != NULL)
		rc = rq_file(c, &b, chain, "chain", "chain_name");
	return rc != CTL_OK ? rc : rq_done(c, &b);
}

/* --- the table ---------------------------------------------------------------------------------------- */

#define PASSPHRASE_OPTS \
	{ "--passphrase-file", OPT_VALUE, "FILE" }, { "--passphrase-prompt", OPT_FLAG, NULL }
#define JSON_OPT { "--json", OPT_FLAG, NULL }
#define END_OPTS { NULL, 0, NULL }

static const struct opt_spec ca_init_opts[] = {
	{ "--key-type", OPT_VALUE, "TYPE" }, { "--subject", OPT_VALUE, "SUBJECT" },
	{ "--days", OPT_VALUE, "N" }, { "--intermediate", OPT_FLAG, NULL },
	{ "--intermediate-subject", OPT_VALUE, "SUBJECT" }, PASSPHRASE_OPTS, END_OPTS };
static const struct opt_spec issue_opts[] = {
	{ "--dns", OPT_LIST, "HOST" }, { "--ip", OPT_LIST, "ADDR" }, { "--days", OPT_VALUE, "N" },
	{ "--lifetime", OPT_VALUE, "DURATION" }, { "--key-type", OPT_VALUE, "TYPE" },
	{ "--client", OPT_FLAG, NULL }, PASSPHRASE_OPTS, JSON_OPT, END_OPTS };
static const struct opt_spec renew_opts[] = {
	{ "--all", OPT_FLAG, NULL }, { "--reuse-key", OPT_FLAG, NULL },
	{ "--before", OPT_VALUE, "DURATION" }, { "--days", OPT_VALUE, "N" },
	{ "--key-type", OPT_VALUE, "TYPE" }, PASSPHRASE_OPTS, JSON_OPT, END_OPTS };
static const struct opt_spec json_opts[] = { JSON_OPT, END_OPTS };
static const struct opt_spec show_opts[] = { { "--version", OPT_VALUE, "N" }, JSON_OPT, END_OPTS };
static const struct opt_spec swap_opts[] = { { "--cert", OPT_VALUE, "FILE" },
	{ "--key", OPT_VALUE, "FILE" }, { "--chain", OPT_VALUE, "FILE" }, JSON_OPT, END_OPTS };

static const struct opt_spec ca_import_opts[] = { { "--config", OPT_VALUE, "FILE" },
	PASSPHRASE_OPTS, END_OPTS };
static const struct opt_spec csr_opts[] = {
	{ "--dns", OPT_LIST, "HOST" }, { "--ip", OPT_LIST, "ADDR" },
	{ "--subject", OPT_VALUE, "SUBJECT" }, { "--key-type", OPT_VALUE, "TYPE" },
	{ "--replace", OPT_FLAG, NULL }, { "--out", OPT_VALUE, "FILE" }, JSON_OPT, END_OPTS };
static const struct opt_spec import_opts[] = {
	{ "--cert", OPT_VALUE, "FILE" }, { "--chain", OPT_VALUE, "FILE" },
	{ "--key", OPT_VALUE, "FILE" }, { "--ca-file", OPT_VALUE, "FILE" }, JSON_OPT, END_OPTS };
static const struct opt_spec sign_opts[] = {
	{ "--csr", OPT_VALUE, "FILE" }, { "--days", OPT_VALUE, "N" }, { "--client", OPT_FLAG, NULL },
	{ "--out", OPT_VALUE, "FILE" }, { "--fullchain", OPT_FLAG, NULL }, PASSPHRASE_OPTS,
	JSON_OPT, END_OPTS };
static const struct opt_spec revoke_opts[] = { { "--reason", OPT_VALUE, "REASON" },
	PASSPHRASE_OPTS, JSON_OPT, END_OPTS };
static const struct opt_spec crl_opts[] = { { "--if-due", OPT_FLAG, NULL },
	{ "--out", OPT_VALUE, "FILE" }, PASSPHRASE_OPTS, JSON_OPT, END_OPTS };
static const struct opt_spec check_opts[] = { { "--warn", OPT_VALUE, "DURATION" },
	{ "--crit", OPT_VALUE, "DURATION" }, JSON_OPT, END_OPTS };
static const struct opt_spec export_opts[] = {
	{ "--for", OPT_VALUE, "DAEMON" }, { "--format", OPT_VALUE, "FORMAT" },
	{ "--out", OPT_VALUE, "DIR" }, { "--owner", OPT_VALUE, "USER" },
	{ "--group", OPT_VALUE, "GROUP" }, { "--version", OPT_VALUE, "N" }, PASSPHRASE_OPTS,
	JSON_OPT, END_OPTS };
static const struct opt_spec export_ca_opts[] = { { "--hashed", OPT_VALUE, "DIR" },
	{ "--out", OPT_VALUE, "DIR" }, { "--owner", OPT_VALUE, "USER" },
	{ "--group", OPT_VALUE, "GROUP" }, JSON_OPT, END_OPTS };

#define PASSPHRASE_SYN "[--passphrase-file FILE | --passphrase-prompt]"

static const struct verb verbs[] = {
	{ "ca init", "[--key-type TYPE] [--subject /O=.../CN=...] [--days N] [--intermediate "
	  "[--intermediate-subject S]] " PASSPHRASE_SYN,
	  "Create the store and its CA: a root, and with --intermediate an intermediate that "
	  "signs. Key types: rsa:2048, rsa:3072, rsa:4096, ec:P-256 (default), ec:P-384, ed25519.",
	  ca_init_opts, NULL, 0, 0, VERB_LOCAL, run_ca_init, NULL, NULL },
	{ "ca import", "DIR [--config FILE] " PASSPHRASE_SYN,
	  "Create the store from an existing openssl ca directory (cacert.pem, private/cakey.pem, "
	  "serial, index.txt, newcerts/; the policy and defaults of DIR/openssl.cnf or --config). "
	  "Its serials go on in sequence; DIR is only read. The passphrase is the CA key's; the "
	  "store keeps the key encrypted with it.", ca_import_opts, "DIR", 1, 1, VERB_LOCAL,
	  run_ca_import, NULL, NULL },
	{ "issue", "NAME --dns HOST... [--ip ADDR...] [--days N | --lifetime DURATION] "
	  "[--key-type TYPE] [--client] " PASSPHRASE_SYN " [--json]",
	  "Make a key and a certificate for the new NAME, signed by the store's CA; "
	  "version 1 becomes current. --lifetime (90m, 2h, 3600s) makes a short-lived one; "
	  "renewals keep its lifetime.", issue_opts, "NAME", 1, 1, VERB_STORE, NULL, build_issue,
	  render_changes },
	{ "csr", "NAME --dns HOST... [--ip ADDR...] [--subject /O=.../CN=...] [--key-type TYPE] "
	  "[--replace] [--out FILE] [--json]",
	  "Make a key (it stays in the store) and a certificate request for it, to send to an "
	  "outside CA; then import its answer. The request goes to --out FILE or standard output.",
	  csr_opts, "NAME", 1, 1, VERB_STORE, NULL, build_csr, render_csr },
	{ "import", "NAME --cert FILE [--chain FILE] [--key FILE] [--ca-file FILE] [--json]",
	  "Make an outside CA's certificate and its intermediates NAME's next version, after "
	  "validating them with the system's trusted roots, the store's, and --ca-file's. The key "
	  "is the one csr made for NAME (or the current version's), unless --key gives it.",
	  import_opts, "NAME", 1, 1, VERB_STORE, NULL, build_import, render_changes },
	{ "sign", "--csr FILE [--days N] [--client] [--out FILE [--fullchain]] " PASSPHRASE_SYN
	  " [--json]",
	  "Sign someone else's request, as openssl ca -infiles: its signature and certstore.conf's "
	  "[policy] are checked, the certificate is recorded in the index and written to --out "
	  "FILE or standard output.", sign_opts, NULL, 0, 0, VERB_STORE, NULL, build_sign,
	  render_sign },
	{ "renew", "NAME | --all [--reuse-key] [--before DURATION] [--days N] [--key-type TYPE] "
	  PASSPHRASE_SYN " [--json]",
	  "Make a new version with the same names and a new key (--reuse-key keeps it). NAME is "
	  "renewed now; --all renews the certificates that are due (a third of the lifetime "
	  "left, half for 10 days or less, or --before 30d) and the CRL when it is due.",
	  renew_opts, "NAME", 0, 1, VERB_STORE, NULL, build_renew, render_changes },
	{ "rollback", "NAME [--json]", "Make the version before the current one current again.",
	  json_opts, "NAME", 1, 1, VERB_STORE, NULL, build_rollback, render_changes },
	{ "revoke", "NAME | SERIAL [--reason REASON] " PASSPHRASE_SYN " [--json]",
	  "Mark NAME's current certificate (or SERIAL) revoked in the index and make the CRL "
	  "again. Reasons: " CS_REVOKE_REASONS ".", revoke_opts, "NAME or SERIAL", 1, 1,
	  VERB_STORE, NULL, build_revoke, render_revoke },
	{ "crl", "[--if-due] [--out FILE] " PASSPHRASE_SYN " [--json]",
	  "Make the CRL again (ca/crl.pem; --out writes a copy): every revocation of the index, "
	  "valid crl_days. --if-due makes it only when two thirds of its validity have passed.",
	  crl_opts, NULL, 0, 0, VERB_STORE, NULL, build_crl, render_crl },
	{ "list", "[--json]", "Every name: version, serial, expiry, status, issuer, SANs.",
	  json_opts, NULL, 0, 0, VERB_STORE, NULL, build_list, render_list },
	{ "show", "NAME [--version N] [--json]", "One certificate as openssl x509 shows it, "
	  "with its SANs, chain and files.", show_opts, "NAME", 1, 1, VERB_STORE, NULL,
	  build_show, render_show },
	{ "check", "[--warn DURATION] [--crit DURATION] [--json]",
	  "For monitoring (Nagios): one line, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Looks "
	  "at every certificate, its intermediates, the CA and the CRL (default --warn 30d "
	  "--crit 7d).", check_opts, NULL, 0, 0, VERB_STORE, NULL, build_check, render_check },
	{ "export", "NAME --for DAEMON | --format FORMAT --out DIR [--owner USER] [--group GROUP] "
	  "[--version N] [--json]",
	  "Write NAME's key, certificate and chain as DAEMON wants them (postfix, dovecot, exim, "
	  "courier, qmail, sendmail, stunnel), or as FORMAT (separate, fullchain, combined, "
	  "pkcs12), atomically; files with the key are 0600 (qmail 0400).", export_opts, "NAME",
	  1, 1, VERB_STORE, NULL, build_export, render_export },
	{ "export-ca", "--hashed DIR | --out DIR [--owner USER] [--group GROUP] [--json]",
	  "Write the store's CA certificates for clients: a hashed directory (<hash>.0, as "
	  "openssl rehash makes; sendmail's CACERT_PATH), or root.pem and chain.pem.",
	  export_ca_opts, NULL, 0, 0, VERB_STORE, NULL, build_export_ca, render_export },
	{ "status", "[--json]", "certwrapd's services, listeners, live connections, and the "
	  "certificate each service serves now.", json_opts, NULL, 0, 0, VERB_DAEMON, NULL,
	  build_status, render_generic },
	{ "stats", "[SERVICE] [--json]", "certwrapd's counters per service: connections, "
	  "handshakes, handshake failures by reason, bytes.", json_opts, "SERVICE", 0, 1,
	  VERB_DAEMON, NULL, build_stats, render_generic },
	{ "swap", "SERVICE NAME[@VERSION] | SERVICE --cert FILE --key FILE [--chain FILE] [--json]",
	  "Make SERVICE serve another certificate now, once certwrapd has validated it: a name "
	  "of its store (its current version, or VERSION), or files sent with the request.",
	  swap_opts, "SERVICE", 1, 2, VERB_DAEMON, NULL, build_swap, render_generic },
	{ "reload", "[--json]", "Make certwrapd read its configuration again (as SIGHUP does).",
	  json_opts, NULL, 0, 0, VERB_DAEMON, NULL, build_reload, render_generic },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

const struct verb *
verbs_find(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < N_VERBS; i++) {
		const char *sp = strchr(verbs[i].name, ' ');

		if (sp == NULL && argc >= 1 && strcmp(argv[0], verbs[i].name) == 0) {
			*words = 1;
			return &verbs[i];
		}
		if (sp != NULL && argc >= 2 && strncmp(argv[0], verbs[i].name,
		    (size_t)(sp - verbs[i].name)) == 0 && argv[0][sp - verbs[i].name] == '\0' &&
		    strcmp(argv[1], sp + 1) == 0) {
			*words = 2;
			return &verbs[i];
		}
	}
	return NULL;
}

const char *
verbs_suggest(const char *word)
{
	const char *names[N_VERBS + 2];
	size_t n = 0;

	for (size_t i = 0; i < N_VERBS; i++)
		if (strchr(verbs[i].name, ' ') == NULL)
			names[n++] = verbs[i].name;
	names[n++] = "ca";
	names[n] = NULL;
	return args_suggest(word, (const char *const *)names);
}

/* What comes before a verb: where it may run. */
const char *
verbs_target_synopsis(const struct verb *v)
{
	switch (v->kind) {
	case VERB_LOCAL: return "[--store DIR]";
	case VERB_DAEMON: return "[-s SOCKET]";
	case VERB_STORE: break;
	}
	return "[--store DIR | -s SOCKET]";
}

void
verbs_help(FILE *f, const struct verb *v)
{
	fprintf(f, "usage: certwrapctl %s %s %s\n\n%s\n", verbs_target_synopsis(v), v->name,
	    v->synopsis, v->help);
}

static void
usage_group(FILE *f, enum verb_kind kind, const char *title)
{
	fprintf(f, "%s\n", title);
	for (size_t i = 0; i < N_VERBS; i++)
		if (verbs[i].kind == kind)
			fprintf(f, "  %s %s\n", verbs[i].name, verbs[i].synopsis);
}

void
verbs_usage(FILE *f)
{
	fputs("usage: certwrapctl [--store DIR | -s SOCKET] VERB [ARGS...]\n\n"
	    "--store DIR works on the store directly; -s SOCKET asks the certwrapd listening\n"
	    "there. With neither: certwrapd at $" CTL_SOCKET_ENV " or " CTL_DEFAULT_SOCKET "\n"
	    "if that socket exists, else the store $" CTL_STORE_ENV " or " CTL_DEFAULT_STORE ".\n\n", f);
	usage_group(f, VERB_STORE, "Verbs of the store (here or through certwrapd):");
	usage_group(f, VERB_LOCAL, "Verbs that make a store (--store only):");
	usage_group(f, VERB_DAEMON, "Verbs of the running certwrapd (-s only):");
	fputs("\ncertwrapctl VERB --help describes one; see certwrapctl(8).\n", f);
}
