/*
 * The configuration file (libconfig syntax): the backend to start and the
 * services EXECUTE may run.  See imapexec.conf(5).
 */
#ifndef IMAPEXEC_CONFIG_H
#define IMAPEXEC_CONFIG_H

#include <regex.h>
#include <stdint.h>
#include <sys/resource.h>

#include "sock.h"

/* Resource limits a service may set, in this order. */
enum { RL_CPU, RL_MEMORY, RL_NOFILE, RL_NPROC, RL_FSIZE, RL_COUNT };

/* The longest description, so that discovery lines stay bounded. */
#define DESC_MAX	4096

struct service {
	char		*name;
	char		*description;
	char		**exec;		/* argv, NULL-terminated, or NULL */
	char		*connect;	/* "tcp:host:port" or "unix:/path" */
	struct sock_addr *addrs;	/* connect, resolved when loaded */
	size_t		 naddrs;	/* 1 to SOCK_ADDRS_MAX with connect */
	int		 interactive;
	int		 crlf;		/* end lines with CRLF, not LF */
	int		 args_min;
	int		 args_max;
	int		 has_pattern;
	regex_t		 pattern;	/* every argument must match */
	char		*pattern_src;
	int		 timeout;	/* seconds, 0 for none */
	int		 idle_timeout;	/* seconds, 0 for none */
	uint64_t	 max_output;	/* bytes, 0 for none */
	uint64_t	 max_input;	/* bytes, 0 for none */
	int		 stderr_client;	/* ERR to the client, else to the log */
	int		 dash_args;	/* arguments may start with '-' */
	char		**env;		/* "NAME=value", NULL-terminated */
	char		**users;	/* who may run it; NULL for all */
	char		**groups;
	int		 rl_set[RL_COUNT];
	rlim_t		 rl[RL_COUNT];	/* RLIM_INFINITY for "unlimited" */
};

struct config {
	char		*file;
	char		**backend;	/* argv, NULL-terminated */
	char		**backend_env;	/* "NAME=value", NULL-terminated */
	char		*user;		/* account to run as when root */
	char		*path;		/* PATH for the backend and services */
	int		 probe_timeout;	/* seconds the probe may take */
	int		 compress;	/* offer COMPRESS=DEFLATE */
	struct service	*services;
	size_t		 nservices;
};

/*
 * config_load(cf, file, must_exist, errbuf, errlen):
 * Read ${file} into ${cf}.  A missing file is an error only if
 * ${must_exist}; otherwise the built-in defaults apply.  Return 0, or -1
 * with a "file:line: reason" message in ${errbuf} of ${errlen} bytes.
 */
int	config_load(struct config *, const char *, int, char *, size_t);

/*
 * config_free(cf):
 * Release everything ${cf} holds.
 */
void	config_free(struct config *);

/*
 * config_service(cf, name):
 * Return the service called ${name}, or NULL.
 */
const struct service *config_service(const struct config *, const char *);

#endif /* !IMAPEXEC_CONFIG_H */
