/* lg_tally.c: counting failures by kind and by reason, so that none is lost.
 *
 * The kinds are fixed (enum lg_fail); the reasons are free text ("handshake:
 * wrong version number"), kept in a small table: the first LG_REASONS_MAX
 * distinct ones with their counts, any further ones in reasons_other. */
#include <stdio.h>
#include <string.h>

#include "bench/lib/lg.h"

static const char *const fail_names[FAIL_KINDS] = {
	[FAIL_CONNECT_REFUSED] = "connect_refused",
	[FAIL_CONNECT] = "connect_error",
	[FAIL_TIMEOUT] = "timeout",
	[FAIL_HANDSHAKE] = "handshake",
	[FAIL_SHORT_ECHO] = "short_echo",
	[FAIL_ECHO_MISMATCH] = "echo_mismatch",
	[FAIL_RESET] = "reset",
	[FAIL_CLOSED] = "closed",
	[FAIL_TLS] = "tls",
	[FAIL_LOCAL] = "local",
};

const char *
lg_fail_name(enum lg_fail kind)
{
	return kind < FAIL_KINDS ? fail_names[kind] : "?";
}

void
lg_tally_fail(struct lg_tally *t, enum lg_fail kind, const char *detail)
{
	char text[LG_REASON_LEN];

	t->fail[kind]++;
	snprintf(text, sizeof(text), "%s: %s", lg_fail_name(kind), detail ? detail : "-");
	for (size_t i = 0; i < LG_REASONS_MAX; i++) {
		struct lg_reason *r = &t->reasons[i];

		if (r->count == 0) {
			memcpy(r->text, text, sizeof(text));
			r->count = 1;
			return;
		}
		if (strcmp(r->text, text) == 0) {
			r->count++;
			return;
		}
	}
	t->reasons_other++;
}

uint64_t
lg_tally_failures(const struct lg_tally *t)
{
	uint64_t n = 0;

	for (int k = 0; k < FAIL_KINDS; k++)
		n += t->fail[k];
	return n;
}
