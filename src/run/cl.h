/*
 * The state imapexec-run's session parts share (client.c: the loop and
 * the EXECUTE; login.c: greeting, STARTTLS and login).  Internal.
 */
#ifndef IMAPEXEC_RUN_CL_H
#define IMAPEXEC_RUN_CL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "net.h"
#include "pass.h"
#include "resp.h"

/* Where the session stands. */
enum phase {
	PH_GREET = 0,	/* waiting for the greeting */
	PH_CAPA,	/* CAPABILITY sent */
	PH_STARTTLS,	/* STARTTLS sent */
	PH_AUTH,	/* AUTHENTICATE or LOGIN sent */
	PH_EXEC		/* the EXECUTE (and discovery) sent */
};

/* How the login goes (PH_AUTH). */
enum auth {
	AU_NONE = 0,
	AU_PLAIN,	/* AUTHENTICATE PLAIN */
	AU_LOGIN,	/* the LOGIN command */
	AU_SASL_LOGIN	/* AUTHENTICATE LOGIN: the user, then the password */
};

/* Our tags, one a command. */
#define TAG_CAPA	"c"
#define TAG_TLS		"s"
#define TAG_AUTH	"l"
#define TAG_LIST	"d"
#define TAG_EXEC	"x"
#define TAG_SYNC	"n"

struct cl {
	const struct opts *o;
	struct net	 net;
	struct buf	 out;		/* to the server */
	struct rdr	*rd;
	enum phase	 ph;
	int64_t		 deadline;	/* -T, until the EXECUTE is sent */
	int		 result;	/* the exit status, or -1 */
	int		 secure;	/* TLS, a tunnel, or loopback */
	int		 starttls;	/* STARTTLS answered OK: start TLS */
	char		 caps[4096];
	size_t		 capslen;
	int		 have_caps;
	char		 sync[65];	/* EXECUTE-SYNC's token, or "" */
	enum auth	 auth;		/* the login in flight */
	int		 auth_step;	/* "+" requests answered in it */
	int		 plain_refused;	/* AUTHENTICATE PLAIN was refused */
	char		 user[URL_PART_MAX];
	char		 pass[PASS_MAX];
	char		 bye[256];	/* the text of a BYE */
};

/*
 * cl_fail(c, status, fmt, ...):
 * Print "imapexec-run: " and the reason, end the session with ${status}.
 */
void	cl_fail(struct cl *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * cl_send(c, p, n, show):
 * Queue ${n} bytes at ${p} for the server; trace them with -v if ${show}.
 * A command that does not fit ends the session (255).
 */
void	cl_send(struct cl *, const void *, size_t, int);

/*
 * cl_caps(c, caps, len):
 * Remember the capability list ${caps} (${len} bytes).
 */
void	cl_caps(struct cl *, const char *, size_t);

/*
 * cl_start_exec(c):
 * The session is authenticated: send the discovery and the EXECUTE.
 */
void	cl_start_exec(struct cl *);

/*
 * login_status(c, r):
 * Handle the greeting or a tagged response ${r} before PH_EXEC.
 */
void	login_status(struct cl *, const struct resp *);

/*
 * login_cont(c):
 * Handle a continuation request before PH_EXEC.
 */
void	login_cont(struct cl *);

/*
 * login_password(c):
 * Find the user and the password for a URL: -p, ~/.netrc, the terminal.
 * Return 0, or -1 with the session ended (255).
 */
int	login_password(struct cl *);

#endif /* !IMAPEXEC_RUN_CL_H */
