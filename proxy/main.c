/* main.c: certwrapd's command line, start-up, and the only exit(). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proxy/config.h"
#include "proxy/control.h"
#include "proxy/daemon.h"
#include "proxy/limits.h"
#include "proxy/log.h"
#include "proxy/report.h"
#include "proxy/snapshot.h"
#include "proxy/tickets.h"

#define CERTWRAP_VERSION "0.1.0"

static void
usage(FILE *out)
{
	fputs("usage: certwrapd [-t] [-f] CONFIG\n"
	    "\n"
	    "  -t   check CONFIG and every certificate and key it names, print what was\n"
	    "       found, and exit 0 if the daemon would start, 1 if not\n"
	    "  -f   stay in the foreground and log to stderr\n"
	    "  -V   print the version\n"
	    "\n"
	    "CONFIG is in stunnel's format; see certwrapd.conf(5).\n", out);
}

/* -t: everything the daemon would check at start, without binding. */
static int
check_config(const char *path)
{
	struct report rep = { 0 };
	struct snapshot *snap = snapshot_load(path, CERTSOURCE_CHECK, &rep);
	unsigned n_services = snap ? snap->n_services : 0;
	int ok = snap != NULL && control_check(&snap->cfg, &rep) == 0;

	/* what was found is shown for a configuration that would start */
	for (unsigned i = 0; i < rep.n_lines; i++) {
		const struct report_line *l = &rep.lines[i];

		if (l->kind == REPORT_INFO && ok)
			printf("%s: %s\n", path, l->text);
		else if (l->kind == REPORT_INFO)
			continue;
		else
			fprintf(stderr, "%s%s\n", l->kind == REPORT_WARN ? "warning: " : "", l->text);
	}
	if (ok)
		printf("%s: configuration OK: %u service%s, %u warning%s\n", path, n_services,
		    n_services == 1 ? "" : "s", rep.n_warnings, rep.n_warnings == 1 ? "" : "s");
	else
		fprintf(stderr, "%s: configuration refused: %u error%s\n", path, rep.n_errors,
		    rep.n_errors == 1 ? "" : "s");
	snapshot_unref(snap);
	report_free(&rep);
	return ok ? 0 : 1;
}

static void
print_report(const struct report *rep)
{
	for (unsigned i = 0; i < rep->n_lines; i++)
		if (rep->lines[i].kind != REPORT_INFO)
			fprintf(stderr, "%s%s\n", rep->lines[i].kind == REPORT_WARN ? "warning: " : "",
			    rep->lines[i].text);
}

/* After listeners are bound and keys read: become setgid/setuid for good. */
static int
drop_privileges(const struct snapshot *snap, struct report *rep)
{
	const struct config *cfg = &snap->cfg;
	uid_t uid = snap->uid;
	gid_t gid = snap->gid;

	if (cfg->setgid_group.value != NULL && gid != getegid() &&
	    (setgroups(0, NULL) == -1 || setgid(gid) == -1)) {
		report_error(rep, "%s:%u: setgid: cannot become group %s: %s (start as root)",
		    cfg->file, cfg->setgid_group.line, cfg->setgid_group.value, strerror(errno));
		return -1;
	}
	if (cfg->setuid_user.value != NULL && uid != geteuid() && setuid(uid) == -1) {
		report_error(rep, "%s:%u: setuid: cannot become user %s: %s (start as root)",
		    cfg->file, cfg->setuid_user.line, cfg->setuid_user.value, strerror(errno));
		return -1;
	}
	return 0;
}

