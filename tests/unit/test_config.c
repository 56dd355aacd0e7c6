/* test_config.c: proxy/config.c and proxy/config_options.c.
 *
 * Data-driven: tables of (config text, service, option, expected value) and
 * (config text, expected error text), walked by a few test functions. Values
 * are compared as short strings (describe()), so a table row reads like the
 * config it tests. Coverage tests check that every row of the option table
 * has value and default cases here and a paragraph in certwrapd.conf(5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/config.h"
#include "proxy/config_internal.h"
#include "proxy/log.h"

/* What a service needs besides the line under test, placed after it so the
 * tested line keeps its number. */
#define NEED_CONNECT_CERT "connect = 143\ncert = /etc/ssl/imaps.pem\n"
#define NEED_ACCEPT_CERT  "accept = 993\ncert = /etc/ssl/imaps.pem\n"
#define NEED_ALL          "accept = 993\nconnect = 143\ncert = /etc/ssl/imaps.pem\n"
#define MINIMAL           "[imaps]\n" NEED_ALL
/* a primary service at lines 1-4, for secondaries (sni = imaps:...) from line 5 */
#define SNI_PRIMARY       MINIMAL
#define SECONDARY_TLS     "is a secondary of [imaps], whose TLS settings its connections use; set this in [imaps] or remove this line"
/* managed certificates: a store, then a service serving one of its names */
#define STORE             "certstore = /var/lib/certwrap\n"
#define NEED_ACCEPT_CONNECT "accept = 993\nconnect = 143\n"
#define MANAGED           STORE "[imaps]\ncertname = mail\n" NEED_ACCEPT_CONNECT
#define CONTROL           "control = /run/certwrap/certwrapd.sock\n"
#define UNSUPPORTED       "stunnel option not supported by certwrapd (yet); remove it or see certwrapd.conf(5)"
#define MISSING_ACCEPT    "no accept = [HOST:]PORT given; add the address to listen on, e.g. accept = 993"
#define MISSING_CONNECT   "no connect = [HOST:]PORT given; add the backend address, e.g. connect = 143"
#define MISSING_CERT      "no cert = FILE given; add the certificate chain, e.g. cert = /etc/certwrap/cert.pem, or certname = NAME to serve one from the certstore"
#define BAD_PORT          "expected a number 1-65535 or a service name such as imaps"
#define BAD_LEVEL         "expected a level emerg, alert, crit, err, warning, notice, info, debug or 0-7"
#define BAD_VERSION       "expected all, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3"
#define BAD_MODE          "expected an octal mode such as 0660, got "
#define BAD_CERTNAME      "expected a certstore name (a letter or digit, then letters, digits, '.', '_' or '-'; at most 64 bytes), got "
#define BAD_DURATION      "expected a duration such as 30d, 12h or 90m, got "
#define BAD_HOSTNAME      "; expected a DNS name such as mail.example.org or *.example.org, or an IP address"
#define NEEDS_CONTROL     "needs control = PATH, the control socket, e.g. control = /run/certwrap/certwrapd.sock; add it or remove this line"
#define NEEDS_CERTSTORE   "needs certstore = DIR in the global section, e.g. certstore = /var/lib/certwrap"
#define CERT_OR_CERTNAME  "give either cert/key or certname, not both; "
#define AUTOISSUE_ALONE   "yes needs certname = NAME, the certstore certificate to issue; add certname or remove this line"
#define RENEW_ALONE       "needs certname = NAME: only certificates from the certstore are renewed; add certname or remove this line"

/* A Debian stunnel4 user's /etc/stunnel/stunnel.conf, as written for stunnel:
 * it must parse unchanged. */
static const char debian_stunnel_conf[] =
	"; /etc/stunnel/stunnel.conf\n"                              /*  1 */
	"; TLS for the local Dovecot and Postfix\n"
	"\n"
	"setuid = stunnel4\n"                                        /*  4 */
	"setgid = stunnel4\n"
	"pid = /var/run/stunnel4/stunnel.pid\n"
	"debug = 4\n"
	"output = /var/log/stunnel4/stunnel.log\n"                   /*  8 */
	"\n"
	";foreground = yes\n"
	"sslVersionMin = TLSv1.2\n"                                  /* 11 */
	"\n"
	"[imaps]\n"                                                  /* 13 */
	"accept  = 993\n"
	"connect = 143\n"
	"cert = /etc/ssl/certs/mail.example.org.pem\n"
	"key = /etc/ssl/private/mail.example.org.key\n"              /* 17 */
	"\n"
	"[pop3s]\n"                                                  /* 19 */
	"accept  = 995\n"
	"connect = 110\n"
	"cert = /etc/ssl/certs/mail.example.org.pem\n"
	"key = /etc/ssl/private/mail.example.org.key\n"
	"\n"
	"# Either only expose this service to trusted networks, or require\n"
	"# authentication when relaying emails originated from loopback.\n"
	"[ssmtp]\n"                                                  /* 27 */
	"accept  = 465\n"
	"connect = 25\n"
	"cert = /etc/ssl/certs/mail.example.org.pem\n"
	"key = /etc/ssl/private/mail.example.org.key\n"
	"TIMEOUTclose = 0\n";                                        /* 32 */

/* The examples of certwrapd.conf(5), which must stay true. */
static const char man_example[] =
	"; /etc/certwrap/certwrapd.conf\n"
	"setuid = certwrap\n"
	"setgid = certwrap\n"
	"pid = /run/certwrapd.pid\n"
	"debug = notice\n"
	"\n"
	"; defaults for every service\n"
	"cert = /etc/ssl/certs/mail.example.org.pem\n"                 /*  8 */
	"key = /etc/ssl/private/mail.example.org.key\n"
	"sslVersionMin = TLSv1.2\n"
	"\n"
	"[imaps]\n"                                                    /* 12 */
	"accept = 993\n"
	"connect = 143\n"
	"\n"
	"[pop3s]\n"
	"accept = :::995\n"
	"connect = 127.0.0.1:110\n"
	"\n"
	"[submissions]\n"                                              /* 20 */
	"accept = 465\n"
	"connect = [::1]:587\n"
	"connect = 10.0.0.25:587\n"
	"TIMEOUTidle = 600\n"
	"\n"
	"[imaps-staff]\n"                                              /* 26 */
	"accept = 10.0.0.1:9993\n"
	"connect = 143\n"
	"cert = /etc/certwrap/staff.pem\n"
	"key = /etc/certwrap/staff.key\n"
	"CAfile = /etc/certwrap/staff-ca.pem\n"
	"verifyChain = yes\n";

/* The managed example of certwrapd.conf(5). */
static const char man_managed_example[] =
	"; /etc/certwrap/certwrapd.conf\n"
	"setuid = certwrap\n"
	"setgid = certwrap\n"
	"certstore = /var/lib/certwrap\n"                            /*  4 */
	"control = /run/certwrap/certwrapd.sock\n"
	"controlGroup = certwrap-admin\n"                             /*  6 */
	"\n"
	"; defaults: every service serves \"mail\" from the store\n"
	"certname = mail\n"                                           /*  9 */
	"autoIssue = yes\n"
	"hostname = mail.example.org, imap.example.org\n"            /* 11 */
	"renewBefore = 30d\n"
	"\n"
	"[imaps]\n"                                                   /* 14 */
	"accept = 993\n"
	"connect = 143\n"
	"\n"
	"[pop3s]\n"                                                   /* 18 */
	"accept = 995\n"
	"connect = 110\n"
	"hostname = pop.example.org\n"                                /* 21 */
	"\n"
	"; files from another CA: its own cert replaces the certname\n"
	"[imaps-legacy]\n"                                            /* 24 */
	"accept = 10.0.0.1:9993\n"
	"connect = 143\n"
	"cert = /etc/certwrap/legacy.pem\n"                           /* 27 */
	"key = /etc/certwrap/legacy.key\n"
	"hostname = legacy.example.org\n";                            /* 29 */

/* --- describing values ------------------------------------------------------- */

static const char *
facility_name(int facility)
{
	static const struct { int facility; const char *name; } names[] = {
		{ LOG_DAEMON, "daemon" }, { LOG_MAIL, "mail" }, { LOG_USER, "user" },
		{ LOG_AUTH, "auth" }, { LOG_AUTHPRIV, "authpriv" }, { LOG_LOCAL0, "local0" },
		{ LOG_LOCAL3, "local3" }, { LOG_LOCAL7, "local7" }, { LOG_CRON, "cron" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].facility == facility)
			return names[i].name;
	return "?";
}

static void
describe_str(char *out, size_t size, const struct conf_str *s)
{
	snprintf(out, size, "%s@%u", s->value ? s->value : "(none)", s->line);
}

/* "-:993@2", "[::1]:993@2": host (- when none), port, line. */
static size_t
describe_endpoint(char *out, size_t size, const struct conf_endpoint *e)
{
	const char *host = e->host ? e->host : "-";
	bool v6 = strchr(host, ':') != NULL;

	return (size_t)snprintf(out, size, "%s%s%s:%s@%u", v6 ? "[" : "", host, v6 ? "]" : "",
	    e->port ? e->port : "(null)", e->line);
}

static void
describe_connects(char *out, size_t size, const struct service_conf *s)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < s->n_connect && used < size; i++) {
		if (i > 0)
			used += (size_t)snprintf(out + used, size - used, ",");
		if (used < size)
			used += describe_endpoint(out + used, size - used, &s->connect[i]);
	}
}

static bool
describe_global(char *out, size_t size, const struct config *cfg, const char *option)
{
	static const char *const fg[] = { "no", "yes", "quiet" };

	if (strcmp(option, "foreground") == 0)
		snprintf(out, size, "%s", fg[cfg->foreground]);
	else if (strcmp(option, "pid") == 0)
		describe_str(out, size, &cfg->pid_file);
	else if (strcmp(option, "debug") == 0)
		snprintf(out, size, "%s.%s", facility_name(cfg->syslog_facility),
		    log_level_name((enum log_level)cfg->log_level));
	else if (strcmp(option, "output") == 0)
		describe_str(out, size, &cfg->output);
	else if (strcmp(option, "syslog") == 0)
		snprintf(out, size, "%s", cfg->syslog ? "yes" : "no");
	else if (strcmp(option, "setuid") == 0)
		describe_str(out, size, &cfg->setuid_user);
	else if (strcmp(option, "setgid") == 0)
		describe_str(out, size, &cfg->setgid_group);
	else if (strcmp(option, "certstore") == 0)
		describe_str(out, size, &cfg->certstore_dir);
	else if (strcmp(option, "control") == 0)
		describe_str(out, size, &cfg->control_path);
	else if (strcmp(option, "controlMode") == 0)
		snprintf(out, size, "%04o@%u", cfg->control_mode, cfg->control_mode_line);
	else if (strcmp(option, "controlGroup") == 0)
		describe_str(out, size, &cfg->control_group);
	else if (strcmp(option, "ticketKeyLifetime") == 0)
		snprintf(out, size, "%u", cfg->ticket_key_lifetime_s);
	else if (strcmp(option, "maxConnectionsTotal") == 0)
		snprintf(out, size, "%u", cfg->max_connections_total);
	else if (strcmp(option, "workers") == 0)
		snprintf(out, size, "%u", cfg->workers);
	else
		return false;
	return true;
}

static void
describe_version(char *out, size_t size, int version, unsigned line)
{
	snprintf(out, size, "%s@%u", config_tls_version_name(version), line);
}

static bool
describe_service_str(char *out, size_t size, const struct service_conf *s, const char *option)
{
	static const struct { const char *option; size_t field; } strs[] = {
		{ "cert", offsetof(struct service_conf, cert) },
		{ "key", offsetof(struct service_conf, key) },
		{ "CAfile", offsetof(struct service_conf, ca_file) },
		{ "CApath", offsetof(struct service_conf, ca_path) },
		{ "CRLfile", offsetof(struct service_conf, crl_file) },
		{ "ciphers", offsetof(struct service_conf, ciphers) },
		{ "ciphersuites", offsetof(struct service_conf, ciphersuites) },
		{ "curves", offsetof(struct service_conf, curves) },
		{ "certname", offsetof(struct service_conf, certname) },
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(strs[i].option, option) == 0) {
			describe_str(out, size, (const struct conf_str *)(const void *)
			    ((const char *)s + strs[i].field));
			return true;
		}
	}
	return false;
}

/* "mail.example.org@2,192.0.2.1@3": each name (hostname, checkHost) and its
 * line; "(none)". */
static void
describe_names(char *out, size_t size, char *const *names, const unsigned *lines, unsigned n)
{
	size_t used = 0;

	snprintf(out, size, "(none)");
	for (unsigned i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s@%u", i ? "," : "",
		    names[i], lines[i]);
}

/* The options of client mode. */
static bool
describe_client(char *out, size_t size, const struct service_conf *s, const char *option)
{
	static const char *const protocols[] = { "none", "smtp", "imap", "pop3" };

	if (strcmp(option, "client") == 0)
		snprintf(out, size, "%s@%u", s->client ? "yes" : "no", s->client_line);
	else if (strcmp(option, "checkHost") == 0)
		describe_names(out, size, s->check_hosts, s->check_host_lines, s->n_check_hosts);
	else if (strcmp(option, "sni") == 0)
		describe_str(out, size, &s->sni);
	else if (strcmp(option, "protocol") == 0 && s->implicit_protocol != PROTOCOL_NONE)
		snprintf(out, size, "%ss@%u", protocols[s->implicit_protocol], s->protocol_line);
	else if (strcmp(option, "protocol") == 0)
		snprintf(out, size, "%s@%u", protocols[s->protocol], s->protocol_line);
	else
		return false;
	return true;
}

/* The options of managed certificates. */
static bool
describe_managed(char *out, size_t size, const struct service_conf *s, const char *option)
{
	if (strcmp(option, "autoIssue") == 0)
		snprintf(out, size, "%s@%u", s->auto_issue ? "yes" : "no", s->auto_issue_line);
	else if (strcmp(option, "renewBefore") == 0)
		snprintf(out, size, "%ld@%u", s->renew_before_s, s->renew_before_line);
	else if (strcmp(option, "hostname") == 0)
		describe_names(out, size, s->hostnames, s->hostname_lines, s->n_hostnames);
	else if (strcmp(option, "hostname_line") == 0)
		snprintf(out, size, "%u", s->hostname_line);
	else
		return false;
	return true;
}

/* The PROXY header and SNI secondaries. */
static bool
describe_proxy_sni(char *out, size_t size, const struct service_conf *s, const char *option)
{
	static const char *const versions[] = { "none", "v1", "v2" };

	if (strcmp(option, "proxyProtocol") == 0)
		snprintf(out, size, "%s@%u", versions[s->proxy_header], s->proxy_header_line);
	else if (strcmp(option, "sni") == 0)
		describe_str(out, size, &s->sni);
	else if (strcmp(option, "sni_secondary") == 0)   /* primary:pattern as checked */
		snprintf(out, size, "%s:%s", s->sni_primary ? s->sni_primary : "(none)",
		    s->sni_pattern ? s->sni_pattern : "(names)");
	else if (strcmp(option, "n_sni_secondaries") == 0)
		snprintf(out, size, "%u", s->n_sni_secondaries);
	else
		return false;
	return true;
}

