/*
 * Logging: syslog with facility LOG_MAIL and ident "imapexec", or stderr
 * in debug mode.  Messages follow Dovecot's manner: "what: key=<value>, ...".
 */
#ifndef IMAPEXEC_LOG_H
#define IMAPEXEC_LOG_H

#include <stdarg.h>

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

#endif /* !IMAPEXEC_LOG_H */
