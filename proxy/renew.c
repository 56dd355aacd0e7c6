/* renew.c: the renewal schedule on the main loop, the work in a thread. */
#include "proxy/renew.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "certstore/certstore.h"
#include "proxy/certwatch.h"
#include "proxy/daemon.h"
#include "proxy/hookrun.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"
#include "proxy/swap.h"

#define RENEW_WARN_DAYS        30
#define RENEW_ERROR_DAYS       7
#define RENEW_WARN_EVERY_S     86400
#define RENEW_ERROR_EVERY_S    3600

/* What the schedule remembers of one name between checks. */
struct name_state {
	char name[CS_NAME_MAX + 1];
	time_t next_try;                      /* after a failed renewal */
	time_t next_warning;                  /* for a certificate we cannot renew */
	unsigned renewed_version;             /* the version this daemon made last, */
	time_t renewed_at;                    /* when, */
	bool stall_logged;                    /* and whether it was found due at birth */
};

struct renewer {
	struct daemon *d;
	ev_timer timer;
	ev_async done;                        /* the renewal thread finished */
	bool busy;
	pthread_t thread;
	/* the job, written by the loop before the thread starts */
	char dir[CS_PATH_MAX];
	char name[CS_NAME_MAX + 1];
	/* the outcome, written by the thread before it signals done */
	int rc;
	struct cs_change change;
	struct cs_error err;
	struct name_state states[CONFIG_MAX_SERVICES];
	unsigned n_states;
};

static struct name_state *
state_of(struct renewer *r, const char *name)
{
	for (unsigned i = 0; i < r->n_states; i++)
		if (strcmp(r->states[i].name, name) == 0)
			return &r->states[i];
	if (r->n_states == CONFIG_MAX_SERVICES)
		return NULL;
	r->states[r->n_states] = (struct name_state){ .next_try = 0 };
	snprintf(r->states[r->n_states].name, sizeof(r->states[0].name), "%s", name);
	return &r->states[r->n_states++];
}

/* --- the renewal thread ---------------------------------------------------------------- */

static void *
renew_thread(void *arg)
{
	struct renewer *r = arg;
	struct cs_renew_params p = { .name = r->name, .now = time(NULL) };
	struct certstore *cs = certstore_open(r->dir, &r->err);

	r->rc = cs != NULL ? certstore_renew(cs, &p, &r->change, NULL, &r->err) : -1;
	certstore_close(cs);
	ev_async_send(r->d->loop, &r->done);
	return NULL;
}

static void
renew_start(struct renewer *r, struct certstore *store, const char *name)
{
	snprintf(r->dir, sizeof(r->dir), "%s", certstore_dir(store));
	snprintf(r->name, sizeof(r->name), "%s", name);
	log_notice("renew: %s is due; renewing with a new key", name);
	r->busy = true;
	if (pthread_create(&r->thread, NULL, renew_thread, r) != 0) {
		r->busy = false;
		log_error("renew: %s: cannot start a thread; will try again", name);
	}
}

static void
done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct renewer *r = a->data;
	struct name_state *st = state_of(r, r->name);

	pthread_join(r->thread, NULL);
	r->busy = false;
	if (r->rc == -1) {
		log_error("renew: %s failed, still serving the current version; next try in %.0fs: %s",
		    r->name, RENEW_RETRY_S, r->err.msg);
		if (st != NULL)
			st->next_try = time(NULL) + (time_t)RENEW_RETRY_S;
	} else {
		log_notice("renew: %s@%u issued (serial %s), was version %u", r->name,
		    r->change.version, r->change.serial, r->change.previous);
		if (st != NULL) {
			st->renewed_version = r->change.version;
			st->renewed_at = time(NULL);
			st->stall_logged = false;
		}
		if (r->d->snap != NULL && r->d->snap->store != NULL)
			hookrun_start(r->d->snap->store, &r->change);
		certwatch_check_now(r->d->certwatch);
	}
	ev_feed_event(loop, &r->timer, EV_TIMER);   /* schedule what comes next */
}

/* --- the schedule ------------------------------------------------------------------------- */

/* The largest renewBefore among the services that follow name (0: the rule). */
static long
renew_before_for(const struct snapshot *snap, const char *name)
{
	long before = 0;

	for (unsigned i = 0; i < snap->n_services; i++) {
		const char *followed = swap_followed_name(&snap->services[i]);

		if (followed != NULL && strcmp(followed, name) == 0 &&
		    snap->services[i].conf->renew_before_s > before)
			before = snap->services[i].conf->renew_before_s;
	}
	return before;
}

