/*
 * Dovecot post-login mode (imapexec -P): imapexec runs as a post-login
 * script under script-login, between the logged-in client and imap.
 */
#ifndef IMAPEXEC_POSTLOGIN_H
#define IMAPEXEC_POSTLOGIN_H

#include <stddef.h>

#include "spawn.h"

/* The descriptor script-login leaves connected back to imap. */
#define POSTLOGIN_COMM_FD	3

/*
 * postlogin_check(argc):
 * Check that imapexec was started as a post-login script: fd 3 open, USER
 * and USERDB_KEYS set, and ${argc} > 0 (the rest of the chain, at least
 * script-login itself).  Return NULL, or why not (a static string).
 */
const char *postlogin_check(int);

/*
 * postlogin_identity(user, home, rip, riplen):
 * Store in *${user} and *${home} the account Dovecot logged in (USER,
 * HOME; HOME may be NULL) and in ${rip} of ${riplen} bytes its address
 * (IP, or "").
 */
void	postlogin_identity(const char **, const char **, char *, size_t);

/*
 * postlogin_spawn(argv, proc, status, why):
 * Hand the session on: make a socketpair, start ${argv} (the rest of the
 * script-login chain; argv[0] absolute) in a process group of its own
 * with one end as its fd 0 and 1, fd 2 and fd 3 as imapexec has them and
 * nothing else, and wait until it has ended, having handed its end to
 * imap (exit status 0, stored in *${status}).  Then store the other end
 * in ${proc} (in and out: two descriptors of the same non-blocking,
 * close-on-exec socket; pid and err -1).  imapexec's own fd 3 is closed
 * either way.  Return 0 once handed off; 1 if the hand-off failed, with
 * *${why} saying why (a static string): the chain failed, imap gave up
 * (its post-login timeout) or ended and the chain did not end within a
 * grace time, or SIGTERM, SIGINT, SIGHUP or SIGQUIT came; the chain's
 * process group is killed then and the chain reaped.  Return -1 with
 * errno set if the chain could not be started.
 */
int	postlogin_spawn(char *const *, struct spawn_proc *, int *,
	    const char **);

/*
 * postlogin_bye():
 * Tell the client (fd 1) with an untagged BYE that the login could not
 * be completed; best effort, never blocking.
 */
void	postlogin_bye(void);

#endif /* !IMAPEXEC_POSTLOGIN_H */
