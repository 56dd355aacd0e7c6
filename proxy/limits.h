/* limits.h: every size and count limit of certwrapd, in one place. */
#ifndef CERTWRAP_LIMITS_H
#define CERTWRAP_LIMITS_H

/* One relay buffer per direction holds one full TLS record's plaintext: a
 * read from the plaintext side becomes exactly one record, and one SSL_read
 * can always return a whole record. */
#define RELAY_BUF_BYTES        (16 * 1024)

/* Bytes one connection may move per wakeup before the loop serves others
 * (Redis caps its writes per event the same way, for fairness). */
#define RELAY_RUN_BUDGET_BYTES (256 * 1024)

/* accept4() calls per readiness event, so one busy listener cannot starve
 * the connections already open. */
#define ACCEPT_BATCH           64

/* After EMFILE/ENFILE, accepting pauses this long (or until a connection
 * closes) instead of spinning on a listener that stays readable. */
#define ACCEPT_PAUSE_S         0.5

#define LISTEN_BACKLOG         1024

/* SIGTERM: open connections get this long to finish before they are cut. */
#define SHUTDOWN_DRAIN_S       10.0

/* Address text: "[ffff:...:ffff]:65535" and a little room. */
#define ADDR_LABEL_BYTES       64

/* Client mode's STARTTLS dialogue with the upstream (starttls_client.c):
 * the longest reply line taken (IMAP capability lists are the long ones),
 * the lines of the whole dialogue, and the greeting kept for the client,
 * which must fit the relay buffer it is handed over in. */
#define STARTTLS_CLIENT_LINE_MAX     2048
#define STARTTLS_CLIENT_LINES_MAX    128
#define STARTTLS_CLIENT_GREETING_MAX 4096

#endif
