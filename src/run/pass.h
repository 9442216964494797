/*
 * imapexec-run's passwords: from a command (-p), ~/.netrc, or a prompt on
 * the terminal; never from the command line.
 */
#ifndef IMAPEXEC_RUN_PASS_H
#define IMAPEXEC_RUN_PASS_H

#include <stddef.h>

#define PASS_MAX	1024

/*
 * pass_command(cmd, buf, size, err, errlen):
 * Run ${cmd} with /bin/sh -c and take the first line it prints (without
 * its CR LF) as the password, in ${buf} (${size} bytes).  Return 0, or -1
 * with a reason in ${err} (the command failed, printed nothing, or more
 * than fits).
 */
int	pass_command(const char *, char *, size_t, char *, size_t);

/*
 * pass_netrc(path, host, user, usize, buf, size, err, errlen):
 * Look ${host} up in the netrc file ${path}: the first "machine" entry for
 * it (case-insensitive) whose login is ${user} (any login when ${user} is
 * empty, which then receives it), else a "default" entry.  Store the
 * password in ${buf}.  Return 1 if found, 0 if not (or no file), -1 with
 * a reason in ${err} if the file is unreadable or readable by others.
 */
int	pass_netrc(const char *, const char *, char *, size_t, char *, size_t,
	    char *, size_t);

/*
 * pass_prompt(prompt, buf, size):
 * Ask for the password on the terminal (no echo).  Return 0, -1 if
 * there is no terminal, or PASS_INTR if a signal (^C) ended the prompt
 * (readpassphrase(3) has then restored the terminal and raised it again,
 * so the caller's handler has run).
 */
#define PASS_INTR	(-2)
int	pass_prompt(const char *, char *, size_t);

#endif /* !IMAPEXEC_RUN_PASS_H */
