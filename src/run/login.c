/*
 * imapexec-run before the EXECUTE: the greeting, CAPABILITY, STARTTLS and
 * the login (AUTHENTICATE PLAIN, with SASL-IR where advertised, else
 * LOGIN), and where the password comes from.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cl.h"
#include "dassert.h"

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
 * sendstr(c, s):
 * Queue ${s} as a quoted string, or a literal if it needs one (only with
 * LITERAL+ or LITERAL-, as a LOGIN argument must not wait).  Return 0 or
 * -1 if it cannot be sent.
 */
static int
sendstr(struct cl *c, const char *s)
{
	char hdr[32];
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			break;
	if (i < n) {
		if (!has(c, "LITERAL+") && !has(c, "LITERAL-"))
			return (-1);
		snprintf(hdr, sizeof(hdr), "{%zu+}\r\n", n);
		cl_send(c, hdr, strlen(hdr), 0);
		cl_send(c, s, n, 0);
		return (0);
	}
	cl_send(c, "\"", 1, 0);
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			cl_send(c, "\\", 1, 0);
		cl_send(c, s + i, 1, 0);
	}
	cl_send(c, "\"", 1, 0);
	return (0);
}

/*
 * login(c):
 * Send the login: AUTHENTICATE PLAIN (its response at once with SASL-IR,
 * else after the "+") where PLAIN is offered and was not refused, else
 * LOGIN unless LOGINDISABLED, else AUTHENTICATE LOGIN (a server with
 * "auth_mechanisms = login" alone, such as Dovecot's, offers only that).
 */
