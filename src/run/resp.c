/*
 * The client side's reader of server responses.
 *
 * rd_feed() splits the stream the way an IMAP client must: a line that
 * ends in a literal header continues after the literal's octets.  The
 * project's lexer (lex.c) finds the ends of lines and the literal headers,
 * so a "{5}" inside a quoted string is never taken for a literal.  The
 * octets are handed on as they come, never held: a service's output may
 * be any size.  resp_parse() then reads the responses this client acts
 * on; everything else is R_OTHER, to be skipped with its literals.
 */
#include <string.h>
#include <strings.h>

#include "dassert.h"
#include "resp.h"

/*
 * rd_init(r):
 * Prepare ${r} for the first byte of a response.
 */
void
rd_init(struct rdr *r)
{
	lex_reset(&r->lx);
	r->first = 1;
	r->lit = 0;
	r->done = 0;
	r->flags = 0;
	r->left = 0;
	r->len = 0;
	r->line[0] = '\0';
}

/*
 * rd_feed(r, p, n, ev):
 * Take bytes from ${p}[0..${n}) and store in ${ev} what they made: a
 * complete segment in ${r}->line (valid until the next call; ${r}->first
 * says whether it starts a response, ${r}->lit whether it ends with a
 * literal header whose size is ${r}->left), literal octets (a part of
 * ${p}), RD_MORE or RD_ERROR.  ${ev}->used bytes were consumed.
 */
void
rd_feed(struct rdr *r, const uint8_t *p, size_t n, struct rd_ev *ev)
{
	enum lex_stop st;
	size_t used;

	memset(ev, 0, sizeof(*ev));
	if (r->done) {
		/* After a literal, the same response goes on. */
		r->first = !r->lit;
		r->lit = 0;
		r->done = 0;
		r->len = 0;
	}
	if (r->left > 0) {
		used = (uint64_t)n < r->left ? n : (size_t)r->left;
		r->left -= used;
		ev->op = used > 0 ? RD_DATA : RD_MORE;
		ev->data = p;
		ev->len = used;
		ev->used = used;
		return;
	}
	st = lex_run(&r->lx, p, n, &used);
	/* Invariant: line[] never holds more than RESP_LINE_MAX bytes. */
	DASSERT(r->len <= RESP_LINE_MAX);
	if (used > RESP_LINE_MAX - r->len) {
		ev->op = RD_ERROR;
		return;
	}
	memcpy(r->line + r->len, p, used);
	r->len += used;
	ev->used = used;
	if (st == LEX_MORE) {
		ev->op = RD_MORE;
		return;
	}
	/* The segment ends with the LF just used; drop it and a CR. */
	DASSERT(r->len > 0 && r->line[r->len - 1] == '\n');
	r->len--;
	if (r->len > 0 && r->line[r->len - 1] == '\r')
		r->len--;
	r->line[r->len] = '\0';
	if (st == LEX_LITERAL) {
		r->lit = 1;
		r->left = r->lx.size;
		r->flags = r->lx.flags;
	}
	r->done = 1;
	ev->op = RD_SEG;
}

/* A cursor over a segment being parsed. */
struct cur {
	uint8_t	*s;
	size_t	 n;
	size_t	 i;
};

/*
 * sp(c):
 * Take one space at ${c}; return 0, or -1 if there is none.
 */
static int
sp(struct cur *c)
{
	if (c->i < c->n && c->s[c->i] == ' ') {
		c->i++;
		return (0);
	}
	return (-1);
}

/*
 * word(c, w):
 * Take the bytes up to the next space, ')' or the end at ${c}; return 0
 * if they are ${w} (in any case), else -1 (and take nothing).
 */
static int
word(struct cur *c, const char *w)
{
	size_t k = strlen(w);

	if (c->n - c->i < k || strncasecmp((char *)c->s + c->i, w, k) != 0)
		return (-1);
	if (c->i + k < c->n && c->s[c->i + k] != ' ' && c->s[c->i + k] != ')')
		return (-1);
	c->i += k;
	return (0);
}

/*
 * atom(c, p, len):
 * Take one or more bytes up to the next space, '(', ')' or the end at
 * ${c}; store where in ${p} and ${len}.  Return 0, or -1 if there are none.
 */
static int
atom(struct cur *c, uint8_t **p, size_t *len)
{
	size_t j = c->i;

	while (j < c->n && c->s[j] != ' ' && c->s[j] != '(' &&
	    c->s[j] != ')' && c->s[j] != '"')
		j++;
	if (j == c->i)
		return (-1);
	*p = c->s + c->i;
	*len = j - c->i;
	c->i = j;
	return (0);
}

/*
 * quoted(c, p, len):
 * Take a quoted string at ${c}, unescaping it in place; store its
 * contents in ${p} and ${len}.  Return 0, or -1 (nothing taken).
 */
