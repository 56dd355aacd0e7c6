/* daemon.c: start, signals, drain and stop. */
#include "proxy/daemon.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "proxy/certwatch.h"
#include "proxy/config.h"
#include "proxy/control.h"
#include "proxy/limits.h"
#include "proxy/log.h"
#include "proxy/reload.h"
#include "proxy/renew.h"
#include "proxy/report.h"
#include "proxy/snapshot.h"
#include "proxy/storejob.h"
#include "proxy/tickets.h"
#include "proxy/worker.h"

void
daemon_log_settings(const struct daemon *d, const struct config *cfg, struct log_settings *out)
{
	bool foreground = d->foreground_flag || cfg->foreground != FOREGROUND_NO;

	*out = (struct log_settings){
		.level = (enum log_level)cfg->log_level,
		.to_stderr = foreground && cfg->foreground != FOREGROUND_QUIET,
		.to_syslog = cfg->syslog,
		.syslog_facility = cfg->syslog_facility,
		.output_path = cfg->output.value,
	};
}

/* On the worker's own thread: counted, and told to the main loop. */
static void
worker_drained(struct worker *w)
{
	struct daemon *d = w->owner;

	atomic_fetch_add(&d->n_drained, 1);
	ev_async_send(d->loop, &d->drained);
}

static void
drained_cb(struct ev_loop *loop, ev_async *as, int revents)
{
	struct daemon *d = as->data;

	if (atomic_load(&d->n_drained) < d->n_workers)
		return;
	log_notice("shutdown: all connections closed");
	ev_break(loop, EVBREAK_ALL);
}

static void
drain_deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;
	unsigned open = acceptor_open(&d->acceptor);

	/* daemon_cleanup closes them, on their workers */
	log_notice("shutdown: closing %u connection%s still open after %.0fs", open,
	    open == 1 ? "" : "s", SHUTDOWN_DRAIN_S);
	ev_break(loop, EVBREAK_ALL);
}

/* Stop accepting at once (the listening sockets are closed, so new clients
 * are refused rather than left waiting) and let open connections finish. */
static void
daemon_stop(struct daemon *d, const char *why)
{
	unsigned open = acceptor_open(&d->acceptor);

	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("shutdown: %s; draining %u connection%s for up to %.0fs", why, open,
	    open == 1 ? "" : "s", SHUTDOWN_DRAIN_S);
	acceptor_close_listeners(&d->acceptor);
	ev_timer_start(d->loop, &d->drain_deadline);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_request(&d->workers[i], WORKER_DRAIN);
}

static void
log_connections(struct daemon *d)
{
	unsigned open = acceptor_open(&d->acceptor);

	/* each worker lists its own, from its own thread */
	log_notice("connections: %u open on %u worker%s", open, d->n_workers,
	    d->n_workers == 1 ? "" : "s");
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_request(&d->workers[i], WORKER_LOG_CONNECTIONS);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	switch (w->signum) {
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		break;
	case SIGINT:
		daemon_stop(d, "SIGINT");
		break;
	case SIGHUP:
		if (!d->stopping) {
			struct report rep = { 0 };

			(void)reload_run(d, &rep);
			report_free(&rep);
		}
		break;
	case SIGUSR1:
		log_reopen();
		log_notice("log file reopened");
		break;
	case SIGUSR2:
		log_connections(d);
		break;
	}
}

static void
signal_watch(struct daemon *d, ev_signal *w, int signum)
{
	ev_signal_init(w, signal_cb, signum);
	w->data = d;
	ev_signal_start(d->loop, w);
	/* signal watchers alone do not keep the loop running */
	ev_unref(d->loop);
}

static void
ticket_rotation_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (tickets_rotate() == -1)
		log_error("tickets: cannot make a new session ticket key (the random generator "
		    "failed); the current one stays");
	else
		log_info("tickets: new session ticket key; the previous one still decrypts");
}

void
daemon_tickets_update(struct daemon *d)
{
	double lifetime = (double)d->snap->cfg.ticket_key_lifetime_s;

	if (d->ticket_rotation.repeat == lifetime)
		return;
	d->ticket_rotation.repeat = lifetime;
	ev_timer_again(d->loop, &d->ticket_rotation);
}

