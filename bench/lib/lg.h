/* lg.h: the load generator's shared declarations (bench/loadgen.c and
 * bench/lib/lg_*.c): options, the tally of outcomes, the run, /proc readers. */
#ifndef BENCH_LG_H
#define BENCH_LG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

enum lg_mode { LG_HANDSHAKE, LG_RESUME, LG_BULK, LG_IDLE };

/* Every way a connection can fail; each one is counted, none is dropped. */
enum lg_fail {
	FAIL_CONNECT_REFUSED,    /* ECONNREFUSED */
	FAIL_CONNECT,            /* any other connect error (EADDRNOTAVAIL, ...) */
	FAIL_TIMEOUT,            /* a step took longer than --timeout */
	FAIL_HANDSHAKE,          /* TLS handshake error, with OpenSSL's reason */
	FAIL_SHORT_ECHO,         /* EOF before the whole echo came back */
	FAIL_ECHO_MISMATCH,      /* the echo came back different */
	FAIL_RESET,              /* ECONNRESET or EPIPE after connect */
	FAIL_CLOSED,             /* the peer closed an established connection we held */
	FAIL_TLS,                /* a TLS error after the handshake */
	FAIL_LOCAL,              /* our own resources: socket(), memory, SSL_new */
	FAIL_KINDS
};

#define LG_REASONS_MAX      24
#define LG_REASON_LEN       112
#define LG_PIDS_MAX         256              /* processes of one watched tree */

struct lg_options {
	enum lg_mode mode;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const char *target;                  /* as given, for the report */
	const char *servername;              /* SNI */
	const char *cafile;                  /* NULL: no certificate verification */
	const char *label;
	unsigned concurrency;                /* connections in flight */
	unsigned idle_conns;                 /* idle: connections to hold open */
	uint64_t count;                      /* stop after this many (0: duration only) */
	double duration_s;
	unsigned timeout_ms;                 /* per step of one connection */
	size_t request_bytes;                /* the small request (echoed back) */
	size_t write_bytes;                  /* bulk: bytes per SSL_write */
	size_t window_bytes;                 /* bulk: most bytes in flight per connection */
	int proxy_pid, backend_pid;          /* 0: not watched */
};

struct lg_reason {
	char text[LG_REASON_LEN];
	uint64_t count;
};

struct lg_tally {
	uint64_t started, completed, resumed, unfinished;
	uint64_t fail[FAIL_KINDS];
	struct lg_reason reasons[LG_REASONS_MAX];
	uint64_t reasons_other;              /* failures whose reason did not fit */
	uint64_t bytes_tx, bytes_rx;
};

/* CPU time of the watched processes and of the generator, over one window. */
struct lg_cpu {
	uint64_t proxy_ticks, backend_ticks; /* clock ticks, utime + stime */
	double self_s;                       /* getrusage: user + system */
	double wall_s;
};

struct lg_mem {
	long rss_before_kib, rss_after_kib;  /* VmRSS summed over the proxy's tree */
	long pss_before_kib, pss_after_kib;  /* smaps_rollup Pss, summed likewise */
	uint64_t conns;                      /* connections open at "after" */
	double hold_s;                       /* how long all of them were held */
};

struct lg_result {
	struct lg_tally tally;
	struct lg_cpu cpu_start, cpu_end;
	struct lg_mem mem;
	double elapsed_s;                    /* the measured window */
};

/* lg_tally.c */
const char *lg_fail_name(enum lg_fail kind);
void lg_tally_fail(struct lg_tally *t, enum lg_fail kind, const char *detail);
uint64_t lg_tally_failures(const struct lg_tally *t);

/* lg_run.c: runs one mode to its end; 0, or -1 with a message on stderr
 * (set-up failures only: every connection failure is in r->tally). */
int lg_run(const struct lg_options *opt, struct lg_result *r);

/* lg_proc.c: /proc readers; pid's whole tree (pid and its descendants). */
long lg_proc_tree_rss_kib(int pid);
long lg_proc_tree_pss_kib(int pid);
uint64_t lg_proc_tree_ticks(int pid);
void lg_cpu_sample(const struct lg_options *opt, struct lg_cpu *out);

/* lg_report.c: one JSON line on out, one line for people on err. */
void lg_report(FILE *out, FILE *err, const struct lg_options *opt, const struct lg_result *r);

double lg_now_s(void);

#endif
