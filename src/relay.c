/*
 * The relay: a poll(2) loop that moves bytes between the client, the
 * backend and imapexec's own command, through bounded buffers.  Nothing is
 * read from a peer while the buffer its bytes go to is full, so memory
 * stays bounded whatever either peer does.  Every byte of the backend is
 * relayed as it came, but for the capability edits the scanner decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "conn.h"
#include "dassert.h"
#include "log.h"
#include "relay.h"
#include "util.h"
#include "zio.h"

/* The most bytes one splice(2) moves. */
#define SPLICE_MAX		(1024 * 1024)

/* Grace given to the backend to exit once its input is closed. */
#ifndef BACKEND_GRACE_MS
#define BACKEND_GRACE_MS	10000
#endif

static int sigfd[2] = { -1, -1 };		/* self-pipe */
static volatile sig_atomic_t got_term;

/*
 * on_signal(sig):
 * Note signal ${sig} and wake up the loop.
 */
static void
on_signal(int sig)
{
	int e = errno;

	if (sig != SIGCHLD)
		got_term = sig;
	(void)write(sigfd[1], "", 1);
	errno = e;
}

/*
 * relay_signals():
 * Catch SIGCHLD, SIGTERM, SIGINT, SIGHUP and SIGQUIT (Dovecot's master
 * ends its service processes, the post-login script's too, with it)
 * through a self-pipe, and ignore SIGPIPE.  Return 0, or -1 with errno
 * set.
 */
int
relay_signals(void)
{
	struct sigaction sa;

	if (pipe2(sigfd, O_CLOEXEC | O_NONBLOCK) == -1)
		return (-1);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGQUIT, &sa, NULL) == -1)
		return (-1);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	return (sigaction(SIGPIPE, &sa, NULL));
}

/*
 * min3(a, b, c):
 * Return the smallest of ${a}, ${b} and ${c}.
 */
static size_t
min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return (m < c ? m : c);
}

/*
 * greeting_told(c):
 * Once the backend's first line has been seen, log (once) if it was not
 * PREAUTH: the session is then not authenticated (whatever follows, e.g.
 * Courier's "* PREAUTH" after an "* OK [ALERT]" line), so EXECUTE is
 * refused on this connection.
 */
static void
greeting_told(struct conn *c)
{
	if (c->greet_told || !c->scan.s_greeted || c->scan.authenticated)
		return;
	c->greet_told = 1;
	log_warnx("the backend did not greet with PREAUTH on its first line: "
	    "not authenticated, no EXECUTE on this connection");
}

/*
 * server_progress(c):
 * Scan and move what the backend sent towards the client.  Return nonzero
 * if anything moved.
 */
static int
server_progress(struct conn *c)
{
	struct scan_act act;
	size_t n, room;
	int moved = 0;

	for (;;) {
		room = c->cl_gone ? SIZE_MAX : buf_room(&c->c_out);
		if (c->s_insert != NULL) {
			if (conn_emit(c, c->s_insert, strlen(c->s_insert)))
				break;
			c->s_insert = NULL;
			moved = 1;
			continue;
		}
		if (c->s_pass > 0) {
			if ((n = min3(c->s_pass, c->b_in.len, room)) == 0)
				break;
			(void)conn_emit(c, buf_head(&c->b_in), n);
			buf_consume(&c->b_in, n);
			c->s_pass -= n;
			moved = 1;
			continue;
		}
		/* During an own command, hold the backend between lines
		 * (but for its answer to the probe). */
		if (c->cmd != NULL && !command_probing(c) &&
		    scan_server_at_line(&c->scan))
			break;
		if (c->b_in.len == 0)
			break;
		scan_server(&c->scan, buf_head(&c->b_in), c->b_in.len,
		    c->be_eof, &act);
		greeting_told(c);
		switch (act.op) {
		case SCAN_PASS:
			/*
			 * The rest of a literal's octets is passed at once,
			 * read or not: backend_io() may splice it.
			 */
			c->s_pass = act.n + scan_server_take_literal(&c->scan);
			break;
		case SCAN_DROP:
			buf_consume(&c->b_in, act.n);
			break;
		case SCAN_INSERT:
			c->s_insert = act.text;
			break;
		default:
			return (moved);
		}
		moved = 1;
	}
	return (moved);
}

