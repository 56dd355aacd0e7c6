/* certwrapctl: the operator's tool. main() reads the global options, finds
 * the verb in verbs.c's table, parses its arguments and decides where it
 * runs: --store DIR works on the store in-process (the executor of
 * ctl/ctlstore.h, then the hooks of what changed), -s SOCKET sends the same
 * request to certwrapd (ctl/client.h), which answers with the same
 * response. With neither, certwrapd's default socket if it exists, else the
 * default store. Exit status: 0 done, 1 failed, 2 usage error; check exits
 * with its Nagios code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ctl/client.h"
#include "ctl/ctl.h"

#define CTL_VERSION "certwrapctl 0.1.0"
#define GO_ON (-1)

static bool
is_help(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

/* "--store DIR", "--store=DIR", "-s SOCKET", "--socket SOCKET", "--socket=S":
 * 1 when argv[*k] is opt (its value in *value, *k moved past it), 0 when
 * it is not, -1 when the value is missing. */
static int
option_value(int argc, char **argv, int *k, const char *opt, const char **value)
{
	const char *a = argv[*k];
	size_t n = strlen(opt);

	if (strncmp(a, opt, n) == 0 && a[n] == '=' && opt[1] == '-') {
		*value = a + n + 1;
		return (*value)[0] != '\0' ? 1 : -1;
	}
	if (strcmp(a, opt) != 0)
		return 0;
	if (*k + 1 >= argc || argv[*k + 1][0] == '\0')
		return -1;
	*value = argv[++*k];
	return 1;
}

/* --store, -s, --help, --version before the verb; *k moves past them.
 * GO_ON to run the verb, else the exit status. */
static int
global_options(struct ctl *c, int argc, char **argv, int *k)
{
	int r;

	for (*k = 1; *k < argc && argv[*k][0] == '-'; (*k)++) {
		const char *a = argv[*k];

		if (is_help(a)) {
			verbs_usage(stdout);
			return CTL_OK;
		} else if (strcmp(a, "--version") == 0) {
			puts(CTL_VERSION);
			return CTL_OK;
		} else if ((r = option_value(argc, argv, k, "--store", &c->store_dir)) != 0) {
			if (r == -1)
				return ctl_usage_error(c, "--store needs a directory");
			c->store_given = true;
		} else if ((r = option_value(argc, argv, k, "-s", &c->socket_path)) != 0 ||
		    (r = option_value(argc, argv, k, "--socket", &c->socket_path)) != 0) {
			if (r == -1)
				return ctl_usage_error(c, "%s needs the path of certwrapd's control "
				    "socket", a);
			c->socket_given = true;
		} else {
			return ctl_usage_error(c, "unknown option %s before the verb (see "
			    "certwrapctl --help)", a);
		}
	}
	if (c->store_given && c->socket_given)
		return ctl_usage_error(c, "give --store DIR (the store itself) or -s SOCKET "
		    "(certwrapd), not both");
	return GO_ON;
}

static int
unknown_verb(struct ctl *c, int argc, char **argv)
{
	const char *s = verbs_suggest(argv[0]);

	if (strcmp(argv[0], "ca") == 0 && argc == 1)
		return ctl_usage_error(c, "ca needs a word: ca init or ca import");
	if (strcmp(argv[0], "ca") == 0)
		return ctl_usage_error(c, "ca %.64s: unknown (ca init or ca import)", argv[1]);
	if (strcmp(argv[0], "help") == 0) {
		verbs_usage(stdout);
		return CTL_OK;
	}
	if (s != NULL)
		return ctl_usage_error(c, "unknown verb \"%.64s\" (did you mean %s?)", argv[0], s);
	return ctl_usage_error(c, "unknown verb \"%.64s\" (certwrapctl --help lists them)",
	    argv[0]);
}

/* Where v runs, from the global options and what exists. */
static int
choose_target(struct ctl *c, const struct verb *v)
{
	struct stat st;

	switch (v->kind) {
	case VERB_LOCAL:
		if (c->socket_given)
			return ctl_usage_error(c, "works on a store directory itself: give --store "
			    "DIR, not -s");
		c->target = TARGET_STORE;
		return GO_ON;
	case VERB_DAEMON:
		if (c->store_given)
			return ctl_usage_error(c, "asks the running certwrapd: give -s SOCKET (or "
			    "nothing, for %s), not --store", c->socket_path);
		c->target = TARGET_DAEMON;
		return GO_ON;
	case VERB_STORE:
		break;
	}
	if (c->store_given)
		c->target = TARGET_STORE;
	else if (c->socket_given)
		c->target = TARGET_DAEMON;
	else    /* a running certwrapd holds the store: ask it rather than race it */
		c->target = stat(c->socket_path, &st) == 0 && S_ISSOCK(st.st_mode) ?
		    TARGET_DAEMON : TARGET_STORE;
	return GO_ON;
}

