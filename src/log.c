/*
 * Logging: syslog with facility LOG_MAIL and ident "imapexec", or stderr
 * in debug mode.  Nothing is ever written to the client's descriptors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "dassert.h"
#include "log.h"

/* The bytes log_esc() writes for byte ${c}. */
#define ESC_WIDTH(c)	((c) < 0x20 || (c) >= 0x7f || (c) == '\\' ? 4 : 1)

static int log_debugging;

/*
 * log_init(debug):
 * Start logging; if ${debug}, to stderr, else to syslog.
 */
void
log_init(int debug)
{
	log_debugging = debug;
	if (!debug)
		openlog("imapexec", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/*
 * vlog(pri, err, fmt, ap):
 * Log ${fmt} with ${ap} at priority ${pri}; if ${err} is not 0, append its
 * strerror(3) text.
 */
static void
vlog(int pri, int err, const char *fmt, va_list ap)
{
	char msg[1024];
	static const char *level[] = {
		[LOG_ERR] = "Error", [LOG_NOTICE] = "Info",
		[LOG_DEBUG] = "Debug"
	};

	if (pri == LOG_DEBUG && !log_debugging)
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_debugging) {
		if (err != 0)
			fprintf(stderr, "imapexec: %s: %s: %s\n", level[pri],
			    msg, strerror(err));
		else
			fprintf(stderr, "imapexec: %s: %s\n", level[pri], msg);
		return;
	}
	if (err != 0)
		syslog(pri, "%s: %s", msg, strerror(err));
	else
		syslog(pri, "%s", msg);
}

/*
 * log_warn(fmt, ...):
 * Log an error, with ": " and strerror(errno) appended.
 */
void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_ERR, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/*
 * log_warnx(fmt, ...):
 * Log an error.
 */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
}

/*
 * log_info(fmt, ...):
 * Log a notice.
 */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, 0, fmt, ap);
	va_end(ap);
}

/*
 * log_debug(fmt, ...):
 * Log a detail, in debug mode only.
 */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/*
 * fatal(fmt, ...):
 * Log an error with strerror(errno) and exit with status 1.
 */
void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_ERR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * fatalx(fmt, ...):
 * Log an error and exit with status 1.
 */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * log_esc(dst, dstlen, src, n):
 * Store in ${dst} (${dstlen} bytes, at least 4, NUL-terminated) the ${n}
 * bytes at ${src} fit for a log line: printable ASCII as it is, every
 * other byte (controls, DEL, 8-bit) and '\' as "\xNN".  What does not fit
 * is cut, and "..." marks the cut.  Return ${dst}.
 */
const char *
log_esc(char *dst, size_t dstlen, const void *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = src;
	size_t i, o = 0, need = 0, budget;

	DASSERT(dstlen >= 4);
	for (i = 0; i < n; i++)
		need += ESC_WIDTH(p[i]);
	/* All of it, or what fits before "..." and the NUL. */
	budget = need < dstlen ? need : dstlen - 4;
	for (i = 0; i < n && o + ESC_WIDTH(p[i]) <= budget; i++) {
		if (ESC_WIDTH(p[i]) == 1)
			dst[o++] = (char)p[i];
		else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[p[i] >> 4];
			dst[o++] = hex[p[i] & 0xf];
		}
	}
	if (i < n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	DASSERT(o < dstlen);
	dst[o] = '\0';
	return (dst);
}
