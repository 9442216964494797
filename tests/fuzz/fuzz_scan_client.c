/*
 * fuzz_scan_client: the IMAP stream scanner, both directions, as imapexec
 * drives it.
 *
 * Input: byte 0 flags (unused bits reserved), bytes 1-2 the length L of
 * the client stream (little endian, clamped), bytes 3-6 a split seed, then
 * L client bytes, then the server stream.  The streams are fed to the
 * scanner in pieces whose sizes come from the seed; the server is read
 * only while the client is held (or once the client stream is over), one
 * decision at a time, which is one of the orders imapexec may see.  Own
 * synchronizing literals are accepted when they announce at most 64 KiB.
 *
 * Invariants checked:
 *  - no decision covers more bytes than it was given; SCAN_MORE never
 *    comes with SCAN_LOOKAHEAD bytes or more, nor at end of input;
 *  - no stall: every run of decisions consumes bytes or changes state;
 *  - a literal's octets are never reported as a command: no command line
 *    (own or relayed) starts inside the octets of a non-synchronizing
 *    literal, of a synchronizing one the backend accepted with "+", or of
 *    an own literal that was accepted, and they are relayed or fed as data;
 *  - split independence: the run with the seeded schedule, the run with
 *    every byte at once and the run one byte at a time yield the same
 *    decision for every client byte, the same commands, literal headers
 *    and closes at the same offsets, and the same server output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scan.h"

/* scan_client.c's state of a client held for the backend (C_HOLD). */
#define C_HOLD_STATE	6

/* Client byte labels. */
enum { L_NONE = 0, L_PASS, L_COMMAND, L_TEXT, L_DATA };

/* A boundary event: what, where, details. */
struct ev {
	uint8_t		 kind;	/* 'C' own command, 'T' relayed tag, 'L'
				 * literal header, 'E' end of an own
				 * command's line, 'X' close */
	size_t		 off;
	uint64_t	 a, b;
};

struct run {
	uint8_t		*clabel;	/* per client byte */
	struct ev	*ev;
	size_t		 nev, evcap;
	uint8_t		*out;		/* server output as relayed */
	size_t		 outlen, outcap;
	size_t		 cdone;		/* client bytes consumed */
};

static void
ev_add(struct run *r, uint8_t kind, size_t off, uint64_t a, uint64_t b)
{
	if (r->nev == r->evcap) {
		r->evcap = r->evcap ? r->evcap * 2 : 64;
		r->ev = realloc(r->ev, r->evcap * sizeof(*r->ev));
		CHECK(r->ev != NULL, "out of memory");
	}
	r->ev[r->nev].kind = kind;
	r->ev[r->nev].off = off;
	r->ev[r->nev].a = a;
	r->ev[r->nev].b = b;
	r->nev++;
}

static void
out_add(struct run *r, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (r->outlen + n > r->outcap) {
		r->outcap = (r->outlen + n) * 2 + 64;
		r->out = realloc(r->out, r->outcap);
		CHECK(r->out != NULL, "out of memory");
	}
	memcpy(r->out + r->outlen, p, n);
	r->outlen += n;
}

static uint8_t
label(enum scan_op op)
{
	switch (op) {
	case SCAN_PASS: return (L_PASS);
	case SCAN_COMMAND: return (L_COMMAND);
	/* The bytes of an own command's line all go to the same parser;
	 * where a piece ends depends on the split (the 'L' and 'E' events
	 * mark where headers and the line end). */
	case SCAN_TEXT:
	case SCAN_LITERAL:
	case SCAN_END: return (L_TEXT);
	case SCAN_DATA: return (L_DATA);
	default: return (L_NONE);
	}
}

/*
 * run(r, c, cn, s, sn, csched, ssched): one session; fill in ${r}.
 */
