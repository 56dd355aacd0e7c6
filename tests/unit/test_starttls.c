/* test_starttls.c: proxy/starttls.c and its protocol rules (starttls_smtp.c,
 * starttls_imap.c, starttls_pop3.c), without sockets.
 *
 * Each test feeds the engine the bytes a client and a backend would send, in
 * the order they would arrive, and compares what it queues for each side
 * (and, after TLS, what the filter lets through) with the exact bytes a
 * person expects from the RFCs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/limits.h"
#include "proxy/starttls.h"

#define OUT_MAX (2 * STARTTLS_OUT_BYTES)

/* Commits all of bytes from side (as reads of whatever room there is) and
 * steps after each; returns the last event. */
static enum starttls_event
feed_n(struct starttls *st, enum starttls_side side, const char *bytes, size_t len)
{
	enum starttls_event ev = starttls_step(st);

	while (len > 0) {
		size_t room;
		char *space = starttls_in_space(st, side, &room);

		if (room == 0)
			break;
		if (room > len)
			room = len;
		memcpy(space, bytes, room);
		starttls_in_commit(st, side, room);
		bytes += room;
		len -= room;
		ev = starttls_step(st);
	}
	return ev;
}

static enum starttls_event
feed(struct starttls *st, enum starttls_side side, const char *bytes)
{
	return feed_n(st, side, bytes, strlen(bytes));
}

/* What is queued for side, as a string; consumed. */
static const char *
take(struct starttls *st, enum starttls_side side)
{
	static char buf[OUT_MAX + 1];
	size_t len;
	const char *out = starttls_out(st, side, &len);

	assert_true(len <= OUT_MAX);
	memcpy(buf, out, len);
	buf[len] = '\0';
	starttls_out_consume(st, side, len);
	return buf;
}

/* The filter on text, one byte at a time or all at once. */
static const char *
filter(struct starttls *st, const char *text, bool bytewise)
{
	static char out[OUT_MAX];
	static char buf[OUT_MAX + 1];
	size_t o = 0, n = strlen(text);

	if (bytewise) {
		for (size_t i = 0; i < n; i++)
			o += starttls_filter(st, text + i, 1, out + o, sizeof(out) - o);
	} else {
		o = starttls_filter(st, text, n, out, sizeof(out));
	}
	memcpy(buf, out, o);
	buf[o] = '\0';
	return buf;
}

/* --- SMTP ------------------------------------------------------------------------- */

static struct starttls *
smtp_greeted(bool require_tls)
{
	struct starttls *st = starttls_new(PROTOCOL_SMTP, require_tls);

	assert_non_null(st);
	assert_int_equal(feed(st, ST_BACKEND, "220 mx.example ESMTP\r\n"), ST_CONTINUE);
	assert_string_equal(take(st, ST_CLIENT), "220 mx.example ESMTP\r\n");
	return st;
}

static const char ehlo_reply[] =
    "250-mx.example greets c\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"
    "250-AUTH=LOGIN\r\n250 8BITMIME\r\n";

