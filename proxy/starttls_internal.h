/* starttls_internal.h: shared by starttls.c (the engine) and the protocol
 * rules starttls_smtp.c, starttls_imap.c, starttls_pop3.c only. */
#ifndef CERTWRAP_STARTTLS_INTERNAL_H
#define CERTWRAP_STARTTLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/limits.h"
#include "proxy/starttls.h"

enum st_phase {
	PHASE_DIALOGUE,           /* plaintext, lines parsed both ways */
	PHASE_UPGRADE,            /* STARTTLS answered: nothing more is relayed until TLS */
	PHASE_PASSTHROUGH,        /* plaintext relay with the filter (requireTLS = no) */
	PHASE_CLOSE,              /* an error reply queued; the connection ends */
	PHASE_TLS,                /* TLS up: the filter */
};

/* What a queued client command waits for. */
enum st_kind {
	KIND_GREETING,            /* the backend's greeting (first in the queue) */
	KIND_RELAYED,             /* a relayed command: its reply is relayed as it is */
	KIND_CAPS,                /* a relayed command whose reply lists capabilities */
	KIND_MULTI,               /* POP3 filter: +OK starts a multi-line body */
	KIND_AUTH,                /* POP3 filter: "+ " continuations until +OK or -ERR */
	KIND_LOCAL,               /* answered by certwrapd when its turn comes */
	KIND_SWITCH,              /* requireTLS = no: relay switch_line, then passthrough */
};

/* Replies certwrapd gives in a protocol's words (starttls_X.c: X_reply). */
enum st_reply {
	REPLY_UPGRADE,            /* STARTTLS accepted: begin TLS */
	REPLY_TLS_REQUIRED,       /* credentials (or mail) before TLS, requireTLS */
	REPLY_NOT_BEFORE_TLS,     /* another command not allowed before TLS */
	REPLY_SYNTAX,             /* STARTTLS with arguments, or no tag */
	REPLY_LINE_TOO_LONG,      /* fatal */
};

struct st_entry {
	enum st_kind kind;
	enum st_reply reply;                  /* KIND_LOCAL */
	char tag[STARTTLS_TAG_MAX];           /* IMAP: the command's tag, "" elsewhere */
};

struct st_queue {
	struct st_entry e[STARTTLS_PENDING_MAX];
	unsigned head, n;
};

/* The dialogue's buffers: freed when it ends. */
struct st_dialogue {
	char in[2][STARTTLS_LINE_MAX];
	size_t in_len[2];
	char out[2][STARTTLS_OUT_BYTES];
	size_t out_len[2];
	uint64_t raw[2];                      /* IMAP literal bytes to pass as they are */
	bool cont[2];                         /* IMAP: the next line continues a command
	                                         (or a response) after a literal */
	bool drop_cont;                       /* IMAP: ...of a command answered locally */
	bool client_done;                     /* STARTTLS (or the switch) read: the client's
	                                         later bytes are not parsed */
	bool in_reply;                        /* a multi-line reply is being relayed */
	bool rewrite;                         /* ...and its lines are rewritten */
	char switch_line[STARTTLS_LINE_MAX];  /* the command that ends the dialogue */
	size_t switch_len;
};

/* The filter's state: bounded whatever the backend sends. */
struct st_filter {
	char line[STARTTLS_LINE_MAX];         /* the line being read, not yet released */
	size_t len;
	bool passing;                         /* this line is too long to matter: pass it */
	bool mid;                             /* IMAP: inside a response, after a literal */
	uint64_t raw;                         /* IMAP literal bytes to pass untouched */
	char held[STARTTLS_LINE_MAX];         /* SMTP: a "250-" line, until the next tells
	                                         whether it is still not the last */
	size_t held_len;
	unsigned lit_state;                   /* IMAP: "{digits}" at the end of a long line */
	uint64_t lit_value;
	struct st_queue cmds;                 /* POP3: what each response answers */
	bool body;                            /* POP3: inside a multi-line body */
	bool caps_body;                       /* ...of CAPA */
	bool auth_cont;                       /* POP3: the next client line is a SASL answer */
	char cline[16];                       /* POP3: the start of the client's line */
	size_t clen;
	bool cline_long;
	bool lost;                            /* gave up tracking: pass everything */
};

struct st_proto;

struct starttls {
	const struct st_proto *proto;
	enum service_protocol protocol;
	bool require_tls;
	enum st_phase phase;
	struct st_dialogue *dlg;              /* during the dialogue only */
	struct st_queue queue;                /* the client's commands, in order */
	struct st_filter *filter;             /* after the dialogue */
	const char *close_reason;
	bool close_by_client;
	size_t discarded[2];
};

/* One protocol's rules. Lines come without their CR LF and may hold NULs. */
struct st_proto {
	/* A complete client line: relay it (st_emit to ST_BACKEND and
	 * st_push), answer it (st_push KIND_LOCAL), or end the dialogue. */
	void (*client_line)(struct starttls *st, const char *line, size_t len);
	/* A complete backend line while the dialogue goes on. */
	void (*backend_line)(struct starttls *st, const char *line, size_t len);
	/* The text (CRLF included) of a reply certwrapd gives; tag for IMAP. */
	void (*reply)(struct starttls *st, enum st_reply r, const char *tag);
	/* The filter: one complete backend line (CRLF included in len) is
	 * released into out, rewritten or dropped; returns the bytes written. */
	size_t (*filter_line)(struct starttls *st, const char *line, size_t len, char *out);
	/* The filter: a complete client line, for protocols that track commands. */
	void (*observe_line)(struct starttls *st, const char *line, size_t len);
};

extern const struct st_proto st_smtp, st_imap, st_pop3;

/* --- engine services for the protocol rules (starttls.c) --------------------------- */

/* Queues bytes for side; the engine made sure there is room for a line. */
void st_emit(struct starttls *st, enum starttls_side side, const char *data, size_t len);
void st_emit_str(struct starttls *st, enum starttls_side side, const char *s);
/* A line and CR LF. */
void st_emit_line(struct starttls *st, enum starttls_side side, const char *line, size_t len);

/* Queues a command's entry; the engine never calls client_line when full. */
struct st_entry *st_push(struct st_queue *q, enum st_kind kind);
struct st_entry *st_head(struct st_queue *q);            /* NULL when empty */
void st_pop(struct st_queue *q);
/* Removes the first entry that is not KIND_LOCAL with this tag; false if none. */
bool st_remove_tag(struct st_queue *q, const char *tag, size_t tag_len);

/* Queues a reply certwrapd gives when its turn comes. */
void st_answer(struct starttls *st, enum st_reply r, const char *tag, size_t tag_len);
/* The client's line ends the dialogue with the upgrade (STARTTLS), or with
 * a plaintext session (requireTLS = no): relayed when its turn comes. */
void st_client_upgrade(struct starttls *st, const char *tag, size_t tag_len);
void st_client_switch(struct starttls *st, const char *line, size_t len);

/* --- small helpers for lines ------------------------------------------------------- */

/* The first word of line (up to a space), and where the rest starts. */
size_t st_word(const char *line, size_t len, size_t from, size_t *next);
/* Whether word (len bytes) is keyword, ignoring ASCII case. */
bool st_word_is(const char *word, size_t len, const char *keyword);
/* Whether line starts with prefix, ignoring ASCII case. */
bool st_starts_with(const char *line, size_t len, const char *prefix);
/* IMAP: the n of a "{n}" or "{n+}" that ends line (*plus: the second,
 * a literal the client sends without waiting); -1 if none. */
int64_t st_literal_at_end(const char *line, size_t len, bool *plus);

#endif
