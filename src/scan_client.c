/*
 * The client-to-server half of the IMAP stream scanner.
 *
 * A command line is "tag SP name" followed by arguments; the tag and the
 * name are words that end at a space or a line break (as Dovecot reads
 * them), the arguments follow the generic grammar that lex.c knows.  A
 * synchronizing literal's octets, an IDLE's "DONE" and an AUTHENTICATE
 * exchange all depend on the backend's answer, so the client is held
 * (SCAN_WAIT) until the server half sees the continuation or the tagged
 * response that decides what the client's next bytes are.  The backend
 * may answer before the client's line has ended (Dovecot acts on a CR, and
 * sends "+" as soon as it has parsed a literal's '}'), so an answer that
 * comes while the line is still being scanned is kept until the line gets
 * to the point where it is needed.
 */
#include <string.h>
#include <strings.h>

#include "dassert.h"
#include "scan.h"

/* Where the client stands. */
enum {
	C_LINE = 0,	/* at the start of a command line */
	C_ARGS,		/* in a command's arguments */
	C_LIT,		/* in a literal's octets */
	C_CONT,		/* in a continuation line (IDLE, AUTHENTICATE) */
	C_NAME,		/* in a command name too long to tell apart */
	C_SKIP,		/* in a line that is no command */
	C_HOLD		/* held until the backend answers */
};

const char scan_unsynced[] = "the client's first line after the login was "
    "not the EXECUTE-SYNC NOOP";

/* What a held client waits for. */
enum {
	HOLD_NONE = 0,
	HOLD_LITERAL,	/* "+" or a tagged NO/BAD for a literal */
	HOLD_IDLE,	/* "+ idling" or a tagged response */
	HOLD_AUTH,	/* "+ challenge" or the tagged result */
	HOLD_OWN	/* imapexec's own decision on its literal */
};

static const struct {
	const char	*name;
	enum scan_cmd	 cmd;
} commands[] = {
	{ "EXECUTE", CMD_EXECUTE },
	{ "COMPRESS", CMD_COMPRESS },
	{ "STARTTLS", CMD_STARTTLS },
	{ "IDLE", CMD_IDLE },
	{ "AUTHENTICATE", CMD_AUTHENTICATE },
	{ "LOGIN", CMD_LOGIN },
	{ "UNAUTHENTICATE", CMD_UNAUTHENTICATE }
};

/*
 * classify(p, n):
 * Return the command named by the ${n} bytes at ${p}, in any case.
 */
static enum scan_cmd
classify(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strlen(commands[i].name) == n &&
		    strncasecmp(commands[i].name, (const char *)p, n) == 0)
			return (commands[i].cmd);
	return (CMD_OTHER);
}

/*
 * tag_char(c):
 * Return nonzero if ${c} may appear in a tag.  This is Dovecot's rule
 * (RFC 3501's tag but for ']', and with DEL): a line whose tag breaks it
 * is answered with an untagged BAD and skipped to its end, literals and
 * all, so the scanner must agree on it exactly.
 */
static int
tag_char(uint8_t c)
{
	if (c <= 0x20 || c > 0x7f)
		return (0);
	return (strchr("(){%*\"\\+]", c) == NULL);
}

/*
 * word_end(p, n, max):
 * Return the length of the word at ${p}: the bytes before the first space,
 * CR or LF among the first ${n}, or ${max} + 1 if it is longer than ${max}.
 * Return ${n} if the word may go on past the bytes given.
 */
static size_t
word_end(const uint8_t *p, size_t n, size_t max)
{
	size_t i;

	for (i = 0; i < n && i <= max; i++)
		if (p[i] == ' ' || p[i] == '\r' || p[i] == '\n')
			return (i);
	return (i);
}

/*
 * tags_room(st):
 * Return nonzero if a command's tag may be recorded now.  Failed closed,
 * there always is room: the oldest entry is forgotten to make it.  The
 * scanner's picture of the client is no longer to be trusted then (in
 * post-login mode the tail of a literal imap-login read the head of may
 * come as thousands of "commands" that imap never answers), so holding
 * the client until the backend completes one could wait forever while
 * the backend waits for the client's next bytes.  Forgetting an entry
 * costs nothing then: its answer is "not outstanding", which only fails
 * closed again, and nothing acts on the pairing any more.
 */
