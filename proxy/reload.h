/* reload.h: replacing the running config as a whole, or not at all.
 *
 * A reload builds a complete new snapshot (config parsed, addresses resolved,
 * certificates validated, TLS contexts made) and the listener set it needs,
 * reusing every bound listener whose address did not change, so no client is
 * refused during a reload. Only when everything succeeded does it commit; a
 * failure leaves the running config serving and logs why. */
#ifndef CERTWRAP_RELOAD_H
#define CERTWRAP_RELOAD_H

struct acceptor;
struct daemon;
struct report;
struct snapshot;

/* Points a's listeners at snap: listeners with an unchanged address are
 * kept, new addresses are bound, others closed. All or nothing: on failure
 * (errors in rep) a's listeners are untouched and -1 is returned. */
int reload_listeners(struct acceptor *a, struct snapshot *snap, struct report *rep);

/* SIGHUP and `certwrapctl reload`: reload the config file the daemon was
 * started with. Everything found goes to rep (and to the log); 0 when the
 * new configuration serves, -1 when the running one still does. */
int reload_run(struct daemon *d, struct report *rep);

#endif
