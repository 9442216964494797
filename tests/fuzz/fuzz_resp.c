/*
 * fuzz_resp: imapexec-run's reader of server responses (src/run/resp.c).
 *
 * Input: bytes 0-3 a split seed, then the server's bytes.  Fed whole, in
 * seeded pieces and one byte at a time.  Every first segment is parsed.
 * Invariants: no event consumes more than given, or nothing while bytes
 * remain (but RD_ERROR); a segment never exceeds RESP_LINE_MAX and is
 * NUL-terminated; literal octets are part of the input; what resp_parse
 * points to lies inside the segment; the segments, their parses and the
 * literal octets are the same for every split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "run/resp.h"

struct out {
	uint8_t		*p;
	size_t		 len, cap;
	int		 last;		/* 'S' or 'D' */
};

static struct rdr rd;

static void
put(struct out *o, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		o->p = realloc(o->p, o->cap);
		CHECK(o->p != NULL, "out of memory");
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void
inside(const struct rdr *r, const void *p, size_t n, const char *what)
{
	const uint8_t *q = p;

	CHECK(q >= r->line && q + n <= r->line + r->len + 1,
	    "%s outside the segment", what);
}

/* Record the segment in ${r} and its parse. */
static void
segment(struct out *o, struct rdr *r)
{
	struct resp re;
	uint8_t hdr[3];
	uint64_t len = r->len;

	CHECK(r->len <= RESP_LINE_MAX, "segment of %zu", r->len);
	CHECK(r->line[r->len] == '\0', "segment not NUL-terminated");
	hdr[0] = 'S';
	hdr[1] = (uint8_t)r->first;
	hdr[2] = (uint8_t)r->lit;
	put(o, hdr, 3);
	put(o, &len, sizeof(len));
	put(o, r->line, r->len);
	if (r->lit)
		put(o, &r->left, sizeof(r->left));
	if (!r->first)
		return;
	resp_parse(r->line, r->len, r->lit, &re);
	if (re.code != NULL)
		inside(r, re.code, re.codelen, "code");
	if (re.caps != NULL)
		inside(r, re.caps, re.capslen, "caps");
	if (re.data != NULL)
		inside(r, re.data, re.len, "data");
	if (re.text[0] != '\0')
		inside(r, re.text, strlen(re.text), "text");
	CHECK(memchr(re.tag, '\0', sizeof(re.tag)) != NULL, "tag");
	CHECK(memchr(re.name, '\0', sizeof(re.name)) != NULL, "name");
	CHECK(re.kind != R_EXIT || (re.number >= 0 && re.number <= 999999999),
	    "exit %ld", re.number);
	CHECK(re.kind != R_OUTPUT || re.lit || re.data != NULL, "no data");
	put(o, &re.kind, sizeof(re.kind));
	put(o, &re.status, sizeof(re.status));
	put(o, re.tag, strlen(re.tag) + 1);
	put(o, re.name, strlen(re.name) + 1);
	put(o, &re.flags, sizeof(re.flags));
	put(o, &re.number, sizeof(re.number));
	put(o, &re.lit, sizeof(re.lit));
	put(o, &re.err, sizeof(re.err));
	if (re.data != NULL)
		put(o, re.data, re.len);
	if (re.code != NULL)
		put(o, re.code, re.codelen);
	put(o, re.text, strlen(re.text));
}

static void
run(struct out *o, const uint8_t *in, size_t n, struct sched *sc)
{
	struct rd_ev ev;
	size_t pos = 0, av = 0, k;
	int idle = 0;

	memset(o, 0, sizeof(*o));
	rd_init(&rd);
	while (pos < n) {
		if (av == pos) {
			k = sched_next(sc);
			av = pos + k < n ? pos + k : n;
		}
		rd_feed(&rd, in + pos, av - pos, &ev);
		CHECK(ev.used <= av - pos, "used %zu of %zu", ev.used,
		    av - pos);
		if (ev.op == RD_ERROR) {
			put(o, "E", 1);
			return;
		}
		CHECK(ev.op == RD_MORE ? ev.used == av - pos : 1,
		    "RD_MORE left bytes");
		CHECK(ev.used > 0 || ev.op == RD_SEG, "no progress");
		CHECK(++idle < 1000000, "stall");
		if (ev.op == RD_DATA) {
			CHECK(ev.data == in + pos && ev.len == ev.used,
			    "data not the input");
			if (o->last != 'D')
				put(o, "D", 1);
			o->last = 'D';
			put(o, ev.data, ev.len);
		} else if (ev.op == RD_SEG) {
			o->last = 'S';
			segment(o, &rd);
		}
		pos += ev.used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole, piece, one;
	struct sched sc;

	if (size < 4)
		return (0);
	sched_init(&sc, 0, size, 0);
	run(&whole, data + 4, size - 4, &sc);
	sched_init(&sc, rd32(data), 0, 64);
	run(&piece, data + 4, size - 4, &sc);
	sched_init(&sc, 0, 1, 0);
	run(&one, data + 4, size - 4, &sc);
	CHECK(whole.len == piece.len && (whole.len == 0 ||
	    memcmp(whole.p, piece.p, whole.len) == 0), "split differs");
	CHECK(whole.len == one.len && (whole.len == 0 ||
	    memcmp(whole.p, one.p, whole.len) == 0), "bytewise differs");
	free(whole.p);
	free(piece.p);
	free(one.p);
	return (0);
}
