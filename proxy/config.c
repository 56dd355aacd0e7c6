/* config.c: stunnel's INI text in, struct config or every error out.
 *
 * inih splits "name = value". The reader we hand to ini_parse_stream() does
 * what Debian's build of inih (55, without INI_HANDLER_LINENO, with
 * INI_ALLOW_MULTILINE, INI_MAX_LINE 200) cannot, so that every line is judged
 * once, by us, with its number:
 *  - it counts lines, and the handler takes the number from it;
 *  - it refuses a line that does not fit inih's buffer and skips all of it,
 *    where inih 55 would parse the tail as a line of its own;
 *  - it strips leading blanks, as stunnel does, so inih's multiline
 *    continuation (an indented line continues the previous value) never fires;
 *  - it reads [section] headers itself (inih reports a section only with an
 *    option in it, and truncates long names) and refuses lines without '=',
 *    NUL bytes and control characters, which inih would only count.
 * inih thus only ever sees blank lines and well-formed "name = value" lines.
 *
 * Service options in the global section are kept as text and applied to each
 * service that does not set them when its section ends, through the same
 * parse functions: stunnel's rule, with no copy code per field. An option
 * with alternatives (certname for cert and key) is one choice: a service that
 * makes the choice itself inherits neither alternative from the global
 * section, so `cert` there and `certname` in a service (or the reverse) is a
 * default and its override, not a conflict. */
#include "proxy/config.h"
#include "proxy/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#define ERRORS_KEPT    1000               /* beyond this errors are only counted */
#define ERROR_TEXT_MAX 512
#define MORE_RESERVE   128                /* room kept for the "N more errors" line */
#define FILE_LEVEL     UINT_MAX           /* an error about the whole file: sorts last */
#define OPTIONS_MAX    64                 /* the bits of set_mask */
#define BOM            "\xef\xbb\xbf"
#define NEEDS_CERTSTORE \
	"needs certstore = DIR in the global section, e.g. certstore = /var/lib/certwrap"

struct error_entry {
	unsigned line;
	unsigned seq;                     /* detection order, to keep the sort stable */
	char *text;                       /* "file:line: option: why" */
};

/* A service option given in the global section: every service's default. */
struct global_default {
	const struct config_option *opt;
	char *value;
	unsigned line;
};

struct config_parser {
	const char *file;
	struct config *cfg;

	const char *pos, *end;            /* the reader's position in the text */
	unsigned line;                    /* the line inih is handling */

	struct service_conf *svc;         /* the [section] being read; NULL: global */
	struct service_conf global_svc;   /* the global section's service options */
	struct service_conf overflow;     /* sections past CONFIG_MAX_SERVICES: checked, not kept */
	unsigned section_errors_from;     /* n_reported when this section began */
	bool overflow_reported;
	size_t services_cap;
	unsigned seen[OPTIONS_MAX];       /* line where each option was given in this section */
	const struct config_option *seen_by[OPTIONS_MAX];   /* by which option (sslVersion) */
	unsigned global_seen[OPTIONS_MAX];   /* seen[] of the global section, once it ended:
	                                        given, even with a bad value */
	char where[ERROR_TEXT_MAX];

	struct global_default *defaults;
	size_t n_defaults, defaults_cap;

	struct error_entry *errors;
	size_t n_errors, errors_cap;
	unsigned n_reported;              /* including those past ERRORS_KEPT */
	bool quiet;                       /* applying global defaults: errors already reported */
	bool out_of_memory;
};

/* --- memory and errors ------------------------------------------------------------- */

static bool
grow(void **array, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;
	void *bigger;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if ((bigger = reallocarray(*array, n, size)) == NULL)
		return false;
	*array = bigger;
	*cap = n;
	return true;
}

char *
config_parser_strdup(struct config_parser *p, const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		p->out_of_memory = true;
	return copy;
}

static void
error_add(struct config_parser *p, unsigned line, const char *text)
{
	char *full;
	int n;

	p->n_reported++;
	if (p->n_errors == ERRORS_KEPT)
		return;
	if (line == FILE_LEVEL)
		n = asprintf(&full, "%s: %s", p->file, text);
	else
		n = asprintf(&full, "%s:%u: %s", p->file, line, text);
	if (n < 0) {
		p->out_of_memory = true;
		return;
	}
	if (!grow((void **)&p->errors, &p->errors_cap, p->n_errors + 1, sizeof(*p->errors))) {
		free(full);
		p->out_of_memory = true;
		return;
	}
	p->errors[p->n_errors] = (struct error_entry){ line, (unsigned)p->n_errors, full };
	p->n_errors++;
}