static void
run(struct run *r, const uint8_t *c, size_t cn, const uint8_t *s, size_t sn,
    struct sched *cs, struct sched *ss)
{
	struct scan st;
	struct scan_act act;
	size_t cav = 0, cpos = 0, sav = 0, spos = 0, n, idle = 0, k;
	size_t lit_lo = 0, lit_hi = 0;	/* literal octets [lo, hi) */
	size_t sync_end = 0;
	uint64_t sync_size = 0;
	int sync_pending = 0, plus_seen = 0, client_over = 0, done = 0;
	int was_line, held, heldlit;
	size_t before;
	uint8_t sbefore;

	memset(r, 0, sizeof(*r));
	r->clabel = calloc(cn + 1, 1);
	CHECK(r->clabel != NULL, "out of memory");
	scan_init(&st);

	while (!done) {
		CHECK(++idle < 10000, "no progress (client %zu/%zu, server "
		    "%zu/%zu)", cpos, cn, spos, sn);
		held = 0;
		if (!client_over) {
			n = cav - cpos;
			was_line = st.c_state == 0;
			before = scan_pending(&st);
			scan_client(&st, c + cpos, n, cav == cn, &act);
			CHECK(act.n <= n, "client act %d covers %zu of %zu",
			    act.op, act.n, n);
			switch (act.op) {
			case SCAN_MORE:
				CHECK(n < SCAN_LOOKAHEAD,
				    "client MORE with %zu bytes", n);
				if (cav < cn) {
					k = sched_next(cs);
					cav = cav + k > cn ? cn : cav + k;
					idle = 0;
				} else {
					CHECK(n == 0, "client MORE at EOF "
					    "with %zu bytes", n);
					client_over = 1;
				}
				continue;
			case SCAN_WAIT:
				held = 1;
				break;
			case SCAN_CLOSE:
				CHECK(act.text != NULL, "close without text");
				ev_add(r, 'X', cpos, 0, 0);
				client_over = 1;
				continue;
			default:
				break;
			}
			if (!held) {
				if (sync_pending) {
					/* The first step after a held sync
					 * literal: were its octets accepted? */
					if (plus_seen && sync_size > 0) {
						lit_lo = sync_end;
						lit_hi = sync_end + sync_size;
					}
					sync_pending = plus_seen = 0;
				}
				if (act.op == SCAN_COMMAND ||
				    (act.op == SCAN_PASS && was_line &&
				    scan_pending(&st) > before)) {
					CHECK(!(cpos >= lit_lo && cpos < lit_hi),
					    "command at %zu inside literal "
					    "octets [%zu, %zu)", cpos, lit_lo,
					    lit_hi);
					ev_add(r, act.op == SCAN_COMMAND ? 'C' :
					    'T', cpos, act.cmd, act.taglen);
				}
				for (k = cpos; k < cpos + act.n; k++) {
					r->clabel[k] = label(act.op);
					if (k >= lit_lo && k < lit_hi)
						CHECK(act.op == SCAN_PASS ||
						    act.op == SCAN_DATA,
						    "literal octet %zu got op %d",
						    k, act.op);
				}
				cpos += act.n;
				if (act.op == SCAN_END)
					ev_add(r, 'E', cpos, 0, 0);
				if (act.n > 0)
					idle = 0;
				if (act.op == SCAN_LITERAL ||
				    (act.op == SCAN_PASS &&
				    (act.size > 0 || act.flags != 0))) {
					ev_add(r, 'L', cpos, act.size,
					    act.flags);
					if (act.flags & LIT_NONSYNC) {
						lit_lo = cpos;
						lit_hi = cpos + act.size;
					} else if (act.op == SCAN_LITERAL) {
						int ok = act.size <= 65536;

						scan_client_literal(&st, ok);
						if (ok) {
							lit_lo = cpos;
							lit_hi = cpos + act.size;
						}
						idle = 0;
					} else {
						sync_pending = 1;
						plus_seen = 0;
						sync_end = cpos;
						sync_size = act.size;
					}
				}
				continue;
			}
		}

		/* The client is held or over: one server decision. */
		n = sav - spos;
		sbefore = st.s_state;
		heldlit = st.c_state == C_HOLD_STATE;
		scan_server(&st, s + spos, n, sav == sn, &act);
		CHECK(act.n <= n, "server act %d covers %zu of %zu", act.op,
		    act.n, n);
		switch (act.op) {
		case SCAN_MORE:
			CHECK(n < SCAN_LOOKAHEAD, "server MORE with %zu bytes",
			    n);
			if (sav < sn) {
				k = sched_next(ss);
				sav = sav + k > sn ? sn : sav + k;
				idle = 0;
			} else {
				CHECK(n == 0, "server MORE at EOF with %zu "
				    "bytes", n);
				done = 1;	/* all said; a held client stays */
			}
			break;
		case SCAN_PASS:
			/* A held synchronizing literal is decided by the
			 * response that releases the client: "+" (its octets
			 * follow) or a tagged one (they do not). */
			if (sync_pending && heldlit &&
			    st.c_state != C_HOLD_STATE)
				plus_seen = sbefore == 0 && act.n > 0 &&
				    s[spos] == '+';
			out_add(r, s + spos, act.n);
			spos += act.n;
			if (act.n > 0)
				idle = 0;
			break;
		case SCAN_DROP:
			spos += act.n;
			if (act.n > 0)
				idle = 0;
			break;
		case SCAN_INSERT:
			CHECK(act.text != NULL, "insert without text");
			out_add(r, act.text, strlen(act.text));
			break;
		default:
			CHECK(0, "server op %d", act.op);
		}
	}
	r->cdone = cpos;
}

