/*
 * The client's output as the layers above the relay see it: imapexec's
 * own lines go into c_out only where the backend's output stands between
 * two lines.  Below command.c and session.c, above buf.c: nothing here
 * calls back into the relay.
 */
#include <stdarg.h>
#include <stdio.h>

#include "conn.h"

/*
 * conn_can_emit(c):
 * Return nonzero if imapexec may write lines of its own to the client now:
 * the backend's output stands between two lines.
 */
int
conn_can_emit(const struct conn *c)
{
	return (scan_server_at_line(&c->scan) && c->s_pass == 0 &&
	    c->s_insert == NULL);
}

/*
 * conn_emit(c, p, n):
 * Queue the ${n} bytes at ${p} for the client.  Return 0, or -1 if they do
 * not fit now (nothing is queued then).
 */
int
conn_emit(struct conn *c, const void *p, size_t n)
{
	if (c->cl_gone)
		return (0);
	return (buf_add(&c->c_out, p, n));
}

/*
 * conn_printf(c, fmt, ...):
 * Queue a formatted line for the client; as conn_emit().
 */
int
conn_printf(struct conn *c, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return (-1);
	return (conn_emit(c, line, (size_t)n));
}
