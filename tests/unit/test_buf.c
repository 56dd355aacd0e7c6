/* test_buf.c: proxy/buf.c, the bounded relay buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/buf.h"
#include "proxy/limits.h"

static void
test_empty_buffer_holds_no_memory(void **state)
{
	struct buf b = { 0 };

	assert_null(b.data);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_room(&b), RELAY_BUF_BYTES);
}

static void
test_fill_consume_release(void **state)
{
	struct buf b = { 0 };
	char *tail = buf_tail(&b);

	assert_non_null(tail);
	memcpy(tail, "hello world", 11);
	buf_commit(&b, 11);
	assert_int_equal(buf_len(&b), 11);
	assert_int_equal(buf_room(&b), RELAY_BUF_BYTES - 11);
	assert_memory_equal(buf_head(&b), "hello", 5);

	/* a partial consume keeps the rest at the same address (SSL_write retries) */
	const char *rest = buf_head(&b) + 6;
	buf_consume(&b, 6);
	assert_ptr_equal(buf_head(&b), rest);
	assert_memory_equal(buf_head(&b), "world", 5);
	/* no compaction while data is pending: room does not come back */
	assert_int_equal(buf_room(&b), RELAY_BUF_BYTES - 11);

	buf_consume(&b, 5);
	assert_null(b.data);                 /* released as soon as it is empty */
	assert_int_equal(buf_room(&b), RELAY_BUF_BYTES);
}

static void
test_full_buffer_has_no_room(void **state)
{
	struct buf b = { 0 };

	memset(buf_tail(&b), 'x', RELAY_BUF_BYTES);
	buf_commit(&b, RELAY_BUF_BYTES);
	assert_int_equal(buf_room(&b), 0);
	assert_int_equal(buf_len(&b), RELAY_BUF_BYTES);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(buf_len(&b), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_buffer_holds_no_memory),
		cmocka_unit_test(test_fill_consume_release),
		cmocka_unit_test(test_full_buffer_has_no_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
