/*
 * Connecting to the socket of a socket service.
 */
#ifndef IMAPEXEC_SOCK_H
#define IMAPEXEC_SOCK_H

/*
 * sock_connect(spec, timeout_ms):
 * Connect to ${spec}, "tcp:HOST:PORT" (HOST may be a name, an IPv4 address
 * or an IPv6 address in brackets) or "unix:/path", waiting at most
 * ${timeout_ms} milliseconds.  Return a non-blocking, close-on-exec stream
 * socket, or -1 with errno set.
 */
int	sock_connect(const char *, int);

#endif /* !IMAPEXEC_SOCK_H */
