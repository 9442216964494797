/*
 * imapexec-run before the EXECUTE: the greeting, CAPABILITY, STARTTLS and
 * the login (AUTHENTICATE PLAIN, with SASL-IR where advertised, else
 * LOGIN), and where the password comes from.  Each step says in a struct
 * login_step what to send and whether the session fails or goes on to
 * the EXECUTE; client.c does it (login.h).
 */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dassert.h"
#include "enc.h"
#include "login.h"

/*
 * begin(st):
 * Make ${st} say: send nothing, go on.
 */
static void
begin(struct login_step *st)
{
	st->out.data = st->space;
	st->out.cap = sizeof(st->space);
	st->out.off = st->out.len = 0;
	st->show = 0;
	st->fail = -1;
	st->loud = 0;
	st->exec = 0;
	st->why[0] = '\0';
}

/*
 * put(st, p, n, show):
 * Add the ${n} bytes at ${p} to what ${st} sends; traced with -v if
 * ${show} (only the first bytes of a step can be).
 */
static void
put(struct login_step *st, const void *p, size_t n, int show)
{
	int rc;

	rc = buf_add(&st->out, p, n);
	DASSERT(rc == 0);	/* LOGIN_OUT_MAX holds any one step */
	(void)rc;
	if (show) {
		DASSERT(st->show == st->out.len - n);
		st->show = st->out.len;
	}
}

/*
 * fail(st, status, fmt, ...):
 * Make ${st} end the session with ${status} and the reason ${fmt}, or
 * quietly if ${fmt} is NULL.  The first failure of a step counts.
 */
static void
fail(struct login_step *st, int status, const char *fmt, ...)
{
	va_list ap;

	if (st->fail >= 0)
		return;
	st->fail = status;
	st->loud = fmt != NULL;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(st->why, sizeof(st->why), fmt, ap);
		va_end(ap);
	}
}

/*
 * has(c, cap):
 * Return nonzero if the server advertised ${cap}.
 */
static int
has(const struct cl *c, const char *cap)
{
	return (resp_has_cap(c->caps, c->capslen, cap));
}

/*
 * login_caps(c, caps, len):
 * Remember the capability list ${caps} (${len} bytes), at most 4095 of
 * them, and the EXECUTE-SYNC token in it, whole.
 */
void
login_caps(struct cl *c, const char *caps, size_t len)
{
	const char *tok;
	size_t toklen;

	/* The sync token stands at the end: taken before any cut. */
	tok = resp_cap_value(caps, len, "EXECUTE-SYNC", &toklen);
	if (tok != NULL && toklen < sizeof(c->sync)) {
		memcpy(c->sync, tok, toklen);
		c->sync[toklen] = '\0';
	} else
		c->sync[0] = '\0';
	if (len >= sizeof(c->caps))
		len = sizeof(c->caps) - 1;
	memcpy(c->caps, caps, len);
	c->caps[len] = '\0';
	c->capslen = len;
	c->have_caps = 1;
}

/*
 * base64(in, n, out, size):
 * Write the base64 of ${n} bytes at ${in} with a NUL to ${out}; ${size}
 * must be at least 4 * ((n + 2) / 3) + 1.
 */
