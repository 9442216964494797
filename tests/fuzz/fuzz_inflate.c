/*
 * fuzz_inflate: COMPRESS=DEFLATE's layer (src/zio.c) in front of the
 * client scanner, and its compressor.
 *
 * Input: bytes 0-3 seed the split schedule, byte 4 sizes the plain buffer
 * c_in (16 to 4048 bytes, so that inflating waits for room all the time),
 * the rest is the client's compressed stream.  It is handed to the layer
 * in pieces as its buffer has room, inflated into c_in only as c_in has
 * room, and c_in is scanned and consumed as client_progress() does.  The
 * same bytes then go the other way, as if the backend had sent them: into
 * c_out in pieces, deflated with a sync flush whenever c_out ran empty,
 * and the compressed bytes drained in pieces into a reference inflater.
 *
 * Invariants checked:
 *  - nothing is written past a buffer's capacity;
 *  - no stall: when zio_could_inflate()/zio_could_deflate() say a step
 *    would move, it moves, and with input and room inflate always moves;
 *  - the plain bytes that reach c_in, however split, are a prefix of what
 *    one inflate of the whole stream gives (and all of it, once the
 *    stream was drained, unless the scanner had to wait for the server);
 *    a stream one inflate finds corrupt (or with bytes after its end) is
 *    found corrupt by the layer too;
 *  - the client holds every byte deflated so far whenever a flush is
 *    complete (c_out empty, nothing dirty): responses are never held back;
 *  - no decision of the scanner covers more bytes than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "buf.h"
#include "fuzz.h"
#include "scan.h"
#include "zio.h"

/* Plain bytes followed at most: a decompression bomb is cut short. */
#define LIMIT	(1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * ref_inflate(p, n, out, *err):
 * Inflate the ${n} bytes at ${p} at once into ${out} (LIMIT bytes); return
 * the plain length, *${err} nonzero if the stream is corrupt.
 */
static size_t
ref_inflate(const uint8_t *p, size_t n, uint8_t *out, int *err)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	CHECK(inflateInit2(&zs, -15) == Z_OK, "inflateInit2");
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = LIMIT;
	rc = inflate(&zs, Z_SYNC_FLUSH);
	*err = rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR ||
	    (rc == Z_STREAM_END && zs.avail_in > 0);
	n = LIMIT - zs.avail_out;
	(void)inflateEnd(&zs);
	return (n);
}

/*
 * client_side(p, n, sc, cap): the inflate -> scanner path.
 */
static void
client_side(const uint8_t *p, size_t n, struct sched *sc, size_t cap)
{
	static uint8_t ref[LIMIT], got[LIMIT + 65536];
	struct buf c_in, c_out;
	struct scan st;
	struct scan_act act;
	struct zio *z;
	size_t pos = 0, glen = 0, reflen, k, rounds = 0, len;
	int referr, moved, stuck = 0, could;

	reflen = ref_inflate(p, n, ref, &referr);
	CHECK(buf_init(&c_in, cap) == 0 && buf_init(&c_out, 64) == 0, "oom");
	CHECK((z = zio_start(&c_in, &c_out, "")) != NULL, "zio_start");
	CHECK(z->zout.len == 0 && z->zin.len == 0, "nothing queued");
	scan_init(&st);
	st.authenticated = 1;

	for (;;) {
		CHECK(++rounds < 4 * (n + LIMIT) + 100, "no progress");
		/* The client's bytes, as room allows (none once corrupt:
		 * the relay stops reading then). */
		k = z->in_eof ? 0 : sched_next(sc);
		if (k > n - pos)
			k = n - pos;
		if (k > buf_room(&z->zin))
			k = buf_room(&z->zin);
		(void)buf_add(&z->zin, p + pos, k);
		pos += k;
		if (pos == n)
			z->in_eof = 1;
		if (z->corrupt)
			pos = n;

		could = zio_could_inflate(z, &c_in);
		/* With input and room a live stream always moves. */
		if (z->zin.len > 0 && buf_room(&c_in) > 0 && !z->corrupt &&
		    !z->in_end)
			CHECK(could, "zio_could_inflate is 0 with input");
		len = c_in.len;
		moved = zio_inflate(z, &c_in);
		CHECK(c_in.len <= c_in.cap, "c_in overflow");
		CHECK(!could || moved || !z->in_more || c_in.len == len,
		    "could inflate but did not");
		if (c_in.len > len) {
			CHECK(glen + (c_in.len - len) <= sizeof(got), "got");
			memcpy(got + glen, buf_head(&c_in) + len,
			    c_in.len - len);
			glen += c_in.len - len;
		}

		/* The scanner, as client_progress() uses it. */
		while (!stuck && c_in.len > 0) {
			scan_client(&st, buf_head(&c_in), c_in.len,
			    zio_in_drained(z), &act);
			CHECK(act.n <= c_in.len, "act %d covers %zu of %zu",
			    act.op, act.n, c_in.len);
			if (act.op == SCAN_MORE)
				break;
			if (act.op == SCAN_WAIT || act.op == SCAN_CLOSE) {
				stuck = 1;	/* the server would answer */
				break;
			}
			if (act.op == SCAN_LITERAL &&
			    !(act.flags & LIT_NONSYNC))
				scan_client_literal(&st, 0);
			buf_consume(&c_in, act.n);
		}
		if (stuck || glen >= LIMIT)
			break;
		if (pos == n && !moved && zio_in_drained(z))
			break;
		if (pos == n && !moved && buf_room(&c_in) == 0)
			break;	/* the scanner holds a full buffer */
	}
	/* Split or not, the same plain bytes. */
	k = glen < reflen ? glen : reflen;
	CHECK(memcmp(got, ref, k) == 0, "inflated bytes differ at split");
	if (!stuck && glen < LIMIT && zio_in_drained(z) && reflen < LIMIT) {
		CHECK(glen == reflen, "inflated %zu, one inflate %zu", glen,
		    reflen);
		CHECK(!!z->corrupt == referr, "corrupt %d, one inflate %d",
		    z->corrupt, referr);
	}
	zio_free(z);
	buf_free(&c_in);
	buf_free(&c_out);
}