int
config_parser_fail(struct config_parser *p, unsigned line, const char *option,
    const char *fmt, ...)
{
	char why[ERROR_TEXT_MAX], text[2 * ERROR_TEXT_MAX];
	va_list ap;

	if (p->quiet)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (option != NULL)
		snprintf(text, sizeof(text), "%s: %s", option, why);
	else
		snprintf(text, sizeof(text), "%s", why);
	error_add(p, line, text);
	return -1;
}

static bool
error_at_line(const struct config_parser *p, unsigned line)
{
	for (size_t i = 0; i < p->n_errors; i++)
		if (p->errors[i].line == line)
			return true;
	return false;
}

static int
error_order(const void *a, const void *b)
{
	const struct error_entry *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Appends text as a line of err->msg if it fits with keep_free bytes to spare. */
static bool
error_append(struct config_error *err, size_t *used, const char *text, size_t keep_free)
{
	size_t len = strlen(text), sep = *used ? 1 : 0;

	if (*used + sep + len + keep_free >= sizeof(err->msg))
		return false;
	if (sep)
		err->msg[(*used)++] = '\n';
	memcpy(err->msg + *used, text, len + 1);
	*used += len;
	return true;
}

/* Every error in file order, as many as fit, then how many did not. */
static void
errors_publish(struct config_parser *p, struct config_error *err)
{
	char line[ERROR_TEXT_MAX + PATH_MAX];
	size_t used = 0;
	unsigned shown = 0;

	err->msg[0] = '\0';
	err->count = p->n_reported;
	if (p->out_of_memory) {
		snprintf(line, sizeof(line), "%s: out of memory while reading the configuration",
		    p->file);
		error_append(err, &used, line, 0);
		err->count++;
	}
	if (p->n_errors > 1)
		qsort(p->errors, p->n_errors, sizeof(*p->errors), error_order);
	for (size_t i = 0; i < p->n_errors; i++, shown++)
		if (!error_append(err, &used, p->errors[i].text, MORE_RESERVE))
			break;
	if (shown < p->n_reported) {
		snprintf(line, sizeof(line), "%s: %u more errors not shown", p->file,
		    p->n_reported - shown);
		error_append(err, &used, line, 0);
	}
}

const char *
config_parser_where(struct config_parser *p)
{
	if (p->svc == NULL)
		return "the global section";
	snprintf(p->where, sizeof(p->where), "[%s]", p->svc->name ? p->svc->name : "");
	return p->where;
}

/* --- services ------------------------------------------------------------------------ */

static void
service_clear(struct service_conf *s)
{
	struct conf_str *strs[] = { &s->cert, &s->key, &s->ca_file, &s->ca_path, &s->crl_file,
		&s->ciphers, &s->ciphersuites, &s->curves, &s->certname, &s->sni };

	free(s->name);
	free(s->accept.host);
	free(s->accept.port);
	for (unsigned i = 0; i < CONFIG_MAX_CONNECT; i++) {
		free(s->connect[i].host);
		free(s->connect[i].port);
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(strs[i]->value);
	for (unsigned i = 0; i < s->n_hostnames; i++)
		free(s->hostnames[i]);
	free(s->sni_primary);
	free(s->sni_pattern);
	for (unsigned i = 0; i < s->n_check_hosts; i++)
		free(s->check_hosts[i]);
	memset(s, 0, sizeof(*s));
}

/* The built-in defaults of the table, as if written at line 0. */
static void
defaults_apply_builtin(struct config_parser *p, void *base, enum option_scope scope)
{
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *opt = &config_options[i];

		if (opt->scope == scope && opt->default_value != NULL)
			opt->parse(p, opt, base, opt->default_value, 0);
	}
}

/* The row of an option the table names (alternative_to, required_unless). */
static const struct config_option *
option_named(const char *name)
{
	const struct config_option *opt = config_options_find(name);

	if (opt == NULL)
		abort();            /* a typo in the table; test_config.c checks every name */
	return opt;
}

static size_t
option_index(const char *name)
{
	return (size_t)(option_named(name) - config_options);
}

/* The global defaults s takes: the options given in the global section that
 * s sets neither itself nor through an alternative (a service's certname
 * drops the global cert and key, its cert or key drops the global certname). */
static unsigned long long
defaults_inheritable(const struct config_parser *p, const struct service_conf *s)
{
	unsigned long long mask = p->global_svc.set_mask & ~s->set_mask;

	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *opt = &config_options[i];

		for (size_t k = 0; k < 2 && opt->alternative_to[k] != NULL; k++) {
			unsigned long long alt = config_option_bit(option_named(opt->alternative_to[k]));

			if (s->set_mask & config_option_bit(opt))
				mask &= ~alt;
			if (s->set_mask & alt)
				mask &= ~config_option_bit(opt);
		}
	}
	return mask;
}

