/*
 * The arguments of an EXECUTE command line.
 *
 *   execute  = tag SP "EXECUTE" [SP service [SP "(" option *(SP option)
 *              ")"] *(SP astring)] CRLF
 *   service  = astring
 *   option   = "INPUT" SP astring
 *
 * Tokens are kept NUL-terminated in one bounded buffer, so that they can
 * serve as argv entries as they are.
 */
#include <string.h>
#include <strings.h>

#include "xcmd.h"

/* Tokenizer states. */
enum {
	XS_SEP = 0,	/* before a token: space, token or end */
	XS_ATOM,	/* in an atom */
	XS_QUOTED,	/* in a quoted string */
	XS_ESCAPE,	/* after '\' in a quoted string */
	XS_TILDE,	/* after '~' where a token may start */
	XS_HDR,		/* in a literal header */
	XS_HDRLF,	/* a literal header ended; xcmd_literal() is due */
	XS_LIT,		/* in literal octets */
	XS_AFTER,	/* after a string, literal or ')': a space is due */
	XS_CR,		/* after CR: LF is due */
	XS_END		/* after LF */
};

/*
 * xcmd_init(x):
 * Prepare ${x} for the bytes that follow "tag EXECUTE".
 */
void
xcmd_init(struct xcmd *x)
{
	x->used = 0;
	x->ntok = 0;
	x->state = XS_SEP;
	x->left = 0;
	x->error = NULL;
	x->toolarge = 0;
	x->service = NULL;
	x->servicelen = 0;
	x->input = NULL;
	x->inputlen = 0;
	x->firstarg = 0;
}

/*
 * fail(x, why):
 * Note the syntax error ${why}, unless one was noted before.
 */
static void
fail(struct xcmd *x, const char *why)
{
	if (x->error == NULL)
		x->error = why;
}

/*
 * tok_open(x, type):
 * Start a token of ${type}.
 */
static void
tok_open(struct xcmd *x, enum xtok type)
{
	if (x->ntok == XCMD_ARGS) {
		x->toolarge = 1;
		return;
	}
	x->off[x->ntok] = x->used;
	x->len[x->ntok] = 0;
	x->type[x->ntok] = (uint8_t)type;
	x->ntok++;
}

/*
 * tok_add(x, p, n):
 * Add the ${n} bytes at ${p} to the current token.
 */
static void
tok_add(struct xcmd *x, const uint8_t *p, size_t n)
{
	if (x->toolarge || x->ntok == 0)
		return;
	if (n >= sizeof(x->buf) - x->used) {
		x->toolarge = 1;
		return;
	}
	memcpy(x->buf + x->used, p, n);
	x->used += n;
	x->len[x->ntok - 1] += n;
}

/*
 * tok_close(x):
 * End the current token with a NUL.
 */
static void
tok_close(struct xcmd *x)
{
	if (x->toolarge)
		return;
	if (x->used == sizeof(x->buf)) {
		x->toolarge = 1;
		return;
	}
	x->buf[x->used++] = '\0';
}

/*
 * atom_char(c):
 * Return nonzero if ${c} may appear in an atom argument.
 */
static int
atom_char(uint8_t c)
{
	return (c > 0x20 && c < 0x7f && strchr("(){\"\\", c) == NULL);
}

/*
 * line_break(x, c):
 * Handle CR or LF ${c} outside strings and literals.
 */
static void
line_break(struct xcmd *x, uint8_t c)
{
	if (c == '\r')
		x->state = XS_CR;
	else
		x->state = XS_END;
}

/*
 * sep(x, c):
 * Handle byte ${c} where a token may start.
 */
static void
sep(struct xcmd *x, uint8_t c)
{
	uint8_t b = c;

	switch (c) {
	case ' ':
		break;
	case '\r':
	case '\n':
		line_break(x, c);
		break;
	case '(':
		tok_open(x, XT_OPEN);
		tok_close(x);
		break;
	case ')':
		tok_open(x, XT_CLOSE);
		tok_close(x);
		x->state = XS_AFTER;
		break;
	case '"':
		tok_open(x, XT_STRING);
		x->state = XS_QUOTED;
		break;
	case '{':
		x->state = XS_HDR;
		break;
	case '~':
		x->state = XS_TILDE;
		break;
	default:
		if (!atom_char(c))
			fail(x, "Invalid characters in atom");
		tok_open(x, XT_ATOM);
		tok_add(x, &b, 1);
		x->state = XS_ATOM;
		break;
	}
}

/*
 * atom(x, c):
 * Handle byte ${c} inside an atom.
 */
static void
atom(struct xcmd *x, uint8_t c)
{
	if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
		tok_close(x);
		x->state = XS_SEP;
		sep(x, c);
	} else {
		if (!atom_char(c))
			fail(x, "Invalid characters in atom");
		tok_add(x, &c, 1);
	}
}

/*
 * xcmd_text(x, p, n):
 * Feed ${n} bytes of the command line at ${p} (literal headers included).
 */
