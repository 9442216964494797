/*
 * Environments for child processes, built from nothing: a child sees only
 * what imapexec chose to give it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

/*
 * env_set(e, name, value):
 * Set ${name} to ${value} in ${e}, replacing an earlier value.  Return 0,
 * or -1 with errno set.
 */
int
env_set(struct env *e, const char *name, const char *value)
{
	char *entry, **v;
	size_t i, len = strlen(name);

	if (asprintf(&entry, "%s=%s", name, value) == -1)
		return (-1);
	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=') {
			free(e->v[i]);
			e->v[i] = entry;
			return (0);
		}
	if ((v = reallocarray(e->v, e->n + 2, sizeof(*v))) == NULL) {
		free(entry);
		return (-1);
	}
	e->v = v;
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
	return (0);
}

/*
 * env_put(e, entry):
 * Add the "NAME=value" ${entry} to ${e} as env_set() does.  Return 0, or
 * -1 with errno set.
 */
int
env_put(struct env *e, const char *entry)
{
	const char *eq;
	char *name;
	int rc;

	if ((eq = strchr(entry, '=')) == NULL || eq == entry) {
		errno = EINVAL;
		return (-1);
	}
	if ((name = strndup(entry, (size_t)(eq - entry))) == NULL)
		return (-1);
	rc = env_set(e, name, eq + 1);
	free(name);
	return (rc);
}

/*
 * env_free(e):
 * Release ${e}.
 */
void
env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}
