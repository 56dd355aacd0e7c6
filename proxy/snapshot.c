/* snapshot.c: building a whole runtime configuration, or nothing. */
#include "proxy/snapshot.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certstore/certstore.h"
#include "proxy/report.h"
#include "proxy/sni.h"
#include "proxy/stats.h"
#include "proxy/swap.h"
#include "proxy/tls.h"
#include "proxy/tls_client.h"

static void
resolve_accept(struct service *svc, const char *file, struct report *rep)
{
	const struct conf_endpoint *ep = &svc->conf->accept;
	char err[256];
	int n;

	if (svc->conf->sni_primary != NULL)
		return;                           /* a secondary shares its primary's */
	n = addr_resolve(ep, ADDR_ACCEPT, svc->accept, SERVICE_MAX_ACCEPT, err, sizeof(err));
	if (n < 0)
		report_error(rep, "%s:%u: accept: %s", file, ep->line, err);
	else
		svc->n_accept = (unsigned)n;
}

static void
resolve_connect(struct service *svc, const char *file, struct report *rep)
{
	const struct service_conf *sc = svc->conf;
	char err[256];

	for (unsigned i = 0; i < sc->n_connect; i++) {
		const struct conf_endpoint *ep = &sc->connect[i];
		unsigned room = SERVICE_MAX_TARGETS - svc->n_targets;
		int n;

		if (room == 0) {
			report_error(rep, "%s:%u: connect: more than %d backend addresses in "
			    "[%s]", file, ep->line, SERVICE_MAX_TARGETS, sc->name);
			return;
		}
		n = addr_resolve(ep, ADDR_CONNECT, svc->targets + svc->n_targets, room, err,
		    sizeof(err));
		if (n < 0) {
			report_error(rep, "%s:%u: connect: %s", file, ep->line, err);
			continue;
		}
		for (int k = 0; k < n && sc->client; k++)
			svc->target_names[svc->n_targets + (unsigned)k] = tls_client_server_name(sc, ep);
		svc->n_targets += (unsigned)n;
	}
}

/* Two services may not listen on the same address. */
static void
check_accept_conflicts(const struct snapshot *s, const char *file, struct report *rep)
{
	for (unsigned i = 0; i < s->n_services; i++)
		for (unsigned j = i + 1; j < s->n_services; j++)
			for (unsigned a = 0; a < s->services[i].n_accept; a++)
				for (unsigned b = 0; b < s->services[j].n_accept; b++)
					if (addr_equal(&s->services[i].accept[a], &s->services[j].accept[b]))
						report_error(rep, "%s:%u: accept: [%s] and [%s] (line %u) "
						    "both listen on %s", file, s->services[j].conf->accept.line,
						    s->services[j].conf->name, s->services[i].conf->name,
						    s->services[i].conf->accept.line,
						    s->services[i].accept[a].label);
}

/* A name from the user or group database, or a number. */
static bool
lookup_id(const char *name, bool group, unsigned long *id)
{
	struct passwd *pw = group ? NULL : getpwnam(name);
	struct group *gr = group ? getgrnam(name) : NULL;
	char *end;

	if (pw != NULL || gr != NULL) {
		*id = pw != NULL ? pw->pw_uid : gr->gr_gid;
		return true;
	}
	*id = strtoul(name, &end, 10);
	return end != name && *end == '\0';
}

static void
resolve_ids(struct snapshot *s, struct report *rep)
{
	const struct conf_str *u = &s->cfg.setuid_user, *g = &s->cfg.setgid_group;
	unsigned long id;

	s->uid = getuid();
	s->gid = getgid();
	if (g->value != NULL && !lookup_id(g->value, true, &id))
		report_error(rep, "%s:%u: setgid: no group \"%s\" on this system", s->cfg.file,
		    g->line, g->value);
	else if (g->value != NULL)
		s->gid = (gid_t)id;
	if (u->value != NULL && !lookup_id(u->value, false, &id))
		report_error(rep, "%s:%u: setuid: no user \"%s\" on this system", s->cfg.file,
		    u->line, u->value);
	else if (u->value != NULL)
		s->uid = (uid_t)id;
}

/* "127.0.0.1:143 [::1]:143": addresses as -t and the start-up log show them. */
static void
labels_join(const struct addr *a, unsigned n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? " " : "", a[i].label);

		used += w > 0 ? (size_t)w : 0;
	}
}

