/*
 * The server-to-client half of the IMAP stream scanner.
 *
 * Every response line starts with a word: "+" (a continuation request),
 * "*" (untagged) or a tag.  Status responses (OK, NO, BAD, PREAUTH, BYE)
 * carry text and an optional response code, never literals; any other
 * line is data whose arguments may hold literals.  Capability lists, in
 * "* CAPABILITY" lines and in [CAPABILITY ...] codes, are edited token by
 * token: STARTTLS and COMPRESS=* are dropped and, once the session is
 * authenticated, EXECUTE is added at the end unless it is there already.
 *
 * A tagged line's tag is read whole before any of it is passed on, so
 * that the answer to imapexec's probe can be dropped (told by its full
 * tag, never by a hash): the one line imapexec takes out of the backend's
 * stream, as it put the probe into the other.  While the view is
 * unproven only EXECUTE and the sync token are added; failed closed,
 * nothing is edited any more.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dassert.h"
#include "scan.h"

/* Where the server stands. */
enum {
	S_LINE = 0,	/* at the start of a response line */
	S_TAG,		/* in the first word */
	S_WORD,		/* in the second word */
	S_CODE,		/* after a status word: a code may follow */
	S_BRACKET,	/* after the space: '[' opens a code */
	S_CODENAME,	/* in a response code's name */
	S_CAPS,		/* in a capability list */
	S_TEXT,		/* in text to the end of the line */
	S_DATA,		/* in the arguments of a data response */
	S_LIT,		/* in a literal's octets */
	S_PROBE,	/* in the status word of the probe's answer */
	S_SKIP		/* in a line that is dropped, to its end */
};

/*
 * scan_init(st):
 * Prepare ${st} for a new session: both directions at a line start, not
 * authenticated until the backend greets with PREAUTH.
 */
void
scan_init(struct scan *st)
{
	memset(st, 0, sizeof(*st));
	lex_reset(&st->c_lex);
	lex_reset(&st->s_lex);
}

/*
 * scan_postlogin(st, token):
 * Prepare ${st} for Dovecot's post-login mode (see scan.h).
 */
void
scan_postlogin(struct scan *st, const char *token)
{
	DASSERT(!st->s_greeted && st->s_state == S_LINE);
	DASSERT(strlen(token) == SCAN_SYNC_LEN);
	st->authenticated = 1;
	st->s_greeted = 1;
	st->s_login = 1;
	st->unproven = 1;
	memcpy(st->sync, token, SCAN_SYNC_LEN + 1);
	(void)snprintf(st->s_captext, sizeof(st->s_captext),
	    " EXECUTE EXECUTE-SYNC=%s", token);
}

/*
 * scan_server_at_line(st):
 * Return nonzero if the server direction stands between two lines, where
 * imapexec may insert lines of its own.
 */
int
scan_server_at_line(const struct scan *st)
{
	return (st->s_state == S_LINE);
}

/*
 * scan_server_take_literal(st):
 * If the server direction is in a literal's octets, mark the rest of them
 * as passed and return how many they are (the caller relays that many
 * bytes unseen, e.g. with splice(2), before it calls scan_server() again);
 * else return 0.
 */
size_t
scan_server_take_literal(struct scan *st)
{
	size_t n;

	if (st->s_state != S_LIT)
		return (0);
	n = st->s_left < SIZE_MAX / 2 ? (size_t)st->s_left : SIZE_MAX / 2;
	st->s_left -= n;
	if (st->s_left == 0)
		st->s_state = S_DATA;
	return (n);
}

/*
 * word_add(st, p, n):
 * Add the ${n} bytes at ${p} to the word being read, in upper case; a word
 * too long to be a keyword is marked as such.
 */
static void
word_add(struct scan *st, const uint8_t *p, size_t n)
{
	size_t i;
	uint8_t c;

	for (i = 0; i < n; i++) {
		if (st->s_wlen >= sizeof(st->s_word) - 1) {
			st->s_wlen = sizeof(st->s_word);	/* too long */
			return;
		}
		c = p[i];
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		st->s_word[st->s_wlen++] = (char)c;
		st->s_word[st->s_wlen] = '\0';
	}
}

/*
 * word_is(st, s):
 * Return nonzero if the word read is ${s}.
 */
static int
word_is(const struct scan *st, const char *s)
{
	return (st->s_wlen < sizeof(st->s_word) && strcmp(st->s_word, s) == 0);
}

/*
 * edits(st):
 * Return nonzero if capability lists are edited now: while the view is
 * proven, and, unproven, in imap's reply to the login (and an untagged
 * list before it), which carries the sync token.  Never after failing
 * closed.
 */
static int
edits(const struct scan *st)
{
	return (st->failed == NULL && (!st->unproven || !st->s_listed));
}

/*
 * delim(p, n):
 * Return the number of bytes at ${p} before a space, CR or LF (${n} if
 * there is none among the ${n}).
 */
static size_t
delim(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == ' ' || p[i] == '\r' || p[i] == '\n')
			break;
	return (i);
}

