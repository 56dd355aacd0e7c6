/* certwatch.h: following the store's current versions.
 *
 * When the current version of a name a service follows changes by any means
 * (a renewal, another certwrapctl, a rollback, an operator's openssl ca), the
 * daemon notices without being told: inotify on the store's certs/
 * directories wakes it at once, and a poll every CERTWATCH_POLL_S (one
 * readlink per name) catches what inotify cannot (no inotify, a store on
 * NFS, a missed event). The new version is validated like any certificate
 * (certsource_from_store) and swapped in; a version that fails keeps the
 * old one serving, is logged with its reason once, and is not retried. */
#ifndef CERTWRAP_CERTWATCH_H
#define CERTWRAP_CERTWATCH_H

#define CERTWATCH_POLL_S 1.0

struct daemon;
struct certwatch;

/* Starts watching on d's loop (the store and services of d->snap). NULL
 * when out of memory (logged); the daemon then only follows on reload. */
struct certwatch *certwatch_new(struct daemon *d);

/* After a reload: watch the directories of the new snapshot's names. */
void certwatch_update(struct certwatch *w);

/* Checks every followed name now (after a store verb or a renewal). */
void certwatch_check_now(struct certwatch *w);

void certwatch_free(struct certwatch *w);          /* NULL is a no-op */

#endif