/* workers = 0 (the default): one per CPU this process may run on, which
 * follows taskset and cgroup cpusets rather than the machine's count. */
static unsigned
workers_wanted(const struct config *cfg)
{
	cpu_set_t cpus;
	int n;

	if (cfg->workers != 0)
		return cfg->workers;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && (n = CPU_COUNT(&cpus)) > 0)
		return n > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : (unsigned)n;
	return 1;
}

static int
workers_start(struct daemon *d, unsigned n, struct report *rep)
{
	char err[256];

	if ((d->workers = calloc(n, sizeof(*d->workers))) == NULL) {
		report_error(rep, "out of memory");
		return -1;
	}
	acceptor_init(&d->acceptor, d->loop, d->workers, n);
	worker_init(&d->workers[0], d->loop, &d->acceptor);
	d->n_workers = 1;
	for (unsigned i = 1; i < n; i++, d->n_workers++)
		if (worker_start_thread(&d->workers[i], i, &d->acceptor, err, sizeof(err)) == -1) {
			report_error(rep, "%s", err);
			return -1;
		}
	for (unsigned i = 0; i < n; i++) {
		d->workers[i].owner = d;
		d->workers[i].on_drained = worker_drained;
	}
	log_notice("workers: %u (%s)", n, d->snap->cfg.workers != 0 ? "workers =" :
	    "one per CPU this process may use");
	return 0;
}

int
daemon_start(struct daemon *d, struct snapshot *snap, struct report *rep)
{
	if ((d->loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		report_error(rep, "cannot initialise the event loop (libev)");
		return -1;
	}
	d->snap = snapshot_ref(snap);
	ev_async_init(&d->drained, drained_cb);
	d->drained.data = d;
	ev_async_start(d->loop, &d->drained);
	ev_unref(d->loop);
	if (workers_start(d, workers_wanted(&snap->cfg), rep) == -1)
		return -1;
	if (reload_listeners(&d->acceptor, snap, rep) == -1)     /* binds and starts them */
		return -1;
	if (control_configure(&d->control, d, &snap->cfg, rep) == -1)
		return -1;
	d->certwatch = certwatch_new(d);
	d->renewer = renew_new(d);
	d->storejobs = storejob_new(d);
	ev_init(&d->ticket_rotation, ticket_rotation_cb);
	d->ticket_rotation.data = d;
	daemon_tickets_update(d);
	ev_timer_init(&d->drain_deadline, drain_deadline_cb, SHUTDOWN_DRAIN_S, 0.);
	d->drain_deadline.data = d;
	signal_watch(d, &d->sig_term, SIGTERM);
	signal_watch(d, &d->sig_int, SIGINT);
	signal_watch(d, &d->sig_hup, SIGHUP);
	signal_watch(d, &d->sig_usr1, SIGUSR1);
	signal_watch(d, &d->sig_usr2, SIGUSR2);
	return 0;
}

void
daemon_run(struct daemon *d)
{
	ev_run(d->loop, 0);
	daemon_cleanup(d);
}

void
daemon_cleanup(struct daemon *d)
{
	if (d->loop == NULL)
		return;
	storejob_free(d->storejobs);       /* before the control socket: it answers */
	d->storejobs = NULL;
	renew_free(d->renewer);
	d->renewer = NULL;
	certwatch_free(d->certwatch);
	d->certwatch = NULL;
	control_close(d->control);
	d->control = NULL;
	acceptor_close_listeners(&d->acceptor);
	/* the threads first: each closes its own connections */
	for (unsigned i = d->n_workers; i-- > 0;)
		worker_stop(&d->workers[i]);
	acceptor_cleanup(&d->acceptor);
	free(d->workers);
	d->workers = NULL;
	d->n_workers = 0;
	ev_timer_stop(d->loop, &d->drain_deadline);
	ev_timer_stop(d->loop, &d->ticket_rotation);
	ev_ref(d->loop);
	ev_async_stop(d->loop, &d->drained);
	snapshot_unref(d->snap);
	d->snap = NULL;
	d->loop = NULL;
}