static void
defaults_apply_global(struct config_parser *p, struct service_conf *s,
    unsigned long long inherit)
{
	p->quiet = true;
	for (size_t i = 0; i < p->n_defaults; i++) {
		const struct global_default *d = &p->defaults[i];

		if (inherit & config_option_bit(d->opt))
			d->opt->parse(p, d->opt, s, d->value, d->line);
	}
	p->quiet = false;
}

static void
defaults_add(struct config_parser *p, const struct config_option *opt, const char *value)
{
	struct global_default *d;

	if (!grow((void **)&p->defaults, &p->defaults_cap, p->n_defaults + 1, sizeof(*d))) {
		p->out_of_memory = true;
		return;
	}
	d = &p->defaults[p->n_defaults];
	if ((d->value = config_parser_strdup(p, value)) == NULL)
		return;
	d->opt = opt;
	d->line = p->line;
	p->n_defaults++;
}

static void
check_version_order(struct config_parser *p, const struct service_conf *s)
{
	int min = s->tls_version_min, max = s->tls_version_max;

	if (min == 0 || max == 0 || min <= max)
		return;
	if (s->tls_version_min_line >= s->tls_version_max_line)
		config_parser_fail(p, s->tls_version_min_line, "sslVersionMin",
		    "%s is above sslVersionMax = %s at line %u", config_tls_version_name(min),
		    config_tls_version_name(max), s->tls_version_max_line);
	else
		config_parser_fail(p, s->tls_version_max_line, "sslVersionMax",
		    "%s is below sslVersionMin = %s at line %u", config_tls_version_name(max),
		    config_tls_version_name(min), s->tls_version_min_line);
}

/* in_force: the options s gave or inherited. */
static void
check_required(struct config_parser *p, const struct service_conf *s,
    unsigned long long in_force)
{
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *opt = &config_options[i];
		unsigned long long bits = config_option_bit(opt);

		if (opt->required_unless != NULL)
			bits |= config_option_bit(option_named(opt->required_unless));
		if (!(opt->flags & OPT_REQUIRED) || (in_force & bits) ||
		    ((opt->flags & OPT_SERVER_ONLY) && s->client))
			continue;
		/* a secondary shares its primary's accept, and without a connect
		 * of its own relays to its primary's */
		if ((strcmp(opt->name, "accept") == 0 || strcmp(opt->name, "connect") == 0) &&
		    config_sni_is_secondary(s))
			continue;
		config_parser_fail(p, s->line, NULL, "[%s]: no %s = %s given; add %s",
		    s->name ? s->name : "", opt->name, opt->syntax, opt->missing_hint);
	}
}

/* "give either cert/key or certname, not both" at the line of bad, which
 * came after the line of first; row is the option with the alternatives. */
static void
alternatives_fail(struct config_parser *p, const struct config_option *row,
    const struct config_option *bad, unsigned bad_line, const struct config_option *first,
    unsigned first_line)
{
	config_parser_fail(p, bad_line, bad->name, "give either %s%s%s or %s, not both; %s is "
	    "at line %u", row->alternative_to[0], row->alternative_to[1] ? "/" : "",
	    row->alternative_to[1] ? row->alternative_to[1] : "", row->name, first->name,
	    first_line);
}

/* An option and one of its alternatives given in this section (p->seen):
 * each line after the first of the pair is an error, reported once. */
