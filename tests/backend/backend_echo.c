/* backend_echo.c: the echo service, for bulk and benchmark tests.
 *
 * Every byte read is written back. Full duplex and bounded: backend_conn.c
 * stops reading while more than CONN_OUT_HIGH bytes wait to be sent, so a
 * client that writes without reading is slowed by TCP, not buffered here.
 * Half-close: after the client's EOF, what is queued is sent, then our side
 * is shut down too. */
#include <stdlib.h>

#include "backend.h"

struct echo_session {
	struct conn *c;
};

static void *
echo_start(struct conn *c)
{
	struct echo_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->c = c;
	conn_raw_forever(c);
	return s;
}

static void
echo_on_raw(void *session, const char *data, size_t len)
{
	struct echo_session *s = session;

	conn_write(s->c, data, len);
}

static void
echo_on_line(void *session, char *line, size_t len)
{
	/* never called: every byte is raw */
}

static void
echo_on_line_too_long(void *session)
{
	/* never called: every byte is raw */
}

static void
echo_free(void *session)
{
	free(session);
}

const struct conn_ops echo_ops = {
	.name = "echo",
	.start = echo_start,
	.on_line = echo_on_line,
	.on_raw = echo_on_raw,
	.on_line_too_long = echo_on_line_too_long,
	.free = echo_free,
};
