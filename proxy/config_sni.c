/* config_sni.c: secondary services, stunnel's sni = PRIMARY:PATTERN.
 *
 * In a server service, sni names the primary service whose accept this
 * one shares: a client of the primary whose server name matches PATTERN
 * (or, without a pattern, a DNS name of this service's certificate) is
 * served this service's certificate and relayed to this service's backend,
 * or without a connect of its own to the primary's: then the secondary is
 * just one more certificate of its primary.
 * Whether sni means that or the name a client-mode service sends is known
 * only once `client` is settled, so the checks run after the last section,
 * where every primary can be looked up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/config_internal.h"

#define SNI_PATTERN_MAX 254               /* a 253-byte name and its final dot */

bool
config_sni_is_secondary(const struct service_conf *s)
{
	return s->sni.value != NULL && !s->client;
}

/* A line of s's own section, not one inherited from the global section. */
static bool
own_line(const struct service_conf *s, unsigned line)
{
	return line > s->line;
}

/* The TLS handshake of a secondary's connection starts under its
 * primary's context; only the certificate changes with the server name. */
static void
refuse_tls_settings(struct config_parser *p, const struct service_conf *s,
    const struct service_conf *primary)
{
	const struct { const char *option; unsigned line; } own[] = {
		{ "verifyChain/verifyPeer/requireCert", s->verify_line },
		{ "CRLfile", s->crl_file.line },
		{ "sslVersionMin", s->tls_version_min_line },
		{ "sslVersionMax", s->tls_version_max_line },
		{ "ciphers", s->ciphers.line },
		{ "ciphersuites", s->ciphersuites.line },
		{ "curves", s->curves.line },
	};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (own_line(s, own[i].line))
			config_parser_fail(p, own[i].line, own[i].option, "[%s] is a secondary of "
			    "[%s], whose TLS settings its connections use; set this in [%s] or remove "
			    "this line", s->name, primary->name, primary->name);
}

/* PATTERN in lower case without a final dot into out, or why it is no name. */
static const char *
pattern_canonical(const char *pattern, char *out, size_t size)
{
	size_t len = strlen(pattern);

	if (len == 0)
		return "no pattern after ':'";
	if (len >= size)
		return "longer than 253 bytes";
	for (size_t i = 0; i <= len; i++)
		out[i] = (pattern[i] >= 'A' && pattern[i] <= 'Z') ? (char)(pattern[i] - 'A' + 'a')
		    : pattern[i];
	if (len > 1 && out[len - 1] == '.')
		out[len - 1] = '\0';
	return config_options_dns_name_problem(out);
}

/* The secondary of primary already serving pattern, or NULL. */
static const struct service_conf *
pattern_owner(const struct config *cfg, const struct service_conf *primary, const char *pattern)
{
	for (unsigned i = 0; i < cfg->n_services; i++) {
		const struct service_conf *o = &cfg->services[i];

		if (o->sni_primary != NULL && strcmp(o->sni_primary, primary->name) == 0 &&
		    o->sni_pattern != NULL && strcmp(o->sni_pattern, pattern) == 0)
			return o;
	}
	return NULL;
}

