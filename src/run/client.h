/*
 * imapexec-run's session: connect, log in unless preauthenticated, run
 * one EXECUTE (or list the services) and map its outcome to an exit
 * status.
 */
#ifndef IMAPEXEC_RUN_CLIENT_H
#define IMAPEXEC_RUN_CLIENT_H

#include "url.h"

/* Exit statuses beyond the service's own. */
#define RX_NOTFOUND	127	/* NO [NONEXISTENT] */
#define RX_CANNOT	126	/* NO [CANNOT] */
#define RX_LIMIT	124	/* NO [LIMIT] */
#define RX_INT		130	/* interrupted before the service ran */
#define RX_PIPE		141	/* our standard output went away */
#define RX_FAIL		255	/* connection, login or protocol failure */

/* The largest -i input: the EXECUTE arguments' limit. */
#define RUN_INPUT_MAX	(256 * 1024)

struct opts {
	int		 verbose;	/* -v: trace the protocol on stderr */
	int		 input;		/* -i: stdin as INPUT */
	int		 list;		/* -l: list the services */
	int		 timeout;	/* -T seconds; 0: none */
	const char	*tunnel;	/* -t */
	const char	*cafile;	/* -C */
	const char	*passcmd;	/* -p */
	struct url	 url;		/* unless -t */
	const char	*service;
	char		**args;
	int		 nargs;
};

/*
 * client_run(o):
 * Do what ${o} asks; return the exit status (a reason for any failure of
 * ours is on stderr).
 */
int	client_run(const struct opts *);

#endif /* !IMAPEXEC_RUN_CLIENT_H */