/* An outside CA's certificate: louder as expiry nears, never every second. */
static void
warn_unrenewable(struct name_state *st, const struct cs_cert_info *info, time_t now)
{
	enum log_level level = LOG_LVL_WARN;
	time_t every = RENEW_WARN_EVERY_S;

	if (info->days_left > RENEW_WARN_DAYS || now < st->next_warning)
		return;
	if (info->not_after <= now)
		level = LOG_LVL_CRIT;
	if (info->days_left <= RENEW_ERROR_DAYS)
		every = RENEW_ERROR_EVERY_S;
	if (info->days_left <= RENEW_ERROR_DAYS && level != LOG_LVL_CRIT)
		level = LOG_LVL_ERROR;
	log_msg(level, "renew: %s (serial %s, issued by %s) %s %ld day%s: it is not from this "
	    "store's CA, so certwrapd cannot renew it; import its successor "
	    "(certwrapctl import %s ...)", info->name, info->serial, info->issuer,
	    info->not_after <= now ? "EXPIRED" : "expires in", info->days_left < 0 ?
	    -info->days_left : info->days_left, info->days_left == 1 ? "" : "s", info->name);
	st->next_warning = now + every;
}

/* A version this daemon made that was due for renewal the moment it was
 * made (its lifetime is not longer than renewBefore): renewing it would make
 * another such version, and so on without end. It is served, not renewed. */
static bool
due_at_birth(struct name_state *st, const struct cs_cert_info *info, time_t due_at)
{
	if (info->version != st->renewed_version || due_at > st->renewed_at)
		return false;
	if (!st->stall_logged)
		log_error("renew: %s@%u is due as soon as it is issued: it expires in %ld day%s, "
		    "within renewBefore; not renewing it again (lower renewBefore, or renew it for "
		    "longer: certwrapctl renew %s --days N)", info->name, info->version,
		    info->days_left, info->days_left == 1 ? "" : "s", info->name);
	st->stall_logged = true;
	return true;
}

/* Looks at one name; returns when it next needs looking at. */
static time_t
check_name(struct renewer *r, struct snapshot *snap, const char *name, time_t now)
{
	struct cs_cert_info info, ca;
	struct name_state *st = state_of(r, name);
	struct cs_error err;
	time_t due_at = now + (time_t)RENEW_CHECK_MAX_S;
	bool due = false, ours, have_ca;

	if (st == NULL || certstore_info(snap->store, name, 0, now, &info, &err) == -1)
		return due_at;
	have_ca = certstore_ca_info(snap->store, CS_CA_SIGNING, now, &ca, &err) == 0;
	ours = have_ca && strcmp(info.issuer, ca.subject) == 0;
	if (ours && certstore_renew_due(snap->store, name, renew_before_for(snap, name), now, &due,
	    &due_at, &err) == -1)
		log_error("renew: %s: %s", name, err.msg);
	if (ours && due && due_at_birth(st, &info, due_at))
		;
	else if (ours && due && now >= st->next_try && !r->busy)
		renew_start(r, snap->store, name);
	else if (!ours)
		warn_unrenewable(st, &info, now);
	if (due)
		due_at = st->next_try > now ? st->next_try : now + (time_t)RENEW_CHECK_MAX_S;
	cs_cert_info_clear(&info);
	if (have_ca)
		cs_cert_info_clear(&ca);
	return due_at;
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct renewer *r = t->data;
	struct snapshot *snap = r->d->snap;
	time_t now = time(NULL), next = now + (time_t)RENEW_CHECK_MAX_S;

	for (unsigned i = 0; snap != NULL && snap->store != NULL && i < snap->n_services; i++) {
		const char *name = swap_followed_name(&snap->services[i]);
		time_t at;

		/* each name once, at its first service */
		for (unsigned j = 0; name != NULL && j < i; j++) {
			const char *earlier = swap_followed_name(&snap->services[j]);

			if (earlier != NULL && strcmp(earlier, name) == 0)
				name = NULL;
		}
		if (name != NULL && (at = check_name(r, snap, name, now)) < next)
			next = at;
	}
	ev_timer_stop(loop, t);
	ev_timer_set(t, next > now ? (double)(next - now) : 1.0, 0.);
	ev_timer_start(loop, t);
}

struct renewer *
renew_new(struct daemon *d)
{
	struct renewer *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		log_error("renew: out of memory; certificates will not be renewed automatically");
		return NULL;
	}
	r->d = d;
	ev_timer_init(&r->timer, timer_cb, 0., 0.);
	r->timer.data = r;
	ev_async_init(&r->done, done_cb);
	r->done.data = r;
	ev_async_start(d->loop, &r->done);
	ev_timer_start(d->loop, &r->timer);
	return r;
}

void
renew_update(struct renewer *r)
{
	ev_timer_stop(r->d->loop, &r->timer);
	ev_timer_set(&r->timer, 0., 0.);
	ev_timer_start(r->d->loop, &r->timer);
}

void
renew_free(struct renewer *r)
{
	if (r == NULL)
		return;
	if (r->busy)
		pthread_join(r->thread, NULL);
	ev_timer_stop(r->d->loop, &r->timer);
	ev_async_stop(r->d->loop, &r->done);
	free(r);
}