/* The hook after a change of current: its result either way, loudly. */
static int
run_hook(struct ctl *c, struct certstore *cs, const struct cs_change *ch)
{
	struct cs_hook_result r;
	struct cs_error err;
	int rc = certstore_hook_run(cs, ch, &r, &err);

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

/* The request run by the executor here; the hooks after the response is shown. */
static int
run_offline(struct ctl *c, const struct ctl_msg *req, struct ctl_msg *resp, struct ctlstore_changes *changes,
    struct certstore **cs)
{
	struct ctlstore_env env = { .now = c->now, .changes = changes };
	struct cs_error err;

	if ((*cs = certstore_open(c->store_dir, &err)) == NULL)
		return ctl_fail(c, "%s", err.msg);
	env.cs = *cs;
	ctlstore_execute(&env, req, resp);
	return resp->n > 0 ? CTL_OK : ctl_fail(c, "out of memory");
}

/* A passphrase must not outlive the request it travelled in. */
static void
request_wipe(struct ctl_msg *req)
{
	for (size_t i = 0; i < req->n; i++)
		if (strcmp(req->fields[i].name, "passphrase") == 0 || strcmp(req->fields[i].name,
		    "key") == 0)
			OPENSSL_cleanse(req->fields[i].value, req->fields[i].len);
	ctl_msg_free(req);
}

static int
run_request(struct ctl *c, const struct verb *v, const struct args *a)
{
	struct ctl_msg req = { 0 }, resp = { 0 };
	struct ctlstore_changes changes = { 0 };
	struct certstore *cs = NULL;
	struct out_response r;
	char why[512];
	int rc, hook_rc;

	if ((rc = v->build(c, a, &req)) != CTL_OK)
		goto done;
	if (c->target == TARGET_STORE) {
		rc = run_offline(c, &req, &resp, &changes, &cs);
	} else if (ctl_client_call(c->socket_path, &req, &resp, why, sizeof(why)) == -1) {
		rc = ctl_fail(c, "%s", why);
	}
	request_wipe(&req);
	if (rc != CTL_OK)
		goto done;
	if (out_response_split(&resp, &r) == -1) {
		rc = ctl_fail(c, "the response has no status, or out of memory");
		goto done;
	}
	c->rendered = true;
	rc = v->render(c, a, &r);
	out_response_free(&r);
	for (size_t i = 0; i < changes.n; i++)
		if ((hook_rc = run_hook(c, cs, &changes.v[i])) != CTL_OK && rc == CTL_OK)
			rc = hook_rc;
done:
	request_wipe(&req);
	ctl_msg_free(&resp);
	ctlstore_changes_free(&changes);
	certstore_close(cs);
	return rc;
}

static int
run(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	struct args a;
	char why[CTL_WHY_MAX];
	int rc;

	c->verb = v->name;
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (is_help(argv[i])) {
			verbs_help(stdout, v);
			return CTL_OK;
		}
	}
	if (args_parse(v->opts, v->pos_name, v->min_pos, v->max_pos, argc, argv, &a, why) == -1)
		return ctl_usage_error(c, "%s", why);
	c->json = args_flag(&a, "--json");
	if ((rc = choose_target(c, v)) != GO_ON)
		return rc;
	return v->kind == VERB_LOCAL ? v->run(c, &a) : run_request(c, v, &a);
}

/* check speaks Nagios: whatever keeps it from judging (a usage error, no
 * daemon, no store) is UNKNOWN, not a state of the certificates. */
static int
run_verb(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	int rc = run(c, v, argc, argv);

	if (strcmp(v->name, "check") == 0 && !c->rendered && rc != CTL_OK) {
		/* Nagios shows standard output: the reason goes there too */
		if (!c->json)
			fprintf(c->out, "CERTWRAP UNKNOWN - %s\n", c->last_error);
		return CTL_CHECK_UNKNOWN;
	}
	return rc;
}

static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : def;
}

int
main(int argc, char **argv)
{
	struct ctl c = { .out = stdout, .err = stderr, .now = time(NULL) };
	const struct verb *v;
	int k, words, rc;

	c.store_dir = env_or(CTL_STORE_ENV, CTL_DEFAULT_STORE);
	c.socket_path = env_or(CTL_SOCKET_ENV, CTL_DEFAULT_SOCKET);
	if ((rc = global_options(&c, argc, argv, &k)) != GO_ON)
		return rc;
	if (k == argc) {
		verbs_usage(stderr);
		return CTL_USAGE;
	}
	if ((v = verbs_find(argc - k, argv + k, &words)) == NULL)
		rc = unknown_verb(&c, argc - k, argv + k);
	else
		rc = run_verb(&c, v, argc - k - words, argv + k + words);
	/* a full disk or a closed pipe must not pass for success */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "certwrapctl: cannot write the output\n");
		return CTL_FAILED;
	}
	return rc;
}
