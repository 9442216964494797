/*
 * Logging: syslog with facility LOG_MAIL and ident "imapexec", or stderr
 * in debug mode.  Messages follow Dovecot's manner: "what: key=<value>, ...".
 */
#ifndef IMAPEXEC_LOG_H
#define IMAPEXEC_LOG_H

#include <stdarg.h>
#include <stddef.h>

/*
 * log_init(debug):
 * Start logging; if ${debug}, to stderr, else to syslog.
 */
void	log_init(int);

/*
 * log_warn(fmt, ...), log_warnx(fmt, ...):
 * Log an error; log_warn() appends ": " and strerror(errno).
 */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_info(fmt, ...), log_debug(fmt, ...):
 * Log a notice, or a detail shown only in debug mode.
 */
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * fatal(fmt, ...), fatalx(fmt, ...):
 * Log as log_warn() or log_warnx() and exit with status 1.
 */
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * log_esc(dst, dstlen, src, n):
 * Store in ${dst} (${dstlen} bytes, at least 4, NUL-terminated) the ${n}
 * bytes at ${src} fit for a log line: printable ASCII as it is, every
 * other byte (controls, DEL, 8-bit) and '\' as "\xNN".  What does not fit
 * is cut, and "..." marks the cut.  Return ${dst}.  Every string from a
 * client or a program goes through this before it is logged.
 */
const char *log_esc(char *, size_t, const void *, size_t);

#endif /* !IMAPEXEC_LOG_H */
