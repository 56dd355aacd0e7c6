/* buf.h: a bounded byte buffer for one relay direction.
 *
 * Memory is taken on first use and given back as soon as the buffer is empty,
 * so an idle connection holds no relay buffers at all. Data is appended at
 * the tail and consumed from the head; the space is compacted only when
 * empty, so a pending partial write keeps its pointer (OpenSSL requires the
 * retry of an SSL_write to see the same bytes). */
#ifndef CERTWRAP_BUF_H
#define CERTWRAP_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;                 /* NULL while released */
	size_t head;                /* first unconsumed byte */
	size_t tail;                /* one past the last byte */
};

/* Bytes waiting to be consumed. */
static inline size_t buf_len(const struct buf *b) { return b->tail - b->head; }

/* Bytes that can be appended now (the buffer's capacity is RELAY_BUF_BYTES). */
size_t buf_room(const struct buf *b);

/* Where to append up to buf_room() bytes; allocates on first use. NULL when
 * out of memory (the caller closes the connection). */
char *buf_tail(struct buf *b);

/* Records n bytes appended at buf_tail(). */
void buf_commit(struct buf *b, size_t n);

/* The bytes to consume next (buf_len of them). */
static inline const char *buf_head(const struct buf *b) { return b->data + b->head; }

/* Consumes n bytes; releases the memory when the buffer becomes empty. */
void buf_consume(struct buf *b, size_t n);

/* Frees the memory; the buffer is empty and released afterwards. */
void buf_release(struct buf *b);

#endif