/*
 * client_progress(c):
 * Scan what the client sent: move commands for the backend towards it and
 * hand imapexec's own commands to command.c.  Return nonzero if anything
 * moved.
 */
static int
client_progress(struct conn *c)
{
	struct scan_act act;
	size_t n, room;
	int moved = 0;

	for (;;) {
		room = c->be.in < 0 ? SIZE_MAX : buf_room(&c->b_out);
		if (c->c_pass > 0) {
			if ((n = min3(c->c_pass, c->c_in.len, room)) == 0)
				break;
			if (c->be.in >= 0)
				(void)buf_add(&c->b_out, buf_head(&c->c_in), n);
			buf_consume(&c->c_in, n);
			c->c_pass -= n;
			moved = 1;
			continue;
		}
		if (c->closing) {
			moved |= c->c_in.len > 0;
			buf_consume(&c->c_in, c->c_in.len);
			break;
		}
		if (c->cmd != NULL && !command_reading(c))
			break;
		scan_client(&c->scan, buf_head(&c->c_in), c->c_in.len,
		    c->cl_eof, &act);
		switch (act.op) {
		case SCAN_PASS:
			c->c_pass = act.n;
			break;
		case SCAN_CLOSE:
			if (!conn_can_emit(c) ||
			    conn_emit(c, act.text, strlen(act.text)) == -1)
				return (moved);
			log_info("Disconnected: %s", "command tag too long");
			c->closing = 1;
			break;
		case SCAN_COMMAND:
			if (command_begin(c, act.cmd, buf_head(&c->c_in),
			    act.n, act.taglen) == -1) {
				log_warn("own command");
				c->closing = 1;
				break;
			}
			buf_consume(&c->c_in, act.n);
			break;
		case SCAN_TEXT:
		case SCAN_LITERAL:
		case SCAN_DATA:
		case SCAN_END:
			command_feed(c, &act, buf_head(&c->c_in));
			buf_consume(&c->c_in, act.n);
			break;
		default:
			return (moved);
		}
		moved = 1;
	}
	return (moved);
}

/*
 * backend_stderr(c):
 * Read what the backend wrote to stderr and log it line by line.
 */
static void
backend_stderr(struct conn *c)
{
	char buf[4096], esc[4 * sizeof(c->errline) + 4];
	ssize_t n, i;

	n = read(c->be.err, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->errlen > 0)
			log_info("backend: %s", log_esc(esc, sizeof(esc),
			    c->errline, c->errlen));
		c->errlen = 0;
		close_fd(&c->be.err);
		return;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] != '\n' && c->errlen < sizeof(c->errline))
			c->errline[c->errlen++] = buf[i];
		if (buf[i] == '\n' || c->errlen == sizeof(c->errline)) {
			log_info("backend: %s", log_esc(esc, sizeof(esc),
			    c->errline, c->errlen));
			c->errlen = 0;
		}
	}
}

/*
 * backend_close_in(c):
 * Close the backend's input.  In post-login mode be.in and be.out are
 * one socket to imap: shut it down for writing first, or imap would not
 * see the end while be.out stays open.
 */
static void
backend_close_in(struct conn *c)
{
	if (c->be_sock && c->be.in >= 0)
		(void)shutdown(c->be.in, SHUT_WR);
	close_fd(&c->be.in);
}

/*
 * client_gone(c, what):
 * The client cannot be written to any more (${what} failed): drop its
 * output, stop reading it and close the backend's input.
 */
static void
client_gone(struct conn *c, const char *what)
{
	if (!c->cl_gone)
		log_info("Disconnected: %s: %s", what, strerror(errno));
	c->cl_gone = c->cl_eof = 1;
	buf_consume(&c->c_out, c->c_out.len);
	buf_consume(&c->c_in, c->c_in.len);
	if (c->z != NULL)
		zio_drop(c->z);
	c->c_pass = 0;
	if (c->cmd != NULL)
		command_abort(c);
}

/*
 * reap(c):
 * Collect every child that has ended.
 */
