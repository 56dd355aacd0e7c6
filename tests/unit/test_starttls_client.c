/* test_starttls_client.c: proxy/starttls_client.c, client mode's STARTTLS.
 *
 * Each case is a dialogue: what the upstream sends, one recv at a time, and
 * for each what the dialogue must answer (the command to send, or the final
 * verdict and reason), then the greeting the client is given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/starttls_client.h"

#define STEPS_MAX 6

struct step {
	const char *recv;                 /* NULL: end of the case */
	enum starttls_client_status want;
	const char *out;                  /* STC_SEND: the command; STC_FAILED: the reason */
};

struct dialogue_case {
	const char *name;
	enum service_protocol protocol;
	struct step steps[STEPS_MAX];
	const char *greeting;             /* for STC_DONE cases */
};

static const struct dialogue_case cases[] = {
	{ "smtp", PROTOCOL_SMTP, {
		{ "220 mx.example.org ESMTP\r\n", STC_SEND, "EHLO relay.example.org\r\n" },
		{ "250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS\r\n", STC_SEND, "STARTTLS\r\n" },
		{ "220 2.0.0 go ahead\r\n", STC_DONE, NULL } },
	  "220 mx.example.org ESMTP\r\n" },
	{ "smtp multi-line greeting, lines cut anywhere", PROTOCOL_SMTP, {
		{ "220-mx.example.org\r\n22", STC_READ, NULL },
		{ "0 ESMTP\n", STC_SEND, "EHLO relay.example.org\r\n" },
		{ "250-mx\r\n250-starttls\r", STC_READ, NULL },
		{ "\n250 8BITMIME\r\n", STC_SEND, "STARTTLS\r\n" },
		{ "220 go\r\n", STC_DONE, NULL } },
	  "220-mx.example.org\r\n220 ESMTP\r\n" },
	{ "smtp without STARTTLS", PROTOCOL_SMTP, {
		{ "220 mx\r\n", STC_SEND, "EHLO relay.example.org\r\n" },
		{ "250-mx\r\n250-STARTTLSX\r\n250 SIZE\r\n", STC_FAILED,
		  "upstream does not offer STARTTLS in its EHLO reply" } }, NULL },
	{ "smtp busy", PROTOCOL_SMTP, {
		{ "554 5.3.2 busy\r\n", STC_FAILED, "upstream greeting is not 220: \"554 5.3.2 busy\"" } }, NULL },
	{ "smtp STARTTLS refused", PROTOCOL_SMTP, {
		{ "220 mx\r\n", STC_SEND, "EHLO relay.example.org\r\n" },
		{ "250 STARTTLS\r\n", STC_SEND, "STARTTLS\r\n" },
		{ "454 4.7.0 TLS not available\r\n", STC_FAILED,
		  "upstream refused STARTTLS: \"454 4.7.0 TLS not available\"" } }, NULL },
	{ "smtp plaintext injected after 220", PROTOCOL_SMTP, {
		{ "220 mx\r\n", STC_SEND, "EHLO relay.example.org\r\n" },
		{ "250 STARTTLS\r\n", STC_SEND, "STARTTLS\r\n" },
		{ "220 go\r\n250 injected\r\n", STC_FAILED,
		  "upstream sent more than its reply before the TLS handshake" } }, NULL },
	{ "smtp reply before the command", PROTOCOL_SMTP, {
		{ "220 mx\r\n250 STARTTLS\r\n", STC_FAILED,
		  "upstream sent more than its reply before the next command" } }, NULL },
	{ "smtp garbage", PROTOCOL_SMTP, {
		{ "HTTP/1.1 400 Bad Request\r\n", STC_FAILED,
		  "upstream sent no SMTP reply: \"HTTP/1.1 400 Bad Request\"" } }, NULL },
	{ "imap", PROTOCOL_IMAP, {
		{ "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n", STC_SEND,
		  "a001 STARTTLS\r\n" },
		{ "* CAPABILITY IMAP4rev1 STARTTLS\r\n", STC_READ, NULL },
		{ "a001 OK Begin TLS negotiation now.\r\n", STC_DONE, NULL } },
	  "* OK Dovecot ready.\r\n" },
	{ "imap greeting without capabilities", PROTOCOL_IMAP, {
		{ "* OK IMAP4rev1 ready\r\n", STC_SEND, "a001 STARTTLS\r\n" },
		{ "a001 ok\r\n", STC_DONE, NULL } },
	  "* OK IMAP4rev1 ready\r\n" },
	{ "imap PREAUTH", PROTOCOL_IMAP, {
		{ "* PREAUTH logged in\r\n", STC_FAILED,
		  "upstream greeting is PREAUTH, which rules out STARTTLS: \"* PREAUTH logged in\"" } }, NULL },
	{ "imap NO", PROTOCOL_IMAP, {
		{ "* OK hi\r\n", STC_SEND, "a001 STARTTLS\r\n" },
		{ "a001 NO not now\r\n", STC_FAILED, "upstream refused STARTTLS: \"a001 NO not now\"" } }, NULL },
	{ "imap BYE", PROTOCOL_IMAP, {
		{ "* OK hi\r\n", STC_SEND, "a001 STARTTLS\r\n" },
		{ "* BYE shutting down\r\n", STC_FAILED, "upstream said BYE: \"* BYE shutting down\"" } }, NULL },
	{ "pop3", PROTOCOL_POP3, {
		{ "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n", STC_SEND, "STLS\r\n" },
		{ "+OK Begin TLS\r\n", STC_DONE, NULL } },
	  "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n" },
	{ "pop3 STLS refused", PROTOCOL_POP3, {
		{ "+OK ready\r\n", STC_SEND, "STLS\r\n" },
		{ "-ERR command not understood\r\n", STC_FAILED,
		  "upstream refused STLS: \"-ERR command not understood\"" } }, NULL },
	{ "pop3 control characters shown as ?", PROTOCOL_POP3, {
		{ "-ERR \x1b[31mred\r\n", STC_FAILED, "upstream greeting is not +OK: \"-ERR ?[31mred\"" } }, NULL },
};

