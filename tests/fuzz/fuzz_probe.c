/*
 * fuzz_probe: failing closed against a backend that parses LESS than the
 * scanner (issue 11).
 *
 * A small model backend reads what the scanner relays and answers as a
 * server would: "+ OK" to the synchronizing literals it parses, "TAG OK"
 * at the end of every command line, "* BAD" for a line without a valid
 * tag.  Unlike Dovecot's real parser (and the scanner), it may
 *  - skip the arguments of commands that take none (NOOP, CHECK,
 *    CAPABILITY, NAMESPACE, UNSELECT, IDLE, LOGOUT, ...) to the end of the
 *    line, literals and all (flags bit 0), and
 *  - take a quote inside an atom as the start of a quoted string, which a
 *    line end cuts short (flags bit 1),
 * so that it sees fewer literals than the scanner, and commands where the
 * scanner sees data.  The harness does what command.c does: an own
 * command first sends the probe "<tag> NOOP" (the tag is a hash of the
 * input, which the input cannot contain), acts only when the scanner
 * recorded the probe's OK and has not failed, and otherwise relays its
 * line, blind.
 *
 * Input: byte 0 flags (bits 0 and 1 as above; bits 2-7 seed the order in
 * which the backend's answers are scanned: at once, or only once the
 * client is held, the probe waits, or the client stream is over), then
 * the client stream.
 *
 * With bit 7 of the flags, a post-login session (issue 21): byte 1 says
 * how many of the client's bytes imap-login read ahead (bits 0-6), which
 * the model reads and the scanner never sees, and (bit 7) whether the
 * client is honest and syncs: then, if the model stands at a command
 * boundary after them, the scanner first sees "S NOOP <token>", the token
 * (from the capability list) being hashes of the input that the input
 * cannot hold.  The rest of the client stream follows.
 *
 * Invariants checked:
 *  - an own command acts only while the model stands at the start of a
 *    command line, having read every byte the scanner relayed;
 *  - no own command is even taken up while the view is unproven or has
 *    failed closed, and then every byte goes on unchanged (a post-login
 *    session that did not sync relays exactly the client's stream);
 *  - the probe's answer never reaches the client, and nothing but it is
 *    dropped; failed closed, no capability list is edited;
 *  - no decision covers more bytes than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "scan.h"

/* Where the model backend stands. */
enum {
	M_LINE = 0,	/* at the start of a command line */
	M_TAG,		/* in the tag */
	M_NAME,		/* in the command name */
	M_ARGS,		/* in the arguments, at an argument's start */
	M_ATOM,		/* in an atom */
	M_QUOTED,	/* in a quoted string */
	M_ESC,		/* after a backslash in one */
	M_SIZE,		/* in a literal header's size */
	M_CLOSE,	/* after a literal header's '}' (or CR after it) */
	M_LIT,		/* in a literal's octets */
	M_SKIP		/* skipping to the end of the line */
};

struct model {
	int		 state;
	int		 flags;
	char		 tag[64];
	size_t		 taglen;
	int		 badtag;	/* the tag is invalid or too long */
	char		 name[16];
	size_t		 namelen;
	uint64_t	 size;
	int		 sync;
	uint64_t	 left;
	uint8_t		*out;		/* what it answered, not yet scanned */
	size_t		 outlen, outcap;
};

static void
m_out(struct model *m, const char *p, size_t n)
{
	if (m->outlen + n > m->outcap) {
		m->outcap = (m->outlen + n) * 2 + 64;
		m->out = realloc(m->out, m->outcap);
		CHECK(m->out != NULL, "out of memory");
	}
	memcpy(m->out + m->outlen, p, n);
	m->outlen += n;
}

/* The line ended: answer it. */
static void
m_eol(struct model *m)
{
	if (m->taglen == 0)
		;			/* an empty line: ignored */
	else if (m->badtag)
		m_out(m, "* BAD Invalid tag\r\n", 19);
	else {
		m_out(m, m->tag, m->taglen);
		m_out(m, " OK done\r\n", 10);
	}
	m->state = M_LINE;
}

static int
m_noarg(const struct model *m)
{
	static const char *names[] = { "NOOP", "CHECK", "CAPABILITY",
	    "NAMESPACE", "UNSELECT", "IDLE", "LOGOUT", "CLOSE", "EXPUNGE",
	    "STARTTLS", "COMPRESS", "EXECUTE" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == m->namelen &&
		    strncasecmp(names[i], m->name, m->namelen) == 0)
			return (1);
	return (0);
}

static int
m_tagchar(uint8_t c)
{
	return (c > 0x20 && c <= 0x7f && strchr("(){%*\"\\+]", c) == NULL);
}

