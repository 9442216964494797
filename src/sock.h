/*
 * The sockets of socket services: the address a "connect" setting names,
 * resolved once when the configuration is read, and a non-blocking
 * connect that the poll loop drives to its end.
 */
#ifndef IMAPEXEC_SOCK_H
#define IMAPEXEC_SOCK_H

#include <sys/socket.h>

#include <stddef.h>

/* The most addresses a "tcp:" name may give; the rest are ignored. */
#define SOCK_ADDRS_MAX	8

struct sock_addr {
	struct sockaddr_storage	 sa;
	socklen_t		 len;
	char			 text[128];	/* "1.2.3.4:25", "[::1]:25", path */
};

/*
 * sock_resolve(spec, out, max, n, why, whylen):
 * Parse ${spec}, "tcp:HOST:PORT" (HOST a name, an IPv4 address or an IPv6
 * address in brackets, PORT a number from 1 to 65535) or "unix:/PATH"
 * (shorter than sun_path), and resolve it into at most ${max} addresses
 * at ${out}, their number in ${n}.  Name lookup happens here, never when
 * a service runs.  Return 0, or -1 with the reason in ${why} of ${whylen}
 * bytes.
 */
int	sock_resolve(const char *, struct sock_addr *, size_t, size_t *,
	    char *, size_t);

/*
 * sock_start(a, done):
 * Start a non-blocking connect to ${a}.  Return the non-blocking,
 * close-on-exec stream socket, with ${done} nonzero if it is connected
 * already, else the connect is under way (wait for POLLOUT, then call
 * sock_finish()); or -1 with errno set.
 */
int	sock_start(const struct sock_addr *, int *);

/*
 * sock_finish(fd):
 * The connect under way on ${fd} has reported POLLOUT (or an error):
 * return 0 if it succeeded, or -1 with errno set to its error.
 */
int	sock_finish(int);

#endif /* !IMAPEXEC_SOCK_H */
