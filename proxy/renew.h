/* renew.h: renewing, before they expire, the certificates the store's CA
 * issued, and warning about those it cannot renew.
 *
 * For every name a service follows: when it is due (renewBefore, or the
 * store's rule: a third of its lifetime left, half for lifetimes of ten days
 * or less), a certificate issued by the store's own CA is renewed (new key)
 * and certwatch swaps it in. A renewed version that is due at once (its
 * lifetime is not longer than renewBefore) is served but not renewed again,
 * with an error: renewing it would never end. A certificate from an outside
 * CA cannot be renewed here: as it nears expiry it is logged with rising
 * severity (warning within 30 days, daily; error within 7, hourly; critical
 * once expired, hourly) and shown by status and check.
 *
 * The renewal itself (key generation, signing, fsync) runs in a thread with
 * its own store handle, so connections never wait for it; the main loop
 * only decides what is due and, when a renewal finished, swaps. */
#ifndef CERTWRAP_RENEW_H
#define CERTWRAP_RENEW_H

#define RENEW_CHECK_MAX_S      60.0       /* re-check at least this often */
#define RENEW_RETRY_S          300.0      /* after a failed renewal */

struct daemon;
struct renewer;

/* Starts on d's loop; NULL when out of memory (logged). */
struct renewer *renew_new(struct daemon *d);

/* After a reload: schedule for the new snapshot's names at once. */
void renew_update(struct renewer *r);

/* Waits for a renewal in progress, then frees. NULL is a no-op. */
void renew_free(struct renewer *r);

#endif