/* Feed one byte to the model. */
static void
m_byte(struct model *m, uint8_t c)
{
	switch (m->state) {
	case M_LINE:
		m->taglen = m->namelen = 0;
		m->badtag = 0;
		m->state = M_TAG;
		/* FALLTHROUGH */
	case M_TAG:
		if (c == '\n') {
			m_eol(m);
		} else if (c == ' ') {
			if (m->taglen == 0)
				m->badtag = 1, m->taglen = 1;
			/* A bad tag: the line is skipped, literals and all. */
			m->state = m->badtag ? M_SKIP : M_NAME;
		} else if (c != '\r') {
			if (!m_tagchar(c) || m->taglen == sizeof(m->tag))
				m->badtag = 1;
			else
				m->tag[m->taglen] = (char)c;
			if (m->taglen < sizeof(m->tag))
				m->taglen++;
		}
		break;
	case M_NAME:
		if (c == '\n')
			m_eol(m);
		else if (c == ' ') {
			if ((m->flags & 1) && m_noarg(m))
				m->state = M_SKIP;
			else
				m->state = M_ARGS;
		} else if (c != '\r' && m->namelen < sizeof(m->name))
			m->name[m->namelen++] = (char)c;
		break;
	case M_SKIP:
		if (c == '\n')
			m_eol(m);
		break;
	case M_ARGS:
	case M_ATOM:
		if (c == '\n')
			m_eol(m);
		else if (c == '"' && (m->state == M_ARGS || (m->flags & 2)))
			m->state = M_QUOTED;
		else if (c == '{' && m->state == M_ARGS) {
			m->state = M_SIZE;
			m->size = 0;
			m->sync = 1;
		} else if (c == ' ' || c == '(' || c == ')')
			m->state = M_ARGS;
		else if (c != '~' || m->state != M_ARGS)
			m->state = M_ATOM;
		break;
	case M_QUOTED:
		if (c == '\n')
			m_eol(m);
		else if (c == '\\')
			m->state = M_ESC;
		else if (c == '"')
			m->state = M_ARGS;
		break;
	case M_ESC:
		if (c == '\n')
			m_eol(m);
		else
			m->state = M_QUOTED;
		break;
	case M_SIZE:
		if (c >= '0' && c <= '9')
			m->size = m->size > UINT64_MAX / 20 ? UINT64_MAX :
			    m->size * 10 + (c - '0');
		else if (c == '+')
			m->sync = 0;
		else if (c == '}')
			m->state = M_CLOSE;
		else if (c == '\n')
			m_eol(m);
		else
			m->state = M_ATOM;
		break;
	case M_CLOSE:
		if (c == '\r')
			break;
		if (c != '\n') {
			m->state = M_ATOM;
			break;
		}
		if (m->sync)
			m_out(m, "+ OK\r\n", 6);
		m->left = m->size;
		m->state = m->left > 0 ? M_LIT : M_ARGS;
		break;
	case M_LIT:
		if (--m->left == 0)
			m->state = M_ARGS;
		break;
	}
}

static void
m_feed(struct model *m, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		m_byte(m, p[i]);
}

