/* testbackend.c: the test backend's main: arguments, listeners, the ready
 * line, signals.
 *
 *   testbackend [--smtp ADDR] [--imap ADDR] [--pop3 ADDR] [--echo ADDR]
 *               [--spool DIR] [--user U --pass P] [--ready-file FILE] [--verbose]
 *               [--advertise-tls]
 *
 * ADDR is host:port or [v6]:port; port 0 picks a free port. Each option may
 * be given several times. Once every listener is bound, one line
 *   ready smtp=127.0.0.1:40123 imap=127.0.0.1:40124 ...
 * (one key=address per listener, in command-line order) goes to stdout and,
 * atomically (temp file, rename), to FILE, so a test learns the real ports.
 * --advertise-tls makes SMTP's EHLO list STARTTLS, IMAP's capabilities
 * STARTTLS and LOGINDISABLED, and POP3's CAPA STLS, as a mail daemon with TLS
 * of its own would; the commands themselves are still refused, so a test
 * sees whether certwrapd hides them.
 * SIGTERM and SIGINT end it with status 0; bad arguments exit 2, a failure
 * to start exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "backend_mailbox.h"

#define LISTEN_BACKLOG   511
#define ACCEPT_BATCH     64              /* accepts per wakeup, for fairness */
#define ADDR_TEXT_MAX    (INET6_ADDRSTRLEN + 16)
#define READY_LINE_MAX   (BACKEND_LISTENERS_MAX * (ADDR_TEXT_MAX + 8) + 16)
#define EXIT_USAGE       2

struct listener {
	struct backend_ctx *ctx;
	const struct conn_ops *ops;
	const char *spec;                    /* as given on the command line */
	int fd;
	ev_io io;
	ev_timer pause;                      /* out of descriptors: retry later */
	char addr[ADDR_TEXT_MAX];            /* as bound, port resolved */
};

struct options {
	const char *spool_dir;
	const char *ready_file;
	const char *user;
	const char *pass;
	bool verbose;
	bool advertise_tls;
	struct listener listeners[BACKEND_LISTENERS_MAX];
	size_t n_listeners;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: testbackend [--smtp ADDR] [--imap ADDR] [--pop3 ADDR] [--echo ADDR]\n"
	    "                   [--spool DIR] [--user U --pass P] [--ready-file FILE] [--verbose]\n"
	    "                   [--advertise-tls]\n"
	    "ADDR is host:port or [v6]:port (port 0: any free port); each option may repeat\n");
	exit(EXIT_USAGE);
}

/* "host:port" or "[v6]:port" into host and port (pointing into buf). */
static int
addr_split(const char *spec, char *buf, size_t bufsize, char **host, char **port)
{
	char *colon;

	if (snprintf(buf, bufsize, "%s", spec) >= (int)bufsize)
		return -1;
	if (buf[0] == '[') {
		if ((colon = strstr(buf, "]:")) == NULL)
			return -1;
		*colon = '\0';
		*host = buf + 1;
		*port = colon + 2;
	} else {
		if ((colon = strrchr(buf, ':')) == NULL)
			return -1;
		*colon = '\0';
		*host = buf;
		*port = colon + 1;
	}
	return **host != '\0' && **port != '\0' ? 0 : -1;
}

static void
addr_format(const struct sockaddr_storage *ss, char *out, size_t outsize)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, outsize, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, outsize, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

/* Binds and listens on l->spec; l->fd and l->addr set. 0, or -1 (printed). */
static int
listener_open(struct listener *l)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char buf[256], *host, *port;
	int one = 1, rc;

	if (addr_split(l->spec, buf, sizeof(buf), &host, &port) == -1) {
		fprintf(stderr, "testbackend: %s: expected host:port or [v6]:port\n", l->spec);
		return -1;
	}
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "testbackend: %s: %s\n", l->spec, gai_strerror(rc));
		return -1;
	}
	l->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1 ||
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(l->fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(l->fd, LISTEN_BACKLOG) == -1 ||
	    getsockname(l->fd, (struct sockaddr *)&ss, &sslen) == -1) {
		fprintf(stderr, "testbackend: %s: %s\n", l->spec, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	addr_format(&ss, l->addr, sizeof(l->addr));
	return 0;
}

static void
listener_start_conn(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	char peer[ADDR_TEXT_MAX];
	int one = 1;

	/* Replies are small and the client waits for each: no Nagle delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	addr_format(ss, peer, sizeof(peer));
	conn_start(l->ctx, fd, l->ops, peer);
}

static void
listener_on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			listener_start_conn(l, fd, &ss);
		} else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* pause instead of spinning on a pending connection we cannot take */
			fprintf(stderr, "testbackend: %s: accept: %s (pausing)\n", l->addr, strerror(errno));
			ev_io_stop(loop, &l->io);
			ev_timer_set(&l->pause, ACCEPT_PAUSE_S, 0.0);
			ev_timer_start(loop, &l->pause);
			return;
		} else if (errno != ECONNABORTED && errno != EINTR && errno != EPROTO) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "testbackend: %s: accept: %s\n", l->addr, strerror(errno));
			return;
		}
	}
}

static void
listener_on_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listener *l = w->data;

	ev_io_start(loop, &l->io);
}

