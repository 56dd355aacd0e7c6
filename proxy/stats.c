/* stats.c: counters and the table of handshake failure reasons. */
#include "proxy/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct service_stats *
stats_new(void)
{
	struct service_stats *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

struct service_stats *
stats_ref(struct service_stats *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void
stats_unref(struct service_stats *s)
{
	if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
stats_handshake_failed(struct service_stats *s, const char *reason)
{
	unsigned i;

	stats_add(&s->handshake_failures, 1);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n_reasons; i++)
		if (strncmp(s->reasons[i].reason, reason, STATS_REASON_MAX - 1) == 0)
			break;
	if (i == s->n_reasons && i < STATS_MAX_REASONS) {
		snprintf(s->reasons[i].reason, STATS_REASON_MAX, "%s", reason);
		s->n_reasons++;
	}
	if (i < STATS_MAX_REASONS)
		s->reasons[i].count++;
	else
		s->other_reasons++;
	pthread_mutex_unlock(&s->lock);
}