/* What imapexec's gate does with an own command (command.c). */
enum { G_NONE = 0, G_PROBE, G_WAIT, G_OPEN };

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	struct scan st;
	struct scan_act act;
	struct model m;
	const uint8_t *cs;
	char probe[SCAN_PROBE_TAGLEN + 1], line[SCAN_PROBE_TAGLEN + 8];
	char token[SCAN_SYNC_LEN + 1];
	uint8_t *synced = NULL;
	uint64_t h1, h2;
	size_t clen, cpos = 0, i, head = 0, headlen = 0;
	size_t steps = 0, pre = 0, fed = 0;
	uint32_t rng;
	int gate = G_NONE, moved, held = 0, post, honest = 0, sent = 0;

	if (size < 1)
		return (0);
	memset(&m, 0, sizeof(m));
	m.flags = data[0];
	post = (data[0] & 0x80) != 0;
	cs = data + 1;
	clen = size - 1;
	if (post) {
		if (clen < 1)
			return (0);
		honest = (cs[0] & 0x80) != 0;
		pre = cs[0] & 0x7f;
		cs++;
		clen--;
		if (pre > clen)
			pre = clen;
	}

	/* A probe tag the input cannot hold: hashes of the input itself. */
	h1 = tag_hash_add(tag_hash_init(), data, size);
	h2 = tag_hash_add(h1 ^ 0x5bd1e995u, data, size);
	for (i = 0; i < 16; i++) {
		probe[i] = hex[(h1 >> (4 * i)) & 15];
		probe[16 + i] = hex[(h2 >> (4 * i)) & 15];
	}
	probe[SCAN_PROBE_TAGLEN] = '\0';

	rng = (uint32_t)(data[0] >> 2) * 2654435761u + (uint32_t)h1;
	scan_init(&st);
	if (post) {
		/* The sync token: other hashes the input cannot hold. */
		for (i = 0; i < 16; i++) {
			token[i] = hex[(h2 >> (4 * i + 1)) & 15];
			token[16 + i] = hex[(h1 >> (4 * i + 3)) & 15];
		}
		token[SCAN_SYNC_LEN] = '\0';
		scan_postlogin(&st, token);
		m_out(&m, "L OK [CAPABILITY IMAP4rev1 LITERAL+] Logged in\r\n",
		    48);
		/* imap-login's read-ahead: imap's, never seen here. */
		m_feed(&m, cs, pre);
		cs += pre;
		clen -= pre;
		if (honest && m.state == M_LINE) {
			/* The honest client syncs first, after the reply. */
			synced = malloc(SCAN_SYNC_LEN + 9 + clen);
			CHECK(synced != NULL, "out of memory");
			memcpy(synced, "S NOOP ", 7);
			memcpy(synced + 7, token, SCAN_SYNC_LEN);
			memcpy(synced + 7 + SCAN_SYNC_LEN, "\r\n", 2);
			if (clen > 0)
				memcpy(synced + SCAN_SYNC_LEN + 9, cs, clen);
			cs = synced;
			clen += SCAN_SYNC_LEN + 9;
			sent = 1;
		}
	} else
		m_out(&m, "* PREAUTH hi\r\n", 14);
	do {
		CHECK(++steps < 10 * size + 1000, "no progress");
		moved = 0;
		/* The backend's answers, as far as they go, now or later. */
		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		while (m.outlen > 0 && (held || gate == G_WAIT ||
		    cpos == clen || (data[0] & 0xfc) == 0 || (rng & 3) == 0)) {
			scan_server(&st, m.out, m.outlen, 0, &act);
			if (act.op == SCAN_MORE)
				break;
			CHECK(act.n <= m.outlen, "server overrun");
			if (act.op == SCAN_PASS)
				CHECK(!(act.n >= SCAN_PROBE_TAGLEN &&
				    memmem(m.out, act.n, probe,
				    SCAN_PROBE_TAGLEN) != NULL),
				    "the probe's answer reached the client");
			CHECK(act.op != SCAN_DROP || st.probe != PROBE_NONE,
			    "a line dropped that answers no probe");
			CHECK(act.op != SCAN_INSERT || st.failed == NULL,
			    "a capability list edited after failing closed");
			memmove(m.out, m.out + act.n, m.outlen - act.n);
			m.outlen -= act.n;
			moved = 1;
		}
		if (gate == G_PROBE) {
			(void)snprintf(line, sizeof(line), "%s NOOP\r\n", probe);
			m_feed(&m, (const uint8_t *)line, strlen(line));
			scan_probe_sent(&st, probe);
			gate = G_WAIT;
			moved = 1;
			continue;
		}
		if (gate == G_WAIT) {
			if (st.failed == NULL && st.probe == PROBE_OK) {
				/* The own command acts here. */
				CHECK(m.state == M_LINE, "an own command acts "
				    "while the backend is inside a command "
				    "(state %d, %llu literal octets left)",
				    m.state, (unsigned long long)m.left);
				st.probe = PROBE_NONE;
				gate = G_OPEN;
			} else if (st.failed == NULL && m.outlen == 0) {
				/* No answer will come: the timeout. */
				scan_fail(&st, "timeout");
			}
			if (st.failed != NULL) {
				/* Refused: its "tag name" goes on. */
				m_feed(&m, cs + head, headlen);
				scan_client_disown(&st);
				gate = G_NONE;
			}
			moved = 1;
			continue;
		}
		if (cpos == clen)
			break;
		scan_client(&st, cs + cpos, clen - cpos, 1, &act);
		held = act.op == SCAN_WAIT;
		if (act.op == SCAN_MORE || act.op == SCAN_WAIT ||
		    act.op == SCAN_CLOSE) {
			if (act.op == SCAN_CLOSE)
				break;
			/* Held: once more, with the backend's answers. */
			moved = moved || (held && m.outlen > 0);
			continue;
		}
		CHECK(act.n <= clen - cpos, "client overrun");
		switch (act.op) {
		case SCAN_PASS:
			m_feed(&m, cs + cpos, act.n);
			fed += act.n;
			break;
		case SCAN_COMMAND:
			head = cpos;
			headlen = act.n;
			/* Only a proven view takes up own commands. */
			CHECK(scan_aligned(&st), "own command taken up blind");
			gate = G_PROBE;
			break;
		case SCAN_LITERAL:
			CHECK(gate == G_OPEN, "own literal without proof");
			if (!(act.flags & LIT_NONSYNC)) {
				scan_client_literal(&st, act.size <= 65536);
				if (act.size > 65536)
					gate = G_NONE;	/* refused: over */
			}
			break;
		case SCAN_END:
			CHECK(gate == G_OPEN, "own line without proof");
			gate = G_NONE;
			break;
		default:
			CHECK(gate == G_OPEN, "own bytes without proof");
			break;
		}
		cpos += act.n;
		moved = moved || act.n > 0 || act.op != SCAN_PASS;
	} while (moved);
	/* Unsynced, blind from the first line: the client's bytes, as sent. */
	if (post && !sent)
		CHECK(fed == cpos && !scan_aligned(&st), "a post-login session "
		    "without the sync: %zu of %zu bytes relayed", fed, cpos);
	free(synced);
	free(m.out);
	return (0);
}
