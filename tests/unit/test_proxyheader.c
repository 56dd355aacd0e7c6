/* test_proxyheader.c: proxy/proxyheader.c, the PROXY protocol v1 and v2
 * headers, byte for byte against HAProxy's proxy-protocol.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "proxy/proxyheader.h"

static struct sockaddr_storage
ipv4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage
ipv6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	return ss;
}

static int
encode(enum proxy_header v, const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, unsigned char *out)
{
	memset(out, 0xAA, PROXYHEADER_MAX_BYTES);
	return proxyheader_encode(v, (const struct sockaddr *)src, (const struct sockaddr *)dst,
	    out, PROXYHEADER_MAX_BYTES);
}

#define SIG "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A"

static void
test_none_writes_nothing(void **state)
{
	struct sockaddr_storage s = ipv4("192.0.2.1", 1), d = ipv4("192.0.2.2", 2);
	unsigned char out[PROXYHEADER_MAX_BYTES];

	assert_int_equal(encode(PROXY_HEADER_NONE, &s, &d, out), 0);
}

static void
test_v1_tcp4(void **state)
{
	struct sockaddr_storage s = ipv4("203.0.113.9", 51234), d = ipv4("192.0.2.25", 993);
	unsigned char out[PROXYHEADER_MAX_BYTES];
	const char *want = "PROXY TCP4 203.0.113.9 192.0.2.25 51234 993\r\n";

	assert_int_equal(encode(PROXY_HEADER_V1, &s, &d, out), strlen(want));
	assert_memory_equal(out, want, strlen(want));
}

static void
test_v1_tcp6(void **state)
{
	struct sockaddr_storage s = ipv6("2001:db8::1", 65535), d = ipv6("::1", 1);
	unsigned char out[PROXYHEADER_MAX_BYTES];
	const char *want = "PROXY TCP6 2001:db8::1 ::1 65535 1\r\n";

	assert_int_equal(encode(PROXY_HEADER_V1, &s, &d, out), strlen(want));
	assert_memory_equal(out, want, strlen(want));
}

/* the longest address text inet_ntop writes for an IPv6 address, twice */
static void
test_v1_longest_fits(void **state)
{
	const char *full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe";
	struct sockaddr_storage s = ipv6(full, 65535), d = ipv6(full, 65535);
	unsigned char out[PROXYHEADER_MAX_BYTES];

	assert_int_equal(encode(PROXY_HEADER_V1, &s, &d, out), 11 + 39 + 1 + 39 + 1 + 5 + 1 + 5 + 2);
	assert_memory_equal(out, "PROXY TCP6 ffff:", 16);
	assert_memory_equal(out + 97, "65535\r\n", 7);
}

static void
test_v1_mapped_ipv4_is_tcp4(void **state)
{
	struct sockaddr_storage s = ipv6("::ffff:127.0.0.1", 40000);
	struct sockaddr_storage d = ipv6("::ffff:127.0.0.2", 465);
	unsigned char out[PROXYHEADER_MAX_BYTES];
	const char *want = "PROXY TCP4 127.0.0.1 127.0.0.2 40000 465\r\n";

	assert_int_equal(encode(PROXY_HEADER_V1, &s, &d, out), strlen(want));
	assert_memory_equal(out, want, strlen(want));
}

static void
test_v1_mixed_families_are_unknown(void **state)
{
	struct sockaddr_storage s = ipv4("192.0.2.1", 1), d = ipv6("2001:db8::2", 2);
	unsigned char out[PROXYHEADER_MAX_BYTES];

	assert_int_equal(encode(PROXY_HEADER_V1, &s, &d, out), 15);
	assert_memory_equal(out, "PROXY UNKNOWN\r\n", 15);
}

static void
test_v2_tcp4(void **state)
{
	struct sockaddr_storage s = ipv4("203.0.113.9", 0xC822), d = ipv4("192.0.2.25", 993);
	unsigned char out[PROXYHEADER_MAX_BYTES];
	static const unsigned char want[] = SIG "\x21\x11\x00\x0C"
	    "\xCB\x00\x71\x09" "\xC0\x00\x02\x19" "\xC8\x22" "\x03\xE1";

	assert_int_equal(encode(PROXY_HEADER_V2, &s, &d, out), 28);
	assert_memory_equal(out, want, 28);
}

static void
test_v2_tcp6(void **state)
{
	struct sockaddr_storage s = ipv6("2001:db8::1", 51234), d = ipv6("::1", 995);
	unsigned char out[PROXYHEADER_MAX_BYTES];
	static const unsigned char want[] = SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xC8\x22" "\x03\xE3";

	assert_int_equal(encode(PROXY_HEADER_V2, &s, &d, out), 52);
	assert_memory_equal(out, want, 52);
}

static void
test_v2_mapped_ipv4_is_tcp4(void **state)
{
	struct sockaddr_storage s = ipv6("::ffff:10.1.2.3", 1025), d = ipv6("::ffff:10.0.0.1", 25);
	unsigned char out[PROXYHEADER_MAX_BYTES];
	static const unsigned char want[] = SIG "\x21\x11\x00\x0C"
	    "\x0A\x01\x02\x03" "\x0A\x00\x00\x01" "\x04\x01" "\x00\x19";

	assert_int_equal(encode(PROXY_HEADER_V2, &s, &d, out), 28);
	assert_memory_equal(out, want, 28);
}

/* unknown: command PROXY, family AF_UNSPEC, no address block */
static void
test_v2_mixed_families_are_unspec(void **state)
{
	struct sockaddr_storage s = ipv4("192.0.2.1", 1), d = ipv6("2001:db8::2", 2);
	unsigned char out[PROXYHEADER_MAX_BYTES];
	static const unsigned char want[] = SIG "\x21\x00\x00\x00";

	assert_int_equal(encode(PROXY_HEADER_V2, &s, &d, out), 16);
	assert_memory_equal(out, want, 16);
}

static void
test_small_buffer_is_refused(void **state)
{
	struct sockaddr_storage s = ipv4("203.0.113.9", 51234), d = ipv4("192.0.2.25", 993);
	unsigned char out[PROXYHEADER_MAX_BYTES];

	assert_int_equal(proxyheader_encode(PROXY_HEADER_V1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, 20), -1);
	assert_int_equal(proxyheader_encode(PROXY_HEADER_V2, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, 27), -1);
	assert_int_equal(proxyheader_encode(PROXY_HEADER_V2, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, out, 28), 28);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none_writes_nothing),
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6),
		cmocka_unit_test(test_v1_longest_fits),
		cmocka_unit_test(test_v1_mapped_ipv4_is_tcp4),
		cmocka_unit_test(test_v1_mixed_families_are_unknown),
		cmocka_unit_test(test_v2_tcp4),
		cmocka_unit_test(test_v2_tcp6),
		cmocka_unit_test(test_v2_mapped_ipv4_is_tcp4),
		cmocka_unit_test(test_v2_mixed_families_are_unspec),
		cmocka_unit_test(test_small_buffer_is_refused),
	};

	return cmocka_run_group_tests_name("proxyheader", tests, NULL, NULL);
}
