/* limits.h: every size and count limit of certwrapd, in one place. */
#ifndef CERTWRAP_LIMITS_H
#define CERTWRAP_LIMITS_H

/* One relay buffer per direction, taken while data moves and released when
 * empty: four full TLS records' plaintext, so a transfer moves with one
 * recv() and one send() on the plaintext side per four records (SSL_write
 * still writes one record per call), and one SSL_read can always return a
 * whole record. */
#define RELAY_BUF_BYTES        (64 * 1024)

/* The TLS read buffer while a connection is reading (read ahead; released
 * when empty): four full records, taken with one recv(). */
#define TLS_READ_BUF_BYTES     (64 * 1024)

/* Free memory at the top of the heap (of each malloc arena) kept for the
 * next handshakes instead of being returned to the kernel at once. */
#define HEAP_TRIM_THRESHOLD_BYTES (4 * 1024 * 1024)

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

/* Descriptors that are not connections: listeners, the log, the control
 * socket, inotify, the store; subtracted when the start logs its room. */
#define FD_RESERVE             64

/* SIGTERM: open connections get this long to finish before they are cut. */
#define SHUTDOWN_DRAIN_S       10.0

/* The plaintext dialogue before STARTTLS (starttls.c): one line from the
 * client or the backend, CRLF included (RFC 5321 allows 512 bytes for a
 * command, IMAP capability lists run to a few hundred); a longer one gets
 * the protocol's error and a close. */
#define STARTTLS_LINE_MAX      4096

/* What the dialogue may queue for one side before it stops reading: a few
 * rewritten replies. At most RELAY_BUF_BYTES: it is handed to a relay pipe. */
#define STARTTLS_OUT_BYTES     (16 * 1024)

/* Commands the client may have in flight before the dialogue stops reading
 * it (pipelining before TLS); after TLS, the POP3 filter's command queue. */
#define STARTTLS_PENDING_MAX   32

/* An IMAP tag certwrapd answers itself; a longer one gets an untagged BAD. */
#define STARTTLS_TAG_MAX       64

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
