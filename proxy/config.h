/* config.h: stunnel's INI format in, struct config or every error out.
 *
 * The parser is pure: text in, a struct config or FILE:LINE errors out. It
 * checks syntax and values (ports, booleans, levels, versions, durations) but
 * touches no file and resolves no name; certificate files are checked by tls.c
 * and addresses by listener.c and backend.c, which use the recorded line
 * numbers so their messages also read "FILE:LINE: option: what is wrong". */
#ifndef CERTWRAP_CONFIG_H
#define CERTWRAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_CONNECT   16           /* `connect` lines per service */
#define CONFIG_MAX_SERVICES  256
#define CONFIG_ERRORS_MAX    8192         /* all error lines, joined by '\n' */
#define CONFIG_MAX_FILE_BYTES (1024 * 1024)
#define CONFIG_MAX_TIMEOUT_S 31536000     /* one year, the bound of every TIMEOUT* */
#define CONFIG_MAX_HOSTNAMES 32           /* `hostname` names per service */
#define CONFIG_MAX_CHECK_HOSTS 16         /* `checkHost` names per service */
#define CONFIG_CERTNAME_MAX  64           /* the certstore's CS_NAME_MAX */
#define CONFIG_CONTROL_PATH_MAX 107       /* sizeof(sun_path) - 1 on Linux: the NUL */
#define CONFIG_CONTROL_MODE_MAX 0777
#define CONFIG_DEFAULT_CONTROL_MODE 0660  /* owner and group; others get EACCES */
#define CONFIG_DEFAULT_TICKET_KEY_LIFETIME_S 43200   /* 12 hours, as the tickets' own */
#define CONFIG_MAX_CONNECTIONS      1000000
#define CONFIG_WORKERS_MAX   64           /* workers = N */
#define CONFIG_MAX_RENEW_BEFORE_S (3650L * 86400)   /* renewBefore: ten years */

/* A value as written, and where: line 0 means "not set, default in force". */
struct conf_str {
	char *value;                      /* NULL when unset and without default (or set
	                                     empty where empty means none); owned by the config */
	unsigned line;
};

/* `accept` or `connect`: [host:]port, host:port, [v6]:port, :::port. */
struct conf_endpoint {
	char *host;                       /* NULL: accept on all IPv4 addresses,
	                                     connect to localhost (stunnel's defaults) */
	char *port;                       /* number (1-65535, no leading zeros) or service
	                                     name, never NULL when line != 0 */
	unsigned line;
};

enum foreground_mode { FOREGROUND_NO, FOREGROUND_YES, FOREGROUND_QUIET };

/* Options a [service] section may set; the global section may set them too,
 * as defaults for every service (stunnel's rule). */
/* `protocol =`: what the plaintext dialogue before TLS speaks. */
enum service_protocol {
	PROTOCOL_NONE,                    /* implicit TLS (or plain TCP in client mode) */
	PROTOCOL_SMTP,
	PROTOCOL_IMAP,
	PROTOCOL_POP3,
};

/* `proxyProtocol =`: the header sent to the backend before any data. */
enum proxy_header {
	PROXY_HEADER_NONE,
	PROXY_HEADER_V1,                  /* HAProxy's text form */
	PROXY_HEADER_V2,                  /* the binary form */
};

struct service_conf {
	char *name;                       /* the [section] name */
	unsigned line;                    /* line of the [section] header; 0 for defaults */

	struct conf_endpoint accept;      /* required */
	struct conf_endpoint connect[CONFIG_MAX_CONNECT];   /* tried in order */
	unsigned n_connect;               /* at least 1 */

	struct conf_str cert;             /* PEM: leaf, then chain (may hold the key) */
	struct conf_str key;              /* unset: a copy of cert, line 0 */
	struct conf_str ca_file;          /* CAfile, CApath, CRLfile: NULL when unset or empty */
	struct conf_str ca_path;
	struct conf_str crl_file;

	bool verify_chain;                /* default no */
	bool verify_peer;                 /* default no */
	bool require_cert;                /* default no; implied by verify_* */
	unsigned verify_line;             /* line of the last verifyChain, verifyPeer or
	                                     requireCert line in effect, 0 unset */