static bool
describe_service(char *out, size_t size, const struct service_conf *s, const char *option)
{
	char min[64], max[64];

	if (describe_service_str(out, size, s, option) || describe_managed(out, size, s, option) ||
	    describe_proxy_sni(out, size, s, option) ||
	    describe_client(out, size, s, option))
		return true;
	if (strcmp(option, "accept") == 0)
		describe_endpoint(out, size, &s->accept);
	else if (strcmp(option, "connect") == 0)
		describe_connects(out, size, s);
	else if (strcmp(option, "verifyChain") == 0)
		snprintf(out, size, "%s", s->verify_chain ? "yes" : "no");
	else if (strcmp(option, "verifyPeer") == 0)
		snprintf(out, size, "%s", s->verify_peer ? "yes" : "no");
	else if (strcmp(option, "requireCert") == 0)
		snprintf(out, size, "%s", s->require_cert ? "yes" : "no");
	else if (strcmp(option, "verify_line") == 0)
		snprintf(out, size, "%u", s->verify_line);
	else if (strcmp(option, "sslVersionMin") == 0)
		describe_version(out, size, s->tls_version_min, s->tls_version_min_line);
	else if (strcmp(option, "sslVersionMax") == 0)
		describe_version(out, size, s->tls_version_max, s->tls_version_max_line);
	else if (strcmp(option, "sslVersion") == 0) {
		describe_version(min, sizeof(min), s->tls_version_min, s->tls_version_min_line);
		describe_version(max, sizeof(max), s->tls_version_max, s->tls_version_max_line);
		snprintf(out, size, "%s..%s", min, max);
	} else if (strcmp(option, "TIMEOUTbusy") == 0)
		snprintf(out, size, "%u", s->timeout_busy_s);
	else if (strcmp(option, "TIMEOUTclose") == 0)
		snprintf(out, size, "%u", s->timeout_close_s);
	else if (strcmp(option, "TIMEOUTconnect") == 0)
		snprintf(out, size, "%u", s->timeout_connect_s);
	else if (strcmp(option, "TIMEOUTidle") == 0)
		snprintf(out, size, "%u", s->timeout_idle_s);
	else if (strcmp(option, "maxConnections") == 0)
		snprintf(out, size, "%u", s->max_connections);
	else if (strcmp(option, "name@line") == 0)
		snprintf(out, size, "%s@%u", s->name, s->line);
	else if (strcmp(option, "proxy_header") == 0)
		snprintf(out, size, "v%d@%u", (int)s->proxy_header, s->proxy_header_line);
	else if (strcmp(option, "requireTLS") == 0)
		snprintf(out, size, "%s", s->require_tls ? "yes" : "no");
	else
		return false;
	return true;
}

/* The value of option in service (NULL: global) as a string, or fails. */
static void
describe(char *out, size_t size, const struct config *cfg, const char *service,
    const char *option)
{
	const struct service_conf *s;

	if (service == NULL) {
		if (!describe_global(out, size, cfg, option))
			fail_msg("no global option %s to describe", option);
		return;
	}
	if ((s = config_find_service(cfg, service)) == NULL)
		fail_msg("no service [%s]", service);
	else if (!describe_service(out, size, s, option))
		fail_msg("no service option %s to describe", option);
}

/* --- values ------------------------------------------------------------------------ */

struct value_case {
	const char *text;
	const char *service;              /* NULL: a global option */
	const char *option;               /* as in the table, or a describe() key */
	const char *want;
};

