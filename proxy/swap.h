/* swap.h: changing the certificate a service serves, while it serves.
 *
 * A swap builds and validates a complete new TLS context off to the side
 * (the certstore's rules, and the service's host names covered), then
 * publishes it with one pointer exchange: every full handshake that starts after
 * that uses it; connections already open keep theirs; nothing else moves.
 * A refused certificate changes nothing and says why.
 *
 * What was swapped in is remembered (struct swap_choice) so that a reload,
 * which builds every service anew, serves it still: a swap lasts until the
 * next swap of that service, or until the service's certificate settings
 * in the config change. A swap to a store NAME follows NAME's current
 * version from then on (renewals, rollbacks); NAME@VERSION and files are
 * pinned. */
#ifndef CERTWRAP_SWAP_H
#define CERTWRAP_SWAP_H

#include <stdbool.h>
#include <stddef.h>

#define SWAP_NAME_MAX   64                /* CS_NAME_MAX */
#define SWAP_LABEL_MAX  256

struct certstore;
struct report;
struct service;
struct snapshot;

struct swap_choice {
	char name[SWAP_NAME_MAX + 1];     /* a store name; "" for PEM sent by certwrapctl */
	bool follow;                      /* NAME alone: follow its current version */
	unsigned version;                 /* NAME@VERSION: pinned */
	char *cert, *chain, *key;         /* PEM, when name is "" */
	size_t cert_len, chain_len, key_len;
	char label[SWAP_LABEL_MAX];       /* the files as certwrapctl named them */
};

/* A deep copy, or NULL when out of memory. */
struct swap_choice *swap_choice_dup(const struct swap_choice *c);
void swap_choice_free(struct swap_choice *c);      /* wipes the key; NULL is a no-op */

/* The store name whose current version svc follows: a following swap's
 * name, else the config's certname; NULL when it follows none. */
const char *swap_followed_name(const struct service *svc);

/* Builds svc's context from choice and, if it validates, makes it what svc
 * serves from now on; svc then keeps choice (ownership moves). -1 with the
 * reason in rep, svc and choice untouched (the caller frees choice). */
int swap_apply(struct service *svc, const char *config_file, struct certstore *store,
    struct swap_choice *choice, struct report *rep);

/* Reload: each service of next takes over the counters, and the swap, of
 * the service of the same name in old. A swap is rebuilt with next's
 * settings; one that no longer validates, or whose service changed its
 * certificate settings, is dropped with a warning in rep. */
void swap_carry_over(struct snapshot *next, const struct snapshot *old, struct report *rep);

#endif
