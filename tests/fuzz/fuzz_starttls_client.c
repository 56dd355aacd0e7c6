/* fuzz_starttls_client.c: client mode's STARTTLS dialogue, on whatever an
 * upstream replies. The first byte picks the protocol, the second the EHLO
 * name; the rest arrives in pieces (as recv would cut it) separated by 0xff
 * bytes, which are not fed themselves. Whatever comes,
 * the dialogue ends in a verdict or asks for more, never sends anything but
 * one CRLF-ended command, and keeps its greeting within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/starttls_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum service_protocol protocols[] = { PROTOCOL_SMTP, PROTOCOL_IMAP, PROTOCOL_POP3 };

static void
check_command(const struct starttls_client *s)
{
	if (s->out_len < 3 || s->out_len >= sizeof(s->out) ||
	    memcmp(s->out + s->out_len - 2, "\r\n", 2) != 0 ||
	    memchr(s->out, '\n', s->out_len - 1) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct starttls_client s;
	enum starttls_client_status st = STC_READ;
	size_t off = 2, greeting_len;

	if (size < 2)
		return 0;
	starttls_client_init(&s, protocols[data[0] % 3], data[1] & 1 ? "mx.example.org" : NULL);
	while (off < size && (st == STC_READ || st == STC_SEND)) {
		const uint8_t *end = memchr(data + off, 0xff, size - off);
		size_t n = end ? (size_t)(end - (data + off)) : size - off;

		st = starttls_client_feed(&s, (const char *)data + off, n);
		off += n + (end != NULL);
		if (st == STC_SEND)
			check_command(&s);
	}
	(void)starttls_client_greeting(&s, &greeting_len);
	if (greeting_len > STARTTLS_CLIENT_GREETING_MAX ||
	    memchr(s.reason, '\0', sizeof(s.reason)) == NULL)
		abort();
	if (st == STC_DONE && (greeting_len == 0 || starttls_client_feed(&s, "x", 1) != STC_DONE))
		abort();
	if (st == STC_FAILED && (s.reason[0] == '\0' || starttls_client_feed(&s, "x", 1) != STC_FAILED))
		abort();
	return 0;
}