static void
base64(const uint8_t *in, size_t n, char *out, size_t size)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, k = 0;
	uint32_t v;

	DASSERT(size >= 4 * ((n + 2) / 3) + 1);
	(void)size;
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[k++] = tab[v >> 18 & 63];
		out[k++] = tab[v >> 12 & 63];
		out[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[k++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[k] = '\0';
}

/* The PLAIN response's room: NUL user NUL password, in base64, CRLF. */
#define PLAIN_B64	(4 * ((URL_PART_MAX + PASS_MAX + 2 + 2) / 3) + 3)

/*
 * plain(c, b64):
 * Put the base64 PLAIN response for the user and password in ${b64}.
 */
static void
plain(struct cl *c, char *b64)
{
	uint8_t raw[URL_PART_MAX + PASS_MAX + 2];
	size_t ul = strlen(c->user), pl = strlen(c->pass);

	raw[0] = '\0';
	memcpy(raw + 1, c->user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, c->pass, pl);
	base64(raw, 2 + ul + pl, b64, PLAIN_B64);
	explicit_bzero(raw, sizeof(raw));
}

/*
 * sendstr(c, st, s):
 * Queue ${s} in ${st} as a quoted string, or a literal if it needs one
 * (only with LITERAL+ or LITERAL-, as a LOGIN argument must not wait).
 * Return 0 or -1 if it cannot be sent.
 */
static int
sendstr(struct cl *c, struct login_step *st, const char *s)
{
	char hdr[32];
	size_t i, n = strlen(s);
	int rc;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			break;
	if (i < n) {
		if (!has(c, "LITERAL+") && !has(c, "LITERAL-"))
			return (-1);
		snprintf(hdr, sizeof(hdr), "{%zu+}\r\n", n);
		put(st, hdr, strlen(hdr), 0);
		put(st, s, n, 0);
		return (0);
	}
	rc = enc_quoted((const uint8_t *)s, n, &st->out);
	DASSERT(rc == 0);	/* LOGIN_OUT_MAX holds it */
	(void)rc;
	return (0);
}

/*
 * login(c, st):
 * Send the login (through ${st}): AUTHENTICATE PLAIN (its response at
 * once with SASL-IR, else after the "+") where PLAIN is offered and was
 * not refused, else LOGIN unless LOGINDISABLED, else AUTHENTICATE LOGIN
 * (a server with "auth_mechanisms = login" alone, such as Dovecot's,
 * offers only that).
 */
static void
login(struct cl *c, struct login_step *st)
{
	char b64[PLAIN_B64];

	c->ph = PH_AUTH;
	c->auth_step = 0;
	if (has(c, "AUTH=PLAIN") && !c->plain_refused) {
		c->auth = AU_PLAIN;
		if (has(c, "SASL-IR")) {
			put(st, TAG_AUTH " AUTHENTICATE PLAIN ", 21, 1);
			plain(c, b64);
			put(st, b64, strlen(b64), 0);
			explicit_bzero(b64, sizeof(b64));
			put(st, "\r\n", 2, 0);
			c->auth_step = 1;
		} else
			put(st, TAG_AUTH " AUTHENTICATE PLAIN\r\n", 22, 1);
		return;
	}
	if (has(c, "LOGINDISABLED")) {
		if (!has(c, "AUTH=LOGIN")) {
			fail(st, RX_FAIL, "%s: the server offers neither "
			    "AUTH=PLAIN, AUTH=LOGIN nor LOGIN",
			    c->o->url.host);
			return;
		}
		c->auth = AU_SASL_LOGIN;
		put(st, TAG_AUTH " AUTHENTICATE LOGIN\r\n", 22, 1);
		return;
	}
	c->auth = AU_LOGIN;
	put(st, TAG_AUTH " LOGIN ", 8, 1);
	if (sendstr(c, st, c->user) != 0 || (put(st, " ", 1, 0),
	    sendstr(c, st, c->pass)) != 0) {
		fail(st, RX_FAIL, "%s: the user or password needs a "
		    "literal, which the server cannot take in LOGIN",
		    c->o->url.host);
		return;
	}
	put(st, "\r\n", 2, 0);
}

/*
 * retry(c, r):
 * Return nonzero if the refusal ${r} of AUTHENTICATE PLAIN says the
 * mechanism is not there rather than the password is wrong: a BAD, or a
 * NO without a response code (as Dovecot's "Unsupported authentication
 * mechanism").  A NO with a code ([AUTHENTICATIONFAILED] and the rest of
 * RFC 5530) is final, so a wrong password is tried once.
 */
static int
retry(const struct cl *c, const struct resp *r)
{
	return (c->auth == AU_PLAIN && !c->plain_refused &&
	    (r->status == ST_BAD || (r->status == ST_NO && r->code == NULL)));
}

/*
 * next(c, st):
 * Take the next step towards a login (through ${st}): CAPABILITY if the
 * list is not known, STARTTLS for imap://, else the login.
 */
static void
next(struct cl *c, struct login_step *st)
{
	if (!c->have_caps) {
		c->ph = PH_CAPA;
		put(st, TAG_CAPA " CAPABILITY\r\n", 14, 1);
		return;
	}
	if (!c->secure) {
		if (has(c, "STARTTLS")) {
			c->ph = PH_STARTTLS;
			put(st, TAG_TLS " STARTTLS\r\n", 12, 1);
			return;
		}
		if (!net_loopback(&c->net)) {
			fail(st, RX_FAIL, "%s: no STARTTLS offered; will "
			    "not send a password in clear text",
			    c->o->url.host);
			return;
		}
		c->secure = 1;	/* loopback: clear text allowed */
	}
	login(c, st);
}

/*
 * login_status(c, r, st):
 * Handle the greeting or a tagged response ${r} before PH_EXEC; say in
 * ${st} what follows.
 */
void
login_status(struct cl *c, const struct resp *r, struct login_step *st)
{
	begin(st);
	if (c->ph == PH_GREET) {
		if (r->tagged || r->status == ST_BYE || (r->status != ST_OK &&
		    r->status != ST_PREAUTH))
			fail(st, RX_FAIL, "the server refused the "
			    "connection: %s", r->text);
		else if (r->status == ST_PREAUTH && !c->secure &&
		    !net_loopback(&c->net))
			/*
			 * imap:// in clear text: anyone on the path can say
			 * PREAUTH to skip STARTTLS, then read the input and
			 * forge the output (the STARTTLS downgrade of
			 * CVE-2020-12398 and its kin).
			 */
			fail(st, RX_FAIL, "%s: PREAUTH in clear text; will "
			    "not run a service without TLS", c->o->url.host);
		else if (r->status == ST_PREAUTH)
			st->exec = 1;
		else if (c->o->tunnel != NULL)
			fail(st, RX_FAIL, "the tunnel's server wants a "
			    "login (no PREAUTH)");
		else {
			if (r->caps != NULL)
				login_caps(c, r->caps, r->capslen);
			next(c, st);
		}
		return;
	}
	if (!r->tagged)
		return;
	if (c->ph == PH_CAPA && strcmp(r->tag, TAG_CAPA) == 0) {
		if (r->status != ST_OK || !c->have_caps)
			fail(st, RX_FAIL, "CAPABILITY failed: %s", r->text);
		else
			next(c, st);
	} else if (c->ph == PH_STARTTLS && strcmp(r->tag, TAG_TLS) == 0) {
		if (r->status != ST_OK)
			fail(st, RX_FAIL, "STARTTLS refused: %s", r->text);
		else
			c->starttls = 1;	/* the loop starts TLS */
	} else if (c->ph == PH_AUTH && strcmp(r->tag, TAG_AUTH) == 0) {
		/* Invariant: PH_AUTH means login() chose a way and sent it. */
		DASSERT(c->auth != AU_NONE);
		if (r->status != ST_OK && retry(c, r)) {
			c->plain_refused = 1;
			login(c, st);
			return;
		}
		explicit_bzero(c->pass, sizeof(c->pass));
		if (r->status != ST_OK)
			fail(st, RX_FAIL, "login failed: %s", r->text);
		else
			st->exec = 1;
	} else
		fail(st, RX_FAIL, "unexpected response: %s %s", r->tag,
		    r->text);
}

/*
 * login_cont(c, st):
 * Handle a continuation request before PH_EXEC: say in ${st} to send the
 * PLAIN response, or AUTHENTICATE LOGIN's user and then password (its
 * challenges are not read: they are "Username:" and "Password:" by
 * convention only).
 */
void
login_cont(struct cl *c, struct login_step *st)
{
	char b64[PLAIN_B64];
	const char *s;
	int step = c->auth_step++;

	begin(st);
	if (c->ph == PH_AUTH && c->auth == AU_PLAIN && step == 0)
		plain(c, b64);
	else if (c->ph == PH_AUTH && c->auth == AU_SASL_LOGIN && step < 2) {
		s = step == 0 ? c->user : c->pass;
		base64((const uint8_t *)s, strlen(s), b64, PLAIN_B64);
	} else {
		fail(st, RX_FAIL, "unexpected continuation request");
		return;
	}
	put(st, b64, strlen(b64), 0);
	explicit_bzero(b64, sizeof(b64));
	put(st, "\r\n", 2, 0);
}

/*
 * login_password(c, st):
 * Find the user and the password for a URL: -p, ~/.netrc, the terminal.
 * Return 0, or -1 with the failure (255, or 130 for ^C) in ${st}.
 */
int
login_password(struct cl *c, struct login_step *st)
{
	const struct url *u = &c->o->url;
	struct passwd *pw = getpwuid(getuid());
	const char *home = getenv("HOME");
	char path[4096], err[512], prompt[URL_PART_MAX * 2 + 32];
	int r = 0, pr;

	begin(st);
	snprintf(c->user, sizeof(c->user), "%s", u->user);
	if (home == NULL || home[0] == '\0')
		home = pw != NULL ? pw->pw_dir : "/";
	snprintf(path, sizeof(path), "%s/.netrc", home);
	if (c->o->passcmd != NULL) {
		if (pass_command(c->o->passcmd, c->pass, sizeof(c->pass), err,
		    sizeof(err)) != 0) {
			fail(st, RX_FAIL, "%s", err);
			return (-1);
		}
		if (c->user[0] == '\0') {
			char junk[PASS_MAX];

			/* The user of a .netrc entry, if any. */
			(void)pass_netrc(path, u->host, c->user,
			    sizeof(c->user), junk, sizeof(junk), err,
			    sizeof(err));
			explicit_bzero(junk, sizeof(junk));
		}
	} else if ((r = pass_netrc(path, u->host, c->user, sizeof(c->user),
	    c->pass, sizeof(c->pass), err, sizeof(err))) < 0)
		fprintf(stderr, "imapexec-run: %s\n", err);
	if (c->user[0] == '\0' && pw != NULL)
		snprintf(c->user, sizeof(c->user), "%s", pw->pw_name);
	if (c->user[0] == '\0') {
		fail(st, RX_FAIL, "no user name for %s", u->host);
		return (-1);
	}
	if (c->o->passcmd == NULL && r != 1) {
		snprintf(prompt, sizeof(prompt), "Password for %s@%s: ",
		    c->user, u->host);
		if ((pr = pass_prompt(prompt, c->pass,
		    sizeof(c->pass))) == PASS_INTR) {
			/* ^C at the prompt: quietly, as ssh. */
			fail(st, RX_INT, NULL);
			return (-1);
		} else if (pr != 0) {
			fail(st, RX_FAIL, "no password for %s@%s (no -p, "
			    "no ~/.netrc entry, no terminal)", c->user,
			    u->host);
			return (-1);
		}
	}
	return (0);
}
