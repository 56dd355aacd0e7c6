/* reload.c: build everything new off to the side, then commit or discard. */
#include "proxy/reload.h"

#include <stdlib.h>
#include <string.h>

#include "proxy/acceptor.h"
#include "proxy/certwatch.h"
#include "proxy/control.h"
#include "proxy/daemon.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/report.h"
#include "proxy/renew.h"
#include "proxy/snapshot.h"
#include "proxy/swap.h"

static struct listener *
find_listener(struct listener *list, const struct addr *a)
{
	for (struct listener *l = list; l != NULL; l = l->next)
		if (addr_equal(&l->addr, a))
			return l;
	return NULL;
}

/* One listener of the new set and the service it serves. */
struct planned {
	struct listener *l;
	unsigned svc_index;
	bool fresh;                       /* bound by this reload */
};

static unsigned
count_accept(const struct snapshot *snap)
{
	unsigned n = 0;

	for (unsigned i = 0; i < snap->n_services; i++)
		n += snap->services[i].n_accept;
	return n;
}

/* Finds or binds a listener for every accept address of snap. */
static int
plan_listeners(struct acceptor *a, struct snapshot *snap, struct planned *plan,
    struct report *rep)
{
	unsigned n = 0, errors_before = rep->n_errors;
	char err[256];

	for (struct listener *l = a->listeners; l != NULL; l = l->next)
		l->keep = false;
	for (unsigned i = 0; i < snap->n_services; i++) {
		const struct service *svc = &snap->services[i];

		for (unsigned i_a = 0; i_a < svc->n_accept; i_a++, n++) {
			struct listener *old = find_listener(a->listeners, &svc->accept[i_a]);

			plan[n] = (struct planned){ old, i, old == NULL };
			if (old != NULL)
				old->keep = true;
			else if ((plan[n].l = listener_open(&svc->accept[i_a], err, sizeof(err))) == NULL)
				report_error(rep, "%s:%u: accept: cannot listen on %s",
				    snap->cfg.file, svc->conf->accept.line, err);
		}
	}
	return rep->n_errors > errors_before ? -1 : 0;
}

static void
commit_listeners(struct acceptor *a, struct snapshot *snap, struct planned *plan, unsigned n)
{
	struct listener *old = a->listeners, *next;

	for (struct listener *l = old; l != NULL; l = next) {
		next = l->next;
		if (!l->keep) {
			log_notice("listener %s closed (no longer in the config)", l->addr.label);
			listener_stop(l);
			listener_free(l);
		}
	}
	a->listeners = NULL;
	for (unsigned i = n; i-- > 0;) {
		struct listener *l = plan[i].l;

		l->snap = snap;
		l->svc_index = plan[i].svc_index;
		l->next = a->listeners;
		a->listeners = l;
		if (plan[i].fresh) {
			log_info("%s: listening on %s", snap->services[l->svc_index].conf->name,
			    l->addr.label);
			if (!a->stopped)
				listener_start(l, a);
		}
	}
}

int
reload_listeners(struct acceptor *a, struct snapshot *snap, struct report *rep)
{
	unsigned n = count_accept(snap);
	struct planned *plan = calloc(n ? n : 1, sizeof(*plan));

	if (plan == NULL) {
		report_error(rep, "%s: out of memory", snap->cfg.file);
		return -1;
	}
	if (plan_listeners(a, snap, plan, rep) == -1) {
		for (unsigned i = 0; i < n; i++)
			if (plan[i].fresh)
				listener_free(plan[i].l);
		free(plan);
		return -1;
	}
	commit_listeners(a, snap, plan, n);
	free(plan);
	return 0;
}

static bool
str_changed(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* What stunnel does not reload either: say so instead of pretending. */
static void
warn_restart_only(const struct config *old, const struct config *next, struct report *rep)
{
	if (old->foreground != next->foreground)
		report_warn(rep, "%s: foreground: changes take effect at the next restart", next->file);
	if (old->workers != next->workers)
		report_warn(rep, "%s: workers: changes take effect at the next restart", next->file);
	if (str_changed(old->pid_file.value, next->pid_file.value))
		report_warn(rep, "%s:%u: pid: changes take effect at the next restart", next->file,
		    next->pid_file.line);
	if (str_changed(old->setuid_user.value, next->setuid_user.value))
		report_warn(rep, "%s:%u: setuid: changes take effect at the next restart", next->file,
		    next->setuid_user.line);
	if (str_changed(old->setgid_group.value, next->setgid_group.value))
		report_warn(rep, "%s:%u: setgid: changes take effect at the next restart", next->file,
		    next->setgid_group.line);
}

int
reload_run(struct daemon *d, struct report *rep)
{
	struct log_settings ls;
	struct snapshot *next, *old = d->snap;
	char err[512];

	log_notice("reload: reading %s", d->config_path);
	if ((next = snapshot_load(d->config_path, CERTSOURCE_LIVE, rep)) == NULL)
		goto fail;
	warn_restart_only(&old->cfg, &next->cfg, rep);
	swap_carry_over(next, old, rep);
	daemon_log_settings(d, &next->cfg, &ls);
	if (reload_listeners(&d->acceptor, next, rep) == -1)
		goto fail;
	if (log_configure(&ls, err, sizeof(err)) == -1)
		report_warn(rep, "output: %s; logging continues as before", err);
	d->snap = next;
	snapshot_unref(old);
	if (control_configure(&d->control, d, &next->cfg, rep) == -1)
		report_warn(rep, "control: the control socket stays as it was");
	certwatch_update(d->certwatch);
	renew_update(d->renewer);
	daemon_tickets_update(d);
	acceptor_listeners_update(&d->acceptor);     /* the limits may have changed */
	report_log(rep, "reload: ");
	log_notice("reload: done services=%u warnings=%u", next->n_services, rep->n_warnings);
	return 0;
fail:
	report_log(rep, "reload: ");
	log_error("reload: failed, keeping the running configuration (%u error%s above)",
	    rep->n_errors, rep->n_errors == 1 ? "" : "s");
	snapshot_unref(next);
	return -1;
}
