/*
 * fuzz_xinput: the parser of an interactive EXECUTE's client input.
 *
 * Input: bytes 0-3 a split seed, then the client's bytes after "+".  Fed
 * in seeded pieces with a seeded room for literal octets, whole, and one
 * byte at a time; a synchronizing literal is accepted at once; after DONE
 * or CANCEL the parser starts again on the next bytes.  Invariants: no
 * decision consumes more than given or delivers bytes from outside the
 * input or its own line buffer, literal octets never exceed the room;
 * SCAN_MORE-like waiting never happens with XIN_LINE_MAX bytes in hand or
 * more; no stall; the bytes delivered to the program (with the end of
 * line marks) and the DONE/CANCEL/literal events are the same for every
 * split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xinput.h"

struct out {
	uint8_t		*p;
	size_t		 len, cap;
};

static struct xinput xi;

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
run(struct out *o, const uint8_t *in, size_t n, struct sched *sc,
    struct sched *room)
{
	struct xin_act act;
	size_t av = 0, pos = 0, k, r, idle = 0;
	char ev[32];
	int held = 0;

	memset(o, 0, sizeof(*o));
	xin_init(&xi);
	for (;;) {
		CHECK(++idle < 100000, "no progress at %zu", pos);
		/* xin_scan() is promised at least XIN_LINE_MAX of room. */
		r = XIN_LINE_MAX + sched_next(room);
		xin_scan(&xi, in + pos, av - pos, r, &act);
		CHECK(act.n <= av - pos, "act %d covers %zu of %zu", act.op,
		    act.n, av - pos);
		switch (act.op) {
		case XIN_MORE:
			CHECK(av - pos < XIN_LINE_MAX || held,
			    "MORE with %zu bytes", av - pos);
			if (held) {
				xin_accept(&xi);
				held = 0;
				put(o, "+", 1);
				continue;
			}
			if (av == n)
				return;
			k = sched_next(sc);
			av = av + k > n ? n : av + k;
			idle = 0;
			continue;
		case XIN_BYTES:
			CHECK(act.len <= XIN_LINE_MAX || (act.data >= in + pos &&
			    act.data + act.len <= in + pos + act.n),
			    "delivery outside its source");
			if (act.data != xi.line)
				CHECK(act.data >= in + pos &&
				    act.data + act.len <= in + pos + act.n,
				    "delivery outside the input");
			else
				CHECK(act.len <= XIN_LINE_MAX,
				    "line buffer overrun");
			put(o, act.data, act.len);
			if (act.eol)
				put(o, "\n<EOL>\n", 7);
			break;
		case XIN_LITERAL:
			snprintf(ev, sizeof(ev), "<LIT %llu %d>",
			    (unsigned long long)act.size, act.sync);
			put(o, ev, strlen(ev));
			held = act.sync;
			break;
		case XIN_DONE:
		case XIN_CANCEL:
			put(o, act.op == XIN_DONE ? "<DONE>" : "<CANCEL>", 6 +
			    2 * (act.op == XIN_CANCEL));
			pos += act.n;
			xin_init(&xi);
			idle = 0;
			continue;
		}
		if (act.op == XIN_BYTES && act.len > 0 && act.n == 0)
			CHECK(0, "bytes delivered without consuming input");
		pos += act.n;
		if (act.n > 0)
			idle = 0;
	}
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out a, b;
	struct sched sc, room;
	uint32_t seed;

	if (size < 4)
		return (0);
	seed = rd32(data);
	data += 4;
	size -= 4;
	sched_init(&sc, seed, 0, 1 + seed % 61);
	sched_init(&room, seed ^ 0xdeadbeefu, 0, 1 + (seed >> 8) % 13);
	run(&a, data, size, &sc, &room);
	sched_init(&sc, 0, size + 1, 0);
	sched_init(&room, 0, size + 1, 0);
	run(&b, data, size, &sc, &room);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0),
	    "delivery differs between seeded and whole feeding");
	free(b.p);
	if (size <= 16384) {
		sched_init(&sc, 0, 1, 0);
		sched_init(&room, 0, 1, 0);
		run(&b, data, size, &sc, &room);
		CHECK(a.len == b.len && (a.len == 0 ||
		    memcmp(a.p, b.p, a.len) == 0),
		    "delivery differs between seeded and bytewise feeding");
		free(b.p);
	}
	free(a.p);
	return (0);
}
