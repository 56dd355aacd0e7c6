/* config_options.c: the option table, its parse functions, and the stunnel
 * options certwrapd refuses.
 *
 * Every row is documented in certwrapd.conf(5); test_config.c checks that the
 * man page names each one. Parse functions check syntax only: no file is
 * opened and no name resolved (tls.c, listener.c and backend.c do that, with
 * the recorded lines). */
#include "proxy/config_internal.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <syslog.h>

#include <openssl/ssl.h>

#include "proxy/log.h"

#define FIELD(type, base, opt) ((type *)(void *)((char *)(base) + (opt)->field))
#define SVC(member) offsetof(struct service_conf, member)
#define GLB(member) offsetof(struct config, member)
#define STR_(x) #x
#define STR(x) STR_(x)

#define ENDPOINT_PART_MAX 256             /* a value is shorter than a line */
#define PORT_NAME_MAX     32              /* /etc/services names are shorter */
#define HOST_NAME_MAX_LEN 253             /* DNS */
#define DNS_LABEL_MAX     63
#define HOSTNAME_SEPARATORS " \t,"
#define SECONDS_PER_DAY   86400L

/* control: the path and its NUL must fit a sockaddr_un */
_Static_assert(CONFIG_CONTROL_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
    "CONFIG_CONTROL_PATH_MAX is sun_path without its NUL");

/* --- small helpers --------------------------------------------------------- */

static bool
is_ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Keeps the latest line: global defaults are applied after a service's own
 * lines, and the line a message should point to is the service's. */
static void
record_line(void *base, const struct config_option *opt, unsigned line)
{
	unsigned *at;

	if (opt->line_field == 0)
		return;
	at = (unsigned *)(void *)((char *)base + opt->line_field);
	if (line > *at)
		*at = line;
}

static int
set_str(struct config_parser *p, struct conf_str *s, const char *value, unsigned line)
{
	char *copy = NULL;

	if (value != NULL && (copy = config_parser_strdup(p, value)) == NULL)
		return -1;
	free(s->value);
	s->value = copy;
	s->line = line;
	return 0;
}

/* --- parse functions --------------------------------------------------------- */

static int
parse_bool(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	bool *field = FIELD(bool, base, opt);

	if (strcasecmp(value, "yes") == 0)
		*field = true;
	else if (strcasecmp(value, "no") == 0)
		*field = false;
	else
		return config_parser_fail(p, line, opt->name, "expected yes or no, got \"%s\"", value);
	record_line(base, opt, line);
	return 0;
}

static int
parse_foreground(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	enum foreground_mode *field = FIELD(enum foreground_mode, base, opt);

	if (strcasecmp(value, "yes") == 0)
		*field = FOREGROUND_YES;
	else if (strcasecmp(value, "quiet") == 0)
		*field = FOREGROUND_QUIET;
	else if (strcasecmp(value, "no") == 0)
		*field = FOREGROUND_NO;
	else
		return config_parser_fail(p, line, opt->name,
		    "expected yes, quiet or no, got \"%s\"", value);
	return 0;
}

/* A file that must be named: cert, key, output. */
static int
parse_file(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	if (value[0] == '\0')
		return config_parser_fail(p, line, opt->name, "expected a file name, got nothing");
	return set_str(p, FIELD(struct conf_str, base, opt), value, line);
}

/* A file where empty means none, as in stunnel: pid, CAfile, CApath, CRLfile.
 * Empty also overrides a global default. */
static int
parse_file_or_none(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	return set_str(p, FIELD(struct conf_str, base, opt), value[0] ? value : NULL, line);
}

/* setuid, setgid: a name or a number, resolved by main.c. */
static int
parse_account(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	if (value[0] == '\0' || strpbrk(value, " \t:") != NULL)
		return config_parser_fail(p, line, opt->name,
		    "expected a name or a number, got \"%s\"", value);
	return set_str(p, FIELD(struct conf_str, base, opt), value, line);
}

/* ciphers, ciphersuites, curves: OpenSSL checks the words when it loads them. */
static int
parse_text(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	if (value[0] == '\0')
		return config_parser_fail(p, line, opt->name, "expected %s, got nothing", opt->syntax);
	return set_str(p, FIELD(struct conf_str, base, opt), value, line);
}

/* certstore: a directory the daemon opens at start. */
static int
parse_directory(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	if (value[0] == '\0')
		return config_parser_fail(p, line, opt->name, "expected a directory, got nothing");
	return set_str(p, FIELD(struct conf_str, base, opt), value, line);
}

/* control: the unix socket the daemon creates; empty means none. Absolute,
 * so that where it is does not depend on the directory certwrapd was started
 * from, and certwrapctl -s names the same file from anywhere. */
static int
parse_socket_path(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	size_t len = strlen(value);

	if (value[0] != '\0' && value[0] != '/')
		return config_parser_fail(p, line, opt->name, "expected an absolute path such as "
		    "/run/certwrap/certwrapd.sock, got \"%s\"", value);
	if (len > CONFIG_CONTROL_PATH_MAX)
		return config_parser_fail(p, line, opt->name, "the path is %zu bytes long; a unix "
		    "socket path is at most %d bytes (sun_path): choose a shorter one",
		    len, CONFIG_CONTROL_PATH_MAX);
	return set_str(p, FIELD(struct conf_str, base, opt), len ? value : NULL, line);
}

/* controlMode: octal as chmod takes it, "0660" or "660"; no setuid, setgid or
 * sticky bits, which mean nothing on a socket. */
static int
parse_mode(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	unsigned long mode = 0;
	const char *c;

	for (c = value; *c >= '0' && *c <= '7' && mode <= CONFIG_CONTROL_MODE_MAX; c++)
		mode = mode * 8 + (unsigned long)(*c - '0');
	if (c == value || *c != '\0' || mode > CONFIG_CONTROL_MODE_MAX)
		return config_parser_fail(p, line, opt->name,
		    "expected an octal mode such as 0660, got \"%s\"", value);
	*FIELD(unsigned, base, opt) = (unsigned)mode;
	record_line(base, opt, line);
	return 0;
}