static void
check_alternatives(struct config_parser *p)
{
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *row = &config_options[i], *first = NULL;
		unsigned line = p->seen[i], first_line = 0;

		for (size_t k = 0; k < 2 && row->alternative_to[k] != NULL && line != 0; k++) {
			const struct config_option *alt = option_named(row->alternative_to[k]);
			unsigned alt_line = p->seen[alt - config_options];

			if (alt_line > line)            /* certname, then cert: cert is wrong */
				alternatives_fail(p, row, alt, alt_line, row, line);
			else if (alt_line != 0 && (first == NULL || alt_line < first_line)) {
				first = alt;
				first_line = alt_line;
			}
		}
		if (first != NULL)                      /* cert (and key), then certname */
			alternatives_fail(p, row, row, line, first, first_line);
	}
}

/* certname needs a certstore; autoIssue = yes and renewBefore need a
 * certname. Given in the service, they are errors without one; inherited
 * from the global section, they are defaults for the services that have a
 * certname and are dropped by the others. A global certname without a
 * certstore was reported with the global section. */
static void
check_managed(struct config_parser *p, struct service_conf *s, unsigned long long in_force)
{
	size_t certname = option_index("certname"), auto_issue = option_index("autoIssue");
	size_t renew = option_index("renewBefore");

	if (p->seen[certname] != 0 && p->global_seen[option_index("certstore")] == 0)
		config_parser_fail(p, p->seen[certname], "certname", NEEDS_CERTSTORE);
	if (in_force & config_option_bit(&config_options[certname]))
		return;
	if (p->seen[auto_issue] != 0 && s->auto_issue)
		config_parser_fail(p, p->seen[auto_issue], "autoIssue", "yes needs certname = NAME, "
		    "the certstore certificate to issue; add certname or remove this line");
	if (p->seen[renew] != 0)
		config_parser_fail(p, p->seen[renew], "renewBefore", "needs certname = NAME: only "
		    "certificates from the certstore are renewed; add certname or remove this line");
	s->auto_issue = false;
	s->auto_issue_line = 0;
	s->renew_before_s = 0;
	s->renew_before_line = 0;
}

/* Options that mean something for a server only, in a client-mode service. */
static void
check_client_only_server_options(struct config_parser *p, const struct service_conf *s)
{
	unsigned require_cert = p->seen[option_index("requireCert")];

	if (s->certname.value != NULL)
		config_parser_fail(p, s->certname.line, "certname", "not with client = yes: a "
		    "client certificate comes from cert = FILE (and key = FILE); use those");
	if (s->n_hostnames > 0)
		config_parser_fail(p, s->hostname_line, "hostname", "names what a server's "
		    "certificate covers; with client = yes, checkHost = NAME checks the upstream's");
	if (require_cert != 0)
		config_parser_fail(p, require_cert, "requireCert", "an upstream always sends its "
		    "certificate; with client = yes use verifyChain or verifyPeer to check it");
	if (s->key.value != NULL && s->cert.value == NULL)
		config_parser_fail(p, s->key.line, "key", "needs cert = FILE, the client certificate "
		    "sent with this key; add it or remove this line");
	if (s->implicit_protocol != PROTOCOL_NONE)
		config_parser_fail(p, s->protocol_line, "protocol", "smtps, imaps and pop3s are "
		    "for TLS servers; with client = yes the upstream is TLS from the first byte "
		    "already: remove this line");
	/* the header is for a plaintext backend that trusts us; an upstream
	 * speaking TLS would read it as a broken handshake */
	if (s->proxy_header != PROXY_HEADER_NONE)
		config_parser_fail(p, s->proxy_header_line, "proxyProtocol", "not with client = yes: "
		    "the upstream speaks TLS from the first byte and would take the header for a "
		    "broken handshake; remove this line");
}

/* client = yes turns a service around: plaintext in, TLS out to the upstream
 * (its options, inherited ones included, are checked against that). */
