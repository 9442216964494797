/*
 * COMPRESS=DEFLATE (RFC 4978) between the client and imapexec: raw
 * DEFLATE (RFC 1951, no zlib header) in both directions once the client's
 * COMPRESS has been answered OK.  The layer sits between the client's
 * descriptors and the relay's plain buffers: what the client sends is read
 * into ${zin} and inflated into c_in, where the scanner sees it; what the
 * relay queues in c_out is deflated into ${zout}, which is what is written
 * to the client.  Both steps move bytes only into room, so memory stays
 * bounded whatever the client sends (a stream that inflates to gigabytes
 * just waits for the relay to make room).
 */
#ifndef IMAPEXEC_ZIO_H
#define IMAPEXEC_ZIO_H

#include <stddef.h>

#include <zlib.h>

#include "buf.h"

/*
 * The compressor's window and memory level, chosen against the idle RSS
 * goal: zlib's deflate state takes 2^(ZIO_WBITS + 2) bytes for its window
 * and chains plus 2^(ZIO_MEMLEVEL + 8) + 2^(ZIO_MEMLEVEL + 9) for its hash
 * and pending buffers: 96 KiB with 14 and 6, against 256 KiB with zlib's
 * defaults (15 and 8), for mail within 0.2% of the defaults' size (make
 * bench, R11).  The inflater always takes the full 32 KiB window: the
 * client chooses its own.
 */
#ifndef ZIO_WBITS
#define ZIO_WBITS	14
#endif
#ifndef ZIO_MEMLEVEL
#define ZIO_MEMLEVEL	6
#endif
#ifndef ZIO_LEVEL
#define ZIO_LEVEL	6
#endif
/* Size of each compressed buffer. */
#define ZIO_BUFSZ	(16 * 1024)

struct zio {
	z_stream	 inf;		/* client's stream to c_in */
	z_stream	 def;		/* c_out to the client's stream */
	struct buf	 zin;		/* compressed, read from the client */
	struct buf	 zout;		/* compressed, to be written to it */
	int		 in_eof;	/* the client's descriptor is at EOF */
	int		 in_more;	/* inflate may have output left */
	int		 in_end;	/* the client's stream has ended */
	int		 corrupt;	/* it is corrupt: stop reading it */
	int		 told;		/* the client got its BYE for that */
	int		 dirty;		/* deflated, not yet sync-flushed */
};

/*
 * zio_start(c_in, c_out, last):
 * Turn compression on: return a new layer whose ${zin} holds the bytes of
 * ${c_in} (they came after COMPRESS, so they are compressed) and whose
 * ${zout} holds those of ${c_out} and then the line ${last} (the OK: all
 * of it stays plain); both plain buffers are left empty.  Return NULL if
 * out of memory (nothing changed then).
 */
struct zio	*zio_start(struct buf *, struct buf *, const char *);

/*
 * zio_free(z):
 * Release ${z} (which may be NULL).
 */
void	zio_free(struct zio *);

/*
 * zio_inflate(z, c_in):
 * Inflate what ${z} holds from the client into the room of ${c_in}.
 * Return nonzero if anything moved (or the stream was found corrupt, which
 * sets ${z}->corrupt and drops what the client sent).
 */
int	zio_inflate(struct zio *, struct buf *);

/*
 * zio_could_inflate(z, c_in):
 * Return nonzero if zio_inflate() would move anything now.  Pure.
 */
int	zio_could_inflate(const struct zio *, const struct buf *);

/*
 * zio_deflate(z, c_out):
 * Deflate the bytes of ${c_out} into the room of ${z}->zout, and once all
 * went in, finish with a Z_SYNC_FLUSH, so that the client holds every
 * response queued so far whole.  Return nonzero if anything moved.
 */
int	zio_deflate(struct zio *, struct buf *);

/*
 * zio_could_deflate(z, c_out):
 * Return nonzero if zio_deflate() would move anything now.  Pure.
 */
int	zio_could_deflate(const struct zio *, const struct buf *);

/*
 * zio_out_done(z):
 * Return nonzero if everything handed to ${z} has been written out.
 */
int	zio_out_done(const struct zio *);

/*
 * zio_in_drained(z):
 * Return nonzero once the client's descriptor is at end of file and every
 * byte it sent has been inflated (or dropped as corrupt).
 */
int	zio_in_drained(const struct zio *);

/*
 * zio_drop(z):
 * The client is gone: drop everything ${z} holds in either direction.
 */
void	zio_drop(struct zio *);

#endif /* !IMAPEXEC_ZIO_H */