static int
parse_seconds(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	unsigned long n = 0;
	const char *c;

	for (c = value; is_ascii_digit(*c) && n <= CONFIG_MAX_TIMEOUT_S; c++)
		n = n * 10 + (unsigned long)(*c - '0');
	if (c == value || *c != '\0' || n > CONFIG_MAX_TIMEOUT_S)
		return config_parser_fail(p, line, opt->name,
		    "expected whole seconds 0-%u, got \"%s\"", CONFIG_MAX_TIMEOUT_S, value);
	*FIELD(unsigned, base, opt) = (unsigned)n;
	return 0;
}

/* ticketKeyLifetime: seconds, at least 1 (a key that never rotates is what
 * the option exists to avoid). */
static int
parse_ticket_lifetime(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	if (parse_seconds(p, opt, base, value, line) == -1)
		return -1;
	if (*FIELD(unsigned, base, opt) == 0)
		return config_parser_fail(p, line, opt->name, "expected at least 1 second, got 0: "
		    "a ticket key that never rotates lets one stolen key open every session");
	return 0;
}

/* maxConnections, maxConnectionsTotal: a count, 0 for no limit. */
static int
parse_connection_limit(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	unsigned long n = 0;
	const char *c;

	for (c = value; is_ascii_digit(*c) && n <= CONFIG_MAX_CONNECTIONS; c++)
		n = n * 10 + (unsigned long)(*c - '0');
	if (c == value || *c != '\0' || n > CONFIG_MAX_CONNECTIONS)
		return config_parser_fail(p, line, opt->name, "expected a number of connections "
		    "0-%u (0: no limit), got \"%s\"", CONFIG_MAX_CONNECTIONS, value);
	*FIELD(unsigned, base, opt) = (unsigned)n;
	return 0;
}

/* workers = N | auto */
static int
parse_workers(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	unsigned long n = 0;
	const char *c;

	if (strcmp(value, "auto") == 0) {
		*FIELD(unsigned, base, opt) = 0;
		return 0;
	}
	for (c = value; is_ascii_digit(*c) && n <= CONFIG_WORKERS_MAX; c++)
		n = n * 10 + (unsigned long)(*c - '0');
	if (c == value || *c != '\0' || n == 0 || n > CONFIG_WORKERS_MAX)
		return config_parser_fail(p, line, opt->name, "expected a number of threads 1-%u, "
		    "or auto for one per CPU, got \"%s\"", CONFIG_WORKERS_MAX, value);
	*FIELD(unsigned, base, opt) = (unsigned)n;
	return 0;
}

/* --- debug = [FACILITY.]LEVEL ------------------------------------------------ */

static const struct {
	const char *name;
	int facility;
} syslog_facilities[] = {
	{ "auth", LOG_AUTH },     { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
	{ "daemon", LOG_DAEMON }, { "ftp", LOG_FTP },           { "kern", LOG_KERN },
	{ "lpr", LOG_LPR },       { "mail", LOG_MAIL },         { "news", LOG_NEWS },
	{ "syslog", LOG_SYSLOG }, { "user", LOG_USER },         { "uucp", LOG_UUCP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },     { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },     { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static int
facility_parse(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(syslog_facilities) / sizeof(syslog_facilities[0]); i++)
		if (strlen(syslog_facilities[i].name) == len &&
		    strncasecmp(syslog_facilities[i].name, name, len) == 0)
			return syslog_facilities[i].facility;
	return -1;
}

static int
parse_debug(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	struct config *cfg = base;
	const char *dot = strchr(value, '.');
	const char *level_name = dot ? dot + 1 : value;
	int facility = cfg->syslog_facility, level;

	if (dot != NULL && (facility = facility_parse(value, (size_t)(dot - value))) == -1)
		return config_parser_fail(p, line, opt->name,
		    "unknown syslog facility \"%.*s\": expected daemon, user, mail, auth, "
		    "authpriv, cron, ftp, kern, lpr, news, syslog, uucp or local0-local7",
		    (int)(dot - value), value);
	if ((level = log_level_parse(level_name)) == -1)
		return config_parser_fail(p, line, opt->name,
		    "expected a level emerg, alert, crit, err, warning, notice, info, debug "
		    "or 0-7, got \"%s\"", level_name);
	cfg->syslog_facility = facility;
	cfg->log_level = level;
	return 0;
}

/* --- TLS versions ------------------------------------------------------------------- */

static const struct {
	const char *name;
	int version;
} tls_versions[] = {
	{ "all", 0 },
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
};

const char *
config_tls_version_name(int version)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (tls_versions[i].version == version)
			return tls_versions[i].name;
	return "?";
}

/* The version named value into *version; -1 after reporting. */
static int
tls_version_parse(struct config_parser *p, const struct config_option *opt,
    const char *value, unsigned line, int *version)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++) {
		if (strcasecmp(value, tls_versions[i].name) == 0) {
			*version = tls_versions[i].version;
			return 0;
		}
	}
	if (strcasecmp(value, "SSLv3") == 0 || strcasecmp(value, "SSLv2") == 0)
		return config_parser_fail(p, line, opt->name,
		    "%s is not supported: OpenSSL 3 has no %s; use TLSv1.2 or later", value, value);
	return config_parser_fail(p, line, opt->name,
	    "expected all, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, got \"%s\"", value);
}

/* sslVersionMin, sslVersionMax: their order is checked when the section ends. */
static int
parse_tls_version(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	int version;

	if (tls_version_parse(p, opt, value, line, &version) == -1)
		return -1;
	*FIELD(int, base, opt) = version;
	record_line(base, opt, line);
	return 0;
}

/* stunnel's sslVersion: exactly this version. */
static int
parse_tls_version_both(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	struct service_conf *s = base;
	int version;

	if (tls_version_parse(p, opt, value, line, &version) == -1)
		return -1;
	s->tls_version_min = s->tls_version_max = version;
	s->tls_version_min_line = s->tls_version_max_line = line;
	return 0;
}

/* --- accept and connect: [HOST:]PORT ------------------------------------------------ */

