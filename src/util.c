/*
 * Small helpers shared by several layers.
 */
#include <string.h>
#include <time.h>

#include "util.h"

/*
 * name_ok(s, len):
 * Return nonzero if the ${len} bytes at ${s} can name a service: 1 to 64
 * of [A-Za-z0-9._-], not starting with '.' or '-' (so no NUL, no '/', no
 * control character).  The configuration and EXECUTE both use this.
 */
int
name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > NAME_MAX_LEN || s[0] == '.' || s[0] == '-')
		return (0);
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]) == NULL)
			return (0);
	return (1);
}

/*
 * now_ms():
 * Return a monotonic clock reading in milliseconds.
 */
int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