static void
check_client_mode(struct config_parser *p, const struct service_conf *s)
{
	const char *why;

	if (!s->client) {
		if (s->n_check_hosts > 0)
			config_parser_fail(p, s->check_host_lines[0], "checkHost", "checks the "
			    "upstream's certificate in client mode only; add client = yes or remove "
			    "this line");
		return;
	}
	check_client_only_server_options(p, s);
	if (s->n_check_hosts > 0 && !s->verify_chain && !s->verify_peer)
		config_parser_fail(p, s->check_host_lines[0], "checkHost", "needs verifyChain = yes "
		    "(or verifyPeer = yes): without verification no name is checked");
	if (s->sni.value != NULL && (why = config_host_name_problem(s->sni.value)) != NULL)
		config_parser_fail(p, s->sni.line, "sni", "\"%s\": %s; with client = yes, sni is "
		    "the host name sent to the upstream, such as mail.example.org", s->sni.value, why);
}

/* What only the whole global section tells: the control socket's options
 * without a socket, a default certname without a certstore. */
static void
check_global(struct config_parser *p)
{
	static const char *const socket_options[] = { "controlMode", "controlGroup" };
	unsigned certname = p->seen[option_index("certname")];

	check_version_order(p, &p->global_svc);
	check_alternatives(p);
	memcpy(p->global_seen, p->seen, sizeof(p->global_seen));
	if (certname != 0 && p->seen[option_index("certstore")] == 0)
		config_parser_fail(p, certname, "certname", NEEDS_CERTSTORE);
	/* a control line with a bad value (seen, never set) is the error to fix */
	if (p->cfg->control_path.value != NULL ||
	    (p->seen[option_index("control")] != 0 && p->cfg->control_path.line == 0))
		return;
	for (size_t i = 0; i < sizeof(socket_options) / sizeof(socket_options[0]); i++) {
		unsigned line = p->seen[option_index(socket_options[i])];

		if (line != 0)
			config_parser_fail(p, line, socket_options[i], "needs control = PATH, the "
			    "control socket, e.g. control = /run/certwrap/certwrapd.sock; add it or "
			    "remove this line");
	}
}

/* What follows from the whole section: inherited defaults, implied values. */
static void
service_finish(struct config_parser *p, struct service_conf *s)
{
	unsigned long long inherit = defaults_inheritable(p, s);

	defaults_apply_global(p, s, inherit);
	if (s->key.value == NULL && s->cert.value != NULL)
		s->key.value = config_parser_strdup(p, s->cert.value);   /* stunnel: key = cert */
	if (s->verify_chain || s->verify_peer)
		s->require_cert = true;
	/* a conflict between two global lines was reported with the global section */
	if (s->tls_version_min_line > s->line || s->tls_version_max_line > s->line)
		check_version_order(p, s);
	check_alternatives(p);
	check_managed(p, s, s->set_mask | inherit);
	check_client_mode(p, s);
	/* A section with errors is not checked for missing options: the wrong
	 * line is often the missing option misspelled, and once it is fixed the
	 * next run says what is still missing. */
	if (p->n_reported == p->section_errors_from)
		check_required(p, s, s->set_mask | inherit);
}

static void
section_end(struct config_parser *p)
{
	if (p->svc == NULL) {
		check_global(p);
		return;
	}
	service_finish(p, p->svc);
	if (p->svc == &p->overflow)
		service_clear(&p->overflow);
}

/* Where a new section's options go: a new service, or the overflow area. */
static struct service_conf *
service_slot(struct config_parser *p, const char *name)
{
	struct config *cfg = p->cfg;

	if (cfg->n_services == CONFIG_MAX_SERVICES) {
		if (!p->overflow_reported)
			config_parser_fail(p, p->line, NULL, "[%s]: more than %d [service] sections",
			    name, CONFIG_MAX_SERVICES);
		p->overflow_reported = true;
		return &p->overflow;
	}
	if (!grow((void **)&cfg->services, &p->services_cap, cfg->n_services + 1,
	    sizeof(*cfg->services))) {
		p->out_of_memory = true;
		return &p->overflow;
	}
	return &cfg->services[cfg->n_services++];
}

/* Starts the section named name; section_end() has ended the previous one. */
static void
section_begin(struct config_parser *p, const char *name)
{
	const struct service_conf *dup;

	memset(p->seen, 0, sizeof(p->seen));
	memset(p->seen_by, 0, sizeof(p->seen_by));
	if (name[0] != '\0' && (dup = config_find_service(p->cfg, name)) != NULL)
		config_parser_fail(p, p->line, NULL,
		    "[%s]: duplicate section; the first [%s] is at line %u", name, name, dup->line);
	p->svc = service_slot(p, name);
	memset(p->svc, 0, sizeof(*p->svc));
	p->svc->name = config_parser_strdup(p, name);
	p->svc->line = p->line;
	defaults_apply_builtin(p, p->svc, SCOPE_SERVICE);
}