static bool
copy_part(char *dst, const char *src, size_t len)
{
	if (len >= ENDPOINT_PART_MAX)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

/* Splits stunnel's forms: "993", "host:993", "[v6]:993" and ":::993", where
 * the last colon splits. host is "" when there is none. NULL, or why not. */
static const char *
endpoint_split(const char *value, char *host, char *port, bool *bracketed)
{
	const char *colon;

	*bracketed = false;
	host[0] = '\0';
	if (value[0] == '[') {
		const char *close = strchr(value, ']');

		if (close == NULL)
			return "no ']' after the IPv6 address";
		if (close[1] != ':')
			return "expected [IPv6 address]:PORT";
		*bracketed = true;
		if (!copy_part(host, value + 1, (size_t)(close - value - 1)) ||
		    !copy_part(port, close + 2, strlen(close + 2)))
			return "too long";
		return NULL;
	}
	if ((colon = strrchr(value, ':')) == NULL)
		return copy_part(port, value, strlen(value)) ? NULL : "too long";
	if (colon == value)
		return "no host before ':'";
	if (!copy_part(host, value, (size_t)(colon - value)) ||
	    !copy_part(port, colon + 1, strlen(colon + 1)))
		return "too long";
	return NULL;
}

/* An IPv6 literal, with an optional %scope (fe80::1%eth0). Pure: no lookup. */
static bool
is_ipv6_literal(const char *host)
{
	char addr[ENDPOINT_PART_MAX];
	const char *scope = strchr(host, '%');
	unsigned char buf[sizeof(struct in6_addr)];

	if (!copy_part(addr, host, scope ? (size_t)(scope - host) : strlen(host)))
		return false;
	if (scope != NULL) {
		if (scope[1] == '\0')
			return false;
		for (const char *c = scope + 1; *c; c++)
			if (!is_ascii_alpha(*c) && !is_ascii_digit(*c) && !strchr("._-", *c))
				return false;
	}
	return inet_pton(AF_INET6, addr, buf) == 1;
}

/* A DNS name or an IPv4 literal; the resolver decides the rest. */
static bool
is_host_name(const char *host)
{
	size_t len = strlen(host);

	if (len == 0 || len > HOST_NAME_MAX_LEN || host[0] == '-' || host[0] == '.')
		return false;
	for (const char *c = host; *c; c++)
		if (!is_ascii_alpha(*c) && !is_ascii_digit(*c) && !strchr("._-", *c))
			return false;
	return true;
}

/* A number 1-65535, written back without leading zeros, or a service name
 * (letters, digits, '-' and '_', at least one letter) left to getaddrinfo. */
static bool
port_normalize(char *port)
{
	bool has_letter = false;
	size_t len = strlen(port);
	unsigned long n = 0;

	if (len == 0 || len > PORT_NAME_MAX || port[0] == '-')
		return false;
	for (const char *c = port; *c; c++) {
		if (is_ascii_alpha(*c))
			has_letter = true;
		else if (!is_ascii_digit(*c) && *c != '-' && *c != '_')
			return false;
	}
	if (has_letter)
		return true;
	for (const char *c = port; *c && n <= 65535; c++)
		n = n * 10 + (unsigned long)(*c - '0');
	if (n < 1 || n > 65535)
		return false;
	snprintf(port, ENDPOINT_PART_MAX, "%lu", n);
	return true;
}

static int
endpoint_check(struct config_parser *p, const struct config_option *opt, const char *value,
    unsigned line, char *host, char *port)
{
	const char *why;
	bool bracketed;

	if (value[0] == '\0')
		return config_parser_fail(p, line, opt->name, "expected [HOST:]PORT, got nothing");
	if (value[0] == '/')
		return config_parser_fail(p, line, opt->name, "\"%s\": Unix socket paths are not "
		    "supported by certwrapd (yet); use [HOST:]PORT", value);
	if ((why = endpoint_split(value, host, port, &bracketed)) != NULL)
		return config_parser_fail(p, line, opt->name, "\"%s\": %s; expected [HOST:]PORT, "
		    "[IPv6]:PORT or :::PORT", value, why);
	if ((bracketed || strchr(host, ':')) && !is_ipv6_literal(host))
		return config_parser_fail(p, line, opt->name, "bad IPv6 address \"%s\"", host);
	if (!bracketed && !strchr(host, ':') && host[0] && !is_host_name(host))
		return config_parser_fail(p, line, opt->name, "bad host \"%s\": expected a host "
		    "name, an IPv4 address or [IPv6 address]", host);
	if (port[0] == '\0')
		return config_parser_fail(p, line, opt->name, "no port in \"%s\"", value);
	if (!port_normalize(port))
		return config_parser_fail(p, line, opt->name, "bad port \"%s\": expected a number "
		    "1-65535 or a service name such as imaps", port);
	return 0;
}

static int
endpoint_set(struct config_parser *p, const struct config_option *opt, struct conf_endpoint *ep,
    const char *value, unsigned line)
{
	char host[ENDPOINT_PART_MAX], port[ENDPOINT_PART_MAX];
	char *host_copy = NULL, *port_copy;

	if (endpoint_check(p, opt, value, line, host, port) == -1)
		return -1;
	if (host[0] && (host_copy = config_parser_strdup(p, host)) == NULL)
		return -1;
	if ((port_copy = config_parser_strdup(p, port)) == NULL) {
		free(host_copy);
		return -1;
	}
	free(ep->host);
	free(ep->port);
	ep->host = host_copy;
	ep->port = port_copy;
	ep->line = line;
	return 0;
}

static int
parse_accept(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	return endpoint_set(p, opt, FIELD(struct conf_endpoint, base, opt), value, line);
}

/* Each line adds a target, tried in file order. */
static int
parse_connect(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	struct service_conf *s = base;

	if (s->n_connect == CONFIG_MAX_CONNECT)
		return config_parser_fail(p, line, opt->name, "more than %d connect lines in %s",
		    CONFIG_MAX_CONNECT, config_parser_where(p));
	if (endpoint_set(p, opt, &s->connect[s->n_connect], value, line) == -1)
		return -1;
	s->n_connect++;
	return 0;
}

/* --- managed certificates ------------------------------------------------------------ */

/* certname: the certstore's rule for names, which are also directory names
 * in the store: [A-Za-z0-9][A-Za-z0-9._-]*, at most CONFIG_CERTNAME_MAX. */
static int
parse_certname(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	size_t len = strlen(value);
	bool ok = len > 0 && len <= CONFIG_CERTNAME_MAX &&
	    (is_ascii_alpha(value[0]) || is_ascii_digit(value[0]));

	for (const char *c = value; ok && *c; c++)
		ok = is_ascii_alpha(*c) || is_ascii_digit(*c) || strchr("._-", *c) != NULL;
	if (!ok)
		return config_parser_fail(p, line, opt->name, "expected a certstore name (a letter "
		    "or digit, then letters, digits, '.', '_' or '-'; at most %d bytes), got \"%s\"",
		    CONFIG_CERTNAME_MAX, value);
	return set_str(p, FIELD(struct conf_str, base, opt), value, line);
}

/* renewBefore: a whole number and one unit. The unit is required (a bare
 * number would be read as seconds by some and days by others) and lower
 * case only ('M' could be months). */
static int
parse_duration(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	static const struct { char unit; long seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', SECONDS_PER_DAY },
	};
	long n = 0, unit = 0;
	const char *c;

	/* saturates past the limit, so a long number is "too long", not garbage */
	for (c = value; is_ascii_digit(*c); c++)
		n = n > CONFIG_MAX_RENEW_BEFORE_S / 10 ? CONFIG_MAX_RENEW_BEFORE_S + 1
		    : n * 10 + (*c - '0');
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && c != value; i++)
		if (c[0] == units[i].unit && c[1] == '\0')
			unit = units[i].seconds;
	if (unit == 0)
		return config_parser_fail(p, line, opt->name,
		    "expected a duration such as 30d, 12h or 90m, got \"%s\"", value);
	if (n == 0)
		return config_parser_fail(p, line, opt->name,
		    "expected a duration above 0, such as 30d, 12h or 90m, got \"%s\"", value);
	if (n > CONFIG_MAX_RENEW_BEFORE_S / unit)
		return config_parser_fail(p, line, opt->name,
		    "\"%s\" is more than %ldd, the most it can be", value,
		    CONFIG_MAX_RENEW_BEFORE_S / SECONDS_PER_DAY);
	*FIELD(long, base, opt) = n * unit;
	record_line(base, opt, line);
	return 0;
}

