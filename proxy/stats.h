/* stats.h: per-service counters, for `certwrapctl stats` and `status`.
 *
 * Connections count with relaxed atomics: no lock on the connection path.
 * Handshake failures are also counted by reason ("no shared cipher",
 * "certificate verify failed: ..."), in a small table under a mutex, since
 * failures are rare and their reasons few. A service's counters outlive a
 * reload: the new snapshot takes over those of the service of the same name. */
#ifndef CERTWRAP_STATS_H
#define CERTWRAP_STATS_H

#include <pthread.h>
#include <stdatomic.h>

#define STATS_MAX_REASONS      16         /* distinct reasons kept; the rest are "other" */
#define STATS_REASON_MAX       96

struct service_stats {
	atomic_uint refs;
	atomic_ullong connections;        /* accepted */
	atomic_ullong active;             /* open now */
	atomic_ullong handshakes;         /* completed */
	atomic_ullong handshake_failures; /* failed or timed out */
	atomic_ullong backend_failures;   /* no backend reachable */
	atomic_ullong bytes_in;           /* client to backend */
	atomic_ullong bytes_out;          /* backend to client */
	pthread_mutex_t lock;             /* reasons */
	struct {
		char reason[STATS_REASON_MAX];
		unsigned long long count;
	} reasons[STATS_MAX_REASONS];
	unsigned n_reasons;
	unsigned long long other_reasons;
};

struct service_stats *stats_new(void);             /* NULL when out of memory */
struct service_stats *stats_ref(struct service_stats *s);
void stats_unref(struct service_stats *s);          /* NULL is a no-op */

static inline void
stats_add(atomic_ullong *counter, unsigned long long n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline unsigned long long
stats_get(const atomic_ullong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

/* One more handshake failure, for this reason. */
void stats_handshake_failed(struct service_stats *s, const char *reason);

#endif
