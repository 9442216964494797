/*
 * Unit tests of the IMAP stream scanner (lex.c, tags.c, scan_client.c and
 * scan_server.c).  Whole sessions, scripts of client and server writes,
 * are driven through the scanner the way relay.c drives it, once with
 * every write whole and again split into chunks of 1, 2, 3 and 7 bytes
 * and of random sizes; every split must give the same result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

/* A growable byte string. */
struct str {
	char		*p;
	size_t		 len;
	size_t		 cap;
};

/*
 * One write of a session script: 'C' from the client, 'S' the server; 'P'
 * is the moment the caller sends the probe (tag PTAG) to the backend; 'L',
 * first if at all, makes it a post-login session with sync token STOK;
 * 'H' adds the bytes held unscanned at that moment to the result's held
 * count (before the end of input, which releases every wait).
 */
struct step {
	char		 dir;
	const char	*p;
	size_t		 n;
};

#define C(s)	{ 'C', (s), sizeof(s) - 1 }
#define S(s)	{ 'S', (s), sizeof(s) - 1 }
#define P()	{ 'P', "", 0 }
#define L()	{ 'L', "", 0 }
#define H()	{ 'H', "", 0 }
#define END	{ 0, NULL, 0 }

/* The probe tag of the 'P' steps. */
#define PTAG	"0123456789abcdef0123456789abcdef"
/* The post-login sync token of the 'L' steps. */
#define STOK	"fedcba9876543210fedcba9876543210"


/* What a session did. */
struct result {
	struct str	 to_server;	/* client bytes relayed */
	struct str	 to_client;	/* server bytes, edits, replies */
	struct str	 events;	/* own commands, see event() */
	struct str	 cmds;		/* "tag name" of each command */
	struct str	 errors;	/* the driver's complaints */
	size_t		 pending;	/* scan_pending() at the end */
	size_t		 c_left;	/* client bytes not consumed */
	size_t		 s_left;	/* server bytes not consumed */
	int		 held;		/* last client answer: WAIT */
	int		 closed;	/* SCAN_CLOSE was returned */
	int		 failed;	/* the scanner failed closed */
	int		 probe;		/* enum scan_probe at the end */
	size_t		 heldbytes;	/* bytes held at the 'H' steps */
};

/* The driver: relay.c in miniature. */
struct run {
	struct scan	 st;
	struct str	 cin;		/* client bytes not consumed */
	struct str	 sin;		/* server bytes not consumed */
	int		 accept;	/* answer to own sync literals */
	int		 eof;		/* both peers are done */
	int		 own;		/* an own command is running */
	int		 reading;	/* its line is still coming */
	int		 reply;		/* its reply is due */
	int		 refused;	/* ... and it is a refusal */
	int		 indata;	/* the last event was SCAN_DATA */
	char		 tag[SCAN_TAG_MAX + 1];
	struct result	*r;
};

static int passed, failed;

/*
 * str_add(s, p, n):
 * Append the ${n} bytes at ${p} to ${s}.
 */
static void
str_add(struct str *s, const void *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		if ((s->p = realloc(s->p, s->cap)) == NULL)
			abort();
	}
	if (n > 0)
		memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

/*
 * str_adds(s, z):
 * Append the string ${z} to ${s}.
 */
static void
str_adds(struct str *s, const char *z)
{
	str_add(s, z, strlen(z));
}

/*
 * str_esc(s, p, n):
 * Append the ${n} bytes at ${p} to ${s}, with CR, LF, backslash and other
 * unprintable bytes written as C escapes.
 */
static void
str_esc(struct str *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	char x[8];
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] == '\r')
			str_adds(s, "\\r");
		else if (b[i] == '\n')
			str_adds(s, "\\n");
		else if (b[i] == '\\')
			str_adds(s, "\\\\");
		else if (b[i] < 0x20 || b[i] > 0x7e) {
			snprintf(x, sizeof(x), "\\x%02x", b[i]);
			str_adds(s, x);
		} else
			str_add(s, b + i, 1);
	}
}

/*
 * str_consume(s, n):
 * Remove the first ${n} bytes of ${s}.
 */
static void
str_consume(struct str *s, size_t n)
{
	memmove(s->p, s->p + n, s->len - n);
	s->len -= n;
}

/*
 * str_free(s):
 * Release the memory of ${s} and empty it.
 */
static void
str_free(struct str *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

/*
 * check(ok, file, line, what):
 * Count a check whose outcome is ${ok}; report a failure of ${what} at
 * ${file}:${line}.
 */
static void
check(int ok, const char *file, int line, const char *what)
{
	if (ok)
		passed++;
	else {
		failed++;
		printf("FAIL %s:%d: %s\n", file, line, what);
	}
}

/*
 * check_mem(file, line, what, got, want, n):
 * Check that the string ${got} holds exactly the ${n} bytes at ${want};
 * report both, escaped, if not.
 */
static void
check_mem(const char *file, int line, const char *what,
    const struct str *got, const char *want, size_t n)
{
	struct str m = { 0 };

	if (got->len == n && (n == 0 || memcmp(got->p, want, n) == 0)) {
		passed++;
		return;
	}
	failed++;
	str_adds(&m, "\n    got:  \"");
	str_esc(&m, got->p, got->len);
	str_adds(&m, "\"\n    want: \"");
	str_esc(&m, want, n);
	printf("FAIL %s:%d: %s%s\"\n", file, line, what, m.p);
	str_free(&m);
}

/*
 * check_num(file, line, what, got, want):
 * Check that ${got} equals ${want}; report both if not.
 */
static void
check_num(const char *file, int line, const char *what, uint64_t got,
    uint64_t want)
{
	if (got == want) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s:%d: %s: got %llu, want %llu\n", file, line, what,
	    (unsigned long long)got, (unsigned long long)want);
}