static int
tags_room(struct scan *st)
{
	uint8_t kind;

	if (st->tags.count < TAGS_MAX)
		return (1);
	if (scan_aligned(st))
		return (0);
	(void)tags_pop(&st->tags, st->tags.hash[st->tags.head], &kind);
	DASSERT(st->tags.count < TAGS_MAX);
	return (1);
}

/*
 * line_start(st, p, n, eof, act):
 * Classify the command line that begins at ${p}.
 */
static void
line_start(struct scan *st, const uint8_t *p, size_t n, int eof,
    struct scan_act *act)
{
	size_t i, tlen, nlen;
	enum scan_cmd cmd = CMD_OTHER;

	/* Invariant: the post-login view is decided on the first line. */
	DASSERT(!st->unproven);
	tlen = word_end(p, n, SCAN_TAG_MAX);
	if (tlen > SCAN_TAG_MAX && scan_aligned(st)) {
		act->op = SCAN_CLOSE;
		act->text = "* BYE [CLIENTBUG] Command tag too long\r\n";
		return;
	}
	if (tlen > SCAN_TAG_MAX) {
		/* Blind, never closed: the backend judges it (rule 3). */
		st->c_state = C_SKIP;
		return;
	}
	if (tlen == n && !eof)
		return;		/* SCAN_MORE */
	for (i = 0; i < tlen; i++)
		if (!tag_char(p[i]))
			break;
	if (tlen == 0 || i < tlen) {
		/* No valid tag: the backend will not run this line. */
		st->c_state = C_SKIP;
		return;
	}
	nlen = 0;
	if (tlen < n && p[tlen] == ' ') {
		nlen = word_end(p + tlen + 1, n - tlen - 1, SCAN_NAME_MAX);
		if (nlen == n - tlen - 1 && nlen <= SCAN_NAME_MAX && !eof)
			return;	/* SCAN_MORE */
		if (nlen <= SCAN_NAME_MAX)
			cmd = classify(p + tlen + 1, nlen);
	}

	if ((cmd == CMD_EXECUTE || cmd == CMD_COMPRESS ||
	    cmd == CMD_STARTTLS) && !scan_aligned(st))
		cmd = CMD_OTHER;	/* blind: the backend's, like any other */
	if (cmd == CMD_EXECUTE || cmd == CMD_COMPRESS || cmd == CMD_STARTTLS) {
		/*
		 * Taken up once the backend has greeted and owes nothing
		 * (its answer can then not overtake another), and the
		 * caller probes before acting.
		 */
		if (!st->s_greeted || st->tags.count > 0) {
			act->op = SCAN_WAIT;
			return;
		}
		st->c_own = 1;
		act->op = SCAN_COMMAND;
		act->cmd = cmd;
		act->taglen = tlen;
	} else {
		st->c_hash = tag_hash_add(tag_hash_init(), p, tlen);
		if (!tags_room(st)) {
			act->op = SCAN_WAIT;
			return;
		}
		/* Two answers with one tag could be paired wrongly. */
		if (tags_count(&st->tags, st->c_hash) > 0)
			scan_fail(st, "a tag was reused while outstanding");
		(void)tags_push(&st->tags, st->c_hash, cmd);
		st->c_own = 0;
		st->c_plus = st->c_done = st->c_doneok = 0;
		act->op = SCAN_PASS;
	}
	st->c_cmd = cmd;
	st->c_state = nlen > SCAN_NAME_MAX ? C_NAME : C_ARGS;
	lex_reset(&st->c_lex);
	act->n = nlen > 0 ? tlen + 1 + nlen : tlen;
}

/*
 * release(st, what):
 * The backend sent the continuation that a client held for ${what} waits
 * for: let the client go on.
 */
static void
release(struct scan *st, int what)
{
	st->c_hold = HOLD_NONE;
	if (what == HOLD_LITERAL)
		st->c_state = st->c_left > 0 ? C_LIT : C_ARGS;
	else
		st->c_state = C_CONT;
}

