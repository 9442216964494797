/*
 * The relay: the poll(2) loop of a connection (relay.c), above command.c.
 */
#ifndef IMAPEXEC_RELAY_H
#define IMAPEXEC_RELAY_H

struct conn;

/*
 * relay_signals():
 * Catch SIGCHLD, SIGTERM, SIGINT, SIGHUP and SIGQUIT through a self-pipe,
 * and ignore SIGPIPE.  Return 0, or -1 with errno set.  Call it once, before
 * anything is spawned.
 */
int	relay_signals(void);

/*
 * relay_run(c):
 * Relay between the client and the backend of ${c} until the backend has
 * exited and its output has been delivered (or the client is gone).
 * Return the exit status for imapexec: the backend's.
 */
int	relay_run(struct conn *);

#endif /* !IMAPEXEC_RELAY_H */
