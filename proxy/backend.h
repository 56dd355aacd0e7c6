/* backend.h: connecting to a service's `connect` targets, in order.
 *
 * Every address of every `connect` line is tried in config order (stunnel's
 * `failover = prio`), each with TIMEOUTconnect; a failed attempt is logged
 * with its reason and the next one is tried. When none answers the client
 * is closed with end=backend-unreachable; the daemon carries on. */
#ifndef CERTWRAP_BACKEND_H
#define CERTWRAP_BACKEND_H

struct conn;

/* Starts with the first target. */
void backend_connect_start(struct conn *c);

/* The backend socket became writable while connecting. */
void backend_connect_event(struct conn *c);

/* TIMEOUTconnect passed for the current attempt. */
void backend_connect_timeout(struct conn *c);

#endif
