/* buf.c: bounded relay buffer, allocated on use, released when empty. */
#include "proxy/buf.h"

#include <stdlib.h>

#include "proxy/limits.h"

size_t
buf_room(const struct buf *b)
{
	return RELAY_BUF_BYTES - b->tail;
}

char *
buf_tail(struct buf *b)
{
	if (b->data == NULL && (b->data = malloc(RELAY_BUF_BYTES)) == NULL)
		return NULL;
	return b->data + b->tail;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->tail += n;
}

void
buf_consume(struct buf *b, size_t n)
{
	b->head += n;
	if (b->head == b->tail)
		buf_release(b);
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->head = b->tail = 0;
}