/* --- options ----------------------------------------------------------------------------- */

static const struct config_option *
shorthand_target(const struct config_option *opt, size_t k)
{
	return opt->shorthand_for[k] ? config_options_find(opt->shorthand_for[k]) : NULL;
}

/* The option and what it is shorthand for, each reported once per section. */
static bool
option_is_duplicate(struct config_parser *p, const struct config_option *opt)
{
	const struct config_option *targets[] = { opt, shorthand_target(opt, 0),
		shorthand_target(opt, 1) };

	for (size_t k = 0; k < sizeof(targets) / sizeof(targets[0]); k++) {
		size_t i;

		if (targets[k] == NULL || (targets[k]->flags & OPT_REPEATABLE))
			continue;
		i = (size_t)(targets[k] - config_options);
		if (p->seen[i] == 0)
			continue;
		if (p->seen_by[i] == opt)
			config_parser_fail(p, p->line, opt->name,
			    "given twice in %s, first at line %u; keep one",
			    config_parser_where(p), p->seen[i]);
		else
			config_parser_fail(p, p->line, opt->name,
			    "conflicts with %s at line %u; keep one of them",
			    p->seen_by[i]->name, p->seen[i]);
		return true;
	}
	return false;
}

/* Marks the option (and its shorthand targets) given in this section. */
static unsigned long long
option_mark_seen(struct config_parser *p, const struct config_option *opt)
{
	const struct config_option *targets[] = { opt, shorthand_target(opt, 0),
		shorthand_target(opt, 1) };
	unsigned long long bits = 0;

	for (size_t k = 0; k < sizeof(targets) / sizeof(targets[0]); k++) {
		size_t i;

		if (targets[k] == NULL)
			continue;
		i = (size_t)(targets[k] - config_options);
		if (p->seen[i] == 0) {
			p->seen[i] = p->line;
			p->seen_by[i] = opt;
		}
		bits |= config_option_bit(targets[k]);
	}
	return bits;
}

/* An option certwrapd does not have: refused, never ignored. */
static void
option_refuse(struct config_parser *p, const char *name, const char *value)
{
	const struct config_unsupported *u = config_options_find_unsupported(name);
	const char *suggestion;

	if (u != NULL)
		config_parser_fail(p, p->line, name, "%s", u->advise ? u->advise(value)
		    : u->message ? u->message : CONFIG_UNSUPPORTED_MESSAGE);
	else if ((suggestion = config_options_suggest(name)) != NULL)
		config_parser_fail(p, p->line, name, "unknown option (did you mean %s?)",
		    suggestion);
	else
		config_parser_fail(p, p->line, name, "unknown option; see certwrapd.conf(5)");
}

static void
option_apply(struct config_parser *p, const char *name, const char *value)
{
	const struct config_option *opt = config_options_find(name);
	struct service_conf *s;

	if (opt == NULL) {
		option_refuse(p, name, value);
		return;
	}
	if (opt->scope == SCOPE_GLOBAL && p->svc != NULL) {
		config_parser_fail(p, p->line, opt->name, "global option, not allowed in %s; "
		    "move it above the first [section]", config_parser_where(p));
		return;
	}
	if (option_is_duplicate(p, opt))
		return;
	if (opt->scope == SCOPE_GLOBAL) {
		option_mark_seen(p, opt);
		opt->parse(p, opt, p->cfg, value, p->line);
		return;
	}
	s = p->svc ? p->svc : &p->global_svc;
	/* marked even when the value is bad: no "no cert given" after "bad cert" */
	s->set_mask |= option_mark_seen(p, opt);
	opt->parse(p, opt, s, value, p->line);
	if (p->svc != NULL)
		return;
	if (opt->shorthand_for[0] == NULL) {
		defaults_add(p, opt, value);
		return;
	}
	/* kept per target, so a service setting one of them inherits the other */
	for (size_t k = 0; k < 2; k++)
		if (shorthand_target(opt, k) != NULL)
			defaults_add(p, shorthand_target(opt, k), value);
}

