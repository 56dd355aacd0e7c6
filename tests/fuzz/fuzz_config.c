/* fuzz_config.c: the config parser on any bytes.
 *
 * Each input is parsed twice: as bytes with a length (NUL bytes inside, and no
 * terminator after the end, so ASan sees any read past it) and as the C
 * string config_parse_string() gets. Besides crashes and leaks, the
 * parser's promises are checked: a success is a complete config, a failure
 * an empty one with at least one well-formed error line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void
check_service(const struct service_conf *s)
{
	REQUIRE(s->name != NULL && s->line > 0);
	REQUIRE(s->accept.port != NULL && s->accept.line > 0);
	REQUIRE(s->n_connect >= 1 && s->n_connect <= CONFIG_MAX_CONNECT);
	for (unsigned i = 0; i < s->n_connect; i++)
		REQUIRE(s->connect[i].port != NULL && s->connect[i].line > 0);
	/* cert files or a certname, never both; autoIssue and renewBefore only with certname */
	if (s->certname.value != NULL)
		REQUIRE(s->cert.value == NULL && s->key.value == NULL);
	else
		REQUIRE(s->cert.value != NULL && s->key.value != NULL && !s->auto_issue &&
		    s->renew_before_s == 0);
	REQUIRE(s->renew_before_s >= 0 && s->renew_before_s <= CONFIG_MAX_RENEW_BEFORE_S);
	REQUIRE(s->n_hostnames <= CONFIG_MAX_HOSTNAMES);
	for (unsigned i = 0; i < s->n_hostnames; i++)
		REQUIRE(s->hostnames[i] != NULL && s->hostname_lines[i] > 0);
	REQUIRE(!(s->verify_chain || s->verify_peer) || s->require_cert);
	REQUIRE(s->tls_version_min == 0 || s->tls_version_max == 0 ||
	    s->tls_version_min <= s->tls_version_max);
	REQUIRE(s->timeout_idle_s <= CONFIG_MAX_TIMEOUT_S);
	REQUIRE(s->ciphers.value != NULL && s->ciphersuites.value != NULL &&
	    s->curves.value != NULL);
}

static void
check_result(int rc, const struct config *cfg, const struct config_error *err)
{
	size_t len = strnlen(err->msg, sizeof(err->msg));

	REQUIRE(len < sizeof(err->msg));
	if (rc == 0) {
		REQUIRE(err->count == 0 && len == 0);
		REQUIRE(cfg->n_services >= 1 && cfg->n_services <= CONFIG_MAX_SERVICES);
		REQUIRE(cfg->file != NULL && cfg->log_level >= 0 && cfg->log_level <= 7);
		for (unsigned i = 0; i < cfg->n_services; i++)
			check_service(&cfg->services[i]);
		return;
	}
	REQUIRE(rc == -1);
	REQUIRE(err->count >= 1 && len > 0 && err->msg[len - 1] != '\n');
	REQUIRE(strncmp(err->msg, "fuzz.conf", 9) == 0);
	REQUIRE(cfg->services == NULL && cfg->n_services == 0 && cfg->file == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct config_error err;
	char *text;
	int rc;

	if (size > CONFIG_MAX_FILE_BYTES)
		return 0;
	rc = config_parse_buffer("fuzz.conf", (const char *)data, size, &cfg, &err);
	check_result(rc, &cfg, &err);
	config_free(&cfg);

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = config_parse_string("fuzz.conf", text, &cfg, &err);
	check_result(rc, &cfg, &err);
	config_free(&cfg);
	free(text);
	return 0;
}
