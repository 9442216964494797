/*
 * imapexec-run before the EXECUTE (login.c): the greeting, CAPABILITY,
 * STARTTLS, the login and the password.  A login step reads the server's
 * response and the login state in struct cl, moves that state on, and
 * says in a struct login_step what is to be sent and whether the session
 * fails or is ready for the EXECUTE; client.c carries that out.  Nothing
 * here sends or ends the session itself.  Internal.
 */
#ifndef IMAPEXEC_RUN_LOGIN_H
#define IMAPEXEC_RUN_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cl.h"

/* The most one step sends: LOGIN with a user and a password that both
   need escaping (or literals). */
#define LOGIN_OUT_MAX	(2 * (URL_PART_MAX + PASS_MAX) + 64)

/* The longest reason for a failure: a response's text and some words. */
#define LOGIN_WHY_MAX	(RESP_LINE_MAX + 1024)

/*
 * What a login step asks of the session, in this order: queue ${out}
 * for the server (with -v, its first ${show} bytes are traced), then end
 * the session with ${fail} if that is not -1 (printing ${why} if ${loud},
 * else quietly), else start the EXECUTE if ${exec}.
 */
struct login_step {
	struct buf	 out;		/* over ${space} */
	size_t		 show;
	int		 fail;		/* an exit status, or -1 */
	int		 loud;
	int		 exec;
	char		 why[LOGIN_WHY_MAX];
	uint8_t		 space[LOGIN_OUT_MAX];
};

/*
 * login_caps(c, caps, len):
 * Remember the capability list ${caps} (${len} bytes) in ${c}.
 */
void	login_caps(struct cl *, const char *, size_t);

/*
 * login_status(c, r, st):
 * Handle the greeting or a tagged response ${r} before PH_EXEC; say in
 * ${st} what follows.
 */
void	login_status(struct cl *, const struct resp *, struct login_step *);

/*
 * login_cont(c, st):
 * Handle a continuation request before PH_EXEC; say in ${st} what
 * follows.
 */
void	login_cont(struct cl *, struct login_step *);

/*
 * login_password(c, st):
 * Find the user and the password for a URL: -p, ~/.netrc, the terminal.
 * Return 0, or -1 with the failure (255, or 130 for ^C) in ${st}.
 */
int	login_password(struct cl *, struct login_step *);

#endif /* !IMAPEXEC_RUN_LOGIN_H */