static void
on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void
add_listener(struct options *o, const struct conn_ops *ops, const char *spec)
{
	struct listener *l;

	if (o->n_listeners == BACKEND_LISTENERS_MAX) {
		fprintf(stderr, "testbackend: at most %d listeners\n", BACKEND_LISTENERS_MAX);
		exit(EXIT_USAGE);
	}
	l = &o->listeners[o->n_listeners++];
	l->ops = ops;
	l->spec = spec;
	l->fd = -1;
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "smtp", required_argument, NULL, 's' },
		{ "imap", required_argument, NULL, 'i' },
		{ "pop3", required_argument, NULL, 'p' },
		{ "echo", required_argument, NULL, 'e' },
		{ "spool", required_argument, NULL, 'd' },
		{ "user", required_argument, NULL, 'u' },
		{ "pass", required_argument, NULL, 'P' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "advertise-tls", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->user = BACKEND_DEFAULT_USER;
	o->pass = BACKEND_DEFAULT_PASS;
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': add_listener(o, &smtp_ops, optarg); break;
		case 'i': add_listener(o, &imap_ops, optarg); break;
		case 'p': add_listener(o, &pop3_ops, optarg); break;
		case 'e': add_listener(o, &echo_ops, optarg); break;
		case 'd': o->spool_dir = optarg; break;
		case 'u': o->user = optarg; break;
		case 'P': o->pass = optarg; break;
		case 'r': o->ready_file = optarg; break;
		case 'v': o->verbose = true; break;
		case 't': o->advertise_tls = true; break;
		default: usage();
		}
	}
	if (optind != argc || o->n_listeners == 0)
		usage();
	if (strlen(o->user) >= AUTH_FIELD_MAX || strlen(o->pass) >= AUTH_FIELD_MAX) {
		fprintf(stderr, "testbackend: --user and --pass: at most %d bytes\n", AUTH_FIELD_MAX - 1);
		exit(EXIT_USAGE);
	}
}

/* Writes line to path through a temp file and rename, so a reader sees
 * either nothing or the whole line. */
static int
write_ready_file(const char *path, const char *line)
{
	char tmp[4096];
	FILE *f;
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		fprintf(stderr, "testbackend: %s: path too long\n", path);
		return -1;
	}
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "testbackend: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	rc = fputs(line, f) < 0 ? -1 : 0;
	if (fclose(f) != 0 || rc == -1 || rename(tmp, path) == -1) {
		fprintf(stderr, "testbackend: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
announce_ready(const struct options *o)
{
	char line[READY_LINE_MAX];
	size_t n = (size_t)snprintf(line, sizeof(line), "ready");

	for (size_t i = 0; i < o->n_listeners; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%s",
		    o->listeners[i].ops->name, o->listeners[i].addr);
	snprintf(line + n, sizeof(line) - n, "\n");
	if (fputs(line, stdout) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "testbackend: stdout: %s\n", strerror(errno));
		return -1;
	}
	return o->ready_file != NULL ? write_ready_file(o->ready_file, line) : 0;
}

static int
start_listeners(struct options *o, struct backend_ctx *ctx)
{
	for (size_t i = 0; i < o->n_listeners; i++) {
		struct listener *l = &o->listeners[i];

		if (listener_open(l) == -1)
			return -1;
		l->ctx = ctx;
		ev_io_init(&l->io, listener_on_accept, l->fd, EV_READ);
		ev_init(&l->pause, listener_on_resume);
		l->io.data = l->pause.data = l;
		ev_io_start(ctx->loop, &l->io);
	}
	return 0;
}

static void
stop_listeners(struct options *o, struct backend_ctx *ctx)
{
	for (size_t i = 0; i < o->n_listeners; i++) {
		struct listener *l = &o->listeners[i];

		if (l->fd == -1)
			continue;
		ev_io_stop(ctx->loop, &l->io);
		ev_timer_stop(ctx->loop, &l->pause);
		close(l->fd);
	}
}

int
main(int argc, char **argv)
{
	static struct options o;             /* static: the listeners are large */
	struct backend_ctx ctx = { 0 };
	ev_signal sigterm, sigint;
	char err[512];
	int status = 1;

	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	ctx.user = o.user;
	ctx.pass = o.pass;
	ctx.verbose = o.verbose;
	ctx.advertise_tls = o.advertise_tls;
	if (gethostname(ctx.hostname, sizeof(ctx.hostname) - 1) == -1 || ctx.hostname[0] == '\0')
		snprintf(ctx.hostname, sizeof(ctx.hostname), "localhost");
	if ((ctx.loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		fprintf(stderr, "testbackend: cannot start libev\n");
		return 1;
	}
	if ((ctx.mailbox = mailbox_open(o.spool_dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "testbackend: mailbox: %s\n", err);
		goto out;
	}
	/* Signals first: a test may send SIGTERM as soon as it reads the ready line. */
	ev_signal_init(&sigterm, on_stop_signal, SIGTERM);
	ev_signal_init(&sigint, on_stop_signal, SIGINT);
	ev_signal_start(ctx.loop, &sigterm);
	ev_signal_start(ctx.loop, &sigint);
	if (start_listeners(&o, &ctx) == 0 && announce_ready(&o) == 0) {
		ev_run(ctx.loop, 0);
		status = 0;
	}
	ev_signal_stop(ctx.loop, &sigterm);
	ev_signal_stop(ctx.loop, &sigint);
out:
	conn_close_all(&ctx);
	stop_listeners(&o, &ctx);
	mailbox_free(ctx.mailbox);
	ev_loop_destroy(ctx.loop);
	return status;
}