static const struct value_case value_cases[] = {
	/* global options */
	{ "foreground = yes\n" MINIMAL, NULL, "foreground", "yes" },
	{ "foreground = quiet\n" MINIMAL, NULL, "foreground", "quiet" },
	{ "foreground = NO\n" MINIMAL, NULL, "foreground", "no" },
	{ "pid = /run/certwrapd.pid\n" MINIMAL, NULL, "pid", "/run/certwrapd.pid@1" },
	{ "pid =\n" MINIMAL, NULL, "pid", "(none)@1" },
	{ "debug = info\n" MINIMAL, NULL, "debug", "daemon.info" },
	{ "debug = 7\n" MINIMAL, NULL, "debug", "daemon.debug" },
	{ "debug = 0\n" MINIMAL, NULL, "debug", "daemon.emerg" },
	{ "debug = err\n" MINIMAL, NULL, "debug", "daemon.error" },
	{ "debug = warn\n" MINIMAL, NULL, "debug", "daemon.warning" },
	{ "debug = WARNING\n" MINIMAL, NULL, "debug", "daemon.warning" },
	{ "debug = mail.debug\n" MINIMAL, NULL, "debug", "mail.debug" },
	{ "debug = local3.6\n" MINIMAL, NULL, "debug", "local3.info" },
	{ "debug = AUTHPRIV.crit\n" MINIMAL, NULL, "debug", "authpriv.crit" },
	{ "debug = local7.notice\n" MINIMAL, NULL, "debug", "local7.notice" },
	{ "output = /var/log/certwrapd.log\n" MINIMAL, NULL, "output",
	  "/var/log/certwrapd.log@1" },
	{ "syslog = no\n" MINIMAL, NULL, "syslog", "no" },
	{ "syslog = yes\n" MINIMAL, NULL, "syslog", "yes" },
	{ "setuid = stunnel4\n" MINIMAL, NULL, "setuid", "stunnel4@1" },
	{ "setuid = 110\n" MINIMAL, NULL, "setuid", "110@1" },
	{ "setgid = ssl-cert\n" MINIMAL, NULL, "setgid", "ssl-cert@1" },

	/* accept: every address form */
	{ "[imaps]\naccept = 993\n" NEED_CONNECT_CERT, "imaps", "accept", "-:993@2" },
	{ "[imaps]\naccept = 127.0.0.1:993\n" NEED_CONNECT_CERT, "imaps", "accept",
	  "127.0.0.1:993@2" },
	{ "[imaps]\naccept = mail.example.org:993\n" NEED_CONNECT_CERT, "imaps", "accept",
	  "mail.example.org:993@2" },
	{ "[imaps]\naccept = [::1]:993\n" NEED_CONNECT_CERT, "imaps", "accept", "[::1]:993@2" },
	{ "[imaps]\naccept = [2001:db8::25]:993\n" NEED_CONNECT_CERT, "imaps", "accept",
	  "[2001:db8::25]:993@2" },
	{ "[imaps]\naccept = [fe80::1%eth0]:993\n" NEED_CONNECT_CERT, "imaps", "accept",
	  "[fe80::1%eth0]:993@2" },
	{ "[imaps]\naccept = :::993\n" NEED_CONNECT_CERT, "imaps", "accept", "[::]:993@2" },
	{ "[imaps]\naccept = fe80::1%eth0:993\n" NEED_CONNECT_CERT, "imaps", "accept",
	  "[fe80::1%eth0]:993@2" },
	{ "[imaps]\naccept = ::1:993\n" NEED_CONNECT_CERT, "imaps", "accept", "[::1]:993@2" },
	{ "[imaps]\naccept = imaps\n" NEED_CONNECT_CERT, "imaps", "accept", "-:imaps@2" },
	{ "[imaps]\naccept = 0.0.0.0:imaps\n" NEED_CONNECT_CERT, "imaps", "accept",
	  "0.0.0.0:imaps@2" },
	{ "[imaps]\naccept = 1\n" NEED_CONNECT_CERT, "imaps", "accept", "-:1@2" },
	{ "[imaps]\naccept = 65535\n" NEED_CONNECT_CERT, "imaps", "accept", "-:65535@2" },
	{ "[imaps]\naccept = 0993\n" NEED_CONNECT_CERT, "imaps", "accept", "-:993@2" },

	/* connect: the same forms, repeated lines kept in order */
	{ "[imaps]\nconnect = 143\n" NEED_ACCEPT_CERT, "imaps", "connect", "-:143@2" },
	{ "[imaps]\nconnect = 10.0.0.2:143\n" NEED_ACCEPT_CERT, "imaps", "connect",
	  "10.0.0.2:143@2" },
	{ "[imaps]\nconnect = [::1]:143\n" NEED_ACCEPT_CERT, "imaps", "connect", "[::1]:143@2" },
	{ "[imaps]\nconnect = :::143\n" NEED_ACCEPT_CERT, "imaps", "connect", "[::]:143@2" },
	{ "[imaps]\nconnect = imap.internal:imap2\n" NEED_ACCEPT_CERT, "imaps", "connect",
	  "imap.internal:imap2@2" },
	{ "[imaps]\nconnect = 10.0.0.2:143\nconnect = [2001:db8::2]:143\nconnect = 143\n"
	  NEED_ACCEPT_CERT, "imaps", "connect",
	  "10.0.0.2:143@2,[2001:db8::2]:143@3,-:143@4" },
	{ "[imaps]\n"
	  "connect = 1\nconnect = 2\nconnect = 3\nconnect = 4\nconnect = 5\nconnect = 6\n"
	  "connect = 7\nconnect = 8\nconnect = 9\nconnect = 10\nconnect = 11\nconnect = 12\n"
	  "connect = 13\nconnect = 14\nconnect = 15\nconnect = 16\n" NEED_ACCEPT_CERT,
	  "imaps", "connect",
	  "-:1@2,-:2@3,-:3@4,-:4@5,-:5@6,-:6@7,-:7@8,-:8@9,-:9@10,-:10@11,-:11@12,-:12@13,"
	  "-:13@14,-:14@15,-:15@16,-:16@17" },

	/* files */
	{ "[imaps]\ncert = /etc/ssl/mail.pem\n" "accept = 993\nconnect = 143\n", "imaps", "cert",
	  "/etc/ssl/mail.pem@2" },
	{ "[imaps]\nkey = /etc/ssl/private/mail.key\n" NEED_ALL, "imaps", "key",
	  "/etc/ssl/private/mail.key@2" },
	{ MINIMAL, "imaps", "key", "/etc/ssl/imaps.pem@0" },
	{ "[imaps]\nCAfile = /etc/ssl/clients.pem\n" NEED_ALL, "imaps", "CAfile",
	  "/etc/ssl/clients.pem@2" },
	{ "[imaps]\nCAfile =\n" NEED_ALL, "imaps", "CAfile", "(none)@2" },
	{ "[imaps]\nCApath = /etc/ssl/certs\n" NEED_ALL, "imaps", "CApath", "/etc/ssl/certs@2" },
	{ "[imaps]\nCRLfile = /etc/ssl/crl.pem\n" NEED_ALL, "imaps", "CRLfile",
	  "/etc/ssl/crl.pem@2" },
	{ "[imaps]\ncert = /etc/ssl/my mail.pem\n" "accept = 993\nconnect = 143\n", "imaps",
	  "cert", "/etc/ssl/my mail.pem@2" },

	/* STARTTLS: protocol and requireTLS; stunnel's protocol = proxy is a PROXY v1 header */
	{ "[imap]\nprotocol = imap\n" NEED_ALL, "imap", "protocol", "imap@2" },
	{ "[smtp]\nprotocol = SMTP\n" NEED_ALL, "smtp", "protocol", "smtp@2" },
	{ "[pop3]\nprotocol = pop3\n" NEED_ALL, "pop3", "protocol", "pop3@2" },
	{ "protocol = smtp\n[smtp]\n" NEED_ALL, "smtp", "protocol", "smtp@1" },
	{ "[imaps]\nprotocol = proxy\n" NEED_ALL, "imaps", "protocol", "none@2" },
	{ "[imaps]\nprotocol = imaps\n" NEED_ALL, "imaps", "protocol", "imaps@2" },
	{ "protocol = POP3S\n[pop3s]\n" NEED_ALL, "pop3s", "protocol", "pop3s@1" },
	{ "[smtps]\nprotocol = smtps\n" NEED_ALL, "smtps", "protocol", "smtps@2" },
	{ "[imaps]\nprotocol = proxy\n" NEED_ALL, "imaps", "proxy_header", "v1@2" },
	{ "[smtp]\nprotocol = smtp\nrequireTLS = no\n" NEED_ALL, "smtp", "requireTLS", "no" },
	{ "requireTLS = no\n[smtp]\nprotocol = smtp\n" NEED_ALL, "smtp", "requireTLS", "no" },
	{ "[smtp]\nprotocol = smtp\nrequireTLS = yes\n" NEED_ALL, "smtp", "requireTLS", "yes" },
	/* client verification; verifyChain and verifyPeer imply requireCert */
	{ "[imaps]\nverifyChain = yes\n" NEED_ALL, "imaps", "verifyChain", "yes" },
	{ "[imaps]\nverifyChain = yes\n" NEED_ALL, "imaps", "requireCert", "yes" },
	{ "[imaps]\nverifyChain = yes\n" NEED_ALL, "imaps", "verify_line", "2" },
	{ "[imaps]\nverifyChain = no\n" NEED_ALL, "imaps", "verifyChain", "no" },
	{ "[imaps]\nverifyPeer = yes\n" NEED_ALL, "imaps", "verifyPeer", "yes" },
	{ "[imaps]\nverifyPeer = YES\n" NEED_ALL, "imaps", "requireCert", "yes" },
	{ "[imaps]\nverifyPeer = yes\nrequireCert = no\n" NEED_ALL, "imaps", "requireCert",
	  "yes" },
	{ "[imaps]\nrequireCert = yes\n" NEED_ALL, "imaps", "requireCert", "yes" },
	{ "[imaps]\nrequireCert = yes\n" NEED_ALL, "imaps", "verifyChain", "no" },
	{ "[imaps]\nrequireCert = no\n" NEED_ALL, "imaps", "requireCert", "no" },
	{ "[imaps]\nverifyChain = yes\nverifyPeer = yes\n" NEED_ALL, "imaps", "verify_line", "3" },

	/* TLS versions */
	{ "[imaps]\nsslVersionMin = TLSv1.2\n" NEED_ALL, "imaps", "sslVersionMin", "TLSv1.2@2" },
	{ "[imaps]\nsslVersionMin = tlsv1.3\n" NEED_ALL, "imaps", "sslVersionMin", "TLSv1.3@2" },
	{ "[imaps]\nsslVersionMin = TLSv1\n" NEED_ALL, "imaps", "sslVersionMin", "TLSv1@2" },
	{ "[imaps]\nsslVersionMin = TLSv1.1\n" NEED_ALL, "imaps", "sslVersionMin", "TLSv1.1@2" },
	{ "[imaps]\nsslVersionMin = all\n" NEED_ALL, "imaps", "sslVersionMin", "all@2" },
	{ "[imaps]\nsslVersionMax = TLSv1.2\n" NEED_ALL, "imaps", "sslVersionMax", "TLSv1.2@2" },
	{ "[imaps]\nsslVersionMax = all\n" NEED_ALL, "imaps", "sslVersionMax", "all@2" },
	{ "[imaps]\nsslVersionMin = TLSv1.2\nsslVersionMax = TLSv1.2\n" NEED_ALL, "imaps",
	  "sslVersion", "TLSv1.2@2..TLSv1.2@3" },
	{ "[imaps]\nsslVersionMin = TLSv1.2\nsslVersionMax = all\n" NEED_ALL, "imaps",
	  "sslVersion", "TLSv1.2@2..all@3" },
	{ "[imaps]\nsslVersion = TLSv1.3\n" NEED_ALL, "imaps", "sslVersion", "TLSv1.3@2..TLSv1.3@2" },
	{ "[imaps]\nsslVersion = all\n" NEED_ALL, "imaps", "sslVersion", "all@2..all@2" },

	/* strings */
	{ "[imaps]\nciphers = ECDHE+AESGCM:!aNULL\n" NEED_ALL, "imaps", "ciphers",
	  "ECDHE+AESGCM:!aNULL@2" },
	{ "[imaps]\nciphersuites = TLS_AES_256_GCM_SHA384\n" NEED_ALL, "imaps", "ciphersuites",
	  "TLS_AES_256_GCM_SHA384@2" },
	{ "[imaps]\ncurves = X25519:P-256\n" NEED_ALL, "imaps", "curves", "X25519:P-256@2" },

	/* timeouts */
	{ "[imaps]\nTIMEOUTbusy = 30\n" NEED_ALL, "imaps", "TIMEOUTbusy", "30" },
	{ "[imaps]\nTIMEOUTclose = 0\n" NEED_ALL, "imaps", "TIMEOUTclose", "0" },
	{ "[imaps]\nTIMEOUTconnect = 5\n" NEED_ALL, "imaps", "TIMEOUTconnect", "5" },
	{ "[imaps]\nTIMEOUTidle = 31536000\n" NEED_ALL, "imaps", "TIMEOUTidle", "31536000" },
	{ "[imaps]\nTIMEOUTidle = 0000600\n" NEED_ALL, "imaps", "TIMEOUTidle", "600" },

	/* option names in any case, as stunnel */
	{ "[imaps]\ntimeoutidle = 60\n" NEED_ALL, "imaps", "TIMEOUTidle", "60" },
	{ "[imaps]\nmaxConnections = 5000\n" NEED_ALL, "imaps", "maxConnections", "5000" },
	{ "maxConnections = 100\n[imaps]\n" NEED_ALL, "imaps", "maxConnections", "100" },
	{ "maxConnectionsTotal = 9000\n" MINIMAL, NULL, "maxConnectionsTotal", "9000" },
	{ "workers = 4\n" MINIMAL, NULL, "workers", "4" },
	{ "workers = auto\n" MINIMAL, NULL, "workers", "0" },
	{ "workers = 64\n" MINIMAL, NULL, "workers", "64" },
	{ "[imaps]\nVERIFYPEER = yes\n" NEED_ALL, "imaps", "verifyPeer", "yes" },
	{ "[imaps]\ncafile = /ca.pem\n" NEED_ALL, "imaps", "CAfile", "/ca.pem@2" },
	{ "[imaps]\nACCEPT = 993\n" NEED_CONNECT_CERT, "imaps", "accept", "-:993@2" },

	/* global defaults for every service that does not set the option */
	{ "TIMEOUTidle = 60\n" MINIMAL, "imaps", "TIMEOUTidle", "60" },
	{ "TIMEOUTidle = 60\n[imaps]\nTIMEOUTidle = 5\n" NEED_ALL "[pop3s]\n" NEED_ALL,
	  "imaps", "TIMEOUTidle", "5" },
	{ "TIMEOUTidle = 60\n[imaps]\nTIMEOUTidle = 5\n" NEED_ALL "[pop3s]\n" NEED_ALL,
	  "pop3s", "TIMEOUTidle", "60" },
	{ "cert = /etc/ssl/all.pem\nkey = /etc/ssl/all.key\n[imaps]\naccept = 993\nconnect = 143\n",
	  "imaps", "cert", "/etc/ssl/all.pem@1" },
	{ "cert = /etc/ssl/all.pem\n[imaps]\naccept = 993\nconnect = 143\n", "imaps", "key",
	  "/etc/ssl/all.pem@0" },
	{ "cert = /etc/ssl/all.pem\nkey = /etc/ssl/all.key\n[imaps]\naccept = 993\nconnect = 143\n",
	  "imaps", "key", "/etc/ssl/all.key@2" },
	/* stunnel's rule, a trap the man page warns of: a service's own cert, the global key */
	{ "key = /etc/ssl/all.key\n[imaps]\n" NEED_ALL, "imaps", "key", "/etc/ssl/all.key@1" },
	{ "connect = 10.0.0.1:143\nconnect = 10.0.0.2:143\n[imaps]\naccept = 993\ncert = /c.pem\n",
	  "imaps", "connect", "10.0.0.1:143@1,10.0.0.2:143@2" },
	{ "connect = 10.0.0.1:143\nconnect = 10.0.0.2:143\n[imaps]\nconnect = 1143\n"
	  NEED_ACCEPT_CERT, "imaps", "connect", "-:1143@4" },
	{ "accept = 127.0.0.1:993\n[imaps]\nconnect = 143\ncert = /c.pem\n", "imaps", "accept",
	  "127.0.0.1:993@1" },
	{ "verifyPeer = yes\nCAfile = /etc/ssl/clients.pem\n" MINIMAL, "imaps", "requireCert",
	  "yes" },
	{ "verifyPeer = yes\n" MINIMAL, "imaps", "verify_line", "1" },
	{ "verifyPeer = yes\n[imaps]\nverifyChain = yes\n" NEED_ALL, "imaps", "verify_line", "3" },
	{ "CAfile = /etc/ssl/clients.pem\n[imaps]\nCAfile =\n" NEED_ALL, "imaps", "CAfile",
	  "(none)@3" },
	{ "sslVersion = TLSv1.2\n[imaps]\nsslVersionMax = TLSv1.3\n" NEED_ALL, "imaps",
	  "sslVersion", "TLSv1.2@1..TLSv1.3@3" },
	{ "sslVersionMin = TLSv1.3\n[imaps]\nsslVersion = TLSv1.2\n" NEED_ALL, "imaps",
	  "sslVersion", "TLSv1.2@3..TLSv1.2@3" },
	{ "ciphers = HIGH\n" MINIMAL, "imaps", "ciphers", "HIGH@1" },
	{ "curves = X25519\n[imaps]\ncurves = P-384\n" NEED_ALL, "imaps", "curves", "P-384@3" },

	/* the file format: comments, blanks, CRLF, BOM, no final newline, indentation */
	{ "; comment\n# comment\n\n   \n[imaps]\n" NEED_ALL, "imaps", "name@line", "imaps@5" },
	{ "\xef\xbb\xbf[imaps]\n" NEED_ALL, "imaps", "name@line", "imaps@1" },
	{ "\xef\xbb\xbf" "TIMEOUTidle = 9\n" MINIMAL, "imaps", "TIMEOUTidle", "9" },
	{ "[imaps]\r\naccept = 993\r\nconnect = 143\r\ncert = /c.pem\r\n", "imaps", "cert",
	  "/c.pem@4" },
	{ "[imaps]\naccept = 993\nconnect = 143\ncert = /c.pem", "imaps", "cert", "/c.pem@4" },
	{ "[imaps]\n  accept = 993\n\tconnect = 143\n  cert = /c.pem\n", "imaps", "connect",
	  "-:143@3" },
	/* an indented line is an option of its own, never a continuation (inih's multiline) */
	{ "[imaps]\ncert = /c.pem\n    key = /k.pem\naccept = 993\nconnect = 143\n", "imaps",
	  "cert", "/c.pem@2" },
	{ "[imaps]\ncert = /c.pem\n    key = /k.pem\naccept = 993\nconnect = 143\n", "imaps",
	  "key", "/k.pem@3" },
	{ "[ imaps ]\n" NEED_ALL, "imaps", "name@line", "imaps@1" },
	{ "[imaps] ; the IMAP service\n" NEED_ALL, "imaps", "name@line", "imaps@1" },
	{ "[imap s]\n" NEED_ALL, "imap s", "name@line", "imap s@1" },
	{ "[imaps]\ncert   =   /c.pem   \n" "accept = 993\nconnect = 143\n", "imaps", "cert",
	  "/c.pem@2" },
	{ "[imaps]\ncert = /c.pem ; the chain\n" "accept = 993\nconnect = 143\n", "imaps", "cert",
	  "/c.pem@2" },
	{ "[imaps]\ncert = /etc/ssl/a=b.pem\n" "accept = 993\nconnect = 143\n", "imaps", "cert",
	  "/etc/ssl/a=b.pem@2" },

	/* a realistic Debian stunnel.conf */
	{ debian_stunnel_conf, NULL, "setuid", "stunnel4@4" },
	{ debian_stunnel_conf, NULL, "setgid", "stunnel4@5" },
	{ debian_stunnel_conf, NULL, "pid", "/var/run/stunnel4/stunnel.pid@6" },
	{ debian_stunnel_conf, NULL, "debug", "daemon.warning" },
	{ debian_stunnel_conf, NULL, "output", "/var/log/stunnel4/stunnel.log@8" },
	{ debian_stunnel_conf, NULL, "foreground", "no" },
	{ debian_stunnel_conf, "imaps", "accept", "-:993@14" },
	{ debian_stunnel_conf, "imaps", "connect", "-:143@15" },
	{ debian_stunnel_conf, "imaps", "cert", "/etc/ssl/certs/mail.example.org.pem@16" },
	{ debian_stunnel_conf, "imaps", "key", "/etc/ssl/private/mail.example.org.key@17" },
	{ debian_stunnel_conf, "imaps", "sslVersionMin", "TLSv1.2@11" },
	{ debian_stunnel_conf, "pop3s", "name@line", "pop3s@19" },
	{ debian_stunnel_conf, "pop3s", "accept", "-:995@20" },
	{ debian_stunnel_conf, "pop3s", "connect", "-:110@21" },
	{ debian_stunnel_conf, "ssmtp", "name@line", "ssmtp@27" },
	{ debian_stunnel_conf, "ssmtp", "connect", "-:25@29" },
	{ debian_stunnel_conf, "ssmtp", "TIMEOUTclose", "0" },
	{ debian_stunnel_conf, "imaps", "TIMEOUTclose", "60" },
	{ debian_stunnel_conf, "ssmtp", "sslVersionMin", "TLSv1.2@11" },

	/* the certstore and the control socket */
	{ STORE MINIMAL, NULL, "certstore", "/var/lib/certwrap@1" },
	{ "certstore = /srv/cert store\n" MINIMAL, NULL, "certstore", "/srv/cert store@1" },
	{ CONTROL MINIMAL, NULL, "control", "/run/certwrap/certwrapd.sock@1" },
	{ "control =\n" MINIMAL, NULL, "control", "(none)@1" },
	{ CONTROL "controlMode = 0600\n" MINIMAL, NULL, "controlMode", "0600@2" },
	{ "ticketKeyLifetime = 3600\n" MINIMAL, NULL, "ticketKeyLifetime", "3600" },
	{ CONTROL "controlMode = 660\n" MINIMAL, NULL, "controlMode", "0660@2" },
	{ CONTROL "controlMode = 0\n" MINIMAL, NULL, "controlMode", "0000@2" },
	{ CONTROL "controlMode = 0777\n" MINIMAL, NULL, "controlMode", "0777@2" },
	{ CONTROL "controlMode = 000640\n" MINIMAL, NULL, "controlMode", "0640@2" },
	{ CONTROL "controlGroup = certwrap-admin\n" MINIMAL, NULL, "controlGroup",
	  "certwrap-admin@2" },
	{ CONTROL "controlGroup = 4242\n" MINIMAL, NULL, "controlGroup", "4242@2" },
	{ "controlGroup = mail\n" CONTROL MINIMAL, NULL, "controlGroup", "mail@1" },

	/* certname instead of cert and key */
	{ MANAGED, "imaps", "certname", "mail@3" },
	{ MANAGED, "imaps", "cert", "(none)@0" },
	{ MANAGED, "imaps", "key", "(none)@0" },
	{ STORE "[imaps]\ncertname = Mail.Example-2026_v1\n" NEED_ACCEPT_CONNECT, "imaps",
	  "certname", "Mail.Example-2026_v1@3" },
	{ STORE "[imaps]\ncertname = 0\n" NEED_ACCEPT_CONNECT, "imaps", "certname", "0@3" },
	{ STORE "[imaps]\n"
	  "certname = a123456789b123456789c123456789d123456789e123456789f123456789abcd\n"
	  NEED_ACCEPT_CONNECT, "imaps", "certname",
	  "a123456789b123456789c123456789d123456789e123456789f123456789abcd@3" },
	{ MANAGED "autoIssue = yes\n", "imaps", "autoIssue", "yes@6" },
	{ MANAGED "autoIssue = No\n", "imaps", "autoIssue", "no@6" },
	{ MANAGED "renewBefore = 30d\n", "imaps", "renewBefore", "2592000@6" },
	{ MANAGED "renewBefore = 12h\n", "imaps", "renewBefore", "43200@6" },
	{ MANAGED "renewBefore = 90m\n", "imaps", "renewBefore", "5400@6" },
	{ MANAGED "renewBefore = 600s\n", "imaps", "renewBefore", "600@6" },
	{ MANAGED "renewBefore = 1s\n", "imaps", "renewBefore", "1@6" },
	{ MANAGED "renewBefore = 3650d\n", "imaps", "renewBefore", "315360000@6" },
	{ MANAGED "renewBefore = 87600h\n", "imaps", "renewBefore", "315360000@6" },
	{ MANAGED "renewBefore = 315360000s\n", "imaps", "renewBefore", "315360000@6" },
	{ MANAGED "renewBefore = 007d\n", "imaps", "renewBefore", "604800@6" },

	/* hostname: with certname or with cert files; lines add, a line may hold several */
	{ "[imaps]\nhostname = mail.example.org\n" NEED_ALL, "imaps", "hostname",
	  "mail.example.org@2" },
	{ MANAGED "hostname = mail.example.org\n", "imaps", "hostname", "mail.example.org@6" },
	{ "[imaps]\nhostname = mail.example.org, imap.example.org smtp.example.org\n" NEED_ALL,
	  "imaps", "hostname", "mail.example.org@2,imap.example.org@2,smtp.example.org@2" },
	{ "[imaps]\nhostname = a.example.org,b.example.org\t c.example.org ,, d.example.org\n"
	  NEED_ALL, "imaps", "hostname",
	  "a.example.org@2,b.example.org@2,c.example.org@2,d.example.org@2" },
	{ "[imaps]\nhostname = mail.example.org\nhostname = imap.example.org\n" NEED_ALL,
	  "imaps", "hostname", "mail.example.org@2,imap.example.org@3" },
	{ "[imaps]\nhostname = mail.example.org\nhostname = imap.example.org\n" NEED_ALL,
	  "imaps", "hostname_line", "2" },
	{ "[imaps]\nhostname = Mail.Example.ORG.\n" NEED_ALL, "imaps", "hostname",
	  "mail.example.org@2" },
	{ "[imaps]\nhostname = *.example.org, example.org\n" NEED_ALL, "imaps", "hostname",
	  "*.example.org@2,example.org@2" },
	{ "[imaps]\nhostname = localhost\n" NEED_ALL, "imaps", "hostname", "localhost@2" },
	{ "[imaps]\nhostname = 1mail.xn--bcher-kva.example 3com.example.org\n" NEED_ALL, "imaps",
	  "hostname", "1mail.xn--bcher-kva.example@2,3com.example.org@2" },
	{ "[imaps]\nhostname = "
	  "a123456789b123456789c123456789d123456789e123456789f123456789abc.example.org\n" NEED_ALL,
	  "imaps", "hostname",
	  "a123456789b123456789c123456789d123456789e123456789f123456789abc.example.org@2" },
	{ "[imaps]\nhostname = 192.0.2.1, 2001:DB8:0:0::25 ::1\n" NEED_ALL, "imaps", "hostname",
	  "192.0.2.1@2,2001:db8::25@2,::1@2" },
	{ "[imaps]\nhostname = ::ffff:192.0.2.1\n" NEED_ALL, "imaps", "hostname",
	  "::ffff:192.0.2.1@2" },
	{ "[imaps]\nhostname = h1.example h2.example h3.example h4.example h5.example h6.example "
	  "h7.example h8.example h9.example h10.example h11.example h12.example\n"
	  "hostname = h13.example h14.example h15.example h16.example h17.example h18.example "
	  "h19.example h20.example h21.example h22.example h23.example h24.example\n"
	  "hostname = h25.example h26.example h27.example h28.example h29.example h30.example "
	  "h31.example h32.example\n" NEED_ALL, "imaps", "hostname",
	  "h1.example@2,h2.example@2,h3.example@2,h4.example@2,h5.example@2,h6.example@2,"
	  "h7.example@2,h8.example@2,h9.example@2,h10.example@2,h11.example@2,h12.example@2,"
	  "h13.example@3,h14.example@3,h15.example@3,h16.example@3,h17.example@3,h18.example@3,"
	  "h19.example@3,h20.example@3,h21.example@3,h22.example@3,h23.example@3,h24.example@3,"
	  "h25.example@4,h26.example@4,h27.example@4,h28.example@4,h29.example@4,h30.example@4,"
	  "h31.example@4,h32.example@4" },

	/* global defaults of the managed options, and cert against certname: the
	 * choice a service makes itself wins over the other one inherited */
	{ "hostname = mail.example.org\nhostname = imap.example.org\n" MINIMAL "[pop3s]\n"
	  NEED_ALL, "pop3s", "hostname", "mail.example.org@1,imap.example.org@2" },
	{ "hostname = mail.example.org\n[imaps]\nhostname = imap.example.org\n" NEED_ALL,
	  "imaps", "hostname", "imap.example.org@3" },
	{ STORE "certname = mail\n[imaps]\n" NEED_ACCEPT_CONNECT, "imaps", "certname", "mail@2" },
	{ STORE "cert = /etc/ssl/all.pem\nkey = /etc/ssl/all.key\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ACCEPT_CONNECT, "imaps", "cert", "(none)@0" },
	{ STORE "cert = /etc/ssl/all.pem\nkey = /etc/ssl/all.key\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ACCEPT_CONNECT, "imaps", "key", "(none)@0" },
	{ STORE "cert = /etc/ssl/all.pem\nkey = /etc/ssl/all.key\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ACCEPT_CONNECT, "imaps", "certname", "mail@5" },
	{ STORE "cert = /etc/ssl/all.pem\nkey = /etc/ssl/all.key\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ACCEPT_CONNECT, "pop3s", "cert",
	  "/etc/ssl/all.pem@2" },
	{ STORE "cert = /etc/ssl/all.pem\nkey = /etc/ssl/all.key\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ACCEPT_CONNECT, "pop3s", "certname", "(none)@0" },
	{ STORE "certname = mail\n[imaps]\ncert = /c.pem\n" NEED_ACCEPT_CONNECT, "imaps",
	  "certname", "(none)@0" },
	{ STORE "certname = mail\n[imaps]\ncert = /c.pem\n" NEED_ACCEPT_CONNECT, "imaps", "key",
	  "/c.pem@0" },
	{ STORE "certname = mail\n[imaps]\nkey = /k.pem\ncert = /c.pem\n" NEED_ACCEPT_CONNECT,
	  "imaps", "key", "/k.pem@4" },
	/* autoIssue and renewBefore inherited: defaults for the services with a certname */
	{ STORE "autoIssue = yes\nrenewBefore = 30d\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ALL, "imaps", "autoIssue", "yes@2" },
	{ STORE "autoIssue = yes\nrenewBefore = 30d\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ALL, "imaps", "renewBefore", "2592000@3" },
	{ STORE "autoIssue = yes\nrenewBefore = 30d\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ALL, "pop3s", "autoIssue", "no@0" },
	{ STORE "autoIssue = yes\nrenewBefore = 30d\n[imaps]\ncertname = mail\n"
	  NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ALL, "pop3s", "renewBefore", "0@0" },
	{ STORE "certname = mail\n[imaps]\nautoIssue = yes\n" NEED_ACCEPT_CONNECT, "imaps",
	  "autoIssue", "yes@4" },
	{ "renewBefore = 30d\n" MANAGED "renewBefore = 2d\n", "imaps", "renewBefore",
	  "172800@7" },

	/* client mode: plaintext in, TLS out; cert is optional (a client certificate) */
	{ "[out]\nclient = yes\n" NEED_ACCEPT_CONNECT, "out", "client", "yes@2" },
	{ "[out]\nclient = yes\n" NEED_ACCEPT_CONNECT, "out", "cert", "(none)@0" },
	{ "[out]\nclient = yes\n" NEED_ACCEPT_CONNECT, "out", "key", "(none)@0" },
	{ "[out]\nclient = YES\ncert = /etc/certwrap/client.pem\n" NEED_ACCEPT_CONNECT, "out",
	  "key", "/etc/certwrap/client.pem@0" },
	{ MINIMAL "client = no\n", "imaps", "client", "no@5" },
	{ "client = yes\n[out]\n" NEED_ACCEPT_CONNECT, "out", "client", "yes@1" },
	{ "[out]\nclient = yes\nverifyChain = yes\ncheckHost = mail.example.org\n"
	  "checkHost = MX.Example.org\n" NEED_ACCEPT_CONNECT, "out", "checkHost",
	  "mail.example.org@4,MX.Example.org@5" },
	{ "[out]\nclient = yes\nverifyPeer = yes\nCAfile = /etc/ssl/up.pem\n"
	  "checkHost = localhost\n" NEED_ACCEPT_CONNECT, "out", "checkHost", "localhost@5" },
	{ "[out]\nclient = yes\nsni = mail.example.org\n" NEED_ACCEPT_CONNECT, "out", "sni",
	  "mail.example.org@3" },
	{ "[out]\nclient = yes\nprotocol = smtp\n" NEED_ACCEPT_CONNECT, "out", "protocol",
	  "smtp@3" },
	{ "[out]\nclient = yes\nprotocol = IMAP\n" NEED_ACCEPT_CONNECT, "out", "protocol",
	  "imap@3" },
	{ "[out]\nclient = yes\nprotocol = pop3\n" NEED_ACCEPT_CONNECT, "out", "protocol",
	  "pop3@3" },

	/* the man page's examples */
	{ man_example, "pop3s", "accept", "[::]:995@17" },
	{ man_example, "pop3s", "cert", "/etc/ssl/certs/mail.example.org.pem@8" },
	{ man_example, "submissions", "connect", "[::1]:587@22,10.0.0.25:587@23" },
	{ man_example, "submissions", "key", "/etc/ssl/private/mail.example.org.key@9" },
	{ man_example, "imaps-staff", "cert", "/etc/certwrap/staff.pem@29" },
	{ man_example, "imaps-staff", "key", "/etc/certwrap/staff.key@30" },
	{ man_example, "imaps-staff", "requireCert", "yes" },
	{ man_example, "imaps", "sslVersionMin", "TLSv1.2@10" },
	{ man_managed_example, NULL, "certstore", "/var/lib/certwrap@4" },
	{ man_managed_example, NULL, "control", "/run/certwrap/certwrapd.sock@5" },
	{ man_managed_example, NULL, "controlMode", "0660@0" },
	{ man_managed_example, NULL, "controlGroup", "certwrap-admin@6" },
	{ man_managed_example, "imaps", "certname", "mail@9" },
	{ man_managed_example, "imaps", "autoIssue", "yes@10" },
	{ man_managed_example, "imaps", "hostname", "mail.example.org@11,imap.example.org@11" },
	{ man_managed_example, "imaps", "renewBefore", "2592000@12" },
	{ man_managed_example, "pop3s", "certname", "mail@9" },
	{ man_managed_example, "pop3s", "hostname", "pop.example.org@21" },
	{ man_managed_example, "imaps-legacy", "certname", "(none)@0" },
	{ man_managed_example, "imaps-legacy", "cert", "/etc/certwrap/legacy.pem@27" },
	{ man_managed_example, "imaps-legacy", "autoIssue", "no@0" },
	{ man_managed_example, "imaps-legacy", "renewBefore", "0@0" },
	{ man_managed_example, "imaps-legacy", "hostname", "legacy.example.org@29" },
	/* proxyProtocol: per service, or a global default a service may cancel */
	{ "[imaps]\nproxyProtocol = v1\n" NEED_ALL, "imaps", "proxyProtocol", "v1@2" },
	{ "[imaps]\nproxyProtocol = V2\n" NEED_ALL, "imaps", "proxyProtocol", "v2@2" },
	{ "proxyProtocol = v2\n" MINIMAL, "imaps", "proxyProtocol", "v2@1" },
	{ "proxyProtocol = v2\n[imaps]\nproxyProtocol = none\n" NEED_ALL, "imaps",
	  "proxyProtocol", "none@3" },
	/* sni: kept as written; a server's sni makes a secondary */
	{ SNI_PRIMARY "[mail]\nsni = imaps:Mail.Example.ORG.\n" NEED_CONNECT_CERT, "mail", "sni",
	  "imaps:Mail.Example.ORG.@6" },
	{ SNI_PRIMARY "[mail]\nsni = imaps:Mail.Example.ORG.\n" NEED_CONNECT_CERT, "mail",
	  "sni_secondary", "imaps:mail.example.org" },
	{ SNI_PRIMARY "[mail]\nsni = imaps:Mail.Example.ORG.\n" NEED_CONNECT_CERT, "imaps",
	  "n_sni_secondaries", "1" },
	{ SNI_PRIMARY "[any]\nsni = imaps:*.example.org\n" NEED_CONNECT_CERT
	  "[mail]\nsni = imaps\n" NEED_CONNECT_CERT, "mail", "sni_secondary", "imaps:(names)" },
	{ SNI_PRIMARY "[any]\nsni = imaps:*.example.org\n" NEED_CONNECT_CERT
	  "[mail]\nsni = imaps\n" NEED_CONNECT_CERT, "any", "sni_secondary", "imaps:*.example.org" },
	{ SNI_PRIMARY "[any]\nsni = imaps:*.example.org\n" NEED_CONNECT_CERT
	  "[mail]\nsni = imaps\n" NEED_CONNECT_CERT, "imaps", "n_sni_secondaries", "2" },
	/* the primary may come after its secondary; a secondary has no accept */
	{ "[mail]\nsni = imaps:mail.example.org\n" NEED_CONNECT_CERT SNI_PRIMARY, "mail",
	  "accept", "-:(null)@0" },
	{ "[mail]\nsni = imaps:mail.example.org\n" NEED_CONNECT_CERT SNI_PRIMARY, "mail",
	  "sni_secondary", "imaps:mail.example.org" },
	/* without a connect of its own, it is one more certificate of its primary */
	{ SNI_PRIMARY "[mail]\nsni = imaps\ncert = /etc/ssl/mail.pem\n", "mail", "connect", "" },
	{ SNI_PRIMARY "[mail]\nsni = imaps\ncert = /etc/ssl/mail.pem\n", "mail", "cert",
	  "/etc/ssl/mail.pem@7" },
	{ SNI_PRIMARY "[mail]\nsni = imaps\nproxyProtocol = v1\n" NEED_CONNECT_CERT, "mail",
	  "proxyProtocol", "v1@7" },
	/* its CAfile checks its own chain */
	{ SNI_PRIMARY "[mail]\nsni = imaps:mail.example.org\nCAfile = /etc/ssl/root.pem\n"
	  NEED_CONNECT_CERT, "mail", "CAfile", "/etc/ssl/root.pem@7" },
};

static void
test_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		const struct value_case *c = &value_cases[i];
		struct config cfg;
		struct config_error err;
		char got[1024];

		if (config_parse_string("t.conf", c->text, &cfg, &err) != 0)
			fail_msg("value case %zu (%s): parse failed:\n%s", i, c->option, err.msg);
		describe(got, sizeof(got), &cfg, c->service, c->option);
		if (strcmp(got, c->want) != 0)
			fail_msg("value case %zu: %s in %s: got \"%s\", want \"%s\"", i, c->option,
			    c->service ? c->service : "global", got, c->want);
		assert_int_equal(err.count, 0);
		assert_string_equal(err.msg, "");
		config_free(&cfg);
	}
}

/* --- defaults --------------------------------------------------------------------- */

static const struct {
	const char *option;
	const char *want;
} default_cases[] = {
	{ "foreground", "no" },
	{ "pid", "(none)@0" },
	{ "debug", "daemon.notice" },
	{ "output", "(none)@0" },
	{ "syslog", "yes" },
	{ "setuid", "(none)@0" },
	{ "setgid", "(none)@0" },
	{ "accept", "-:993@2" },
	{ "connect", "-:143@3" },
	{ "cert", "/etc/ssl/imaps.pem@4" },
	{ "key", "/etc/ssl/imaps.pem@0" },
	{ "CAfile", "(none)@0" },
	{ "CApath", "(none)@0" },
	{ "CRLfile", "(none)@0" },
	{ "verifyChain", "no" },
	{ "verifyPeer", "no" },
	{ "requireCert", "no" },
	{ "verify_line", "0" },
	{ "sslVersionMin", "all@0" },
	{ "sslVersionMax", "all@0" },
	{ "sslVersion", "all@0..all@0" },
	{ "ciphers", CONFIG_DEFAULT_CIPHERS "@0" },
	{ "ciphersuites", CONFIG_DEFAULT_CIPHERSUITES "@0" },
	{ "curves", CONFIG_DEFAULT_CURVES "@0" },
	{ "TIMEOUTbusy", "300" },
	{ "TIMEOUTclose", "60" },
	{ "TIMEOUTconnect", "10" },
	{ "TIMEOUTidle", "43200" },
	{ "maxConnections", "0" },
	{ "protocol", "none@0" },
	{ "proxy_header", "v0@0" },
	{ "requireTLS", "yes" },
	{ "certstore", "(none)@0" },
	{ "control", "(none)@0" },
	{ "controlMode", "0660@0" },
	{ "ticketKeyLifetime", "43200" },
	{ "maxConnectionsTotal", "0" },
	{ "workers", "0" },
	{ "controlGroup", "(none)@0" },
	{ "certname", "(none)@0" },
	{ "autoIssue", "no@0" },
	{ "hostname", "(none)" },
	{ "hostname_line", "0" },
	{ "renewBefore", "0@0" },
	{ "proxyProtocol", "none@0" },
	{ "sni", "(none)@0" },
	{ "sni_secondary", "(none):(names)" },
	{ "n_sni_secondaries", "0" },
	{ "client", "no@0" },
	{ "checkHost", "(none)" },
	{ "protocol", "none@0" },
};

static void
test_defaults(void **state)
{
	struct config cfg;
	struct config_error err;
	char got[1024];

	(void)state;
	assert_int_equal(config_parse_string("t.conf", MINIMAL, &cfg, &err), 0);
	for (size_t i = 0; i < sizeof(default_cases) / sizeof(default_cases[0]); i++) {
		const struct config_option *opt = config_options_find(default_cases[i].option);
		bool global = opt != NULL && opt->scope == SCOPE_GLOBAL;

		describe(got, sizeof(got), &cfg, global ? NULL : "imaps", default_cases[i].option);
		if (strcmp(got, default_cases[i].want) != 0)
			fail_msg("default of %s: got \"%s\", want \"%s\"", default_cases[i].option,
			    got, default_cases[i].want);
	}
	assert_int_equal(cfg.n_services, 1);
	assert_string_equal(cfg.file, "t.conf");
	config_free(&cfg);
}

/* --- errors ------------------------------------------------------------------------- */

struct error_case {
	const char *text;
	const char *want;                 /* err.msg exactly; count = its lines */
};

static const struct error_case error_cases[] = {
	/* proxyProtocol */
	{ "[imaps]\nproxyProtocol = v3\n" NEED_ALL,
	  "t.conf:2: proxyProtocol: expected v1, v2 or none, got \"v3\"" },
	{ "[imaps]\nproxyProtocol =\n" NEED_ALL,
	  "t.conf:2: proxyProtocol: expected v1, v2 or none, got \"\"" },
	/* sni in a server service: a secondary of a primary in the same file */
	{ SNI_PRIMARY "[mail]\nsni =\n" NEED_CONNECT_CERT,
	  "t.conf:6: sni: expected PRIMARY[:PATTERN] | HOSTNAME, got nothing" },
	{ SNI_PRIMARY "[mail]\nsni = pop3s:mail.example.org\n" NEED_CONNECT_CERT,
	  "t.conf:6: sni: no service [pop3s] in this file; name the [section] whose accept "
	  "[mail] shares, as in sni = imaps:mail.example.org" },
	{ SNI_PRIMARY "[mail]\nsni = :mail.example.org\n" NEED_CONNECT_CERT,
	  "t.conf:6: sni: expected PRIMARY[:PATTERN], the [section] name of the primary "
	  "service and a server name, got \":mail.example.org\"" },
	{ SNI_PRIMARY "[mail]\nsni = imaps:\n" NEED_CONNECT_CERT,
	  "t.conf:6: sni: \"\": no pattern after ':'; expected a server name such as "
	  "mail.example.org or *.example.org" },
	{ SNI_PRIMARY "[mail]\nsni = imaps:mail.*.org\n" NEED_CONNECT_CERT,
	  "t.conf:6: sni: \"mail.*.org\": a wildcard is only \"*.\" at the start, as in "
	  "*.example.org; expected a server name such as mail.example.org or *.example.org" },
	{ SNI_PRIMARY "[mail]\nsni = imaps:mail_1.example.org\n" NEED_CONNECT_CERT,
	  "t.conf:6: sni: \"mail_1.example.org\": only letters, digits, '-' and '.' are "
	  "allowed; expected a server name such as mail.example.org or *.example.org" },
	{ "[imaps]\nsni = imaps:mail.example.org\n" NEED_CONNECT_CERT,
	  "t.conf:2: sni: [imaps] cannot be its own primary; name the service whose accept "
	  "it shares" },
	{ SNI_PRIMARY "[a]\nsni = imaps:a.example.org\n" NEED_CONNECT_CERT
	  "[b]\nsni = a:b.example.org\n" NEED_CONNECT_CERT,
	  "t.conf:10: sni: [a] is itself a secondary (sni at line 6); name the service with "
	  "the accept" },
	/* a STARTTLS primary has its backend before the client names a server */
	{ MINIMAL "protocol = imap\n[mail]\nsni = imaps:mail.example.org\n" NEED_CONNECT_CERT,
	  "t.conf:7: sni: [imaps] speaks STARTTLS (protocol, line 5), so its backend is "
	  "connected before the client names a server: [mail] may bring a certificate but not "
	  "a connect of its own; remove its connect" },
	/* duplicates: the same pattern twice for one primary, in any case */
	{ SNI_PRIMARY "[a]\nsni = imaps:*.example.org\n" NEED_CONNECT_CERT
	  "[b]\nsni = imaps:*.EXAMPLE.org\n" NEED_CONNECT_CERT,
	  "t.conf:10: sni: [imaps] already has a secondary for *.example.org: [a] (line 6); "
	  "keep one" },
	/* a secondary shares its primary's accept and TLS settings */
	{ SNI_PRIMARY "[mail]\nsni = imaps:mail.example.org\naccept = 994\n" NEED_CONNECT_CERT,
	  "t.conf:7: accept: [mail] is a secondary of [imaps] (sni at line 6) and shares its "
	  "accept; remove this line" },
	{ SNI_PRIMARY "[mail]\nsni = imaps:mail.example.org\nciphers = HIGH\n"
	  "sslVersionMin = TLSv1.3\n" NEED_CONNECT_CERT,
	  "t.conf:7: ciphers: [mail] " SECONDARY_TLS "\n"
	  "t.conf:8: sslVersionMin: [mail] " SECONDARY_TLS },
	{ SNI_PRIMARY "[mail]\nsni = imaps:mail.example.org\nverifyChain = yes\n"
	  NEED_CONNECT_CERT,
	  "t.conf:7: verifyChain/verifyPeer/requireCert: [mail] " SECONDARY_TLS },
	{ "[imaps]\nrequireCert = yes\n" NEED_ALL "[mail]\nsni = imaps:mail.example.org\n"
	  NEED_CONNECT_CERT,
	  "t.conf:2: verifyChain/verifyPeer/requireCert: [imaps] has SNI secondaries; client "
	  "certificates cannot be combined with them yet: remove the secondaries or the "
	  "client certificate check" },
	/* a secondary still needs its own certificate */
	{ SNI_PRIMARY "[mail]\nsni = imaps:mail.example.org\n",
	  "t.conf:5: [mail]: " MISSING_CERT },
	/* without a connect it relays like its primary, PROXY header included */
	{ SNI_PRIMARY "[mail]\nsni = imaps\nproxyProtocol = v1\ncert = /etc/ssl/mail.pem\n",
	  "t.conf:7: proxyProtocol: [mail] has no connect and relays like [imaps]; set this in "
	  "[imaps], or give [mail] a connect" },
	/* sni as a global default would make every server service a secondary */
	{ "sni = imaps:mail.example.org\n[imaps]\n" NEED_ALL "[pop3s]\n" NEED_ALL,
	  "t.conf:1: sni: in the global section, it would make every server service a "
	  "secondary; give sni = PRIMARY:PATTERN in each secondary's own section" },
	/* unknown options: refused, never ignored */
	{ "[imaps]\nverifyPeeer = yes\n",
	  "t.conf:2: verifyPeeer: unknown option (did you mean verifyPeer?)" },
	{ "[imaps]\nfrobnicate = 1\n" NEED_ALL,
	  "t.conf:2: frobnicate: unknown option; see certwrapd.conf(5)" },
	{ "[imaps]\naccpet = 993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accpet: unknown option (did you mean accept?)" },
	{ "[imaps]\nCERTIFICATE = /c.pem\n" NEED_ALL,
	  "t.conf:2: CERTIFICATE: unknown option; see certwrapd.conf(5)" },
	{ "[imaps]\npidd = 1\n" NEED_ALL,
	  "t.conf:2: pidd: unknown option (did you mean pid?)" },
	{ "[imaps]\nTIMEOUTidel = 1\n" NEED_ALL,
	  "t.conf:2: TIMEOUTidel: unknown option (did you mean TIMEOUTidle?)" },
	{ "[imaps]\nverify Peer = yes\n" NEED_ALL,
	  "t.conf:2: verify Peer: unknown option (did you mean verifyPeer?)" },
	{ "[imaps]\nfoo:bar = 1\n" NEED_ALL,
	  "t.conf:2: foo:bar: unknown option; see certwrapd.conf(5)" },

	/* client mode */
#define CLIENT "[out]\nclient = yes\n"
	{ CLIENT "checkHost = mail.example.org\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: checkHost: needs verifyChain = yes (or verifyPeer = yes): without "
	  "verification no name is checked" },
	{ CLIENT "verifyChain = yes\ncheckHost = 192.0.2.1\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: checkHost: \"192.0.2.1\": an IP address, not a host name; expected the host "
	  "name the upstream's certificate must carry, such as mail.example.org" },
	{ CLIENT "verifyChain = yes\ncheckHost = *.example.org\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: checkHost: \"*.example.org\": a wildcard is not a host name; expected the "
	  "host name the upstream's certificate must carry, such as mail.example.org" },
	{ CLIENT "verifyChain = yes\ncheckHost = mail..example.org\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: checkHost: \"mail..example.org\": empty label; expected the host name the "
	  "upstream's certificate must carry, such as mail.example.org" },
	{ CLIENT "sni = 192.0.2.1\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: sni: \"192.0.2.1\": an IP address, not a host name; with client = yes, sni "
	  "is the host name sent to the upstream, such as mail.example.org" },
	{ CLIENT "sni = imaps:mail.example.org\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: sni: \"imaps:mail.example.org\": only letters, digits, '-' and '.' are "
	  "allowed; with client = yes, sni is the host name sent to the upstream, such as "
	  "mail.example.org" },
	{ CLIENT "sni =\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: sni: expected PRIMARY[:PATTERN] | HOSTNAME, got nothing" },
	{ CLIENT "protocol = ldap\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: protocol: stunnel's protocol \"ldap\" is not supported by certwrapd; it "
	  "speaks smtp, imap, pop3 (STARTTLS), smtps, imaps, pop3s (TLS from the first byte) "
	  "and proxy" },
	{ CLIENT "protocol = proxy\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: proxyProtocol: not with client = yes: the upstream speaks TLS from the "
	  "first byte and would take the header for a broken handshake; remove this line" },
	{ "[out]\nclient = maybe\n" NEED_ACCEPT_CONNECT,
	  "t.conf:2: client: expected yes or no, got \"maybe\"" },
	{ STORE CLIENT "certname = mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: certname: not with client = yes: a client certificate comes from cert = "
	  "FILE (and key = FILE); use those" },
	{ CLIENT "hostname = mail.example.org\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: hostname: names what a server's certificate covers; with client = yes, "
	  "checkHost = NAME checks the upstream's" },
	{ CLIENT "requireCert = yes\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: requireCert: an upstream always sends its certificate; with client = yes "
	  "use verifyChain or verifyPeer to check it" },
	{ CLIENT "key = /etc/certwrap/client.key\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: key: needs cert = FILE, the client certificate sent with this key; add it "
	  "or remove this line" },
	{ "[out]\n" NEED_ACCEPT_CONNECT, "t.conf:1: [out]: " MISSING_CERT },
	/* a server's checkHost is refused; proxyProtocol is for plaintext backends */
	{ MINIMAL "checkHost = mail.example.org\n",
	  "t.conf:5: checkHost: checks the upstream's certificate in client mode only; add "
	  "client = yes or remove this line" },
	{ CLIENT "proxyProtocol = v2\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: proxyProtocol: not with client = yes: the upstream speaks TLS from the "
	  "first byte and would take the header for a broken handshake; remove this line" },

	/* stunnel options certwrapd does not support */
	{ MINIMAL "checkEmail = a@example.org\n", "t.conf:5: checkEmail: " UNSUPPORTED },
	{ MINIMAL "exec = /usr/sbin/imapd\nexecArgs = imapd\n",
	  "t.conf:5: exec: " UNSUPPORTED "\nt.conf:6: execArgs: " UNSUPPORTED },
	{ "chroot = /var/lib/stunnel4/\n" MINIMAL, "t.conf:1: chroot: " UNSUPPORTED },
	{ MINIMAL "OCSPaia = yes\n", "t.conf:5: OCSPaia: " UNSUPPORTED },
	{ MINIMAL "ocspflag = NOCERTS\n", "t.conf:5: ocspflag: " UNSUPPORTED },
	{ "engineCtrl = PIN:1234\n" MINIMAL, "t.conf:1: engineCtrl: " UNSUPPORTED },
	{ MINIMAL "PSKsecrets = /etc/stunnel/psk.txt\n", "t.conf:5: PSKsecrets: " UNSUPPORTED },
	{ MINIMAL "protocolHost = mail.example.org:25\n", "t.conf:5: protocolHost: " UNSUPPORTED },
	{ MINIMAL "protocolUsername = me\n", "t.conf:5: protocolUsername: " UNSUPPORTED },
	{ MINIMAL "protocol = ldap\n", "t.conf:5: protocol: stunnel's protocol \"ldap\" is not "
	  "supported by certwrapd; it speaks smtp, imap, pop3 (STARTTLS), smtps, imaps, "
	  "pop3s (TLS from the first byte) and proxy" },
	{ MINIMAL "protocol = connect\n", "t.conf:5: protocol: stunnel's protocol \"connect\" is "
	  "not supported by certwrapd; it speaks smtp, imap, pop3 (STARTTLS), smtps, "
	  "imaps, pop3s (TLS from the first byte) and proxy" },
	{ MINIMAL "protocol = smtp-tls\n",
	  "t.conf:5: protocol: expected smtp, imap, pop3, smtps, imaps, pop3s or proxy, got "
	  "\"smtp-tls\"" },
	{ CLIENT "protocol = imaps\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: protocol: smtps, imaps and pop3s are for TLS servers; with client = yes "
	  "the upstream is TLS from the first byte already: remove this line" },
	{ MINIMAL "requireTLS = maybe\n",
	  "t.conf:5: requireTLS: expected yes or no, got \"maybe\"" },
	{ MINIMAL "sessionCacheSize = 1000\n", "t.conf:5: sessionCacheSize: " UNSUPPORTED },
	{ MINIMAL "TIMEOUTocsp = 5\n", "t.conf:5: TIMEOUTocsp: " UNSUPPORTED },
	{ MINIMAL "socket = l:TCP_NODELAY=1\n", "t.conf:5: socket: " UNSUPPORTED },
	{ MINIMAL "CRLpath = /etc/ssl/crl\n",
	  "t.conf:5: CRLpath: stunnel option not supported by certwrapd; put the CRLs in one "
	  "file and use CRLfile" },
	{ MINIMAL "options = NO_SSLv3\n",
	  "t.conf:5: options: stunnel option not supported by certwrapd; use sslVersionMin and "
	  "sslVersionMax instead of NO_TLSv1 and the like; other OpenSSL options cannot be set" },
	{ "include = /etc/stunnel/conf.d\n" MINIMAL,
	  "t.conf:1: include: stunnel option not supported by certwrapd; put the options in "
	  "this file" },
	{ MINIMAL "failover = prio\n",
	  "t.conf:5: failover: stunnel option not supported by certwrapd; certwrapd always "
	  "tries the connect targets in file order (stunnel's failover = prio); remove it" },
	{ "RNDfile = /dev/urandom\n" MINIMAL,
	  "t.conf:1: RNDfile: stunnel option not supported by certwrapd; OpenSSL 3 seeds "
	  "itself from the kernel; remove it" },
	{ MINIMAL "verify = 0\n", "t.conf:5: verify: obsolete stunnel option; verify = 0 (request "
	  "and ignore a client certificate) has no certwrapd equivalent: remove it" },
	{ MINIMAL "verify = 1\n", "t.conf:5: verify: obsolete stunnel option; replace verify = 1 "
	  "with verifyChain = yes (which also requires a client certificate)" },
	{ MINIMAL "verify = 2\n", "t.conf:5: verify: obsolete stunnel option; replace verify = 2 "
	  "with verifyChain = yes" },
	{ MINIMAL "verify = 3\n", "t.conf:5: verify: obsolete stunnel option; replace verify = 3 "
	  "with verifyChain = yes and verifyPeer = yes" },
	{ MINIMAL "verify = 4\n", "t.conf:5: verify: obsolete stunnel option; replace verify = 4 "
	  "with verifyPeer = yes" },
	{ MINIMAL "verify = 7\n", "t.conf:5: verify: obsolete stunnel option; replace it with "
	  "verifyChain = yes and/or verifyPeer = yes" },

	/* global options in a service section */
	{ MINIMAL "pid = /run/x.pid\n", "t.conf:5: pid: global option, not allowed in [imaps]; "
	  "move it above the first [section]" },
	{ MINIMAL "debug = 7\n", "t.conf:5: debug: global option, not allowed in [imaps]; "
	  "move it above the first [section]" },
	{ MINIMAL "setuid = nobody\nforeground = yes\n",
	  "t.conf:5: setuid: global option, not allowed in [imaps]; move it above the first "
	  "[section]\nt.conf:6: foreground: global option, not allowed in [imaps]; move it "
	  "above the first [section]" },

	/* bad values */
	{ "[imaps]\nverifyPeer = maybe\n" NEED_ALL,
	  "t.conf:2: verifyPeer: expected yes or no, got \"maybe\"" },
	{ "[imaps]\nverifyChain = 1\n" NEED_ALL,
	  "t.conf:2: verifyChain: expected yes or no, got \"1\"" },
	{ "[imaps]\nrequireCert =\n" NEED_ALL,
	  "t.conf:2: requireCert: expected yes or no, got \"\"" },
	{ "syslog = true\n" MINIMAL, "t.conf:1: syslog: expected yes or no, got \"true\"" },
	{ "foreground = always\n" MINIMAL,
	  "t.conf:1: foreground: expected yes, quiet or no, got \"always\"" },
	{ "debug = loud\n" MINIMAL, "t.conf:1: debug: " BAD_LEVEL ", got \"loud\"" },
	{ "debug = 8\n" MINIMAL, "t.conf:1: debug: " BAD_LEVEL ", got \"8\"" },
	{ "debug =\n" MINIMAL, "t.conf:1: debug: " BAD_LEVEL ", got \"\"" },
	{ "debug = daemon.\n" MINIMAL, "t.conf:1: debug: " BAD_LEVEL ", got \"\"" },
	{ "debug = dameon.info\n" MINIMAL, "t.conf:1: debug: unknown syslog facility \"dameon\": "
	  "expected daemon, user, mail, auth, authpriv, cron, ftp, kern, lpr, news, syslog, uucp "
	  "or local0-local7" },
	{ "output =\n" MINIMAL, "t.conf:1: output: expected a file name, got nothing" },
	{ "setuid = stunnel 4\n" MINIMAL,
	  "t.conf:1: setuid: expected a name or a number, got \"stunnel 4\"" },
	{ "setgid =\n" MINIMAL, "t.conf:1: setgid: expected a name or a number, got \"\"" },
	{ "[imaps]\ncert =\naccept = 993\nconnect = 143\n",
	  "t.conf:2: cert: expected a file name, got nothing" },
	{ "[imaps]\nkey =\n" NEED_ALL, "t.conf:2: key: expected a file name, got nothing" },
	{ "[imaps]\nciphers =\n" NEED_ALL, "t.conf:2: ciphers: expected CIPHER_LIST, got nothing" },
	{ "[imaps]\nciphersuites =\n" NEED_ALL,
	  "t.conf:2: ciphersuites: expected CIPHERSUITES_LIST, got nothing" },
	{ "[imaps]\ncurves =\n" NEED_ALL, "t.conf:2: curves: expected CURVE_LIST, got nothing" },
	{ "[imaps]\nmaxConnections = -1\n" NEED_ALL, "t.conf:2: maxConnections: expected a "
	  "number of connections 0-1000000 (0: no limit), got \"-1\"" },
	{ "maxConnectionsTotal = 2000000\n" MINIMAL, "t.conf:1: maxConnectionsTotal: expected a "
	  "number of connections 0-1000000 (0: no limit), got \"2000000\"" },
	{ "workers = 0\n" MINIMAL, "t.conf:1: workers: expected a number of threads 1-64, or "
	  "auto for one per CPU, got \"0\"" },
	{ "workers = 65\n" MINIMAL, "t.conf:1: workers: expected a number of threads 1-64, or "
	  "auto for one per CPU, got \"65\"" },
	{ "workers = 2x\n" MINIMAL, "t.conf:1: workers: expected a number of threads 1-64, or "
	  "auto for one per CPU, got \"2x\"" },
	{ "[imaps]\nTIMEOUTidle = 1h\n" NEED_ALL,
	  "t.conf:2: TIMEOUTidle: expected whole seconds 0-31536000, got \"1h\"" },
	{ "[imaps]\nTIMEOUTbusy = -1\n" NEED_ALL,
	  "t.conf:2: TIMEOUTbusy: expected whole seconds 0-31536000, got \"-1\"" },
	{ "[imaps]\nTIMEOUTclose = 31536001\n" NEED_ALL,
	  "t.conf:2: TIMEOUTclose: expected whole seconds 0-31536000, got \"31536001\"" },
	{ "[imaps]\nTIMEOUTconnect =\n" NEED_ALL,
	  "t.conf:2: TIMEOUTconnect: expected whole seconds 0-31536000, got \"\"" },
	{ "[imaps]\nTIMEOUTconnect = 99999999999999999999999\n" NEED_ALL,
	  "t.conf:2: TIMEOUTconnect: expected whole seconds 0-31536000, got "
	  "\"99999999999999999999999\"" },

	/* addresses */
	{ "[imaps]\naccept = 99999\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad port \"99999\": " BAD_PORT },
	{ "[imaps]\naccept = 0\n" NEED_CONNECT_CERT, "t.conf:2: accept: bad port \"0\": " BAD_PORT },
	{ "[imaps]\naccept = 65536\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad port \"65536\": " BAD_PORT },
	{ "[imaps]\naccept = 127.0.0.1:-1\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad port \"-1\": " BAD_PORT },
	{ "[imaps]\naccept = im@ps\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad port \"im@ps\": " BAD_PORT },
	{ "[imaps]\nconnect = backend:1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q\n" NEED_ACCEPT_CERT,
	  "t.conf:2: connect: bad port \"1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q\": " BAD_PORT },
	{ "[imaps]\naccept =\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: expected [HOST:]PORT, got nothing" },
	{ "[imaps]\naccept = 127.0.0.1:\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: no port in \"127.0.0.1:\"" },
	{ "[imaps]\naccept = :993\n" NEED_CONNECT_CERT, "t.conf:2: accept: \":993\": no host "
	  "before ':'; expected [HOST:]PORT, [IPv6]:PORT or :::PORT" },
	{ "[imaps]\naccept = [::1:993\n" NEED_CONNECT_CERT, "t.conf:2: accept: \"[::1:993\": no "
	  "']' after the IPv6 address; expected [HOST:]PORT, [IPv6]:PORT or :::PORT" },
	{ "[imaps]\naccept = [::1]993\n" NEED_CONNECT_CERT, "t.conf:2: accept: \"[::1]993\": "
	  "expected [IPv6 address]:PORT; expected [HOST:]PORT, [IPv6]:PORT or :::PORT" },
	{ "[imaps]\naccept = [::1]\n" NEED_CONNECT_CERT, "t.conf:2: accept: \"[::1]\": "
	  "expected [IPv6 address]:PORT; expected [HOST:]PORT, [IPv6]:PORT or :::PORT" },
	{ "[imaps]\naccept = [1::2::3]:993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad IPv6 address \"1::2::3\"" },
	{ "[imaps]\naccept = []:993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad IPv6 address \"\"" },
	{ "[imaps]\naccept = [127.0.0.1]:993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad IPv6 address \"127.0.0.1\"" },
	{ "[imaps]\naccept = [fe80::1%]:993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad IPv6 address \"fe80::1%\"" },
	{ "[imaps]\naccept = [fe80::1%eth/0]:993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad IPv6 address \"fe80::1%eth/0\"" },
	{ "[imaps]\naccept = g::1:993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad IPv6 address \"g::1\"" },
	{ "[imaps]\naccept = mail server:993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: bad host \"mail server\": expected a host name, an IPv4 address "
	  "or [IPv6 address]" },
	{ "[imaps]\nconnect = *:143\n" NEED_ACCEPT_CERT,
	  "t.conf:2: connect: bad host \"*\": expected a host name, an IPv4 address or [IPv6 "
	  "address]" },
	{ "[imaps]\nconnect = /run/dovecot/imap.sock\n" NEED_ACCEPT_CERT,
	  "t.conf:2: connect: \"/run/dovecot/imap.sock\": Unix socket paths are not supported "
	  "by certwrapd (yet); use [HOST:]PORT" },
	{ "[imaps]\n"
	  "connect = 1\nconnect = 2\nconnect = 3\nconnect = 4\nconnect = 5\nconnect = 6\n"
	  "connect = 7\nconnect = 8\nconnect = 9\nconnect = 10\nconnect = 11\nconnect = 12\n"
	  "connect = 13\nconnect = 14\nconnect = 15\nconnect = 16\nconnect = 17\nconnect = 18\n"
	  NEED_ACCEPT_CERT,
	  "t.conf:18: connect: more than 16 connect lines in [imaps]\n"
	  "t.conf:19: connect: more than 16 connect lines in [imaps]" },

	/* TLS versions */
	{ "[imaps]\nsslVersionMin = SSLv3\n" NEED_ALL, "t.conf:2: sslVersionMin: SSLv3 is not "
	  "supported: OpenSSL 3 has no SSLv3; use TLSv1.2 or later" },
	{ "[imaps]\nsslVersionMax = SSLv3\n" NEED_ALL, "t.conf:2: sslVersionMax: SSLv3 is not "
	  "supported: OpenSSL 3 has no SSLv3; use TLSv1.2 or later" },
	{ "[imaps]\nsslVersion = SSLv2\n" NEED_ALL, "t.conf:2: sslVersion: SSLv2 is not "
	  "supported: OpenSSL 3 has no SSLv2; use TLSv1.2 or later" },
	{ "[imaps]\nsslVersionMin = TLS1.2\n" NEED_ALL,
	  "t.conf:2: sslVersionMin: " BAD_VERSION ", got \"TLS1.2\"" },
	{ "[imaps]\nsslVersion = TLSv1.4\n" NEED_ALL,
	  "t.conf:2: sslVersion: " BAD_VERSION ", got \"TLSv1.4\"" },
	{ "[imaps]\nsslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.2\n" NEED_ALL,
	  "t.conf:3: sslVersionMax: TLSv1.2 is below sslVersionMin = TLSv1.3 at line 2" },
	{ "[imaps]\nsslVersionMax = TLSv1.1\nsslVersionMin = TLSv1.2\n" NEED_ALL,
	  "t.conf:3: sslVersionMin: TLSv1.2 is above sslVersionMax = TLSv1.1 at line 2" },
	{ "sslVersionMin = TLSv1.3\n[imaps]\nsslVersionMax = TLSv1.2\n" NEED_ALL,
	  "t.conf:3: sslVersionMax: TLSv1.2 is below sslVersionMin = TLSv1.3 at line 1" },
	/* a conflict between global lines is reported once, not per service */
	{ "sslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.2\n" MINIMAL "[pop3s]\n" NEED_ALL,
	  "t.conf:2: sslVersionMax: TLSv1.2 is below sslVersionMin = TLSv1.3 at line 1" },
	{ "[imaps]\nsslVersionMin = TLSv1.2\nsslVersion = TLSv1.3\n" NEED_ALL,
	  "t.conf:3: sslVersion: conflicts with sslVersionMin at line 2; keep one of them" },
	{ "[imaps]\nsslVersion = TLSv1.3\nsslVersionMax = TLSv1.3\n" NEED_ALL,
	  "t.conf:3: sslVersionMax: conflicts with sslVersion at line 2; keep one of them" },

	/* duplicates */
	{ "[imaps]\ncert = /a.pem\ncert = /b.pem\naccept = 993\nconnect = 143\n",
	  "t.conf:3: cert: given twice in [imaps], first at line 2; keep one" },
	{ "[imaps]\nverifyPeer = yes\nverifypeer = no\n" NEED_ALL,
	  "t.conf:3: verifyPeer: given twice in [imaps], first at line 2; keep one" },
	{ "[imaps]\nsslVersion = TLSv1.2\nsslVersion = TLSv1.3\n" NEED_ALL,
	  "t.conf:3: sslVersion: given twice in [imaps], first at line 2; keep one" },
	{ "pid = /a.pid\npid = /b.pid\n" MINIMAL,
	  "t.conf:2: pid: given twice in the global section, first at line 1; keep one" },
	{ "TIMEOUTidle = 1\nTIMEOUTidle = 2\n" MINIMAL,
	  "t.conf:2: TIMEOUTidle: given twice in the global section, first at line 1; keep one" },
	{ MINIMAL "[pop3s]\n" NEED_ALL "[imaps]\n" NEED_ALL,
	  "t.conf:9: [imaps]: duplicate section; the first [imaps] is at line 1" },

	/* the certstore and the control socket */
	{ "certstore =\n" MINIMAL, "t.conf:1: certstore: expected a directory, got nothing" },
	{ MINIMAL STORE, "t.conf:5: certstore: global option, not allowed in [imaps]; move it "
	  "above the first [section]" },
	{ MINIMAL CONTROL, "t.conf:5: control: global option, not allowed in [imaps]; move it "
	  "above the first [section]" },
	{ "control = run/certwrapd.sock\n" MINIMAL, "t.conf:1: control: expected an absolute "
	  "path such as /run/certwrap/certwrapd.sock, got \"run/certwrapd.sock\"" },
	{ "control = ~/certwrapd.sock\n" MINIMAL, "t.conf:1: control: expected an absolute "
	  "path such as /run/certwrap/certwrapd.sock, got \"~/certwrapd.sock\"" },
	{ CONTROL "controlMode = 0888\n" MINIMAL, "t.conf:2: controlMode: " BAD_MODE "\"0888\"" },
	{ "ticketKeyLifetime = 0\n" MINIMAL, "t.conf:1: ticketKeyLifetime: expected at least 1 "
	  "second, got 0: a ticket key that never rotates lets one stolen key open every "
	  "session" },
	{ "ticketKeyLifetime = 12h\n" MINIMAL, "t.conf:1: ticketKeyLifetime: expected whole "
	  "seconds 0-31536000, got \"12h\"" },
	{ CONTROL "controlMode = 1777\n" MINIMAL, "t.conf:2: controlMode: " BAD_MODE "\"1777\"" },
	{ CONTROL "controlMode = 01000\n" MINIMAL, "t.conf:2: controlMode: " BAD_MODE "\"01000\"" },
	{ CONTROL "controlMode = 0x1b0\n" MINIMAL, "t.conf:2: controlMode: " BAD_MODE "\"0x1b0\"" },
	{ CONTROL "controlMode = rw-rw----\n" MINIMAL,
	  "t.conf:2: controlMode: " BAD_MODE "\"rw-rw----\"" },
	{ CONTROL "controlMode = -660\n" MINIMAL, "t.conf:2: controlMode: " BAD_MODE "\"-660\"" },
	{ CONTROL "controlMode =\n" MINIMAL, "t.conf:2: controlMode: " BAD_MODE "\"\"" },
	{ CONTROL "controlMode = 77777777777777777777777\n" MINIMAL,
	  "t.conf:2: controlMode: " BAD_MODE "\"77777777777777777777777\"" },
	{ CONTROL "controlGroup = mail users\n" MINIMAL,
	  "t.conf:2: controlGroup: expected a name or a number, got \"mail users\"" },
	{ CONTROL "controlGroup =\n" MINIMAL,
	  "t.conf:2: controlGroup: expected a name or a number, got \"\"" },
	/* the socket's options without a socket, an empty control too */
	{ "controlMode = 0600\n" MINIMAL, "t.conf:1: controlMode: " NEEDS_CONTROL },
	{ "controlGroup = mail\n" MINIMAL, "t.conf:1: controlGroup: " NEEDS_CONTROL },
	{ "controlGroup = mail\ncontrol =\ncontrolMode = 0600\n" MINIMAL,
	  "t.conf:1: controlGroup: " NEEDS_CONTROL "\nt.conf:3: controlMode: " NEEDS_CONTROL },
	{ "controlMode = 0600\n", "t.conf:1: controlMode: " NEEDS_CONTROL "\n"
	  "t.conf: no [service] section; add one, e.g. [imaps] with accept, connect and cert" },
	/* ... but not after a bad control line, which is the error */
	{ "control = certwrapd.sock\ncontrolMode = 0600\n" MINIMAL, "t.conf:1: control: expected "
	  "an absolute path such as /run/certwrap/certwrapd.sock, got \"certwrapd.sock\"" },

	/* certname */
	{ STORE "[imaps]\ncertname = mail/imaps\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: certname: " BAD_CERTNAME "\"mail/imaps\"" },
	{ STORE "[imaps]\ncertname = .mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: certname: " BAD_CERTNAME "\".mail\"" },
	{ STORE "[imaps]\ncertname = -mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: certname: " BAD_CERTNAME "\"-mail\"" },
	{ STORE "[imaps]\ncertname = _mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: certname: " BAD_CERTNAME "\"_mail\"" },
	{ STORE "[imaps]\ncertname = mail server\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: certname: " BAD_CERTNAME "\"mail server\"" },
	{ STORE "[imaps]\ncertname = m\xc3\xa4il\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: certname: " BAD_CERTNAME "\"m\xc3\xa4il\"" },
	{ STORE "[imaps]\ncertname =\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: certname: " BAD_CERTNAME "\"\"" },
	{ STORE "[imaps]\n"
	  "certname = a123456789b123456789c123456789d123456789e123456789f123456789abcde\n"
	  NEED_ACCEPT_CONNECT, "t.conf:3: certname: " BAD_CERTNAME
	  "\"a123456789b123456789c123456789d123456789e123456789f123456789abcde\"" },
	{ STORE "[imaps]\ncertname = mail\ncertname = mail2\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: certname: given twice in [imaps], first at line 3; keep one" },
	/* certname needs a certstore; reported once, where the certname is */
	{ "[imaps]\ncertname = mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:2: certname: " NEEDS_CERTSTORE },
	{ "certname = mail\n[imaps]\n" NEED_ACCEPT_CONNECT "[pop3s]\n" NEED_ACCEPT_CONNECT,
	  "t.conf:1: certname: " NEEDS_CERTSTORE },
	{ "certname = mail\n[imaps]\ncertname = mail2\n" NEED_ACCEPT_CONNECT,
	  "t.conf:1: certname: " NEEDS_CERTSTORE "\nt.conf:3: certname: " NEEDS_CERTSTORE },
	{ "certstore =\n[imaps]\ncertname = mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:1: certstore: expected a directory, got nothing" },
	{ "[imaps]\ncertname = mail/x\n" NEED_ACCEPT_CONNECT,
	  "t.conf:2: certname: " BAD_CERTNAME "\"mail/x\"\nt.conf:2: certname: " NEEDS_CERTSTORE },
	/* cert or key and certname in one section: the later line is the error */
	{ STORE "[imaps]\ncert = /c.pem\ncertname = mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: certname: " CERT_OR_CERTNAME "cert is at line 3" },
	{ STORE "[imaps]\nkey = /k.pem\ncertname = mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: certname: " CERT_OR_CERTNAME "key is at line 3" },
	{ STORE "[imaps]\nkey = /k.pem\ncert = /c.pem\ncertname = mail\n" NEED_ACCEPT_CONNECT,
	  "t.conf:5: certname: " CERT_OR_CERTNAME "key is at line 3" },
	{ STORE "[imaps]\ncertname = mail\ncert = /c.pem\nkey = /k.pem\n" NEED_ACCEPT_CONNECT,
	  "t.conf:4: cert: " CERT_OR_CERTNAME "certname is at line 3\n"
	  "t.conf:5: key: " CERT_OR_CERTNAME "certname is at line 3" },
	{ STORE "cert = /c.pem\ncertname = mail\n" MINIMAL,
	  "t.conf:3: certname: " CERT_OR_CERTNAME "cert is at line 2" },
	/* a service's own key drops the global certname: then it needs a cert */
	{ STORE "certname = mail\n[imaps]\nkey = /k.pem\n" NEED_ACCEPT_CONNECT,
	  "t.conf:3: [imaps]: " MISSING_CERT },
	/* autoIssue = yes and renewBefore need a certname */
	{ "[imaps]\nautoIssue = yes\n" NEED_ALL, "t.conf:2: autoIssue: " AUTOISSUE_ALONE },
	{ STORE "certname = mail\n[imaps]\nautoIssue = yes\n" NEED_ALL,
	  "t.conf:4: autoIssue: " AUTOISSUE_ALONE },
	{ MANAGED "autoIssue = maybe\n", "t.conf:6: autoIssue: expected yes or no, got \"maybe\"" },
	{ "[imaps]\nrenewBefore = 30d\n" NEED_ALL, "t.conf:2: renewBefore: " RENEW_ALONE },
	{ "[imaps]\nrenewBefore = 30d\nautoIssue = yes\n" NEED_ALL,
	  "t.conf:2: renewBefore: " RENEW_ALONE "\nt.conf:3: autoIssue: " AUTOISSUE_ALONE },
	{ MANAGED "renewBefore = 30\n", "t.conf:6: renewBefore: " BAD_DURATION "\"30\"" },
	{ MANAGED "renewBefore = 30 d\n", "t.conf:6: renewBefore: " BAD_DURATION "\"30 d\"" },
	{ MANAGED "renewBefore = 30D\n", "t.conf:6: renewBefore: " BAD_DURATION "\"30D\"" },
	{ MANAGED "renewBefore = 1M\n", "t.conf:6: renewBefore: " BAD_DURATION "\"1M\"" },
	{ MANAGED "renewBefore = 2w\n", "t.conf:6: renewBefore: " BAD_DURATION "\"2w\"" },
	{ MANAGED "renewBefore = 30dd\n", "t.conf:6: renewBefore: " BAD_DURATION "\"30dd\"" },
	{ MANAGED "renewBefore = 1d12h\n", "t.conf:6: renewBefore: " BAD_DURATION "\"1d12h\"" },
	{ MANAGED "renewBefore = d\n", "t.conf:6: renewBefore: " BAD_DURATION "\"d\"" },
	{ MANAGED "renewBefore = -1d\n", "t.conf:6: renewBefore: " BAD_DURATION "\"-1d\"" },
	{ MANAGED "renewBefore = 1.5d\n", "t.conf:6: renewBefore: " BAD_DURATION "\"1.5d\"" },
	{ MANAGED "renewBefore =\n", "t.conf:6: renewBefore: " BAD_DURATION "\"\"" },
	{ MANAGED "renewBefore = 0d\n", "t.conf:6: renewBefore: expected a duration above 0, "
	  "such as 30d, 12h or 90m, got \"0d\"" },
	{ MANAGED "renewBefore = 3651d\n",
	  "t.conf:6: renewBefore: \"3651d\" is more than 3650d, the most it can be" },
	{ MANAGED "renewBefore = 87601h\n",
	  "t.conf:6: renewBefore: \"87601h\" is more than 3650d, the most it can be" },
	{ MANAGED "renewBefore = 315360001s\n",
	  "t.conf:6: renewBefore: \"315360001s\" is more than 3650d, the most it can be" },
	{ MANAGED "renewBefore = 99999999999999999999999999d\n", "t.conf:6: renewBefore: "
	  "\"99999999999999999999999999d\" is more than 3650d, the most it can be" },

	/* hostname */
	{ "[imaps]\nhostname =\n" NEED_ALL, "t.conf:2: hostname: expected a DNS name such as "
	  "mail.example.org or an IP address, got nothing" },
	{ "[imaps]\nhostname = , ,\n" NEED_ALL, "t.conf:2: hostname: expected a DNS name such "
	  "as mail.example.org or an IP address, got nothing" },
	{ "[imaps]\nhostname = mail_1.example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"mail_1.example.org\": only letters, digits, '-' and '.' are allowed" BAD_HOSTNAME },
	{ "[imaps]\nhostname = mail.example.org;imap.example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"mail.example.org;imap.example.org\": only letters, digits, '-' and '.' are allowed"
	  BAD_HOSTNAME },
	{ "[imaps]\nhostname = -mail.example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"-mail.example.org\": a label begins with '-'" BAD_HOSTNAME },
	{ "[imaps]\nhostname = mail-.example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"mail-.example.org\": a label ends with '-'" BAD_HOSTNAME },
	{ "[imaps]\nhostname = mail.example-\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"mail.example-\": a label ends with '-'" BAD_HOSTNAME },
	{ "[imaps]\nhostname = mail..example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"mail..example.org\": empty label" BAD_HOSTNAME },
	{ "[imaps]\nhostname = .example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\".example.org\": empty label" BAD_HOSTNAME },
	{ "[imaps]\nhostname = example.org..\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"example.org..\": empty label" BAD_HOSTNAME },
	{ "[imaps]\nhostname = .\n" NEED_ALL, "t.conf:2: hostname: "
	  "\".\": empty label" BAD_HOSTNAME },
	{ "[imaps]\nhostname = *.\n" NEED_ALL, "t.conf:2: hostname: \"*.\": a wildcard is only "
	  "\"*.\" at the start, as in *.example.org" BAD_HOSTNAME },
	{ "[imaps]\nhostname = *..\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"*..\": empty label" BAD_HOSTNAME },
	{ "[imaps]\nhostname = *\n" NEED_ALL, "t.conf:2: hostname: \"*\": a wildcard is only "
	  "\"*.\" at the start, as in *.example.org" BAD_HOSTNAME },
	{ "[imaps]\nhostname = *mail.example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"*mail.example.org\": a wildcard is only \"*.\" at the start, as in *.example.org"
	  BAD_HOSTNAME },
	{ "[imaps]\nhostname = mail.*.example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"mail.*.example.org\": a wildcard is only \"*.\" at the start, as in *.example.org"
	  BAD_HOSTNAME },
	{ "[imaps]\nhostname = *.*.example.org\n" NEED_ALL, "t.conf:2: hostname: "
	  "\"*.*.example.org\": a wildcard is only \"*.\" at the start, as in *.example.org"
	  BAD_HOSTNAME },
	{ "[imaps]\nhostname = "
	  "a123456789b123456789c123456789d123456789e123456789f123456789abcd.example.org\n" NEED_ALL,
	  "t.conf:2: hostname: "
	  "\"a123456789b123456789c123456789d123456789e123456789f123456789abcd.example.org\": "
	  "a label is longer than 63 bytes" BAD_HOSTNAME },
	{ "[imaps]\nhostname = 192.0.2.256\n" NEED_ALL, "t.conf:2: hostname: \"192.0.2.256\": "
	  "not an IP address, and a DNS name does not end in a number" BAD_HOSTNAME },
	{ "[imaps]\nhostname = 192.0.2\n" NEED_ALL, "t.conf:2: hostname: \"192.0.2\": "
	  "not an IP address, and a DNS name does not end in a number" BAD_HOSTNAME },
	{ "[imaps]\nhostname = 010.0.0.1\n" NEED_ALL, "t.conf:2: hostname: \"010.0.0.1\": "
	  "not an IP address, and a DNS name does not end in a number" BAD_HOSTNAME },
	{ "[imaps]\nhostname = [::1]\n" NEED_ALL, "t.conf:2: hostname: \"[::1]\": bad IPv6 "
	  "address; write it without brackets, prefix length or zone" BAD_HOSTNAME },
	{ "[imaps]\nhostname = fe80::1%eth0\n" NEED_ALL, "t.conf:2: hostname: \"fe80::1%eth0\": "
	  "bad IPv6 address; write it without brackets, prefix length or zone" BAD_HOSTNAME },
	{ "[imaps]\nhostname = 2001:db8::/32\n" NEED_ALL, "t.conf:2: hostname: \"2001:db8::/32\": "
	  "bad IPv6 address; write it without brackets, prefix length or zone" BAD_HOSTNAME },
	{ "[imaps]\nhostname = mail:993\n" NEED_ALL, "t.conf:2: hostname: \"mail:993\": "
	  "bad IPv6 address; write it without brackets, prefix length or zone" BAD_HOSTNAME },
	/* the first bad name ends its line; the next line is checked */
	{ "[imaps]\nhostname = a.example.org b_c.example.org d_e.example.org\n"
	  "hostname = f_g.example.org\n" NEED_ALL,
	  "t.conf:2: hostname: \"b_c.example.org\": only letters, digits, '-' and '.' are allowed"
	  BAD_HOSTNAME "\nt.conf:3: hostname: \"f_g.example.org\": only letters, digits, '-' and "
	  "'.' are allowed" BAD_HOSTNAME },
	/* duplicates, in any spelling, name the line of the first */
	{ "[imaps]\nhostname = mail.example.org\nhostname = MAIL.example.org.\n" NEED_ALL,
	  "t.conf:3: hostname: \"mail.example.org\" given twice, first at line 2; keep one" },
	{ "[imaps]\nhostname = mail.example.org, imap.example.org, Mail.Example.Org\n" NEED_ALL,
	  "t.conf:2: hostname: \"mail.example.org\" given twice, first at line 2; keep one" },
	{ "[imaps]\nhostname = 2001:db8::25\nhostname = imap.example.org 2001:DB8:0::25\n"
	  NEED_ALL, "t.conf:3: hostname: \"2001:db8::25\" given twice, first at line 2; keep one" },
	{ "hostname = mail.example.org\nhostname = mail.example.org\n" MINIMAL "[pop3s]\n" NEED_ALL,
	  "t.conf:2: hostname: \"mail.example.org\" given twice, first at line 1; keep one" },
	{ "hostname = mail.example.org\n[imaps]\nhostname = mail.example.org\n" NEED_ALL
	  "hostname = Mail.example.org\n",
	  "t.conf:7: hostname: \"mail.example.org\" given twice, first at line 3; keep one" },

	/* missing options, reported at the section's header */
	{ "[imaps]\n" NEED_CONNECT_CERT, "t.conf:1: [imaps]: " MISSING_ACCEPT },
	{ "[imaps]\n" NEED_ACCEPT_CERT, "t.conf:1: [imaps]: " MISSING_CONNECT },
	{ "[imaps]\naccept = 993\nconnect = 143\n", "t.conf:1: [imaps]: " MISSING_CERT },
	{ "[imaps]\n", "t.conf:1: [imaps]: " MISSING_ACCEPT "\nt.conf:1: [imaps]: "
	  MISSING_CONNECT "\nt.conf:1: [imaps]: " MISSING_CERT },
	{ MINIMAL "[pop3s]\naccept = 995\ncert = /c.pem\n",
	  "t.conf:5: [pop3s]: " MISSING_CONNECT },

	/* lines */
	{ "[imaps]\nverifyPeer yes\n" NEED_ALL,
	  "t.conf:2: verifyPeer yes: no '=' in the line; expected option = value" },
	{ "[imaps]\naccept: 993\n" NEED_CONNECT_CERT,
	  "t.conf:2: accept: 993: no '=' in the line; expected option = value" },
	{ "[imaps]\n= 993\n" NEED_ALL, "t.conf:2: no option name before '='" },
	{ "[imaps]\ncert = /c.pem\x01\n" NEED_ALL, "t.conf:2: control character 0x01 in the line" },
	{ "[imaps]\n\x7f\n" NEED_ALL, "t.conf:2: control character 0x7f in the line" },
	{ "[imaps]\nciphers = HIGH\rTLS\n" NEED_ALL,
	  "t.conf:2: control character 0x0d in the line" },
	{ "[imaps\n" NEED_ALL, "t.conf:1: [imaps: no ']' at the end of the section header" },
	{ "[imaps] x\n" NEED_ALL, "t.conf:1: [imaps] x: unexpected text after ']'" },
	{ "[]\n" NEED_ALL, "t.conf:1: []: empty section name; write the service name, e.g. [imaps]" },
	{ "[  ]\n" NEED_ALL,
	  "t.conf:1: []: empty section name; write the service name, e.g. [imaps]" },
	{ "", "t.conf: no [service] section; add one, e.g. [imaps] with accept, connect and cert" },
	{ "\n\n; nothing\n",
	  "t.conf: no [service] section; add one, e.g. [imaps] with accept, connect and cert" },
	{ "pid = /run/certwrapd.pid\n" NEED_ALL,
	  "t.conf: no [service] section; add one, e.g. [imaps] with accept, connect and cert" },

	/* every error of the file, in file order, the header errors in place */
	{ "debug = loud\n"                           /*  1 */
	  "[imaps]\n"
	  "accept = 993\n"
	  "connect = 143\n"
	  "cert = /c.pem\n"
	  "verifyPeer = maybe\n"                     /*  6 */
	  "[pop3s]\n"                                /*  7 */
	  "accept = 995\n"
	  "connect = 110\n"
	  "[ssmtp]\n"
	  "accept = 465\n"
	  "connect = 25\n"
	  "cert = /c.pem\n"
	  "TIMEOUTidle = 1h\n"                       /* 14 */
	  "checkIP = 10.0.0.1\n"                     /* 15 */
	  "pid = /run/x.pid\n",                      /* 16 */
	  "t.conf:1: debug: " BAD_LEVEL ", got \"loud\"\n"
	  "t.conf:6: verifyPeer: expected yes or no, got \"maybe\"\n"
	  "t.conf:7: [pop3s]: " MISSING_CERT "\n"
	  "t.conf:14: TIMEOUTidle: expected whole seconds 0-31536000, got \"1h\"\n"
	  "t.conf:15: checkIP: " UNSUPPORTED "\n"
	  "t.conf:16: pid: global option, not allowed in [ssmtp]; move it above the first "
	  "[section]" },
	/* found when the section ends, reported in its place among the others */
	{ "[imaps]\nsslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.2\nverifyPeer = maybe\n"
	  NEED_ALL "[pop3s]\ncert = /c.pem\n",
	  "t.conf:3: sslVersionMax: TLSv1.2 is below sslVersionMin = TLSv1.3 at line 2\n"
	  "t.conf:4: verifyPeer: expected yes or no, got \"maybe\"\n"
	  "t.conf:8: [pop3s]: " MISSING_ACCEPT "\n"
	  "t.conf:8: [pop3s]: " MISSING_CONNECT },
	/* the example of DESIGN.md, at line 14 of a realistic file */
	{ "; certwrapd for the mail server\n"
	  "pid = /run/certwrapd.pid\n"
	  "setuid = certwrap\n"
	  "\n"
	  "[imaps]\n"
	  "accept = 993\n"
	  "connect = 143\n"
	  "cert = /etc/certwrap/mail.pem\n"
	  "\n"
	  "[submissions]\n"
	  "accept = 465\n"
	  "connect = 587\n"
	  "cert = /etc/certwrap/mail.pem\n"
	  "verifyPeer = maybe\n",
	  "t.conf:14: verifyPeer: expected yes or no, got \"maybe\"" },
};

static void
expect_parse_error(const char *what, const char *text, size_t len, const char *want)
{
	struct config cfg;
	struct config_error err;
	unsigned lines = 1;

	memset(&cfg, 0xa5, sizeof(cfg));          /* the parser must not rely on a zeroed cfg */
	if (config_parse_buffer("t.conf", text, len, &cfg, &err) != -1)
		fail_msg("%s: parsed, want the error:\n%s", what, want);
	if (strcmp(err.msg, want) != 0)
		fail_msg("%s:\ngot:\n%s\nwant:\n%s", what, err.msg, want);
	for (const char *c = want; *c; c++)
		lines += *c == '\n';
	assert_int_equal(err.count, lines);
	/* a failed parse leaves nothing behind */
	assert_null(cfg.services);
	assert_int_equal(cfg.n_services, 0);
	assert_null(cfg.file);
	config_free(&cfg);
}

static void
test_errors(void **state)
{
	char what[64];

	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		snprintf(what, sizeof(what), "error case %zu", i);
		expect_parse_error(what, error_cases[i].text, strlen(error_cases[i].text),
		    error_cases[i].want);
	}
}

/* Errors that tables of C strings cannot hold or that need building. */
static void
test_error_nul_byte(void **state)
{
	static const char text[] = "[imaps]\naccept = 993\nconnect = 143\0 ; hidden\ncert = /c.pem\n";

	(void)state;
	/* no "no connect given" for a section with an error: see service_finish() */
	expect_parse_error("NUL byte", text, sizeof(text) - 1,
	    "t.conf:3: NUL byte in the line; is this a text file?");
}

/* "[imaps]" and what it needs, then "ciphers = " and a value of n letters. */
static int
text_with_long_line(char *text, size_t size, size_t n, const char *after)
{
	char value[1024];

	assert_true(n < sizeof(value));
	memset(value, 'A', n);
	value[n] = '\0';
	return snprintf(text, size, "[imaps]\n" NEED_ALL "ciphers = %s%s", value, after);
}

static void
test_error_long_line(void **state)
{
	struct config cfg;
	struct config_error err;
	char text[2048];
	int n;

	(void)state;
	/* 198 bytes and the newline fit inih's 200-byte buffer with its NUL */
	n = text_with_long_line(text, sizeof(text), 188, "\n");
	assert_int_equal(config_parse_buffer("t.conf", text, (size_t)n, &cfg, &err), 0);
	assert_int_equal(strlen(config_find_service(&cfg, "imaps")->ciphers.value), 188);
	config_free(&cfg);
	/* one more byte is refused */
	n = text_with_long_line(text, sizeof(text), 189, "\n");
	expect_parse_error("199 bytes", text, (size_t)n,
	    "t.conf:5: line longer than 199 bytes with its newline; shorten it");
	/* and the tail of a long line is not read as a line of its own */
	n = text_with_long_line(text, sizeof(text), 300, " = tail\nverifyPeer = yes\n");
	expect_parse_error("tail", text, (size_t)n,
	    "t.conf:5: line longer than 199 bytes with its newline; shorten it");
	n = text_with_long_line(text, sizeof(text), 600, "\ncurves = P-384\nverifyPeer = maybe\n");
	expect_parse_error("lines after", text, (size_t)n,
	    "t.conf:5: line longer than 199 bytes with its newline; shorten it\n"
	    "t.conf:7: verifyPeer: expected yes or no, got \"maybe\"");
	/* the same on a last line without a newline */
	n = text_with_long_line(text, sizeof(text), 600, "");
	expect_parse_error("last line", text, (size_t)n,
	    "t.conf:5: line longer than 199 bytes with its newline; shorten it");
	/* CRLF: the carriage return is a byte of the line too */
	n = snprintf(text, sizeof(text), "[imaps]\r\n" NEED_ALL "ciphers = %0188d\r\n", 0);
	expect_parse_error("CRLF", text, (size_t)n,
	    "t.conf:5: line longer than 199 bytes with its newline; shorten it");
}

static void
test_error_too_many_sections(void **state)
{
	size_t size = (CONFIG_MAX_SERVICES + 2) * 80, used = 0;
	char *text = malloc(size);
	char want[256];

	(void)state;
	assert_non_null(text);
	for (unsigned i = 0; i < CONFIG_MAX_SERVICES + 2; i++)
		used += (size_t)snprintf(text + used, size - used,
		    "[s%u]\naccept = %u\nconnect = 143\ncert = /c.pem\n", i, 1000 + i);
	snprintf(want, sizeof(want), "t.conf:%u: [s%u]: more than %d [service] sections",
	    CONFIG_MAX_SERVICES * 4 + 1, CONFIG_MAX_SERVICES, CONFIG_MAX_SERVICES);
	expect_parse_error("too many sections", text, used, want);
	free(text);
}

/* Thousands of errors: all counted, as many shown as fit, then how many not. */
static void
test_error_overflow(void **state)
{
	size_t size = 3000 * 16, used = 0;
	char *text = malloc(size);
	struct config cfg;
	struct config_error err;
	const char *last;

	(void)state;
	assert_non_null(text);
	used += (size_t)snprintf(text, size, MINIMAL);
	for (unsigned i = 0; i < 3000; i++)
		used += (size_t)snprintf(text + used, size - used, "junk%u\n", i);
	assert_int_equal(config_parse_buffer("t.conf", text, used, &cfg, &err), -1);
	assert_int_equal(err.count, 3000);
	assert_true(strlen(err.msg) < sizeof(err.msg));
	assert_non_null(strstr(err.msg, "t.conf:5: junk0: no '=' in the line"));
	last = strrchr(err.msg, '\n');
	assert_non_null(last);
	assert_true(strncmp(last + 1, "t.conf: ", 8) == 0);
	assert_non_null(strstr(last, " more errors not shown"));
	assert_int_equal(cfg.n_services, 0);
	config_free(&cfg);
	free(text);
}

/* control: sun_path holds 107 bytes and the NUL. */
static void
test_control_path_limit(void **state)
{
	struct config cfg;
	struct config_error err;
	char text[512], path[CONFIG_CONTROL_PATH_MAX + 2], want[256];

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[CONFIG_CONTROL_PATH_MAX] = '\0';
	snprintf(text, sizeof(text), "control = %s\n" MINIMAL, path);
	assert_int_equal(config_parse_string("t.conf", text, &cfg, &err), 0);
	assert_string_equal(cfg.control_path.value, path);
	config_free(&cfg);

	path[CONFIG_CONTROL_PATH_MAX] = 'a';
	path[CONFIG_CONTROL_PATH_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "control = %s\n" MINIMAL, path);
	snprintf(want, sizeof(want), "t.conf:1: control: the path is 108 bytes long; a unix "
	    "socket path is at most 107 bytes (sun_path): choose a shorter one");
	expect_parse_error("108 bytes", text, strlen(text), want);
}

/* hostname: CONFIG_MAX_HOSTNAMES per service, in the global section too. */
static void
test_error_too_many_hostnames(void **state)
{
	char text[2048], want[256];
	size_t used = 0;

	(void)state;
	for (unsigned i = 0; i <= CONFIG_MAX_HOSTNAMES; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "hostname = h%u.example.org\n", i);
	snprintf(text + used, sizeof(text) - used, MINIMAL);
	snprintf(want, sizeof(want), "t.conf:%u: hostname: more than %u host names in the global "
	    "section", CONFIG_MAX_HOSTNAMES + 1, CONFIG_MAX_HOSTNAMES);
	expect_parse_error("global", text, strlen(text), want);

	used = (size_t)snprintf(text, sizeof(text), "[imaps]\n" NEED_ALL);
	for (unsigned i = 0; i <= CONFIG_MAX_HOSTNAMES; i += 3)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "hostname = h%u.example.org h%u.example.org, h%u.example.org\n", i, i + 1, i + 2);
	snprintf(want, sizeof(want), "t.conf:15: hostname: more than %u host names in [imaps]",
	    CONFIG_MAX_HOSTNAMES);
	expect_parse_error("service", text, used, want);
}

/* A global certname and a service's cert: each service gets one of them,
 * never both, and the fields of the other stay empty. */
static void
test_cert_or_certname(void **state)
{
	static const char text[] =
		STORE
		"certname = mail\n"                          /* 2 */
		"autoIssue = yes\n"
		"hostname = mail.example.org\n"
		"[imaps]\n" NEED_ACCEPT_CONNECT               /* 5: certname, inherited */
		"[pop3s]\n" NEED_ACCEPT_CONNECT               /* 8 */
		"cert = /etc/certwrap/pop3s.pem\n";          /* 11: cert files instead */
	struct config cfg;
	struct config_error err;
	const struct service_conf *imaps, *pop3s;

	(void)state;
	if (config_parse_string("t.conf", text, &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	imaps = config_find_service(&cfg, "imaps");
	pop3s = config_find_service(&cfg, "pop3s");
	assert_string_equal(imaps->certname.value, "mail");
	assert_null(imaps->cert.value);
	assert_null(imaps->key.value);
	assert_true(imaps->auto_issue);
	assert_null(pop3s->certname.value);
	assert_string_equal(pop3s->cert.value, "/etc/certwrap/pop3s.pem");
	assert_string_equal(pop3s->key.value, "/etc/certwrap/pop3s.pem");
	assert_false(pop3s->auto_issue);
	assert_int_equal(pop3s->n_hostnames, 1);            /* files must cover the names too */
	assert_string_equal(pop3s->hostnames[0], "mail.example.org");
	assert_int_equal(pop3s->hostname_line, 4);
	assert_string_equal(cfg.certstore_dir.value, "/var/lib/certwrap");
	assert_null(cfg.control_path.value);
	config_free(&cfg);
}

/* --- files ------------------------------------------------------------------------------ */

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_parse_file(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[64], want[256];
	struct config cfg;
	struct config_error err;
	char *big;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/certwrapd.conf", dir);

	assert_int_equal(config_parse_file(path, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.count, 1);
	config_free(&cfg);

	write_file(path, debian_stunnel_conf, strlen(debian_stunnel_conf));
	assert_int_equal(config_parse_file(path, &cfg, &err), 0);
	assert_string_equal(cfg.file, path);
	assert_int_equal(cfg.n_services, 3);
	config_free(&cfg);

	write_file(path, "[imaps]\naccept = 993\n\0\n", 23);
	assert_int_equal(config_parse_file(path, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s:3: NUL byte in the line; is this a text file?", path);
	assert_string_equal(err.msg, want);

	/* exactly the limit is read (and refused for its content), one more byte is not */
	big = malloc(CONFIG_MAX_FILE_BYTES + 1);
	assert_non_null(big);
	memset(big, '\n', CONFIG_MAX_FILE_BYTES + 1);
	write_file(path, big, CONFIG_MAX_FILE_BYTES);
	assert_int_equal(config_parse_file(path, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: no [service] section; add one, e.g. [imaps] with "
	    "accept, connect and cert", path);
	assert_string_equal(err.msg, want);
	write_file(path, big, CONFIG_MAX_FILE_BYTES + 1);
	assert_int_equal(config_parse_file(path, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: larger than %d bytes; is this the configuration file?",
	    path, CONFIG_MAX_FILE_BYTES);
	assert_string_equal(err.msg, want);
	free(big);

	assert_int_equal(config_parse_file(dir, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", dir);
	assert_string_equal(err.msg, want);

	unlink(path);
	rmdir(dir);
}

/* --- the API around the parser ---------------------------------------------------------- */

static void
test_api(void **state)
{
	struct config cfg;
	struct config_error err;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);                  /* a zeroed config */
	config_free(NULL);

	assert_int_equal(config_parse_string("t.conf", MINIMAL "[pop3s]\n" NEED_ALL, &cfg, &err), 0);
	assert_int_equal(cfg.n_services, 2);
	assert_string_equal(cfg.services[0].name, "imaps");      /* file order */
	assert_string_equal(cfg.services[1].name, "pop3s");
	assert_ptr_equal(config_find_service(&cfg, "pop3s"), &cfg.services[1]);
	assert_null(config_find_service(&cfg, "smtps"));
	assert_null(config_find_service(&cfg, "IMAPS"));         /* names are exact */
	assert_int_equal(cfg.services[0].set_mask,
	    config_option_bit(config_options_find("accept")) |
	    config_option_bit(config_options_find("connect")) |
	    config_option_bit(config_options_find("cert")));
	config_free(&cfg);
	assert_null(cfg.services);
	config_free(&cfg);                  /* twice */

	assert_int_equal(config_parse_string("t.conf", MINIMAL, &cfg, NULL), 0);   /* err optional */
	config_free(&cfg);
	assert_int_equal(config_parse_string("t.conf", "", &cfg, NULL), -1);

	assert_string_equal(config_tls_version_name(0), "all");
	assert_string_equal(config_tls_version_name(0x0301), "TLSv1");
	assert_string_equal(config_tls_version_name(0x0302), "TLSv1.1");
	assert_string_equal(config_tls_version_name(0x0303), "TLSv1.2");
	assert_string_equal(config_tls_version_name(0x0304), "TLSv1.3");
	assert_string_equal(config_tls_version_name(0x0300), "?");
}

/* --- coverage of the table ---------------------------------------------------------------- */

/* Every option has a value case and a default case here. */
static void
test_every_option_is_tested(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_options_count; i++) {
		const char *name = config_options[i].name;
		bool valued = false, defaulted = false;

		for (size_t j = 0; j < sizeof(value_cases) / sizeof(value_cases[0]); j++)
			valued |= strcmp(value_cases[j].option, name) == 0 &&
			    strstr(value_cases[j].text, name) != NULL;
		for (size_t j = 0; j < sizeof(default_cases) / sizeof(default_cases[0]); j++)
			defaulted |= strcmp(default_cases[j].option, name) == 0;
		if (!valued || !defaulted)
			fail_msg("option %s lacks a %s case", name, valued ? "default" : "value");
	}
}

/* Every unsupported stunnel option is refused with its message. */
static void
test_every_unsupported_option_is_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_unsupported_count; i++) {
		const struct config_unsupported *u = &config_unsupported[i];
		char name[64], text[256], want[512];
		size_t len = strlen(u->name);

		/* "OCSP*" stands for any name that begins so */
		snprintf(name, sizeof(name), "%.*s%s", (int)len - (u->name[len - 1] == '*'), u->name,
		    u->name[len - 1] == '*' ? "Anything" : "");
		snprintf(text, sizeof(text), MINIMAL "%s = 1\n", name);
		snprintf(want, sizeof(want), "t.conf:5: %s: %s", name,
		    u->advise ? u->advise("1") : u->message ? u->message : UNSUPPORTED);
		expect_parse_error(name, text, strlen(text), want);
		assert_null(config_options_find(name));
	}
}

/* Every option and every refused stunnel option is in certwrapd.conf(5). */
static void
test_man_page_documents_every_option(void **state)
{
	FILE *f = fopen("proxy/certwrapd.conf.5", "r");
	static char page[256 * 1024];
	size_t len;
	char needle[128];

	(void)state;
	if (f == NULL)
		fail_msg("proxy/certwrapd.conf.5: cannot open (run from the source tree)");
	len = fread(page, 1, sizeof(page) - 1, f);
	page[len] = '\0';
	fclose(f);
	for (size_t i = 0; i < config_options_count; i++) {
		/* each option is a .TP paragraph tagged "\fBname\fR = syntax" */
		snprintf(needle, sizeof(needle), "\n.TP\n\\fB%s\\fR = ", config_options[i].name);
		if (strstr(page, needle) == NULL)
			fail_msg("certwrapd.conf.5 has no paragraph for %s", config_options[i].name);
	}
	for (size_t i = 0; i < config_unsupported_count; i++) {
		size_t n = strlen(config_unsupported[i].name);

		bool prefix = config_unsupported[i].name[n - 1] == '*';

		snprintf(needle, sizeof(needle), "\\fB%.*s%s", (int)(n - prefix),
		    config_unsupported[i].name, prefix ? "" : "\\fR");
		if (strstr(page, needle) == NULL)
			fail_msg("certwrapd.conf.5 does not name the unsupported %s",
			    config_unsupported[i].name);
	}
}

/* The options the table relates (alternative_to, required_unless) are rows
 * of the same scope: config.c aborts on a name it cannot find. */
static void
test_option_relations_name_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_options_count; i++) {
		const struct config_option *opt = &config_options[i];
		const char *names[] = { opt->alternative_to[0], opt->alternative_to[1],
			opt->required_unless };

		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			const struct config_option *other;

			if (names[k] == NULL)
				continue;
			if ((other = config_options_find(names[k])) == NULL)
				fail_msg("%s names %s, which is no option", opt->name, names[k]);
			assert_int_equal(other->scope, opt->scope);
			assert_ptr_not_equal(other, opt);
		}
		if (opt->required_unless != NULL)
			assert_true(opt->flags & OPT_REQUIRED);
	}
}

static void
test_suggestions(void **state)
{
	(void)state;
	assert_string_equal(config_options_suggest("verifyPeeer"), "verifyPeer");
	assert_string_equal(config_options_suggest("VERIFYPER"), "verifyPeer");
	assert_string_equal(config_options_suggest("acept"), "accept");
	assert_string_equal(config_options_suggest("conect"), "connect");
	assert_string_equal(config_options_suggest("sslversionmn"), "sslVersionMin");
	assert_string_equal(config_options_suggest("kye"), "key");
	assert_string_equal(config_options_suggest("certs"), "cert");
	assert_null(config_options_suggest("listen"));
	assert_string_equal(config_options_suggest("ke"), "key");
	assert_null(config_options_suggest("kxx"));              /* two slips in a short name */
	assert_null(config_options_suggest("timeout"));
	assert_null(config_options_suggest(""));
	assert_null(config_options_suggest("a_name_far_longer_than_any_option_name_at_all_"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_nul_byte),
		cmocka_unit_test(test_error_long_line),
		cmocka_unit_test(test_error_too_many_sections),
		cmocka_unit_test(test_error_overflow),
		cmocka_unit_test(test_control_path_limit),
		cmocka_unit_test(test_error_too_many_hostnames),
		cmocka_unit_test(test_cert_or_certname),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_every_option_is_tested),
		cmocka_unit_test(test_every_unsupported_option_is_refused),
		cmocka_unit_test(test_man_page_documents_every_option),
		cmocka_unit_test(test_option_relations_name_rows),
		cmocka_unit_test(test_suggestions),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
