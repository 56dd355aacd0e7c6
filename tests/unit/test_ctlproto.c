/* test_ctlproto.c: ctl/ctlproto.c, the control protocol's frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl/ctlproto.h"

static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

static void
test_round_trip_keeps_order_repeats_and_binary_values(void **state)
{
	struct ctl_msg m = { 0 }, back = { 0 };
	char err[256], *frame;
	size_t len, used, from = 0;
	const char bin[] = { 'a', '\0', '\n', 'b' };

	assert_int_equal(ctl_msg_add_str(&m, "verb", "issue"), 0);
	assert_int_equal(ctl_msg_add_str(&m, "dns", "mail.example.com"), 0);
	assert_int_equal(ctl_msg_add_str(&m, "dns", "imap.example.com"), 0);
	assert_int_equal(ctl_msg_add(&m, "cert", pem, strlen(pem)), 0);
	assert_int_equal(ctl_msg_add(&m, "bin", bin, sizeof(bin)), 0);
	assert_int_equal(ctl_msg_add_str(&m, "empty", ""), 0);
	assert_int_equal(ctl_msg_end_record(&m), 0);
	assert_int_equal(ctl_msg_encode(&m, &frame, &len), 0);
	assert_memory_equal(frame, "CWCTL/1 ", 8);

	assert_int_equal(ctl_msg_decode(frame, len, &back, &used, err, sizeof(err)), CTL_DECODE_DONE);
	assert_int_equal(used, len);
	assert_int_equal(back.n, 7);
	assert_string_equal(ctl_msg_get(&back, "verb"), "issue");
	assert_string_equal(ctl_msg_find(&back, "dns", &from)->value, "mail.example.com");
	assert_string_equal(ctl_msg_find(&back, "dns", &from)->value, "imap.example.com");
	assert_null(ctl_msg_find(&back, "dns", &from));
	assert_string_equal(ctl_msg_get(&back, "cert"), pem);
	assert_int_equal(ctl_msg_find(&back, "bin", NULL)->len, sizeof(bin));
	assert_memory_equal(ctl_msg_find(&back, "bin", NULL)->value, bin, sizeof(bin));
	assert_string_equal(ctl_msg_get(&back, "empty"), "");
	assert_string_equal(back.fields[6].name, CTLPROTO_RECORD_END);
	free(frame);
	ctl_msg_free(&m);
	ctl_msg_free(&back);
}

static void
test_every_prefix_of_a_frame_asks_for_more(void **state)
{
	struct ctl_msg m = { 0 }, back;
	char err[256], *frame;
	size_t len, used;

	ctl_msg_add_str(&m, "verb", "status");
	ctl_msg_add(&m, "cert", pem, strlen(pem));
	assert_int_equal(ctl_msg_encode(&m, &frame, &len), 0);
	for (size_t n = 0; n < len; n++) {
		/* an exact-size copy, so a read past the end is caught by ASan */
		char *part = malloc(n ? n : 1);

		memcpy(part, frame, n);
		assert_int_equal(ctl_msg_decode(part, n, &back, &used, err, sizeof(err)),
		    CTL_DECODE_MORE);
		free(part);
	}
	assert_int_equal(ctl_msg_decode(frame, len, &back, &used, err, sizeof(err)), CTL_DECODE_DONE);
	ctl_msg_free(&back);
	free(frame);
	ctl_msg_free(&m);
}

struct bad_frame {
	const char *frame;
	const char *error;
};

static const struct bad_frame bad_frames[] = {
	{ "GET / HTTP/1.0\r\n", "not a certwrap control message (expected \"CWCTL/1\")" },
	{ "CWCTL/2 0\n", "unsupported protocol version 2 (this side speaks 1): use the "
	  "certwrapctl of the same release as certwrapd" },
	{ "CWCTL/1 99999999\n", "control message larger than 4194304 bytes, or a malformed header" },
	{ "CWCTL/1 007\nverb 1\na\n", "control message larger than 4194304 bytes, or a malformed "
	  "header" },
	{ "CWCTL/x 1\n", "malformed control message header" },
	{ "CWCTL/1 9\nverb 9\nab\n", "field \"verb\": bad length or truncated value" },
	{ "CWCTL/1 10\nverb 2\nabX", "field \"verb\": bad length or truncated value" },
	{ "CWCTL/1 9\nVerb 1\na\n", "field \"Verb\": invalid name or too many fields" },
	{ "CWCTL/1 5\nverb\n", "malformed field name at byte 0" },
	{ "CWCTL/1 46\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0\n\n", "malformed field name at "
	  "byte 0" },
};

static void
test_bad_frames_are_refused_with_a_reason(void **state)
{
	for (size_t i = 0; i < sizeof(bad_frames) / sizeof(bad_frames[0]); i++) {
		struct ctl_msg m;
		char err[256] = "";
		size_t used;

		assert_int_equal(ctl_msg_decode(bad_frames[i].frame, strlen(bad_frames[i].frame), &m,
		    &used, err, sizeof(err)), CTL_DECODE_ERROR);
		assert_string_equal(err, bad_frames[i].error);
		assert_null(m.fields);
	}
}

static void
test_invalid_names_cannot_be_added(void **state)
{
	struct ctl_msg m = { 0 };

	assert_int_equal(ctl_msg_add_str(&m, "", "x"), -1);
	assert_int_equal(ctl_msg_add_str(&m, "has space", "x"), -1);
	assert_int_equal(ctl_msg_add_str(&m, "UPPER", "x"), -1);
	assert_int_equal(ctl_msg_add_str(&m, "a23456789012345678901234567890123", "x"), -1);
	assert_int_equal(ctl_msg_add_str(&m, "a2345678901234567890123456789012", "x"), 0);
	assert_int_equal(m.n, 1);
	ctl_msg_free(&m);
}

static void
test_error_and_ok_responses(void **state)
{
	struct ctl_msg m = { 0 };

	ctl_msg_add_str(&m, "partial", "result");
	assert_int_equal(ctl_msg_error(&m, "no service \"%s\"", "imap"), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(ctl_msg_get(&m, "status"), "error");
	assert_string_equal(ctl_msg_get(&m, "message"), "no service \"imap\"");
	ctl_msg_free(&m);
	assert_int_equal(ctl_msg_ok(&m, NULL), 0);
	assert_int_equal(m.n, 1);
	assert_string_equal(ctl_msg_get(&m, "status"), "ok");
	ctl_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_keeps_order_repeats_and_binary_values),
		cmocka_unit_test(test_every_prefix_of_a_frame_asks_for_more),
		cmocka_unit_test(test_bad_frames_are_refused_with_a_reason),
		cmocka_unit_test(test_invalid_names_cannot_be_added),
		cmocka_unit_test(test_error_and_ok_responses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
