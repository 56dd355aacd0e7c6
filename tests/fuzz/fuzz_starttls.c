/* fuzz_starttls.c: the STARTTLS engine and its filter on any client and
 * backend byte streams.
 *
 * Input: one byte choosing the protocol (bits 0-1: smtp, imap, pop3) and
 * requireTLS (bit 2), then chunks, each a header byte (bit 7: from the
 * backend; bits 0-6: length) and that many bytes. Chunks are fed to the
 * dialogue as reads would be; the outputs are drained every few chunks, as a
 * slow peer would. When the dialogue ends with the upgrade or a plaintext
 * session, the remaining chunks go through the filter (backend) and the
 * client tracking (client). Besides crashes, leaks and overflows, the
 * engine's promises are checked: outputs within their bounds, the filter
 * never writing more than its input and its slack, and nothing of the
 * client's after STARTTLS ever queued for the backend. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/limits.h"
#include "proxy/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { if (!(cond)) abort(); } while (0)

static void
drain(struct starttls *st, enum starttls_side side, size_t max)
{
	size_t len;

	(void)starttls_out(st, side, &len);
	REQUIRE(len <= STARTTLS_OUT_BYTES);
	starttls_out_consume(st, side, len < max ? len : max);
}

/* Feeds a chunk to the dialogue; returns the event after it. */
static enum starttls_event
dialogue_feed(struct starttls *st, enum starttls_side side, const uint8_t *p, size_t n)
{
	enum starttls_event ev = starttls_step(st);

	while (n > 0 && ev == ST_CONTINUE) {
		size_t room;
		char *space = starttls_in_space(st, side, &room);

		if (room == 0)
			break;
		if (room > n)
			room = n;
		memcpy(space, p, room);
		starttls_in_commit(st, side, room);
		p += room;
		n -= room;
		ev = starttls_step(st);
	}
	return ev;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum service_protocol protos[] = { PROTOCOL_SMTP, PROTOCOL_IMAP,
	                                                PROTOCOL_POP3, PROTOCOL_SMTP };
	static char out[RELAY_BUF_BYTES];
	struct starttls *st;
	enum starttls_event ev = ST_CONTINUE;
	size_t i = 1, chunk = 0;
	bool filtering = false;

	if (size < 1)
		return 0;
	if ((st = starttls_new(protos[data[0] & 3], (data[0] & 4) != 0)) == NULL)
		return 0;
	while (i < size) {
		enum starttls_side side = data[i] & 0x80 ? ST_BACKEND : ST_CLIENT;
		size_t n = data[i] & 0x7f;
		const uint8_t *p = data + i + 1;

		if (n > size - i - 1)
			n = size - i - 1;
		i += 1 + n;
		chunk++;
		if (filtering) {
			if (side == ST_BACKEND) {
				size_t o = starttls_filter(st, (const char *)p, n, out, sizeof(out));

				REQUIRE(o <= n + starttls_filter_slack());
			} else {
				starttls_observe_client(st, (const char *)p, n);
			}
			continue;
		}
		ev = dialogue_feed(st, side, p, n);
		if (chunk % 3 == 0) {
			drain(st, ST_CLIENT, (size_t)data[0] * 7 + 1);
			drain(st, ST_BACKEND, SIZE_MAX);
			ev = starttls_step(st);
		}
		if (ev == ST_CLOSE)
			break;
		if (ev == ST_UPGRADE) {
			size_t len;

			/* the upgrade reply is the last output; the backend gets nothing more */
			drain(st, ST_CLIENT, SIZE_MAX);
			drain(st, ST_BACKEND, SIZE_MAX);
			REQUIRE(starttls_step(st) == ST_UPGRADE);
			(void)starttls_out(st, ST_BACKEND, &len);
			REQUIRE(len == 0);
			REQUIRE(starttls_tls_started(st) == 0);
			filtering = true;
		} else if (ev == ST_PASSTHROUGH) {
			drain(st, ST_CLIENT, SIZE_MAX);
			drain(st, ST_BACKEND, SIZE_MAX);
			REQUIRE(starttls_take_client_rest(st, out, sizeof(out)) <= STARTTLS_LINE_MAX);
			REQUIRE(starttls_take_backend_rest(st, out, sizeof(out)) <=
			    STARTTLS_LINE_MAX + starttls_filter_slack());
			filtering = true;
		}
	}
	if (filtering)
		REQUIRE(starttls_filter_finish(st, out, sizeof(out)) <= starttls_filter_slack());
	starttls_free(st);
	return 0;
}