void
xcmd_text(struct xcmd *x, const uint8_t *p, size_t n)
{
	size_t i;
	uint8_t c;

	for (i = 0; i < n; i++) {
		c = p[i];
		switch (x->state) {
		case XS_SEP:
			sep(x, c);
			break;
		case XS_ATOM:
			atom(x, c);
			break;
		case XS_QUOTED:
			if (c == '"') {
				tok_close(x);
				x->state = XS_AFTER;
			} else if (c == '\\')
				x->state = XS_ESCAPE;
			else if (c == '\r' || c == '\n' || c == '\0') {
				fail(x, "Missing '\"'");
				line_break(x, c);
			} else
				tok_add(x, &c, 1);
			break;
		case XS_ESCAPE:
			if (c == '\r' || c == '\n' || c == '\0') {
				fail(x, "Missing '\"'");
				line_break(x, c);
			} else {
				tok_add(x, &c, 1);
				x->state = XS_QUOTED;
			}
			break;
		case XS_TILDE:
			if (c == '{')
				x->state = XS_HDR;
			else {
				/* An atom that starts with '~'. */
				tok_open(x, XT_ATOM);
				tok_add(x, (const uint8_t *)"~", 1);
				x->state = XS_ATOM;
				atom(x, c);
			}
			break;
		case XS_HDR:
			if (c == '\n')
				x->state = XS_HDRLF;
			break;
		case XS_AFTER:
			if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
				x->state = XS_SEP;
				sep(x, c);
			} else {
				fail(x, "Missing space between arguments");
				x->state = XS_SEP;
				sep(x, c);
			}
			break;
		case XS_CR:
			if (c == '\n')
				x->state = XS_END;
			else
				fail(x, "CR sent without LF");
			break;
		default:
			/* Bytes after the end, or where octets are due. */
			fail(x, "Unexpected bytes");
			break;
		}
	}
}

/*
 * xcmd_literal(x, size):
 * The bytes fed last ended a literal header announcing ${size} octets.
 * Return 0 if they will be kept, or -1 if they do not fit (then they are
 * to be refused, or dropped if they come anyway).
 */
int
xcmd_literal(struct xcmd *x, uint64_t size)
{
	if (x->state != XS_HDRLF) {
		fail(x, "Unexpected literal");
		x->state = XS_LIT;
	}
	x->left = size;
	x->state = size > 0 ? XS_LIT : XS_AFTER;
	tok_open(x, XT_LITERAL);
	if (size >= sizeof(x->buf) - x->used)
		x->toolarge = 1;
	if (size == 0)
		tok_close(x);
	return (x->toolarge ? -1 : 0);
}

/*
 * xcmd_data(x, p, n):
 * Feed ${n} octets of the current literal at ${p}.
 */
void
xcmd_data(struct xcmd *x, const uint8_t *p, size_t n)
{
	if (x->state != XS_LIT || n > x->left) {
		fail(x, "Unexpected literal octets");
		return;
	}
	tok_add(x, p, n);
	x->left -= n;
	if (x->left == 0) {
		tok_close(x);
		x->state = XS_AFTER;
	}
}

/*
 * is_string(x, i):
 * Return nonzero if token ${i} is an astring.
 */
static int
is_string(const struct xcmd *x, size_t i)
{
	return (x->type[i] == XT_ATOM || x->type[i] == XT_STRING ||
	    x->type[i] == XT_LITERAL);
}

/*
 * xcmd_end(x):
 * The line ended.  Check its syntax and fill in service, input and
 * firstarg.  Return 0, or -1 with a reason in ${x}->error (syntax) or
 * ${x}->toolarge set.
 */
int
xcmd_end(struct xcmd *x)
{
	size_t i;

	if (x->state == XS_HDRLF || x->state == XS_HDR)
		fail(x, "Invalid literal");
	else if (x->state != XS_END)
		fail(x, "Missing end of line");
	if (x->error != NULL || x->toolarge)
		return (-1);
	if (x->ntok == 0)
		return (0);
	if (!is_string(x, 0)) {
		fail(x, "Service name expected");
		return (-1);
	}
	x->service = (const char *)x->buf + x->off[0];
	x->servicelen = x->len[0];	/* a literal may hold NUL */
	i = 1;
	if (i < x->ntok && x->type[i] == XT_OPEN) {
		if (i + 1 < x->ntok && x->type[i + 1] == XT_CLOSE) {
			fail(x, "Empty option list");
			return (-1);
		}
		for (i++; i < x->ntok && x->type[i] != XT_CLOSE; i += 2) {
			if (x->type[i] != XT_ATOM ||
			    strcasecmp((const char *)x->buf + x->off[i],
			    "INPUT") != 0) {
				fail(x, "Unknown EXECUTE option");
				return (-1);
			}
			if (i + 1 >= x->ntok || !is_string(x, i + 1) ||
			    x->input != NULL) {
				fail(x, "INPUT needs one string");
				return (-1);
			}
			x->input = x->buf + x->off[i + 1];
			x->inputlen = x->len[i + 1];
		}
		if (i >= x->ntok) {
			fail(x, "Missing ')'");
			return (-1);
		}
		i++;
	}
	x->firstarg = i;
	for (; i < x->ntok; i++)
		if (!is_string(x, i)) {
			fail(x, "Unexpected parenthesis");
			return (-1);
		}
	return (0);
}

/*
 * xcmd_arg(x, i, len):
 * Return argument ${i} (0 is the first after the service and options) and
 * store its length in ${len}; arguments are NUL-terminated.
 */
const char *
xcmd_arg(const struct xcmd *x, size_t i, size_t *len)
{
	i += x->firstarg;
	*len = x->len[i];
	return ((const char *)x->buf + x->off[i]);
}

/*
 * xcmd_nargs(x):
 * Return the number of arguments after the service and options.
 */
size_t
xcmd_nargs(const struct xcmd *x)
{
	return (x->ntok - x->firstarg);
}