/*
 * hold(st, what):
 * The client got to a point where its next bytes depend on the backend's
 * answer ${what}: hold it, unless that answer has come already.
 */
static void
hold(struct scan *st, int what)
{
	/* A command cannot succeed before it has its literal. */
	if (st->c_done && st->c_doneok && what == HOLD_LITERAL)
		scan_fail(st, "a tagged OK came before a literal was sent");
	if (st->c_done)
		st->c_state = C_LINE;	/* the command is over */
	else if (st->c_plus || !scan_aligned(st)) {
		/* Blind, never held: see tags_room(). */
		st->c_plus = 0;
		release(st, what);
	} else {
		st->c_state = C_HOLD;
		st->c_hold = what;
	}
}

/*
 * in_line(st):
 * Return nonzero while a command line sent to the backend (or one of its
 * continuation lines) is still being scanned.
 */
static int
in_line(const struct scan *st)
{
	return (!st->c_own && (st->c_state == C_ARGS ||
	    st->c_state == C_NAME || st->c_state == C_LIT ||
	    st->c_state == C_CONT));
}

/*
 * args(st, p, n, act):
 * Follow the arguments of the current command line.
 */
static void
args(struct scan *st, const uint8_t *p, size_t n, struct scan_act *act)
{
	size_t used;

	switch (lex_run(&st->c_lex, p, n, &used)) {
	case LEX_MORE:
		act->op = st->c_own ? SCAN_TEXT : SCAN_PASS;
		break;
	case LEX_EOL:
		act->op = st->c_own ? SCAN_END : SCAN_PASS;
		st->c_state = C_LINE;
		if (st->c_own)
			st->c_own = 0;
		else if (st->c_cmd == CMD_IDLE)
			hold(st, HOLD_IDLE);
		else if (st->c_cmd == CMD_AUTHENTICATE)
			hold(st, HOLD_AUTH);
		else if (st->c_plus)
			scan_fail(st, "a continuation came for a line that "
			    "asked for none");
		break;
	case LEX_LITERAL:
		act->op = st->c_own ? SCAN_LITERAL : SCAN_PASS;
		act->size = st->c_lex.size;
		act->flags = st->c_lex.flags;
		st->c_left = st->c_lex.size;
		if (!(st->c_lex.flags & LIT_NONSYNC)) {
			if (st->c_own) {
				st->c_state = C_HOLD;
				st->c_hold = HOLD_OWN;
			} else
				hold(st, HOLD_LITERAL);
		} else if (st->c_left > 0)
			st->c_state = C_LIT;
		break;
	}
	act->n = used;
}

/*
 * sync_byte(st, i, c):
 * Return nonzero if ${c} may stand at offset ${i} of the sync line after
 * its tag: " NOOP ", the token (hex digits, in either case: clients may
 * keep capabilities in upper case, the same 128 bits), CRLF.
 */
static int
sync_byte(const struct scan *st, size_t i, uint8_t c)
{
	static const char noop[] = " NOOP ";

	if (i < 6)
		return (i > 0 && i < 5 ? (c & ~0x20) == noop[i] : c == ' ');
	i -= 6;
	if (i < SCAN_SYNC_LEN) {
		if (c >= 'A' && c <= 'F')
			c += 'a' - 'A';
		return (c == (uint8_t)st->sync[i]);
	}
	return (c == "\r\n"[i - SCAN_SYNC_LEN]);
}

/*
 * sync_line(st, p, n, eof):
 * Decide the post-login view on the client's first line, at ${p} (${n}
 * bytes; ${eof}: no more will come).  Return 0 if more bytes are needed,
 * else nonzero, ${st} being aligned or failed closed.  More are awaited
 * only while every byte so far fits the sync line, so a stream that is
 * not one (a DEFLATE block without a line end, say) is decided at once
 * and never held.
 *
 * The proof: imapexec hands the token to the client in the capability
 * list of imap's reply to the login, the first line imap sends, over a
 * stream it sees whole.  128 random bits, made after anything that could
 * be in the client's stream so far was written (a message it APPENDs,
 * say): only the client can send them, and it does so in a command line
 * of its own, after that reply.  If that line is the first one imapexec
 * sees, every byte before it went to imap straight from imap-login, and
 * the line starts where the client's command starts, which is where imap
 * reads a new command (an honest client's stream is framed the same by
 * every parser).  Had the client switched on compression behind the login
 * (imap-login read it), the first bytes here would be a DEFLATE block,
 * which cannot begin with a tag and spells the token in plain only by
 * chance (2^-128).  So the views agree from the start of that line on,
 * and from there on the scanner follows the stream as in the other modes.
 */