/* Why name (lower case, no final dot) is not a DNS name a certificate can
 * carry, or NULL: certstore's rule (LDH labels of 1-63 bytes, "*." only as
 * the whole first label), and a last label that is not a number, so that a
 * mistyped IPv4 address such as 192.0.2.256 is not taken for a name. */
static const char *
dns_name_problem(const char *name)
{
	const char *c = name, *last_label;
	size_t label = 0;
	bool numeric = true;

	if (strlen(name) > HOST_NAME_MAX_LEN)
		return "longer than 253 bytes";
	if (strncmp(c, "*.", 2) == 0)
		c += 2;
	for (last_label = c;; c++) {
		if (*c == '.' || *c == '\0') {
			if (label == 0 || c[-1] == '-')
				return label ? "a label ends with '-'" : "empty label";
			if (*c == '\0')
				break;
			label = 0;
			last_label = c + 1;
			continue;
		}
		if (*c == '*')
			return "a wildcard is only \"*.\" at the start, as in *.example.org";
		if (!is_ascii_alpha(*c) && !is_ascii_digit(*c) && *c != '-')
			return "only letters, digits, '-' and '.' are allowed";
		if (label == 0 && *c == '-')
			return "a label begins with '-'";
		if (++label > DNS_LABEL_MAX)
			return "a label is longer than 63 bytes";
	}
	for (c = last_label; *c && numeric; c++)
		numeric = is_ascii_digit(*c);
	return numeric ? "not an IP address, and a DNS name does not end in a number" : NULL;
}

const char *
config_options_dns_name_problem(const char *name)
{
	return dns_name_problem(name);
}

/* One name of a hostname line into out (size HOST_NAME_MAX_LEN + 2) in the
 * form certstore writes into certificates: IP addresses as inet_ntop
 * prints them, DNS names in lower case without a final dot. NULL, or why not. */
static const char *
hostname_canonical(const char *name, size_t len, char *out, size_t size)
{
	unsigned char addr[sizeof(struct in6_addr)];
	int af;

	if (len >= size)
		return "longer than 253 bytes";
	memcpy(out, name, len);
	out[len] = '\0';
	af = strchr(out, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, out, addr) == 1)
		return inet_ntop(af, addr, out, (socklen_t)size) ? NULL : "bad IP address";
	if (af == AF_INET6)
		return "bad IPv6 address; write it without brackets, prefix length or zone";
	for (char *c = out; *c; c++)
		*c = ascii_lower(*c);
	if (len > 1 && out[len - 1] == '.')
		out[len - 1] = '\0';
	return dns_name_problem(out);
}

/* Index of name in s->hostnames, or -1; names are canonical (lower case). */
static int
hostname_find(const struct service_conf *s, const char *name)
{
	for (unsigned i = 0; i < s->n_hostnames; i++)
		if (strcmp(s->hostnames[i], name) == 0)
			return (int)i;
	return -1;
}

/* Checks and adds one name of a hostname line. */
static int
hostname_add(struct config_parser *p, const struct config_option *opt, struct service_conf *s,
    const char *name, size_t len, unsigned line)
{
	char canon[HOST_NAME_MAX_LEN + 2];
	const char *why;
	int dup;

	if ((why = hostname_canonical(name, len, canon, sizeof(canon))) != NULL)
		return config_parser_fail(p, line, opt->name, "\"%.*s\": %s; expected a DNS name "
		    "such as mail.example.org or *.example.org, or an IP address", (int)len, name, why);
	if ((dup = hostname_find(s, canon)) != -1)
		return config_parser_fail(p, line, opt->name, "\"%s\" given twice, first at line "
		    "%u; keep one", canon, s->hostname_lines[dup]);
	if (s->n_hostnames == CONFIG_MAX_HOSTNAMES)
		return config_parser_fail(p, line, opt->name, "more than %d host names in %s",
		    CONFIG_MAX_HOSTNAMES, config_parser_where(p));
	if ((s->hostnames[s->n_hostnames] = config_parser_strdup(p, canon)) == NULL)
		return -1;
	s->hostname_lines[s->n_hostnames++] = line;
	if (s->hostname_line == 0)
		s->hostname_line = line;
	return 0;
}

/* hostname: each line adds its names, separated by blanks or commas. The
 * first bad name ends the line: its later names are not checked. */
static int
parse_hostnames(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	struct service_conf *s = base;
	const char *c = value + strspn(value, HOSTNAME_SEPARATORS);

	if (*c == '\0')
		return config_parser_fail(p, line, opt->name, "expected a DNS name such as "
		    "mail.example.org or an IP address, got nothing");
	while (*c != '\0') {
		size_t len = strcspn(c, HOSTNAME_SEPARATORS);

		if (hostname_add(p, opt, s, c, len, line) == -1)
			return -1;
		c += len;
		c += strspn(c, HOSTNAME_SEPARATORS);
	}
	return 0;
}