static int
ini_on_pair(void *user, const char *section, const char *name, const char *value)
{
	(void)section;          /* ours is p->svc: inih truncates names to 49 bytes */
	option_apply(user, name, value);
	return 1;               /* errors are ours to report, with their line */
}

/* --- the reader ------------------------------------------------------------------------- */

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static bool
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

/* "[name]", optionally followed by a ; comment as inih allows. A broken
 * header still starts a section, so its options are not taken for the
 * previous section's. */
static void
section_header(struct config_parser *p, char *s)
{
	char *close = strchr(s, ']');
	char *name;

	section_end(p);
	p->section_errors_from = p->n_reported;
	if (close == NULL) {
		config_parser_fail(p, p->line, s, "no ']' at the end of the section header");
	} else {
		const char *rest = close + 1;

		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest != '\0' && *rest != ';')
			config_parser_fail(p, p->line, s, "unexpected text after ']'");
		*close = '\0';
	}
	name = trim(s + 1);
	if (name[0] == '\0')
		config_parser_fail(p, p->line, "[]",
		    "empty section name; write the service name, e.g. [imaps]");
	section_begin(p, name);
}

/* Whether s is "name = value" with a name inih will split as we do (it also
 * splits on ':'); a name it would not is refused here as an unknown option. */
static bool
pair_is_plain(struct config_parser *p, char *s)
{
	char *eq = strchr(s, '='), *name_end;

	if (eq == NULL) {
		config_parser_fail(p, p->line, s, "no '=' in the line; expected option = value");
		return false;
	}
	name_end = eq;
	while (name_end > s && (name_end[-1] == ' ' || name_end[-1] == '\t'))
		name_end--;
	if (name_end == s) {
		config_parser_fail(p, p->line, NULL, "no option name before '='");
		return false;
	}
	for (const char *c = s; c < name_end; c++) {
		if (!is_name_char(*c)) {
			*name_end = '\0';
			option_apply(p, s, trim(eq + 1));
			return false;
		}
	}
	return true;
}

static bool
line_has_control_char(struct config_parser *p, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
			config_parser_fail(p, p->line, NULL, "control character 0x%02x in the line",
			    *c);
			return true;
		}
	}
	return false;
}

/* Judges one line of len bytes (no '\n') and leaves in buf what inih may see:
 * the trimmed "name = value" line, or a blank line. */
