/*
 * fuzz_scan_server: the server-to-client half of the scanner alone.
 *
 * Input: bytes 0-3 a split seed, then the backend's output.  It is fed in
 * seeded pieces, whole, and one byte at a time.  Invariants: no decision
 * covers more than it was given; SCAN_MORE never comes with
 * SCAN_LOOKAHEAD bytes or more, nor at end of input; no stall; the output
 * (relayed bytes plus insertions) is the same for every split; every
 * dropped piece is a capability (" STARTTLS" or " COMPRESS=..."); the
 * output is the input with only those edits: removing the inserted
 * " EXECUTE" strings and re-adding the dropped pieces gives the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "scan.h"

struct out {
	uint8_t		*p;
	size_t		 len, cap;
	uint8_t		*back;		/* input rebuilt from the decisions */
	size_t		 blen;
	size_t		 inserts;
};

static void
put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (*len + n > *cap) {
		*cap = (*len + n) * 2 + 64;
		*buf = realloc(*buf, *cap);
		CHECK(*buf != NULL, "out of memory");
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

static void
run(struct out *o, const uint8_t *s, size_t sn, struct sched *sc)
{
	struct scan st;
	struct scan_act act;
	size_t av = 0, pos = 0, n, idle = 0, k, bcap = 0;

	memset(o, 0, sizeof(*o));
	scan_init(&st);
	for (;;) {
		CHECK(++idle < 10000, "no progress at %zu of %zu", pos, sn);
		n = av - pos;
		scan_server(&st, s + pos, n, av == sn, &act);
		CHECK(act.n <= n, "act %d covers %zu of %zu", act.op, act.n, n);
		switch (act.op) {
		case SCAN_MORE:
			CHECK(n < SCAN_LOOKAHEAD, "MORE with %zu bytes", n);
			if (av == sn) {
				CHECK(n == 0, "MORE at EOF with %zu bytes", n);
				return;
			}
			k = sched_next(sc);
			av = av + k > sn ? sn : av + k;
			idle = 0;
			break;
		case SCAN_PASS:
			put(&o->p, &o->len, &o->cap, s + pos, act.n);
			put(&o->back, &o->blen, &bcap, s + pos, act.n);
			pos += act.n;
			idle = act.n ? 0 : idle;
			break;
		case SCAN_DROP:
			CHECK(act.n > 1 && s[pos] == ' ' &&
			    ((act.n == 9 && strncasecmp((const char *)s + pos +
			    1, "STARTTLS", 8) == 0) || (act.n > 10 &&
			    strncasecmp((const char *)s + pos + 1, "COMPRESS=",
			    9) == 0)), "dropped %zu bytes at %zu", act.n, pos);
			put(&o->back, &o->blen, &bcap, s + pos, act.n);
			pos += act.n;
			idle = 0;
			break;
		case SCAN_INSERT:
			CHECK(act.text != NULL && strcmp(act.text, " EXECUTE")
			    == 0, "insert of %s", act.text ? act.text : "NULL");
			CHECK(++o->inserts <= sn, "more inserts than bytes");
			put(&o->p, &o->len, &o->cap, act.text,
			    strlen(act.text));
			break;
		default:
			CHECK(0, "server op %d", act.op);
		}
	}
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out a, b;
	struct sched sc;
	uint32_t seed;

	if (size < 4)
		return (0);
	seed = rd32(data);
	data += 4;
	size -= 4;

	sched_init(&sc, seed, 0, 1 + seed % 97);
	run(&a, data, size, &sc);
	CHECK(a.blen == size && (size == 0 || memcmp(a.back, data, size) == 0),
	    "relayed plus dropped bytes are not the input");
	sched_init(&sc, 0, size + 1, 0);
	run(&b, data, size, &sc);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0),
	    "output differs between seeded and whole feeding");
	free(b.p);
	free(b.back);
	if (size <= 16384) {
		sched_init(&sc, 0, 1, 0);
		run(&b, data, size, &sc);
		CHECK(a.len == b.len && (a.len == 0 ||
		    memcmp(a.p, b.p, a.len) == 0),
		    "output differs between seeded and bytewise feeding");
		free(b.p);
		free(b.back);
	}
	free(a.p);
	free(a.back);
	return (0);
}