static void
reap(struct conn *c)
{
	siginfo_t si;
	int status;
	pid_t pid;

	for (;;) {
		/*
		 * Look before reaping: while an own command's program is a
		 * zombie its pid, the id of its process group, cannot be
		 * reused, so what is left of the group can be killed safely.
		 */
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid <= 0)
			break;
		if (si.si_pid != c->be.pid)
			command_exiting(c, si.si_pid);
		while ((pid = waitpid(si.si_pid, &status, 0)) == -1 &&
		    errno == EINTR)
			;
		if (pid != si.si_pid)
			break;
		if (pid == c->be.pid) {
			c->be_status = status;
			c->be.pid = -1;
		} else
			(void)command_reaped(c, pid, status);
	}
}

/*
 * bye_ready(c):
 * Return nonzero if the BYE for a corrupt compressed stream is owed and
 * may go out now: between two lines of the backend's output (or after the
 * last), with no own command running.
 */
static int
bye_ready(const struct conn *c)
{
	return (c->z != NULL && c->z->corrupt && !c->z->told &&
	    !c->cl_gone && c->cmd == NULL && (conn_can_emit(c) ||
	    (c->be_eof && c->b_in.len == 0)));
}

#define ZIO_BYE	"* BYE Compressed stream is corrupt\r\n"

/*
 * zio_progress(c):
 * With COMPRESS on, inflate what the client sent into c_in and deflate
 * c_out towards it; a corrupt stream counts as the client's end of file
 * and is answered with a BYE.  Return nonzero if anything moved.
 */
static int
zio_progress(struct conn *c)
{
	struct zio *z = c->z;
	int moved;

	if (z == NULL)
		return (0);
	moved = zio_inflate(z, &c->c_in);
	if (!c->cl_eof && zio_in_drained(z)) {
		if (z->corrupt)
			log_info("Disconnected: %s",
			    "corrupt compressed stream");
		c->cl_eof = 1;
		moved = 1;
	}
	if (bye_ready(c) && conn_emit(c, ZIO_BYE, strlen(ZIO_BYE)) == 0) {
		z->told = 1;
		moved = 1;
	}
	if (!c->cl_gone)
		moved |= zio_deflate(z, &c->c_out);
	return (moved);
}

/*
 * progress(c):
 * Move everything that can move without I/O, and close the backend's input
 * once nothing more will go there.
 */
static void
progress(struct conn *c)
{
	int moved;

	do {
		do {
			moved = server_progress(c);
			moved |= client_progress(c);
			if (c->cmd != NULL)
				moved |= command_step(c);
			moved |= zio_progress(c);
		} while (moved);
		command_tell_failed(c);

		/*
		 * The client hung up in the middle of an own command's line
		 * (in a literal, say): that command can never end, so drop
		 * it.  Once it is gone, the backend is no longer held: move
		 * again, so that nothing movable is left (see relay_run()).
		 */
		if (c->cmd != NULL && c->cl_eof && c->c_in.len == 0 &&
		    command_reading(c)) {
			command_abort(c);
			moved = c->cmd == NULL;
		}
	} while (moved);

	if (c->be.in >= 0 && c->b_out.len == 0 && c->cmd == NULL &&
	    (c->closing || (c->cl_eof && c->c_in.len == 0)))
		backend_close_in(c);
	/*
	 * The backend's output has ended: it can never answer again, so its
	 * input is closed too, and relay_run() gives it its grace to exit
	 * (a backend running on without output would hold the client for
	 * good).
	 */
	if (c->be.in >= 0 && c->be_eof && c->cmd == NULL) {
		buf_consume(&c->b_out, c->b_out.len);
		backend_close_in(c);
	}
}

/*
 * could_move(c):
 * Return nonzero if progress() would move a byte of ${c}, or close the
 * backend's input, without any I/O.  Pure: the scanners run on a copy of
 * their state.  While an own command runs, only the byte moves that do
 * not involve it are judged.  For the debug check before poll(2).
 */
