/*
 * Connecting to the socket of a socket service.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

/*
 * wait_connect(fd, sa, len, timeout_ms):
 * Connect non-blocking socket ${fd} to ${sa} of ${len} bytes within
 * ${timeout_ms} milliseconds.  Return 0, or -1 with errno set.
 */
static int
wait_connect(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int e = 0, n;

	if (connect(fd, sa, len) == 0)
		return (0);
	if (errno != EINPROGRESS && errno != EINTR)
		return (-1);
	pfd.fd = fd;
	pfd.events = POLLOUT;
	while ((n = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (n == 0) {
		errno = ETIMEDOUT;
		return (-1);
	}
	if (n == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		return (-1);
	if (e != 0) {
		errno = e;
		return (-1);
	}
	return (0);
}

/*
 * sock_unix(path, timeout_ms):
 * Connect to the local socket at ${path}.  Return the socket or -1.
 */
static int
sock_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sun;
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return (-1);
	if (wait_connect(fd, (struct sockaddr *)&sun, sizeof(sun),
	    timeout_ms) == -1) {
		e = errno;
		(void)close(fd);
		errno = e;
		return (-1);
	}
	return (fd);
}

/*
 * sock_tcp(hostport, timeout_ms):
 * Connect to "HOST:PORT" over TCP, trying each address in turn.  Return
 * the socket or -1.
 */
static int
sock_tcp(const char *hostport, int timeout_ms)
{
	struct addrinfo hints, *res, *ai;
	char host[256], *port;
	int fd = -1, e = ECONNREFUSED;

	if (strlcpy(host, hostport, sizeof(host)) >= sizeof(host) ||
	    (port = strrchr(host, ':')) == NULL) {
		errno = EINVAL;
		return (-1);
	}
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (wait_connect(fd, ai->ai_addr, ai->ai_addrlen,
		    timeout_ms) == 0)
			break;
		e = errno;
		(void)close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errno = e;
	return (fd);
}

/*
 * sock_connect(spec, timeout_ms):
 * Connect to ${spec}, "tcp:HOST:PORT" (HOST may be a name, an IPv4 address
 * or an IPv6 address in brackets) or "unix:/path", waiting at most
 * ${timeout_ms} milliseconds.  Return a non-blocking, close-on-exec stream
 * socket, or -1 with errno set.
 */
int
sock_connect(const char *spec, int timeout_ms)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return (sock_unix(spec + 5, timeout_ms));
	if (strncmp(spec, "tcp:", 4) == 0)
		return (sock_tcp(spec + 4, timeout_ms));
	errno = EINVAL;
	return (-1);
}
