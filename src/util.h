/*
 * Small helpers shared by several layers.
 */
#ifndef IMAPEXEC_UTIL_H
#define IMAPEXEC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The longest service name. */
#define NAME_MAX_LEN	64

/*
 * name_ok(s, len):
 * Return nonzero if the ${len} bytes at ${s} can name a service: 1 to 64
 * of [A-Za-z0-9._-], not starting with '.' or '-' (so no NUL, no '/', no
 * control character).  The configuration and EXECUTE both use this.
 */
int	name_ok(const char *, size_t);

/*
 * now_ms():
 * Return a monotonic clock reading in milliseconds.
 */
int64_t	now_ms(void);

#endif /* !IMAPEXEC_UTIL_H */
