/*
 * imapexec-run's connection to the server.
 */
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "dassert.h"
#include "net.h"
#include "util.h"

extern char **environ;

/*
 * fail(n, fmt, ...):
 * Store a reason in ${n}->err; return -1.
 */
static int
fail(struct net *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct net *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->err, sizeof(n->err), fmt, ap);
	va_end(ap);
	return (-1);
}

/*
 * init(n):
 * Reset ${n} to no connection.
 */
static void
init(struct net *n)
{
	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->pid = -1;
	n->rd_ev = POLLIN;
	n->wr_ev = POLLOUT;
}

/* The signal mask inside a wait: SIGINT open (once net_sigint_block). */
static sigset_t waitmask;
static int sigint_blocked;

/*
 * net_sigint_block():
 * Block SIGINT, and note the mask for net_poll() and the tunnel.
 */
void
net_sigint_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &waitmask) != 0)
		return;
	sigdelset(&waitmask, SIGINT);
	sigint_blocked = 1;
}

/*
 * net_sigint_open(old):
 * Unblock SIGINT (if net_sigint_block blocked it); the mask before goes
 * to ${old}.
 */
void
net_sigint_open(sigset_t *old)
{
	if (sigint_blocked)
		(void)sigprocmask(SIG_SETMASK, &waitmask, old);
}

/*
 * net_sigint_restore(old):
 * Put back the mask ${old} that net_sigint_open() saved.
 */
void
net_sigint_restore(const sigset_t *old)
{
	if (sigint_blocked)
		(void)sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * net_poll(pfd, n, tmo):
 * poll(2), with SIGINT unblocked for the wait alone (ppoll), so that a
 * ^C between the caller's look at its flag and the wait is not lost.
 */
int
net_poll(struct pollfd *pfd, nfds_t n, int tmo)
{
	struct timespec ts, *tp = NULL;

	if (!sigint_blocked)
		return (poll(pfd, n, tmo));
	if (tmo >= 0) {
		ts.tv_sec = tmo / 1000;
		ts.tv_nsec = (long)(tmo % 1000) * 1000000L;
		tp = &ts;
	}
	return (ppoll(pfd, n, tp, &waitmask));
}

/*
 * net_tunnel(n, cmd):
 * Run ${cmd} with /bin/sh -c, its stdin and stdout one end of a socket
 * pair (its stderr ours, SIGINT ignored so that ^C reaches us alone).
 * Return 0, or -1 (reason in ${n}->err).
 */
int
net_tunnel(struct net *n, const char *cmd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t def;
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	int sv[2], e;

	init(n);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return (fail(n, "socketpair: %s", strerror(errno)));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawnattr_init(&sa);
	/* Our SIGINT handler would be reset anyway; SIGPIPE is ignored here. */
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigdefault(&sa, &def);
	if (sigint_blocked) {
		/* the tunnel runs with the mask we had before */
		posix_spawnattr_setsigmask(&sa, &waitmask);
		posix_spawnattr_setflags(&sa,
		    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	} else
		posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF);
	/*
	 * The child inherits SIG_IGN for SIGINT: we set it just around the
	 * spawn, as posix_spawn has no way to ignore a signal.
	 */
	{
		struct sigaction ign, old;

		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigaction(SIGINT, &ign, &old);
		e = posix_spawn(&n->pid, "/bin/sh", &fa, &sa, argv, environ);
		sigaction(SIGINT, &old, NULL);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(sv[1]);
	if (e != 0) {
		close(sv[0]);
		n->pid = -1;
		return (fail(n, "tunnel: %s", strerror(e)));
	}
	n->fd = sv[0];
	if (fcntl(n->fd, F_SETFL, O_NONBLOCK) != 0)
		return (fail(n, "fcntl: %s", strerror(errno)));
	return (0);
}

/*
 * waitfd(fd, events, deadline):
 * Wait until ${fd} has one of ${events} or ${deadline} (0: none) passes.
 * Return 0, or -1 with errno set (ETIMEDOUT at the deadline, EINTR when a
 * signal came: ^C must not wait for the deadline).
 */
static int
waitfd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	int64_t left;
	int r;

	for (;;) {
		left = deadline ? deadline - now_ms() : -1;
		if (deadline && left <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		r = net_poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return (0);
		if (r < 0)
			return (-1);
	}
}

/*
 * net_tcp(n, host, port, deadline):
 * Connect to ${host}:${port}, each address in turn, before ${deadline}
 * (now_ms() time; 0 for none).  Return 0, or -1 (reason in ${n}->err).
 */
int
net_tcp(struct net *n, const char *host, const char *port, int64_t deadline)
{
	struct addrinfo hints, *res, *ai;
	socklen_t sl;
	int fd = -1, e, soerr = 0;

	init(n);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		return (fail(n, "%s: %s", host, gai_strerror(e)));
	e = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			sl = sizeof(soerr);
			if (waitfd(fd, POLLOUT, deadline) == 0 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0)
				break;
			e = soerr != 0 ? soerr : errno;
		} else
			e = errno;
		close(fd);
		fd = -1;
		if (e == EINTR ||
		    (e == ETIMEDOUT && deadline && now_ms() >= deadline))
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return (fail(n, "%s port %s: %s", host, port, strerror(e)));
	n->fd = fd;
	return (0);
}

/*
 * net_loopback(n):
 * Return nonzero if ${n} is a TCP connection to a loopback address.
 */
int
net_loopback(const struct net *n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

	if (n->pid != -1 || getpeername(n->fd, (struct sockaddr *)&ss,
	    &sl) != 0)
		return (0);
	if (ss.ss_family == AF_INET)
		return ((ntohl(s4->sin_addr.s_addr) >> 24) == 127);
	if (ss.ss_family == AF_INET6)
		return (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	return (0);
}

/*
 * tlsfail(n, what):
 * Store libtls's reason for ${what} failing; return -1.
 */
static int
tlsfail(struct net *n, const char *what)
{
	const char *e = n->tls != NULL ? tls_error(n->tls) : NULL;

	if (e == NULL && n->cfg != NULL)
		e = tls_config_error(n->cfg);
	return (fail(n, "TLS %s: %s", what, e != NULL ? e : "failed"));
}

/*
 * net_tls(n, host, cafile, deadline):
 * Start TLS on ${n} and complete the handshake before ${deadline},
 * verifying the server's certificate against ${cafile} (NULL: the system
 * store) and its name against ${host}.  Return 0, or -1 (reason in
 * ${n}->err).
 */
int
net_tls(struct net *n, const char *host, const char *cafile,
    int64_t deadline)
{
	int r;

	DASSERT(n->tls == NULL && n->fd >= 0);
	if ((n->cfg = tls_config_new()) == NULL)
		return (fail(n, "TLS: out of memory"));
	if (tls_config_set_protocols(n->cfg, TLS_PROTOCOLS_DEFAULT) != 0 ||
	    (cafile != NULL && tls_config_set_ca_file(n->cfg, cafile) != 0))
		return (tlsfail(n, cafile != NULL ? cafile : "setup"));
	if ((n->tls = tls_client()) == NULL)
		return (fail(n, "TLS: out of memory"));
	if (tls_configure(n->tls, n->cfg) != 0 ||
	    tls_connect_socket(n->tls, n->fd, host) != 0)
		return (tlsfail(n, "setup"));
	while ((r = tls_handshake(n->tls)) != 0) {
		if (r != TLS_WANT_POLLIN && r != TLS_WANT_POLLOUT)
			return (tlsfail(n, "handshake"));
		if (waitfd(n->fd, r == TLS_WANT_POLLIN ? POLLIN : POLLOUT,
		    deadline) != 0)
			return (fail(n, "TLS handshake: %s", strerror(errno)));
	}
	return (0);
}

/*
 * net_read(n, p, size):
 * Read at most ${size} bytes into ${p}.  Return the number read, 0 at end
 * of file, NET_WANT, or -1 (reason in ${n}->err).
 */
ssize_t
net_read(struct net *n, void *p, size_t size)
{
	ssize_t r;

	n->rd_ev = POLLIN;
	if (n->tls != NULL) {
		r = tls_read(n->tls, p, size);
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			n->rd_ev = r == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
			return (NET_WANT);
		}
		if (r < 0)
			return (tlsfail(n, "read"));
		return (r);
	}
	r = read(n->fd, p, size);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return (NET_WANT);
	if (r < 0 && errno == ECONNRESET)
		return (0);
	if (r < 0)
		return (fail(n, "read: %s", strerror(errno)));
	return (r);
}

/*
 * net_write(n, p, len):
 * Write at most ${len} bytes from ${p}.  Return the number written,
 * NET_WANT, or -1 (reason in ${n}->err).
 */
ssize_t
net_write(struct net *n, const void *p, size_t len)
{
	ssize_t r;

	n->wr_ev = POLLOUT;
	if (n->tls != NULL) {
		r = tls_write(n->tls, p, len);
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			n->wr_ev = r == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
			return (NET_WANT);
		}
		if (r < 0)
			return (tlsfail(n, "write"));
		return (r);
	}
	r = send(n->fd, p, len, MSG_NOSIGNAL);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return (NET_WANT);
	if (r < 0)
		return (fail(n, "write: %s", strerror(errno)));
	return (r);
}