/*
 * word_done(st):
 * The second word of a response line has been read: decide what follows.
 */
static void
word_done(struct scan *st)
{
	static const char *status[] = { "OK", "NO", "BAD", "PREAUTH", "BYE" };
	size_t i;

	for (i = 0; i < sizeof(status) / sizeof(status[0]); i++)
		if (word_is(st, status[i]))
			break;
	if (i < sizeof(status) / sizeof(status[0])) {
		/* The login reply answers a command imapexec never saw. */
		if (st->s_tagged && i < 3 && st->s_login)
			st->s_login = 0;
		else if (st->s_tagged && i < 3)
			scan_client_tagged(st, st->s_hash, status[i]);
		else if (!st->s_tagged && !st->s_greeted && i == 3)
			st->authenticated = 1;
		st->s_state = S_CODE;
	} else if (!st->s_tagged && word_is(st, "CAPABILITY") && edits(st)) {
		st->s_state = S_CAPS;
		st->s_capend = '\n';
		st->s_capseen = 0;
	} else {
		st->s_state = S_DATA;
		lex_reset(&st->s_lex);
	}
}

/*
 * droppable(p, n):
 * Return nonzero if the capability named by the ${n} bytes at ${p} would
 * blind the filter: STARTTLS or COMPRESS=<anything>.
 */
static int
droppable(const uint8_t *p, size_t n)
{
	if (n == 8 && strncasecmp((const char *)p, "STARTTLS", 8) == 0)
		return (1);
	return (n > 9 && strncasecmp((const char *)p, "COMPRESS=", 9) == 0);
}

/*
 * caps(st, p, n, eof, act):
 * Edit a capability list: decide on one " NAME" at a time.
 */
static void
caps(struct scan *st, const uint8_t *p, size_t n, int eof,
    struct scan_act *act)
{
	size_t k;

	if (p[0] == '\r' || p[0] == '\n' || p[0] == st->s_capend) {
		/* Failed closed, the backend's list goes out as it is. */
		if (st->authenticated && !st->s_capseen && edits(st)) {
			st->s_capseen = 1;
			act->op = SCAN_INSERT;
			act->text = st->unproven ? st->s_captext :
			    st->offer_compress ? " EXECUTE COMPRESS=DEFLATE" :
			    " EXECUTE";
			return;
		}
		/* A ']' ends the code here; a line break is S_TEXT's. */
		st->s_state = S_TEXT;
		act->op = SCAN_PASS;
		act->n = p[0] == ']' ? 1 : 0;
		return;
	}
	act->op = SCAN_PASS;
	if (p[0] != ' ') {
		/* The rest of a name too long to be edited. */
		for (k = 1; k < n; k++)
			if (p[k] == ' ' || p[k] == ']' || p[k] == '\r' ||
			    p[k] == '\n')
				break;
		act->n = k;
		return;
	}
	for (k = 1; k < n && k <= SCAN_CAP_MAX + 1; k++)
		if (p[k] == ' ' || p[k] == ']' || p[k] == '\r' || p[k] == '\n')
			break;
	if (k > SCAN_CAP_MAX + 1) {
		act->n = k;	/* too long to be one that is edited */
		return;
	}
	if (k == n && !eof) {
		act->op = SCAN_MORE;
		return;
	}
	act->n = k;
	/* Only a proven view serves STARTTLS and COMPRESS itself. */
	if (droppable(p + 1, k - 1) && scan_aligned(st))
		act->op = SCAN_DROP;
	else if (k - 1 == 7 && strncasecmp((const char *)p + 1, "EXECUTE", 7) == 0)
		st->s_capseen = 1;
}

/*
 * line_end(st):
 * A response line ended.
 */
static void
line_end(struct scan *st)
{
	st->s_state = S_LINE;
	st->s_greeted = 1;
	/* Post-login: imap's reply to the login is over. */
	if (st->unproven && !st->s_login)
		st->s_listed = 1;
}

/*
 * scan_probe_sent(st, tag):
 * The caller has queued "${tag} NOOP" CRLF for the backend, ${tag} being
 * SCAN_PROBE_TAGLEN tag characters never used before: the backend's
 * tagged line with exactly that tag is dropped and its status recorded
 * in ${st}->probe.  Only when the backend owes nothing and the client is
 * not fed meanwhile.
 */
void
scan_probe_sent(struct scan *st, const char *tag)
{
	DASSERT(strlen(tag) == SCAN_PROBE_TAGLEN);
	DASSERT(st->probe != PROBE_SENT);
	memcpy(st->probe_tag, tag, SCAN_PROBE_TAGLEN + 1);
	st->probe = PROBE_SENT;
}

/*
 * probe_line(st, p, k, act):
 * The ${k}-byte tag at ${p} is the probe's, followed by p[${k}], a space,
 * CR or LF: drop the line, taking its status.
 */
