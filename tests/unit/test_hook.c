/* test_hook.c: certstore/hook.c, the command run after a change of current:
 * its arguments and environment, its output kept, failures and timeouts
 * reported, and a hook that leaves a child behind not waited for. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certstore/certstore.h"
#include "tests/unit/testpki.h"
#include "tests/unit/teststore.h"

/* A store whose certstore.conf has this [hooks] section, with one name issued. */
static struct certstore *
store_with_hook(const char *dir, const char *hooks, struct cs_change *ch)
{
	struct certstore *cs;
	const char *dns[] = { "mail.example.com" };
	struct cs_issue_params p = { .name = "mail", .dns = dns, .n_dns = 1, .now = TP_NOW };
	struct cs_error err = { "" };

	ts_store(dir, NULL);
	tp_write(tp_fmt("%s/certstore.conf", dir), tp_fmt("[hooks]\n%s", hooks));
	cs = ts_open(dir);
	assert_int_equal(certstore_issue(cs, &p, ch, NULL, &err), 0);
	return cs;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
test_no_hook(void **state)
{
	struct certstore *cs = ts_store("nohook", NULL);
	struct cs_change ch = { .name = "mail", .version = 1 };
	struct cs_hook_result r;
	struct cs_error err = { "" };

	ts_issue(cs, "mail", TP_NOW, "mail.example.com", NULL);
	assert_int_equal(certstore_paths(cs, "mail", 0, &ch.paths, &err), 0);
	assert_int_equal(certstore_hook_run(cs, &ch, &r, &err), 0);
	assert_false(r.ran);
}

static void
test_environment(void **state)
{
	const char *out = tp_path("hook-env.txt");
	struct cs_change ch;
	struct certstore *cs = store_with_hook("env", tp_fmt("command = env | grep ^CERTWRAP_ | "
	    "sort > %s; echo \"args $0 $1 $2\"\n", out), &ch);
	struct cs_hook_result r;
	struct cs_error err = { "" };
	const char *dir = certstore_dir(cs);

	setenv("CERTWRAP_NAME", "from-the-caller", 1);     /* must not leak through */
	assert_int_equal(certstore_hook_run(cs, &ch, &r, &err), 0);
	unsetenv("CERTWRAP_NAME");
	assert_true(r.ran);
	assert_int_equal(r.exit_status, 0);
	assert_string_equal(r.output, "args certwrap-hook mail 1\n");
	assert_non_null(strstr(r.summary, "hook for mail@1: exit 0 ("));
	assert_string_equal(ts_read(out), tp_fmt(
	    "CERTWRAP_CERT=%s/certs/mail/1/cert.pem\n"
	    "CERTWRAP_CHAIN=%s/certs/mail/1/chain.pem\n"
	    "CERTWRAP_DIR=%s/certs/mail/1\n"
	    "CERTWRAP_EVENT=issue\n"
	    "CERTWRAP_FULLCHAIN=%s/certs/mail/1/fullchain.pem\n"
	    "CERTWRAP_KEY=%s/certs/mail/1/key.pem\n"
	    "CERTWRAP_NAME=mail\n"
	    "CERTWRAP_NOT_AFTER=2031-01-01T00:00:00Z\n"
	    "CERTWRAP_PREVIOUS_VERSION=0\n"
	    "CERTWRAP_SERIAL=%s\n"
	    "CERTWRAP_STORE=%s\n"
	    "CERTWRAP_VERSION=1\n", dir, dir, dir, dir, dir, ch.serial, dir));
}

static void
test_failure_is_reported(void **state)
{
	struct cs_change ch;
	struct certstore *cs = store_with_hook("fail", "command = echo starting; echo 'postfix: "
	    "reload failed' >&2; exit 3\n", &ch);
	struct cs_hook_result r;
	struct cs_error err = { "" };

	assert_int_equal(certstore_hook_run(cs, &ch, &r, &err), -1);
	assert_int_equal(r.exit_status, 3);
	assert_string_equal(r.output, "starting\npostfix: reload failed\n");
	assert_non_null(strstr(r.summary, "hook for mail@1 FAILED: exited with status 3 ("));
	assert_string_equal(err.msg, "hook for mail@1 failed: `echo starting; echo 'postfix: "
	    "reload failed' >&2; exit 3` exited with status 3: postfix: reload failed: version 1 "
	    "is current anyway; fix the hook and run it again");
}

static void
test_timeout_kills_the_hook(void **state)
{
	struct cs_change ch;
	struct certstore *cs = store_with_hook("timeout", "command = echo waiting; sleep 60\n"
	    "timeout = 1\n", &ch);
	struct cs_hook_result r;
	struct cs_error err = { "" };
	double start = now_s();

	assert_int_equal(certstore_hook_run(cs, &ch, &r, &err), -1);
	/* killed at its timeout with its child (the sleep), not after 60 s */
	assert_true(now_s() - start < 10);
	assert_int_equal(r.exit_status, -1);
	assert_string_equal(r.output, "waiting\n");
	assert_string_equal(err.msg, "hook for mail@1 failed: `echo waiting; sleep 60` did not "
	    "finish within 1 s and was killed: waiting: version 1 is current anyway; fix the "
	    "hook and run it again");
}

/* A hook that starts a daemon in the background returns at once, though
 * the daemon keeps its output pipe open. */
static void
test_background_child_is_not_waited_for(void **state)
{
	const char *pidfile = tp_path("bg.pid");
	struct cs_change ch;
	struct certstore *cs = store_with_hook("bg", tp_fmt("command = sleep 60 & echo $! > %s; "
	    "echo started\n", pidfile), &ch);
	struct cs_hook_result r;
	struct cs_error err = { "" };
	double start = now_s();
	long pid;

	assert_int_equal(certstore_hook_run(cs, &ch, &r, &err), 0);
	assert_true(now_s() - start < 10);
	assert_int_equal(r.exit_status, 0);
	pid = strtol(ts_read(pidfile), NULL, 10);
	assert_true(pid > 1);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);     /* the child the test started */
}

static int
teardown(void **state)
{
	ts_cleanup();
	tp_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_hook),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_failure_is_reported),
		cmocka_unit_test(test_timeout_kills_the_hook),
		cmocka_unit_test(test_background_child_is_not_waited_for),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
