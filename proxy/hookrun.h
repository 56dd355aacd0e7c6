/* hookrun.h: the store's hook command, run without stopping the daemon.
 *
 * A hook (certstore.conf [hooks] command, e.g. `systemctl reload postfix`)
 * runs after every change of a `current`, and may take up to its timeout.
 * The event loop must not wait for it, so it runs in a thread of its own,
 * with its own store handle; its outcome is logged, a failure as loudly
 * (error) as a success (notice). */
#ifndef CERTWRAP_HOOKRUN_H
#define CERTWRAP_HOOKRUN_H

struct certstore;
struct cs_change;

/* Starts the hook for change in store's directory; returns at once. A
 * failure to start is logged. */
void hookrun_start(struct certstore *store, const struct cs_change *change);

#endif