static void
run_free(struct run *r)
{
	free(r->clabel);
	free(r->ev);
	free(r->out);
}

static void
compare(const struct run *a, const struct run *b, size_t cn, const char *what)
{
	size_t i;

	CHECK(a->cdone == b->cdone, "%s: client consumed %zu vs %zu", what,
	    a->cdone, b->cdone);
	for (i = 0; i < cn; i++)
		CHECK(a->clabel[i] == b->clabel[i], "%s: byte %zu labelled "
		    "%d vs %d", what, i, a->clabel[i], b->clabel[i]);
	CHECK(a->nev == b->nev, "%s: %zu vs %zu events", what, a->nev,
	    b->nev);
	for (i = 0; i < a->nev; i++)
		CHECK(a->ev[i].kind == b->ev[i].kind &&
		    a->ev[i].off == b->ev[i].off && a->ev[i].a == b->ev[i].a &&
		    a->ev[i].b == b->ev[i].b, "%s: event %zu: %c@%zu vs %c@%zu",
		    what, i, a->ev[i].kind, a->ev[i].off, b->ev[i].kind,
		    b->ev[i].off);
	CHECK(a->outlen == b->outlen && (a->outlen == 0 ||
	    memcmp(a->out, b->out, a->outlen) == 0),
	    "%s: server output differs (%zu vs %zu bytes)", what, a->outlen,
	    b->outlen);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run ra, rb, rc;
	struct sched cs, ss;
	const uint8_t *c, *s;
	size_t cn, sn;
	uint32_t seed;

	if (size < 7)
		return (0);
	cn = (size_t)data[1] | (size_t)data[2] << 8;
	seed = rd32(data + 3);
	data += 7;
	size -= 7;
	if (cn > size)
		cn = size;
	c = data;
	s = data + cn;
	sn = size - cn;

	sched_init(&cs, seed, 0, 1 + seed % 61);
	sched_init(&ss, seed ^ 0x5bd1e995u, 0, 1 + (seed >> 8) % 61);
	run(&ra, c, cn, s, sn, &cs, &ss);

	sched_init(&cs, 0, cn + sn + 1, 0);
	sched_init(&ss, 0, cn + sn + 1, 0);
	run(&rb, c, cn, s, sn, &cs, &ss);
	compare(&ra, &rb, cn, "seeded vs whole");
	run_free(&rb);

	if (cn + sn <= 16384) {
		sched_init(&cs, 0, 1, 0);
		sched_init(&ss, 0, 1, 0);
		run(&rc, c, cn, s, sn, &cs, &ss);
		compare(&ra, &rc, cn, "seeded vs bytewise");
		run_free(&rc);
	}
	run_free(&ra);
	return (0);
}
