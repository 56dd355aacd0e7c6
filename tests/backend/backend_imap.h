/* backend_imap.h: shared by the test backend's IMAP files only:
 * backend_imap.c (session, states, commands), backend_imap_parse.c (imap_parse_*:
 * tokens of a command) and backend_imap_fetch.c (imap_fetch, imap_search). */
#ifndef CERTWRAP_TESTBACKEND_IMAP_H
#define CERTWRAP_TESTBACKEND_IMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "backend_mailbox.h"

#define IMAP_TAG_MAX        64
#define IMAP_SEQ_RANGES_MAX 64         /* ranges in one sequence set */
#define IMAP_SEQ_STAR       0xffffffffu /* "*": the largest number in use */

enum imap_state {
	IMAP_NOT_AUTH,               /* before LOGIN or AUTHENTICATE */
	IMAP_AUTH,                   /* logged in, no mailbox selected */
	IMAP_SELECTED,               /* INBOX selected (or examined) */
	IMAP_LOGOUT,                 /* BYE sent; closing */
};

enum imap_input {
	IMAP_IN_COMMAND,             /* lines of a command */
	IMAP_IN_LITERAL,             /* the bytes of a client literal */
	IMAP_IN_AUTH_RESPONSE,       /* the SASL response line after "+ " */
};

struct imap_session {
	struct conn *c;
	enum imap_state state;
	enum imap_input input;
	bool read_only;              /* EXAMINE: nothing becomes \Seen */
	struct mailbox_view view;
	bool *seen;                  /* per view entry; this session only */
	char auth_tag[IMAP_TAG_MAX]; /* the AUTHENTICATE waiting for its response */
	size_t literal_left;         /* bytes of the current client literal still to come */
	size_t cmd_len;
	char cmd[IMAP_COMMAND_MAX + 1];  /* a command, its literals inline as on the wire */
};

/* A command's text, consumed token by token. */
struct imap_parser {
	const char *p;
	const char *end;
};

struct imap_seq_range {
	unsigned lo;                 /* IMAP_SEQ_STAR for "*" */
	unsigned hi;
};

struct imap_seq_set {
	struct imap_seq_range r[IMAP_SEQ_RANGES_MAX];
	size_t n;
};

/* Each parser function returns 0 and advances, or -1 and leaves ps alone. */
int imap_parse_sp(struct imap_parser *ps);
bool imap_parse_at_end(const struct imap_parser *ps);
/* The tag: astring characters except "+". */
int imap_parse_tag(struct imap_parser *ps, char *out, size_t outsize);
/* An atom (command names, search keys), NUL-terminated into out. */
int imap_parse_atom(struct imap_parser *ps, char *out, size_t outsize);
/* An atom, quoted string or literal without NULs, NUL-terminated into out. */
int imap_parse_astring(struct imap_parser *ps, char *out, size_t outsize);
/* A LIST pattern: an astring that may hold the wildcards % and *. */
int imap_parse_list_mailbox(struct imap_parser *ps, char *out, size_t outsize);
/* A sequence set of numbers, ranges and "*". */
int imap_parse_seq_set(struct imap_parser *ps, struct imap_seq_set *set);
/* Whether key is in set, "*" standing for star. */
bool imap_seq_set_contains(const struct imap_seq_set *set, unsigned key, unsigned star);

/* FETCH / UID FETCH and SEARCH / UID SEARCH on the selected mailbox: parse the
 * arguments after the command name and send the whole reply, tagged line too. */
void imap_fetch(struct imap_session *s, const char *tag, struct imap_parser *ps, bool by_uid);
void imap_search(struct imap_session *s, const char *tag, struct imap_parser *ps, bool by_uid);

#endif
