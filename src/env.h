/*
 * Environments for child processes, built from nothing.
 */
#ifndef IMAPEXEC_ENV_H
#define IMAPEXEC_ENV_H

#include <stddef.h>

struct env {
	char	**v;		/* "NAME=value", NULL-terminated */
	size_t	  n;
};

/*
 * env_set(e, name, value):
 * Set ${name} to ${value} in ${e}, replacing an earlier value.  Return 0,
 * or -1 with errno set.
 */
int	env_set(struct env *, const char *, const char *);

/*
 * env_put(e, entry):
 * Add the "NAME=value" ${entry} to ${e} as env_set() does.  Return 0, or
 * -1 with errno set.
 */
int	env_put(struct env *, const char *);

/*
 * env_free(e):
 * Release ${e}.
 */
void	env_free(struct env *);

#endif /* !IMAPEXEC_ENV_H */
