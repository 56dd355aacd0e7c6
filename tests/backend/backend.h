/* backend.h: the test backend's internal header, shared by every file in tests/backend/.
 *
 * testbackend is the plaintext server behind certwrapd in the integration
 * tests: just enough SMTP, IMAP and POP3 for smtplib, imaplib, poplib and
 * curl, plus an echo service for bulk tests. One thread, one libev loop,
 * non-blocking sockets, every buffer bounded.
 *
 * backend_X.c exports X_*: conn_* (backend_conn.c: I/O, lines, backpressure),
 * auth_* (backend_auth.c), mailbox_* (backend_mailbox.c), and smtp_ops,
 * imap_ops, pop3_ops, echo_ops (one file per protocol). */
#ifndef CERTWRAP_TESTBACKEND_H
#define CERTWRAP_TESTBACKEND_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

/* Every limit, in one place. */
#define BACKEND_LINE_MAX      8192                 /* one protocol line, CRLF included */
#define CONN_IN_SIZE          (32 * 1024)          /* read buffer; more than one line */
#define CONN_OUT_HIGH         (256 * 1024)         /* above this much unsent output, stop
                                                      reading and parsing: backpressure */
#define CONN_OUT_MAX          (64 * 1024 * 1024)   /* a connection needing more is closed */
#define CONN_LINGER_S         2.0                  /* after our last byte, wait this long
                                                      for the client's EOF before close */
#define MESSAGE_MAX           (10 * 1024 * 1024)   /* SMTP SIZE; largest spool file read */
#define SMTP_RCPT_MAX         100
#define IMAP_LITERAL_MAX      8192                 /* a client literal (LOGIN arguments) */
#define IMAP_COMMAND_MAX      (16 * 1024)          /* one command with its literals */
#define AUTH_FIELD_MAX        256                  /* a user name, password or SASL blob */
#define BACKEND_LISTENERS_MAX 32
#define ACCEPT_PAUSE_S        0.1                  /* out of descriptors: retry after this */

#define BACKEND_DEFAULT_USER  "test"
#define BACKEND_DEFAULT_PASS  "secret"

struct mailbox;
struct conn;

/* What every connection shares: the loop, the mailbox, the credentials. */
struct backend_ctx {
	struct ev_loop *loop;
	struct mailbox *mailbox;
	const char *user;
	const char *pass;
	char hostname[256];          /* for greetings */
	bool verbose;                /* trace client lines on stderr */
	bool advertise_tls;          /* --advertise-tls: list STARTTLS, STLS and
	                                LOGINDISABLED (never done: certwrapd must hide them) */
	struct conn *conns;          /* every open connection, closed at exit */
	unsigned conn_seq;           /* numbers connections in the trace */
};

/* One protocol. start() sends the greeting and returns the session, or NULL
 * to close the connection. The callbacks never free the connection: they ask
 * for it to close with conn_close_after_flush(). */
struct conn_ops {
	const char *name;
	void *(*start)(struct conn *c);
	/* A line without its CR LF, NUL-terminated in place (data may hold NULs). */
	void (*on_line)(void *session, char *line, size_t len);
	/* Bytes asked for with conn_expect_raw() (or all bytes, after conn_raw_forever()). */
	void (*on_raw)(void *session, const char *data, size_t len);
	/* A line longer than BACKEND_LINE_MAX: send the error; the connection then closes. */
	void (*on_line_too_long)(void *session);
	void (*free)(void *session);
};

extern const struct conn_ops smtp_ops;
extern const struct conn_ops imap_ops;
extern const struct conn_ops pop3_ops;
extern const struct conn_ops echo_ops;

/* --- backend_conn.c ---------------------------------------------------------- */

/* Starts a connection on fd (non-blocking, connected); takes fd, closes it on
 * failure. peer names the client in the trace. */
void conn_start(struct backend_ctx *ctx, int fd, const struct conn_ops *ops, const char *peer);

/* Closes every connection now (at exit). */
void conn_close_all(struct backend_ctx *ctx);

struct backend_ctx *conn_ctx(const struct conn *c);

/* Queues output. Past CONN_OUT_MAX, or out of memory, the connection is
 * marked broken: it closes at the end of the current event, output dropped. */
void conn_write(struct conn *c, const void *data, size_t len);
void conn_puts(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stops reading; closes once the queued output is sent. */
void conn_close_after_flush(struct conn *c);

/* The next len bytes go to on_raw instead of being split into lines. */
void conn_expect_raw(struct conn *c, size_t len);

/* Every byte from now on goes to on_raw (echo). */
void conn_raw_forever(struct conn *c);

/* With --verbose, one trace line on stderr, prefixed with the connection. */
void conn_trace(const struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- backend_auth.c ---------------------------------------------------------- */

enum auth_result { AUTH_OK, AUTH_FAILED, AUTH_MALFORMED };

/* Whether user and password are the configured pair. */
enum auth_result auth_check(const struct backend_ctx *ctx, const char *user, const char *pass);

/* Decodes NUL-terminated base64 into out (NUL-terminated too); the decoded
 * length, or -1 on bad input or if it does not fit in outsize - 1 bytes. */
long auth_base64_decode(const char *in, char *out, size_t outsize);

/* Checks a base64 SASL PLAIN response: [authzid] NUL authcid NUL passwd. */
enum auth_result auth_sasl_plain(const struct backend_ctx *ctx, const char *b64);

#endif
