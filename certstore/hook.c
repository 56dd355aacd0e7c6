/* hook.c: the command certstore.conf's [hooks] runs after a current
 * changed, so that daemons outside certwrap (postfix, dovecot) pick up the
 * new version. posix_spawn() rather than fork(): the daemon that will call
 * this has threads. The hook gets its own process group, so that a hook that
 * outlives its timeout is killed with everything it started. Its output is
 * kept (bounded) for the caller to show: a failed hook is reported as loudly
 * as a successful one. */
#include "certstore/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOOK_SHELL      "/bin/sh"
#define HOOK_ARGV0      "certwrap-hook"
#define HOOK_ENV_VARS   12
#define HOOK_POLL_MS    100         /* how often a hook's exit is checked */

extern char **environ;

struct hook_env {
	char **envp;                        /* environ + ours, NULL-terminated */
	char *ours[HOOK_ENV_VARS];
};

static void
env_free(struct hook_env *e)
{
	for (size_t i = 0; i < HOOK_ENV_VARS; i++)
		free(e->ours[i]);
	free(e->envp);
}

/* environ without any CERTWRAP_* of the caller's, then ours. */
static int
env_build(struct certstore *cs, const struct cs_change *c, struct hook_env *e)
{
	size_t n = 0, k = 0;
	char end[32];
	struct tm tm;

	memset(e, 0, sizeof(*e));
	if (gmtime_r(&c->not_after, &tm) == NULL || strftime(end, sizeof(end),
	    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(end, sizeof(end), "unknown");
	if (asprintf(&e->ours[0], "CERTWRAP_EVENT=%s", cs_event_name(c->event)) == -1 ||
	    asprintf(&e->ours[1], "CERTWRAP_NAME=%s", c->name) == -1 ||
	    asprintf(&e->ours[2], "CERTWRAP_VERSION=%u", c->version) == -1 ||
	    asprintf(&e->ours[3], "CERTWRAP_PREVIOUS_VERSION=%u", c->previous) == -1 ||
	    asprintf(&e->ours[4], "CERTWRAP_SERIAL=%s", c->serial) == -1 ||
	    asprintf(&e->ours[5], "CERTWRAP_NOT_AFTER=%s", end) == -1 ||
	    asprintf(&e->ours[6], "CERTWRAP_STORE=%s", cs->dir) == -1 ||
	    asprintf(&e->ours[7], "CERTWRAP_DIR=%s", c->paths.dir) == -1 ||
	    asprintf(&e->ours[8], "CERTWRAP_KEY=%s", c->paths.key) == -1 ||
	    asprintf(&e->ours[9], "CERTWRAP_CERT=%s", c->paths.cert) == -1 ||
	    asprintf(&e->ours[10], "CERTWRAP_CHAIN=%s", c->paths.chain) == -1 ||
	    asprintf(&e->ours[11], "CERTWRAP_FULLCHAIN=%s", c->paths.fullchain) == -1)
		goto fail;
	for (char **v = environ; v != NULL && *v != NULL; v++)
		n++;
	if ((e->envp = calloc(n + HOOK_ENV_VARS + 1, sizeof(*e->envp))) == NULL)
		goto fail;
	for (char **v = environ; v != NULL && *v != NULL; v++)
		if (strncmp(*v, "CERTWRAP_", 9) != 0)
			e->envp[k++] = *v;
	for (size_t i = 0; i < HOOK_ENV_VARS; i++)
		e->envp[k++] = e->ours[i];
	return 0;
fail:
	env_free(e);
	memset(e, 0, sizeof(*e));
	return -1;
}

static int
spawn(struct certstore *cs, const struct cs_change *c, char **envp, int out_fd, pid_t *pid)
{
	char version[16];
	char *argv[] = { HOOK_SHELL, "-c", cs->conf.hook_command, HOOK_ARGV0,
		(char *)(uintptr_t)c->name, version, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int rc;

	snprintf(version, sizeof(version), "%u", c->version);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	/* own process group (to kill it whole), no inherited signal mask */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	rc = posix_spawn(pid, HOOK_SHELL, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Reads the hook's output until it exits (or the timeout kills it); keeps
 * the first CS_HOOK_OUTPUT_MAX - 1 bytes. Returns the wait status. */
static int
collect(int fd, pid_t pid, unsigned timeout_s, const struct timespec *start,
    struct cs_hook_result *r, bool *timed_out)
{
	size_t len = 0;
	char buf[1024];
	int status = 0;
	bool exited = false, eof = false;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (!exited || !eof) {
		if (!eof && poll(&pfd, 1, HOOK_POLL_MS) > 0) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n <= 0 && !(n == -1 && errno == EINTR))
				eof = true;
			for (ssize_t i = 0; i < n && len + 1 < sizeof(r->output); i++)
				r->output[len++] = buf[i];
		}
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		/* a background child may hold the pipe after the hook exited */
		if (exited && !eof && poll(&pfd, 1, 0) <= 0)
			eof = true;
		if (!exited && seconds_since(start) > timeout_s) {
			*timed_out = true;
			kill(-pid, SIGKILL);    /* the group we made for it: our child's id */
			waitpid(pid, &status, 0);
			exited = eof = true;
		}
	}
	r->output[len] = '\0';
	return status;
}

/* The last non-empty line of the output, for a one-line failure message. */
static void
last_line(const char *out, char *buf, size_t len)
{
	const char *end = out + strlen(out), *start;

	while (end > out && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	for (start = end; start > out && start[-1] != '\n'; start--)
		;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
}

static int
report(const struct cs_change *c, int status, bool timed_out, double took, unsigned timeout_s,
    struct cs_hook_result *r, struct cs_error *err)
{
	char what[128], tail[256];

	last_line(r->output, tail, sizeof(tail));
	r->exit_status = WIFEXITED(status) && !timed_out ? WEXITSTATUS(status) : -1;
	if (r->exit_status == 0) {
		snprintf(r->summary, sizeof(r->summary), "hook for %s@%u: exit 0 (%.1f s)", c->name,
		    c->version, took);
		return 0;
	}
	if (timed_out)
		snprintf(what, sizeof(what), "did not finish within %u s and was killed", timeout_s);
	else if (WIFSIGNALED(status))
		snprintf(what, sizeof(what), "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(what, sizeof(what), "exited with status %d", WEXITSTATUS(status));
	snprintf(r->summary, sizeof(r->summary), "hook for %s@%u FAILED: %s (%.1f s)", c->name,
	    c->version, what, took);
	cs_error_set(err, "hook for %s@%u failed: `%.200s` %s%s%s: version %u is current "
	    "anyway; fix the hook and run it again", c->name, c->version, r->command, what,
	    tail[0] != '\0' ? ": " : "", tail, c->version);
	return -1;
}

int
certstore_hook_run(struct certstore *cs, const struct cs_change *c,
    struct cs_hook_result *r, struct cs_error *err)
{
	struct hook_env env;
	struct timespec start;
	int fds[2] = { -1, -1 }, status, rc;
	bool timed_out = false;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->exit_status = -1;
	if (cs->conf.hook_command == NULL)
		return 0;
	r->ran = true;
	snprintf(r->command, sizeof(r->command), "%s", cs->conf.hook_command);
	if (env_build(cs, c, &env) == -1) {
		cs_error_set(err, "hook for %s@%u: out of memory", c->name, c->version);
		return -1;
	}
	rc = pipe2(fds, O_CLOEXEC) == -1 ? errno : spawn(cs, c, env.envp, fds[1], &pid);
	if (rc != 0) {
		cs_error_set(err, "hook for %s@%u: cannot start %s: %s", c->name, c->version,
		    HOOK_SHELL, strerror(rc));
		snprintf(r->summary, sizeof(r->summary), "hook for %s@%u FAILED: not started",
		    c->name, c->version);
		rc = -1;
		goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	close(fds[1]);
	fds[1] = -1;
	status = collect(fds[0], pid, cs->conf.hook_timeout_s, &start, r, &timed_out);
	rc = report(c, status, timed_out, seconds_since(&start), cs->conf.hook_timeout_s, r, err);
done:
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	env_free(&env);
	return rc;
}
