/*
 * Bounded byte buffers for the relay.
 */
#ifndef IMAPEXEC_BUF_H
#define IMAPEXEC_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A linear buffer of at most ${cap} bytes: data lives in [off, off + len).
 * Free space is made at the end by moving the data down when needed.
 */
struct buf {
	uint8_t	*data;
	size_t	 off;
	size_t	 len;
	size_t	 cap;
};

/*
 * buf_init(b, cap):
 * Allocate ${cap} bytes for ${b}.  Return 0, or -1 with errno set.
 */
int	buf_init(struct buf *, size_t);

/*
 * buf_free(b):
 * Release the storage of ${b}; ${b} may be zeroed or already freed.
 */
void	buf_free(struct buf *);

/*
 * buf_room(b):
 * Return how many bytes can still be appended to ${b}.
 */
size_t	buf_room(const struct buf *);

/*
 * buf_head(b):
 * Return a pointer to the first unconsumed byte of ${b}.
 */
const uint8_t *buf_head(const struct buf *);

/*
 * buf_add(b, p, n):
 * Append ${n} bytes at ${p} to ${b}.  Return 0, or -1 if they do not fit
 * (nothing is appended then).
 */
int	buf_add(struct buf *, const void *, size_t);

/*
 * buf_consume(b, n):
 * Drop the first ${n} bytes of ${b}.
 */
void	buf_consume(struct buf *, size_t);

/*
 * buf_read(b, fd):
 * Read once from ${fd} into the free space of ${b}.  Return the number of
 * bytes read, 0 at end of file, or -1 with errno set (EAGAIN and EINTR
 * included; the caller decides what they mean).
 */
ssize_t	buf_read(struct buf *, int);

/*
 * buf_write(b, fd):
 * Write once from ${b} to ${fd} and consume what was written.  Return the
 * number of bytes written or -1 with errno set.
 */
ssize_t	buf_write(struct buf *, int);

#endif /* !IMAPEXEC_BUF_H */