static int
sync_line(struct scan *st, const uint8_t *p, size_t n, int eof)
{
	const size_t rest = 6 + SCAN_SYNC_LEN + 2;	/* after the tag */
	size_t tlen, i;
	int fits;

	DASSERT(st->c_state == C_LINE && st->tags.count == 0);
	for (tlen = 0; tlen < n && tlen <= SCAN_SYNC_TAGMAX &&
	    tag_char(p[tlen]); tlen++)
		;
	fits = tlen > 0 && tlen <= SCAN_SYNC_TAGMAX;
	for (i = tlen; fits && i < n && i < tlen + rest; i++)
		fits = sync_byte(st, i - tlen, p[i]);
	if (fits && i == n && i < tlen + rest && !eof)
		return (0);	/* so far, so good */
	st->unproven = 0;
	if (!fits || i != tlen + rest)
		scan_fail(st, scan_unsynced);
	explicit_bzero(st->sync, sizeof(st->sync));
	return (1);
}

/*
 * scan_aligned(st):
 * Return nonzero if the view of ${st} is proven and has not failed.
 */
int
scan_aligned(const struct scan *st)
{
	return (!st->unproven && st->failed == NULL);
}

/*
 * scan_client(st, p, n, eof, act):
 * Decide what to do with the client's bytes ${p}[0..${n}); ${eof} says no
 * more will come.  The decision is stored in ${act}.  The caller performs
 * it and consumes ${act}->n bytes (0 for SCAN_MORE and SCAN_WAIT).
 */
void
scan_client(struct scan *st, const uint8_t *p, size_t n, int eof,
    struct scan_act *act)
{
	const uint8_t *lf;

	memset(act, 0, sizeof(*act));
	if (st->unproven && n > 0 && !sync_line(st, p, n, eof))
		return;		/* SCAN_MORE */
	if (st->failed != NULL && !st->c_own) {
		/*
		 * Blind: nothing acts on the client's bytes any more, so
		 * none is held, not even for a line's end (a DEFLATE stream
		 * that the backend does may have none for long).
		 */
		if (n > 0) {
			act->op = SCAN_PASS;
			act->n = n;
		}
		return;
	}
	if (n == 0 && st->c_state != C_HOLD)
		return;
	switch (st->c_state) {
	case C_LINE:
		line_start(st, p, n, eof, act);
		if (act->op == SCAN_MORE && st->c_state == C_SKIP)
			scan_client(st, p, n, eof, act);
		break;
	case C_ARGS:
		args(st, p, n, act);
		break;
	case C_LIT:
		act->op = st->c_own ? SCAN_DATA : SCAN_PASS;
		act->n = st->c_left < n ? (size_t)st->c_left : n;
		st->c_left -= act->n;
		if (st->c_left == 0)
			st->c_state = C_ARGS;
		break;
	case C_NAME:
		act->op = SCAN_PASS;
		act->n = word_end(p, n, n);
		if (act->n < n)
			st->c_state = C_ARGS;
		break;
	case C_CONT:
	case C_SKIP:
		act->op = SCAN_PASS;
		if ((lf = memchr(p, '\n', n)) == NULL) {
			act->n = n;
			break;
		}
		act->n = (size_t)(lf - p) + 1;
		if (st->c_state == C_CONT && st->c_cmd == CMD_AUTHENTICATE)
			hold(st, HOLD_AUTH);
		else
			st->c_state = C_LINE;
		break;
	case C_HOLD:
		if (!scan_aligned(st) && st->c_hold != HOLD_OWN) {
			/* Failed closed while held: let go (tags_room()). */
			st->c_plus = 0;
			release(st, st->c_hold);
			scan_client(st, p, n, eof, act);
		} else
			act->op = SCAN_WAIT;
		break;
	}
}

