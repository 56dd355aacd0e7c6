/* daemon.c: start, signals, drain and stop. */
#include "proxy/daemon.h"

#include <signal.h>
#include <string.h>
#include <syslog.h>

#include "proxy/certwatch.h"
#include "proxy/config.h"
#include "proxy/control.h"
#include "proxy/conn.h"
#include "proxy/limits.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/reload.h"
#include "proxy/renew.h"
#include "proxy/report.h"
#include "proxy/snapshot.h"
#include "proxy/storejob.h"
#include "proxy/tickets.h"

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

static void
drained(struct worker *w)
{
	struct daemon *d = w->owner;

	log_notice("shutdown: all connections closed");
	ev_break(d->worker.loop, EVBREAK_ALL);
}

static void
drain_deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;

	log_notice("shutdown: closing %u connection%s still open after %.0fs",
	    d->worker.n_conns, d->worker.n_conns == 1 ? "" : "s", SHUTDOWN_DRAIN_S);
	worker_close_all(&d->worker);
	ev_break(loop, EVBREAK_ALL);
}

/* Stop accepting at once (the listening sockets are closed, so new clients
 * are refused rather than left waiting) and let open connections finish. */
static void
daemon_stop(struct daemon *d, const char *why)
{
	struct listener *next;

	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("shutdown: %s; draining %u connection%s for up to %.0fs", why,
	    d->worker.n_conns, d->worker.n_conns == 1 ? "" : "s", SHUTDOWN_DRAIN_S);
	for (struct listener *l = d->worker.listeners; l != NULL; l = next) {
		next = l->next;
		listener_stop(l);
		listener_free(l);
	}
	d->worker.listeners = NULL;
	ev_timer_start(d->worker.loop, &d->drain_deadline);
	worker_drain(&d->worker);
}

static void
log_connections(struct daemon *d)
{
	ev_tstamp now = ev_now(d->worker.loop);
	static const char *const states[] = {
		[CONN_HANDSHAKE] = "handshake", [CONN_CONNECTING] = "connecting",
		[CONN_UPSTREAM_STARTTLS] = "upstream-starttls", [CONN_RELAY] = "relay",
		[CONN_DIALOGUE] = "dialogue",
	};

	log_notice("connections: %u open", d->worker.n_conns);
	for (struct conn *c = d->worker.conns; c != NULL; c = c->next) {
		char client[ADDR_LABEL_BYTES];

		addr_format((const struct sockaddr *)&c->peer, client, sizeof(client));
		log_notice("connections: %s client=%s state=%s age=%.0fs in=%llu out=%llu",
		    c->svc->conf->name, client, states[c->state], now - c->started,
		    (unsigned long long)c->to_backend.bytes, (unsigned long long)c->to_client.bytes);
	}
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
	ev_signal_start(d->worker.loop, w);
	/* signal watchers alone do not keep the loop running */
	ev_unref(d->worker.loop);
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
	ev_timer_again(d->worker.loop, &d->ticket_rotation);
}

int
daemon_start(struct daemon *d, struct snapshot *snap, struct report *rep)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);

	if (loop == NULL) {
		report_error(rep, "cannot initialise the event loop (libev)");
		return -1;
	}
	worker_init(&d->worker, loop);
	d->worker.owner = d;
	d->worker.on_drained = drained;
	if (reload_listeners(&d->worker, snap, rep) == -1)     /* binds and starts them */
		return -1;
	d->snap = snapshot_ref(snap);
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
	ev_run(d->worker.loop, 0);
	daemon_cleanup(d);
}

void
daemon_cleanup(struct daemon *d)
{
	struct listener *next;

	if (d->worker.loop == NULL)
		return;
	storejob_free(d->storejobs);       /* before the control socket: it answers */
	d->storejobs = NULL;
	renew_free(d->renewer);
	d->renewer = NULL;
	certwatch_free(d->certwatch);
	d->certwatch = NULL;
	control_close(d->control);
	d->control = NULL;
	worker_close_all(&d->worker);
	for (struct listener *l = d->worker.listeners; l != NULL; l = next) {
		next = l->next;
		listener_stop(l);
		listener_free(l);
	}
	d->worker.listeners = NULL;
	ev_timer_stop(d->worker.loop, &d->drain_deadline);
	ev_timer_stop(d->worker.loop, &d->ticket_rotation);
	snapshot_unref(d->snap);
	d->snap = NULL;
}
