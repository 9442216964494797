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
 * postlogin_spawn(argv, proc):
 * Hand the session on: make a socketpair, start ${argv} (the rest of the
 * script-login chain; argv[0] absolute) with one end as its fd 0 and 1,
 * fd 2 and fd 3 as imapexec has them and nothing else, and store the
 * other end in ${proc} (in and out: two descriptors of the same
 * non-blocking, close-on-exec socket; err -1).  imapexec's own fd 3 is
 * closed.  Return 0 once the program runs, or -1 with errno set.
 */
int	postlogin_spawn(char *const *, struct spawn_proc *);

#endif /* !IMAPEXEC_POSTLOGIN_H */