static int
write_pid_file(const struct config *cfg, struct report *rep)
{
	const char *path = cfg->pid_file.value;
	char line[32];
	int fd, n;

	if (path == NULL || path[0] == '\0')
		return 0;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, line, (size_t)n) != n) {
		report_error(rep, "%s:%u: pid: %s: %s", cfg->file, cfg->pid_file.line, path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Forks into the background. The parent waits until the child reports that
 * it is serving (or failed, having printed why), so that the exit status of
 * `certwrapd CONFIG` tells an init script the truth. Returns the fd the
 * child writes its verdict to. */
static int
daemonize(void)
{
	int fds[2];
	char verdict = 1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		perror("certwrapd: cannot go to the background");
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &verdict, 1) != 1)
			verdict = 1;
		exit(verdict);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

static void
report_ready(int fd)
{
	char ok = 0;
	int null = open("/dev/null", O_RDWR);

	if (fd == -1)
		return;
	(void)!write(fd, &ok, 1);
	close(fd);
	if (null != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

/* The errors reach the terminal once: through the log when it writes to
 * stderr, directly otherwise. */
static int
fail_start(struct report *rep, struct snapshot *snap, bool logged_to_stderr)
{
	if (!logged_to_stderr)
		print_report(rep);
	fprintf(stderr, "certwrapd: not started (%u error%s)\n", rep->n_errors,
	    rep->n_errors == 1 ? "" : "s");
	report_free(rep);
	snapshot_unref(snap);
	return 1;
}

/* Idle connections are what a mail proxy holds most of, two descriptors
 * each: the soft limit (often 1024) goes up to the hard one, and the log
 * says how many connections that allows. */
static void
raise_descriptor_limit(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_errno(LOG_LVL_WARN, "limits: cannot read the descriptor limit");
		return;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_errno(LOG_LVL_WARN, "limits: cannot raise the descriptor limit from %llu "
			    "to %llu", (unsigned long long)was, (unsigned long long)rl.rlim_max);
			rl.rlim_cur = was;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		log_info("limits: descriptors unlimited");
	else
		log_notice("limits: %llu descriptors%s: room for about %llu connections (two "
		    "descriptors each)", (unsigned long long)rl.rlim_cur, rl.rlim_cur > was ?
		    " (raised from the soft limit)" : "", (unsigned long long)(rl.rlim_cur >
		    FD_RESERVE ? (rl.rlim_cur - FD_RESERVE) / 2 : 0));
}

/* Each handshake takes tens of KiB (OpenSSL's handshake and record buffers,
 * the relay buffers) and frees them when done. glibc gives the top of the
 * heap back to the kernel as soon as 128 KiB of it are free, so under load
 * every few handshakes paid for a brk() and the page faults of taking the
 * memory back (up to 10% of certwrapd's time in resumed handshakes). */
static void
keep_freed_heap(void)
{
	(void)mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD_BYTES);
}

static int
run(const char *path, bool foreground_flag)
{
	struct daemon d = { .config_path = path, .foreground_flag = foreground_flag };
	struct report rep = { 0 };
	struct log_settings ls;
	struct snapshot *snap;
	int ready_fd = -1;
	char err[512];

	/* before the TLS contexts, which take their tickets from it */
	if (tickets_init() == -1) {
		fprintf(stderr, "certwrapd: cannot make a session ticket key: the random "
		    "generator failed\n");
		return 1;
	}
	if ((snap = snapshot_load(path, CERTSOURCE_LIVE, &rep)) == NULL)
		return fail_start(&rep, NULL, false);
	daemon_log_settings(&d, &snap->cfg, &ls);
	if (log_configure(&ls, err, sizeof(err)) == -1) {
		report_error(&rep, "%s:%u: output: %s", path, snap->cfg.output.line, err);
		return fail_start(&rep, snap, false);
	}
	if (!ls.to_stderr)
		print_report(&rep);           /* warnings reach the terminal either way */
	report_log(&rep, "");
	report_free(&rep);
	if (!foreground_flag && snap->cfg.foreground == FOREGROUND_NO)
		ready_fd = daemonize();
	raise_descriptor_limit();
	keep_freed_heap();
	if (daemon_start(&d, snap, &rep) == -1 ||
	    write_pid_file(&snap->cfg, &rep) == -1 || drop_privileges(snap, &rep) == -1) {
		report_log(&rep, "");
		daemon_cleanup(&d);
		return fail_start(&rep, snap, ls.to_stderr);
	}
	log_notice("ready: services=%u pid=%ld", snap->n_services, (long)getpid());
	report_ready(ready_fd);
	daemon_run(&d);
	if (snap->cfg.pid_file.value && snap->cfg.pid_file.value[0] && unlink(snap->cfg.pid_file.value) == -1)
		log_errno(LOG_LVL_WARN, "pid: cannot remove %s", snap->cfg.pid_file.value);
	log_notice("shutdown: done");
	tickets_wipe();
	snapshot_unref(snap);
	return 0;
}

int
main(int argc, char **argv)
{
	bool check = false, foreground = false;
	int opt;

	while ((opt = getopt(argc, argv, "tfhV")) != -1) {
		switch (opt) {
		case 't': check = true; break;
		case 'f': foreground = true; break;
		case 'V': puts("certwrapd " CERTWRAP_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	/* a peer that vanishes mid-write is an error return, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (check)
		return check_config(argv[optind]);
	return run(argv[optind], foreground);
}