#define CHECK(e)	check(!!(e), __FILE__, __LINE__, #e)
#define CHECK_STR(got, want) \
	check_mem(__FILE__, __LINE__, #got, &(got), (want), sizeof(want) - 1)
#define CHECK_MEM(got, want, n) \
	check_mem(__FILE__, __LINE__, #got, &(got), (want), (n))
#define CHECK_NUM(got, want) \
	check_num(__FILE__, __LINE__, #got, (uint64_t)(got), (uint64_t)(want))

/*
 * cmd_name(cmd):
 * Return the name of own command ${cmd} as the scanner reports it.
 */
static const char *
cmd_name(enum scan_cmd cmd)
{
	switch (cmd) {
	case CMD_EXECUTE:
		return ("EXECUTE");
	case CMD_COMPRESS:
		return ("COMPRESS");
	case CMD_STARTTLS:
		return ("STARTTLS");
	default:
		return ("?");
	}
}

/*
 * record_cmd(r, p, n):
 * Add the ${n} bytes "tag SP name" at ${p} to the command list of ${r}.
 */
static void
record_cmd(struct result *r, const uint8_t *p, size_t n)
{
	if (r->cmds.len > 0)
		str_adds(&r->cmds, "|");
	str_add(&r->cmds, p, n);
}

/*
 * event(u, act, p):
 * Render the own command event ${act} covering the bytes at ${p} into the
 * events of ${u}, so that the rendering does not depend on how the bytes
 * were split: line bytes are written as they are, markers in brackets.
 */
static void
event(struct run *u, const struct scan_act *act, const uint8_t *p)
{
	struct str *e = &u->r->events;
	char x[64];

	if (u->indata && act->op != SCAN_DATA)
		str_adds(e, "]");
	if (!u->indata && act->op == SCAN_DATA)
		str_adds(e, "[DATA ");
	u->indata = act->op == SCAN_DATA;
	switch (act->op) {
	case SCAN_COMMAND:
		snprintf(x, sizeof(x), "[%s ", cmd_name(act->cmd));
		str_adds(e, x);
		str_add(e, p, act->taglen);
		str_adds(e, "]");
		break;
	case SCAN_LITERAL:
		str_esc(e, p, act->n);
		snprintf(x, sizeof(x), "[LIT %s%llu%s]",
		    act->flags & LIT_BINARY ? "~" : "",
		    (unsigned long long)act->size,
		    act->flags & LIT_NONSYNC ? "+" : "");
		str_adds(e, x);
		break;
	case SCAN_END:
		str_esc(e, p, act->n);
		str_adds(e, "[END]");
		break;
	case SCAN_CLOSE:
		str_adds(e, "[CLOSE]");
		break;
	default:
		str_esc(e, p, act->n);
		break;
	}
}

/*
 * own_done(u):
 * The own command of ${u} has read its line: its reply is due.
 */
static void
own_done(struct run *u)
{
	u->reading = 0;
	u->reply = 1;
}

/*
 * client_progress(u):
 * Scan what the client sent, as relay.c does.  Return nonzero if anything
 * was done.
 */
static int
client_progress(struct run *u)
{
	struct result *r = u->r;
	struct scan_act act;
	const uint8_t *p;
	size_t before;
	int moved = 0, idle = 0;

	for (;;) {
		if (r->closed) {
			moved |= u->cin.len > 0;
			str_consume(&u->cin, u->cin.len);
			break;
		}
		if (u->own && !u->reading)
			break;
		p = (const uint8_t *)u->cin.p;
		before = scan_pending(&u->st);
		scan_client(&u->st, p, u->cin.len, u->eof, &act);
		r->held = act.op == SCAN_WAIT;
		if (act.op == SCAN_MORE || act.op == SCAN_WAIT) {
			if (act.op == SCAN_MORE && !u->eof &&
			    u->cin.len >= SCAN_LOOKAHEAD)
				str_adds(&r->errors, "client lookahead;");
			break;
		}
		if (act.n > u->cin.len) {
			str_adds(&r->errors, "client overrun;");
			break;
		}
		if (act.n == 0 && ++idle > 8) {
			str_adds(&r->errors, "client stuck;");
			break;
		}
		switch (act.op) {
		case SCAN_PASS:
			if (scan_pending(&u->st) > before)
				record_cmd(r, p, act.n);
			str_add(&r->to_server, p, act.n);
			break;
		case SCAN_CLOSE:
			event(u, &act, p);
			str_adds(&r->to_client, act.text);
			r->closed = 1;
			break;
		case SCAN_COMMAND:
			if (act.taglen >= act.n || p[act.taglen] != ' ' ||
			    act.n - act.taglen - 1 != strlen(cmd_name(act.cmd)))
				str_adds(&r->errors, "command length;");
			record_cmd(r, p, act.n);
			memcpy(u->tag, p, act.taglen);
			u->tag[act.taglen] = '\0';
			/* Blind, no own command is ever taken up. */
			if (!scan_aligned(&u->st))
				str_adds(&r->errors, "own command blind;");
			u->own = u->reading = 1;
			event(u, &act, p);
			break;
		case SCAN_TEXT:
		case SCAN_DATA:
		case SCAN_LITERAL:
		case SCAN_END:
			if (!u->own)
				str_adds(&r->errors, "own event outside;");
			event(u, &act, p);
			if (act.op == SCAN_END)
				own_done(u);
			if (act.op == SCAN_LITERAL &&
			    !(act.flags & LIT_NONSYNC)) {
				scan_client_literal(&u->st, u->accept);
				str_adds(&r->events,
				    u->accept ? "[+]" : "[NO]");
				if (!u->accept)
					own_done(u);
			}
			break;
		default:
			str_adds(&r->errors, "client op;");
			return (moved);
		}
		str_consume(&u->cin, act.n);
		moved = 1;
	}
	return (moved);
}

/*
 * server_progress(u):
 * Scan what the server sent, as relay.c does, and send the reply of an
 * own command once the server stands between lines.  Return nonzero if
 * anything was done.
 */
static int
server_progress(struct run *u)
{
	struct result *r = u->r;
	struct scan_act act;
	int moved = 0, idle = 0;

	for (;;) {
		if (u->reply && scan_server_at_line(&u->st)) {
			str_adds(&r->to_client, u->tag);
			str_adds(&r->to_client, u->refused ? " NO closed\r\n" :
			    " OK own\r\n");
			u->own = u->reply = u->refused = 0;
			moved = 1;
			continue;
		}
		if (u->own && scan_server_at_line(&u->st))
			break;
		if (u->sin.len == 0)
			break;
		scan_server(&u->st, (const uint8_t *)u->sin.p, u->sin.len,
		    u->eof, &act);
		if (act.op == SCAN_MORE) {
			if (!u->eof && u->sin.len >= SCAN_LOOKAHEAD)
				str_adds(&r->errors, "server lookahead;");
			break;
		}
		if (act.n > u->sin.len) {
			str_adds(&r->errors, "server overrun;");
			break;
		}
		if (act.n == 0 && ++idle > 8) {
			str_adds(&r->errors, "server stuck;");
			break;
		}
		switch (act.op) {
		case SCAN_PASS:
			str_add(&r->to_client, u->sin.p, act.n);
			break;
		case SCAN_DROP:
			break;
		case SCAN_INSERT:
			str_adds(&r->to_client, act.text);
			break;
		default:
			str_adds(&r->errors, "server op;");
			return (moved);
		}
		str_consume(&u->sin, act.n);
		moved = 1;
	}
	return (moved);
}

/*
 * pump(u):
 * Let both directions of ${u} run until neither can move.
 */
static void
pump(struct run *u)
{
	int i;

	for (i = 0; i < 100000; i++)
		if (!(client_progress(u) | server_progress(u)))
			return;
	str_adds(&u->r->errors, "pump loops;");
}

/*
 * rng_next(x):
 * Return the next number of the xorshift generator with state ${x}.
 */
static uint32_t
rng_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return (*x);
}

/*
 * run_once(steps, accept, split, r):
 * Play the script ${steps} through a fresh scanner, answering own sync
 * literals with ${accept}, and store what happened in ${r}.  Each write
 * arrives whole if ${split} is 0, in ${split}-byte chunks if it is
 * positive, and in random chunks (seed -${split}) if negative.
 */
static void
run_once(const struct step *steps, int accept, int split, struct result *r)
{
	struct run u;
	uint32_t rng = (uint32_t)(split < 0 ? -split : 1) * 2654435761u;
	const struct step *s;
	size_t off, k;

	memset(&u, 0, sizeof(u));
	memset(r, 0, sizeof(*r));
	scan_init(&u.st);
	u.accept = accept;
	u.r = r;
	for (s = steps; s->dir != 0; s++) {
		if (s->dir == 'P') {
			scan_probe_sent(&u.st, PTAG);
			continue;
		}
		if (s->dir == 'L') {
			scan_postlogin(&u.st, STOK);
			continue;
		}
		if (s->dir == 'H') {
			r->heldbytes += u.cin.len + u.sin.len;
			continue;
		}
		for (off = 0; off < s->n; off += k) {
			if (split == 0)
				k = s->n;
			else if (split > 0)
				k = (size_t)split;
			else
				k = 1 + rng_next(&rng) % 11;
			if (k > s->n - off)
				k = s->n - off;
			str_add(s->dir == 'C' ? &u.cin : &u.sin, s->p + off, k);
			pump(&u);
		}
	}
	u.eof = 1;
	pump(&u);
	if (u.indata)
		str_adds(&r->events, "]");
	r->pending = scan_pending(&u.st);
	r->failed = u.st.failed != NULL;
	r->probe = u.st.probe;
	r->c_left = u.cin.len;
	r->s_left = u.sin.len;
	str_free(&u.cin);
	str_free(&u.sin);
}

/*
 * result_free(r):
 * Release the memory held by ${r}.
 */
static void
result_free(struct result *r)
{
	str_free(&r->to_server);
	str_free(&r->to_client);
	str_free(&r->events);
	str_free(&r->cmds);
	str_free(&r->errors);
}

/*
 * same_str(a, b):
 * Return nonzero if ${a} and ${b} hold the same bytes.
 */
static int
same_str(const struct str *a, const struct str *b)
{
	return (a->len == b->len && (a->len == 0 ||
	    memcmp(a->p, b->p, a->len) == 0));
}

/*
 * session(line, steps, accept, r):
 * Play ${steps} (see run_once()) at every split, check that all splits
 * agree and that the driver had no complaint, and store the result of
 * whole writes in ${r}.  ${line} names the caller in failure reports.
 */
static void
session(int line, const struct step *steps, int accept, struct result *r)
{
	static const int splits[] = { 1, 2, 3, 7, -1, -2, -3, -4, -5 };
	struct result o;
	size_t i;
	int same;

	run_once(steps, accept, 0, r);
	check_mem(__FILE__, line, "driver errors", &r->errors, "", 0);
	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		run_once(steps, accept, splits[i], &o);
		same = same_str(&r->to_server, &o.to_server) &&
		    same_str(&r->to_client, &o.to_client) &&
		    same_str(&r->events, &o.events) &&
		    same_str(&r->cmds, &o.cmds) &&
		    same_str(&r->errors, &o.errors) &&
		    r->pending == o.pending && r->c_left == o.c_left &&
		    r->s_left == o.s_left && r->held == o.held &&
		    r->closed == o.closed && r->failed == o.failed &&
		    r->heldbytes == o.heldbytes &&
		    r->probe == o.probe;
		check(same, __FILE__, line, "result independent of split");
		if (!same) {
			printf("    split %d: cmds \"%s\" vs \"%s\", "
			    "events \"%s\" vs \"%s\", errors \"%s\"\n",
			    splits[i], r->cmds.p ? r->cmds.p : "",
			    o.cmds.p ? o.cmds.p : "",
			    r->events.p ? r->events.p : "",
			    o.events.p ? o.events.p : "",
			    o.errors.p ? o.errors.p : "");
		}
		result_free(&o);
	}
}

#define RUN(r, accept, ...) \
	session(__LINE__, (const struct step[]){ __VA_ARGS__, END }, \
	    (accept), &(r))

/*
 * test_plain():
 * Plain commands in any case are relayed and recognised.
 */
static void
test_plain(void)
{
	struct result r;

	RUN(r, 1, C("a NOOP\r\nB2 noop\r\nc0 Select INBOX\r\n"
	    "d UID fetch 1 (FLAGS)\r\ne\r\nf  NOOP\r\n"));
	CHECK_STR(r.cmds, "a NOOP|B2 noop|c0 Select|d UID|e|f");
	CHECK_STR(r.to_server, "a NOOP\r\nB2 noop\r\nc0 Select INBOX\r\n"
	    "d UID fetch 1 (FLAGS)\r\ne\r\nf  NOOP\r\n");
	CHECK_NUM(r.pending, 6);
	CHECK(!r.held);
	result_free(&r);

	/* Odd but valid tags: '}', '[', '~', '!' and DEL; bare LF. */
	RUN(r, 1, C("}a NOOP\n[x NOOP\r\n~t NOOP\r\n!x NOOP\r\nq\x7f NOOP\n"),
	    S("}a OK\r\n[x OK\r\n~t OK\r\n!x OK\r\nq\x7f OK\r\n"));
	CHECK_STR(r.cmds, "}a NOOP|[x NOOP|~t NOOP|!x NOOP|q\x7f NOOP");
	CHECK_NUM(r.pending, 0);
	result_free(&r);

	/* A bare CR does not end a line; the end of input ends a word. */
	RUN(r, 1, C("a NOOP\rb NOOP\r\nc NOO"));
	CHECK_STR(r.cmds, "a NOOP|c NOO");
	CHECK_NUM(r.c_left, 0);
	result_free(&r);
}

/*
 * test_auth():
 * AUTHENTICATE: each client line after "+" is no command; its tagged OK
 * does not authenticate (only a PREAUTH greeting does).  A rejected
 * LOGIN's literal is no literal.
 */
static void
test_auth(void)
{
	struct result r;

	RUN(r, 1, S("* OK hi\r\n"), C("a AUTHENTICATE PLAIN\r\n"
	    "AGZvbwBiYXI=\r\n"));
	CHECK(r.held);
	CHECK_STR(r.to_server, "a AUTHENTICATE PLAIN\r\n");
	result_free(&r);

	RUN(r, 1, S("* OK hi\r\n"), C("a AUTHENTICATE PLAIN\r\n"
	    "AGZvbwBiYXI=\r\nx EXECUTE\r\n"), S("+ \r\n"), S("+ \r\n"),
	    S("a OK [CAPABILITY IMAP4rev1] done\r\n"), C("b NOOP\r\n"));
	CHECK_STR(r.cmds, "a AUTHENTICATE|b NOOP");
	CHECK_STR(r.events, "");
	CHECK_STR(r.to_client, "* OK hi\r\n+ \r\n+ \r\n"
	    "a OK [CAPABILITY IMAP4rev1] done\r\n");
	CHECK(!r.failed);
	result_free(&r);

	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a LOGIN {3}\r\n"),
	    S("a BAD Error in IMAP command LOGIN: Unknown command\r\n"),
	    C("abc\r\nb NOOP\r\n"));
	CHECK_STR(r.cmds, "a LOGIN|abc|b NOOP");
	result_free(&r);
}