/* --- PROXY header and SNI ------------------------------------------------------------ */

/* proxyProtocol: v1 or v2, or none to cancel a global default. */
static int
parse_proxy_header(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	enum proxy_header *field = FIELD(enum proxy_header, base, opt);

	if (strcasecmp(value, "v1") == 0)
		*field = PROXY_HEADER_V1;
	else if (strcasecmp(value, "v2") == 0)
		*field = PROXY_HEADER_V2;
	else if (strcasecmp(value, "none") == 0)
		*field = PROXY_HEADER_NONE;
	else
		return config_parser_fail(p, line, opt->name, "expected v1, v2 or none, got \"%s\"",
		    value);
	record_line(base, opt, line);
	return 0;
}

/* sni: kept as written. Its meaning depends on `client`, known only at the
 * end of the section: config_sni.c checks a server's PRIMARY[:PATTERN]; in
 * client mode it is the host name sent. */
static int
parse_sni(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	if (value[0] == '\0')
		return config_parser_fail(p, line, opt->name, "expected %s, got nothing", opt->syntax);
	return set_str(p, FIELD(struct conf_str, base, opt), value, line);
}

/* --- client mode -------------------------------------------------------------------- */

const char *
config_host_name_problem(const char *name)
{
	char lower[HOST_NAME_MAX_LEN + 2];
	size_t len = strlen(name);

	if (len == 0)
		return "empty";
	if (len > HOST_NAME_MAX_LEN)
		return "longer than 253 bytes";
	if (strchr(name, '*') != NULL)
		return "a wildcard is not a host name";
	if (inet_pton(AF_INET, name, lower) == 1 || inet_pton(AF_INET6, name, lower) == 1)
		return "an IP address, not a host name";
	for (size_t i = 0; i <= len; i++)
		lower[i] = ascii_lower(name[i]);
	return dns_name_problem(lower);
}

/* checkHost: each line adds one name, as stunnel's repeatable option does. */
static int
parse_check_host(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	struct service_conf *s = base;
	const char *why = config_host_name_problem(value);

	if (why != NULL)
		return config_parser_fail(p, line, opt->name, "\"%s\": %s; expected the host name "
		    "the upstream's certificate must carry, such as mail.example.org", value, why);
	if (s->n_check_hosts == CONFIG_MAX_CHECK_HOSTS)
		return config_parser_fail(p, line, opt->name, "more than %d checkHost lines in %s",
		    CONFIG_MAX_CHECK_HOSTS, config_parser_where(p));
	if ((s->check_hosts[s->n_check_hosts] = config_parser_strdup(p, value)) == NULL)
		return -1;
	s->check_host_lines[s->n_check_hosts++] = line;
	return 0;
}

/* protocol: the plaintext dialogue before STARTTLS (server), or what the
 * client side speaks (client = yes: the client-mode part). stunnel's
 * `protocol = proxy` is a PROXY v1 header, kept as proxyProtocol's v1. */
static int
parse_protocol(struct config_parser *p, const struct config_option *opt, void *base,
    const char *value, unsigned line)
{
	static const char *const stunnel_only[] = {
		"cifs", "capwin", "capwinctrl", "connect", "ldap", "nntp", "pgsql", "socks",
	};
	static const struct { const char *name; enum service_protocol protocol; bool implicit; }
	    mail[] = {
		{ "smtp", PROTOCOL_SMTP, false }, { "imap", PROTOCOL_IMAP, false },
		{ "pop3", PROTOCOL_POP3, false }, { "smtps", PROTOCOL_SMTP, true },
		{ "imaps", PROTOCOL_IMAP, true }, { "pop3s", PROTOCOL_POP3, true },
	};
	struct service_conf *sc = base;

	for (size_t i = 0; i < sizeof(mail) / sizeof(mail[0]); i++) {
		if (strcasecmp(value, mail[i].name) != 0)
			continue;
		sc->protocol = mail[i].implicit ? PROTOCOL_NONE : mail[i].protocol;
		sc->implicit_protocol = mail[i].implicit ? mail[i].protocol : PROTOCOL_NONE;
		record_line(base, opt, line);
		return 0;
	}
	if (strcasecmp(value, "proxy") == 0) {
		sc->protocol = PROTOCOL_NONE;
		sc->proxy_header = PROXY_HEADER_V1;
		if (line > sc->proxy_header_line)
			sc->proxy_header_line = line;
	} else {
		for (size_t i = 0; i < sizeof(stunnel_only) / sizeof(stunnel_only[0]); i++)
			if (strcasecmp(value, stunnel_only[i]) == 0)
				return config_parser_fail(p, line, opt->name, "stunnel's protocol "
				    "\"%s\" is not supported by certwrapd; it speaks smtp, imap, pop3 "
				    "(STARTTLS), smtps, imaps, pop3s (TLS from the first byte) and proxy",
				    value);
		return config_parser_fail(p, line, opt->name, "expected smtp, imap, pop3, smtps, "
		    "imaps, pop3s or proxy, got \"%s\"", value);
	}
	record_line(base, opt, line);
	return 0;
}

/* --- the table ------------------------------------------------------------------------ */

