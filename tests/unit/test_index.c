/* test_index.c: certstore/index.c, openssl ca's index.txt. A table of texts
 * the parser must refuse, with the exact message; lines written by openssl
 * itself that must parse and be written back byte for byte; serials as
 * openssl spells them. (Includes certstore/internal.h: index.c has no
 * public API of its own.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "certstore/internal.h"
#include "tests/unit/testpki.h"


/* What `openssl ca` wrote: a valid, a revoked (with reason) and an expired one. */
static const char openssl_text[] =
    "V\t310101000000Z\t\t01\tunknown\t/C=US/O=The Sample Company/CN=mail.sample.com\n"
    "R\t310101000000Z\t240101000000Z,keyCompromise\t02\tunknown\t/CN=old.sample.com\n"
    "E\t200101000000Z\t\t0A\tunknown\t/CN=expired\n"
    "V\t20600101000000Z\t\t5F3A01\tunknown\t/CN=far future\n";

static void
test_parse_openssl_lines(void **state)
{
	struct cs_index idx;
	struct cs_error err = { "" };
	char *text;
	size_t len;

	assert_int_equal(cs_index_parse("index.txt", openssl_text, strlen(openssl_text), &idx,
	    &err), 0);
	assert_int_equal(idx.n, 4);
	assert_int_equal(idx.e[0].status, 'V');
	assert_string_equal(idx.e[0].expiry, "310101000000Z");
	assert_string_equal(idx.e[0].revoked, "");
	assert_string_equal(idx.e[0].serial, "01");
	assert_string_equal(idx.e[0].file, "unknown");
	assert_string_equal(idx.e[0].subject, "/C=US/O=The Sample Company/CN=mail.sample.com");
	assert_int_equal(idx.e[1].status, 'R');
	assert_string_equal(idx.e[1].revoked, "240101000000Z,keyCompromise");
	assert_string_equal(idx.e[3].expiry, "20600101000000Z");
	/* written back exactly as openssl wrote it */
	assert_non_null(text = cs_index_format(&idx, &len));
	assert_int_equal(len, strlen(openssl_text));
	assert_memory_equal(text, openssl_text, len);
	free(text);
	cs_index_free(&idx);
}

static void
test_find_normalizes_serials(void **state)
{
	struct cs_index idx;
	struct cs_error err = { "" };

	assert_int_equal(cs_index_parse("index.txt", openssl_text, strlen(openssl_text), &idx,
	    &err), 0);
	assert_ptr_equal(cs_index_find(&idx, "0a"), &idx.e[2]);
	assert_ptr_equal(cs_index_find(&idx, "A"), &idx.e[2]);
	assert_ptr_equal(cs_index_find(&idx, "5f3a01"), &idx.e[3]);
	assert_null(cs_index_find(&idx, "03"));
	assert_null(cs_index_find(&idx, "xyz"));
	assert_null(cs_index_find(&idx, ""));
	cs_index_free(&idx);
}

static void
test_empty_and_comments(void **state)
{
	struct cs_index idx;
	struct cs_error err = { "" };
	const char *text = "# made by hand\nV\t310101000000Z\t\t0b\tunknown\t/CN=a\n";

	assert_int_equal(cs_index_parse("index.txt", "", 0, &idx, &err), 0);
	assert_int_equal(idx.n, 0);
	cs_index_free(&idx);
	assert_int_equal(cs_index_parse("index.txt", text, strlen(text), &idx, &err), 0);
	assert_int_equal(idx.n, 1);
	assert_string_equal(idx.e[0].serial, "0B");     /* odd length, lower case: normalized */
	cs_index_free(&idx);
	/* the last line may lack its newline */
	assert_int_equal(cs_index_parse("index.txt", text, strlen(text) - 1, &idx, &err), 0);
	assert_int_equal(idx.n, 1);
	assert_string_equal(idx.e[0].subject, "/CN=a");
	cs_index_free(&idx);
}

struct refusal {
	const char *text;
	const char *msg;
};

static const struct refusal refusals[] = {
	{ "V\t310101000000Z\t\t01\tunknown\n",
	  "index.txt:1: expected 6 tab-separated fields (status, expiry, revocation, serial, "
	  "file, subject), found 5" },
	{ "V\t310101000000Z\t\t01\tunknown\t/CN=a\tb\n",
	  "index.txt:1: expected 6 tab-separated fields (status, expiry, revocation, serial, "
	  "file, subject), found 7" },
	{ "\n", "index.txt:1: expected 6 tab-separated fields (status, expiry, revocation, "
	  "serial, file, subject), found 1" },
	{ "X\t310101000000Z\t\t01\tunknown\t/CN=a\n", "index.txt:1: status \"X\" is not V, R or E" },
	{ "VV\t310101000000Z\t\t01\tunknown\t/CN=a\n",
	  "index.txt:1: status \"VV\" is not V, R or E" },
	{ "V\t3101010000Z\t\t01\tunknown\t/CN=a\n",
	  "index.txt:1: expiry \"3101010000Z\" is not a date (YYMMDDHHMMSSZ)" },
	{ "V\t311301000000Z\t\t01\tunknown\t/CN=a\n",
	  "index.txt:1: expiry \"311301000000Z\" is not a date (YYMMDDHHMMSSZ)" },
	{ "V\t310101000000Z\t240101000000Z\t01\tunknown\t/CN=a\n",
	  "index.txt:1: status V but a revocation date is given (only R has one)" },
	{ "R\t310101000000Z\t\t01\tunknown\t/CN=a\n",
	  "index.txt:1: status R (revoked) but no revocation date" },
	{ "R\t310101000000Z\tyesterday\t01\tunknown\t/CN=a\n",
	  "index.txt:1: revocation field \"yesterday\" does not start with a date (YYMMDDHHMMSSZ)" },
	{ "V\t310101000000Z\t\t0x1\tunknown\t/CN=a\n",
	  "index.txt:1: serial \"0x1\" is not 1 to 40 hex digits" },
	{ "V\t310101000000Z\t\t\tunknown\t/CN=a\n",
	  "index.txt:1: serial \"\" is not 1 to 40 hex digits" },
	{ "V\t310101000000Z\t\t0123456789ABCDEF0123456789ABCDEF012345678\tunknown\t/CN=a\n",
	  "index.txt:1: serial \"0123456789ABCDEF0123456789ABCDEF012345678\" is not 1 to 40 hex "
	  "digits" },
	{ "V\t310101000000Z\t\t01\tunknown\t/CN=a\nV\t310101000000Z\t\t1\tunknown\t/CN=b\n",
	  "index.txt:2: serial 01 is listed twice" },
	{ "V\t310101000000Z\t\t01\t\t/CN=a\n",
	  "index.txt:1: the file name field is empty or not text (openssl writes \"unknown\")" },
	{ "V\t310101000000Z\t\t01\tunknown\t/CN=a\r\n",
	  "index.txt:1: the line ends in CR LF (a DOS text file): convert it with dos2unix" },
	{ "V\t310101000000Z\t\t01\tunknown\t/CN=\x01\n",
	  "index.txt:1: the subject has control characters or is too long" },
};