static int
could_move(const struct conn *c)
{
	struct scan st;
	struct scan_act act;
	size_t room = c->cl_gone ? SIZE_MAX : buf_room(&c->c_out);
	size_t broom = c->be.in < 0 ? SIZE_MAX : buf_room(&c->b_out);

	/* Backend to client: as server_progress(). */
	if (c->s_insert != NULL) {
		if (strlen(c->s_insert) <= room || c->cl_gone)
			return (1);
	} else if (c->s_pass > 0) {
		if (c->b_in.len > 0 && room > 0)
			return (1);
	} else if (c->b_in.len > 0 &&
	    !(c->cmd != NULL && scan_server_at_line(&c->scan))) {
		st = c->scan;
		scan_server(&st, buf_head(&c->b_in), c->b_in.len, c->be_eof,
		    &act);
		if (act.op != SCAN_MORE)
			return (1);
	}

	/* Client to backend: as client_progress(). */
	if (c->c_pass > 0) {
		if (c->c_in.len > 0 && broom > 0)
			return (1);
	} else if (c->closing) {
		if (c->c_in.len > 0)
			return (1);
	} else if (c->cmd == NULL) {
		st = c->scan;
		scan_client(&st, buf_head(&c->c_in), c->c_in.len, c->cl_eof,
		    &act);
		switch (act.op) {
		case SCAN_MORE:
		case SCAN_WAIT:
			break;
		case SCAN_CLOSE:
			if (conn_can_emit(c) &&
			    strlen(act.text) <= buf_room(&c->c_out))
				return (1);
			break;
		default:
			return (1);
		}
	}

	/* The compression layer: as zio_progress(). */
	if (c->z != NULL && (zio_could_inflate(c->z, &c->c_in) ||
	    (!c->cl_eof && zio_in_drained(c->z)) ||
	    (bye_ready(c) && strlen(ZIO_BYE) <= room) ||
	    (!c->cl_gone && zio_could_deflate(c->z, &c->c_out))))
		return (1);

	/* The end of the backend's input: as progress(). */
	return (c->be.in >= 0 && c->cmd == NULL && (c->be_eof ||
	    (c->b_out.len == 0 &&
	    (c->closing || (c->cl_eof && c->c_in.len == 0)))));
}

/*
 * finished(c):
 * Return nonzero once the session is over: the backend has exited, its
 * output has been delivered and no own command remains.
 */
static int
finished(const struct conn *c)
{
	return (c->be_eof && c->be.pid == -1 && c->b_in.len == 0 &&
	    c->cmd == NULL && (c->cl_gone || (c->c_out.len == 0 &&
	    (c->z == NULL || (zio_out_done(c->z) && !bye_ready(c))))));
}

/*
 * add_pfd(pfd, n, fd, events):
 * Add ${events} for ${fd} to ${pfd}[0..*${n}), merging with an entry for
 * the same descriptor.  Return the index used.
 */
static int
add_pfd(struct pollfd *pfd, int *n, int fd, short events)
{
	int i;

	for (i = 0; i < *n; i++)
		if (pfd[i].fd == fd) {
			pfd[i].events |= events;
			return (i);
		}
	pfd[*n].fd = fd;
	pfd[*n].events = events;
	pfd[*n].revents = 0;
	return ((*n)++);
}

/*
 * wire_in(c), wire_out(c), wire_eof(c):
 * The buffers read from and written to the client's descriptors: c_in and
 * c_out, or with COMPRESS on the compressed ones of the layer between; and
 * whether the client's descriptor is at end of file (or no longer read).
 */
static struct buf *
wire_in(struct conn *c)
{
	return (c->z != NULL ? &c->z->zin : &c->c_in);
}

static struct buf *
wire_out(struct conn *c)
{
	return (c->z != NULL ? &c->z->zout : &c->c_out);
}

static int
wire_eof(const struct conn *c)
{
	return (c->cl_eof || (c->z != NULL && c->z->in_eof));
}

/*
 * client_io(c, rev_in, rev_out):
 * Read from and write to the client as poll(2) allows.
 */
static void
client_io(struct conn *c, short rev_in, short rev_out)
{
	struct buf *in = wire_in(c), *out = wire_out(c);
	ssize_t n, got = 0;

	if ((rev_out & (POLLOUT | POLLERR | POLLHUP)) && out->len > 0) {
		n = buf_write(out, c->cl_out);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			client_gone(c, "write");
	}
	if ((rev_in & (POLLIN | POLLERR | POLLHUP)) && !wire_eof(c) &&
	    buf_room(in) > 0) {
		got = n = buf_read(in, c->cl_in);
		if (n == 0 && c->z != NULL)
			c->z->in_eof = 1;	/* c_in ends once inflated */
		else if (n == 0)
			c->cl_eof = 1;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			client_gone(c, "read");
	}
	/*
	 * Nothing to write, but the client's output is hung up: a pipe
	 * without reader (POLLERR) or a socket shut down both ways (POLLHUP).
	 * Nothing can reach the client any more.  What it sent before is
	 * still read first (the hang-up stays reported, so this comes back).
	 */
	if ((rev_out & (POLLERR | POLLHUP)) && !c->cl_gone &&
	    out->len == 0 && got <= 0) {
		errno = EPIPE;
		client_gone(c, "hang-up");
	}
}

