/* lg_proc.c: what /proc says about the proxy and the backend under load.
 *
 * A proxy may be several processes (hitch: a master and its worker), so each
 * figure is summed over the process and all its descendants. /proc/PID/stat
 * of a process already adds up its threads (stunnel: one per connection). */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/lib/lg.h"

double
lg_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fields after "pid (comm) ": comm may hold spaces and parentheses. */
static int
stat_fields(int pid, char *buf, size_t size, char **rest)
{
	char path[64];
	FILE *f;
	size_t n;
	char *paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((paren = strrchr(buf, ')')) == NULL)
		return -1;
	*rest = paren + 2;                   /* at field 3, the state */
	return 0;
}

static int
stat_ppid(int pid)
{
	char buf[1024], *rest;
	char state;
	int ppid;

	if (stat_fields(pid, buf, sizeof(buf), &rest) == -1)
		return -1;
	return sscanf(rest, "%c %d", &state, &ppid) == 2 ? ppid : -1;
}

/* pid and its descendants, at most max of them; how many. */
static size_t
proc_tree(int pid, int *pids, size_t max)
{
	static int all[8192], parent[8192];
	size_t nall = 0, n = 0;
	DIR *d;
	struct dirent *e;

	if (pid <= 0 || max == 0)
		return 0;
	pids[n++] = pid;
	if ((d = opendir("/proc")) == NULL)
		return n;
	while ((e = readdir(d)) != NULL && nall < sizeof(all) / sizeof(all[0])) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		all[nall] = atoi(e->d_name);
		parent[nall] = stat_ppid(all[nall]);
		nall++;
	}
	closedir(d);
	/* breadth first: pids[] grows while it is walked */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nall && n < max; j++)
			if (parent[j] == pids[i])
				pids[n++] = all[j];
	return n;
}

/* The number after "key:" in a /proc file of "key: value kB" lines; -1. */
static long
proc_kib(int pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			value = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return value;
}

static long
tree_sum_kib(int pid, const char *file, const char *key)
{
	int pids[LG_PIDS_MAX];
	size_t n = proc_tree(pid, pids, LG_PIDS_MAX);
	long sum = 0, v;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((v = proc_kib(pids[i], file, key)) > 0)
			sum += v;
	return sum;
}

long
lg_proc_tree_rss_kib(int pid)
{
	return tree_sum_kib(pid, "status", "VmRSS");
}

long
lg_proc_tree_pss_kib(int pid)
{
	return tree_sum_kib(pid, "smaps_rollup", "Pss");
}

uint64_t
lg_proc_tree_ticks(int pid)
{
	int pids[LG_PIDS_MAX];
	size_t n = proc_tree(pid, pids, LG_PIDS_MAX);
	unsigned long long utime, stime;
	uint64_t sum = 0;
	char buf[1024], *rest;

	for (size_t i = 0; i < n; i++) {
		if (stat_fields(pids[i], buf, sizeof(buf), &rest) == -1)
			continue;
		/* fields 3..13 skipped, then 14 utime and 15 stime */
		if (sscanf(rest, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		    &utime, &stime) == 2)
			sum += utime + stime;
	}
	return sum;
}

void
lg_cpu_sample(const struct lg_options *opt, struct lg_cpu *out)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	out->self_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	out->proxy_ticks = opt->proxy_pid > 0 ? lg_proc_tree_ticks(opt->proxy_pid) : 0;
	out->backend_ticks = opt->backend_pid > 0 ? lg_proc_tree_ticks(opt->backend_pid) : 0;
	out->wall_s = lg_now_s();
}
