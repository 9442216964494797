/*
 * fuzz_xcmd: the EXECUTE argument parser, fed as imapexec feeds it.
 *
 * Input: bytes 0-3 a split seed, then what a client sends after
 * "tag EXECUTE".  The bytes go through the client scanner (greeted,
 * authenticated) exactly as in command.c: SCAN_TEXT and literal headers
 * to xcmd_text(), xcmd_literal() on each header (a synchronizing literal
 * that does not fit is refused, which ends the command), SCAN_DATA to
 * xcmd_data(), xcmd_end() at the line's end.  Invariants: the parser's
 * verdict and every token are the same for the seeded split and for the
 * whole input; a successful parse yields a service name that is non-empty,
 * arguments that are NUL-terminated at their length and inside the
 * buffer, an INPUT inside the buffer; the buffer never overflows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scan.h"
#include "xcmd.h"

struct res {
	int		 ended;		/* xcmd_end() was called */
	int		 rc;
	const char	*error;
	int		 toolarge;
	int		 refused;	/* a sync literal did not fit */
	size_t		 nargs;
	uint8_t		*flat;		/* service, input, args, joined */
	size_t		 flen;
};

static struct xcmd xa, xb;

static void
flat_add(struct res *r, const void *p, size_t n)
{
	r->flat = realloc(r->flat, r->flen + n + 1);
	CHECK(r->flat != NULL, "out of memory");
	memcpy(r->flat + r->flen, p, n);
	r->flen += n;
	r->flat[r->flen++] = 0xff;
}

static void
run(struct xcmd *x, struct res *r, const uint8_t *in, size_t inlen,
    struct sched *sc)
{
	static const uint8_t head[] = "t EXECUTE ";
	struct scan st;
	struct scan_act act;
	uint8_t *buf;
	size_t n = sizeof(head) - 1 + inlen, av, pos, k, i, len, idle = 0;
	const char *arg;

	memset(r, 0, sizeof(*r));
	buf = malloc(n);
	CHECK(buf != NULL, "out of memory");
	memcpy(buf, head, sizeof(head) - 1);
	memcpy(buf + sizeof(head) - 1, in, inlen);
	scan_init(&st);
	st.s_greeted = 1;
	st.authenticated = 1;
	av = pos = 0;
	xcmd_init(x);
	for (;;) {
		CHECK(++idle < 10000, "no progress");
		scan_client(&st, buf + pos, av - pos, av == n, &act);
		CHECK(act.n <= av - pos, "act covers too much");
		if (act.op == SCAN_MORE) {
			if (av == n)
				break;
			k = sched_next(sc);
			av = av + k > n ? n : av + k;
			idle = 0;
			continue;
		}
		if (act.op == SCAN_COMMAND) {
			CHECK(pos == 0 && act.cmd == CMD_EXECUTE,
			    "command %d at %zu", act.cmd, pos);
			pos += act.n;
			continue;
		}
		CHECK(pos > 0, "no command first: op %d", act.op);
		if (act.op == SCAN_WAIT || act.op == SCAN_CLOSE)
			break;
		if (act.op == SCAN_PASS)
			break;		/* the next line: not ours */
		switch (act.op) {
		case SCAN_TEXT:
			xcmd_text(x, buf + pos, act.n);
			break;
		case SCAN_LITERAL:
			xcmd_text(x, buf + pos, act.n);
			if (xcmd_literal(x, act.size) == -1 &&
			    !(act.flags & LIT_NONSYNC)) {
				scan_client_literal(&st, 0);
				r->refused = 1;
			} else if (!(act.flags & LIT_NONSYNC))
				scan_client_literal(&st, 1);
			break;
		case SCAN_DATA:
			xcmd_data(x, buf + pos, act.n);
			break;
		case SCAN_END:
			xcmd_text(x, buf + pos, act.n);
			r->ended = 1;
			break;
		default:
			CHECK(0, "op %d", act.op);
		}
		CHECK(x->used <= XCMD_MAX && x->ntok <= XCMD_ARGS,
		    "buffer overflow: used %zu ntok %zu", x->used, x->ntok);
		pos += act.n;
		idle = 0;
		if (r->ended || r->refused)
			break;
	}
	free(buf);
	if (!r->ended)
		return;
	r->rc = xcmd_end(x);
	r->error = x->error;
	r->toolarge = x->toolarge;
	CHECK(r->rc == 0 || r->error != NULL || r->toolarge,
	    "failure without a reason");
	if (r->rc != 0)
		return;
	r->nargs = xcmd_nargs(x);
	if (x->service != NULL) {
		/* An empty name ("{0}") gets past the parser; command.c
		 * refuses it as NONEXISTENT (name_ok). */
		CHECK((const uint8_t *)x->service >= x->buf &&
		    (const uint8_t *)x->service < x->buf + XCMD_MAX,
		    "service outside the buffer");
		flat_add(r, x->service, strlen(x->service));
	} else
		CHECK(r->nargs == 0 && x->input == NULL,
		    "arguments or INPUT without a service");
	if (x->input != NULL) {
		CHECK(x->input >= x->buf &&
		    x->input + x->inputlen <= x->buf + XCMD_MAX,
		    "INPUT outside the buffer");
		flat_add(r, x->input, x->inputlen);
	}
	CHECK(r->nargs <= XCMD_ARGS, "%zu arguments", r->nargs);
	for (i = 0; i < r->nargs; i++) {
		arg = xcmd_arg(x, i, &len);
		CHECK(arg != NULL, "argument %zu is NULL", i);
		CHECK((const uint8_t *)arg >= x->buf &&
		    (const uint8_t *)arg + len < x->buf + XCMD_MAX,
		    "argument %zu outside the buffer", i);
		CHECK(arg[len] == '\0', "argument %zu not terminated", i);
		flat_add(r, arg, len);
	}
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct res a, b;
	struct sched sc;
	uint32_t seed;

	if (size < 4)
		return (0);
	seed = rd32(data);
	sched_init(&sc, seed, 0, 1 + seed % 31);
	run(&xa, &a, data + 4, size - 4, &sc);
	sched_init(&sc, 0, size + 16, 0);
	run(&xb, &b, data + 4, size - 4, &sc);
	CHECK(a.ended == b.ended && a.rc == b.rc && a.refused == b.refused &&
	    a.toolarge == b.toolarge && (a.error == NULL) == (b.error == NULL),
	    "verdict differs with the split: ended %d/%d rc %d/%d",
	    a.ended, b.ended, a.rc, b.rc);
	if (a.error != NULL)
		CHECK(strcmp(a.error, b.error) == 0, "error %s vs %s",
		    a.error, b.error);
	CHECK(a.nargs == b.nargs && a.flen == b.flen && (a.flen == 0 ||
	    memcmp(a.flat, b.flat, a.flen) == 0),
	    "tokens differ with the split");
	free(a.flat);
	free(b.flat);
	return (0);
}