const struct config_option config_options[] = {
	/* global only */
	{ .name = "foreground", .scope = SCOPE_GLOBAL, .parse = parse_foreground,
	  .field = GLB(foreground), .default_value = "no", .syntax = "yes | quiet | no",
	  .stunnel = "stay in the foreground; yes also logs to stderr" },
	{ .name = "pid", .scope = SCOPE_GLOBAL, .parse = parse_file_or_none,
	  .field = GLB(pid_file), .syntax = "FILE", .stunnel = "pid file; empty: none" },
	{ .name = "debug", .scope = SCOPE_GLOBAL, .parse = parse_debug,
	  .field = GLB(log_level), .default_value = "daemon.notice",
	  .syntax = "[FACILITY.]LEVEL", .stunnel = "log level and syslog facility" },
	{ .name = "output", .scope = SCOPE_GLOBAL, .parse = parse_file,
	  .field = GLB(output), .syntax = "FILE",
	  .stunnel = "append log lines to this file" },
	{ .name = "syslog", .scope = SCOPE_GLOBAL, .parse = parse_bool,
	  .field = GLB(syslog), .default_value = "yes", .syntax = "yes | no",
	  .stunnel = "log to syslog" },
	{ .name = "setuid", .scope = SCOPE_GLOBAL, .parse = parse_account,
	  .field = GLB(setuid_user), .syntax = "USER",
	  .stunnel = "user to run as after binding" },
	{ .name = "setgid", .scope = SCOPE_GLOBAL, .parse = parse_account,
	  .field = GLB(setgid_group), .syntax = "GROUP",
	  .stunnel = "group to run as after binding" },
	{ .name = "certstore", .scope = SCOPE_GLOBAL, .parse = parse_directory,
	  .field = GLB(certstore_dir), .syntax = "DIR",
	  .stunnel = "certwrapd only: the certificate store certname reads" },
	{ .name = "control", .scope = SCOPE_GLOBAL, .parse = parse_socket_path,
	  .field = GLB(control_path), .syntax = "PATH",
	  .stunnel = "certwrapd only: the control socket for certwrapctl; empty: none" },
	{ .name = "controlMode", .scope = SCOPE_GLOBAL, .parse = parse_mode,
	  .field = GLB(control_mode), .line_field = GLB(control_mode_line),
	  .default_value = STR(CONFIG_DEFAULT_CONTROL_MODE), .syntax = "MODE",
	  .stunnel = "certwrapd only: the control socket's mode" },
	{ .name = "controlGroup", .scope = SCOPE_GLOBAL, .parse = parse_account,
	  .field = GLB(control_group), .syntax = "GROUP",
	  .stunnel = "certwrapd only: a group allowed on the control socket" },
	{ .name = "maxConnectionsTotal", .scope = SCOPE_GLOBAL, .parse = parse_connection_limit,
	  .field = GLB(max_connections_total), .default_value = "0", .syntax = "COUNT",
	  .stunnel = "certwrapd only: connections open at once in the whole daemon; at the "
	  "limit accepting pauses (0: no limit but the descriptors)" },
	{ .name = "workers", .scope = SCOPE_GLOBAL, .parse = parse_workers,
	  .field = GLB(workers), .default_value = "auto", .syntax = "COUNT|auto",
	  .stunnel = "certwrapd only: threads serving connections, each with its own event "
	  "loop; auto: one per CPU the daemon may run on (taskset, cpusets)" },
	{ .name = "ticketKeyLifetime", .scope = SCOPE_GLOBAL, .parse = parse_ticket_lifetime,
	  .field = GLB(ticket_key_lifetime_s),
	  .default_value = STR(CONFIG_DEFAULT_TICKET_KEY_LIFETIME_S), .syntax = "SECONDS",
	  .stunnel = "certwrapd only: how long a session ticket key encrypts before the "
	  "next one takes over (the previous one still decrypts)" },

	/* per service; in the global section, defaults for every service */
	{ .name = "accept", .scope = SCOPE_SERVICE, .parse = parse_accept,
	  .field = SVC(accept), .syntax = "[HOST:]PORT",
	  .stunnel = "accept connections on this address", .flags = OPT_REQUIRED,
	  .missing_hint = "the address to listen on, e.g. accept = 993" },
	{ .name = "connect", .scope = SCOPE_SERVICE, .parse = parse_connect,
	  .field = SVC(connect), .syntax = "[HOST:]PORT",
	  .stunnel = "connect to this backend; repeat for failover",
	  .flags = OPT_REQUIRED | OPT_REPEATABLE,
	  .missing_hint = "the backend address, e.g. connect = 143" },
	{ .name = "cert", .scope = SCOPE_SERVICE, .parse = parse_file, .field = SVC(cert),
	  .syntax = "FILE", .stunnel = "certificate chain file (PEM)",
	  .flags = OPT_REQUIRED | OPT_SERVER_ONLY,
	  .missing_hint = "the certificate chain, e.g. cert = /etc/certwrap/cert.pem, or "
	  "certname = NAME to serve one from the certstore", .required_unless = "certname" },
	{ .name = "key", .scope = SCOPE_SERVICE, .parse = parse_file, .field = SVC(key),
	  .syntax = "FILE", .stunnel = "private key file; default: the cert file" },
	{ .name = "certname", .scope = SCOPE_SERVICE, .parse = parse_certname,
	  .field = SVC(certname), .syntax = "NAME",
	  .stunnel = "certwrapd only: serve the certstore's current NAME instead of cert/key",
	  .alternative_to = { "cert", "key" } },
	{ .name = "autoIssue", .scope = SCOPE_SERVICE, .parse = parse_bool,
	  .field = SVC(auto_issue), .line_field = SVC(auto_issue_line),
	  .default_value = "no", .syntax = "yes | no",
	  .stunnel = "certwrapd only: issue certname from the store's CA if it is missing" },
	{ .name = "hostname", .scope = SCOPE_SERVICE, .parse = parse_hostnames,
	  .field = SVC(hostnames), .syntax = "NAME [NAME...]",
	  .stunnel = "certwrapd only: the names the certificate must cover",
	  .flags = OPT_REPEATABLE },
	{ .name = "renewBefore", .scope = SCOPE_SERVICE, .parse = parse_duration,
	  .field = SVC(renew_before_s), .line_field = SVC(renew_before_line),
	  .syntax = "DURATION",
	  .stunnel = "certwrapd only: renew certname when it expires within this time" },
	{ .name = "CAfile", .scope = SCOPE_SERVICE, .parse = parse_file_or_none,
	  .field = SVC(ca_file), .syntax = "FILE",
	  .stunnel = "trusted CA certificates for client verification" },
	{ .name = "CApath", .scope = SCOPE_SERVICE, .parse = parse_file_or_none,
	  .field = SVC(ca_path), .syntax = "DIRECTORY",
	  .stunnel = "hashed directory of trusted CA certificates" },
	{ .name = "CRLfile", .scope = SCOPE_SERVICE, .parse = parse_file_or_none,
	  .field = SVC(crl_file), .syntax = "FILE",
	  .stunnel = "certificate revocation lists" },
	{ .name = "verifyChain", .scope = SCOPE_SERVICE, .parse = parse_bool,
	  .field = SVC(verify_chain), .line_field = SVC(verify_line),
	  .default_value = "no", .syntax = "yes | no",
	  .stunnel = "verify the client certificate chain up to a CA" },
	{ .name = "verifyPeer", .scope = SCOPE_SERVICE, .parse = parse_bool,
	  .field = SVC(verify_peer), .line_field = SVC(verify_line), .default_value = "no",
	  .syntax = "yes | no",
	  .stunnel = "accept only client certificates found in CAfile or CApath" },
	{ .name = "requireCert", .scope = SCOPE_SERVICE, .parse = parse_bool,
	  .field = SVC(require_cert), .line_field = SVC(verify_line),
	  .default_value = "no", .syntax = "yes | no",
	  .stunnel = "require a client certificate" },
	{ .name = "sslVersionMin", .scope = SCOPE_SERVICE, .parse = parse_tls_version,
	  .field = SVC(tls_version_min), .line_field = SVC(tls_version_min_line),
	  .default_value = "all", .syntax = "all | TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3",
	  .stunnel = "lowest TLS version" },
	{ .name = "sslVersionMax", .scope = SCOPE_SERVICE, .parse = parse_tls_version,
	  .field = SVC(tls_version_max), .line_field = SVC(tls_version_max_line),
	  .default_value = "all", .syntax = "all | TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3",
	  .stunnel = "highest TLS version" },
	{ .name = "sslVersion", .scope = SCOPE_SERVICE, .parse = parse_tls_version_both,
	  .field = SVC(tls_version_min),
	  .syntax = "all | TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3",
	  .stunnel = "exactly this TLS version",
	  .shorthand_for = { "sslVersionMin", "sslVersionMax" } },
	{ .name = "ciphers", .scope = SCOPE_SERVICE, .parse = parse_text,
	  .field = SVC(ciphers), .default_value = CONFIG_DEFAULT_CIPHERS,
	  .syntax = "CIPHER_LIST", .stunnel = "TLSv1.2 and older ciphers" },
	{ .name = "ciphersuites", .scope = SCOPE_SERVICE, .parse = parse_text,
	  .field = SVC(ciphersuites), .default_value = CONFIG_DEFAULT_CIPHERSUITES,
	  .syntax = "CIPHERSUITES_LIST", .stunnel = "TLSv1.3 ciphersuites" },
	{ .name = "curves", .scope = SCOPE_SERVICE, .parse = parse_text,
	  .field = SVC(curves), .default_value = CONFIG_DEFAULT_CURVES,
	  .syntax = "CURVE_LIST", .stunnel = "key exchange groups" },
	{ .name = "client", .scope = SCOPE_SERVICE, .parse = parse_bool,
	  .field = SVC(client), .line_field = SVC(client_line), .default_value = "no",
	  .syntax = "yes | no",
	  .stunnel = "plaintext in, TLS out: connect to a TLS upstream for plaintext clients" },
	{ .name = "checkHost", .scope = SCOPE_SERVICE, .parse = parse_check_host,
	  .field = SVC(check_hosts), .syntax = "NAME",
	  .stunnel = "client mode: a host name the upstream's certificate must match; repeat "
	  "for alternatives", .flags = OPT_REPEATABLE },
	{ .name = "protocol", .scope = SCOPE_SERVICE, .parse = parse_protocol,
	  .field = SVC(protocol), .line_field = SVC(protocol_line),
	  .syntax = "smtp | imap | pop3 | smtps | imaps | pop3s | proxy",
	  .stunnel = "plaintext dialogue before STARTTLS (proxy: a PROXY v1 header; smtps, "
	  "imaps, pop3s: certwrapd only, TLS from the first byte)" },
	{ .name = "requireTLS", .scope = SCOPE_SERVICE, .parse = parse_bool,
	  .field = SVC(require_tls), .default_value = "yes", .syntax = "yes | no",
	  .stunnel = "certwrapd only: refuse credentials and mail before STARTTLS" },
	{ .name = "TIMEOUTbusy", .scope = SCOPE_SERVICE, .parse = parse_seconds,
	  .field = SVC(timeout_busy_s),
	  .default_value = STR(CONFIG_DEFAULT_TIMEOUT_BUSY_S), .syntax = "SECONDS",
	  .stunnel = "time to wait for expected data" },
	{ .name = "TIMEOUTclose", .scope = SCOPE_SERVICE, .parse = parse_seconds,
	  .field = SVC(timeout_close_s),
	  .default_value = STR(CONFIG_DEFAULT_TIMEOUT_CLOSE_S), .syntax = "SECONDS",
	  .stunnel = "time to wait for close_notify" },
	{ .name = "TIMEOUTconnect", .scope = SCOPE_SERVICE, .parse = parse_seconds,
	  .field = SVC(timeout_connect_s),
	  .default_value = STR(CONFIG_DEFAULT_TIMEOUT_CONNECT_S), .syntax = "SECONDS",
	  .stunnel = "time to wait to connect a backend" },
	{ .name = "TIMEOUTidle", .scope = SCOPE_SERVICE, .parse = parse_seconds,
	  .field = SVC(timeout_idle_s),
	  .default_value = STR(CONFIG_DEFAULT_TIMEOUT_IDLE_S), .syntax = "SECONDS",
	  .stunnel = "time to keep an idle connection" },
	{ .name = "maxConnections", .scope = SCOPE_SERVICE, .parse = parse_connection_limit,
	  .field = SVC(max_connections), .default_value = "0", .syntax = "COUNT",
	  .stunnel = "certwrapd only: connections this service holds open at once; at the "
	  "limit accepting pauses, and waiting clients stay queued (0: no limit)" },
	{ .name = "proxyProtocol", .scope = SCOPE_SERVICE, .parse = parse_proxy_header,
	  .field = SVC(proxy_header), .line_field = SVC(proxy_header_line),
	  .default_value = "none", .syntax = "v1 | v2 | none",
	  .stunnel = "certwrapd only: send the client's address to the backend in a PROXY "
	  "header (stunnel: protocol = proxy, which is v1)" },
	{ .name = "sni", .scope = SCOPE_SERVICE, .parse = parse_sni, .field = SVC(sni),
	  .syntax = "PRIMARY[:PATTERN] | HOSTNAME",
	  .stunnel = "server: a secondary service of PRIMARY, chosen by the client's server "
	  "name; client: the server name to send" },
};

