/* verbs.c: certwrapctl's verbs, one table row each (name, arguments,
 * help, handler: relayctl's token table idea), and their handlers. A
 * handler turns arguments into one certstore call and prints its result;
 * every rule lives in the library, so the daemon's control socket will give
 * the same answers. */
#include "ctl/ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS_PER_DAY 86400L

/* --- shared by the handlers ----------------------------------------------------------------- */

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

/* "30d", "12h", "2w", "3600s" (a bare number is days) in seconds. */
static int
parse_before(struct ctl *c, const char *v, long *seconds)
{
	char *end;
	unsigned long n;
	long unit;

	errno = 0;
	n = strtoul(v, &end, 10);
	unit = *end == '\0' || strcmp(end, "d") == 0 ? SECONDS_PER_DAY : strcmp(end, "h") == 0 ?
	    3600 : strcmp(end, "w") == 0 ? 7 * SECONDS_PER_DAY : strcmp(end, "s") == 0 ? 1 : 0;
	if (v[0] < '0' || v[0] > '9' || errno != 0 || unit == 0 || n < 1 ||
	    n > (unsigned long)CS_MAX_DAYS * SECONDS_PER_DAY / (unsigned long)unit) {
		ctl_usage_error(c, "--before: expected a duration such as 30d, 12h or 2w, got "
		    "\"%.32s\"", v);
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

static void
print_expiry(struct ctl *c, time_t not_after)
{
	char date[32];

	out_date(not_after, date, sizeof(date));
	fprintf(c->out, "expires %s (%ld days)", date, cs_days_until(not_after, c->now));
}

/* The hook after a change of current: its result either way, loudly. */
static int
run_hook(struct ctl *c, const struct cs_change *ch)
{
	struct cs_hook_result r;
	struct cs_error err;
	int rc = certstore_hook_run(c->cs, ch, &r, &err);

	if (!r.ran)
		return CTL_OK;
	if (rc == 0) {
		fprintf(c->out, "%s\n", r.summary);
		if (r.output[0] != '\0')
			fprintf(c->out, "%s%s", r.output,
			    r.output[strlen(r.output) - 1] == '\n' ? "" : "\n");
		return CTL_OK;
	}
	fprintf(c->err, "certwrapctl: %s\n", r.summary);
	if (r.output[0] != '\0')
		fprintf(c->err, "%s%s", r.output, r.output[strlen(r.output) - 1] == '\n' ? "" : "\n");
	return ctl_fail(c, "%s", err.msg);
}

static int
report_change(struct ctl *c, const struct cs_change *ch, const char *done)
{
	fprintf(c->out, "%s: %s: version %u is current", ch->name, done, ch->version);
	if (ch->previous != 0)
		fprintf(c->out, " (was %u)", ch->previous);
	fprintf(c->out, ", serial %s, ", ch->serial);
	print_expiry(c, ch->not_after);
	fprintf(c->out, "\n  key        %s\n  cert       %s\n  chain      %s\n  fullchain  %s\n",
	    ch->paths.key, ch->paths.cert, ch->paths.chain, ch->paths.fullchain);
	return run_hook(c, ch);
}

/* --- ca init ------------------------------------------------------------------------------------ */

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
	print_expiry(c, i.not_after);
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

/* --- issue, renew, rollback ----------------------------------------------------------------------- */

static int
run_issue(struct ctl *c, const struct args *a)
{
	struct cs_issue_params p = { .name = a->pos[0], .client = args_flag(a, "--client"),
		.now = c->now };
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err;
	char *pass = NULL;
	int rc;

	p.dns = args_list(a, "--dns", &p.n_dns);
	p.ip = args_list(a, "--ip", &p.n_ip);
	if (p.n_dns + p.n_ip == 0)
		return ctl_usage_error(c, "give at least one --dns HOST or --ip ADDR");
	if (parse_days(c, a, &p.days) == -1 || parse_key_type(c, a, &p.key_type) == -1)
		return CTL_USAGE;
	if ((rc = passphrase_get(c, a, false, &pass)) != CTL_OK)
		return rc;
	p.passphrase = pass;
	rc = certstore_issue(c->cs, &p, &ch, &w, &err);
	passphrase_free(pass);
	ctl_warnings(c, &w);
	if (rc == -1)
		return ctl_fail(c, "%s", err.msg);
	return report_change(c, &ch, "issued");
}

static int
renew_one(struct ctl *c, const char *name, const struct cs_renew_params *base, long before_s,
    bool check_due)
{
	struct cs_renew_params p = *base;
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err;
	char date[32];
	time_t due_at;
	bool due;

	p.name = name;
	if (check_due) {
		if (certstore_renew_due(c->cs, name, before_s, c->now, &due, &due_at, &err) == -1)
			return ctl_fail(c, "%s", err.msg);
		if (!due) {
			out_date(due_at, date, sizeof(date));
			fprintf(c->out, "%s: not due until %s\n", name, date);
			return CTL_OK;
		}
	}
	if (certstore_renew(c->cs, &p, &ch, &w, &err) == -1) {
		ctl_warnings(c, &w);
		return ctl_fail(c, "%s", err.msg);
	}
	ctl_warnings(c, &w);
	return report_change(c, &ch, "renewed");
}

static int
renew_all(struct ctl *c, const struct cs_renew_params *p, long before_s)
{
	struct cs_error err;
	char **names;
	int rc = CTL_OK;
	unsigned failed = 0, n = 0;

	if (certstore_names(c->cs, &names, &err) == -1)
		return ctl_fail(c, "%s", err.msg);
	for (char **name = names; *name != NULL; name++, n++)
		if (renew_one(c, *name, p, before_s, true) != CTL_OK)
			failed++;
	cs_strv_free(names);
	if (failed > 0) {
		ctl_fail(c, "renew --all: %u of %u failed (see above)", failed, n);
		rc = CTL_FAILED;
	}
	return rc;
}

static int
run_renew(struct ctl *c, const struct args *a)
{
	struct cs_renew_params p = { .reuse_key = args_flag(a, "--reuse-key"), .now = c->now };
	const char *before = args_value(a, "--before");
	bool all = args_flag(a, "--all");
	long before_s = 0;
	char *pass = NULL;
	int rc;

	if (all == (a->n_pos == 1))
		return ctl_usage_error(c, "give either a NAME or --all");
	if (parse_days(c, a, &p.days) == -1 || parse_key_type(c, a, &p.key_type) == -1 ||
	    (before != NULL && parse_before(c, before, &before_s) == -1))
		return CTL_USAGE;
	if ((rc = passphrase_get(c, a, false, &pass)) != CTL_OK)
		return rc;
	p.passphrase = pass;
	/* a NAME is renewed when asked, unless --before makes it conditional */
	rc = all ? renew_all(c, &p, before_s) : renew_one(c, a->pos[0], &p, before_s,
	    before != NULL);
	passphrase_free(pass);
	return rc;
}

static int
run_rollback(struct ctl *c, const struct args *a)
{
	struct cs_change ch;
	struct cs_warnings w = { 0 };
	struct cs_error err;
	int rc = certstore_rollback(c->cs, a->pos[0], c->now, &ch, &w, &err);

	ctl_warnings(c, &w);
	if (rc == -1)
		return ctl_fail(c, "%s", err.msg);
	return report_change(c, &ch, "rolled back");
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
run_list(struct ctl *c, const struct args *a)
{
	static const char *const head[] = { "NAME", "VERSION", "SERIAL", "NOT AFTER", "DAYS",
		"STATUS", "ISSUER", "SANS" };
	bool json = args_flag(a, "--json");
	struct out_table t;
	struct cs_cert_info i;
	struct cs_error err;
	char **names;
	int rc = CTL_OK;
	size_t n = 0;

	if (certstore_names(c->cs, &names, &err) == -1)
		return ctl_fail(c, "%s", err.msg);
	out_table_init(&t, 8, head);
	if (json)
		fputs("[", c->out);
	for (char **name = names; *name != NULL; name++) {
		if (certstore_info(c->cs, *name, 0, c->now, &i, &err) == -1) {
			rc = ctl_fail(c, "%s", err.msg);
			continue;
		}
		if (json) {
			fputs(n++ ? ",\n" : "\n", c->out);
			out_json_cert(c->out, &i, "  ");
		} else if (list_row(c, &t, &i) != 0) {
			rc = CTL_FAILED;
		}
		cs_cert_info_clear(&i);
	}
	if (json)
		fputs(n ? "\n]\n" : "]\n", c->out);
	else if (t.n_rows > 0)
		out_table_print(&t, c->out);
	else
		fprintf(c->out, "%s: no certificates yet (certwrapctl issue NAME --dns HOST)\n",
		    c->store_dir);
	out_table_free(&t);
	cs_strv_free(names);
	return rc;
}

static int
parse_version_arg(struct ctl *c, const struct args *a, unsigned *version)
{
	const char *v = args_value(a, "--version");
	char *end;
	unsigned long n;

	*version = 0;
	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '1' || v[0] > '9' || errno != 0 || *end != '\0' || n > CS_MAX_VERSION) {
		ctl_usage_error(c, "--version: expected a version number, got \"%.32s\"", v);
		return -1;
	}
	*version = (unsigned)n;
	return 0;
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
run_show(struct ctl *c, const struct args *a)
{
	struct cs_cert_info i;
	struct cs_paths p;
	struct cs_error err;
	unsigned version;

	if (parse_version_arg(c, a, &version) == -1)
		return CTL_USAGE;
	if (certstore_info(c->cs, a->pos[0], version, c->now, &i, &err) == -1)
		return ctl_fail(c, "%s", err.msg);
	if (certstore_paths(c->cs, a->pos[0], i.version, &p, &err) == -1) {
		cs_cert_info_clear(&i);
		return ctl_fail(c, "%s", err.msg);
	}
	if (args_flag(a, "--json")) {
		out_json_cert(c->out, &i, "");
		fputc('\n', c->out);
	} else {
		show_text(c, &i, &p);
	}
	cs_cert_info_clear(&i);
	return CTL_OK;
}

/* --- the table ---------------------------------------------------------------------------------------- */

#define PASSPHRASE_OPTS \
	{ "--passphrase-file", OPT_VALUE, "FILE" }, { "--passphrase-prompt", OPT_FLAG, NULL }

static const struct opt_spec ca_init_opts[] = {
	{ "--key-type", OPT_VALUE, "TYPE" }, { "--subject", OPT_VALUE, "SUBJECT" },
	{ "--days", OPT_VALUE, "N" }, { "--intermediate", OPT_FLAG, NULL },
	{ "--intermediate-subject", OPT_VALUE, "SUBJECT" }, PASSPHRASE_OPTS, { NULL, 0, NULL } };
static const struct opt_spec issue_opts[] = {
	{ "--dns", OPT_LIST, "HOST" }, { "--ip", OPT_LIST, "ADDR" }, { "--days", OPT_VALUE, "N" },
	{ "--key-type", OPT_VALUE, "TYPE" }, { "--client", OPT_FLAG, NULL }, PASSPHRASE_OPTS,
	{ NULL, 0, NULL } };
static const struct opt_spec renew_opts[] = {
	{ "--all", OPT_FLAG, NULL }, { "--reuse-key", OPT_FLAG, NULL },
	{ "--before", OPT_VALUE, "DURATION" }, { "--days", OPT_VALUE, "N" },
	{ "--key-type", OPT_VALUE, "TYPE" }, PASSPHRASE_OPTS, { NULL, 0, NULL } };
static const struct opt_spec no_opts[] = { { NULL, 0, NULL } };
static const struct opt_spec list_opts[] = { { "--json", OPT_FLAG, NULL }, { NULL, 0, NULL } };
static const struct opt_spec show_opts[] = {
	{ "--version", OPT_VALUE, "N" }, { "--json", OPT_FLAG, NULL }, { NULL, 0, NULL } };

static const struct verb verbs[] = {
	{ "ca init", "[--key-type TYPE] [--subject /O=.../CN=...] [--days N] [--intermediate "
	  "[--intermediate-subject S]] [--passphrase-file FILE | --passphrase-prompt]",
	  "Create the store and its CA: a root, and with --intermediate an intermediate that "
	  "signs. Key types: rsa:2048, rsa:3072, rsa:4096, ec:P-256 (default), ec:P-384, ed25519.",
	  ca_init_opts, NULL, 0, 0, false, run_ca_init },
	{ "issue", "NAME --dns HOST... [--ip ADDR...] [--days N] [--key-type TYPE] [--client] "
	  "[--passphrase-file FILE | --passphrase-prompt]",
	  "Make a key and a certificate for the new NAME, signed by the store's CA; "
	  "version 1 becomes current.", issue_opts, "NAME", 1, 1, true, run_issue },
	{ "renew", "NAME | --all [--reuse-key] [--before DURATION] [--days N] [--key-type TYPE] "
	  "[--passphrase-file FILE | --passphrase-prompt]",
	  "Make a new version with the same names and a new key (--reuse-key keeps it). NAME is "
	  "renewed now; --all renews the certificates that are due (a third of the lifetime "
	  "left, half for 10 days or less, or --before 30d).", renew_opts, "NAME", 0, 1, true, run_renew },
	{ "rollback", "NAME", "Make the version before the current one current again.",
	  no_opts, "NAME", 1, 1, true, run_rollback },
	{ "list", "[--json]", "Every name: version, serial, expiry, status, issuer, SANs.",
	  list_opts, NULL, 0, 0, true, run_list },
	{ "show", "NAME [--version N] [--json]", "One certificate as openssl x509 shows it, "
	  "with its SANs, chain and files.", show_opts, "NAME", 1, 1, true, run_show },
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

void
verbs_help(FILE *f, const struct verb *v)
{
	fprintf(f, "usage: certwrapctl [--store DIR] %s %s\n\n%s\n", v->name, v->synopsis, v->help);
}

void
verbs_usage(FILE *f)
{
	fputs("usage: certwrapctl [--store DIR] VERB [ARGS...]\n\n"
	    "The store is --store DIR, else $" CTL_STORE_ENV ", else " CTL_DEFAULT_STORE ".\n"
	    "Verbs:\n", f);
	for (size_t i = 0; i < N_VERBS; i++)
		fprintf(f, "  %s %s\n", verbs[i].name, verbs[i].synopsis);
	fputs("\ncertwrapctl VERB --help describes one; see certwrapctl(8).\n", f);
}