static void
service_init(struct snapshot *snap, struct service *svc, const struct service_conf *sc,
    enum certsource_mode mode, struct report *rep)
{
	const char *file = snap->cfg.file;
	char accept[SERVICE_MAX_ACCEPT * ADDR_LABEL_BYTES];
	char targets[SERVICE_MAX_TARGETS * ADDR_LABEL_BYTES];

	svc->conf = sc;
	pthread_mutex_init(&svc->tls_lock, NULL);
	if ((svc->stats = stats_new()) == NULL)
		report_error(rep, "%s:%u: [%s]: out of memory", file, sc->line, sc->name);
	resolve_accept(svc, file, rep);
	resolve_connect(svc, file, rep);
	svc->tls = sc->client ? tls_client_build(sc, file, rep)
	    : certsource_load(sc, &snap->cfg, snap->store, mode, rep);
	labels_join(svc->accept, svc->n_accept, accept, sizeof(accept));
	if (sc->sni_primary != NULL)
		snprintf(accept, sizeof(accept), "that of [%s] for %s", sc->sni_primary,
		    sc->sni_pattern ? sc->sni_pattern : "its certificate's names");
	labels_join(svc->targets, svc->n_targets, targets, sizeof(targets));
	if (sc->sni_primary != NULL && sc->n_connect == 0)
		snprintf(targets, sizeof(targets), "that of [%s]", sc->sni_primary);
	if (svc->tls != NULL)
		report_info(rep, "[%s] accept %s, connect %s, %s (%s)", sc->name, accept, targets,
		    svc->tls->summary, svc->tls->source);
}

/* Each secondary points to its primary (config_sni.c checked the names). */
static void
link_secondaries(struct snapshot *s, struct report *rep)
{
	for (unsigned i = 0; i < s->n_services; i++) {
		const char *name = s->services[i].conf->sni_primary;

		for (unsigned j = 0; name != NULL && j < s->n_services; j++)
			if (strcmp(s->services[j].conf->name, name) == 0)
				s->services[i].sni_primary = &s->services[j];
		if (name != NULL)
			sni_check_secondary(&s->services[i], s->cfg.file, rep);
	}
}

struct snapshot *
snapshot_load(const char *path, enum certsource_mode mode, struct report *rep)
{
	unsigned errors_before = rep->n_errors;
	struct config_error cerr;
	struct snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		report_error(rep, "%s: out of memory", path);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	if (config_parse_file(path, &s->cfg, &cerr) == -1) {
		report_add_lines(rep, REPORT_ERROR, cerr.msg);
		snapshot_unref(s);
		return NULL;
	}
	resolve_ids(s, rep);
	if ((s->services = calloc(s->cfg.n_services, sizeof(*s->services))) == NULL) {
		report_error(rep, "%s: out of memory", path);
		snapshot_unref(s);
		return NULL;
	}
	if (certsource_open_store(&s->cfg, mode, &s->store, rep) == 0)
		for (unsigned i = 0; i < s->cfg.n_services; i++, s->n_services++)
			service_init(s, &s->services[i], &s->cfg.services[i], mode, rep);
	link_secondaries(s, rep);
	check_accept_conflicts(s, path, rep);
	if (rep->n_errors > errors_before) {
		snapshot_unref(s);
		return NULL;
	}
	return s;
}

struct snapshot *
snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void
snapshot_unref(struct snapshot *s)
{
	if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (unsigned i = 0; i < s->n_services; i++) {
		tlsctx_unref(s->services[i].tls);
		stats_unref(s->services[i].stats);
		swap_choice_free(s->services[i].swap);
		pthread_mutex_destroy(&s->services[i].tls_lock);
	}
	free(s->services);
	certstore_close(s->store);
	config_free(&s->cfg);
	free(s);
}

struct tlsctx *
service_tls_acquire(struct service *svc)
{
	struct tlsctx *t;

	pthread_mutex_lock(&svc->tls_lock);
	t = tlsctx_ref(svc->tls);
	pthread_mutex_unlock(&svc->tls_lock);
	return t;
}

void
service_tls_swap(struct service *svc, struct tlsctx *next)
{
	struct tlsctx *old;

	pthread_mutex_lock(&svc->tls_lock);
	old = svc->tls;
	svc->tls = next;
	pthread_mutex_unlock(&svc->tls_lock);
	tlsctx_unref(old);
}
