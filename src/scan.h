/*
 * The IMAP stream scanner: it follows both directions of an IMAP session,
 * bytes in and decisions out, and never performs I/O.  The caller peeks:
 * it hands over the bytes it holds, the scanner says what to do with a
 * prefix of them (and how long that prefix is), the caller does it and
 * consumes that prefix.  State is carried across any read boundary; the
 * scanner never needs more than SCAN_LOOKAHEAD bytes to decide.
 */
#ifndef IMAPEXEC_SCAN_H
#define IMAPEXEC_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "lex.h"
#include "tags.h"

/* The longest tag imapexec accepts; a longer one ends the session. */
#define SCAN_TAG_MAX	1024
/* The longest command name told apart; longer ones are just "other". */
#define SCAN_NAME_MAX	32
/* The longest capability name that may be edited out. */
#define SCAN_CAP_MAX	64
/* The length of a probe's tag: 128 random bits in hex. */
#define SCAN_PROBE_TAGLEN	32
/* The length of the post-login sync token: 128 random bits in hex. */
#define SCAN_SYNC_LEN	32
/* The longest tag of the sync line (see scan_postlogin()). */
#define SCAN_SYNC_TAGMAX	64
/* The longest sync line: "tag SP NOOP SP token CRLF". */
#define SCAN_SYNC_LINEMAX	(SCAN_SYNC_TAGMAX + 6 + SCAN_SYNC_LEN + 2)
/* The most bytes the scanner ever needs to see at once. */
#define SCAN_LOOKAHEAD	(SCAN_TAG_MAX + SCAN_NAME_MAX + 2)

/* Commands the scanner tells apart. */
enum scan_cmd {
	CMD_OTHER = 0,
	CMD_EXECUTE,		/* imapexec's own */
	CMD_COMPRESS,		/* refused by imapexec */
	CMD_STARTTLS,		/* refused by imapexec */
	CMD_IDLE,		/* client sends one line after "+" */
	CMD_AUTHENTICATE,	/* client sends a line after each "+" */
	CMD_LOGIN,
	CMD_UNAUTHENTICATE
};

/* Why a post-login view failed closed at its first line (the usual case
 * for clients that do not use EXECUTE: logged at a lower level). */
extern const char scan_unsynced[];

/* Where the probe stands (see scan_probe_sent()). */
enum scan_probe {
	PROBE_NONE = 0,		/* none outstanding */
	PROBE_SENT,		/* sent, not answered yet */
	PROBE_OK,		/* answered OK: the backend was at a boundary */
	PROBE_BAD		/* answered otherwise (the scanner failed) */
};

enum scan_op {
	SCAN_MORE = 0,	/* more input is needed; nothing consumed */
	SCAN_WAIT,	/* client: held until the backend answers */
	SCAN_PASS,	/* relay the next n bytes verbatim */
	SCAN_DROP,	/* server: discard the next n bytes */
	SCAN_INSERT,	/* server: emit text before the next byte */
	SCAN_CLOSE,	/* client: fatal protocol error, text is the BYE */
	SCAN_COMMAND,	/* client: n bytes "tag SP name" begin an own command */
	SCAN_TEXT,	/* client, own command: n bytes of its line */
	SCAN_LITERAL,	/* client, own command: n bytes end a literal header */
	SCAN_DATA,	/* client, own command: n octets of literal data */
	SCAN_END	/* client, own command: n bytes end its line */
};

/* What to do next: see enum scan_op. */
struct scan_act {
	enum scan_op	 op;
	size_t		 n;		/* bytes the operation covers */
	const char	*text;		/* SCAN_INSERT, SCAN_CLOSE */
	enum scan_cmd	 cmd;		/* SCAN_COMMAND */
	size_t		 taglen;	/* SCAN_COMMAND: the tag is the first */
	uint64_t	 size;		/* SCAN_LITERAL: octets announced */
	uint8_t		 flags;		/* SCAN_LITERAL: LIT_* */
};

struct scan {
	/* Client to server. */
	uint8_t		c_state;	/* where the client stands */
	uint8_t		c_cmd;		/* enum scan_cmd of its command */
	uint8_t		c_own;		/* the command is imapexec's own */
	uint8_t		c_hold;		/* what a held client waits for */
	uint8_t		c_plus;		/* a "+" came before the line ended */
	uint8_t		c_done;		/* the tagged response came, too */
	uint8_t		c_doneok;	/* ... and it was OK */
	uint64_t	c_hash;		/* hash of its command's tag */
	uint64_t	c_left;		/* literal octets still to come */
	struct lex	c_lex;

	/* Server to client. */
	uint8_t		s_state;	/* where the server stands */
	uint8_t		s_tagged;	/* the line is a tagged response */
	uint8_t		s_wlen;		/* bytes in s_word */
	uint8_t		s_capend;	/* the capability list ends at ']' */
	uint8_t		s_capseen;	/* EXECUTE is in it already */
	uint8_t		s_greeted;	/* the first line has been seen */
	uint8_t		s_login;	/* post-login: the next tagged status
					   is imap's reply to the LOGIN or
					   AUTHENTICATE imapexec never saw */
	uint8_t		s_listed;	/* post-login: the login reply is over
					   (unproven, no list is edited now) */
	char		s_captext[sizeof(" EXECUTE EXECUTE-SYNC=") +
			    SCAN_SYNC_LEN];	/* what lists gain, unproven */
	char		s_word[16];	/* the word being read, upper case */
	uint64_t	s_hash;		/* hash of the line's tag */
	uint64_t	s_left;		/* literal octets still to come */
	struct lex	s_lex;

