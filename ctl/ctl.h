/* ctl.h: shared by certwrapctl's own files in ctl/ only. */
#ifndef CERTWRAP_CTL_H
#define CERTWRAP_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "certstore/certstore.h"
#include "ctl/ctlproto.h"
#include "ctl/ctlstore.h"

#define CTL_DEFAULT_STORE   "/var/lib/certwrap"
#define CTL_STORE_ENV       "CERTWRAP_STORE"
#define CTL_MAX_POSITIONAL  4
#define CTL_MAX_OPTIONS     16
#define CTL_MAX_LIST        CS_MAX_SANS     /* values of one repeated option */
#define CTL_PASSPHRASE_MAX  CTLSTORE_PASSPHRASE_MAX

/* Exit statuses: 0 done, 1 failed (the message says why), 2 usage error.
 * check exits with the Nagios codes its response carries (3: unknown). */
enum ctl_exit { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2, CTL_CHECK_UNKNOWN = 3 };

/* --- args.c: a verb's arguments, parsed by its table row --------------------------------- */

enum opt_kind {
	OPT_FLAG,                           /* --client */
	OPT_VALUE,                          /* --days N, or --days=N; once */
	OPT_LIST,                           /* --dns HOST, repeated; several values may follow */
};

struct opt_spec {
	const char *name;                   /* "--dns" */
	enum opt_kind kind;
	const char *metavar;                /* "HOST" */
};

struct args {
	const char *pos[CTL_MAX_POSITIONAL];
	size_t n_pos;
	struct {
		bool set;
		const char *values[CTL_MAX_LIST];
		size_t n;
	} opt[CTL_MAX_OPTIONS];
	const struct opt_spec *specs;
};

/* Parses argv against specs (terminated by a NULL name); pos_name names
 * the positional argument in messages ("NAME"). -1 with a usage message in
 * why (sized CTL_WHY_MAX) on error. */
#define CTL_WHY_MAX 512
int args_parse(const struct opt_spec *specs, const char *pos_name, size_t min_pos,
    size_t max_pos, int argc, char **argv, struct args *a, char *why);
bool args_flag(const struct args *a, const char *name);
const char *args_value(const struct args *a, const char *name);         /* NULL if unset */
const char *const *args_list(const struct args *a, const char *name, size_t *n);
/* Suggests the closest of candidates (NULL-terminated) within a small edit
 * distance, or NULL. */
const char *args_suggest(const char *word, const char *const *candidates);

/* --- the run of one verb ------------------------------------------------------------------ */

/* Where a verb runs: the store in-process, or certwrapd over its socket. */
enum ctl_target { TARGET_STORE, TARGET_DAEMON };

struct ctl {
	enum ctl_target target;
	const char *store_dir;              /* TARGET_STORE */
	const char *socket_path;            /* TARGET_DAEMON */
	bool store_given, socket_given;     /* --store, -s on the command line */
	FILE *out, *err;
	time_t now;
	const char *verb;                   /* for messages: "issue" */
	bool json;                          /* --json */
	bool rendered;                      /* a response was shown */
	char last_error[1024];              /* what ctl_fail or ctl_usage_error said last */
};

/* Prints "certwrapctl: MESSAGE" on stderr (and keeps it in c->last_error);
 * returns CTL_FAILED. */
