/* certwrapctl: the operator's tool. This version drives the certificate
 * store directly (--store DIR, offline); the daemon's control socket (-s)
 * comes with issue 4. main() reads the global options, finds the verb in
 * verbs.c's table, parses its arguments, opens the store and runs it.
 * Exit status: 0 done, 1 failed, 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"

#define CTL_VERSION "certwrapctl 0.1.0"

static bool
is_help(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

#define GO_ON (-1)

/* --store DIR, --help, --version before the verb; *k moves past them.
 * GO_ON to run the verb, else the exit status. */
static int
global_options(struct ctl *c, int argc, char **argv, int *k)
{
	for (*k = 1; *k < argc && argv[*k][0] == '-'; (*k)++) {
		const char *a = argv[*k];

		if (is_help(a)) {
			verbs_usage(stdout);
			return CTL_OK;
		} else if (strcmp(a, "--version") == 0) {
			puts(CTL_VERSION);
			return CTL_OK;
		} else if (strcmp(a, "--store") == 0 && *k + 1 < argc && argv[*k + 1][0] != '\0') {
			c->store_dir = argv[++*k];
		} else if (strncmp(a, "--store=", 8) == 0 && a[8] != '\0') {
			c->store_dir = a + 8;
		} else if (strcmp(a, "--store") == 0 || strcmp(a, "--store=") == 0) {
			return ctl_usage_error(c, "--store needs a directory");
		} else if (strcmp(a, "-s") == 0 || strncmp(a, "--socket", 8) == 0) {
			return ctl_usage_error(c, "%s: talking to a running certwrapd comes in a later "
			    "version; use --store DIR", a);
		} else {
			return ctl_usage_error(c, "unknown option %s before the verb (see "
			    "certwrapctl --help)", a);
		}
	}
	return GO_ON;
}

static int
unknown_verb(struct ctl *c, int argc, char **argv)
{
	const char *s = verbs_suggest(argv[0]);

	if (strcmp(argv[0], "ca") == 0 && argc == 1)
		return ctl_usage_error(c, "ca needs a word: this version has ca init");
	if (strcmp(argv[0], "ca") == 0)
		return ctl_usage_error(c, "ca %.64s: unknown (this version has ca init)", argv[1]);
	if (strcmp(argv[0], "help") == 0) {
		verbs_usage(stdout);
		return CTL_OK;
	}
	if (s != NULL)
		return ctl_usage_error(c, "unknown verb \"%.64s\" (did you mean %s?)", argv[0], s);
	return ctl_usage_error(c, "unknown verb \"%.64s\" (certwrapctl --help lists them)",
	    argv[0]);
}

static int
run(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	struct args a;
	struct cs_error err;
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
	if (v->needs_store && (c->cs = certstore_open(c->store_dir, &err)) == NULL)
		return ctl_fail(c, "%s", err.msg);
	rc = v->run(c, &a);
	certstore_close(c->cs);
	c->cs = NULL;
	return rc;
}

int
main(int argc, char **argv)
{
	struct ctl c = { .out = stdout, .err = stderr, .now = time(NULL) };
	const struct verb *v;
	const char *env = getenv(CTL_STORE_ENV);
	int k, words, rc;

	c.store_dir = env != NULL && env[0] != '\0' ? env : CTL_DEFAULT_STORE;
	if ((rc = global_options(&c, argc, argv, &k)) != GO_ON)
		return rc;
	if (k == argc) {
		verbs_usage(stderr);
		return CTL_USAGE;
	}
	if ((v = verbs_find(argc - k, argv + k, &words)) == NULL)
		rc = unknown_verb(&c, argc - k, argv + k);
	else
		rc = run(&c, v, argc - k - words, argv + k + words);
	/* a full disk or a closed pipe must not pass for success */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "certwrapctl: cannot write the output\n");
		return CTL_FAILED;
	}
	return rc;
}
