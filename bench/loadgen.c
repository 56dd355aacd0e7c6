/* loadgen.c: the TLS load generator of the benchmark (bench/run.sh).
 *
 *   loadgen --connect HOST:PORT --mode handshake|resume|bulk|idle
 *           [--concurrency N] [--duration S] [--count N] [--conns N]
 *           [--timeout S] [--request-bytes N] [--write-bytes N] [--window-bytes N]
 *           [--servername NAME] [--cafile FILE] [--proxy-pid PID]
 *           [--backend-pid PID] [--label TEXT]
 *
 * handshake: N connections in flight; each connects, does a full TLS 1.3
 *   handshake, sends --request-bytes, reads the same bytes back, closes.
 * resume: the same, resuming with the newest session ticket each slot got
 *   (the first from one priming connection); SSL_session_reused is counted.
 * bulk: N long-lived connections writing --write-bytes at a time and reading
 *   the echo back (at most --window-bytes in flight each); MB/s.
 * idle: opens --conns connections (N handshakes in flight), each after its
 *   handshake and one echo held open; the proxy's memory (--proxy-pid and its
 *   children, /proc VmRSS and smaps_rollup Pss) before and after.
 * Runs for --duration seconds, or until --count connections if given (then
 * --duration bounds it). The proxy's and the backend's CPU time are read from
 * /proc for the same window, so a report shows who was the bottleneck.
 *
 * Prints one JSON line on stdout and one line for people on stderr. Exit
 * status: 0 no failure, 1 some connection failed (all are in the JSON), 2 bad
 * arguments or set-up failure. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/lib/lg.h"

#define EXIT_USAGE            2
#define REQUEST_BYTES_MAX     (64 * 1024)
#define WRITE_BYTES_MAX       (1024 * 1024)
#define CONNS_MAX             1000000u

static void
usage(void)
{
	fputs("usage: loadgen --connect HOST:PORT --mode handshake|resume|bulk|idle\n"
	    "               [--concurrency N] [--duration S] [--count N] [--conns N]\n"
	    "               [--timeout S] [--request-bytes N] [--write-bytes N] [--window-bytes N]\n"
	    "               [--servername NAME] [--cafile FILE] [--proxy-pid PID]\n"
	    "               [--backend-pid PID] [--label TEXT]\n", stderr);
	exit(EXIT_USAGE);
}

static void
die_usage(const char *option, const char *value, const char *why)
{
	fprintf(stderr, "loadgen: --%s %s: %s\n", option, value, why);
	usage();
}

static unsigned long long
parse_count(const char *option, const char *value, unsigned long long min,
    unsigned long long max)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || n < min || n > max) {
		char why[96];

		snprintf(why, sizeof(why), "expected a whole number from %llu to %llu", min, max);
		die_usage(option, value, why);
	}
	return n;
}

static double
parse_seconds(const char *option, const char *value)
{
	char *end;
	double s = strtod(value, &end);

	if (end == value || *end != '\0' || !(s > 0 && s <= 86400))
		die_usage(option, value, "expected seconds, more than 0, at most 86400");
	return s;
}

static void
parse_target(struct lg_options *opt, const char *value)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	char buf[256], *host = buf, *port;

	if (snprintf(buf, sizeof(buf), "%s", value) >= (int)sizeof(buf) ||
	    (port = strrchr(buf, ':')) == NULL)
		die_usage("connect", value, "expected HOST:PORT or [V6]:PORT");
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {
		host++;
		port[-2] = '\0';
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		die_usage("connect", value, "cannot resolve this address");
	memcpy(&opt->addr, ai->ai_addr, ai->ai_addrlen);
	opt->addr_len = ai->ai_addrlen;
	opt->target = value;
	freeaddrinfo(ai);
}

static enum lg_mode
parse_mode(const char *value)
{
	static const struct { const char *name; enum lg_mode mode; } modes[] = {
		{ "handshake", LG_HANDSHAKE }, { "resume", LG_RESUME },
		{ "bulk", LG_BULK }, { "idle", LG_IDLE },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(value, modes[i].name) == 0)
			return modes[i].mode;
	die_usage("mode", value, "expected handshake, resume, bulk or idle");
	return LG_HANDSHAKE;
}

static void
parse_args(int argc, char **argv, struct lg_options *opt)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'C' },
		{ "mode", required_argument, NULL, 'm' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "conns", required_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 't' },
		{ "request-bytes", required_argument, NULL, 'r' },
		{ "write-bytes", required_argument, NULL, 'w' },
		{ "window-bytes", required_argument, NULL, 'W' },
		{ "servername", required_argument, NULL, 's' },
		{ "cafile", required_argument, NULL, 'A' },
		{ "proxy-pid", required_argument, NULL, 'p' },
		{ "backend-pid", required_argument, NULL, 'b' },
		{ "label", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_mode = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C': parse_target(opt, optarg); break;
		case 'm': opt->mode = parse_mode(optarg); have_mode = true; break;
		case 'c': opt->concurrency = (unsigned)parse_count("concurrency", optarg, 1, CONNS_MAX); break;
		case 'd': opt->duration_s = parse_seconds("duration", optarg); break;
		case 'n': opt->count = parse_count("count", optarg, 1, UINT64_MAX); break;
		case 'N': opt->idle_conns = (unsigned)parse_count("conns", optarg, 1, CONNS_MAX); break;
		case 't': opt->timeout_ms = (unsigned)(parse_seconds("timeout", optarg) * 1000); break;
		case 'r': opt->request_bytes = parse_count("request-bytes", optarg, 1, REQUEST_BYTES_MAX); break;
		case 'w': opt->write_bytes = parse_count("write-bytes", optarg, 1, WRITE_BYTES_MAX); break;
		case 'W': opt->window_bytes = parse_count("window-bytes", optarg, 1, 1ull << 30); break;
		case 's': opt->servername = optarg; break;
		case 'A': opt->cafile = optarg; break;
		case 'p': opt->proxy_pid = (int)parse_count("proxy-pid", optarg, 1, 1u << 30); break;
		case 'b': opt->backend_pid = (int)parse_count("backend-pid", optarg, 1, 1u << 30); break;
		case 'l': opt->label = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || opt->target == NULL || !have_mode)
		usage();
	if (opt->window_bytes < opt->write_bytes)
		opt->window_bytes = opt->write_bytes;
}

/* Every held connection is a descriptor here (and two in the proxy). */
static void
raise_nofile(const struct lg_options *opt)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)(opt->mode == LG_IDLE ? opt->idle_conns : opt->concurrency) + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
		fprintf(stderr, "loadgen: warning: %llu descriptors allowed, %llu needed: "
		    "connections beyond will fail as local errors (raise ulimit -Hn)\n",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

int
main(int argc, char **argv)
{
	struct lg_options opt = {
		.servername = "localhost", .label = "", .concurrency = 16, .idle_conns = 100,
		.duration_s = 5, .timeout_ms = 10000, .request_bytes = 64, .write_bytes = 16384,
		.window_bytes = 256 * 1024,
	};
	static struct lg_result res;

	parse_args(argc, argv, &opt);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&opt);
	if (lg_run(&opt, &res) == -1)
		return EXIT_USAGE;
	lg_report(stdout, stderr, &opt, &res);
	return lg_tally_failures(&res.tally) == 0 ? 0 : 1;
}