/* The primary s names, checked; NULL after reporting why not. */
static struct service_conf *
primary_of(struct config_parser *p, struct config *cfg, const struct service_conf *s,
    const char *name)
{
	struct service_conf *primary = NULL;

	for (unsigned i = 0; i < cfg->n_services && primary == NULL; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			primary = &cfg->services[i];
	if (primary == NULL)
		config_parser_fail(p, s->sni.line, "sni", "no service [%s] in this file; name the "
		    "[section] whose accept [%s] shares, as in sni = imaps:mail.example.org", name,
		    s->name);
	else if (primary == s)
		config_parser_fail(p, s->sni.line, "sni", "[%s] cannot be its own primary; name "
		    "the service whose accept it shares", s->name);
	else if (primary->client)
		config_parser_fail(p, s->sni.line, "sni", "[%s] is in client mode (line %u); a "
		    "primary must be a TLS server service", name, primary->client_line);
	else if (config_sni_is_secondary(primary))
		config_parser_fail(p, s->sni.line, "sni", "[%s] is itself a secondary (sni at "
		    "line %u); name the service with the accept", name, primary->sni.line);
	else if (primary->protocol != PROTOCOL_NONE && s->n_connect > 0)
		/* STARTTLS talks to the backend before the client names a server */
		config_parser_fail(p, s->sni.line, "sni", "[%s] speaks STARTTLS (protocol, line "
		    "%u), so its backend is connected before the client names a server: [%s] "
		    "may bring a certificate but not a connect of its own; remove its connect",
		    name, primary->protocol_line, s->name);
	else
		return primary;
	return NULL;
}

/* One secondary: "PRIMARY" or "PRIMARY:PATTERN". */
static void
check_secondary(struct config_parser *p, struct config *cfg, struct service_conf *s)
{
	char name[256], pattern[SNI_PATTERN_MAX + 1];
	const char *colon = strchr(s->sni.value, ':'), *why;
	size_t name_len = colon ? (size_t)(colon - s->sni.value) : strlen(s->sni.value);
	const struct service_conf *owner;
	struct service_conf *primary;

	if (name_len == 0 || name_len >= sizeof(name)) {
		config_parser_fail(p, s->sni.line, "sni", "expected PRIMARY[:PATTERN], the [section] "
		    "name of the primary service and a server name, got \"%s\"", s->sni.value);
		return;
	}
	memcpy(name, s->sni.value, name_len);
	name[name_len] = '\0';
	if (colon != NULL && (why = pattern_canonical(colon + 1, pattern, sizeof(pattern)))) {
		config_parser_fail(p, s->sni.line, "sni", "\"%s\": %s; expected a server name such "
		    "as mail.example.org or *.example.org", colon + 1, why);
		return;
	}
	if ((primary = primary_of(p, cfg, s, name)) == NULL)
		return;
	if (own_line(s, s->accept.line))
		config_parser_fail(p, s->accept.line, "accept", "[%s] is a secondary of [%s] (sni "
		    "at line %u) and shares its accept; remove this line", s->name, name,
		    s->sni.line);
	refuse_tls_settings(p, s, primary);
	if (s->n_connect == 0 && own_line(s, s->proxy_header_line))
		config_parser_fail(p, s->proxy_header_line, "proxyProtocol", "[%s] has no connect "
		    "and relays like [%s]; set this in [%s], or give [%s] a connect", s->name, name,
		    name, s->name);
	if (colon != NULL && (owner = pattern_owner(cfg, primary, pattern)) != NULL) {
		config_parser_fail(p, s->sni.line, "sni", "[%s] already has a secondary for %s: "
		    "[%s] (line %u); keep one", name, pattern, owner->name, owner->sni.line);
		return;
	}
	if ((s->sni_primary = config_parser_strdup(p, name)) == NULL ||
	    (colon != NULL && (s->sni_pattern = config_parser_strdup(p, pattern)) == NULL))
		return;
	primary->n_sni_secondaries++;
}

/* Client certificates are checked under the context that ends up serving
 * the handshake; keeping one policy per accept is not done yet. */
static void
refuse_client_certificates(struct config_parser *p, const struct config *cfg)
{
	for (unsigned i = 0; i < cfg->n_services; i++) {
		const struct service_conf *s = &cfg->services[i];

		if (s->n_sni_secondaries > 0 && s->require_cert)
			config_parser_fail(p, s->verify_line ? s->verify_line : s->line,
			    "verifyChain/verifyPeer/requireCert", "[%s] has SNI secondaries; client "
			    "certificates cannot be combined with them yet: remove the secondaries or "
			    "the client certificate check", s->name);
	}
}

void
config_sni_check(struct config_parser *p, struct config *cfg)
{
	bool global_reported = false;

	for (unsigned i = 0; i < cfg->n_services; i++) {
		struct service_conf *s = &cfg->services[i];

		if (!config_sni_is_secondary(s))
			continue;
		if (!own_line(s, s->sni.line)) {
			/* one line, one message, however many services inherit it */
			if (!global_reported)
				config_parser_fail(p, s->sni.line, "sni", "in the global section, it "
				    "would make every server service a secondary; give sni = "
				    "PRIMARY:PATTERN in each secondary's own section");
			global_reported = true;
			continue;
		}
		check_secondary(p, cfg, s);
	}
	refuse_client_certificates(p, cfg);
}