static void
test_smtp_ehlo_reply_gets_starttls_last_and_loses_auth(void **state)
{
	struct starttls *st = smtp_greeted(true);

	(void)state;
	feed(st, ST_CLIENT, "EHLO c\r\n");
	assert_string_equal(take(st, ST_BACKEND), "EHLO c\r\n");
	feed(st, ST_BACKEND, ehlo_reply);
	assert_string_equal(take(st, ST_CLIENT), "250-mx.example greets c\r\n250-PIPELINING\r\n"
	    "250-8BITMIME\r\n250 STARTTLS\r\n");
	starttls_free(st);

	/* requireTLS = no keeps AUTH; a one-line reply grows a second line */
	st = smtp_greeted(false);
	feed(st, ST_CLIENT, "EHLO c\r\n");
	feed(st, ST_BACKEND, ehlo_reply);
	assert_string_equal(take(st, ST_CLIENT), "250-mx.example greets c\r\n250-PIPELINING\r\n"
	    "250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
	feed(st, ST_CLIENT, "EHLO again\r\n");
	feed(st, ST_BACKEND, "250 mx.example\r\n");
	assert_string_equal(take(st, ST_CLIENT), "250-mx.example\r\n250 STARTTLS\r\n");
	starttls_free(st);
}

static void
test_smtp_pipelined_commands_are_answered_in_order(void **state)
{
	struct starttls *st = smtp_greeted(true);

	(void)state;
	/* one write: EHLO is relayed, MAIL refused, STARTTLS accepted, RSET dropped */
	assert_int_equal(feed(st, ST_CLIENT, "EHLO c\r\nMAIL FROM:<a@b>\r\nSTARTTLS\r\nRSET\r\n"),
	    ST_CONTINUE);
	assert_string_equal(take(st, ST_BACKEND), "EHLO c\r\n");
	assert_string_equal(take(st, ST_CLIENT), "");        /* waits for EHLO's reply */
	assert_int_equal(feed(st, ST_BACKEND, "250 mx\r\n"), ST_UPGRADE);
	assert_string_equal(take(st, ST_CLIENT), "250-mx\r\n250 STARTTLS\r\n"
	    "530 5.7.0 Must issue a STARTTLS command first\r\n220 2.0.0 Ready to start TLS\r\n");
	assert_string_equal(take(st, ST_BACKEND), "");
	assert_int_equal(starttls_discarded(st, ST_CLIENT), strlen("RSET\r\n"));
	/* more plaintext is not read from the client; the backend's is dropped */
	size_t room;
	assert_null(starttls_in_space(st, ST_CLIENT, &room));
	assert_int_equal(room, 0);
	feed(st, ST_BACKEND, "250 injected\r\n");
	assert_string_equal(take(st, ST_CLIENT), "");
	assert_int_equal(starttls_discarded(st, ST_BACKEND), strlen("250 injected\r\n"));
	starttls_free(st);
}

static void
test_smtp_requiretls_refusals_and_syntax(void **state)
{
	struct starttls *st = smtp_greeted(true);

	(void)state;
	feed(st, ST_CLIENT, "AUTH PLAIN AHRlc3QAc2VjcmV0\r\nrcpt to:<x@y>\r\nSTARTTLS x\r\n"
	    "NOOP\r\n");
	assert_string_equal(take(st, ST_CLIENT),
	    "530 5.7.0 Must issue a STARTTLS command first\r\n"
	    "530 5.7.0 Must issue a STARTTLS command first\r\n"
	    "501 5.5.4 Syntax: STARTTLS\r\n");
	assert_string_equal(take(st, ST_BACKEND), "NOOP\r\n");
	/* a reply nobody asked for is never relayed */
	feed(st, ST_BACKEND, "250 2.0.0 OK\r\n250 2.0.0 extra\r\n");
	assert_string_equal(take(st, ST_CLIENT), "250 2.0.0 OK\r\n");
	starttls_free(st);
}

static void
test_smtp_overlong_line_closes(void **state)
{
	struct starttls *st = smtp_greeted(true);
	char line[STARTTLS_LINE_MAX + 10];

	(void)state;
	memset(line, 'A', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(feed(st, ST_CLIENT, line), ST_CLOSE);
	assert_string_equal(take(st, ST_CLIENT), "500 5.5.2 Line too long\r\n");
	assert_true(starttls_close_by_client(st));
	assert_string_equal(starttls_close_reason(st), "client line too long before STARTTLS");
	assert_string_equal(take(st, ST_BACKEND), "");
	starttls_free(st);

	st = starttls_new(PROTOCOL_SMTP, true);
	assert_int_equal(feed(st, ST_BACKEND, line), ST_CLOSE);
	assert_false(starttls_close_by_client(st));
	assert_string_equal(take(st, ST_CLIENT),
	    starttls_fatal_reply(PROTOCOL_SMTP, ST_FATAL_UNAVAILABLE));
	starttls_free(st);
}

static void
test_smtp_requiretls_no_goes_plaintext(void **state)
{
	struct starttls *st = smtp_greeted(false);
	char rest[STARTTLS_LINE_MAX];
	char out[RELAY_BUF_BYTES];
	size_t n;

	(void)state;
	assert_int_equal(feed(st, ST_CLIENT, "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"),
	    ST_CONTINUE);
	assert_string_equal(take(st, ST_BACKEND), "EHLO c\r\n");
	assert_int_equal(feed(st, ST_BACKEND, ehlo_reply), ST_PASSTHROUGH);
	assert_string_equal(take(st, ST_BACKEND), "MAIL FROM:<a@b>\r\n");
	n = starttls_take_client_rest(st, rest, sizeof(rest));
	assert_int_equal(n, strlen("RCPT TO:<c@d>\r\n"));
	assert_memory_equal(rest, "RCPT TO:<c@d>\r\n", n);
	assert_int_equal(starttls_take_backend_rest(st, out, sizeof(out)), 0);
	/* the plaintext session never offers STARTTLS again */
	assert_string_equal(filter(st, "250-mx\r\n250-STARTTLS\r\n250 SIZE 10\r\n", false),
	    "250-mx\r\n250 SIZE 10\r\n");
	starttls_free(st);
}

static void
test_smtp_filter_after_tls(void **state)
{
	struct starttls *st = smtp_greeted(true);
	char out[RELAY_BUF_BYTES];

	(void)state;
	assert_int_equal(feed(st, ST_CLIENT, "STARTTLS\r\n"), ST_UPGRADE);
	assert_int_equal(starttls_tls_started(st), 0);
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		/* STARTTLS last: the line before it becomes the last */
		assert_string_equal(filter(st, "250-mx\r\n250-8BITMIME\r\n250 STARTTLS\r\n", bytewise),
		    "250-mx\r\n250 8BITMIME\r\n");
		assert_string_equal(filter(st, "250-mx\r\n250-starttls\r\n250 SIZE\r\n", bytewise),
		    "250-mx\r\n250 SIZE\r\n");
		/* only EHLO keywords: a one-line reply and other codes pass */
		assert_string_equal(filter(st, "250 STARTTLS\r\n354 go\r\n", bytewise),
		    "250 STARTTLS\r\n354 go\r\n");
	}
	/* a held line is released when the backend ends */
	assert_string_equal(filter(st, "250-mx\r\n", false), "");
	assert_int_equal(starttls_filter_finish(st, out, sizeof(out)), strlen("250-mx\r\n"));
	assert_memory_equal(out, "250-mx\r\n", strlen("250-mx\r\n"));
	starttls_free(st);
}

/* --- IMAP -------------------------------------------------------------------------- */

static struct starttls *
imap_greeted(bool require_tls)
{
	struct starttls *st = starttls_new(PROTOCOL_IMAP, require_tls);

	feed(st, ST_BACKEND, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN "
	    "SASL-IR] ready\r\n");
	assert_string_equal(take(st, ST_CLIENT), require_tls
	    ? "* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED] ready\r\n"
	    : "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR STARTTLS] ready\r\n");
	return st;
}

static void
test_imap_capabilities_before_tls(void **state)
{
	struct starttls *st = imap_greeted(true);

	(void)state;
	feed(st, ST_CLIENT, "a1 CAPABILITY\r\n");
	assert_string_equal(take(st, ST_BACKEND), "a1 CAPABILITY\r\n");
	feed(st, ST_BACKEND, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK [CAPABILITY IMAP4rev1] "
	    "done\r\nz9 OK unasked\r\n");
	assert_string_equal(take(st, ST_CLIENT),
	    "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n"
	    "a1 OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] done\r\n");
	starttls_free(st);
	st = imap_greeted(false);
	starttls_free(st);
}

static void
test_imap_login_refused_with_its_literals(void **state)
{
	struct starttls *st = imap_greeted(true);

	(void)state;
	feed(st, ST_CLIENT, "a1 LOGIN {4+}\r\ntest {6+}\r\nsecret\r\na2 AUTHENTICATE PLAIN\r\n"
	    "a3 SELECT INBOX\r\n* NOOP\r\na4 STARTTLS x\r\na5 ID {5}\r\n");
	assert_string_equal(take(st, ST_CLIENT),
	    "a1 NO [PRIVACYREQUIRED] TLS is required: use STARTTLS first\r\n"
	    "a2 NO [PRIVACYREQUIRED] TLS is required: use STARTTLS first\r\n"
	    "a3 BAD Command not allowed before STARTTLS\r\n"
	    "* BAD Syntax error\r\n"
	    "a4 BAD Syntax error\r\n");
	/* ID's literal goes through once the backend asks for it */
	assert_string_equal(take(st, ST_BACKEND), "a5 ID {5}\r\n");
	feed(st, ST_BACKEND, "+ go on\r\n");
	assert_string_equal(take(st, ST_CLIENT), "+ go on\r\n");
	feed(st, ST_CLIENT, "x\r\ny\n)\r\n");
	assert_string_equal(take(st, ST_BACKEND), "x\r\ny\n)\r\n");
	assert_int_equal(starttls_discarded(st, ST_CLIENT), strlen("testsecret"));
	starttls_free(st);
}

static void
test_imap_starttls_and_filter(void **state)
{
	struct starttls *st = imap_greeted(true);
	static const char fetch[] =
	    "* 1 FETCH (BODY[] {44}\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\nmore text\r\n)\r\n";

	(void)state;
	assert_int_equal(feed(st, ST_CLIENT, "t1 STARTTLS\r\nt2 LOGIN a b\r\n"), ST_UPGRADE);
	assert_string_equal(take(st, ST_CLIENT), "t1 OK Begin TLS negotiation now\r\n");
	assert_string_equal(take(st, ST_BACKEND), "");
	assert_int_equal(starttls_tls_started(st), 0);
	for (int bytewise = 0; bytewise <= 1; bytewise++) {
		assert_string_equal(filter(st, "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN "
		    "LOGINDISABLED\r\nt3 OK [CAPABILITY IMAP4rev1 STARTTLS] Logged in\r\n", bytewise),
		    "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nt3 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
		/* a literal's bytes are never taken for a response */
		assert_string_equal(filter(st, fetch, bytewise), fetch);
	}
	starttls_free(st);
}

/* --- POP3 -------------------------------------------------------------------------- */

static void
test_pop3_capa_and_refusals(void **state)
{
	struct starttls *st = starttls_new(PROTOCOL_POP3, true);

	(void)state;
	feed(st, ST_BACKEND, "+OK ready\r\n");
	assert_string_equal(take(st, ST_CLIENT), "+OK ready\r\n");
	feed(st, ST_CLIENT, "USER test\r\nPASS secret\r\nAPOP a b\r\nSTAT\r\nCAPA\r\n");
	assert_string_equal(take(st, ST_CLIENT),
	    "-ERR Use STLS first: no login before TLS\r\n"
	    "-ERR Use STLS first: no login before TLS\r\n"
	    "-ERR Use STLS first: no login before TLS\r\n"
	    "-ERR Command not allowed before STLS\r\n");
	assert_string_equal(take(st, ST_BACKEND), "CAPA\r\n");
	feed(st, ST_BACKEND, "+OK list\r\nSTLS\r\nUSER\r\nTOP\r\nSASL PLAIN\r\n.\r\n");
	assert_string_equal(take(st, ST_CLIENT), "+OK list\r\nTOP\r\nSTLS\r\n.\r\n");
	assert_int_equal(feed(st, ST_CLIENT, "STLS\r\nQUIT\r\n"), ST_UPGRADE);
	assert_string_equal(take(st, ST_CLIENT), "+OK Begin TLS negotiation\r\n");
	assert_int_equal(starttls_tls_started(st), 0);
	/* after TLS, only CAPA's list is touched */
	starttls_observe_client(st, "RETR 1\r\nCAPA\r\nLIST 1\r\n", 22);
	assert_string_equal(filter(st, "+OK 20 octets\r\nSTLS\r\n.\r\n+OK\r\nSTLS\r\nUSER\r\n.\r\n"
	    "+OK 1 20\r\n", false),
	    "+OK 20 octets\r\nSTLS\r\n.\r\n+OK\r\nUSER\r\n.\r\n+OK 1 20\r\n");
	starttls_free(st);
}

static void
test_fatal_replies(void **state)
{
	(void)state;
	assert_string_equal(starttls_fatal_reply(PROTOCOL_SMTP, ST_FATAL_UNAVAILABLE),
	    "421 4.3.0 Mail service temporarily unavailable, try again later\r\n");
	assert_string_equal(starttls_fatal_reply(PROTOCOL_IMAP, ST_FATAL_TIMEOUT),
	    "* BYE Timeout before STARTTLS\r\n");
	assert_string_equal(starttls_fatal_reply(PROTOCOL_POP3, ST_FATAL_UNAVAILABLE),
	    "-ERR [SYS/TEMP] Mail service temporarily unavailable, try again later\r\n");
	assert_null(starttls_new(PROTOCOL_NONE, true));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_ehlo_reply_gets_starttls_last_and_loses_auth),
		cmocka_unit_test(test_smtp_pipelined_commands_are_answered_in_order),
		cmocka_unit_test(test_smtp_requiretls_refusals_and_syntax),
		cmocka_unit_test(test_smtp_overlong_line_closes),
		cmocka_unit_test(test_smtp_requiretls_no_goes_plaintext),
		cmocka_unit_test(test_smtp_filter_after_tls),
		cmocka_unit_test(test_imap_capabilities_before_tls),
		cmocka_unit_test(test_imap_login_refused_with_its_literals),
		cmocka_unit_test(test_imap_starttls_and_filter),
		cmocka_unit_test(test_pop3_capa_and_refusals),
		cmocka_unit_test(test_fatal_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
