/* snapshot.h: a loaded configuration and everything built from it.
 *
 * A snapshot is the parsed config plus, per service, its resolved addresses
 * and its TLS context. It is built whole, off to the side, and either
 * replaces the running one (start, reload) or is thrown away: nothing is ever
 * half-applied. It is refcounted: each connection holds the snapshot it was
 * accepted under, so a reload never pulls a service's settings out from
 * under a connection. The one mutable part is each service's TLS context
 * pointer, which a certificate swap exchanges atomically. */
#ifndef CERTWRAP_SNAPSHOT_H
#define CERTWRAP_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "proxy/addr.h"
#include "proxy/certsource.h"
#include "proxy/config.h"

#define SERVICE_MAX_ACCEPT   8            /* addresses one `accept` may resolve to */
#define SERVICE_MAX_TARGETS  32           /* backend addresses, all `connect` lines */

struct certstore;
struct report;
struct service_stats;
struct swap_choice;
struct tlsctx;

struct service {
	const struct service_conf *conf;      /* inside the snapshot's config */
	struct addr accept[SERVICE_MAX_ACCEPT];
	unsigned n_accept;
	struct addr targets[SERVICE_MAX_TARGETS];   /* in failover order */
	const char *target_names[SERVICE_MAX_TARGETS];   /* client mode: the server name
	                                         (SNI) sent to each target; NULL: none */
	unsigned n_targets;

	pthread_mutex_t tls_lock;             /* guards tls between read+ref and swap */
	struct tlsctx *tls;                   /* NULL only under -t, before autoIssue */

	struct service *sni_primary;          /* a secondary's primary (sni =); NULL: none */

	struct service_stats *stats;          /* counters; taken over across reloads */
	struct swap_choice *swap;             /* what a swap chose; NULL: the config's */
	unsigned refused_version;             /* certwatch: a store version that failed to
	                                         validate, not tried again */
};

struct snapshot {
	atomic_uint refs;
	struct config cfg;
	struct certstore *store;              /* `certstore = DIR`, NULL when none */
	uid_t uid;                            /* setuid (the current user when unset) */
	gid_t gid;                            /* setgid (the current group when unset) */
	struct service *services;
	unsigned n_services;
};

/* Parses the config at path and builds every service: addresses resolved,
 * the store opened, certificates validated (and, in CERTSOURCE_LIVE mode,
 * issued by autoIssue), TLS contexts made. Every error and warning goes to
 * rep (FILE:LINE: option: why). NULL if there was any error. */
struct snapshot *snapshot_load(const char *path, enum certsource_mode mode, struct report *rep);

struct snapshot *snapshot_ref(struct snapshot *s);
void snapshot_unref(struct snapshot *s);        /* NULL is a no-op */

/* The service's current TLS context, with a reference the caller drops. */
struct tlsctx *service_tls_acquire(struct service *svc);

/* Makes next the service's context for every handshake from now on; the
 * previous one is released (freed when its last connection closes). Takes
 * the caller's reference to next. */
void service_tls_swap(struct service *svc, struct tlsctx *next);

#endif