static void
probe_line(struct scan *st, const uint8_t *p, size_t k, struct scan_act *act)
{
	DASSERT(st->probe == PROBE_SENT && k == SCAN_PROBE_TAGLEN);
	st->s_wlen = 0;
	st->s_word[0] = '\0';
	act->op = SCAN_DROP;
	act->n = k + (p[k] == ' ');
	st->s_state = p[k] == ' ' ? S_PROBE : S_SKIP;
	if (p[k] != ' ') {
		st->probe = PROBE_BAD;
		scan_fail(st, "the probe was answered without status");
	}
}

/*
 * scan_server(st, p, n, eof, act):
 * Decide what to do with the backend's bytes ${p}[0..${n}); ${eof} says no
 * more will come.  The decision is stored in ${act} as for scan_client().
 * Continuations and tagged responses release a client held for them.
 */
void
scan_server(struct scan *st, const uint8_t *p, size_t n, int eof,
    struct scan_act *act)
{
	const uint8_t *lf;
	size_t k;

	memset(act, 0, sizeof(*act));
	if (n == 0)
		return;
	act->op = SCAN_PASS;
	switch (st->s_state) {
	case S_LINE:
		if (p[0] == '+') {
			scan_client_continue(st);
			st->s_state = S_TEXT;
			act->n = 1;
			break;
		}
		if (p[0] != '*' && st->probe == PROBE_SENT) {
			/*
			 * The probe's answer is dropped whole: only what may
			 * still be its tag is held, never more (a DEFLATE
			 * stream, blind, has no line end for long).
			 */
			for (k = 0; k < n && k < SCAN_PROBE_TAGLEN &&
			    p[k] == (uint8_t)st->probe_tag[k]; k++)
				;
			if (k == n && !eof) {
				act->op = SCAN_MORE;
				break;
			}
			if (k == SCAN_PROBE_TAGLEN && (p[k] == ' ' ||
			    p[k] == '\r' || p[k] == '\n')) {
				probe_line(st, p, k, act);
				break;
			}
		}
		st->s_tagged = p[0] != '*';
		st->s_hash = tag_hash_init();
		st->s_state = S_TAG;
		/* FALLTHROUGH */
	case S_TAG:
		act->n = k = delim(p, n);
		st->s_hash = tag_hash_add(st->s_hash, p, k);
		if (k < n) {
			st->s_wlen = 0;
			st->s_word[0] = '\0';
			st->s_state = p[k] == ' ' ? S_WORD : S_TEXT;
			act->n += p[k] == ' ';
		}
		break;
	case S_WORD:
		act->n = k = delim(p, n);
		word_add(st, p, k);
		if (k < n)
			word_done(st);
		break;
	case S_CODE:
		act->n = p[0] == ' ';
		st->s_state = p[0] == ' ' ? S_BRACKET : S_TEXT;
		break;
	case S_BRACKET:
		act->n = p[0] == '[';
		st->s_state = p[0] == '[' ? S_CODENAME : S_TEXT;
		st->s_wlen = 0;
		st->s_word[0] = '\0';
		break;
	case S_CODENAME:
		for (k = 0; k < n; k++)
			if (p[k] == ' ' || p[k] == ']' || p[k] == '\r' ||
			    p[k] == '\n')
				break;
		act->n = k;
		word_add(st, p, k);
		if (k == n)
			break;
		if (word_is(st, "CAPABILITY") && edits(st)) {
			st->s_state = S_CAPS;
			st->s_capend = ']';
			st->s_capseen = 0;
		} else
			st->s_state = S_TEXT;
		break;
	case S_CAPS:
		caps(st, p, n, eof, act);
		break;
	case S_TEXT:
		if ((lf = memchr(p, '\n', n)) == NULL)
			act->n = n;
		else {
			act->n = (size_t)(lf - p) + 1;
			line_end(st);
		}
		break;
	case S_DATA:
		switch (lex_run(&st->s_lex, p, n, &act->n)) {
		case LEX_MORE:
			break;
		case LEX_EOL:
			line_end(st);
			break;
		case LEX_LITERAL:
			st->s_left = st->s_lex.size;
			if (st->s_left > 0)
				st->s_state = S_LIT;
			break;
		}
		break;
	case S_LIT:
		act->n = st->s_left < n ? (size_t)st->s_left : n;
		st->s_left -= act->n;
		if (st->s_left == 0)
			st->s_state = S_DATA;
		break;
	case S_PROBE:
		act->op = SCAN_DROP;
		act->n = k = delim(p, n);
		word_add(st, p, k);
		if (k == n)
			break;
		if (word_is(st, "OK"))
			st->probe = PROBE_OK;
		else {
			st->probe = PROBE_BAD;
			scan_fail(st, "the probe was not answered OK");
		}
		st->s_state = S_SKIP;
		break;
	case S_SKIP:
		act->op = SCAN_DROP;
		if ((lf = memchr(p, '\n', n)) == NULL)
			act->n = n;
		else {
			act->n = (size_t)(lf - p) + 1;
			line_end(st);
		}
		break;
	}
}
