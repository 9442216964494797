/*
 * One client connection: the client's descriptors, the backend, the
 * buffers between them, the scanner, and imapexec's own command.
 */
#ifndef IMAPEXEC_CONN_H
#define IMAPEXEC_CONN_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "scan.h"
#include "spawn.h"

struct config;
struct command;
struct zio;

/* Size of each relay buffer. */
#define CONN_BUFSZ	(64 * 1024)

struct conn {
	const struct config *cf;
	const char	*user;		/* the account the session is for */
	const char	*home;		/* NULL: none (post-login without a
					   userdb home): EXECUTE is refused */
	int		 home_told;	/* ... and that has been logged */
	int		 greet_told;	/* a greeting other than PREAUTH has
					   been logged */
	char		 rip[64];	/* the client's address, or "" */

	int		 cl_in;		/* client descriptors (may be equal) */
	int		 cl_out;
	int		 cl_eof;	/* the client will send no more */
	int		 cl_gone;	/* the client can no longer be written */

	struct spawn_proc be;		/* the backend */
	int		 be_eof;	/* its stdout is at end of file */
	int		 be_status;	/* its wait(2) status, or -1 */
	int		 be_sock;	/* post-login: be.in and be.out are one
					   socket to imap, not our child's */

	struct buf	 c_in;		/* read from the client */
	struct buf	 b_out;		/* to be written to the backend */
	struct buf	 b_in;		/* read from the backend */
	struct buf	 c_out;		/* to be written to the client */
	char		 errline[512];	/* the backend's stderr, a line */
	size_t		 errlen;

	struct scan	 scan;
	size_t		 c_pass;	/* client bytes passed, not yet moved */
	size_t		 s_pass;	/* backend bytes passed, not yet moved */
	const char	*s_insert;	/* text to insert, not yet inserted */
	int		 nosplice;	/* splice(2) does not work here */
	int		 closing;	/* the session is being closed */

	int		 held;		/* the client is held for the backend */
	int64_t		 held_since;	/* ... since then (ms, monotonic), with
					   nothing from the backend since */

	struct command	*cmd;		/* imapexec's own command, or NULL */
	struct zio	*z;		/* COMPRESS=DEFLATE to the client, or NULL */
};

/*
 * conn_can_emit(c):
 * Return nonzero if imapexec may write lines of its own to the client now:
 * the backend's output stands between two lines.
 */
int	conn_can_emit(const struct conn *);

/*
 * conn_emit(c, p, n):
 * Queue the ${n} bytes at ${p} for the client.  Return 0, or -1 if they do
 * not fit now (nothing is queued then).
 */
int	conn_emit(struct conn *, const void *, size_t);

/*
 * conn_printf(c, fmt, ...):
 * Queue a formatted line for the client; as conn_emit().
 */
int	conn_printf(struct conn *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* !IMAPEXEC_CONN_H */
