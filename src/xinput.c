/*
 * The client's input to an interactive EXECUTE session.
 */
#include <string.h>
#include <strings.h>

#include "dassert.h"
#include "lex.h"
#include "xinput.h"

enum {
	XI_LINE = 0,	/* at the start of a line */
	XI_LONG,	/* in a line too long to look at whole */
	XI_HOLD,	/* a synchronizing literal waits for "+" */
	XI_LIT,		/* in literal octets */
	XI_TAIL		/* after literal octets, to the end of the line */
};

/*
 * xin_init(x):
 * Prepare ${x} for the first line after the continuation request.
 */
void
xin_init(struct xinput *x)
{
	x->state = XI_LINE;
	x->left = 0;
}

/*
 * unquote(x, p, n):
 * If the ${n} bytes at ${p} are exactly one quoted string, store its
 * contents in ${x}->line and return their length; else return -1.
 */
static long
unquote(struct xinput *x, const uint8_t *p, size_t n)
{
	size_t i, len = 0;

	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return (-1);
	for (i = 1; i < n - 1; i++) {
		if (p[i] == '"' || p[i] == '\0')
			return (-1);
		if (p[i] == '\\' && ++i == n - 1)
			return (-1);
		x->line[len++] = p[i];
	}
	return ((long)len);
}

/*
 * literal(p, n, size, sync):
 * If the ${n} bytes at ${p} are a literal header ({n}, {n+}, ~{n} or
 * ~{n+}), store its size and kind and return 0; else return -1.
 */
static int
literal(const uint8_t *p, size_t n, uint64_t *size, int *sync)
{
	size_t i = 0;
	uint64_t v = 0;

	if (n > 0 && p[0] == '~')
		i++;
	if (i >= n || p[i] != '{' || p[n - 1] != '}')
		return (-1);
	*sync = 1;
	if (n >= 2 && p[n - 2] == '+') {
		*sync = 0;
		n--;
	}
	if (i + 2 >= n)
		return (-1);	/* no digits */
	for (i++; i < n - 1; i++) {
		if (p[i] < '0' || p[i] > '9' ||
		    v > (LIT_SIZE_MAX - (uint64_t)(p[i] - '0')) / 10)
			return (-1);
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*size = v;
	return (0);
}

/*
 * line(x, p, n, act):
 * Classify the line at ${p}, ${n} bytes up to its LF, which is at p[n].
 */
static void
line(struct xinput *x, const uint8_t *p, size_t n, struct xin_act *act)
{
	size_t len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
	long q;

	act->n = n + 1;
	if (len == 4 && strncasecmp((const char *)p, "DONE", 4) == 0)
		act->op = XIN_DONE;
	else if (len == 6 && strncasecmp((const char *)p, "CANCEL", 6) == 0)
		act->op = XIN_CANCEL;
	else if (literal(p, len, &act->size, &act->sync) == 0) {
		act->op = XIN_LITERAL;
		x->left = act->size;
		x->state = act->sync ? XI_HOLD :
		    act->size > 0 ? XI_LIT : XI_TAIL;
	} else if ((q = unquote(x, p, len)) >= 0) {
		act->op = XIN_BYTES;
		act->data = x->line;
		act->len = (size_t)q;
		act->eol = 1;
	} else {
		act->op = XIN_BYTES;
		act->data = p;
		act->len = len;
		act->eol = 1;
	}
}

/*
 * xin_scan(x, p, n, room, act):
 * Decide what to do with the client bytes ${p}[0..${n}), delivering at most
 * ${room} bytes of data at once (an end of line not counted; ${room} is at
 * least XIN_LINE_MAX); store the decision in ${act}.  The caller consumes
 * ${act}->n bytes after using ${act}->data.
 */
void
xin_scan(struct xinput *x, const uint8_t *p, size_t n, size_t room,
    struct xin_act *act)
{
	const uint8_t *lf;
	size_t k;

	DASSERT(room >= XIN_LINE_MAX);
	memset(act, 0, sizeof(*act));
	if (n == 0)
		return;
	switch (x->state) {
	case XI_LINE:
		k = n < XIN_LINE_MAX ? n : XIN_LINE_MAX;
		if ((lf = memchr(p, '\n', k)) != NULL) {
			line(x, p, (size_t)(lf - p), act);
			break;
		}
		if (n < XIN_LINE_MAX)
			break;		/* XIN_MORE */
		x->state = XI_LONG;
		/* FALLTHROUGH */
	case XI_LONG:
		/* No more than ${room} bytes of data at once. */
		k = n < room ? n : room;
		if ((lf = memchr(p, '\n', k)) != NULL) {
			k = (size_t)(lf - p);
			act->n = k + 1;
			act->len = k > 0 && p[k - 1] == '\r' ? k - 1 : k;
			act->eol = 1;
			x->state = XI_LINE;
		} else if (k == 0) {
			break;		/* XIN_MORE */
		} else {
			/* Keep a final CR: it may begin the CRLF. */
			act->n = act->len = p[k - 1] == '\r' ? k - 1 : k;
			if (act->n == 0)
				break;	/* XIN_MORE */
		}
		DASSERT(act->len <= room);
		act->op = XIN_BYTES;
		act->data = p;
		break;
	case XI_LIT:
		k = x->left < n ? (size_t)x->left : n;
		if (k > room)
			k = room;
		if (k == 0)
			break;
		act->op = XIN_BYTES;
		act->data = p;
		act->n = act->len = k;
		if ((x->left -= k) == 0)
			x->state = XI_TAIL;
		break;
	case XI_TAIL:
		/* Nothing is delivered from the rest of a literal's line. */
		if ((lf = memchr(p, '\n', n)) != NULL) {
			act->n = (size_t)(lf - p) + 1;
			x->state = XI_LINE;
		} else
			act->n = n;
		act->op = XIN_BYTES;
		act->data = p;
		act->len = 0;
		break;
	case XI_HOLD:
	default:
		break;
	}
}

/*
 * xin_accept(x):
 * The continuation request for a synchronizing literal has been sent.
 */
void
xin_accept(struct xinput *x)
{
	if (x->state == XI_HOLD)
		x->state = x->left > 0 ? XI_LIT : XI_TAIL;
}