static void
run_case(const struct dialogue_case *c)
{
	struct starttls_client s;
	enum starttls_client_status st = STC_READ;
	size_t len;
	const char *greeting;

	starttls_client_init(&s, c->protocol, "relay.example.org");
	for (size_t i = 0; i < STEPS_MAX && c->steps[i].recv != NULL; i++) {
		const struct step *step = &c->steps[i];

		st = starttls_client_feed(&s, step->recv, strlen(step->recv));
		if (st != step->want)
			fail_msg("%s, step %zu: status %d, want %d (reason \"%s\")", c->name, i, st,
			    step->want, s.reason);
		if (st == STC_SEND) {
			char out[sizeof(s.out) + 1];

			memcpy(out, s.out, s.out_len);
			out[s.out_len] = '\0';
			assert_string_equal(out, step->out);
		}
		if (st == STC_FAILED)
			assert_string_equal(s.reason, step->out);
	}
	if (st == STC_DONE) {
		greeting = starttls_client_greeting(&s, &len);
		assert_int_equal(len, strlen(c->greeting));
		assert_memory_equal(greeting, c->greeting, len);
		/* a verdict is final */
		assert_int_equal(starttls_client_feed(&s, "x\r\n", 3), STC_DONE);
	}
}

static void
test_dialogues(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

static void
test_line_and_count_limits(void **state)
{
	struct starttls_client s;
	static char long_line[STARTTLS_CLIENT_LINE_MAX + 2];
	char line[32];
	enum starttls_client_status st = STC_READ;

	(void)state;
	memset(long_line, 'a', sizeof(long_line));
	starttls_client_init(&s, PROTOCOL_SMTP, NULL);
	assert_int_equal(starttls_client_feed(&s, long_line, sizeof(long_line)), STC_FAILED);
	assert_string_equal(s.reason, "upstream line longer than 2048 bytes");

	starttls_client_init(&s, PROTOCOL_IMAP, NULL);
	assert_int_equal(starttls_client_feed(&s, "* OK hi\r\n", 9), STC_SEND);
	for (unsigned i = 0; i < STARTTLS_CLIENT_LINES_MAX && st == STC_READ; i++) {
		snprintf(line, sizeof(line), "* %u EXISTS\r\n", i);
		st = starttls_client_feed(&s, line, strlen(line));
	}
	assert_int_equal(st, STC_FAILED);
	assert_string_equal(s.reason, "upstream sent more than 128 lines before TLS");

	starttls_client_init(&s, PROTOCOL_POP3, NULL);
	assert_int_equal(starttls_client_feed(&s, "+OK\0\r\n", 6), STC_FAILED);
	assert_string_equal(s.reason, "upstream sent a NUL byte (within 2048 bytes of a line)");
}

static void
test_ehlo_name(void **state)
{
	struct starttls_client s;

	(void)state;
	starttls_client_init(&s, PROTOCOL_SMTP, "bad name!");
	assert_int_equal(starttls_client_feed(&s, "220 mx\r\n", 8), STC_SEND);
	assert_memory_equal(s.out, "EHLO localhost\r\n", s.out_len);
	starttls_client_init(&s, PROTOCOL_SMTP, NULL);
	assert_int_equal(starttls_client_feed(&s, "220 mx\r\n", 8), STC_SEND);
	assert_memory_equal(s.out, "EHLO localhost\r\n", s.out_len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialogues),
		cmocka_unit_test(test_line_and_count_limits),
		cmocka_unit_test(test_ehlo_name),
	};

	return cmocka_run_group_tests_name("starttls_client", tests, NULL, NULL);
}