/*
 * splice_through(c):
 * Move backend bytes that the scanner has already passed (the rest of a
 * literal's octets, see server_progress()) straight to the client with
 * splice(2), when nothing is queued before them, so that they never cross
 * user space.  Return the number of bytes moved, 0 if it does not apply or
 * would block, or -1 if the kernel refuses these descriptors (then the
 * bytes go through b_in and c_out from now on).
 */
static ssize_t
splice_through(struct conn *c)
{
	ssize_t n, moved = 0;
	size_t len;
	int i;

	/* With COMPRESS on, every byte must go through deflate. */
	if (c->nosplice || c->z != NULL || c->s_pass == 0 || c->b_in.len > 0 ||
	    c->c_out.len > 0 || c->s_insert != NULL || c->cl_gone)
		return (0);
	/* A few rounds: one splice(2) moves at most a pipe's worth. */
	for (i = 0; i < 16 && c->s_pass > 0; i++) {
		len = c->s_pass < SPLICE_MAX ? c->s_pass : SPLICE_MAX;
		n = splice(c->be.out, NULL, c->cl_out, NULL, len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				c->nosplice = 1;  /* not on these fds */
				if (moved == 0)
					moved = -1;
			}
			break;
		}
		c->s_pass -= (size_t)n;
		moved += n;
		if ((size_t)n < len)
			break;	/* the pipe is drained (or the client full) */
	}
	return (moved);
}

/*
 * backend_io(c, rev_in, rev_out):
 * Read from and write to the backend as poll(2) allows.
 */
static void
backend_io(struct conn *c, short rev_in, short rev_out)
{
	ssize_t n;

	if ((rev_out & (POLLOUT | POLLERR | POLLHUP)) && c->be.in >= 0 &&
	    c->b_out.len > 0) {
		n = buf_write(&c->b_out, c->be.in);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			if (errno != EPIPE)
				log_warn("backend write");
			buf_consume(&c->b_out, c->b_out.len);
			backend_close_in(c);
		}
	}
	if ((rev_in & (POLLIN | POLLERR | POLLHUP)) && !c->be_eof &&
	    buf_room(&c->b_in) > 0) {
		c->held = 0;	/* the backend speaks: see watch_held() */
		if (splice_through(c) > 0)
			return;
		n = buf_read(&c->b_in, c->be.out);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			if (n == -1)
				log_warn("backend read");
			c->be_eof = 1;
			close_fd(&c->be.out);
		}
	}
}

/*
 * client_held(c):
 * Return nonzero if the scanner holds the client of ${c} until the backend
 * answers (and nothing else stops its bytes).  Pure, as could_move().
 */
static int
client_held(const struct conn *c)
{
	struct scan st;
	struct scan_act act;

	if (c->cmd != NULL || c->c_pass > 0 || c->closing)
		return (0);
	st = c->scan;
	scan_client(&st, buf_head(&c->c_in), c->c_in.len, c->cl_eof, &act);
	return (act.op == SCAN_WAIT);
}

/*
 * watch_held(c, now):
 * A client held for an answer the backend does not send while it waits
 * for the client's next bytes is a deadlock: that is what a backend
 * inside a literal or line imapexec did not see looks like (post-login
 * mode: the head of an APPEND read by imap-login, the tail taken for
 * commands).  So when the client of ${c} has been held for probe_timeout
 * with nothing from the backend, fail closed: from then on the client is
 * never held (scan_client.c).  Return the milliseconds until that is
 * due, or -1.
 */
static int
watch_held(struct conn *c, int64_t now)
{
	int64_t left;

	if (!client_held(c)) {
		c->held = 0;
		return (-1);
	}
	if (!c->held) {
		c->held = 1;
		c->held_since = now;
	}
	left = c->held_since + (int64_t)c->cf->probe_timeout * 1000 - now;
	if (left > 0)
		return (left > INT32_MAX ? INT32_MAX : (int)left);
	scan_fail(&c->scan, "the client was held for probe_timeout and the "
	    "backend said nothing");
	c->held = 0;
	return (0);
}