static void
test_refusals(void **state)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct cs_index idx;
		struct cs_error err = { "" };
		const char *t = refusals[i].text;

		assert_int_equal(cs_index_parse("index.txt", t, strlen(t), &idx, &err), -1);
		assert_string_equal(err.msg, tp_fmt("%s: fix the line, or restore the index from "
		    "a backup", refusals[i].msg));
		assert_int_equal(idx.n, 0);
		assert_null(idx.e);
	}
}

static void
test_nul_byte_is_refused(void **state)
{
	static const char text[] = "V\t310101000000Z\t\t01\tunknown\t/CN=a\0b\n";
	struct cs_index idx;
	struct cs_error err = { "" };

	assert_int_equal(cs_index_parse("index.txt", text, sizeof(text) - 1, &idx, &err), -1);
	assert_string_equal(err.msg, "index.txt:1: NUL byte in the line; is this a text file?: "
	    "fix the line, or restore the index from a backup");
}

static void
test_add_from_certificate(void **state)
{
	struct tp_cert_spec spec = tp_leaf_spec("mail.example.com");
	struct tp_pki pki;
	struct cs_index idx = { 0 };
	struct cs_error err = { "" };
	X509 *far;
	char hex[CS_SERIAL_HEX_MAX + 1];

	tp_pki(&pki);
	assert_int_equal(cs_index_add(&idx, pki.leaf, &err), 0);
	assert_int_equal(idx.n, 1);
	assert_int_equal(idx.e[0].status, 'V');
	assert_string_equal(idx.e[0].expiry, "310101000000Z");     /* TP_NOW + 365 days */
	assert_string_equal(idx.e[0].subject, "/O=Example/CN=mail.example.com");
	assert_int_equal(cs_serial_hex(X509_get0_serialNumber(pki.leaf), hex, sizeof(hex)), 0);
	assert_string_equal(idx.e[0].serial, hex);
	/* after 2049 openssl writes the GeneralizedTime text */
	spec.not_after_days = 365 * 30;
	far = tp_cert(&spec, pki.leaf_key, pki.inter, pki.inter_key);
	assert_int_equal(cs_index_add(&idx, far, &err), 0);
	assert_string_equal(idx.e[1].expiry, "20591225000000Z");
	cs_index_free(&idx);
}

static void
test_serial_spelling(void **state)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	char hex[CS_SERIAL_HEX_MAX + 1];

	assert_non_null(ai);
	assert_int_equal(ASN1_INTEGER_set(ai, 10), 1);
	assert_int_equal(cs_serial_hex(ai, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "0A");
	assert_int_equal(ASN1_INTEGER_set(ai, 0), 1);
	assert_int_equal(cs_serial_hex(ai, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "00");
	assert_int_equal(ASN1_INTEGER_set(ai, 0x123456), 1);
	assert_int_equal(cs_serial_hex(ai, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "123456");
	assert_int_equal(cs_serial_hex(ai, hex, 4), -1);           /* does not fit */
	ASN1_INTEGER_free(ai);
	assert_int_equal(cs_serial_normalize("abc", 3, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "0ABC");
	assert_int_equal(cs_serial_normalize("g1", 2, hex, sizeof(hex)), -1);
}

static void
test_save_and_load(void **state)
{
	struct cs_index idx, back;
	struct cs_error err = { "" };
	const char *path = tp_path("index.txt");
	struct stat st;

	assert_int_equal(cs_index_parse("x", openssl_text, strlen(openssl_text), &idx, &err), 0);
	assert_int_equal(cs_index_save(path, &idx, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(cs_index_load(path, &back, &err), 0);
	assert_int_equal(back.n, 4);
	assert_string_equal(back.e[3].serial, "5F3A01");
	cs_index_free(&back);
	cs_index_free(&idx);
	assert_int_equal(cs_index_load(tp_path("missing.txt"), &back, &err), -1);
	assert_string_equal(err.msg, tp_fmt("%s: cannot open: No such file or directory",
	    tp_path("missing.txt")));
}

static int
teardown(void **state)
{
	tp_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_openssl_lines),
		cmocka_unit_test(test_find_normalizes_serials),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_add_from_certificate),
		cmocka_unit_test(test_serial_spelling),
		cmocka_unit_test(test_save_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
