/* relay.h: moving bytes both ways between the TLS client and the backend.
 *
 * Each direction (struct pipe) has one bounded buffer: a full buffer stops
 * its reader, which is the backpressure. relay_run does every read and write
 * that can progress, then relay_arm sets the watchers in one place. */
#ifndef CERTWRAP_RELAY_H
#define CERTWRAP_RELAY_H

struct conn;

/* Backend connected: start relaying. */
void relay_start(struct conn *c);

/* A socket of c is ready: move what can be moved; close c when both
 * directions have ended or one failed. */
void relay_run(struct conn *c);

#endif