int ctl_fail(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "certwrapctl: VERB: MESSAGE" and the verb's usage; returns CTL_USAGE. */
int ctl_usage_error(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctl_warnings(struct ctl *c, const struct cs_warnings *w);

/* --- verbs.c: the table --------------------------------------------------------------------- */

enum verb_kind {
	VERB_STORE,                         /* a request: to the store here, or to certwrapd */
	VERB_LOCAL,                         /* works on a store directory itself (ca init) */
	VERB_DAEMON,                        /* a request only certwrapd answers (status) */
};

/* A response split into what comes before the records and the records. */
struct out_record {
	const struct ctl_field *f;          /* fields of the message, without the "-" */
	size_t n;
};

struct out_response {
	bool ok;                            /* status ok */
	const char *message;                /* "" when none */
	struct out_record head;             /* status, message, warnings, header fields */
	struct out_record *rec;
	size_t n_rec;
};

struct verb {
	const char *name;                   /* "issue", "ca init" */
	const char *synopsis;               /* after the name */
	const char *help;                   /* one paragraph */
	const struct opt_spec *opts;
	const char *pos_name;               /* "NAME", or NULL when it takes none */
	size_t min_pos, max_pos;
	enum verb_kind kind;
	/* VERB_LOCAL: does everything; returns the exit status */
	int (*run)(struct ctl *c, const struct args *a);
	/* otherwise: the request from the arguments (CTL_OK, or the exit status
	 * of a failure it printed), then the response shown; the exit status */
	int (*build)(struct ctl *c, const struct args *a, struct ctl_msg *req);
	int (*render)(struct ctl *c, const struct args *a, const struct out_response *r);
};

/* The verb argv starts with ("ca", "init" for two-word verbs); *words gets
 * how many words it took. NULL when none matches. */
const struct verb *verbs_find(int argc, char **argv, int *words);
void verbs_usage(FILE *f);                     /* every verb, one line each */
/* "[--store DIR | -s SOCKET]", "[--store DIR]" or "[-s SOCKET]" */
const char *verbs_target_synopsis(const struct verb *v);
void verbs_help(FILE *f, const struct verb *v);
/* Close names for "did you mean". */
const char *verbs_suggest(const char *word);

/* --- output.c: tables for people, JSON for scripts ------------------------------------------- */

#define OUT_MAX_COLUMNS 10

struct out_table {
	size_t n_cols, n_rows, cap;
	const char *head[OUT_MAX_COLUMNS];
	char **cells;                       /* n_rows * n_cols, owned */
};

void out_table_init(struct out_table *t, size_t n_cols, const char *const *head);
/* Adds a row of n_cols strings (copied). -1 on out of memory. */
int out_table_row(struct out_table *t, const char *const *cells);
/* Aligned columns separated by two spaces; the last column unpadded. */
void out_table_print(const struct out_table *t, FILE *f);
void out_table_free(struct out_table *t);

/* A JSON string literal, escaped. */
void out_json_string(FILE *f, const char *s);
/* "2027-11-23T17:13:00Z" */
void out_iso_time(time_t t, char *buf, size_t len);
/* "2027-11-23" */
void out_date(time_t t, char *buf, size_t len);
/* as openssl prints dates: "Nov 23 17:13:00 2027 GMT" */
void out_openssl_time(time_t t, char *buf, size_t len);
/* One certificate, as list --json and show --json give it. */
void out_json_cert(FILE *f, const struct cs_cert_info *i, const char *indent);

/* Splits a response (ctlstore.h: header, then records that start with
 * `record` and end with "-"). -1 when it has no status or memory ran out. */
int out_response_split(const struct ctl_msg *m, struct out_response *r);
void out_response_free(struct out_response *r);
/* The first value of name in r, or NULL. */
const char *out_field(const struct out_record *r, const char *name);
/* A number field; def when absent or not a number. */
long out_field_long(const struct out_record *r, const char *name, long def);
/* A time field (ISO 8601); 0 when absent or malformed. */
time_t out_field_time(const struct out_record *r, const char *name);
/* Rebuilds what a `certificate` record says; clear with cs_cert_info_clear.
 * -1 when out of memory. */
int out_cert_info(const struct out_record *r, struct cs_cert_info *i, struct cs_paths *p);
/* Each warning of the response as "certwrapctl: warning: ..." on f. */
void out_warnings(const struct out_response *r, FILE *f);
/* Any response for people: the message, header fields as "name: value",
 * records as aligned tables (one per kind) or, when they do not fit one,
 * as blocks of "name  value" lines. Fields it does not know are shown. */
void out_generic(const struct out_response *r, FILE *f);
/* One record as "name  value" lines. */
void out_record_print(const struct out_record *r, FILE *f);
/* Any response as one JSON object: status, message, warnings, header
 * fields, "records": [...]; numbers and booleans typed by field name,
 * repeated fields as arrays. */
void out_json_response(const struct out_response *r, FILE *f);

/* --- files.c: the files a response carries, written all or nothing --------------------------- */

struct out_file {
	const char *name;                   /* relative to the directory; checked */
	unsigned mode;                      /* 0400, 0600 or 0644 */
	bool hashed;                        /* "<hash>.0": the next free suffix (openssl rehash) */
	const char *data;
	size_t len;
	/* filled by files_write */
	char final[CS_PATH_MAX], tmp[CS_PATH_MAX];
	bool unchanged;                     /* a hashed file already there with this content */
};

/* Writes files into dir (made if missing): each to a temporary file with its
 * mode and owner (uid/gid (uid_t)-1: unchanged), synced, then all renamed
 * into place. A failure before the renames leaves nothing; the message is
 * printed. CTL_OK or CTL_FAILED. */
int files_write(struct ctl *c, const char *dir, struct out_file *files, size_t n, uid_t uid,
    gid_t gid);
/* --owner and --group (names or numbers) as ids; (uid_t)-1 when not given. */
int files_owner(struct ctl *c, const char *owner, const char *group, uid_t *uid, gid_t *gid);

/* --- passphrase.c ----------------------------------------------------------------------------------- */

/* The passphrase asked for by --passphrase-file or --passphrase-prompt, or
 * NULL in *out when neither was given. confirm: ask twice (a new key).
 * Returns CTL_OK or the exit status of a failure it printed. The caller
 * frees *out with passphrase_free. */
int passphrase_get(struct ctl *c, const struct args *a, bool confirm, char **out);
void passphrase_free(char *p);

#endif
