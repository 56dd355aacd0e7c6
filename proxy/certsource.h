/* certsource.h: where a service's certificate comes from.
 *
 * From its cert/key files (stunnel's way), from the certstore (`certname`:
 * the name's current version, issued from the store's CA on first use with
 * `autoIssue`), or from a swap. Every way ends in the certstore's validation
 * and tlsctx_build, so every certificate served has passed the same checks,
 * including covering the service's host names. */
#ifndef CERTWRAP_CERTSOURCE_H
#define CERTWRAP_CERTSOURCE_H

#include <stdbool.h>
#include <stddef.h>

struct certstore;
struct config;
struct report;
struct service_conf;
struct tlsctx;

enum certsource_mode {
	CERTSOURCE_CHECK,                 /* -t: change nothing; say what would be issued */
	CERTSOURCE_LIVE,                  /* start and reload: may create the CA and issue */
};

/* Opens cfg's store (`certstore = DIR`), creating its CA first when a
 * service wants autoIssue and the directory has none (in LIVE mode). *store
 * is NULL when the config names no store, or in CHECK mode when the store
 * does not exist yet. -1 with errors in rep. */
int certsource_open_store(const struct config *cfg, enum certsource_mode mode,
    struct certstore **store, struct report *rep);

/* The context sc should serve at start or reload: its files, or its
 * certname's current version (issued first when autoIssue allows it; an
 * expired current version gives way to a valid older one, loudly). NULL
 * with errors in rep; also NULL without error in CHECK mode when the name
 * would first be issued. */
struct tlsctx *certsource_load(const struct service_conf *sc, const struct config *cfg,
    struct certstore *store, enum certsource_mode mode, struct report *rep);

/* The context for sc serving the store's name at version (0: current),
 * validated like any other. where prefixes the messages about the name when
 * the config gave it ("certwrapd.conf:12: certname", certsource_where);
 * NULL for a name from elsewhere (a swap), whose messages name it alone. */
struct tlsctx *certsource_from_store(const struct service_conf *sc, const char *config_file,
    const char *where, struct certstore *store, const char *name, unsigned version,
    struct report *rep);

/* "FILE:LINE: certname", where sc's certname is, for certsource_from_store. */
#define CERTSOURCE_WHERE_MAX 4160
void certsource_where(char *buf, size_t len, const char *config_file,
    const struct service_conf *sc);

/* The context for sc from PEM text (a swap with files sent by certwrapctl):
 * cert holds the leaf and maybe its chain, chain more of it, key the key.
 * Trust anchors for the chain check: sc's CAfile/CApath, the system store
 * and the store's root when there is a store. label names the input. */
struct tlsctx *certsource_from_pem(const struct service_conf *sc, const char *config_file,
    struct certstore *store, const char *cert, size_t cert_len, const char *chain,
    size_t chain_len, const char *key, size_t key_len, const char *label, struct report *rep);

#endif