static void
line_judge(struct config_parser *p, const char *text, size_t len, char *buf, size_t size)
{
	char *s;

	strcpy(buf, "\n");
	if (len + 2 > size) {           /* the line, its newline and inih's NUL */
		config_parser_fail(p, p->line, NULL,
		    "line longer than %zu bytes with its newline; shorten it", size - 1);
		return;
	}
	if (memchr(text, '\0', len) != NULL) {
		config_parser_fail(p, p->line, NULL, "NUL byte in the line; is this a text file?");
		return;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')            /* CRLF */
		buf[--len] = '\0';
	if (line_has_control_char(p, buf)) {
		strcpy(buf, "\n");
		return;
	}
	s = trim(buf);
	if (*s == '[')
		section_header(p, s);
	if (*s == '\0' || *s == ';' || *s == '#' || *s == '[' || !pair_is_plain(p, s)) {
		strcpy(buf, "\n");
		return;
	}
	/* no leading blank: inih must not take the line for a continuation */
	len = strlen(s);
	memmove(buf, s, len);
	strcpy(buf + len, "\n");
}

/* ini_reader: one line of the text per call, however long, so that our line
 * count and inih's stay the same. */
static char *
reader_next_line(char *buf, int size, void *stream)
{
	struct config_parser *p = stream;
	const char *start = p->pos, *nl;
	size_t len;

	if (p->pos >= p->end || size < 3)
		return NULL;
	nl = memchr(start, '\n', (size_t)(p->end - start));
	len = (size_t)((nl ? nl : p->end) - start);
	p->pos = nl ? nl + 1 : p->end;
	p->line++;
	if (p->line == 1 && len >= 3 && memcmp(start, BOM, 3) == 0) {
		start += 3;             /* a UTF-8 byte order mark, skipped as stunnel does */
		len -= 3;
	}
	line_judge(p, start, len, buf, (size_t)size);
	return buf;
}

/* --- the API ---------------------------------------------------------------------------- */

static void
parser_free(struct config_parser *p)
{
	for (size_t i = 0; i < p->n_errors; i++)
		free(p->errors[i].text);
	free(p->errors);
	for (size_t i = 0; i < p->n_defaults; i++)
		free(p->defaults[i].value);
	free(p->defaults);
	service_clear(&p->global_svc);
	service_clear(&p->overflow);
}

int
config_parse_buffer(const char *file, const char *text, size_t len, struct config *cfg,
    struct config_error *err)
{
	struct config_parser p = { .file = file ? file : "-", .cfg = cfg, .pos = text,
		.end = text + len };
	bool failed;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->file = config_parser_strdup(&p, p.file);
	defaults_apply_builtin(&p, cfg, SCOPE_GLOBAL);
	defaults_apply_builtin(&p, &p.global_svc, SCOPE_SERVICE);
	rc = ini_parse_stream(reader_next_line, &p, ini_on_pair, &p);
	section_end(&p);
	config_sni_check(&p, cfg);
	if (rc > 0 && !error_at_line(&p, (unsigned)rc))     /* a line we let through */
		config_parser_fail(&p, (unsigned)rc, NULL, "line not understood");
	else if (rc < 0)
		p.out_of_memory = true;
	if (cfg->n_services == 0)
		config_parser_fail(&p, FILE_LEVEL, NULL, "no [service] section; add one, e.g. "
		    "[imaps] with accept, connect and cert");
	failed = p.n_reported > 0 || p.out_of_memory;
	if (err != NULL)
		errors_publish(&p, err);
	parser_free(&p);
	if (failed)
		config_free(cfg);
	return failed ? -1 : 0;
}

int
config_parse_string(const char *file, const char *text, struct config *cfg,
    struct config_error *err)
{
	return config_parse_buffer(file, text ? text : "", text ? strlen(text) : 0, cfg, err);
}

/* Reads all of path, up to CONFIG_MAX_FILE_BYTES. -1 with why on failure. */
static int
file_read_bounded(const char *path, char **out, size_t *out_len, char *why, size_t why_size)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *bigger;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail_errno;
	do {
		if (len == cap) {
			/* one byte past the limit tells "too large" from "exactly full" */
			cap = cap ? (cap * 2 < CONFIG_MAX_FILE_BYTES + 1 ? cap * 2
			    : CONFIG_MAX_FILE_BYTES + 1) : 64 * 1024;
			if ((bigger = realloc(buf, cap)) == NULL)
				goto fail_errno;
			buf = bigger;
		}
		if ((n = read(fd, buf + len, cap - len)) == -1 && errno != EINTR)
			goto fail_errno;
		len += n > 0 ? (size_t)n : 0;
	} while (n != 0 && len <= CONFIG_MAX_FILE_BYTES);
	close(fd);
	if (len > CONFIG_MAX_FILE_BYTES) {
		snprintf(why, why_size, "larger than %d bytes; is this the configuration file?",
		    CONFIG_MAX_FILE_BYTES);
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = len;
	return 0;
fail_errno:
	snprintf(why, why_size, "cannot read: %s", strerror(errno));
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}

int
config_parse_file(const char *path, struct config *cfg, struct config_error *err)
{
	char why[256], *text = NULL;
	size_t len = 0;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (file_read_bounded(path, &text, &len, why, sizeof(why)) == -1) {
		if (err != NULL) {
			err->count = 1;
			snprintf(err->msg, sizeof(err->msg), "%s: %s", path, why);
		}
		return -1;
	}
	rc = config_parse_buffer(path, text ? text : "", len, cfg, err);
	free(text);
	return rc;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->file);
	free(cfg->pid_file.value);
	free(cfg->output.value);
	free(cfg->setuid_user.value);
	free(cfg->setgid_group.value);
	free(cfg->certstore_dir.value);
	free(cfg->control_path.value);
	free(cfg->control_group.value);
	for (unsigned i = 0; i < cfg->n_services; i++)
		service_clear(&cfg->services[i]);
	free(cfg->services);
	memset(cfg, 0, sizeof(*cfg));
}

const struct service_conf *
config_find_service(const struct config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].name != NULL && strcmp(cfg->services[i].name, name) == 0)
			return &cfg->services[i];
	return NULL;
}
