/* daemon.h: the running daemon: its config, acceptor, workers, signals.
 *
 * SIGHUP reloads (reload.c), SIGTERM/SIGINT stop accepting and drain open
 * connections up to SHUTDOWN_DRAIN_S, SIGUSR1 reopens the log file, SIGUSR2
 * logs the open connections. */
#ifndef CERTWRAP_DAEMON_H
#define CERTWRAP_DAEMON_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "proxy/acceptor.h"

struct certwatch;
struct config;
struct control;
struct log_settings;
struct renewer;
struct storejobs;
struct report;
struct snapshot;

struct daemon {
	const char *config_path;
	bool foreground_flag;             /* -f */
	struct snapshot *snap;            /* the running config; referenced */
	struct ev_loop *loop;             /* the main loop */
	struct acceptor acceptor;         /* on the main loop */
	struct worker *workers;           /* n_workers; [0] on the main loop */
	unsigned n_workers;
	ev_signal sig_term, sig_int, sig_hup, sig_usr1, sig_usr2;
	ev_timer drain_deadline;
	bool stopping;
	atomic_uint n_drained;            /* workers with no connection left */
	ev_async drained;                 /* ...told to the main loop */
	struct control *control;          /* the control socket, NULL when not configured */
	struct certwatch *certwatch;      /* follows the store's current versions */
	struct renewer *renewer;          /* renews the store CA's certificates */
	struct storejobs *storejobs;      /* store verbs from the control socket */
	ev_timer ticket_rotation;         /* every ticketKeyLifetime (tickets.h) */
};

/* Makes snap the running config (the daemon takes its own reference),
 * starts the workers and binds the listeners on the default loop. -1 with
 * errors in rep. */
int daemon_start(struct daemon *d, struct snapshot *snap, struct report *rep);

/* Follows a reload's ticketKeyLifetime: the next rotation is a whole new
 * lifetime from now when it changed. */
void daemon_tickets_update(struct daemon *d);

/* Runs until stopped by a signal; then closes what is left. */
void daemon_run(struct daemon *d);

/* Closes connections and listeners and drops the config (daemon_run does
 * it; also for a start that fails after daemon_start). */
void daemon_cleanup(struct daemon *d);

/* Log destinations for cfg: stderr when in the foreground (unless
 * `foreground = quiet`), syslog and output as configured. */
void daemon_log_settings(const struct daemon *d, const struct config *cfg,
    struct log_settings *out);

#endif