static int
quoted(struct cur *c, uint8_t **p, size_t *len)
{
	size_t j, k = 0;
	uint8_t *out;

	if (c->i >= c->n || c->s[c->i] != '"')
		return (-1);
	out = c->s + c->i + 1;
	for (j = c->i + 1; j < c->n && c->s[j] != '"'; j++) {
		if (c->s[j] == '\\' && ++j == c->n)
			return (-1);
		/* Invariant: the write position never passes the read one. */
		DASSERT(out + k <= c->s + j);
		out[k++] = c->s[j];
	}
	if (j == c->n)
		return (-1);
	*p = out;
	*len = k;
	c->i = j + 1;
	return (0);
}

/*
 * astring(c, buf, size):
 * Take an atom or a quoted string at ${c} of 1 to ${size} - 1 bytes
 * without NUL, and copy it with a NUL to ${buf}.  Return 0 or -1.
 */
static int
astring(struct cur *c, char *buf, size_t size)
{
	uint8_t *p;
	size_t len;

	if (quoted(c, &p, &len) != 0 && atom(c, &p, &len) != 0)
		return (-1);
	if (len == 0 || len >= size || memchr(p, '\0', len) != NULL)
		return (-1);
	memcpy(buf, p, len);
	buf[len] = '\0';
	return (0);
}

/*
 * litend(c, lit):
 * Return 0 if the rest at ${c} is the literal header that ends a
 * segment (${lit} says the reader found one), else -1.
 */
static int
litend(struct cur *c, int lit)
{
	size_t j = c->i;

	if (!lit)
		return (-1);
	if (j < c->n && c->s[j] == '~')
		j++;
	if (j >= c->n || c->s[j] != '{' || c->s[c->n - 1] != '}')
		return (-1);
	for (j++; j < c->n - 1; j++)
		if ((c->s[j] < '0' || c->s[j] > '9') &&
		    !(c->s[j] == '+' && j == c->n - 2))
			return (-1);
	c->i = c->n;
	return (0);
}

/*
 * status(c, r):
 * Parse the rest of an OK/NO/BAD/PREAUTH/BYE at ${c}: an optional
 * response code, then text.
 */
static void
status(struct cur *c, struct resp *r)
{
	uint8_t *close;

	r->kind = R_STATUS;
	r->text = "";
	if (sp(c) != 0)
		return;
	if (c->i < c->n && c->s[c->i] == '[' &&
	    (close = memchr(c->s + c->i, ']', c->n - c->i)) != NULL) {
		r->code = (char *)c->s + c->i + 1;
		r->codelen = (size_t)(close - c->s) - c->i - 1;
		if (r->codelen > 11 &&
		    strncasecmp(r->code, "CAPABILITY ", 11) == 0) {
			r->caps = r->code + 11;
			r->capslen = r->codelen - 11;
		}
		c->i = (size_t)(close - c->s) + 1;
		(void)sp(c);
	}
	r->text = (char *)c->s + c->i;
}

/*
 * service(c, lit, r):
 * Parse the rest of "* EXECUTE SERVICE" at ${c}.
 */
static void
service(struct cur *c, int lit, struct resp *r)
{
	uint8_t *p;
	size_t len;
	int flags = 0;

	if (sp(c) != 0 || astring(c, r->name, sizeof(r->name)) != 0 ||
	    sp(c) != 0 || c->i >= c->n || c->s[c->i++] != '(')
		return;
	while (c->i < c->n && c->s[c->i] != ')') {
		if (atom(c, &p, &len) != 0)
			return;
		if (len == 11 && strncasecmp((char *)p, "INTERACTIVE", 11) == 0)
			flags |= SVC_INTERACTIVE;
		else if (len == 4 && strncasecmp((char *)p, "CRLF", 4) == 0)
			flags |= SVC_CRLF;
		if (c->i < c->n && c->s[c->i] == ' ')
			c->i++;
	}
	if (c->i >= c->n || c->s[c->i++] != ')' || sp(c) != 0)
		return;
	if (litend(c, lit) == 0)
		r->lit = 1;
	else if (quoted(c, &p, &len) != 0 || c->i != c->n)
		return;
	r->flags = flags;
	r->kind = R_SERVICE;
}

/*
 * output(c, lit, r):
 * Parse the rest of "* EXECUTE (TAG" at ${c}.
 */
