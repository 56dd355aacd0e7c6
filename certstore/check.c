/* check.c: the whole store judged at one instant, for monitoring: what
 * will stop a handshake or a client's revocation check now, and what will
 * soon. Each problem is one item with a state; the worst is the store's.
 * The judging of a single certificate is certstore_info's (the one
 * validation); this file adds the thresholds, the CA and the CRL. */
#include "certstore/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
cs_check_state_name(enum cs_check_state s)
{
	switch (s) {
	case CS_CHECK_OK: return "OK";
	case CS_CHECK_WARNING: return "WARNING";
	case CS_CHECK_CRITICAL: return "CRITICAL";
	case CS_CHECK_UNKNOWN: break;
	}
	return "UNKNOWN";
}

void
cs_check_clear(struct cs_check *c)
{
	free(c->items);
	memset(c, 0, sizeof(*c));
}

struct checker {
	struct certstore *cs;
	long warn_s, crit_s;
	time_t now;
	struct cs_check *out;
	size_t cap;
	bool oom;
};

static void __attribute__((format(printf, 4, 5)))
item(struct checker *k, enum cs_check_state state, const char *what, const char *fmt, ...)
{
	struct cs_check_item *it;
	va_list ap;

	if (k->out->n_items == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 8;

		if ((it = realloc(k->out->items, cap * sizeof(*it))) == NULL) {
			k->oom = true;
			return;
		}
		k->out->items = it;
		k->cap = cap;
	}
	it = &k->out->items[k->out->n_items++];
	it->state = state;
	snprintf(it->what, sizeof(it->what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(it->problem, sizeof(it->problem), fmt, ap);
	va_end(ap);
	if (state > k->out->state)
		k->out->state = state;
}

/* "expired 2030-01-01 (3 days ago)" or "expires 2030-01-20 (in 19 days)",
 * judged against the thresholds; nothing when far enough. */
static void
expiry(struct checker *k, const char *what, const char *label, time_t not_after)
{
	char date[32], dist[64];
	long left = (long)(not_after - k->now);

	cs_time_format(not_after, false, date, sizeof(date));
	cs_time_distance(not_after, k->now, dist, sizeof(dist));
	if (left < 0)
		item(k, CS_CHECK_CRITICAL, what, "%sexpired %s %s", label, date, dist);
	else if (left < k->crit_s)
		item(k, CS_CHECK_CRITICAL, what, "%sexpires %s %s", label, date, dist);
	else if (left < k->warn_s)
		item(k, CS_CHECK_WARNING, what, "%sexpires %s %s", label, date, dist);
}

static void
check_name(struct checker *k, const char *name)
{
	struct cs_cert_info i;
	struct cs_error err;
	char label[CS_TEXT_MAX + 32];

	if (certstore_info(k->cs, name, 0, k->now, &i, &err) == -1) {
		item(k, CS_CHECK_CRITICAL, name, "cannot be read: %s", err.msg);
		return;
	}
	k->out->n_certs++;
	switch (i.status) {
	case CS_STATUS_REVOKED:
		item(k, CS_CHECK_CRITICAL, name, "revoked (serial %s): renew it", i.serial);
		break;
	case CS_STATUS_INVALID:
		item(k, CS_CHECK_CRITICAL, name, "%s", i.problem);
		break;
	default:
		expiry(k, name, "", i.not_after);
		break;
	}
	/* the intermediates it sends may run out before it does */
	for (size_t c = 0; c < i.n_chain; c++) {
		snprintf(label, sizeof(label), "intermediate %s ", i.chain[c].subject);
		expiry(k, name, label, i.chain[c].not_after);
	}
	if (i.status != CS_STATUS_INVALID && i.not_after > k->now &&
	    (k->out->next_expiry == 0 || i.not_after < k->out->next_expiry)) {
		k->out->next_expiry = i.not_after;
		snprintf(k->out->next_name, sizeof(k->out->next_name), "%s", name);
	}
	cs_cert_info_clear(&i);
}

static void
check_ca(struct checker *k)
{
	struct cs_cert_info ca, root;
	struct cs_error err;
	char label[CS_TEXT_MAX + 32];

	if (certstore_ca_info(k->cs, CS_CA_SIGNING, k->now, &ca, &err) == -1) {
		item(k, CS_CHECK_CRITICAL, "ca", "%s", err.msg);
		return;
	}
	snprintf(label, sizeof(label), "the signing CA %s ", ca.subject);
	expiry(k, "ca", label, ca.not_after);
	if (certstore_ca_info(k->cs, CS_CA_ROOT, k->now, &root, &err) == -1) {
		item(k, CS_CHECK_CRITICAL, "root", "%s", err.msg);
	} else {
		if (strcmp(root.fingerprint, ca.fingerprint) != 0) {
			snprintf(label, sizeof(label), "the root CA %s ", root.subject);
			expiry(k, "root", label, root.not_after);
		}
		cs_cert_info_clear(&root);
	}
	cs_cert_info_clear(&ca);
}

static void
check_crl(struct checker *k)
{
	struct cs_crl_info c;
	struct cs_error err;
	char date[32], dist[64];
	long left;

	if (certstore_crl_info(k->cs, k->now, &c, &err) == -1) {
		item(k, CS_CHECK_CRITICAL, "crl", "%s", err.msg);
		return;
	}
	if (!c.exists) {
		if (c.n_index_revoked > 0)
			item(k, CS_CHECK_WARNING, "crl", "%zu certificate%s revoked but no CRL made: "
			    "run certwrapctl crl", c.n_index_revoked, c.n_index_revoked == 1 ? " is" :
			    "s are");
		return;
	}
	left = (long)(c.next_update - k->now);
	cs_time_format(c.next_update, true, date, sizeof(date));
	cs_time_distance(c.next_update, k->now, dist, sizeof(dist));
	if (left < 0)
		item(k, CS_CHECK_CRITICAL, "crl", "its nextUpdate %s passed %s: clients that check "
		    "it refuse every certificate; run certwrapctl crl", date, dist);
	else if (left < k->crit_s)
		item(k, CS_CHECK_CRITICAL, "crl", "its nextUpdate is %s %s: run certwrapctl crl",
		    date, dist);
	else if (c.stale)
		item(k, CS_CHECK_WARNING, "crl", "older than a revocation in the index: run "
		    "certwrapctl crl");
	else if (c.due)
		item(k, CS_CHECK_WARNING, "crl", "due to be made again (nextUpdate %s %s): run "
		    "certwrapctl crl, or renew --all", date, dist);
}

static int
compare_items(const void *a, const void *b)
{
	const struct cs_check_item *x = a, *y = b;

	return (int)y->state - (int)x->state;
}

int
certstore_check(struct certstore *cs, long warn_s, long crit_s, time_t now,
    struct cs_check *out, struct cs_error *err)
{
	struct checker k = { .cs = cs, .warn_s = warn_s, .crit_s = crit_s, .now = now,
		.out = out };
	char **names;

	memset(out, 0, sizeof(*out));
	if (certstore_names(cs, &names, err) == -1)
		return -1;
	for (char **n = names; *n != NULL; n++)
		check_name(&k, *n);
	cs_strv_free(names);
	check_ca(&k);
	check_crl(&k);
	if (k.oom) {
		cs_check_clear(out);
		cs_error_set(err, "%s: out of memory", cs->dir);
		return -1;
	}
	/* stable enough: items of one state keep the order they were found in */
	for (size_t i = 1; i < out->n_items; i++)
		for (size_t j = i; j > 0 && compare_items(&out->items[j - 1], &out->items[j]) > 0;
		    j--) {
			struct cs_check_item t = out->items[j];

			out->items[j] = out->items[j - 1];
			out->items[j - 1] = t;
		}
	return 0;
}
