/*
 * A running EXECUTE: the program (or, later, the socket), its input and
 * output framed as IMAP, its limits, and its result.
 */
#ifndef IMAPEXEC_SESSION_H
#define IMAPEXEC_SESSION_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conn;
struct service;
struct session;

/*
 * session_start(c, sv, tag, argv, input, inputlen, interactive, why):
 * Start service ${sv} for the command tagged ${tag} with the NULL-terminated
 * client arguments ${argv}, the program's stdin being the ${inputlen} bytes
 * at ${input} (if not NULL) or the client's lines if ${interactive}.
 * Return the session, or NULL with a reason in ${why} (the program could
 * not be started).
 */
struct session *session_start(struct conn *, const struct service *,
	    const char *, char *const *, const uint8_t *, size_t, int,
	    const char **);

/*
 * session_step(c, s):
 * Make what progress ${s} can without blocking: move input, output and
 * the end of the session.  Return -1 if nothing changed, 0 if something
 * did, or 1 once the session's tagged response has been queued (then ${s}
 * must be freed with session_free()).
 */
int	session_step(struct conn *, struct session *);

/*
 * session_pollfds(s, pfd, max):
 * Store up to ${max} descriptors ${s} waits for in ${pfd}; return how many.
 */
int	session_pollfds(struct session *, struct pollfd *, int);

/*
 * session_events(c, s, pfd, n):
 * Handle the poll(2) results ${pfd}[0..${n}) of session_pollfds().
 */
void	session_events(struct conn *, struct session *, const struct pollfd *,
	    int);

/*
 * session_timeout(s):
 * Return the milliseconds until ${s}'s next deadline, or -1.
 */
int	session_timeout(struct session *);

/*
 * session_exiting(s, pid):
 * Child ${pid} has ended and is not reaped yet: if it is ${s}'s program,
 * SIGKILL what is left of its process group (its id cannot have been
 * reused while the leader is a zombie).
 */
void	session_exiting(struct session *, pid_t);

/*
 * session_reaped(s, pid, status):
 * Child ${pid} ended with ${status}.  Return nonzero if it was ${s}'s.
 * From then on ${s} sends no signal: its process group may be gone.
 */
int	session_reaped(struct session *, pid_t, int);

/*
 * session_abort(s):
 * The client is gone: stop ${s}'s program at once.
 */
void	session_abort(struct session *);

/*
 * session_backend_gone(s):
 * The backend has ended, and with it the IMAP session: stop ${s}'s
 * program and end the command without waiting for DONE.
 */
void	session_backend_gone(struct session *);

/*
 * session_free(s):
 * Release ${s}, killing and closing whatever is left of it.
 */
void	session_free(struct session *);

#endif /* !IMAPEXEC_SESSION_H */
