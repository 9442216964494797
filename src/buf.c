/*
 * Bounded byte buffers for the relay.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

/*
 * buf_init(b, cap):
 * Allocate ${cap} bytes for ${b}.  Return 0, or -1 with errno set.
 */
int
buf_init(struct buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	if ((b->data = malloc(cap)) == NULL)
		return (-1);
	b->cap = cap;
	return (0);
}

/*
 * buf_free(b):
 * Release the storage of ${b}; ${b} may be zeroed or already freed.
 */
void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * buf_room(b):
 * Return how many bytes can still be appended to ${b}.
 */
size_t
buf_room(const struct buf *b)
{
	return (b->cap - b->len);
}

/*
 * buf_head(b):
 * Return a pointer to the first unconsumed byte of ${b}.
 */
const uint8_t *
buf_head(const struct buf *b)
{
	return (b->data + b->off);
}

/*
 * buf_tail(b):
 * Make the free space of ${b} contiguous and return a pointer to it.
 */
static uint8_t *
buf_tail(struct buf *b)
{
	if (b->off > 0 && b->off + b->len == b->cap) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	return (b->data + b->off + b->len);
}

/*
 * buf_add(b, p, n):
 * Append ${n} bytes at ${p} to ${b}.  Return 0, or -1 if they do not fit
 * (nothing is appended then).
 */
int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > buf_room(b))
		return (-1);
	if (b->off + b->len + n > b->cap) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return (0);
}

/*
 * buf_consume(b, n):
 * Drop the first ${n} bytes of ${b}.
 */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = 0;
		b->len = 0;
	} else {
		b->off += n;
		b->len -= n;
	}
}

/*
 * buf_read(b, fd):
 * Read once from ${fd} into the free space of ${b}.  Return the number of
 * bytes read, 0 at end of file, or -1 with errno set (EAGAIN and EINTR
 * included; the caller decides what they mean).
 */
ssize_t
buf_read(struct buf *b, int fd)
{
	uint8_t *p;
	size_t room;
	ssize_t n;

	p = buf_tail(b);
	room = b->cap - (b->off + b->len);
	if (room == 0) {
		errno = ENOBUFS;
		return (-1);
	}
	if ((n = read(fd, p, room)) > 0)
		b->len += (size_t)n;
	return (n);
}

/*
 * buf_write(b, fd):
 * Write once from ${b} to ${fd} and consume what was written.  Return the
 * number of bytes written or -1 with errno set.
 */
ssize_t
buf_write(struct buf *b, int fd)
{
	ssize_t n;

	if ((n = write(fd, buf_head(b), b->len)) > 0)
		buf_consume(b, (size_t)n);
	return (n);
}