	/* Both. */
	struct tags	tags;		/* commands the backend owes */
	uint8_t		authenticated;	/* the session is authenticated */
	uint8_t		offer_compress;	/* add COMPRESS=DEFLATE to EXECUTE */

	/*
	 * The view.  imapexec may add, drop or change a byte of the client's
	 * stream (a probe, an own command, an answer of its own) only while
	 * its view of that stream is proven to be the backend's: from the
	 * first byte (the other modes), or from the post-login sync line on
	 * (scan_postlogin()).  Until then ${unproven} is set, and the relay
	 * is blind: every byte goes on unchanged both ways, but for the
	 * capability lists, which gain EXECUTE and the sync token.
	 *
	 * Failing closed.  ${failed} is set, for good, the first time the
	 * backend says something that does not fit what the scanner
	 * believes (or the post-login view stays unproven); from then on the
	 * relay is blind for good: no own command, no answer of imapexec's,
	 * no capability edit.
	 */
	uint8_t		unproven;	/* post-login, before the sync line */
	char		sync[SCAN_SYNC_LEN + 1];	/* its token */
	const char	*failed;	/* why, or NULL */
	uint8_t		fail_told;	/* it has been logged */
	uint8_t		probe;		/* enum scan_probe */
	char		probe_tag[SCAN_PROBE_TAGLEN + 1];
};

/*
 * scan_init(st):
 * Prepare ${st} for a new session: both directions at a line start, not
 * authenticated until the backend greets with PREAUTH.
 */
void	scan_init(struct scan *);

/*
 * scan_postlogin(st, token):
 * Prepare ${st}, fresh from scan_init(), for Dovecot's post-login mode:
 * the session is authenticated by construction, there is no greeting, and
 * the first tagged status response is the login reply, owed to no command
 * the scanner saw.  The view starts unproven (imap-login may have read
 * any part of the client's stream): capability lists gain "EXECUTE
 * EXECUTE-SYNC=${token}" (SCAN_SYNC_LEN fresh random hex digits), and the
 * view is proven if, and only if, the first line the scanner sees is
 * "tag NOOP ${token}" CRLF; anything else fails closed.
 */
void	scan_postlogin(struct scan *, const char *);

/*
 * scan_aligned(st):
 * Return nonzero if the view of ${st} is proven and has not failed: only
 * then may imapexec act on it.
 */
int	scan_aligned(const struct scan *);

/*
 * scan_client(st, p, n, eof, act):
 * Decide what to do with the client's bytes ${p}[0..${n}); ${eof} says no
 * more will come.  The decision is stored in ${act}.  The caller performs
 * it and consumes ${act}->n bytes (0 for SCAN_MORE and SCAN_WAIT).
 */
void	scan_client(struct scan *, const uint8_t *, size_t, int,
	    struct scan_act *);

/*
 * scan_client_literal(st, accept):
 * Decide on a synchronizing literal of imapexec's own command: if ${accept}
 * its octets follow (the caller has sent "+"), else the command ends here
 * (the caller has sent its tagged response).
 */
void	scan_client_literal(struct scan *, int);

/*
 * scan_server(st, p, n, eof, act):
 * Decide what to do with the backend's bytes ${p}[0..${n}); ${eof} says no
 * more will come.  The decision is stored in ${act} as for scan_client().
 * Continuations and tagged responses release a client held for them.
 */
void	scan_server(struct scan *, const uint8_t *, size_t, int,
	    struct scan_act *);

/*
 * scan_server_at_line(st):
 * Return nonzero if the server direction stands between two lines, where
 * imapexec may insert lines of its own.
 */
int	scan_server_at_line(const struct scan *);

/*
 * scan_server_take_literal(st):
 * If the server direction is in a literal's octets, mark the rest of them
 * as passed and return how many they are (the caller relays that many
 * bytes unseen, e.g. with splice(2), before it calls scan_server() again);
 * else return 0.
 */
size_t	scan_server_take_literal(struct scan *);

/*
 * scan_pending(st):
 * Return the number of commands the backend has not completed yet.
 */
size_t	scan_pending(const struct scan *);

/*
 * scan_fail(st, why):
 * Latch ${st} failed closed for the reason ${why} (a static string),
 * unless it has failed already.
 */
void	scan_fail(struct scan *, const char *);

/*
 * scan_probe_sent(st, tag):
 * The caller has queued "${tag} NOOP" CRLF for the backend, ${tag} being
 * SCAN_PROBE_TAGLEN tag characters never used before: the backend's
 * tagged line with exactly that tag is dropped and its status recorded
 * in ${st}->probe.  Only when the backend owes nothing and the client is
 * not fed meanwhile.
 */
void	scan_probe_sent(struct scan *, const char *);

/*
 * scan_client_disown(st):
 * The own command whose "tag SP name" was reported is passed on to the
 * backend after all (the scanner failed closed before it could act), the
 * caller having queued those bytes for it: the rest of its line goes to
 * the backend, blind, and so does the backend's answer to the client.
 */
void	scan_client_disown(struct scan *);

/* Internal to the scanner: a tagged response or continuation arrived. */
void	scan_client_tagged(struct scan *, uint64_t, const char *);
void	scan_client_continue(struct scan *);

#endif /* !IMAPEXEC_SCAN_H */
