/*
 * imapexec's own commands, the ones the backend never sees: EXECUTE, and
 * COMPRESS and STARTTLS, which are refused because either would blind the
 * filter.
 */
#ifndef IMAPEXEC_COMMAND_H
#define IMAPEXEC_COMMAND_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scan.h"

struct conn;

/*
 * command_begin(c, cmd, head, headlen, taglen):
 * Start imapexec's own command ${cmd} on ${c}: the ${headlen} bytes at
 * ${head} are its "tag SP name", the first ${taglen} its tag.  Return 0,
 * or -1 if it cannot even be started (out of memory).  It acts only after
 * proof that the backend stands at a command boundary (command.c).
 */
int	command_begin(struct conn *, enum scan_cmd, const uint8_t *, size_t,
	    size_t);

/*
 * command_probing(c):
 * Return nonzero while the own command of ${c} waits for the backend's
 * answer to its probe (the backend's output must flow meanwhile).
 */
int	command_probing(const struct conn *);

/*
 * command_tell_failed(c):
 * Log, once a connection, that ${c} has failed closed and why.
 */
void	command_tell_failed(struct conn *);

/*
 * command_reading(c):
 * Return nonzero while the command line of ${c}'s own command is still
 * being read through the scanner.
 */
int	command_reading(const struct conn *);

/*
 * command_feed(c, act, p):
 * Give the own command of ${c} the part of its line that the scanner
 * reported in ${act}, ${act}->n bytes at ${p}.
 */
void	command_feed(struct conn *, const struct scan_act *, const uint8_t *);

/*
 * command_step(c):
 * Let the own command of ${c} make what progress it can without blocking.
 * Return nonzero if anything changed.  The command is freed (and ${c}->cmd
 * set to NULL) once its tagged response has been queued.
 */
int	command_step(struct conn *);

/*
 * command_pollfds(c, pfd, max):
 * Store up to ${max} descriptors the own command of ${c} waits for in
 * ${pfd}; return how many.
 */
int	command_pollfds(struct conn *, struct pollfd *, int);

/*
 * command_events(c, pfd, n):
 * Handle the poll(2) results ${pfd}[0..${n}) of command_pollfds().
 */
void	command_events(struct conn *, const struct pollfd *, int);

/*
 * command_timeout(c):
 * Return the milliseconds until the own command's next deadline, or -1.
 */
int	command_timeout(struct conn *);

/*
 * command_exiting(c, pid):
 * Child ${pid} of ${c} has ended but is not reaped yet.  If it is the own
 * command's program, kill what is left of its process group now.
 */
void	command_exiting(struct conn *, pid_t);

/*
 * command_reaped(c, pid, status):
 * Child ${pid} of ${c} ended with wait(2) status ${status}.  Return nonzero
 * if it belonged to the own command.
 */
int	command_reaped(struct conn *, pid_t, int);

/*
 * command_abort(c):
 * The client is gone or imapexec is stopping: end the own command of ${c}
 * at once, killing what it runs.
 */
void	command_abort(struct conn *);

#endif /* !IMAPEXEC_COMMAND_H */