/*
 * test_own():
 * EXECUTE, COMPRESS and STARTTLS in any case are own commands: reported
 * with their tag, never relayed.
 */
static void
test_own(void)
{
	struct result r;

	RUN(r, 1, S("* PREAUTH hi\r\n"),
	    C("a1 EXECUTE foo \"bar\"\r\nx compress DEFLATE\n"
	    "Tag.9 StartTLS\r\nb NOOP\r\n"));
	CHECK_STR(r.events, "[EXECUTE a1] foo \"bar\"\\r\\n[END]"
	    "[COMPRESS x] DEFLATE\\n[END][STARTTLS Tag.9]\\r\\n[END]");
	CHECK_STR(r.cmds, "a1 EXECUTE|x compress|Tag.9 StartTLS|b NOOP");
	CHECK_STR(r.to_server, "b NOOP\r\n");
	CHECK_STR(r.to_client, "* PREAUTH hi\r\na1 OK own\r\nx OK own\r\n"
	    "Tag.9 OK own\r\n");
	CHECK_NUM(r.pending, 1);
	result_free(&r);

	/* Not before the backend's greeting. */
	RUN(r, 1, C("a EXECUTE\r\n"));
	CHECK(r.held);
	CHECK_STR(r.events, "");
	CHECK_NUM(r.c_left, 11);
	result_free(&r);
	RUN(r, 1, C("a EXECUTE\r\n"), S("* PREAUTH hi\r\n"));
	CHECK(!r.held);
	CHECK_STR(r.events, "[EXECUTE a]\\r\\n[END]");
	CHECK_STR(r.to_client, "* PREAUTH hi\r\na OK own\r\n");
	result_free(&r);

	/* Near misses are ordinary commands. */
	RUN(r, 1, C("a EXECUTEX\r\nb UID EXECUTE\r\nc EXECUTE\tx\r\n"));
	CHECK_STR(r.events, "");
	CHECK_STR(r.cmds, "a EXECUTEX|b UID|c EXECUTE\tx");
	CHECK_NUM(r.pending, 3);
	result_free(&r);
}

/*
 * test_own_wait():
 * An own command waits while the backend owes responses, in any order.
 */
static void
test_own_wait(void)
{
	struct result r;

	RUN(r, 1, C("a NOOP\r\nb NOOP\r\nc EXECUTE x\r\n"),
	    S("b OK NOOP completed\r\n"));
	CHECK(r.held);
	CHECK_STR(r.to_server, "a NOOP\r\nb NOOP\r\n");
	CHECK_STR(r.events, "");
	CHECK_NUM(r.c_left, 13);
	CHECK_NUM(r.pending, 1);
	result_free(&r);

	RUN(r, 1, C("a NOOP\r\nb NOOP\r\nc EXECUTE x\r\n"),
	    S("b OK NOOP completed\r\n"), S("* 3 EXISTS\r\n"),
	    S("a OK NOOP completed\r\n"), C("d NOOP\r\n"));
	CHECK(!r.held);
	CHECK_STR(r.events, "[EXECUTE c] x\\r\\n[END]");
	CHECK_STR(r.to_client, "b OK NOOP completed\r\n* 3 EXISTS\r\n"
	    "a OK NOOP completed\r\nc OK own\r\n");
	CHECK_STR(r.cmds, "a NOOP|b NOOP|c EXECUTE|d NOOP");
	CHECK_NUM(r.pending, 1);
	result_free(&r);
}

/*
 * test_own_literal():
 * An own command's literals: accepted, refused, non-synchronizing.
 */
static void
test_own_literal(void)
{
	struct result r;

	RUN(r, 1, S("* PREAUTH hi\r\n"),
	    C("e EXECUTE {5}\r\nhello ~{3+}\nabc\r\nf NOOP\r\n"));
	CHECK_STR(r.events, "[EXECUTE e] {5}\\r\\n[LIT 5][+][DATA hello] "
	    "~{3+}\\n[LIT ~3+][DATA abc]\\r\\n[END]");
	CHECK_STR(r.cmds, "e EXECUTE|f NOOP");
	CHECK_STR(r.to_server, "f NOOP\r\n");
	result_free(&r);

	/* Refused: the octets the client sends anyway are a new line. */
	RUN(r, 0, S("* PREAUTH hi\r\n"),
	    C("e EXECUTE {11}\r\nhello world\r\nf NOOP\r\n"));
	CHECK_STR(r.events, "[EXECUTE e] {11}\\r\\n[LIT 11][NO]");
	CHECK_STR(r.cmds, "e EXECUTE|hello world|f NOOP");
	CHECK_STR(r.to_server, "hello world\r\nf NOOP\r\n");
	CHECK_STR(r.to_client, "* PREAUTH hi\r\ne OK own\r\n");
	result_free(&r);

	RUN(r, 0, S("* PREAUTH hi\r\n"), C("e EXECUTE {0+}\r\n {}\r\n"));
	CHECK_STR(r.events, "[EXECUTE e] {0+}\\r\\n[LIT 0+] {}\\r\\n[LIT 0]"
	    "[NO]");
	result_free(&r);
}

/*
 * test_literals():
 * Literal forms on relayed commands; their octets are never commands.
 */