/*
 * net_events(n, writing):
 * Return the poll(2) events ${n}'s descriptor waits for: what a read
 * waits for, and if ${writing}, what a write waits for.
 */
short
net_events(const struct net *n, int writing)
{
	return (n->rd_ev | (writing ? n->wr_ev : 0));
}

/*
 * net_close(n):
 * Close ${n} (TLS without waiting for the peer's close_notify); reap a
 * tunnel, which is given 5 seconds after its input closes, then SIGTERM.
 */
void
net_close(struct net *n)
{
	struct pollfd pfd;
	int64_t deadline, left;
	int st;
	pid_t r;

	if (n->tls != NULL) {
		(void)tls_close(n->tls);
		tls_free(n->tls);
	}
	if (n->cfg != NULL)
		tls_config_free(n->cfg);
	if (n->fd >= 0)
		close(n->fd);
	if (n->pid > 0) {
		/* A pidfd is readable when the tunnel exits; else back off. */
		deadline = now_ms() + 5000;
		pfd.fd = pidfd_open(n->pid, 0);
		pfd.events = POLLIN;
		while ((r = waitpid(n->pid, &st, WNOHANG)) == 0 &&
		    (left = deadline - now_ms()) > 0) {
			if (pfd.fd >= 0)
				(void)poll(&pfd, 1, (int)left);
			else
				(void)poll(NULL, 0, 10);
		}
		if (pfd.fd >= 0)
			close(pfd.fd);
		if (r == 0) {
			(void)kill(n->pid, SIGTERM);
			while (waitpid(n->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
	}
	init(n);
}