static void
output(struct cur *c, int lit, struct resp *r)
{
	uint8_t *p;
	size_t len, j;
	long v = 0;

	if (sp(c) != 0 || quoted(c, &p, &len) != 0 || len == 0 ||
	    len > RESP_TAG_MAX || memchr(p, '\0', len) != NULL ||
	    c->i >= c->n || c->s[c->i++] != ')' || sp(c) != 0)
		return;
	memcpy(r->tag, p, len);
	r->tag[len] = '\0';
	if (word(c, "OUT") == 0 || word(c, "ERR") == 0) {
		r->err = c->s[c->i - 3] == 'E' || c->s[c->i - 3] == 'e';
		if (sp(c) != 0)
			return;
		if (litend(c, lit) == 0)
			r->lit = 1;
		else if (quoted(c, &p, &len) == 0 && c->i == c->n) {
			r->data = p;
			r->len = len;
		} else
			return;
		r->kind = R_OUTPUT;
	} else if (word(c, "EXIT") == 0) {
		if (sp(c) != 0 || c->i == c->n || c->n - c->i > 9)
			return;
		for (j = c->i; j < c->n; j++) {
			if (c->s[j] < '0' || c->s[j] > '9')
				return;
			v = v * 10 + (c->s[j] - '0');
		}
		r->number = v;
		r->kind = R_EXIT;
	} else if (word(c, "SIGNAL") == 0) {
		if (sp(c) != 0 || atom(c, &p, &len) != 0 || c->i != c->n ||
		    len >= sizeof(r->name) || memchr(p, '\0', len) != NULL)
			return;
		memcpy(r->name, p, len);
		r->name[len] = '\0';
		r->kind = R_SIGNAL;
	}
}

/*
 * resp_parse(s, n, lit, r):
 * Parse the first segment of a response, the ${n} bytes at ${s} (with a
 * NUL at s[n]; ${lit} if a literal header ends it), into ${r}.  Quoted
 * strings are unescaped in place, so ${s} is changed; ${r} points into
 * it.  Anything not understood is R_OTHER; never fails.
 */
void
resp_parse(uint8_t *s, size_t n, int lit, struct resp *r)
{
	struct cur c = { s, n, 0 };
	uint8_t *p;
	size_t len;

	DASSERT(s[n] == '\0');
	memset(r, 0, sizeof(*r));
	r->text = "";
	if (atom(&c, &p, &len) != 0) {
		if (n > 0 && s[0] == '+') {
			/* "+" alone, or "+ text" */
			r->kind = R_CONT;
			r->text = (char *)s + (n > 1 ? 2 : 1);
		}
		return;
	}
	if (len == 1 && p[0] == '+') {
		r->kind = R_CONT;
		r->text = (char *)s + (n > 1 ? 2 : 1);
		return;
	}
	if (!(len == 1 && p[0] == '*')) {
		if (len > RESP_TAG_MAX || memchr(p, '\0', len) != NULL)
			return;
		memcpy(r->tag, p, len);
		r->tag[len] = '\0';
		r->tagged = 1;
	}
	if (sp(&c) != 0)
		return;
	if (word(&c, "OK") == 0)
		r->status = ST_OK;
	else if (word(&c, "NO") == 0)
		r->status = ST_NO;
	else if (word(&c, "BAD") == 0)
		r->status = ST_BAD;
	else if (word(&c, "PREAUTH") == 0)
		r->status = ST_PREAUTH;
	else if (word(&c, "BYE") == 0)
		r->status = ST_BYE;
	if (r->status != 0) {
		status(&c, r);
		return;
	}
	if (r->tagged)
		return;
	if (word(&c, "CAPABILITY") == 0) {
		r->kind = R_CAPA;
		if (sp(&c) == 0) {
			r->caps = (char *)s + c.i;
			r->capslen = n - c.i;
		}
	} else if (word(&c, "EXECUTE") == 0 && sp(&c) == 0) {
		if (word(&c, "SERVICE") == 0)
			service(&c, lit, r);
		else if (c.n - c.i >= 4 &&
		    strncasecmp((char *)s + c.i, "(TAG", 4) == 0) {
			c.i += 4;
			output(&c, lit, r);
		}
	}
}

/*
 * resp_has_cap(caps, len, name):
 * Return nonzero if the space-separated list ${caps} (${len} bytes) holds
 * ${name} (case-insensitively).
 */
int
resp_has_cap(const char *caps, size_t len, const char *name)
{
	size_t i = 0, j, k = strlen(name);

	while (caps != NULL && i < len) {
		for (j = i; j < len && caps[j] != ' '; j++)
			;
		if (j - i == k && strncasecmp(caps + i, name, k) == 0)
			return (1);
		i = j + 1;
	}
	return (0);
}

/*
 * resp_cap_value(caps, len, name, vlen):
 * Return the value of the first "${name}=value" in the space-separated
 * list ${caps} (${len} bytes; ${name} case-insensitively), its length in
 * *${vlen}; NULL if there is none.
 */
const char *
resp_cap_value(const char *caps, size_t len, const char *name, size_t *vlen)
{
	size_t i = 0, j, k = strlen(name);

	while (caps != NULL && i < len) {
		for (j = i; j < len && caps[j] != ' '; j++)
			;
		if (j - i > k && caps[i + k] == '=' &&
		    strncasecmp(caps + i, name, k) == 0) {
			*vlen = j - i - k - 1;
			return (caps + i + k + 1);
		}
		i = j + 1;
	}
	return (NULL);
}