/*
 * server_side(p, n, sc): the compressor, with the client's own inflater.
 */
static void
server_side(const uint8_t *p, size_t n, struct sched *sc)
{
	static uint8_t got[65536 + 16];
	struct buf c_in, c_out;
	struct zio *z;
	z_stream cl;
	size_t pos = 0, fed = 0, seen = 0, k, rounds = 0;
	int could, moved, rc;

	CHECK(buf_init(&c_in, 64) == 0 && buf_init(&c_out, 512) == 0, "oom");
	CHECK((z = zio_start(&c_in, &c_out, "")) != NULL, "zio_start");
	memset(&cl, 0, sizeof(cl));
	CHECK(inflateInit2(&cl, -15) == Z_OK, "inflateInit2");
	for (;;) {
		CHECK(++rounds < 8 * n + 100, "no progress");
		k = sched_next(sc);
		if (k > n - pos)
			k = n - pos;
		if (k > buf_room(&c_out))
			k = buf_room(&c_out);
		(void)buf_add(&c_out, p + pos, k);
		pos += k;
		fed += k;
		could = zio_could_deflate(z, &c_out);
		moved = zio_deflate(z, &c_out);
		CHECK(could == moved, "could deflate %d, moved %d", could,
		    moved);
		CHECK(z->zout.len <= z->zout.cap, "zout overflow");
		/* The client reads a piece of what was deflated. */
		k = sched_next(sc);
		if (k > z->zout.len)
			k = z->zout.len;
		cl.next_in = (Bytef *)(uintptr_t)buf_head(&z->zout);
		cl.avail_in = (uInt)k;
		do {
			cl.next_out = got;
			cl.avail_out = sizeof(got);
			rc = inflate(&cl, Z_SYNC_FLUSH);
			CHECK(rc == Z_OK || rc == Z_BUF_ERROR, "client "
			    "inflate %d", rc);
			CHECK(memcmp(got, p + seen, sizeof(got) -
			    cl.avail_out) == 0, "deflated bytes differ");
			seen += sizeof(got) - cl.avail_out;
		} while (cl.avail_out == 0);
		buf_consume(&z->zout, k - cl.avail_in);
		CHECK(cl.avail_in == 0, "client left input");
		/* A complete flush, all read: the client has every byte. */
		if (c_out.len == 0 && zio_out_done(z))
			CHECK(seen == fed, "held back: %zu of %zu", seen, fed);
		if (pos == n && c_out.len == 0 && zio_out_done(z))
			break;
	}
	(void)inflateEnd(&cl);
	zio_free(z);
	buf_free(&c_in);
	buf_free(&c_out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched sc;
	size_t cap;

	if (size < 5)
		return (0);
	cap = 16 + (size_t)(data[4] % 64) * 64;
	sched_init(&sc, rd32(data), 0, 1 + data[4] % 97);
	client_side(data + 5, size - 5, &sc, cap);
	sched_init(&sc, rd32(data), 0, 1 + data[4] % 97);
	server_side(data + 5, size - 5, &sc);
	return (0);
}
