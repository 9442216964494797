/*
 * imapexec-run's encoding of standard input for an interactive EXECUTE.
 *
 * imapexec (see xinput.c) passes a line on as it is plus the service's
 * end of line, unless the line is DONE or CANCEL, one quoted string or a
 * literal header.  So a line of printable ASCII (and tabs) that is none
 * of these, and does not end in '}' (which the relay's scanner could take
 * for a literal header), is sent as text; every other run of bytes,
 * including a last line without LF, goes as one non-synchronizing
 * literal, {n+} CRLF octets CRLF, which reaches the program exactly.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dassert.h"
#include "enc.h"

/*
 * plain(p, len):
 * Return nonzero if the ${len} bytes at ${p} (a line without its LF) can
 * be sent as a text line.
 */
static int
plain(const uint8_t *p, size_t len)
{
	size_t i;

	if (len > ENC_LINE_MAX)
		return (0);
	if (len > 0 && (p[0] == '"' || p[0] == '{' || p[0] == '~' ||
	    p[len - 1] == '}'))
		return (0);
	if ((len == 4 && strncasecmp((const char *)p, "DONE", 4) == 0) ||
	    (len == 6 && strncasecmp((const char *)p, "CANCEL", 6) == 0))
		return (0);
	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] > 0x7e)
			return (0);
	return (1);
}

/*
 * literal(out, p, n):
 * Append ${n} bytes at ${p} to ${out} as a non-synchronizing literal.
 */
static void
literal(struct buf *out, const uint8_t *p, size_t n)
{
	char hdr[32];
	int k;

	if (n == 0)
		return;
	k = snprintf(hdr, sizeof(hdr), "{%zu+}\r\n", n);
	DASSERT(k > 0 && (size_t)k < sizeof(hdr));
	/* Invariant: the caller made ENC_ROOM(n) of room; these all fit. */
	if (buf_add(out, hdr, (size_t)k) != 0 || buf_add(out, p, n) != 0 ||
	    buf_add(out, "\r\n", 2) != 0)
		DASSERT(!"enc: no room");
}

/*
 * enc_input(p, n, flush, out):
 * Encode the input bytes ${p}[0..${n}) into ${out}, which has at least
 * ENC_ROOM(${n}) bytes of room.  A last line without its LF that could
 * still become a text line is left unconsumed unless ${flush}.  Return
 * the number of bytes consumed.
 */
size_t
enc_input(const uint8_t *p, size_t n, int flush, struct buf *out)
{
	const uint8_t *lf;
	size_t i = 0, run = 0, len;

	DASSERT(buf_room(out) >= ENC_ROOM(n));
	/* [run, i) is the pending literal run. */
	while (i < n) {
		lf = memchr(p + i, '\n', n - i);
		len = lf != NULL ? (size_t)(lf - (p + i)) : n - i;
		if (lf == NULL) {
			if (!flush && plain(p + i, len)) {
				/* It may yet become a text line. */
				break;
			}
			i = n;
			break;
		}
		if (plain(p + i, len)) {
			literal(out, p + run, i - run);
			if (buf_add(out, p + i, len) != 0 ||
			    buf_add(out, "\r\n", 2) != 0)
				DASSERT(!"enc: no room");
			i += len + 1;
			run = i;
		} else
			i += len + 1;
	}
	literal(out, p + run, i - run);
	return (i);
}

/*
 * enc_quoted(p, n, out):
 * Queue the ${n} bytes at ${p}, printable ASCII, in ${out} as a quoted
 * string, a backslash before each '"' and '\\'.  Return 0, or -1 if it did
 * not fit (what fitted stays queued).
 */
int
enc_quoted(const uint8_t *p, size_t n, struct buf *out)
{
	size_t i;

	if (buf_add(out, "\"", 1) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((p[i] == '"' || p[i] == '\\') && buf_add(out, "\\", 1) != 0)
			return (-1);
		if (buf_add(out, p + i, 1) != 0)
			return (-1);
	}
	return (buf_add(out, "\"", 1));
}