	int tls_version_min;              /* OpenSSL's TLS1_2_VERSION etc.; 0: library's lowest */
	int tls_version_max;              /* 0: library's highest */
	unsigned tls_version_min_line, tls_version_max_line;

	struct conf_str ciphers;          /* TLS 1.2 and below; unset: CONFIG_DEFAULT_CIPHERS, line 0 */
	struct conf_str ciphersuites;     /* TLS 1.3; unset: CONFIG_DEFAULT_CIPHERSUITES, line 0 */
	struct conf_str curves;           /* unset: CONFIG_DEFAULT_CURVES, line 0 */

	unsigned timeout_busy_s;          /* stunnel TIMEOUTbusy: handshake, stalled writes */
	unsigned timeout_close_s;         /* TIMEOUTclose: waiting for close_notify */
	unsigned timeout_connect_s;       /* TIMEOUTconnect: per backend attempt */
	unsigned timeout_idle_s;          /* TIMEOUTidle: nothing moving */
	unsigned max_connections;         /* maxConnections: open at once; 0: no limit */

	/* Managed certificates. A service has cert (and key) or certname, never
	 * both; its own choice wins over the other one inherited from the global
	 * section. auto_issue and renew_before_s are set only with certname. */
	struct conf_str certname;         /* a certstore name; NULL: cert/key files */
	bool auto_issue;                  /* autoIssue: issue certname if missing; default no */
	unsigned auto_issue_line;         /* 0: default */
	long renew_before_s;              /* renewBefore in seconds; 0: unset, the daemon's
	                                     rule (a third of the lifetime, half when it is
	                                     10 days or less) */
	unsigned renew_before_line;
	/* hostname: the names the service answers for; DNS names in lower case
	 * without a final dot, IP addresses in inet_ntop's form; no duplicates */
	char *hostnames[CONFIG_MAX_HOSTNAMES];
	unsigned hostname_lines[CONFIG_MAX_HOSTNAMES];   /* the line of each name */
	unsigned n_hostnames;
	unsigned hostname_line;           /* the first hostname line in effect, 0: none */

	/* Mail protocols and client mode (issue 5). Each option's row and its
	 * behaviour belong to the part that implements it: protocol and
	 * requireTLS (STARTTLS, starttls*.c), proxyProtocol (the PROXY header),
	 * sni (server: several certificates; client: the name sent), client,
	 * checkHost (client mode). */
	enum service_protocol protocol;   /* default PROTOCOL_NONE: TLS from the first byte */
	unsigned protocol_line;
	enum service_protocol implicit_protocol;   /* protocol = smtps | imaps | pop3s: TLS
	                                     from the first byte, and this protocol inside it
	                                     (its "try again later" when no backend answers) */
	bool require_tls;                 /* requireTLS: no credentials before TLS; default yes */
	enum proxy_header proxy_header;   /* proxyProtocol; `protocol = proxy` is v1 */
	unsigned proxy_header_line;
	bool client;                      /* client = yes: plaintext in, TLS out */
	unsigned client_line;
	struct conf_str sni;              /* as written; its meaning depends on client */
	/* A server service's sni = PRIMARY[:PATTERN] makes it a secondary of
	 * PRIMARY: it has no accept of its own, and a client of PRIMARY whose
	 * server name matches gets its certificate and its backend (n_connect
	 * 0: the primary's) (config_sni.c checks; proxy/sni.c chooses). */
	char *sni_primary;                /* the primary's [section] name; NULL: not a secondary */
	char *sni_pattern;                /* lower case, "*." first for a wildcard; NULL: the
	                                     DNS names of the secondary's certificate */
	unsigned n_sni_secondaries;       /* a primary: how many secondaries name it */

	/* checkHost (client mode): names one of which the upstream's certificate
	 * must match, as written, in file order; needs verifyChain or verifyPeer */
	char *check_hosts[CONFIG_MAX_CHECK_HOSTS];
	unsigned check_host_lines[CONFIG_MAX_CHECK_HOSTS];
	unsigned n_check_hosts;