static void
login(struct cl *c)
{
	char b64[PLAIN_B64];

	c->ph = PH_AUTH;
	c->auth_step = 0;
	if (has(c, "AUTH=PLAIN") && !c->plain_refused) {
		c->auth = AU_PLAIN;
		if (has(c, "SASL-IR")) {
			cl_send(c, TAG_AUTH " AUTHENTICATE PLAIN ", 21, 1);
			plain(c, b64);
			cl_send(c, b64, strlen(b64), 0);
			explicit_bzero(b64, sizeof(b64));
			cl_send(c, "\r\n", 2, 0);
			c->auth_step = 1;
		} else
			cl_send(c, TAG_AUTH " AUTHENTICATE PLAIN\r\n", 22, 1);
		return;
	}
	if (has(c, "LOGINDISABLED")) {
		if (!has(c, "AUTH=LOGIN")) {
			cl_fail(c, RX_FAIL, "%s: the server offers neither "
			    "AUTH=PLAIN, AUTH=LOGIN nor LOGIN",
			    c->o->url.host);
			return;
		}
		c->auth = AU_SASL_LOGIN;
		cl_send(c, TAG_AUTH " AUTHENTICATE LOGIN\r\n", 22, 1);
		return;
	}
	c->auth = AU_LOGIN;
	cl_send(c, TAG_AUTH " LOGIN ", 8, 1);
	if (sendstr(c, c->user) != 0 || (cl_send(c, " ", 1, 0),
	    sendstr(c, c->pass)) != 0) {
		cl_fail(c, RX_FAIL, "%s: the user or password needs a "
		    "literal, which the server cannot take in LOGIN",
		    c->o->url.host);
		return;
	}
	cl_send(c, "\r\n", 2, 0);
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
 * next(c):
 * Take the next step towards a login: CAPABILITY if the list is not
 * known, STARTTLS for imap://, else the login.
 */
static void
next(struct cl *c)
{
	if (!c->have_caps) {
		c->ph = PH_CAPA;
		cl_send(c, TAG_CAPA " CAPABILITY\r\n", 14, 1);
		return;
	}
	if (!c->secure) {
		if (has(c, "STARTTLS")) {
			c->ph = PH_STARTTLS;
			cl_send(c, TAG_TLS " STARTTLS\r\n", 12, 1);
			return;
		}
		if (!net_loopback(&c->net)) {
			cl_fail(c, RX_FAIL, "%s: no STARTTLS offered; will "
			    "not send a password in clear text",
			    c->o->url.host);
			return;
		}
		c->secure = 1;	/* loopback: clear text allowed */
	}
	login(c);
}

/*
 * login_status(c, r):
 * Handle the greeting or a tagged response ${r} before PH_EXEC.
 */
void
login_status(struct cl *c, const struct resp *r)
{
	if (c->ph == PH_GREET) {
		if (r->tagged || r->status == ST_BYE || (r->status != ST_OK &&
		    r->status != ST_PREAUTH))
			cl_fail(c, RX_FAIL, "the server refused the "
			    "connection: %s", r->text);
		else if (r->status == ST_PREAUTH && !c->secure &&
		    !net_loopback(&c->net))
			/*
			 * imap:// in clear text: anyone on the path can say
			 * PREAUTH to skip STARTTLS, then read the input and
			 * forge the output (the STARTTLS downgrade of
			 * CVE-2020-12398 and its kin).
			 */
			cl_fail(c, RX_FAIL, "%s: PREAUTH in clear text; will "
			    "not run a service without TLS", c->o->url.host);
		else if (r->status == ST_PREAUTH)
			cl_start_exec(c);
		else if (c->o->tunnel != NULL)
			cl_fail(c, RX_FAIL, "the tunnel's server wants a "
			    "login (no PREAUTH)");
		else {
			if (r->caps != NULL)
				cl_caps(c, r->caps, r->capslen);
			next(c);
		}
		return;
	}
	if (!r->tagged)
		return;
	if (c->ph == PH_CAPA && strcmp(r->tag, TAG_CAPA) == 0) {
		if (r->status != ST_OK || !c->have_caps)
			cl_fail(c, RX_FAIL, "CAPABILITY failed: %s", r->text);
		else
			next(c);
	} else if (c->ph == PH_STARTTLS && strcmp(r->tag, TAG_TLS) == 0) {
		if (r->status != ST_OK)
			cl_fail(c, RX_FAIL, "STARTTLS refused: %s", r->text);
		else
			c->starttls = 1;	/* the loop starts TLS */
	} else if (c->ph == PH_AUTH && strcmp(r->tag, TAG_AUTH) == 0) {
		/* Invariant: PH_AUTH means login() chose a way and sent it. */
		DASSERT(c->auth != AU_NONE);
		if (r->status != ST_OK && retry(c, r)) {
			c->plain_refused = 1;
			login(c);
			return;
		}
		explicit_bzero(c->pass, sizeof(c->pass));
		if (r->status != ST_OK)
			cl_fail(c, RX_FAIL, "login failed: %s", r->text);
		else
			cl_start_exec(c);
	} else
		cl_fail(c, RX_FAIL, "unexpected response: %s %s", r->tag,
		    r->text);
}

/*
 * login_cont(c):
 * Handle a continuation request before PH_EXEC: the PLAIN response, or
 * AUTHENTICATE LOGIN's user and then password (its challenges are not
 * read: they are "Username:" and "Password:" by convention only).
 */
void
login_cont(struct cl *c)
{
	char b64[PLAIN_B64];
	const char *s;
	int step = c->auth_step++;

	if (c->ph == PH_AUTH && c->auth == AU_PLAIN && step == 0)
		plain(c, b64);
	else if (c->ph == PH_AUTH && c->auth == AU_SASL_LOGIN && step < 2) {
		s = step == 0 ? c->user : c->pass;
		base64((const uint8_t *)s, strlen(s), b64, PLAIN_B64);
	} else {
		cl_fail(c, RX_FAIL, "unexpected continuation request");
		return;
	}
	cl_send(c, b64, strlen(b64), 0);
	explicit_bzero(b64, sizeof(b64));
	cl_send(c, "\r\n", 2, 0);
}

/*
 * login_password(c):
 * Find the user and the password for a URL: -p, ~/.netrc, the terminal.
 * Return 0, or -1 with the session ended (255).
 */
int
login_password(struct cl *c)
{
	const struct url *u = &c->o->url;
	struct passwd *pw = getpwuid(getuid());
	const char *home = getenv("HOME");
	char path[4096], err[512], prompt[URL_PART_MAX * 2 + 32];
	int r = 0, pr;

	snprintf(c->user, sizeof(c->user), "%s", u->user);
	if (home == NULL || home[0] == '\0')
		home = pw != NULL ? pw->pw_dir : "/";
	snprintf(path, sizeof(path), "%s/.netrc", home);
	if (c->o->passcmd != NULL) {
		if (pass_command(c->o->passcmd, c->pass, sizeof(c->pass), err,
		    sizeof(err)) != 0) {
			cl_fail(c, RX_FAIL, "%s", err);
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
		cl_fail(c, RX_FAIL, "no user name for %s", u->host);
		return (-1);
	}
	if (c->o->passcmd == NULL && r != 1) {
		snprintf(prompt, sizeof(prompt), "Password for %s@%s: ",
		    c->user, u->host);
		if ((pr = pass_prompt(prompt, c->pass,
		    sizeof(c->pass))) == PASS_INTR) {
			/* ^C at the prompt: quietly, as ssh. */
			cl_fail(c, RX_INT, NULL);
			return (-1);
		} else if (pr != 0) {
			cl_fail(c, RX_FAIL, "no password for %s@%s (no -p, "
			    "no ~/.netrc entry, no terminal)", c->user,
			    u->host);
			return (-1);
		}
	}
	return (0);
}