static void
test_literals(void)
{
	static const char trap[] = "x EXECUTE mark\r\na1 CAPABILITY\r\n"
	    "{5}\r\n";
	static const char bin[] = "a APPEND INBOX {5+}\r\nhello\r\nb NOOP\r\n"
	    "c APPEND INBOX ~{5+}\nhe\0lo\nd NOOP\n";
	struct result r;

	RUN(r, 1, C(bin));
	CHECK_STR(r.cmds, "a APPEND|b NOOP|c APPEND|d NOOP");
	CHECK_MEM(r.to_server, bin, sizeof(bin) - 1);
	CHECK(!r.held);
	result_free(&r);

	/* {+} and {} are literals of size 0: the line goes on. */
	RUN(r, 1, C("a SEARCH TEXT {+}\r\nb NOOP\r\nc NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|c NOOP");
	result_free(&r);
	RUN(r, 1, C("a SEARCH TEXT {}\r\n"));
	CHECK(r.held);
	result_free(&r);
	RUN(r, 1, C("a SEARCH TEXT {}\r\nb NOOP\r\nc NOOP\r\n"),
	    S("+ OK\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|c NOOP");
	CHECK(!r.held);
	result_free(&r);
	RUN(r, 1, C("a SEARCH TEXT {0}\nb NOOP\r\nc NOOP\r\n"),
	    S("+ OK\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|c NOOP");
	result_free(&r);

	/* Headers not at an argument start, or with junk, are not. */
	RUN(r, 1, C("a SEARCH TEXT foo{3+}\r\nab1\r\nb SEARCH {3+} \r\n"
	    "ab2\r\nc SEARCH {3+}x\r\nab3\r\nd SEARCH {3+}\rab4\r\n"
	    "e SEARCH {3++}\r\nab5\r\nf SEARCH { 3+}\r\nab6\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|ab1|b SEARCH|ab2|c SEARCH|ab3|d SEARCH|"
	    "e SEARCH|ab5|f SEARCH|ab6");
	result_free(&r);

	/* After '"' and ')' and after '(' they are. */
	RUN(r, 1, C("a SEARCH \"x\"{3+}\r\nabc (ALL){3+}\r\nabc ({3+}\r\n"
	    "abc)\r\nb NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|b NOOP");
	result_free(&r);

	/* MULTIAPPEND, one "+ OK" per message. */
	RUN(r, 1, C("a APPEND INBOX (\\Seen) {5}\r\n"), S("+ OK\r\n"),
	    C("hello (\\Draft) {3}\r\n"), S("+ OK\r\n"),
	    C("abc\r\nb NOOP\r\n"));
	CHECK_STR(r.cmds, "a APPEND|b NOOP");
	CHECK_STR(r.to_server, "a APPEND INBOX (\\Seen) {5}\r\nhello "
	    "(\\Draft) {3}\r\nabc\r\nb NOOP\r\n");
	result_free(&r);

	/* The same written at once: the client is held at each literal. */
	RUN(r, 1, C("a APPEND INBOX {5}\r\nhello {3}\r\nabc\r\nb NOOP\r\n"),
	    S("+ OK\r\n"));
	CHECK(r.held);
	CHECK_STR(r.to_server, "a APPEND INBOX {5}\r\nhello {3}\r\n");
	result_free(&r);

	/* CATENATE. */
	RUN(r, 1, C("a APPEND INBOX CATENATE (TEXT {5}\r\nhello TEXT {3+}\r\n"
	    "abc)\r\nb NOOP\r\n"), S("+ OK\r\n"));
	CHECK_STR(r.cmds, "a APPEND|b NOOP");
	CHECK(!r.held);
	result_free(&r);

	/* Octets that look like commands and literals. */
	RUN(r, 1, C("a APPEND INBOX {36+}\r\n"), C(trap),
	    C(" {36}\r\n"), S("+ OK\r\n"), C(trap), C("\r\nb NOOP\r\n"));
	CHECK_STR(r.cmds, "a APPEND|b NOOP");
	CHECK_STR(r.events, "");
	CHECK_NUM(r.to_server.len, 22 + 36 + 7 + 36 + 10);
	CHECK(!r.held);
	result_free(&r);
}

/*
 * test_sync_hold():
 * A synchronizing literal holds the client until "+ OK"; a tagged NO or
 * BAD instead makes the next bytes a new command.
 */
static void
test_sync_hold(void)
{
	struct result r;

	RUN(r, 1, C("a APPEND INBOX {5}\r\nhello\r\n"));
	CHECK(r.held);
	CHECK_STR(r.to_server, "a APPEND INBOX {5}\r\n");
	CHECK_NUM(r.c_left, 7);
	result_free(&r);

	RUN(r, 1, C("a APPEND INBOX {5}\r\nhello\r\n"), S("+ OK\r\n"),
	    S("a OK [APPENDUID 1 2] Append completed.\r\n"));
	CHECK(!r.held);
	CHECK_NUM(r.pending, 0);
	CHECK_NUM(r.to_server.len, 27);
	result_free(&r);

	RUN(r, 1, C("a APPEND nosuch {5}\r\n"),
	    S("a NO [TRYCREATE] Mailbox doesn't exist: nosuch\r\n"),
	    C("b NOOP\r\n"));
	CHECK_STR(r.cmds, "a APPEND|b NOOP");
	CHECK_NUM(r.pending, 1);
	result_free(&r);

	/* Pipelined octets, rejected: they are run as a command. */
	RUN(r, 1, C("a APPEND nosuch {5}\r\nhello\r\nb NOOP\r\n"),
	    S("a BAD Error in IMAP command APPEND\r\n"));
	CHECK_STR(r.cmds, "a APPEND|hello|b NOOP");
	result_free(&r);

	/* A tagged response to another command does not release it. */
	RUN(r, 1, C("z NOOP\r\na APPEND INBOX {16}\r\nx EXECUTE mark\r\n"
	    "\r\n"), S("z OK NOOP completed\r\n"));
	CHECK(r.held);
	CHECK_STR(r.events, "");
	result_free(&r);
}

/*
 * test_dup_tags():
 * A tag reused by an outstanding command never releases a held literal
 * early, whatever the order of the responses.
 */
static void
test_dup_tags(void)
{
	struct result r;

	RUN(r, 1, C("a NOOP\r\na APPEND INBOX {16}\r\nx EXECUTE mark\r\n\r\n"),
	    S("a OK NOOP completed\r\n"));
	CHECK(r.failed);	/* reused while outstanding */
	CHECK(!r.held);		/* failed closed, never held */
	CHECK_STR(r.events, "");
	CHECK_NUM(r.pending, 1);
	CHECK_STR(r.cmds, "a NOOP|a APPEND");
	result_free(&r);

	RUN(r, 1, C("a NOOP\r\na APPEND INBOX {16}\r\nx EXECUTE mark\r\n\r\n"),
	    S("a OK NOOP completed\r\n"), S("+ OK\r\n"));
	CHECK(!r.held);
	CHECK_STR(r.events, "");
	CHECK_STR(r.cmds, "a NOOP|a APPEND");
	result_free(&r);

	/* Out of order: FETCH and NOOP both tagged a, answered late. */
	RUN(r, 1, C("a FETCH 1:* BODY[]\r\nb NOOP\r\na APPEND INBOX {16}\r\n"
	    "x EXECUTE mark\r\n\r\n"), S("b OK NOOP\r\n"), S("a OK FETCH\r\n"),
	    S("+ OK\r\n"), S("a OK APPEND\r\n"));
	CHECK(!r.held);
	CHECK_STR(r.events, "");
	CHECK_NUM(r.pending, 0);
	result_free(&r);

	/*
	 * Both answered, the APPEND with NO: now the octets are a line, but
	 * the scanner failed closed at the reused tag and let the client
	 * go on without the "+": it took them for the literal, so the
	 * backend's answer to the EXECUTE line reaches the client.
	 */
	RUN(r, 1, C("a NOOP\r\na APPEND nosuch {16}\r\nx EXECUTE mark\r\n\r\n"),
	    S("a OK NOOP completed\r\n"), S("a NO [TRYCREATE] nosuch\r\n"),
	    S("x BAD Error in IMAP command EXECUTE: Unknown command.\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	CHECK_STR(r.cmds, "a NOOP|a APPEND");
	CHECK_STR(r.to_server, "a NOOP\r\na APPEND nosuch {16}\r\n"
	    "x EXECUTE mark\r\n\r\n");
	CHECK_STR(r.to_client, "a OK NOOP completed\r\n"
	    "a NO [TRYCREATE] nosuch\r\n"
	    "x BAD Error in IMAP command EXECUTE: Unknown command.\r\n");
	CHECK_NUM(r.pending, 0);
	result_free(&r);
}

/*
 * test_failclosed():
 * What the backend says that does not fit the scanner's picture latches
 * it failed closed, for good; the probe's answer is told by its full tag
 * and dropped; refused own commands are passed on, their answer dropped.
 */
static void
test_failclosed(void)
{
	struct result r;

	/* The reproduction: the hidden "a NOOP" answers first. */
	RUN(r, 1, S("* PREAUTH hi\r\n"),
	    C("z NOOP {8+}\r\na NOOP\r\n\r\na APPEND INBOX {200}\r\n"),
	    S("z OK NOOP completed.\r\n"), S("a OK NOOP completed.\r\n"),
	    S("+ OK\r\n"), C("x EXECUTE mark\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");	/* blind: the backend's line */
	CHECK_STR(r.cmds, "z NOOP|a APPEND");	/* blind: none followed */
	result_free(&r);
	/* ... hidden in CHECK, answered NO, then the "+" nobody awaits. */
	RUN(r, 1, S("* PREAUTH hi\r\n"),
	    C("z CHECK {17+}\r\na SELECT nosuch\r\n\r\na APPEND INBOX {9}\r\n"),
	    S("z OK\r\n"), S("a NO no such mailbox\r\n"));
	CHECK(!r.failed);
	CHECK(!r.held);
	result_free(&r);
	RUN(r, 1, S("* PREAUTH hi\r\n"),
	    C("z CHECK {17+}\r\na SELECT nosuch\r\n\r\na APPEND INBOX {9}\r\n"),
	    S("z OK\r\n"), S("a NO no such mailbox\r\n"), S("+ OK\r\n"));
	CHECK(r.failed);
	result_free(&r);
	/* An answer arriving before the literal header is scanned. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a NOOP "), S("a OK done\r\n"),
	    C("{5}\r\n"));
	CHECK(r.failed);
	result_free(&r);
	/* A tag never sent; two "+" for one literal. */
	RUN(r, 1, S("* PREAUTH hi\r\nq OK hidden\r\n"));
	CHECK(r.failed);
	result_free(&r);
	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a APPEND INBOX {3}\r\n"),
	    S("+ OK\r\n+ OK\r\n"));
	CHECK(!r.failed);	/* it may be for a literal later in the line */
	result_free(&r);
	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a APPEND INBOX {3}\r\n"),
	    S("+ OK\r\n+ OK\r\n"), C("abc\r\n"));
	CHECK(r.failed);
	result_free(&r);
	/* Ordinary sessions stay consistent. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a APPEND INBOX {3}\r\n"),
	    S("+ OK\r\n"), C("abc\r\nb IDLE\r\n"), S("a OK APPEND\r\n"),
	    S("+ idling\r\n"), C("DONE\r\n"), S("b OK IDLE\r\n"),
	    C("c APPEND nosuch {3}\r\n"), S("c NO [TRYCREATE] x\r\n"));
	CHECK(!r.failed);
	CHECK_NUM(r.pending, 0);
	result_free(&r);

	/* The probe: untagged lines pass, its tagged OK is dropped. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), P(),
	    S("* 3 EXISTS\r\n" PTAG " OK NOOP completed.\r\n"),
	    S("* 4 EXISTS\r\n"));
	CHECK(!r.failed);
	CHECK_NUM(r.probe, PROBE_OK);
	CHECK_STR(r.to_client, "* PREAUTH hi\r\n* 3 EXISTS\r\n* 4 EXISTS\r\n");
	result_free(&r);
	/* Answered BAD (the probe ended another line), or without status. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), P(), S(PTAG " BAD junk\r\n"));
	CHECK(r.failed);
	CHECK_NUM(r.probe, PROBE_BAD);
	CHECK_STR(r.to_client, "* PREAUTH hi\r\n");
	result_free(&r);
	RUN(r, 1, S("* PREAUTH hi\r\n"), P(), S(PTAG "\r\n"));
	CHECK(r.failed);
	result_free(&r);
	/* A tag that only looks like the probe's is no answer to it. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), P(), S(PTAG "0 OK x\r\n"),
	    S("0123456789abcdef0123456789abcdeF OK x\r\n"));
	CHECK(r.failed);
	CHECK_NUM(r.probe, PROBE_SENT);
	result_free(&r);

	/*
	 * Failed closed, the relay is blind: own commands go to the
	 * backend as they came, its answers to the client, no capability
	 * is edited any more, and nothing is answered by imapexec.
	 */
	RUN(r, 1, S("* PREAUTH hi\r\n+ stray\r\n"),
	    C("a NOOP\r\nx EXECUTE mark {3}\r\n"), S("+ OK\r\n"),
	    C("abc\r\ny COMPRESS DEFLATE\r\n"),
	    S("a OK NOOP\r\nx BAD unknown\r\ny BAD unknown\r\n"
	    "* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	CHECK_STR(r.to_server, "a NOOP\r\nx EXECUTE mark {3}\r\nabc\r\n"
	    "y COMPRESS DEFLATE\r\n");
	CHECK_STR(r.to_client, "* PREAUTH hi\r\n+ stray\r\n+ OK\r\n"
	    "a OK NOOP\r\nx BAD unknown\r\ny BAD unknown\r\n"
	    "* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE\r\n");
	CHECK_NUM(r.pending, 0);
	result_free(&r);
}

/*
 * test_idle():
 * IDLE holds the client until "+ idling"; one line then ends it.
 */
static void
test_idle(void)
{
	struct result r;

	RUN(r, 1, C("a IDLE\r\nDONE\r\n"));
	CHECK(r.held);
	CHECK_STR(r.to_server, "a IDLE\r\n");
	result_free(&r);

	RUN(r, 1, C("a IDLE\r\n"), S("+ idling\r\n"), C("DONE\r\n"),
	    S("a OK Idle completed.\r\n"), C("b NOOP\r\n"));
	CHECK_STR(r.cmds, "a IDLE|b NOOP");
	CHECK_STR(r.to_server, "a IDLE\r\nDONE\r\nb NOOP\r\n");
	result_free(&r);

	/* Whatever the line, it is no command. */
	RUN(r, 1, C("a IDLE\r\n"), S("+ idling\r\n"), C("x EXECUTE foo\r\n"),
	    S("a BAD Expected DONE.\r\n"), C("b NOOP\r\n"));
	CHECK_STR(r.cmds, "a IDLE|b NOOP");
	CHECK_STR(r.events, "");
	result_free(&r);
	RUN(r, 1, C("a IDLE\r\n"), S("+ idling\r\n"), C("x {5}\r\nDONE\r\n"));
	CHECK_STR(r.cmds, "a IDLE|DONE");
	CHECK(!r.held);
	result_free(&r);

	/* Rejected. */
	RUN(r, 1, C("a IDLE\r\n"), S("a BAD No idling\r\n"), C("b NOOP\r\n"));
	CHECK_STR(r.cmds, "a IDLE|b NOOP");
	result_free(&r);

	/* All in one write, before "+ idling". */
	RUN(r, 1, C("a IDLE\r\nDONE\r\nb NOOP\r\n"), S("+ idling\r\n"));
	CHECK_STR(r.cmds, "a IDLE|b NOOP");
	CHECK_STR(r.to_server, "a IDLE\r\nDONE\r\nb NOOP\r\n");
	CHECK(!r.held);
	result_free(&r);
}

/*
 * test_bad_tags():
 * Lines without a valid tag are not commands, and a literal header on
 * them is not a literal: the next bytes are a command.
 */
static void
test_bad_tags(void)
{
	static const struct step lines[] = {
		C("\"a b\" NOOP {5}\r\n"), C("a+b NOOP {5+}\r\n"),
		C("* NOOP {5}\r\n"), C("+ NOOP {5+}\r\n"),
		C("]x NOOP {5}\r\n"), C("\r\n"), C("   {5+}\r\n"),
		C(" a NOOP {5}\r\n"), C("a\tb NOOP {5}\r\n"),
		C("a\0b NOOP {5+}\n"), C("\xc3\xa9 NOOP {5}\r\n"),
		C("a%b NOOP {5+}\r\n"), C("a\\b NOOP {5}\r\n"),
		C("a(b NOOP {5+}\r\n"), C("a{5} NOOP\r\n")
	};
	struct step s[3] = { END, C("z2 NOOP\r\n"), END };
	struct result r;
	size_t i;
	int f0;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		f0 = failed;
		s[0] = lines[i];
		session(__LINE__, s, 1, &r);
		CHECK_STR(r.cmds, "z2 NOOP");
		CHECK(!r.held);
		CHECK_NUM(r.to_server.len, lines[i].n + 9);
		if (failed > f0)
			printf("    (bad tag line %zu)\n", i);
		result_free(&r);
	}
}

/*
 * test_quoted():
 * Literal headers inside quoted strings are text.
 */
static void
test_quoted(void)
{
	struct result r;

	RUN(r, 1, C("a SEARCH TEXT \"{5}\"\r\nb SEARCH TEXT \"x\\\"{5}\"\r\n"
	    "c SEARCH TEXT \"x\\\\\" {5+}\r\nhello\r\nd NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|b SEARCH|c SEARCH|d NOOP");
	CHECK(!r.held);
	result_free(&r);

	/* Unterminated at the end of the line: the line still ends. */
	RUN(r, 1, C("a SEARCH TEXT \"x {5}\r\nhello\r\n"
	    "b SEARCH TEXT \"x\\\r\nc NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|hello|b SEARCH|c NOOP");
	CHECK(!r.held);
	result_free(&r);

	/* Quoted text after a literal's octets. */
	RUN(r, 1, C("a SEARCH {1+}\r\n\" {3+}\r\nabc\r\nb NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH|b NOOP");
	result_free(&r);
}

/*
 * test_sizes():
 * Every literal size is a literal, as Dovecot 2.3.19 takes it ("+ OK" to
 * APPEND {2^64-1}, BYE to larger ones): sizes past UINT64_MAX count as
 * UINT64_MAX, which errs towards the literal.
 */
static void
test_sizes(void)
{
	static const char *const big[] = { "9223372036854775808",
	    "18446744073709551615", "18446744073709551616",
	    "99999999999999999999", "123456789012345678901234567890" };
	char line[128];
	struct step st[3] = { C("* PREAUTH hi\r\n"), END, END };
	struct result r;
	size_t i, sync;

	st[0].dir = 'S';
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		for (sync = 0; sync < 2; sync++) {
			snprintf(line, sizeof(line), "a APPEND INBOX {%s%s}\r\n"
			    "x EXECUTE mark\r\n", big[i], sync ? "" : "+");
			st[1].dir = 'C';
			st[1].p = line;
			st[1].n = strlen(line);
			session(__LINE__, st, 1, &r);
			CHECK_STR(r.cmds, "a APPEND");
			CHECK_STR(r.events, "");
			CHECK(sync ? r.held : !r.held);
			result_free(&r);
		}
	}
	RUN(r, 1, C("a SEARCH {18446744073709551615+}\r\nx NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH");
	result_free(&r);
	RUN(r, 1, C("a SEARCH {9223372036854775807+}\r\nx NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH");
	CHECK_NUM(r.to_server.len, 41);
	result_free(&r);
	RUN(r, 1, C("a SEARCH {9223372036854775807}\r\nx NOOP\r\n"));
	CHECK(r.held);
	CHECK_NUM(r.c_left, 8);
	result_free(&r);
	RUN(r, 1, C("a SEARCH {0003+}\r\nx NOOP\r\n"));
	CHECK_STR(r.cmds, "a SEARCH");
	result_free(&r);
}

/*
 * test_long_words():
 * A tag longer than SCAN_TAG_MAX ends the session; a long command name
 * is just another command.
 */
static void
test_long_words(void)
{
	static char tag[SCAN_TAG_MAX + 16], name[80], big[(TAGS_MAX + 1) * 8];
	struct step s[4];
	struct result r;
	size_t i;

	memset(tag, 't', SCAN_TAG_MAX);
	memcpy(tag + SCAN_TAG_MAX, " NOOP\r\n", 8);
	s[0] = (struct step){ 'C', tag, strlen(tag) };
	s[1] = (struct step)END;
	session(__LINE__, s, 1, &r);
	CHECK(!r.closed);
	CHECK_NUM(r.cmds.len, SCAN_TAG_MAX + 5);
	CHECK_NUM(r.pending, 1);
	result_free(&r);

	memset(tag, 't', SCAN_TAG_MAX + 1);
	memcpy(tag + SCAN_TAG_MAX + 1, " NOOP\r\n", 8);
	s[0] = (struct step){ 'C', tag, strlen(tag) };
	s[1] = (struct step)C("b NOOP\r\n");
	s[2] = (struct step)END;
	session(__LINE__, s, 1, &r);
	CHECK(r.closed);
	CHECK_STR(r.events, "[CLOSE]");
	CHECK_STR(r.to_server, "");
	CHECK_STR(r.cmds, "");
	CHECK(strncmp(r.to_client.p, "* BYE ", 6) == 0);
	result_free(&r);

	/* "a EXECUTEXXX...": too long to be told apart, so relayed. */
	strcpy(name, "a EXECUTE");
	memset(name + 9, 'X', 40);
	strcpy(name + 49, " {5+}\r\nhello\r\n");
	s[0] = (struct step){ 'C', name, strlen(name) };
	s[1] = (struct step)C("b NOOP\r\n");
	s[2] = (struct step)END;
	session(__LINE__, s, 1, &r);
	CHECK_STR(r.events, "");
	str_consume(&r.to_server, strlen(name));
	CHECK_STR(r.to_server, "b NOOP\r\n");
	CHECK_NUM(r.pending, 2);
	CHECK(r.cmds.len > 7 && strncmp(r.cmds.p, "a EXECUTEXX", 11) == 0);
	CHECK(r.cmds.len > 7 &&
	    strcmp(r.cmds.p + r.cmds.len - 7, "|b NOOP") == 0);
	result_free(&r);

	/* More pipelined commands than TAGS_MAX: the rest wait. */
	for (i = 0; i <= TAGS_MAX; i++) {
		snprintf(name, sizeof(name), "%02zx NOP\r\n", i);
		memcpy(big + i * 8, name, 8);
	}
	s[0] = (struct step){ 'C', big, (TAGS_MAX + 1) * 8 };
	s[1] = (struct step)END;
	session(__LINE__, s, 1, &r);
	CHECK(!r.failed);
	CHECK(r.held);
	CHECK_NUM(r.pending, TAGS_MAX);
	CHECK_NUM(r.c_left, 8);
	result_free(&r);
	s[1] = (struct step)S("00 OK NOP\r\n");
	s[2] = (struct step)END;
	session(__LINE__, s, 1, &r);
	CHECK(!r.held);
	CHECK_NUM(r.pending, TAGS_MAX);
	CHECK_NUM(r.to_server.len, (TAGS_MAX + 1) * 8);
	result_free(&r);
}

/*
 * test_failed_flows():
 * Failed closed, the scanner's picture of the client is no longer to be
 * trusted (the post-login mode sees the tail of a literal imap-login
 * read the head of as thousands of "commands"): every byte still flows
 * to the backend, and the client is never held waiting for an answer
 * the backend may never send: not for a full tag list, not for a "+".
 */
static void
test_failed_flows(void)
{
	static char big[(3 * TAGS_MAX + 2) * 8];
	struct step s[2];
	struct result r;
	size_t i, n;

	/* A literal's tail as "commands" with one reused tag, then more. */
	n = 3 * TAGS_MAX;
	for (i = 0; i < n; i++)
		memcpy(big + i * 8, "a line\r\n", 8);
	memcpy(big + n * 8, "x EXECUTE mark\r\n", 16);
	s[0] = (struct step){ 'C', big, (n + 2) * 8 };
	s[1] = (struct step)END;
	session(__LINE__, s, 1, &r);
	CHECK(r.failed);
	CHECK(!r.held);
	CHECK_NUM(r.c_left, 0);
	CHECK_NUM(r.to_server.len, (n + 2) * 8);
	CHECK_STR(r.events, "");
	CHECK_NUM(r.pending, 2);	/* blind at the reuse: none followed */
	result_free(&r);

	/* Failed, a literal, IDLE and AUTHENTICATE flow without a "+". */
	RUN(r, 1, S("* PREAUTH hi\r\nq OK hidden\r\n"),
	    C("a APPEND INBOX {5}\r\nhello\r\nb IDLE\r\nDONE\r\n"
	    "c AUTHENTICATE PLAIN\r\nAGEAYg==\r\nx EXECUTE mark\r\n"));
	CHECK(r.failed);
	CHECK(!r.held);
	CHECK_NUM(r.c_left, 0);
	CHECK_STR(r.to_server, "a APPEND INBOX {5}\r\nhello\r\nb IDLE\r\n"
	    "DONE\r\nc AUTHENTICATE PLAIN\r\nAGEAYg==\r\n"
	    "x EXECUTE mark\r\n");
	result_free(&r);

	/* Held for a "+" when it fails: let go. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a APPEND INBOX {5}\r\nhello\r\n"),
	    S("q OK hidden\r\n"));
	CHECK(r.failed);
	CHECK(!r.held);
	CHECK_STR(r.to_server, "a APPEND INBOX {5}\r\nhello\r\n");
	result_free(&r);
}

/*
 * test_caps():
 * Capability lists lose STARTTLS and COMPRESS= and gain one EXECUTE
 * once the session is authenticated.
 */
static void
test_caps(void)
{
	struct result r;

	RUN(r, 1, S("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS IDLE "
	    "COMPRESS=DEFLATE LITERAL+] Logged in\r\n"),
	    S("* CAPABILITY IMAP4rev1 IDLE compress=deflate\r\n"),
	    C("a ENABLE X\r\n"),
	    S("a OK [CAPABILITY STARTTLS IMAP4rev1 STARTTLS] done\r\n"),
	    S("* CAPABILITY STARTTLS\r\n* CAPABILITY\r\n"));
	CHECK_STR(r.to_client, "* PREAUTH [CAPABILITY IMAP4rev1 IDLE "
	    "LITERAL+ EXECUTE] Logged in\r\n"
	    "* CAPABILITY IMAP4rev1 IDLE EXECUTE\r\n"
	    "a OK [CAPABILITY IMAP4rev1 EXECUTE] done\r\n"
	    "* CAPABILITY EXECUTE\r\n* CAPABILITY EXECUTE\r\n");
	CHECK_NUM(r.pending, 0);
	result_free(&r);

	/* EXECUTE already there, anywhere: no second one. */
	RUN(r, 1, S("* PREAUTH [CAPABILITY IMAP4rev1 EXECUTE IDLE] hi\r\n"),
	    S("* CAPABILITY IMAP4rev1 execute\r\n"),
	    S("* CAPABILITY EXECUTE COMPRESS=DEFLATE\r\n"));
	CHECK_STR(r.to_client, "* PREAUTH [CAPABILITY IMAP4rev1 EXECUTE "
	    "IDLE] hi\r\n* CAPABILITY IMAP4rev1 execute\r\n"
	    "* CAPABILITY EXECUTE\r\n");
	result_free(&r);

	/* Not authenticated: no EXECUTE, even after a LOGIN's OK (a tag
	 * alone proves no login). */
	RUN(r, 1, S("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] hi\r\n"),
	    S("* PREAUTH [CAPABILITY IMAP4rev1] late\r\n"),
	    C("a LOGIN u p\r\n"), S("* CAPABILITY IMAP4rev1 STARTTLS\r\n"),
	    S("a NO [CAPABILITY IMAP4rev1] failed\r\n"),
	    C("b LOGIN u q\r\n"), S("b OK [CAPABILITY IMAP4rev1 IDLE] in\r\n"),
	    S("* CAPABILITY IMAP4rev1\r\n"));
	CHECK_STR(r.to_client, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"
	    "* PREAUTH [CAPABILITY IMAP4rev1] late\r\n"
	    "* CAPABILITY IMAP4rev1\r\n"
	    "a NO [CAPABILITY IMAP4rev1] failed\r\n"
	    "b OK [CAPABILITY IMAP4rev1 IDLE] in\r\n"
	    "* CAPABILITY IMAP4rev1\r\n");
	result_free(&r);

	/* Other codes and data responses are not capability lists. */
	RUN(r, 1, S("* PREAUTH hi\r\n* OK [PERMANENTFLAGS (STARTTLS)] x\r\n"
	    "* LIST () \"/\" STARTTLS\r\n* CAPABILITYX STARTTLS\r\n"));
	CHECK_STR(r.to_client, "* PREAUTH hi\r\n* OK [PERMANENTFLAGS "
	    "(STARTTLS)] x\r\n* LIST () \"/\" STARTTLS\r\n"
	    "* CAPABILITYX STARTTLS\r\n");
	result_free(&r);
}

/*
 * test_long_caps():
 * A capability name longer than SCAN_CAP_MAX passes untouched; one of
 * SCAN_CAP_MAX bytes is still edited.
 */
static void
test_long_caps(void)
{
	static const size_t lens[] = { SCAN_CAP_MAX + 1, 80, 300 };
	char line[512], want[512];
	struct step s[3];
	struct result r;
	size_t i, k;

	for (i = 0; i < 2 * sizeof(lens) / sizeof(lens[0]); i++) {
		k = lens[i / 2];
		memcpy(line, "* CAPABILITY IMAP4rev1 ", 23);
		memcpy(line + 23, i % 2 ? "COMPRESS=" : "XLONGCAP=", 9);
		memset(line + 23 + 9, 'Z', k - 9);
		strcpy(line + 23 + k, " IDLE\r\n");
		snprintf(want, sizeof(want), "%.*s EXECUTE\r\n",
		    (int)(23 + k + 5), line);
		s[0] = (struct step)S("* PREAUTH hi\r\n");
		s[1] = (struct step){ 'S', line, strlen(line) };
		s[2] = (struct step)END;
		session(__LINE__, s, 1, &r);
		str_consume(&r.to_client, 14);
		CHECK_MEM(r.to_client, want, strlen(want));
		result_free(&r);
	}

	memcpy(line, "* CAPABILITY IMAP4rev1 COMPRESS=", 32);
	memset(line + 32, 'Z', SCAN_CAP_MAX - 9);
	strcpy(line + 23 + SCAN_CAP_MAX, "\r\n");
	s[1] = (struct step){ 'S', line, strlen(line) };
	session(__LINE__, s, 1, &r);
	CHECK_STR(r.to_client, "* PREAUTH hi\r\n* CAPABILITY IMAP4rev1 "
	    "EXECUTE\r\n");
	result_free(&r);
}

/*
 * test_server_literals():
 * Literals in server data pass untouched, never taken for continuations,
 * tagged responses or capability lists; status responses have none.
 */
static void
test_server_literals(void)
{
	struct result r;

	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a APPEND INBOX {5}\r\nhello\r\n"),
	    S("* 1 FETCH (UID 7 BODY[] {52}\r\n* CAPABILITY IMAP4rev1 "
	    "STARTTLS\r\n+ OK\r\na OK fake\r\n\r\n FLAGS (\\Seen))\r\n"));
	CHECK(r.held);
	CHECK_NUM(r.pending, 1);
	CHECK_STR(r.to_client, "* PREAUTH hi\r\n* 1 FETCH (UID 7 BODY[] {52}"
	    "\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\n+ OK\r\na OK fake\r\n"
	    "\r\n FLAGS (\\Seen))\r\n");
	result_free(&r);

	/* literal8, bare LF, a second literal on the line, then "+". */
	RUN(r, 1, C("a APPEND INBOX {5}\r\nhello\r\n"),
	    S("* 2 FETCH (BINARY[1] ~{9}\n+ OK\r\n\0\r\n BODY[2] {7}\r\n"
	    "+ OK\r\n)\r\n+ OK\r\n"));
	CHECK(!r.held);
	CHECK_NUM(r.to_client.len, 64);
	CHECK_NUM(r.to_server.len, 27);
	result_free(&r);

	/* Status responses carry no literal. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), C("a NOOP\r\nb NOOP\r\n"),
	    S("* OK {5}\r\n* BYE {6+}\r\na NO foo {5}\r\n"
	    "* CAPABILITY IMAP4rev1\r\nb BAD x {3}\r\n"));
	CHECK_NUM(r.pending, 0);
	CHECK_STR(r.to_client, "* PREAUTH hi\r\n* OK {5}\r\n* BYE {6+}\r\n"
	    "a NO foo {5}\r\n* CAPABILITY IMAP4rev1 EXECUTE\r\n"
	    "b BAD x {3}\r\n");
	result_free(&r);

	/* A bare LF ends a capability line like any other. */
	RUN(r, 1, S("* PREAUTH hi\n"), C("a CAPABILITY\r\n"),
	    S("* CAPABILITY IMAP4rev1\n"), S("a OK done\n"));
	CHECK_NUM(r.pending, 0);
	CHECK_STR(r.to_client, "* PREAUTH hi\n* CAPABILITY IMAP4rev1 "
	    "EXECUTE\na OK done\n");
	result_free(&r);
}

/*
 * test_lex():
 * The lexer alone: stops, sizes and flags.
 */
static void
test_lex(void)
{
	static const uint8_t in[] = "x ~{12+}\r\n";
	struct lex l;
	size_t used;

	lex_reset(&l);
	CHECK_NUM(lex_run(&l, in, 4, &used), LEX_MORE);
	CHECK_NUM(used, 4);
	CHECK_NUM(lex_run(&l, in + 4, sizeof(in) - 5, &used), LEX_LITERAL);
	CHECK_NUM(used, sizeof(in) - 5);
	CHECK_NUM(l.size, 12);
	CHECK_NUM(l.flags, LIT_NONSYNC | LIT_BINARY);
	CHECK_NUM(lex_run(&l, (const uint8_t *)"a\nb", 3, &used), LEX_EOL);
	CHECK_NUM(used, 2);
}

/*
 * test_postlogin():
 * Post-login mode: the view starts unproven, capability lists gain
 * EXECUTE and the sync token, and only a first line "tag NOOP token"
 * proves it; anything else makes the relay blind for good: every byte
 * both ways unchanged, no own command, no edit, no close (issue 21).
 */
static void
test_postlogin(void)
{
	static char longtag[SCAN_TAG_MAX + 64];
	struct step s[4];
	struct result r;

	/* The honest client: login reply, sync, EXECUTE. */
	RUN(r, 1, L(), S("a OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
	    C("b NOOP " STOK "\r\n"), S("b OK NOOP completed.\r\n"),
	    C("c EXECUTE whoami\r\n"));
	CHECK(!r.failed);
	CHECK_STR(r.to_client, "a OK [CAPABILITY IMAP4rev1 IDLE EXECUTE "
	    "EXECUTE-SYNC=" STOK "] Logged in\r\nb OK NOOP completed.\r\n"
	    "c OK own\r\n");
	CHECK_STR(r.to_server, "b NOOP " STOK "\r\n");
	CHECK_STR(r.events, "[EXECUTE c] whoami\\r\\n[END]");
	CHECK_NUM(r.pending, 0);
	result_free(&r);
	/* Once proven, the lists are edited as in the other modes. */
	RUN(r, 1, L(), S("a OK Logged in\r\n"),
	    C("B NOOP " STOK "\r\nc CAPABILITY\r\n"),
	    S("B OK\r\n* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE\r\nc OK\r\n"));
	CHECK(!r.failed);
	CHECK_STR(r.to_client, "a OK Logged in\r\nB OK\r\n"
	    "* CAPABILITY IMAP4rev1 EXECUTE\r\nc OK\r\n");
	result_free(&r);
	/* The backend's COMPRESS is left in place while unproven. */
	RUN(r, 1, L(), S("* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE\r\n"
	    "a OK Logged in\r\n"));
	CHECK_STR(r.to_client, "* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE "
	    "EXECUTE EXECUTE-SYNC=" STOK "\r\na OK Logged in\r\n");
	result_free(&r);

	/* Answers to what imap-login read ahead: no pairing, no failing. */
	RUN(r, 1, L(), S("a OK Logged in\r\nb OK SELECT\r\n+ OK\r\n"),
	    C("z NOOP " STOK "\r\n"), S("z OK\r\n"));
	CHECK(!r.failed);
	CHECK_NUM(r.pending, 0);
	result_free(&r);
	/* ... but after the sync one is out of place. */
	RUN(r, 1, L(), S("a OK Logged in\r\n"), C("z NOOP " STOK "\r\n"),
	    S("q OK late\r\nz OK\r\n"), C("c EXECUTE whoami\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	CHECK_STR(r.to_server, "z NOOP " STOK "\r\nc EXECUTE whoami\r\n");
	result_free(&r);

	/*
	 * The attack: imap-login read the head of an APPEND, the view
	 * starts in the message, whose author wrote an EXECUTE line and
	 * a command for its tail.  Everything goes on as it came.
	 */
	RUN(r, 1, L(), S("a OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
	    C("\r\n more text\r\nb EXECUTE whoami\r\nxxxx\r\n"
	    "z DELETE Archive\r\n\r\nc LIST \"\" *\r\n"),
	    S("b OK [APPENDUID 1 2] Append completed.\r\n"
	    "* LIST () \"/\" INBOX\r\nc OK List completed.\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	CHECK_STR(r.to_server, "\r\n more text\r\nb EXECUTE whoami\r\n"
	    "xxxx\r\nz DELETE Archive\r\n\r\nc LIST \"\" *\r\n");
	CHECK_STR(r.to_client, "a OK [CAPABILITY IMAP4rev1 EXECUTE "
	    "EXECUTE-SYNC=" STOK "] Logged in\r\n"
	    "b OK [APPENDUID 1 2] Append completed.\r\n"
	    "* LIST () \"/\" INBOX\r\nc OK List completed.\r\n");
	CHECK(!r.held);
	result_free(&r);
	/* The sync line itself inside the message: no token, no proof. */
	RUN(r, 1, L(), S("a OK Logged in\r\n"),
	    C("b NOOP 00000000000000000000000000000000\r\n"
	    "x EXECUTE whoami\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	result_free(&r);
	/* The right token, but not on the first line seen. */
	RUN(r, 1, L(), S("a OK Logged in\r\n"),
	    C("tail of a message\r\nb NOOP " STOK "\r\nx EXECUTE w\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	CHECK_STR(r.to_server, "tail of a message\r\nb NOOP " STOK "\r\n"
	    "x EXECUTE w\r\n");
	result_free(&r);
	/* The token in upper case is the same token (imapflow keeps it so). */
	RUN(r, 1, L(), S("a OK Logged in\r\n"),
	    C("b NOOP FEDCBA9876543210FEDCBA9876543210\r\n"),
	    S("b OK\r\n"), C("x EXECUTE w\r\n"));
	CHECK(!r.failed);
	CHECK_STR(r.events, "[EXECUTE x] w\\r\\n[END]");
	result_free(&r);
	/* Near misses: another token, a longer line, a bare LF. */
	RUN(r, 1, L(), C("b NOOP fedcba9876543210fedcba9876543211\r\n"
	    "x EXECUTE w\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	result_free(&r);
	RUN(r, 1, L(), C("b NOOP gedcba9876543210fedcba9876543210\r\n"));
	CHECK(r.failed);
	result_free(&r);
	RUN(r, 1, L(), C("b NOOP " STOK "0\r\nx EXECUTE w\r\n"));
	CHECK(r.failed);
	result_free(&r);
	RUN(r, 1, L(), C("b NOOP " STOK "\nx EXECUTE w\r\n"));
	CHECK(r.failed);
	result_free(&r);
	RUN(r, 1, L(), C(" b NOOP " STOK "\r\nx EXECUTE w\r\n"));
	CHECK(r.failed);
	result_free(&r);
	/* The sync's NOOP in any case, the tag up to 64 characters. */
#define TAG64	"T012345678901234567890123456789012345678901234567890123456789012"
	RUN(r, 1, L(), S("a OK Logged in\r\n"), C(TAG64 " nOoP " STOK "\r\n"),
	    S(TAG64 " OK\r\n"), C("x EXECUTE w\r\n"));
	CHECK(!r.failed);
	CHECK_STR(r.events, "[EXECUTE x] w\\r\\n[END]");
	result_free(&r);
	RUN(r, 1, L(), C(TAG64 "9 NOOP " STOK "\r\n"));
	CHECK(r.failed);	/* 65 */
	result_free(&r);
#undef TAG64
	result_free(&r);
	/* A first line that never ends: decided at its first 104 bytes. */
	memset(longtag, 'a', sizeof(longtag));
	memcpy(longtag + sizeof(longtag) - 16, " NOOP\r\nx NOOP\r\n", 16);
	s[0] = (struct step)L();
	s[1] = (struct step){ 'C', longtag, sizeof(longtag) };
	s[2] = (struct step)END;
	session(__LINE__, s, 1, &r);
	/* Rule 3: blind, a tag too long is relayed, never closed. */
	CHECK(r.failed);
	CHECK(!r.closed);
	CHECK_NUM(r.to_server.len, sizeof(longtag));
	CHECK_STR(r.to_client, "");
	result_free(&r);

	/* COMPRESS and STARTTLS, blind: the backend's to answer. */
	RUN(r, 1, L(), S("a OK Logged in\r\n"),
	    C("b COMPRESS DEFLATE\r\nc STARTTLS\r\n"),
	    S("b OK Begin compression.\r\n"));
	CHECK(r.failed);
	CHECK_STR(r.events, "");
	CHECK_STR(r.to_server, "b COMPRESS DEFLATE\r\nc STARTTLS\r\n");
	result_free(&r);
	/* After the sync, COMPRESS is imapexec's own again. */
	RUN(r, 1, L(), S("a OK Logged in\r\n"), C("b NOOP " STOK "\r\n"),
	    S("b OK\r\n"), C("c COMPRESS DEFLATE\r\n"));
	CHECK(!r.failed);
	CHECK_STR(r.events, "[COMPRESS c] DEFLATE\\r\\n[END]");
	result_free(&r);

	/* Unproven, only the login reply's list gains the token. */
	RUN(r, 1, L(), S("a OK [CAPABILITY IMAP4rev1] Logged in\r\n"
	    "b OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] x\r\n"
	    "* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE\r\n"));
	CHECK_STR(r.to_client, "a OK [CAPABILITY IMAP4rev1 EXECUTE "
	    "EXECUTE-SYNC=" STOK "] Logged in\r\n"
	    "b OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] x\r\n"
	    "* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE\r\n");
	result_free(&r);

	/*
	 * DEFLATE both ways once the backend compresses (the client's
	 * COMPRESS was read ahead, or sent blind): no line end, no space
	 * for long.  The first line is decided at its first byte that
	 * cannot be the sync's, and blind nothing is held, either way.
	 */
	RUN(r, 1, L(), S("a OK Logged in\r\nb OK Begin compression.\r\n"),
	    C("\x2a\x31\x50\xf0\xf3\xf7\x0f\xe0\xe5\x02\x00\x00\x00\xff\xff"),
	    S("Zx\x01\x02zzzz\x00\x00\xff\xff"), H(),
	    C("JAB0123456789"), S("k\x05Q"), H());
	CHECK(r.failed);
	CHECK_NUM(r.heldbytes, 0);
	CHECK_NUM(r.to_server.len, 15 + 13);
	result_free(&r);
	RUN(r, 1, L(), S("a OK Logged in\r\n"), C("b COMPRESS DEFLATE\r\n"),
	    S("b OK Begin compression.\r\n"), C("T0\xf3\xf7"), H(),
	    S("b0\x07"), H());
	CHECK(r.failed);
	CHECK_NUM(r.heldbytes, 0);
	result_free(&r);
	/* A first line that may still be the sync is held, no more. */
	RUN(r, 1, L(), S("a OK Logged in\r\n"), C("tag NOOP fedcba"), H(),
	    C("9876543210fedcba9876543210\r\n"), S("tag OK\r\n"),
	    C("x EXECUTE w\r\n"));
	CHECK(!r.failed);
	CHECK_NUM(r.heldbytes, 15);
	CHECK_STR(r.events, "[EXECUTE x] w\\r\\n[END]");
	result_free(&r);
	RUN(r, 1, L(), C("tag NOOP fedcbX"), H());
	CHECK(r.failed);
	CHECK_NUM(r.heldbytes, 0);
	result_free(&r);
	/* Failed closed in a proven session: the backend's tags pass at
	 * once, only a prefix of an outstanding probe's tag is held. */
	RUN(r, 1, S("* PREAUTH hi\r\n"), P(), S("q OK hidden\r\n"),
	    S("zzzzzzzzzzzzzz"), H(), S("\r\n0123"), H(),
	    S("456789abcdef0123456789abcdef OK\r\nend\r\n"));
	CHECK(r.failed);
	CHECK_NUM(r.heldbytes, 4);
	CHECK_STR(r.to_client, "* PREAUTH hi\r\nq OK hidden\r\nzzzzzzzzzzzzzz"
	    "\r\nend\r\n");
	result_free(&r);
}

/*
 * main():
 * Run every test; exit nonzero if any check failed.
 */
int
main(void)
{
	test_lex();
	test_plain();
	test_auth();
	test_own();
	test_own_wait();
	test_own_literal();
	test_literals();
	test_sync_hold();
	test_dup_tags();
	test_failclosed();
	test_idle();
	test_bad_tags();
	test_quoted();
	test_sizes();
	test_long_words();
	test_failed_flows();
	test_caps();
	test_long_caps();
	test_server_literals();
	test_postlogin();
	printf("test_scan: %d passed, %d failed\n", passed, failed);
	return (failed > 0);
}