const size_t config_options_count = sizeof(config_options) / sizeof(config_options[0]);

/* set_mask has one bit per row; a line field at offset 0 would read as "none". */
_Static_assert(sizeof(config_options) / sizeof(config_options[0]) <= 64, "set_mask bits");
_Static_assert(offsetof(struct config, file) == 0, "line_field 0 means none");
_Static_assert(offsetof(struct service_conf, name) == 0, "line_field 0 means none");

const struct config_option *
config_options_find(const char *name)
{
	for (size_t i = 0; i < config_options_count; i++)
		if (strcasecmp(config_options[i].name, name) == 0)
			return &config_options[i];
	return NULL;
}

unsigned long long
config_option_bit(const struct config_option *opt)
{
	return 1ULL << (opt - config_options);
}

/* --- what certwrapd refuses --------------------------------------------------------- */

/* stunnel's verify levels (stunnel 5: options.c) mapped to their successors. */
static const char *
advise_verify(const char *value)
{
	static const char *const advice[] = {
		"obsolete stunnel option; verify = 0 (request and ignore a client "
		    "certificate) has no certwrapd equivalent: remove it",
		"obsolete stunnel option; replace verify = 1 with verifyChain = yes "
		    "(which also requires a client certificate)",
		"obsolete stunnel option; replace verify = 2 with verifyChain = yes",
		"obsolete stunnel option; replace verify = 3 with verifyChain = yes "
		    "and verifyPeer = yes",
		"obsolete stunnel option; replace verify = 4 with verifyPeer = yes",
	};

	if (value[0] >= '0' && value[0] <= '4' && value[1] == '\0')
		return advice[value[0] - '0'];
	return "obsolete stunnel option; replace it with verifyChain = yes "
	    "and/or verifyPeer = yes";
}