/*
 * scan_client_literal(st, accept):
 * Decide on a synchronizing literal of imapexec's own command: if ${accept}
 * its octets follow (the caller has sent "+"), else the command ends here
 * (the caller has sent its tagged response).
 */
void
scan_client_literal(struct scan *st, int accept)
{
	if (st->c_state != C_HOLD || st->c_hold != HOLD_OWN)
		return;
	st->c_hold = HOLD_NONE;
	if (accept)
		st->c_state = st->c_left > 0 ? C_LIT : C_ARGS;
	else {
		st->c_state = C_LINE;
		st->c_own = 0;
	}
}

/*
 * scan_client_continue(st):
 * The backend sent a continuation request: release a client held for one.
 */
void
scan_client_continue(struct scan *st)
{
	if (st->unproven)
		return;		/* imap-login's read-ahead: not known here */
	if (st->c_state == C_HOLD && (st->c_hold == HOLD_LITERAL ||
	    st->c_hold == HOLD_IDLE || st->c_hold == HOLD_AUTH))
		release(st, st->c_hold);
	else if (in_line(st) && !st->c_plus)
		st->c_plus = 1;
	else
		scan_fail(st, "a continuation came that no command awaits");
}

/*
 * scan_client_tagged(st, hash, status):
 * The backend completed a command with tag ${hash} and ${status} ("OK",
 * "NO" or "BAD"): forget it, and release a client held for it.
 */
void
scan_client_tagged(struct scan *st, uint64_t hash, const char *status)
{
	uint8_t cmd;
	int ok = strcmp(status, "OK") == 0;

	if (st->unproven)
		return;		/* imap-login's read-ahead: not known here */
	if (st->c_state == C_HOLD && st->c_hold != HOLD_OWN &&
	    st->c_hold != HOLD_NONE && st->c_hash == hash &&
	    tags_count(&st->tags, hash) == 1) {
		/* A command cannot succeed before it has its literal. */
		if (ok && st->c_hold == HOLD_LITERAL)
			scan_fail(st, "a tagged OK came for a command that "
			    "waits for its literal");
		/* The held command is over: its client starts anew. */
		st->c_state = C_LINE;
		st->c_hold = HOLD_NONE;
	} else if (in_line(st) && st->c_hash == hash &&
	    tags_count(&st->tags, hash) == 1) {
		st->c_done = 1;
		st->c_doneok = ok;
	}
	if (tags_pop(&st->tags, hash, &cmd) == -1) {
		scan_fail(st, "a tagged response came for a tag not "
		    "outstanding");
		return;
	}
	/*
	 * Only a PREAUTH greeting authenticates (scan_server.c): a tagged
	 * OK matched by its tag alone proves no login.  Losing the state
	 * is the safe direction.
	 */
	if (ok && cmd == CMD_UNAUTHENTICATE)
		st->authenticated = 0;
}

/*
 * scan_client_disown(st):
 * The own command whose "tag SP name" was reported is passed on to the
 * backend after all (the scanner failed closed before it could act), the
 * caller having queued those bytes for it: the rest of its line goes to
 * the backend, blind, and so does the backend's answer to the client.
 */
void
scan_client_disown(struct scan *st)
{
	/* Invariant: only a command taken up and not yet read is disowned,
	 * and only after failing closed. */
	DASSERT(st->c_own && (st->c_state == C_ARGS || st->c_state == C_NAME));
	DASSERT(st->failed != NULL);
	st->c_own = 0;
	st->c_cmd = CMD_OTHER;
}

/*
 * scan_fail(st, why):
 * Latch ${st} failed closed for the reason ${why} (a static string),
 * unless it has failed already.
 */
void
scan_fail(struct scan *st, const char *why)
{
	if (st->failed == NULL)
		st->failed = why;
}

/*
 * scan_pending(st):
 * Return the number of commands the backend has not completed yet.
 */
size_t
scan_pending(const struct scan *st)
{
	return (st->tags.count);
}
