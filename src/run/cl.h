/*
 * The state imapexec-run's session parts share (client.c: the loop and
 * the EXECUTE; login.c: greeting, STARTTLS and login, see login.h).
 * Internal.
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

#endif /* !IMAPEXEC_RUN_CL_H */