/* The descriptors of one poll(2), and each one's entry (-1: none). */
struct pollset {
	struct pollfd	 pfd[16];
	int		 n;
	int		 sp;		/* the self-pipe */
	int		 ci, co;	/* the client's input and output */
	int		 bi, bo, be;	/* the backend's stdin, stdout, stderr */
	int		 cmd;		/* the own command's first */
};

/*
 * take_signal(c, termed):
 * On the first signal to end (*${termed} is 0 until then), end the
 * session of ${c}: the client is dropped, the backend's input closed and
 * the backend told to end with SIGTERM.
 */
static void
take_signal(struct conn *c, int *termed)
{
	if (!got_term || *termed)
		return;
	log_info("Disconnected: signal=<%d>", (int)got_term);
	*termed = 1;
	c->closing = 1;
	c->cl_gone = 1;
	client_gone(c, "signal");
	backend_close_in(c);
	if (c->be.pid > 0)
		(void)kill(c->be.pid, SIGTERM);
}

/*
 * settle(c, termed):
 * Move all of ${c} that can move without waiting: progress(), the writes
 * at once, a signal to end (see take_signal()), and progress() again for
 * what the writes made room for.  After it nothing can move but by I/O
 * that poll(2) reports, or a timeout.
 */
static void
settle(struct conn *c, int *termed)
{
	progress(c);
	/*
	 * Write at once what is ready rather than wait for poll(2) to say
	 * so: a round trip then costs one poll, not two.
	 */
	client_io(c, 0, POLLOUT);
	backend_io(c, 0, POLLOUT);
	take_signal(c, termed);
	/* The writes made room: move what fits now. */
	progress(c);
}

/*
 * backend_grace(c, now, deadline):
 * A backend whose client or output is gone has BACKEND_GRACE_MS to exit,
 * counted from ${now} into *${deadline} (-1 until then); a child that
 * does not is killed (and given as long again to be reaped).  In
 * post-login mode imap is no child of ours: stop reading it instead.
 * Return nonzero if that was done (the session changed: go round again).
 */
static int
backend_grace(struct conn *c, int64_t now, int64_t *deadline)
{
	if ((c->cl_gone || (c->be_eof && c->be.in < 0)) && *deadline < 0 &&
	    (c->be.pid > 0 || (c->be_sock && !c->be_eof)))
		*deadline = now + BACKEND_GRACE_MS;
	if (*deadline >= 0 && now >= *deadline && c->be.pid > 0) {
		log_warnx("backend did not exit; killing it");
		(void)kill(c->be.pid, SIGKILL);
		*deadline = now + BACKEND_GRACE_MS;
	}
	if (*deadline >= 0 && now >= *deadline && c->be_sock && !c->be_eof) {
		log_warnx("imap did not close the connection; closing it");
		c->be_eof = 1;
		close_fd(&c->be.out);
		return (1);
	}
	return (0);
}

/*
 * watch_fds(c, ps):
 * Fill ${ps} with what to wait for: the self-pipe, the client's and the
 * backend's descriptors where their buffers let bytes move, and the own
 * command's.
 */
static void
watch_fds(struct conn *c, struct pollset *ps)
{
	struct pollfd *pfd = ps->pfd;
	int n = 0;

	ps->sp = add_pfd(pfd, &n, sigfd[0], POLLIN);
	ps->ci = ps->co = ps->bi = ps->bo = ps->be = -1;
	if (!wire_eof(c) && buf_room(wire_in(c)) > 0)
		ps->ci = add_pfd(pfd, &n, c->cl_in, POLLIN);
	/*
	 * The client's output is polled even with nothing to write: its
	 * hang-up (POLLERR, POLLHUP) must end a session that waits for
	 * nothing else (issue 10).
	 */
	if (!c->cl_gone)
		ps->co = add_pfd(pfd, &n, c->cl_out,
		    wire_out(c)->len > 0 ? POLLOUT : 0);
	if (c->be.in >= 0 && c->b_out.len > 0)
		ps->bi = add_pfd(pfd, &n, c->be.in, POLLOUT);
	if (c->be.out >= 0 && buf_room(&c->b_in) > 0)
		ps->bo = add_pfd(pfd, &n, c->be.out, POLLIN);
	if (c->be.err >= 0)
		ps->be = add_pfd(pfd, &n, c->be.err, POLLIN);
	ps->cmd = n;
	if (c->cmd != NULL)
		n += command_pollfds(c, pfd + n,
		    (int)(sizeof(ps->pfd) / sizeof(ps->pfd[0])) - n);
	ps->n = n;
}

