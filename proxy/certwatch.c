/* certwatch.c: inotify and a one-second poll on the store's current links. */
#include "proxy/certwatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <ev.h>

#include "certstore/certstore.h"
#include "proxy/certsource.h"
#include "proxy/daemon.h"
#include "proxy/log.h"
#include "proxy/report.h"
#include "proxy/snapshot.h"
#include "proxy/swap.h"
#include "proxy/tls.h"

#define CERTWATCH_MAX_WATCHES  (SERVICE_MAX_WATCHED + 1)
#define SERVICE_MAX_WATCHED    CONFIG_MAX_SERVICES

struct certwatch {
	struct daemon *d;
	ev_timer poll;
	int inotify_fd;                       /* -1: polling only */
	ev_io inotify_io;
	int wds[CERTWATCH_MAX_WATCHES];
	unsigned n_wds;
};

/* One service: swap in its followed name's current version if it changed. */
static void
check_service(struct snapshot *snap, struct service *svc)
{
	const char *name = swap_followed_name(svc);
	struct report rep = { 0 };
	struct tlsctx *next;
	struct cs_error err;
	unsigned current;
	char old[sizeof(next->source)], where[CERTSOURCE_WHERE_MAX];

	if (name == NULL || snap->store == NULL ||
	    certstore_current(snap->store, name, &current, &err) == -1)
		return;                            /* no such name (yet): nothing to follow */
	if ((svc->tls != NULL && current == svc->tls->version) || current == svc->refused_version)
		return;
	/* a name a swap chose is not the config's: no FILE:LINE for it */
	certsource_where(where, sizeof(where), snap->cfg.file, svc->conf);
	if ((next = certsource_from_store(svc->conf, snap->cfg.file, svc->swap ? NULL : where,
	    snap->store, name, 0, &rep)) == NULL) {
		svc->refused_version = current;
		for (unsigned i = 0; i < rep.n_lines; i++)
			log_msg(rep.lines[i].kind == REPORT_ERROR ? LOG_LVL_ERROR : LOG_LVL_WARN,
			    "%s: %s@%u refused, still serving %s: %s", svc->conf->name, name, current,
			    svc->tls ? svc->tls->source : "nothing", rep.lines[i].text);
		report_free(&rep);
		return;
	}
	snprintf(old, sizeof(old), "%s", svc->tls ? svc->tls->source : "nothing");
	service_tls_swap(svc, next);
	svc->refused_version = 0;
	report_log(&rep, "");
	report_free(&rep);
	log_notice("%s: certificate %s (serial %s, expires in %ld days) now served, was %s: "
	    "the store's current version changed", svc->conf->name, next->source, next->serial,
	    cs_days_until(next->not_after, time(NULL)), old);
}

void
certwatch_check_now(struct certwatch *w)
{
	struct snapshot *snap = w->d->snap;

	for (unsigned i = 0; snap != NULL && i < snap->n_services; i++)
		check_service(snap, &snap->services[i]);
}

static void
poll_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	certwatch_check_now(t->data);
}

static void
inotify_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct certwatch *w = io->data;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* which entry changed does not matter: a check costs a readlink per name */
	while (read(w->inotify_fd, buf, sizeof(buf)) > 0)
		;
	certwatch_check_now(w);
}

static void
watch_dir(struct certwatch *w, const char *dir)
{
	int wd;

	if (w->inotify_fd == -1 || w->n_wds == CERTWATCH_MAX_WATCHES)
		return;
	wd = inotify_add_watch(w->inotify_fd, dir, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
	if (wd >= 0)
		w->wds[w->n_wds++] = wd;
}

void
certwatch_update(struct certwatch *w)
{
	struct snapshot *snap = w->d->snap;
	char path[PATH_MAX];

	for (unsigned i = 0; i < w->n_wds; i++)
		inotify_rm_watch(w->inotify_fd, w->wds[i]);
	w->n_wds = 0;
	if (snap == NULL || snap->store == NULL)
		return;
	/* certs/ sees a name's first version arrive; certs/NAME/ its current change */
	snprintf(path, sizeof(path), "%s/certs", certstore_dir(snap->store));
	watch_dir(w, path);
	for (unsigned i = 0; i < snap->n_services; i++) {
		const char *name = swap_followed_name(&snap->services[i]);

		if (name != NULL && snprintf(path, sizeof(path), "%s/certs/%s",
		    certstore_dir(snap->store), name) < (int)sizeof(path))
			watch_dir(w, path);
	}
	/* a swap or reload may have changed what is followed */
	certwatch_check_now(w);
}

struct certwatch *
certwatch_new(struct daemon *d)
{
	struct certwatch *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		log_error("certwatch: out of memory; store changes are picked up on reload only");
		return NULL;
	}
	w->d = d;
	if ((w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_errno(LOG_LVL_INFO, "certwatch: no inotify, polling every %.0fs", CERTWATCH_POLL_S);
	else {
		ev_io_init(&w->inotify_io, inotify_cb, w->inotify_fd, EV_READ);
		w->inotify_io.data = w;
		ev_io_start(d->loop, &w->inotify_io);
	}
	ev_timer_init(&w->poll, poll_cb, CERTWATCH_POLL_S, CERTWATCH_POLL_S);
	w->poll.data = w;
	ev_timer_start(d->loop, &w->poll);
	certwatch_update(w);
	return w;
}

void
certwatch_free(struct certwatch *w)
{
	if (w == NULL)
		return;
	ev_timer_stop(w->d->loop, &w->poll);
	if (w->inotify_fd != -1) {
		ev_io_stop(w->d->loop, &w->inotify_io);
		close(w->inotify_fd);
	}
	free(w);
}
