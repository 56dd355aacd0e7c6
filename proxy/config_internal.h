/* config_internal.h: shared by config.c (reader, sections, errors) and
 * config_options.c (the option table and its parse functions) only.
 *
 * Adding an option is one row in config_options[] plus, when no existing
 * parse function fits, one function with the option_parse_fn signature. */
#ifndef CERTWRAP_CONFIG_INTERNAL_H
#define CERTWRAP_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/config.h"

struct config_parser;                     /* parse state, private to config.c */

enum option_scope {
	SCOPE_GLOBAL,                     /* before the first [section] only; field in struct config */
	SCOPE_SERVICE,                    /* per service; in the global section a default for every
	                                     service that does not set it; field in struct service_conf */
};

enum option_flags {
	OPT_REPEATABLE = 1 << 0,          /* each line adds a value (connect) instead of a duplicate */
	OPT_REQUIRED   = 1 << 1,          /* every service must have it, set or inherited */
	OPT_SERVER_ONLY = 1 << 2,         /* OPT_REQUIRED of servers only: with client = yes
	                                     it is optional (cert: a client certificate) */
};

struct config_option;

/* Parses value (trimmed, never NULL) written at line into the struct at base:
 * struct config for SCOPE_GLOBAL rows, struct service_conf otherwise. Line 0
 * means a built-in default. Replaces (and frees) what the field held.
 * Returns 0, or -1 after reporting the error with config_parser_fail(). */
typedef int option_parse_fn(struct config_parser *p, const struct config_option *opt,
    void *base, const char *value, unsigned line);

struct config_option {
	const char *name;                 /* stunnel's spelling; matched case-insensitively */
	enum option_scope scope;
	option_parse_fn *parse;
	size_t field;                     /* offsetof the value in struct config / service_conf */
	size_t line_field;                /* offsetof an `unsigned` line to record, 0: none
	                                     (offset 0 is a pointer in both structs) */
	const char *default_value;        /* parsed at line 0 before the file; NULL: none */
	const char *syntax;               /* "yes | no", for messages and the man page */
	const char *stunnel;              /* what the option means in stunnel */
	unsigned flags;                   /* enum option_flags */
	const char *shorthand_for[2];     /* sets these options to the same value
	                                     (sslVersion: min and max); NULL: none */
	const char *missing_hint;         /* OPT_REQUIRED: what to add, with an example */
	const char *required_unless;      /* OPT_REQUIRED: not needed when this option is
	                                     in force (cert: certname); NULL: always */
	const char *alternative_to[2];    /* options this one replaces (certname: cert, key).
	                                     One section giving both is an error; an option
	                                     given in a service wins over its alternatives
	                                     inherited from the global section */
};

/* An option stunnel knows and certwrapd refuses, with what to do instead. */
struct config_unsupported {
	const char *name;                 /* a final '*' matches any rest: "OCSP*" */
	const char *message;              /* NULL: CONFIG_UNSUPPORTED_MESSAGE */
	const char *(*advise)(const char *value);   /* instead of message, by value */
};

#define CONFIG_UNSUPPORTED_MESSAGE \
	"stunnel option not supported by certwrapd (yet); remove it or see certwrapd.conf(5)"

extern const struct config_option config_options[];
extern const size_t config_options_count;              /* at most 64: set_mask bits */
extern const struct config_unsupported config_unsupported[];
extern const size_t config_unsupported_count;

/* The row for name (any case), or NULL. */
const struct config_option *config_options_find(const char *name);

/* The unsupported-option row matching name (any case), or NULL. */
const struct config_unsupported *config_options_find_unsupported(const char *name);

/* The supported option closest to name by edit distance when close enough to
 * be a typo, else NULL. */
const char *config_options_suggest(const char *name);

/* --- services of config.c for the parse functions ----------------------- */

/* Records "file:line: option: message" and returns -1. */
int config_parser_fail(struct config_parser *p, unsigned line, const char *option,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* strdup that records "out of memory" on failure. */
char *config_parser_strdup(struct config_parser *p, const char *s);

/* "[imaps]" or "the global section", for messages; valid until the next call. */
const char *config_parser_where(struct config_parser *p);

/* Bit of opt in service_conf.set_mask. */
unsigned long long config_option_bit(const struct config_option *opt);

/* Why name (lower case, no final dot, "*." allowed first) is not a DNS name
 * a certificate can carry, or NULL. */
const char *config_options_dns_name_problem(const char *name);

/* --- config_sni.c: secondary services (sni = PRIMARY[:PATTERN]) ----------- */

/* Whether s, as finished, is a server service with sni: a secondary. */
bool config_sni_is_secondary(const struct service_conf *s);

/* After the last section: checks each secondary against the whole file
 * (its primary exists and is a plain server service, patterns are names
 * and unique per primary, no accept or TLS settings of its own) and fills
 * sni_primary, sni_pattern and n_sni_secondaries. Errors via the parser. */
void config_sni_check(struct config_parser *p, struct config *cfg);

#endif
