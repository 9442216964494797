/*
 * COMPRESS=DEFLATE between the client and imapexec (see zio.h).
 *
 * The invariants the relay relies on (relay.c, could_move()):
 *  - zio_inflate() moves whenever the client's stream has bytes or
 *    inflate may hold output (in_more), c_in has room, and the stream is
 *    neither corrupt nor ended; zio_could_inflate() says exactly that.
 *  - zio_deflate() moves whenever c_out has bytes or a sync flush is owed
 *    (dirty, which also covers output zlib still holds), and zout has room
 *    for a flush marker; zio_could_deflate() says exactly that.
 */
#include <stdlib.h>
#include <string.h>

#include "dassert.h"
#include "zio.h"

/*
 * Room zout needs before deflate is called: more than a sync flush marker,
 * so that a flush never returns half done for want of six bytes.
 */
#define ZIO_MINROOM	64

/*
 * tail(b, room):
 * Make the free space of ${b} one piece at its end; return it, its size in
 * *${room}.
 */
static uint8_t *
tail(struct buf *b, size_t *room)
{
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	*room = b->cap - b->len;
	return (b->data + b->len);
}

/*
 * zio_start(c_in, c_out, last):
 * Turn compression on: see zio.h.
 */
struct zio *
zio_start(struct buf *c_in, struct buf *c_out, const char *last)
{
	struct zio *z;
	size_t out = c_out->len + strlen(last);

	/* The buffers are made large enough for what is queued already. */
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return (NULL);
	if (buf_init(&z->zin, c_in->len > ZIO_BUFSZ ? c_in->len :
	    ZIO_BUFSZ) == -1)
		goto fail;
	if (buf_init(&z->zout, out + ZIO_MINROOM > ZIO_BUFSZ ?
	    out + ZIO_MINROOM : ZIO_BUFSZ) == -1)
		goto fail;
	if (inflateInit2(&z->inf, -15) != Z_OK)
		goto fail;
	if (deflateInit2(&z->def, ZIO_LEVEL, Z_DEFLATED, -ZIO_WBITS,
	    ZIO_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		(void)inflateEnd(&z->inf);
		goto fail;
	}
	(void)buf_add(&z->zin, buf_head(c_in), c_in->len);
	(void)buf_add(&z->zout, buf_head(c_out), c_out->len);
	(void)buf_add(&z->zout, last, strlen(last));
	buf_consume(c_in, c_in->len);
	buf_consume(c_out, c_out->len);
	return (z);
fail:
	buf_free(&z->zin);
	buf_free(&z->zout);
	free(z);
	return (NULL);
}

/*
 * zio_free(z):
 * Release ${z} (which may be NULL).
 */
void
zio_free(struct zio *z)
{
	if (z == NULL)
		return;
	(void)inflateEnd(&z->inf);
	(void)deflateEnd(&z->def);
	buf_free(&z->zin);
	buf_free(&z->zout);
	free(z);
}

/*
 * zio_could_inflate(z, c_in):
 * Return nonzero if zio_inflate() would move anything now.  Pure.
 */
int
zio_could_inflate(const struct zio *z, const struct buf *c_in)
{
	return (!z->corrupt && buf_room(c_in) > 0 &&
	    (z->zin.len > 0 || z->in_more));
}

/*
 * corrupt(z):
 * The client's stream cannot be inflated: drop it and read no more.
 */
static void
corrupt(struct zio *z)
{
	z->corrupt = 1;
	z->in_eof = 1;
	z->in_more = 0;
	buf_consume(&z->zin, z->zin.len);
}

/*
 * zio_inflate(z, c_in):
 * Inflate what ${z} holds from the client into the room of ${c_in}.
 * Return nonzero if anything moved.
 */
int
zio_inflate(struct zio *z, struct buf *c_in)
{
	size_t room, ate, made;
	int rc;

	if (!zio_could_inflate(z, c_in))
		return (0);
	if (z->in_end) {
		/* Bytes after the end of a DEFLATE stream. */
		corrupt(z);
		return (1);
	}
	z->inf.next_out = tail(c_in, &room);
	z->inf.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
	z->inf.next_in = (Bytef *)(uintptr_t)buf_head(&z->zin);
	z->inf.avail_in = (uInt)z->zin.len;
	rc = inflate(&z->inf, Z_SYNC_FLUSH);
	ate = z->zin.len - z->inf.avail_in;
	made = room - z->inf.avail_out;
	buf_consume(&z->zin, ate);
	c_in->len += made;
	z->in_more = z->inf.avail_out == 0;
	if (rc == Z_STREAM_END) {
		z->in_end = 1;
		z->in_more = 0;
	} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
		corrupt(z);
		return (1);
	}
	/*
	 * Invariant (zio_could_inflate()): with input and room, inflate
	 * moves, unless it can only wait for more input.
	 */
	DASSERT(ate > 0 || made > 0 || z->in_end || rc == Z_BUF_ERROR);
	return (ate > 0 || made > 0 || z->in_end);
}

/*
 * zio_could_deflate(z, c_out):
 * Return nonzero if zio_deflate() would move anything now.  Pure.
 */
int
zio_could_deflate(const struct zio *z, const struct buf *c_out)
{
	return (buf_room(&z->zout) >= ZIO_MINROOM &&
	    (c_out->len > 0 || z->dirty));
}

/*
 * zio_deflate(z, c_out):
 * Deflate the bytes of ${c_out} into the room of ${z}->zout, and once all
 * went in, finish with a Z_SYNC_FLUSH.  Return nonzero if anything moved.
 */
int
zio_deflate(struct zio *z, struct buf *c_out)
{
	size_t room, ate, made;
	int moved = 0, flush, rc;

	while (zio_could_deflate(z, c_out)) {
		flush = c_out->len > 0 ? Z_NO_FLUSH : Z_SYNC_FLUSH;
		z->def.next_out = tail(&z->zout, &room);
		z->def.avail_out = (uInt)room;
		z->def.next_in = (Bytef *)(uintptr_t)buf_head(c_out);
		z->def.avail_in = (uInt)c_out->len;
		rc = deflate(&z->def, flush);
		/* Invariant: deflate only fails on a broken stream state. */
		DASSERT(rc == Z_OK || rc == Z_BUF_ERROR);
		ate = c_out->len - z->def.avail_in;
		made = room - z->def.avail_out;
		buf_consume(c_out, ate);
		z->zout.len += made;
		if (ate > 0)
			z->dirty = 1;
		/* A flush is complete when it leaves room over. */
		if (flush == Z_SYNC_FLUSH && z->def.avail_out > 0)
			z->dirty = 0;
		if (ate == 0 && made == 0 && flush == Z_NO_FLUSH)
			break;	/* cannot happen with room: be safe */
		moved = 1;
	}
	return (moved);
}

/*
 * zio_out_done(z):
 * Return nonzero if everything handed to ${z} has been written out.
 */
int
zio_out_done(const struct zio *z)
{
	return (z->zout.len == 0 && !z->dirty);
}

/*
 * zio_in_drained(z):
 * Return nonzero once the client's descriptor is at end of file and every
 * byte it sent has been inflated (or dropped as corrupt).
 */
int
zio_in_drained(const struct zio *z)
{
	return (z->in_eof && z->zin.len == 0 && !z->in_more);
}

/*
 * zio_drop(z):
 * The client is gone: drop everything ${z} holds in either direction.
 */
void
zio_drop(struct zio *z)
{
	z->in_eof = 1;
	z->in_more = 0;
	z->dirty = 0;
	buf_consume(&z->zin, z->zin.len);
	buf_consume(&z->zout, z->zout.len);
}