#define NOT_SUPPORTED "stunnel option not supported by certwrapd; "

const struct config_unsupported config_unsupported[] = {
	{ "verify", NULL, advise_verify },
	{ "CRLpath", NOT_SUPPORTED "put the CRLs in one file and use CRLfile", NULL },
	{ "compression", NOT_SUPPORTED "TLS compression is unsafe (CRIME); remove it", NULL },
	{ "include", NOT_SUPPORTED "put the options in this file", NULL },
	{ "log", NOT_SUPPORTED "certwrapd always appends to the output file; remove it", NULL },
	{ "failover", NOT_SUPPORTED "certwrapd always tries the connect targets in file "
	    "order (stunnel's failover = prio); remove it", NULL },
	{ "options", NOT_SUPPORTED "use sslVersionMin and sslVersionMax instead of "
	    "NO_TLSv1 and the like; other OpenSSL options cannot be set", NULL },
	{ "EGD", NOT_SUPPORTED "OpenSSL 3 seeds itself from the kernel; remove it", NULL },
	{ "RND*", NOT_SUPPORTED "OpenSSL 3 seeds itself from the kernel; remove it", NULL },
	{ "icon*", NOT_SUPPORTED "a Windows GUI option; remove it", NULL },
	{ "taskbar", NOT_SUPPORTED "a Windows GUI option; remove it", NULL },
	{ "CAengine", NULL, NULL },   { "checkEmail", NULL, NULL },
	{ "checkIP", NULL, NULL },    { "chroot", NULL, NULL },     { "config", NULL, NULL },
	{ "delay", NULL, NULL },      { "engine*", NULL, NULL },    { "exec", NULL, NULL },
	{ "execArgs", NULL, NULL },   { "fips", NULL, NULL },       { "ident", NULL, NULL },
	{ "libwrap", NULL, NULL },    { "local", NULL, NULL },      { "logId", NULL, NULL },
	/* protocol itself is an option; protocolHost, protocolUsername... are not */
	{ "OCSP*", NULL, NULL },      { "protocol*", NULL, NULL },  { "PSK*", NULL, NULL },
	{ "pty", NULL, NULL },        { "redirect", NULL, NULL },   { "renegotiation", NULL, NULL },
	{ "reset", NULL, NULL },      { "retry", NULL, NULL },      { "securityLevel", NULL, NULL },
	{ "service", NULL, NULL },    { "session*", NULL, NULL },
	{ "socket", NULL, NULL },     { "stack", NULL, NULL },      { "ticketKeySecret", NULL, NULL },
	{ "ticketMacSecret", NULL, NULL }, { "TIMEOUTocsp", NULL, NULL },
	{ "transparent", NULL, NULL },
};

const size_t config_unsupported_count =
    sizeof(config_unsupported) / sizeof(config_unsupported[0]);

const struct config_unsupported *
config_options_find_unsupported(const char *name)
{
	for (size_t i = 0; i < config_unsupported_count; i++) {
		const char *pattern = config_unsupported[i].name;
		size_t len = strlen(pattern);

		if (pattern[len - 1] == '*' ? strncasecmp(pattern, name, len - 1) == 0
		                            : strcasecmp(pattern, name) == 0)
			return &config_unsupported[i];
	}
	return NULL;
}

/* --- did you mean ------------------------------------------------------------------- */

#define SUGGEST_NAME_MAX 64

static unsigned
min3(unsigned a, unsigned b, unsigned c)
{
	unsigned m = a < b ? a : b;

	return m < c ? m : c;
}

/* Optimal string alignment distance, case-insensitive: insertions, deletions,
 * substitutions and swaps of neighbours each cost 1 ("accpet" is 1 from
 * "accept"). UINT_MAX for names too long to be a typo of an option. */
static unsigned
edit_distance(const char *a, const char *b)
{
	static const unsigned too_far = UINT_MAX;
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[SUGGEST_NAME_MAX + 1][SUGGEST_NAME_MAX + 1];

	if (la > SUGGEST_NAME_MAX || lb > SUGGEST_NAME_MAX)
		return too_far;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = ascii_lower(a[i - 1]) != ascii_lower(b[j - 1]);

			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && ascii_lower(a[i - 1]) == ascii_lower(b[j - 2]) &&
			    ascii_lower(a[i - 2]) == ascii_lower(b[j - 1]) && d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[la][lb];
}

const char *
config_options_suggest(const char *name)
{
	const char *best = NULL;
	unsigned best_distance = UINT_MAX;

	for (size_t i = 0; i < config_options_count; i++) {
		const char *candidate = config_options[i].name;
		/* one slip in a short name, two in a longer one: more is a different word */
		unsigned allowed = strlen(candidate) <= 4 ? 1 : 2;
		unsigned d = edit_distance(name, candidate);

		if (d <= allowed && d < best_distance) {
			best = candidate;
			best_distance = d;
		}
	}
	return best;
}
