/*
 * imapexec-run's destinations, the IMAP URL of RFC 5092 down to the parts
 * that name a server and a user: scheme, user, host, port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"

/*
 * hexval(c):
 * Return the value of hex digit ${c}, or -1.
 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * decode(s, n, out, size):
 * %-decode the ${n} bytes at ${s} into ${out} (${size} bytes with the
 * NUL).  Return 0, or -1 if malformed, too long, or NUL, CR or LF.
 */
static int
decode(const char *s, size_t n, char *out, size_t size)
{
	size_t i, k = 0;
	int hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return (-1);
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == '\0' || c == '\r' || c == '\n' || k + 1 >= size)
			return (-1);
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return (0);
}

/*
 * url_parse(s, u, err, errlen):
 * Parse ${s} into ${u}.  The user part is %-decoded (it must not decode to
 * NUL, CR or LF).  Return 0, or -1 with a reason in ${err}.
 */
int
url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
	const char *p, *at, *end, *hp, *he, *colon;
	size_t n;
	long port;
	char *ep;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(s, "imaps://", 8) == 0) {
		u->tls = 1;
		p = s + 8;
	} else if (strncasecmp(s, "imap://", 7) == 0)
		p = s + 7;
	else {
		snprintf(err, errlen, "not an imap:// or imaps:// URL");
		return (-1);
	}
	end = p + strcspn(p, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0) {
		snprintf(err, errlen, "only a server may follow the scheme");
		return (-1);
	}
	at = NULL;
	for (hp = p; hp < end; hp++)
		if (*hp == '@')
			at = hp;
	if (at != NULL) {
		/* ";AUTH=..." after the user is not supported. */
		n = (size_t)(at - p);
		if (memchr(p, ';', n) != NULL ||
		    decode(p, n, u->user, sizeof(u->user)) != 0 ||
		    u->user[0] == '\0') {
			snprintf(err, errlen, "bad user in the URL");
			return (-1);
		}
		hp = at + 1;
	} else
		hp = p;
	if (*hp == '[') {
		if ((he = memchr(hp, ']', (size_t)(end - hp))) == NULL) {
			snprintf(err, errlen, "unclosed [ in the URL");
			return (-1);
		}
		hp++;
		colon = he + 1 < end ? he + 1 : NULL;
		if (colon != NULL && *colon != ':') {
			snprintf(err, errlen, "bad host in the URL");
			return (-1);
		}
	} else {
		colon = memchr(hp, ':', (size_t)(end - hp));
		he = colon != NULL ? colon : end;
	}
	n = (size_t)(he - hp);
	if (n == 0 || n >= sizeof(u->host) ||
	    strcspn(hp, " \t\r\n%@[]") < n) {
		snprintf(err, errlen, "bad host in the URL");
		return (-1);
	}
	memcpy(u->host, hp, n);
	u->host[n] = '\0';
	if (colon != NULL) {
		n = (size_t)(end - colon - 1);
		port = strtol(colon + 1, &ep, 10);
		if (n == 0 || n > 5 || colon[1] < '0' || colon[1] > '9' ||
		    ep != end || port < 1 || port > 65535) {
			snprintf(err, errlen, "bad port in the URL");
			return (-1);
		}
		snprintf(u->port, sizeof(u->port), "%ld", port);
	} else
		snprintf(u->port, sizeof(u->port), "%s", u->tls ? "993" : "143");
	return (0);
}
