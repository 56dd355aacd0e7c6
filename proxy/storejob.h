/* storejob.h: store verbs from the control socket, run off the event loop.
 *
 * A store verb (issue, renew, sign, import, ...) may take seconds: key
 * generation, fsync, waiting for the store's lock. Connections must not wait
 * for it, so requests go to one worker thread, in order, which runs them
 * with ctl/ctlstore.c on a store handle of its own. The answer comes back
 * to the loop, which runs the store hooks (without blocking either), makes
 * certwatch look at once, and replies. */
#ifndef CERTWRAP_STOREJOB_H
#define CERTWRAP_STOREJOB_H

/* how long a client may wait for its store verb */
#define STOREJOB_TIMEOUT_S     120.0
#define STOREJOB_QUEUE_MAX     64

struct control_request;
struct ctl_msg;
struct daemon;
struct storejobs;

/* Starts the worker on d's loop. NULL when out of memory (logged). */
struct storejobs *storejob_new(struct daemon *d);

/* Queues req (copied) against the store in store_dir; r is answered when
 * it has run (at once, with an error, when the queue is full). */
void storejob_submit(struct storejobs *q, const char *store_dir, const struct ctl_msg *req,
    struct control_request *r);

/* Lets the running job finish (its answer is delivered), answers queued
 * ones with an error, and stops the worker. NULL is a no-op. */
void storejob_free(struct storejobs *q);

#endif