/*
 * sooner(a, b):
 * Return the sooner of the timeouts ${a} and ${b} (milliseconds, or -1
 * for none).
 */
static int
sooner(int a, int b)
{
	return (b >= 0 && (a < 0 || b < a) ? b : a);
}

/*
 * wait_timeout(c, now, deadline):
 * Return poll(2)'s timeout from ${now}: until ${deadline} (-1: none) or
 * the own command's next deadline, whichever comes first; -1 for none.
 */
static int
wait_timeout(struct conn *c, int64_t now, int64_t deadline)
{
	int timeout;

	timeout = deadline < 0 ? -1 :
	    deadline > now ? (int)(deadline - now) : 0;
	if (c->cmd != NULL)
		timeout = sooner(timeout, command_timeout(c));
	return (timeout);
}

/*
 * dispatch(c, ps):
 * Act on what poll(2) reported in ${ps}: a signal (reap the children
 * that ended), the client's and the backend's I/O, the backend's stderr,
 * and the own command's descriptors.
 */
static void
dispatch(struct conn *c, const struct pollset *ps)
{
	const struct pollfd *pfd = ps->pfd;
	char drain[64];

	if (pfd[ps->sp].revents) {
		while (read(sigfd[0], drain, sizeof(drain)) > 0)
			;
		reap(c);
	}
	if (ps->ci >= 0 || ps->co >= 0)
		client_io(c, ps->ci >= 0 ? pfd[ps->ci].revents : 0,
		    ps->co >= 0 ? pfd[ps->co].revents : 0);
	if (ps->bi >= 0 || ps->bo >= 0)
		backend_io(c, ps->bo >= 0 ? pfd[ps->bo].revents : 0,
		    ps->bi >= 0 ? pfd[ps->bi].revents : 0);
	if (ps->be >= 0 && pfd[ps->be].revents)
		backend_stderr(c);
	if (c->cmd != NULL && ps->n > ps->cmd)
		command_events(c, pfd + ps->cmd, ps->n - ps->cmd);
	else if (c->cmd != NULL)
		command_events(c, NULL, 0);
}

/*
 * relay_run(c):
 * Relay between the client and the backend of ${c} until the backend has
 * exited and its output has been delivered (or the client is gone).
 * Return the exit status for imapexec: the backend's.
 */
int
relay_run(struct conn *c)
{
	struct pollset ps;
	int64_t deadline = -1, now;
	int held, timeout;
	int termed = 0;

	/*
	 * The invariant of this loop: poll(2) never blocks while a byte could
	 * move without I/O.  settle() moves all it can; everything else that
	 * changes the buffers without waiting (the writes at once, a signal's
	 * client_gone()) comes before its last progress(), and only I/O that
	 * poll(2) reported, or a timeout, comes after it; what changes the
	 * session in between (backend_grace() closing imap's socket,
	 * watch_held() failing closed) goes round again first.  could_move()
	 * checks it in debug builds.  (imapexec 0.1.0 wrote at once after
	 * its only progress(): c_out drained while b_in stayed full, and
	 * neither was polled.)
	 */
	for (;;) {
		settle(c, &termed);
		if (finished(c))
			break;
		now = now_ms();
		if (backend_grace(c, now, &deadline))
			continue;
		watch_fds(c, &ps);
		timeout = wait_timeout(c, now, deadline);
		if ((held = watch_held(c, now)) == 0)
			continue;	/* failed closed: the client moves */
		timeout = sooner(timeout, held);

		DASSERT(!could_move(c));
		if (poll(ps.pfd, (nfds_t)ps.n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		dispatch(c, &ps);
	}

	close_fd(&sigfd[0]);
	close_fd(&sigfd[1]);
	if (WIFSIGNALED(c->be_status))
		return (128 + WTERMSIG(c->be_status));
	return (WEXITSTATUS(c->be_status));
}
