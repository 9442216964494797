/*
 * imapexec-run's connection to the server: a preauth tunnel (a command's
 * stdin and stdout, one socket), or TCP, with TLS (libtls) from the start
 * or after STARTTLS.  Non-blocking; the caller polls net_events().
 */
#ifndef IMAPEXEC_RUN_NET_H
#define IMAPEXEC_RUN_NET_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_WANT	(-2)	/* try again when net_events() says so */

struct tls;
struct tls_config;

struct net {
	int			 fd;
	pid_t			 pid;		/* the tunnel, or -1 */
	struct tls		*tls;
	struct tls_config	*cfg;
	short			 rd_ev;		/* what a read waits for */
	short			 wr_ev;		/* what a write waits for */
	char			 err[256];	/* the last failure */
};

/*
 * net_sigint_block():
 * Block SIGINT from now on, except inside net_poll(): a ^C that comes
 * just before a wait ends the wait all the same.
 */
void	net_sigint_block(void);

/*
 * net_sigint_open(old), net_sigint_restore(old):
 * Open SIGINT for a blocking call (the mask before it in ${old}); put
 * the mask back.
 */
void	net_sigint_open(sigset_t *);
void	net_sigint_restore(const sigset_t *);

/*
 * net_poll(pfd, n, tmo):
 * poll(2) ${n} descriptors at ${pfd} for at most ${tmo} ms (-1: no
 * limit), with SIGINT open if net_sigint_block() blocked it.  Return as
 * poll(2).
 */
int	net_poll(struct pollfd *, nfds_t, int);

/*
 * net_tunnel(n, cmd):
 * Run ${cmd} with /bin/sh -c, its stdin and stdout one end of a socket
 * pair (its stderr ours, SIGINT ignored so that ^C reaches us alone).
 * Return 0, or -1 (reason in ${n}->err).
 */
int	net_tunnel(struct net *, const char *);

/*
 * net_tcp(n, host, port, deadline):
 * Connect to ${host}:${port}, each address in turn, before ${deadline}
 * (now_ms() time; 0 for none).  Return 0, or -1 (reason in ${n}->err).
 */
int	net_tcp(struct net *, const char *, const char *, int64_t);

/*
 * net_loopback(n):
 * Return nonzero if ${n} is a TCP connection to a loopback address.
 */
int	net_loopback(const struct net *);

/*
 * net_tls(n, host, cafile, deadline):
 * Start TLS on ${n} and complete the handshake before ${deadline},
 * verifying the server's certificate against ${cafile} (NULL: the system
 * store) and its name against ${host}.  Return 0, or -1 (reason in
 * ${n}->err).
 */
int	net_tls(struct net *, const char *, const char *, int64_t);

/*
 * net_read(n, p, size):
 * Read at most ${size} bytes into ${p}.  Return the number read, 0 at end
 * of file, NET_WANT, or -1 (reason in ${n}->err).
 */
ssize_t	net_read(struct net *, void *, size_t);

/*
 * net_write(n, p, len):
 * Write at most ${len} bytes from ${p}.  Return the number written,
 * NET_WANT, or -1 (reason in ${n}->err).
 */
ssize_t	net_write(struct net *, const void *, size_t);

/*
 * net_events(n, writing):
 * Return the poll(2) events ${n}'s descriptor waits for: what a read
 * waits for, and if ${writing}, what a write waits for.
 */
short	net_events(const struct net *, int);

/*
 * net_close(n):
 * Close ${n} (TLS without waiting for the peer's close_notify); reap a
 * tunnel, which is given 5 seconds after its input closes, then SIGTERM.
 */
void	net_close(struct net *);

#endif /* !IMAPEXEC_RUN_NET_H */
