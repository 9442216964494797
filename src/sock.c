/*
 * The sockets of socket services: resolving a "connect" setting when the
 * configuration is read, and connecting without blocking.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dassert.h"
#include "sock.h"

/*
 * resolve_unix(path, out, why, whylen):
 * Fill ${out} with the local socket address ${path}.  Return 0, or -1
 * with the reason in ${why}.
 */
static int
resolve_unix(const char *path, struct sock_addr *out, char *why,
    size_t whylen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;

	memset(out, 0, sizeof(*out));
	if (path[0] != '/') {
		(void)snprintf(why, whylen, "the path must be absolute");
		return (-1);
	}
	if (strlen(path) >= sizeof(sun->sun_path)) {
		(void)snprintf(why, whylen, "the path is longer than %zu bytes",
		    sizeof(sun->sun_path) - 1);
		return (-1);
	}
	sun->sun_family = AF_UNIX;
	(void)strlcpy(sun->sun_path, path, sizeof(sun->sun_path));
	out->len = (socklen_t)sizeof(*sun);
	(void)strlcpy(out->text, path, sizeof(out->text));
	return (0);
}

/*
 * split_hostport(hostport, host, hostlen, port, why, whylen):
 * Split "HOST:PORT" or "[V6]:PORT" at ${hostport} into ${host} (${hostlen}
 * bytes) and the number ${port}.  Return 0, or -1 with the reason in
 * ${why}.
 */
static int
split_hostport(const char *hostport, char *host, size_t hostlen, int *port,
    char *why, size_t whylen)
{
	const char *colon, *h = hostport, *end;
	char *e;
	size_t hl;
	long p;

	if (h[0] == '[') {
		if ((end = strchr(h, ']')) == NULL) {
			(void)snprintf(why, whylen, "no closing ']'");
			return (-1);
		}
		h++;
		hl = (size_t)(end - h);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != ':' && end[1] != '\0') {
			(void)snprintf(why, whylen, "':PORT' must follow ']'");
			return (-1);
		}
	} else {
		colon = strrchr(h, ':');
		hl = colon != NULL ? (size_t)(colon - h) : strlen(h);
		if (colon != NULL && memchr(h, ':', hl) != NULL) {
			(void)snprintf(why, whylen, "an IPv6 address goes in "
			    "brackets, as tcp:[::1]:PORT");
			return (-1);
		}
	}
	if (hl == 0) {
		(void)snprintf(why, whylen, "no host (tcp:HOST:PORT)");
		return (-1);
	}
	if (hl >= hostlen) {
		(void)snprintf(why, whylen, "the host is too long");
		return (-1);
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon == NULL || colon[1] == '\0') {
		(void)snprintf(why, whylen, "no port (tcp:HOST:PORT)");
		return (-1);
	}
	errno = 0;
	p = strtol(colon + 1, &e, 10);
	if (*e != '\0' || errno != 0 || p < 1 || p > 65535 ||
	    colon[1] < '0' || colon[1] > '9') {
		(void)snprintf(why, whylen, "the port must be a number from 1 "
		    "to 65535");
		return (-1);
	}
	*port = (int)p;
	return (0);
}

/*
 * addr_text(a):
 * Write the printable form of the address in ${a} to ${a}->text.
 */
static void
addr_text(struct sock_addr *a)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->sa;

	if (a->sa.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)) != NULL)
		(void)snprintf(a->text, sizeof(a->text), "[%s]:%u", ip,
		    (unsigned)ntohs(in6->sin6_port));
	else if (a->sa.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip)) != NULL)
		(void)snprintf(a->text, sizeof(a->text), "%s:%u", ip,
		    (unsigned)ntohs(in4->sin_port));
	else
		(void)strlcpy(a->text, "?", sizeof(a->text));
}

/*
 * sock_resolve(spec, out, max, n, why, whylen):
 * Parse ${spec}, "tcp:HOST:PORT" (HOST a name, an IPv4 address or an IPv6
 * address in brackets, PORT a number from 1 to 65535) or "unix:/PATH"
 * (shorter than sun_path), and resolve it into at most ${max} addresses
 * at ${out}, their number in ${n}.  Name lookup happens here, never when
 * a service runs.  Return 0, or -1 with the reason in ${why} of ${whylen}
 * bytes.
 */
int
sock_resolve(const char *spec, struct sock_addr *out, size_t max, size_t *n,
    char *why, size_t whylen)
{
	struct addrinfo hints, *res, *ai;
	char host[256], port[8];
	int p, rc;

	DASSERT(max > 0);
	*n = 0;
	if (strncmp(spec, "unix:", 5) == 0) {
		if (resolve_unix(spec + 5, out, why, whylen) == -1)
			return (-1);
		*n = 1;
		return (0);
	}
	if (strncmp(spec, "tcp:", 4) != 0) {
		(void)snprintf(why, whylen, "must be tcp:HOST:PORT or "
		    "unix:/PATH");
		return (-1);
	}
	if (split_hostport(spec + 4, host, sizeof(host), &p, why,
	    whylen) == -1)
		return (-1);
	(void)snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		(void)snprintf(why, whylen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		return (-1);
	}
	for (ai = res; ai != NULL && *n < max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(out[*n].sa))
			continue;
		memset(&out[*n], 0, sizeof(out[*n]));
		memcpy(&out[*n].sa, ai->ai_addr, ai->ai_addrlen);
		out[*n].len = ai->ai_addrlen;
		addr_text(&out[*n]);
		(*n)++;
	}
	freeaddrinfo(res);
	if (*n == 0) {
		(void)snprintf(why, whylen, "%s has no IPv4 or IPv6 address",
		    host);
		return (-1);
	}
	return (0);
}

/*
 * sock_start(a, done):
 * Start a non-blocking connect to ${a}.  Return the non-blocking,
 * close-on-exec stream socket, with ${done} nonzero if it is connected
 * already, else the connect is under way (wait for POLLOUT, then call
 * sock_finish()); or -1 with errno set.
 */
int
sock_start(const struct sock_addr *a, int *done)
{
	int fd, e;

	*done = 0;
	if ((fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0) {
		*done = 1;
		return (fd);
	}
	/*
	 * EINTR: the connect goes on in the background, as EINPROGRESS.  A
	 * local socket whose backlog is full fails at once (EAGAIN).
	 */
	if (errno == EINPROGRESS || errno == EINTR)
		return (fd);
	e = errno;
	(void)close(fd);
	errno = e;
	return (-1);
}

/*
 * sock_finish(fd):
 * The connect under way on ${fd} has reported POLLOUT (or an error):
 * return 0 if it succeeded, or -1 with errno set to its error.
 */
int
sock_finish(int fd)
{
	socklen_t elen = sizeof(int);
	int e = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		return (-1);
	if (e != 0) {
		errno = e;
		return (-1);
	}
	return (0);
}