	/* which options were given in this section (bit per option-table row,
	 * config_options.c; sslVersion sets the bits of sslVersionMin and
	 * sslVersionMax too), so global defaults fill only what a service left unset */
	unsigned long long set_mask;
};

struct config {
	char *file;                       /* the path given, for messages */

	enum foreground_mode foreground;  /* default no (daemonize) */
	struct conf_str pid_file;         /* unset or empty (value NULL): no pid file */
	int log_level;                    /* `debug`: 0..7, default 5 (notice) */
	int syslog_facility;              /* `debug = facility.level`; default LOG_DAEMON */
	struct conf_str output;           /* log file, appended */
	bool syslog;                      /* default yes */
	struct conf_str setuid_user;      /* name or number; resolved by main.c */
	struct conf_str setgid_group;

	struct conf_str certstore_dir;    /* certstore = DIR; NULL: none (no certname) */
	struct conf_str control_path;     /* control = PATH, absolute, at most
	                                     CONFIG_CONTROL_PATH_MAX bytes; NULL: no socket */
	unsigned control_mode;            /* controlMode: the socket's file mode, 0-0777;
	                                     default CONFIG_DEFAULT_CONTROL_MODE */
	unsigned control_mode_line;       /* 0: default */
	struct conf_str control_group;    /* controlGroup: name or number, resolved by the
	                                     daemon; NULL: root and the daemon's user only */
	unsigned max_connections_total;   /* maxConnectionsTotal: open at once in the
	                                     whole daemon; 0: no limit but the descriptors */
	unsigned workers;                 /* workers = N; 0 (auto): one per CPU the
	                                     daemon may run on */
	unsigned ticket_key_lifetime_s;   /* ticketKeyLifetime: how long a session ticket key
	                                     encrypts (it decrypts as long again); default
	                                     CONFIG_DEFAULT_TICKET_KEY_LIFETIME_S */

	struct service_conf *services;    /* in file order */
	unsigned n_services;
};

struct config_error {
	unsigned count;                   /* number of errors */
	char msg[CONFIG_ERRORS_MAX];      /* "file:line: option: why", one per line, no final '\n' */
};

/* Stunnel-compatible defaults (documented in certwrapd.conf(5)). */
#define CONFIG_DEFAULT_CIPHERS      "HIGH:!aNULL:!SSLv2:!DH:!kDHEPSK"
#define CONFIG_DEFAULT_CIPHERSUITES \
	"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"
#define CONFIG_DEFAULT_CURVES       "X25519:P-256:X448:P-521:P-384"
#define CONFIG_DEFAULT_TIMEOUT_BUSY_S    300
#define CONFIG_DEFAULT_TIMEOUT_CLOSE_S   60
#define CONFIG_DEFAULT_TIMEOUT_CONNECT_S 10
#define CONFIG_DEFAULT_TIMEOUT_IDLE_S    43200

/* Parses text (the contents of a file named file, for messages). On success
 * fills *cfg (release with config_free) and returns 0. On failure returns -1,
 * leaves *cfg empty (config_free is still safe), and err holds every error
 * found, one "file:line: option: why" per line. */
int config_parse_string(const char *file, const char *text, struct config *cfg,
    struct config_error *err);

/* The same for len bytes that need not end in NUL: a NUL byte inside the text
 * is an error (config_parse_string cannot see one). */
int config_parse_buffer(const char *file, const char *text, size_t len, struct config *cfg,
    struct config_error *err);

/* Reads path (bounded by CONFIG_MAX_FILE_BYTES) and parses it. A file that
 * cannot be read is reported as "path: why" in err. */
int config_parse_file(const char *path, struct config *cfg, struct config_error *err);

/* Frees what cfg owns and zeroes it. NULL or a zeroed config is a no-op. */
void config_free(struct config *cfg);

/* The service named name, or NULL. */
const struct service_conf *config_find_service(const struct config *cfg, const char *name);

/* Why name is not a host name a certificate check or SNI can use (a DNS
 * name without wildcard, not an IP address), or NULL when it is one. */
const char *config_host_name_problem(const char *name);

/* "TLSv1.2" for TLS1_2_VERSION, "all" for 0. */
const char *config_tls_version_name(int version);

#endif
