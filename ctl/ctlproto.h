/* ctlproto.h: THE control protocol between certwrapctl and certwrapd.
 *
 * One request, one response, each one frame on a unix socket:
 *
 *   CWCTL/1 <body length in decimal>\n
 *   <body>
 *
 * The body is an ordered list of fields, each
 *
 *   <name> <value length in decimal>\n<value bytes>\n
 *
 * Names are short [a-z0-9_.-] words and may repeat (`dns` once per name);
 * values are any bytes (PEM travels as it is: the daemon never needs the
 * caller's files). A field named "-" with an empty value ends a record, so a
 * response can carry a table. A request's first field is `verb`; a response's
 * first field is `status` ("ok" or "error"), then `message` (for people; the
 * reason when status is error), then the results.
 *
 * Everything is bounded (frame, field count, name length) and the decoder
 * is fuzzed: the socket is outside input. The version is in every frame;
 * a peer speaking another version gets an error that says which. The text
 * form means `socat - UNIX:/run/certwrap/certwrapd.sock` is a debugger. */
#ifndef CERTWRAP_CTLPROTO_H
#define CERTWRAP_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>

#define CTLPROTO_VERSION       1
#define CTLPROTO_MAGIC         "CWCTL/"
#define CTLPROTO_MAX_FRAME     (4u * 1024 * 1024)   /* a few PEM files of CS_PEM_MAX_BYTES */
#define CTLPROTO_MAX_HEADER    32                   /* "CWCTL/1 4194304\n" and room */
#define CTLPROTO_MAX_FIELDS    65536
#define CTLPROTO_NAME_MAX      32
#define CTLPROTO_RECORD_END    "-"

struct ctl_field {
	char name[CTLPROTO_NAME_MAX + 1];
	char *value;                      /* NUL-terminated copy (values may hold NULs too) */
	size_t len;
};

/* An ordered list of fields; owns its memory. Zero-initialise before use. */
struct ctl_msg {
	struct ctl_field *fields;
	size_t n, cap;
};

/* Appends a field. -1 when out of memory, the name is not a valid field
 * name, or the message would exceed the limits. */
int ctl_msg_add(struct ctl_msg *m, const char *name, const void *value, size_t len);
int ctl_msg_add_str(struct ctl_msg *m, const char *name, const char *value);
int ctl_msg_addf(struct ctl_msg *m, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Ends the current record (a field named "-"). */
int ctl_msg_end_record(struct ctl_msg *m);

/* The first field called name at or after index *from (which then points
 * past it, for repeated fields); NULL when there is none. from may be NULL. */
const struct ctl_field *ctl_msg_find(const struct ctl_msg *m, const char *name, size_t *from);
/* The value of the first field called name, or NULL. */
const char *ctl_msg_get(const struct ctl_msg *m, const char *name);

void ctl_msg_free(struct ctl_msg *m);           /* leaves m empty and reusable */

/* The whole frame for m, in a buffer the caller frees. -1 when too large. */
int ctl_msg_encode(const struct ctl_msg *m, char **frame, size_t *len);

enum ctl_decode {
	CTL_DECODE_ERROR = -1,            /* err says why; the connection cannot go on */
	CTL_DECODE_MORE = 0,              /* a complete frame needs more bytes */
	CTL_DECODE_DONE = 1,              /* *m filled, *used bytes consumed */
};

/* Decodes the frame at the start of buf (len bytes so far). On DONE, m is
 * the message (release with ctl_msg_free) and *used the frame's size. On
 * ERROR, err says what is wrong in words fit to send back ("unsupported
 * protocol version 2 (this certwrapd speaks 1): use the certwrapctl of the
 * same release"). Never reads past len. */
enum ctl_decode ctl_msg_decode(const char *buf, size_t len, struct ctl_msg *m, size_t *used,
    char *err, size_t errlen);

/* Response helpers: a fresh "status error" response with the message, or
 * "status ok" with an optional message. -1 when out of memory. */
int ctl_msg_error(struct ctl_msg *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ctl_msg_ok(struct ctl_msg *resp, const char *message);

#endif
