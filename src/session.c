/*
 * A running EXECUTE: the program, its input and output framed as IMAP,
 * its limits, and its result.
 *
 * Output is relayed as untagged responses:
 *   * EXECUTE (TAG "t") OUT "a line"       a line, its end of line implied
 *   * EXECUTE (TAG "t") OUT {n}            n octets exactly (partial line,
 *   * EXECUTE (TAG "t") OUT ~{n}           CR, 8-bit; ~ when NUL is in it)
 * and ERR likewise for stderr (when the service sends it to the client).
 * The program's end is "* EXECUTE (TAG "t") EXIT n" or "... SIGNAL SIGx";
 * the tagged response follows once the client has said DONE or CANCEL (an
 * interactive service) or at once (a one-shot one).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "dassert.h"
#include "env.h"
#include "log.h"
#include "session.h"
#include "sock.h"
#include "spawn.h"
#include "util.h"
#include "xinput.h"

#define OBUF_SZ		16384		/* program output held per stream */
#define IBUF_SZ		(64 * 1024)	/* program input held */
#define QUOTED_MAX	4096		/* longest line sent quoted */
#define FLUSH_MS	100		/* a partial line waits this long */
#define KILL_GRACE_MS	2000		/* from SIGTERM to SIGKILL */
#define CONNECT_MS	10000		/* to connect to a socket service */
#define LOG_CHUNK	200		/* stderr bytes in one log line */
#define LOG_ERR_MAX	(64 * 1024)	/* stderr bytes logged per command */
#define LOG_ERR_LINES	1024		/* stderr lines logged per command */
#define LOG_TAG_MAX	200		/* a tag as logged, escaped */
#define ROLE_CONNECT	2		/* pollfd role: the connect under way */

enum { S_OUT = 0, S_ERR = 1 };
enum stop {
	STOP_NONE = 0,
	STOP_CANCELED,		/* CANCEL, or the client closed its input */
	STOP_LIMIT,		/* a timeout or a size limit */
	STOP_BROKEN,		/* the service's socket failed */
	STOP_UNREACHED,		/* the service's socket never connected */
	STOP_GONE		/* the client is gone */
};

struct stream {
	int		 fd;
	int		 eof;
	size_t		 len;
	int64_t		 flush_at;	/* when a partial line goes out */
	uint8_t		 buf[OBUF_SZ];
};

struct session {
	const struct service *sv;
	const char	*tag;
	pid_t		 pid;		/* also the process group, or -1 */
	int		 sock;		/* a socket service's socket, or -1 */
	int		 connecting;	/* sock's connect is under way */
	size_t		 addr;		/* the address being tried */
	int64_t		 try_until;	/* give up on this address */
	int64_t		 connect_by;	/* give up on every address */
	int		 status;
	int		 exited;	/* reaped (or the socket closed): from
					   then on no signal goes to pid */
	int		 in;		/* the program's stdin, or the socket */
	int		 role[3];	/* what each pollfd entry is for */
	struct stream	 st[2];
	struct buf	 ibuf;		/* bytes for the program's stdin */
	const uint8_t	*input;		/* one-shot input not yet in ibuf */
	size_t		 inputlen;
	int		 interactive;
	int		 greeted;	/* the "+" has been sent */
	int		 client_done;	/* DONE or CANCEL seen, or one-shot */
	int		 close_in;	/* close stdin once ibuf is empty */
	int		 want_plus;	/* a synchronizing literal waits */
	int		 reported;	/* EXIT or SIGNAL has been sent */
	enum stop	 stop;
	const char	*stopwhy;
	int		 termed;	/* SIGTERM has been sent */
	int64_t		 started;
	int64_t		 deadline;	/* the wall timeout */
	int64_t		 idle_at;	/* the idle timeout */
	int64_t		 kill_at;	/* SIGKILL after SIGTERM */
	uint64_t	 nin;
	uint64_t	 nout;
	uint64_t	 nlogged;	/* stderr bytes sent to the log */
	uint64_t	 nloglines;	/* stderr lines sent to the log */
	char		 ltag[LOG_TAG_MAX];	/* the tag, escaped for logs */
	struct xinput	 xin;
};

/*
 * touch(s):
 * Note activity: push the idle deadline of ${s} back.
 */
static void
touch(struct session *s)
{
	if (s->sv->idle_timeout > 0)
		s->idle_at = now_ms() + (int64_t)s->sv->idle_timeout * 1000;
}

/*
 * sig_name(sig):
 * Return the name of signal ${sig}, as "SIGSEGV".
 */
static const char *
sig_name(int sig)
{
	static char name[32];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev == NULL)
		(void)snprintf(name, sizeof(name), "SIG%d", sig);
	else
		(void)snprintf(name, sizeof(name), "SIG%s", abbrev);
	return (name);
}

/*
 * signal_group(s, sig):
 * Send ${sig} to the process group of ${s}'s program, if it has one and
 * its leader has not been reaped: the leader's pid is the group's id, and
 * once it is reaped both may belong to someone else.
 */
static void
signal_group(const struct session *s, int sig)
{
	if (s->pid > 0 && !s->exited)
		(void)kill(-s->pid, sig);
}

/*
 * close_input(s):
 * End the program's input: close its stdin, or half-close the socket.
 */
static void
close_input(struct session *s)
{
	if (s->in < 0)
		return;
	if (s->sock >= 0) {
		(void)shutdown(s->sock, SHUT_WR);
		s->in = -1;
	} else
		close_fd(&s->in);
}

/*
 * connected(s):
 * The socket of ${s} is connected: it is the service's input and output.
 */
static void
connected(struct session *s)
{
	DASSERT(s->sock >= 0);
	s->connecting = 0;
	s->in = s->st[S_OUT].fd = s->sock;
}

/*
 * unreached(s, give_up):
 * No address of ${s}'s service can be connected now (if ${give_up}), or
 * the command ends before one is: the service ends without having run,
 * with NO [UNAVAILABLE] if ${give_up}.  No EXIT or SIGNAL line is sent.
 */
static void
unreached(struct session *s, int give_up)
{
	close_fd(&s->sock);
	s->connecting = 0;
	if (give_up && s->stop == STOP_NONE) {
		s->stop = STOP_UNREACHED;
		s->stopwhy = "The service is not available now";
	}
	/* The client never got the "+": it cannot say DONE. */
	s->client_done = 1;
	s->exited = 1;
	s->status = 0;
	s->reported = 1;
	s->st[S_OUT].eof = s->st[S_ERR].eof = 1;
}

/*
 * try_connect(s, failed):
 * Give up on the address of ${s} being tried if ${failed} (errno says
 * why), and start connecting to the next one that does not fail at
 * once.  Each address gets an equal share of the time left until the
 * command's one connect deadline.  Return 0 if a connect is under way or
 * done, -1 if no address is left.
 */
static int
try_connect(struct session *s, int failed)
{
	const struct service *sv = s->sv;
	int64_t now;
	int done;

	if (failed) {
		log_warn("execute: service=<%s>: connect=<%s>", sv->name,
		    sv->addrs[s->addr].text);
		close_fd(&s->sock);
		s->addr++;
	}
	for (; s->addr < sv->naddrs; s->addr++) {
		if ((s->sock = sock_start(&sv->addrs[s->addr], &done)) == -1) {
			log_warn("execute: service=<%s>: connect=<%s>",
			    sv->name, sv->addrs[s->addr].text);
			continue;
		}
		s->connecting = 1;
		if (done) {
			connected(s);
			return (0);
		}
		now = now_ms();
		s->try_until = now + (s->connect_by - now) /
		    (int64_t)(sv->naddrs - s->addr);
		return (0);
	}
	s->connecting = 0;
	return (-1);
}

/*
 * connect_events(s, revents, now):
 * Move the connect of ${s} on: ${revents} from poll(2) on its socket,
 * then the deadline of the address being tried at time ${now}.
 */
static void
connect_events(struct session *s, short revents, int64_t now)
{
	int failed = 0;

	if (revents != 0) {
		if (sock_finish(s->sock) == 0) {
			connected(s);
			return;
		}
		failed = 1;
	} else if (now >= s->try_until) {
		errno = ETIMEDOUT;
		failed = 1;
	}
	if (failed && try_connect(s, 1) == -1)
		unreached(s, 1);
}

/*
 * halt(s, why, reason):
 * Stop the program of ${s} for ${why}: SIGTERM to its process group now,
 * SIGKILL after a grace period.  The first reason given is kept.
 */
static void
halt(struct session *s, enum stop why, const char *reason)
{
	if (s->stop == STOP_NONE) {
		s->stop = why;
		s->stopwhy = reason;
	}
	if (s->connecting)
		unreached(s, 0);
	close_input(s);
	buf_consume(&s->ibuf, s->ibuf.len);
	s->input = NULL;
	if (s->termed)
		return;
	s->termed = 1;
	if (s->sock >= 0)
		(void)shutdown(s->sock, SHUT_RDWR);
	signal_group(s, SIGTERM);
	s->kill_at = now_ms() + (why == STOP_GONE ? 0 : KILL_GRACE_MS);
}

/*
 * session_start(c, sv, tag, argv, input, inputlen, interactive, why):
 * Start service ${sv} for the command tagged ${tag} with the NULL-terminated
 * client arguments ${argv}, the program's stdin being the ${inputlen} bytes
 * at ${input} (if not NULL) or the client's lines if ${interactive}.
 * Return the session, or NULL with a reason in ${why} (the program could
 * not be started).
 */
struct session *
session_start(struct conn *c, const struct service *sv, const char *tag,
    char *const *argv, const uint8_t *input, size_t inputlen,
    int interactive, const char **why)
{
	static const int res[RL_COUNT] = { RLIMIT_CPU, RLIMIT_AS,
	    RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_FSIZE };
	struct session *s;
	struct spawn_req req;
	struct spawn_proc proc;
	struct rlimit cur;
	struct env e = { NULL, 0 };
	char **av = NULL;
	int lres[RL_COUNT];
	rlim_t lval[RL_COUNT];
	char hesc[256];
	size_t i, n, na;

	*why = "Cannot start the service";
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->sv = sv;
	s->tag = tag;
	s->pid = -1;
	s->in = s->sock = s->st[0].fd = s->st[1].fd = -1;
	if (buf_init(&s->ibuf, IBUF_SZ) == -1)
		goto fail;
	if (sv->connect != NULL) {
		/*
		 * One deadline for the whole connect, from now; the poll
		 * loop drives it (session_pollfds(), session_events()).
		 */
		DASSERT(sv->naddrs >= 1 && sv->addrs != NULL);
		s->connect_by = now_ms() + (sv->timeout > 0 &&
		    sv->timeout * 1000LL < CONNECT_MS ? sv->timeout * 1000LL :
		    CONNECT_MS);
		if (try_connect(s, 0) == -1) {
			*why = "The service is not available now";
			goto fail;
		}
		s->st[S_ERR].eof = 1;
		goto started;
	}

	for (n = 0; sv->exec[n] != NULL; n++)
		;
	for (na = 0; argv[na] != NULL; na++)
		;
	if ((av = reallocarray(NULL, n + na + 1, sizeof(*av))) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		av[i] = sv->exec[i];
	for (i = 0; i < na; i++)
		av[n + i] = argv[i];
	av[n + na] = NULL;

	if (env_set(&e, "PATH", c->cf->path) == -1 ||
	    env_set(&e, "HOME", c->home) == -1 ||
	    env_set(&e, "USER", c->user) == -1 ||
	    env_set(&e, "LOGNAME", c->user) == -1 ||
	    env_set(&e, "IMAPEXEC_SERVICE", sv->name) == -1 ||
	    env_set(&e, "IMAPEXEC_USER", c->user) == -1 ||
	    env_set(&e, "IMAPEXEC_REMOTE_ADDR", c->rip) == -1)
		goto fail;
	for (i = 0; sv->env != NULL && sv->env[i] != NULL; i++)
		if (env_put(&e, sv->env[i]) == -1)
			goto fail;

	memset(&req, 0, sizeof(req));
	req.argv = av;
	req.envp = e.v;
	req.dir = c->home;
	if (access(c->home, X_OK) == -1) {
		/* The home may come from Dovecot's userdb: any bytes. */
		log_warn("execute: service=<%s>: home=<%s>: running in /",
		    sv->name, log_esc(hesc, sizeof(hesc), c->home,
		    strlen(c->home)));
		req.dir = "/";
	}
	req.setsid = 1;
	req.diekill = 1;
	req.umask = 077;
	for (i = 0; i < RL_COUNT; i++)
		if (sv->rl_set[i]) {
			lres[req.nlimits] = res[i];
			lval[req.nlimits] = sv->rl[i];
			/* "unlimited": as high as imapexec may go itself. */
			if (sv->rl[i] == RLIM_INFINITY &&
			    getrlimit(res[i], &cur) == 0)
				lval[req.nlimits] = cur.rlim_max;
			req.nlimits++;
		}
	req.limit_res = lres;
	req.limit_val = lval;
	if (spawn(&req, &proc) == -1) {
		log_warn("execute: service=<%s>: %s", sv->name, av[0]);
		*why = "The service is not available now";
		goto fail;
	}
	free(av);
	env_free(&e);

	s->pid = proc.pid;
	s->in = proc.in;
	s->st[S_OUT].fd = proc.out;
	s->st[S_ERR].fd = proc.err;
started:
	s->interactive = interactive;
	s->client_done = !interactive;
	s->close_in = !interactive;
	s->input = input;
	s->inputlen = input != NULL ? inputlen : 0;
	s->started = now_ms();
	(void)log_esc(s->ltag, sizeof(s->ltag), tag, strlen(tag));
	if (sv->timeout > 0)
		s->deadline = s->started + (int64_t)sv->timeout * 1000;
	touch(s);
	xin_init(&s->xin);
	return (s);

fail:
	free(av);
	env_free(&e);
	buf_free(&s->ibuf);
	close_fd(&s->sock);
	free(s);
	return (NULL);
}

/*
 * quotable(p, n):
 * Return nonzero if the ${n} bytes at ${p} can go in a quoted string.
 */
static int
quotable(const uint8_t *p, size_t n)
{
	size_t i;

	if (n > QUOTED_MAX)
		return (0);
	for (i = 0; i < n; i++)
		if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n' ||
		    p[i] >= 0x80)
			return (0);
	return (1);
}

/*
 * frame(c, s, which, p, n, quoted):
 * Queue for the client ${n} bytes at ${p} of stream ${which} of ${s}: as a
 * quoted string (a line without its end) if ${quoted}, else as a literal.
 * Return 0, or -1 if there is no room now.
 */
static int
frame(struct conn *c, struct session *s, int which, const uint8_t *p,
    size_t n, int quoted)
{
	char head[SCAN_TAG_MAX + 64];
	size_t i, hl, need;
	int nul = memchr(p, '\0', n) != NULL;

	hl = (size_t)snprintf(head, sizeof(head), "* EXECUTE (TAG \"%s\") %s ",
	    s->tag, which == S_OUT ? "OUT" : "ERR");
	need = hl + (quoted ? 2 * n + 4 : n + 32);
	if (!conn_can_emit(c) || buf_room(&c->c_out) < need)
		return (-1);
	(void)conn_emit(c, head, hl);
	if (quoted) {
		(void)conn_emit(c, "\"", 1);
		for (i = 0; i < n; i++) {
			if (p[i] == '"' || p[i] == '\\')
				(void)conn_emit(c, "\\", 1);
			(void)conn_emit(c, p + i, 1);
		}
		(void)conn_emit(c, "\"\r\n", 3);
	} else {
		(void)conn_printf(c, "%s{%zu}\r\n", nul ? "~" : "", n);
		(void)conn_emit(c, p, n);
		(void)conn_emit(c, "\r\n", 2);
	}
	return (0);
}

/*
 * log_lines(s, st):
 * Send the complete lines of stream ${st} (all of it at its end) to the
 * log instead of the client.
 */
static void
log_lines(struct session *s, struct stream *st)
{
	char esc[4 * LOG_CHUNK + 4];
	uint8_t *lf;
	size_t k, text;

	while (st->len > 0) {
		if ((lf = memchr(st->buf, '\n', st->len)) != NULL)
			k = (size_t)(lf - st->buf) + 1;
		else if (st->eof || st->len >= LOG_CHUNK)
			k = st->len;
		else
			break;
		text = lf != NULL ? k - 1 : k;
		if (text > LOG_CHUNK) {
			/* A long line goes in pieces; the LF ends the last. */
			text = k = LOG_CHUNK;
		}
		/*
		 * Both bytes and lines are capped: a flood of empty (or
		 * one-byte) lines costs the log a line each.
		 */
		if (s->nlogged < LOG_ERR_MAX && s->nloglines < LOG_ERR_LINES) {
			s->nlogged += text;
			s->nloglines++;
			(void)log_esc(esc, sizeof(esc), st->buf, text);
			log_info("execute: service=<%s>, tag=<%s>, "
			    "stderr=<%s>", s->sv->name, s->ltag, esc);
			if (s->nlogged >= LOG_ERR_MAX ||
			    s->nloglines >= LOG_ERR_LINES)
				log_info("execute: service=<%s>, tag=<%s>: "
				    "stderr: %llu bytes in %llu lines logged, "
				    "the rest is dropped", s->sv->name, s->ltag,
				    (unsigned long long)s->nlogged,
				    (unsigned long long)s->nloglines);
		}
		st->len -= k;
		memmove(st->buf, st->buf + k, st->len);
	}
}

/*
 * drain(c, s, which):
 * Send what stream ${which} of ${s} holds to the client, line by line
 * where it can.  Return nonzero if anything was sent.
 */
static int
drain(struct conn *c, struct session *s, int which)
{
	struct stream *st = &s->st[which];
	uint8_t *lf;
	size_t k, content;
	int complete, moved = 0;

	if (which == S_ERR && !s->sv->stderr_client) {
		k = st->len;
		log_lines(s, st);
		return (st->len != k);
	}
	while (st->len > 0) {
		if ((lf = memchr(st->buf, '\n', st->len)) != NULL) {
			k = (size_t)(lf - st->buf);
			content = k;
			complete = 1;
			if (s->sv->crlf) {
				if (k > 0 && st->buf[k - 1] == '\r')
					content = k - 1;
				else
					complete = 0;
			}
			if (complete && quotable(st->buf, content)) {
				if (frame(c, s, which, st->buf, content, 1))
					break;
			} else if (frame(c, s, which, st->buf, k + 1, 0))
				break;
			k++;
		} else {
			if (!st->eof && st->len < sizeof(st->buf) &&
			    (st->flush_at == 0 || now_ms() < st->flush_at))
				break;
			k = st->len;
			if (frame(c, s, which, st->buf, k, 0))
				break;
		}
		st->len -= k;
		memmove(st->buf, st->buf + k, st->len);
		moved = 1;
	}
	if (st->len == 0)
		st->flush_at = 0;
	else if (st->flush_at == 0)
		st->flush_at = now_ms() + FLUSH_MS;
	return (moved);
}

/*
 * feed(s, p, n, eol):
 * Queue ${n} bytes at ${p} for the program, and its end of line if ${eol}.
 * The caller offers no more than buf_room() of the input buffer allows
 * (client_input() and the one-shot input ask for at most that), so nothing
 * is ever dropped: should it not fit, the command ends with NO instead.
 */
static void
feed(struct session *s, const uint8_t *p, size_t n, int eol)
{
	const char *e = s->sv->crlf ? "\r\n" : "\n";
	size_t el = eol ? strlen(e) : 0;

	s->nin += n + el;
	if (s->sv->max_input > 0 && s->nin > s->sv->max_input) {
		halt(s, STOP_LIMIT, "input limit reached");
		return;
	}
	if (s->in < 0 || s->termed)
		return;		/* the program no longer reads */
	DASSERT(buf_room(&s->ibuf) >= n + el);
	if (buf_room(&s->ibuf) < n + el) {
		halt(s, STOP_BROKEN, "its input could not be queued");
		return;
	}
	(void)buf_add(&s->ibuf, p, n);
	if (el > 0)
		(void)buf_add(&s->ibuf, e, el);
}

/*
 * client_input(c, s):
 * Take the client's lines for an interactive ${s}.  Return nonzero if
 * anything was taken.
 */
static int
client_input(struct conn *c, struct session *s)
{
	struct xin_act act;
	int moved = 0;

	if (s->in < 0 || s->termed)
		buf_consume(&s->ibuf, s->ibuf.len);	/* nobody reads it */
	while (!s->client_done && !s->want_plus && s->greeted) {
		if (buf_room(&s->ibuf) < XIN_LINE_MAX + 2)
			break;
		/* Room for the data; the end of line (2 at most) apart. */
		xin_scan(&s->xin, buf_head(&c->c_in), c->c_in.len,
		    buf_room(&s->ibuf) - 2, &act);
		switch (act.op) {
		case XIN_MORE:
			if (c->cl_eof && c->c_in.len > 0) {
				/* A partial line, and no more will come. */
				buf_consume(&c->c_in, c->c_in.len);
				moved = 1;
			}
			return (moved);
		case XIN_BYTES:
			feed(s, act.data, act.len, act.eol);
			break;
		case XIN_LITERAL:
			s->want_plus = act.sync;
			break;
		case XIN_DONE:
			s->client_done = 1;
			s->close_in = 1;
			break;
		case XIN_CANCEL:
			s->client_done = 1;
			halt(s, STOP_CANCELED, "CANCEL received");
			break;
		}
		buf_consume(&c->c_in, act.n);
		touch(s);
		moved = 1;
	}
	return (moved);
}

/*
 * result(s, buf, len):
 * Format the tagged response of ${s} into ${buf}; return the status word
 * for the log.
 */
static const char *
result(const struct session *s, char *buf, size_t len)
{
	const char *name = s->sv->name;

	if (s->stop == STOP_CANCELED) {
		(void)snprintf(buf, len, "NO [CANCELED] %s canceled: %s", name,
		    s->stopwhy);
		return ("CANCELED");
	}
	if (s->stop == STOP_LIMIT) {
		(void)snprintf(buf, len, "NO [LIMIT] %s stopped: %s", name,
		    s->stopwhy);
		return ("LIMIT");
	}
	if (s->stop == STOP_UNREACHED) {
		(void)snprintf(buf, len, "NO [UNAVAILABLE] %s", s->stopwhy);
		return ("UNAVAILABLE");
	}
	if (s->stop == STOP_BROKEN) {
		(void)snprintf(buf, len, "NO [UNAVAILABLE] %s: %s", name,
		    s->stopwhy);
		return ("BROKEN");
	}
	if (s->stop == STOP_GONE)
		return ("DISCONNECTED");
	if (WIFSIGNALED(s->status)) {
		(void)snprintf(buf, len, "NO [EXITSIGNAL %s] %s was killed by "
		    "%s", sig_name(WTERMSIG(s->status)), name,
		    sig_name(WTERMSIG(s->status)));
		return ("SIGNAL");
	}
	if (WEXITSTATUS(s->status) != 0) {
		(void)snprintf(buf, len, "NO [EXITCODE %d] %s exited with "
		    "status %d", WEXITSTATUS(s->status), name,
		    WEXITSTATUS(s->status));
		return ("EXITCODE");
	}
	(void)snprintf(buf, len, "OK %s completed", name);
	return ("OK");
}

/*
 * finish(c, s):
 * Report the end of ${s} to the client and the log once everything is in.
 * Return 1 once the tagged response is queued, else 0.
 */
static int
finish(struct conn *c, struct session *s)
{
	char line[512], user[LOG_TAG_MAX], rip[LOG_TAG_MAX];
	const char *status;

	if (!s->exited || !s->st[0].eof || !s->st[1].eof ||
	    s->st[0].len > 0 || s->st[1].len > 0)
		return (0);
	if (!s->reported && s->stop != STOP_GONE) {
		if (WIFSIGNALED(s->status))
			(void)snprintf(line, sizeof(line), "SIGNAL %s",
			    sig_name(WTERMSIG(s->status)));
		else
			(void)snprintf(line, sizeof(line), "EXIT %d",
			    WEXITSTATUS(s->status));
		if (!conn_can_emit(c) || conn_printf(c,
		    "* EXECUTE (TAG \"%s\") %s\r\n", s->tag, line) == -1)
			return (0);
	}
	s->reported = 1;
	if (!s->client_done && s->stop != STOP_GONE)
		return (0);
	status = result(s, line, sizeof(line));
	if (s->stop != STOP_GONE && conn_printf(c, "%s %s\r\n", s->tag,
	    line) == -1)
		return (0);
	(void)log_esc(user, sizeof(user), c->user, strlen(c->user));
	(void)log_esc(rip, sizeof(rip), c->rip, strlen(c->rip));
	log_info("execute: user=<%s>, service=<%s>, tag=<%s>, status=<%s>, "
	    "duration=<%lld>, in=<%llu>, out=<%llu>, rip=<%s>", user,
	    s->sv->name, s->ltag, status,
	    (long long)(now_ms() - s->started), (unsigned long long)s->nin,
	    (unsigned long long)s->nout, rip);
	return (1);
}

/*
 * readable(s, which):
 * Read what the program wrote to stream ${which} of ${s}.  Return 1 if
 * bytes came, 0 at the end of the stream, or -1 if nothing is there now.
 */
static int
readable(struct session *s, int which)
{
	struct stream *st = &s->st[which];
	ssize_t n;

	DASSERT(st->fd >= 0 && st->len < sizeof(st->buf));
	n = read(st->fd, st->buf + st->len, sizeof(st->buf) - st->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (-1);
	if (n <= 0) {
		st->eof = 1;
		if (s->sock >= 0) {
			/* The peer closed (or failed): the service is over. */
			if (n == -1 && s->stop == STOP_NONE) {
				log_warn("execute: service=<%s>", s->sv->name);
				s->stop = STOP_BROKEN;
				s->stopwhy = "connection to the service failed";
			}
			st->fd = -1;
			s->exited = 1;
			s->status = 0;
		} else
			close_fd(&st->fd);
		return (0);
	}
	st->len += (size_t)n;
	touch(s);
	if (which == S_OUT || s->sv->stderr_client) {
		s->nout += (uint64_t)n;
		if (s->sv->max_output > 0 && s->nout > s->sv->max_output)
			halt(s, STOP_LIMIT, "output limit reached");
	}
	return (1);
}

/*
 * held(s):
 * The program of ${s} has been reaped, so all it wrote is in its pipes:
 * read what they hold.  Return nonzero if a pipe is still open though
 * empty: a descendant that left the process group holds it, and may keep
 * it as long as it likes.
 */
static int
held(struct session *s)
{
	struct stream *st;
	int i, r, busy = 0;

	DASSERT(s->exited && s->sock < 0);
	for (i = 0; i < 2; i++) {
		st = &s->st[i];
		r = 1;
		while (st->fd >= 0 && st->len < sizeof(st->buf) &&
		    (r = readable(s, i)) == 1)
			;
		if (st->fd >= 0 && r == -1)
			busy = 1;
	}
	return (busy);
}

/*
 * let_go(s):
 * The command of ${s} is stopped and its program reaped: close the pipes
 * still open, whoever holds them (a descendant that left the process group
 * may keep them, and keep them full, as long as it likes), after taking
 * what they hold now.  The command ends without waiting for more.  Return
 * nonzero if a pipe was closed.
 */
static int
let_go(struct session *s)
{
	int i, closed = 0;

	DASSERT(s->exited && s->sock < 0 && s->stop != STOP_NONE);
	(void)held(s);
	for (i = 0; i < 2; i++)
		if (s->st[i].fd >= 0) {
			close_fd(&s->st[i].fd);
			s->st[i].eof = 1;
			closed = 1;
		}
	return (closed);
}

/*
 * session_step(c, s):
 * Make what progress ${s} can without blocking: move input, output and
 * the end of the session.  Return -1 if nothing changed, 0 if something
 * did, or 1 once the session's tagged response has been queued (then ${s}
 * must be freed with session_free()).
 */
int
session_step(struct conn *c, struct session *s)
{
	size_t n;
	int moved = 0;

	if (!s->greeted && s->interactive && s->stop == STOP_NONE &&
	    !s->connecting) {
		if (!conn_can_emit(c) || conn_printf(c, "+ %s ready, send "
		    "DONE to end the input\r\n", s->sv->name) == -1)
			return (-1);
		s->greeted = 1;
		moved = 1;
	}
	if (c->cl_eof && !s->client_done && c->c_in.len == 0) {
		/* The client can never say DONE now. */
		s->client_done = 1;
		halt(s, STOP_CANCELED, "the client closed its input");
	}
	/*
	 * The program has been reaped, but something that left its process
	 * group may hold its pipes: once the client has hung up, or the
	 * command is being stopped (a limit, CANCEL), stop waiting for it,
	 * even if it keeps the pipes full.
	 */
	if (s->exited && s->sock < 0 && s->stop == STOP_NONE &&
	    c->cl_eof && c->c_in.len == 0 && held(s))
		halt(s, STOP_CANCELED, "the client closed its input");
	if (s->exited && s->sock < 0 && s->stop != STOP_NONE)
		moved |= let_go(s);
	if (s->connecting)
		return (moved ? 0 : -1);	/* nothing reads the input yet */
	if (s->interactive)
		moved |= client_input(c, s);
	if (s->want_plus && s->ibuf.len == 0 && conn_can_emit(c) &&
	    conn_printf(c, "+ Ready for literal data\r\n") == 0) {
		s->want_plus = 0;
		xin_accept(&s->xin);
		moved = 1;
	}
	if (s->input != NULL && (n = buf_room(&s->ibuf)) > 0) {
		if (n > s->inputlen)
			n = s->inputlen;
		feed(s, s->input, n, 0);
		if (s->input != NULL) {
			s->input += n;
			if ((s->inputlen -= n) == 0)
				s->input = NULL;
		}
		moved = 1;
	}
	if (s->in >= 0 && s->close_in && s->ibuf.len == 0 &&
	    s->input == NULL)
		close_input(s);
	moved |= drain(c, s, S_OUT);
	moved |= drain(c, s, S_ERR);
	if (finish(c, s))
		return (1);
	return (moved ? 0 : -1);
}

/*
 * session_pollfds(s, pfd, max):
 * Store up to ${max} descriptors ${s} waits for in ${pfd}; return how many.
 */
int
session_pollfds(struct session *s, struct pollfd *pfd, int max)
{
	int i, n = 0;

	if (s->connecting && n < max) {
		DASSERT(s->sock >= 0 && s->in < 0);
		s->role[n] = ROLE_CONNECT;
		pfd[n].fd = s->sock;
		pfd[n++].events = POLLOUT;
		return (n);
	}
	if (s->in >= 0 && s->ibuf.len > 0 && n < max) {
		s->role[n] = -1;
		pfd[n].fd = s->in;
		pfd[n++].events = POLLOUT;
	}
	for (i = 0; i < 2; i++)
		if (s->st[i].fd >= 0 && s->st[i].len < OBUF_SZ && n < max) {
			s->role[n] = i;
			pfd[n].fd = s->st[i].fd;
			pfd[n++].events = POLLIN;
		}
	return (n);
}

/*
 * session_events(c, s, pfd, n):
 * Handle the poll(2) results ${pfd}[0..${n}) of session_pollfds().
 */
void
session_events(struct conn *c, struct session *s, const struct pollfd *pfd,
    int n)
{
	int64_t now = now_ms();
	int i;

	(void)c;
	for (i = 0; i < n && i < 3; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (s->role[i] == ROLE_CONNECT) {
			if (s->connecting)
				connect_events(s, pfd[i].revents, now);
		} else if (s->role[i] >= 0)
			(void)readable(s, s->role[i]);
		else if (s->in >= 0) {
			if (buf_write(&s->ibuf, s->in) == -1 &&
			    errno != EAGAIN && errno != EINTR) {
				/* The program stopped reading. */
				close_input(s);
				buf_consume(&s->ibuf, s->ibuf.len);
			} else
				touch(s);
		}
	}
	if (s->connecting)
		connect_events(s, 0, now);
	if (!s->exited && s->deadline > 0 && now >= s->deadline)
		halt(s, STOP_LIMIT, "timeout");
	if (!s->exited && s->idle_at > 0 && now >= s->idle_at)
		halt(s, STOP_LIMIT, "idle timeout");
	/*
	 * The limits hold until the program has ended and its pipes are
	 * closed, whoever holds them; after that only the client's DONE is
	 * awaited (an interactive service), as with IDLE.
	 */
	if (s->stop == STOP_NONE && !s->reported) {
		if (s->deadline > 0 && now >= s->deadline)
			halt(s, STOP_LIMIT, "timeout");
		else if (s->idle_at > 0 && now >= s->idle_at)
			halt(s, STOP_LIMIT, "idle timeout");
	}
	if (s->termed && s->kill_at > 0 && now >= s->kill_at) {
		signal_group(s, SIGKILL);
		s->kill_at = 0;
	}
}

/*
 * session_timeout(s):
 * Return the milliseconds until ${s}'s next deadline, or -1.
 */
int
session_timeout(struct session *s)
{
	int64_t t[6], now = now_ms(), best = -1;
	size_t i;

	t[0] = s->stop == STOP_NONE && !s->reported ? s->deadline : 0;
	t[1] = s->stop == STOP_NONE && !s->reported ? s->idle_at : 0;
	t[5] = s->connecting ? s->try_until : 0;
	t[2] = s->termed ? s->kill_at : 0;
	t[3] = s->st[0].flush_at;
	t[4] = s->st[1].flush_at;
	for (i = 0; i < 6; i++)
		if (t[i] > 0 && (best < 0 || t[i] < best))
			best = t[i];
	if (best < 0)
		return (-1);
	return (best > now ? (int)(best - now) : 0);
}

/*
 * session_reaped(s, pid, status):
 * Child ${pid} ended with ${status}.  Return nonzero if it was ${s}'s.
 * From then on ${s} sends no signal: its process group may be gone.
 */
int
session_reaped(struct session *s, pid_t pid, int status)
{
	if (pid != s->pid || s->exited)
		return (0);
	s->exited = 1;		/* no signal from now on */
	s->status = status;
	s->kill_at = 0;
	return (1);
}

/*
 * session_exiting(s, pid):
 * Child ${pid} has ended and is not reaped yet: if it is ${s}'s program,
 * SIGKILL what is left of its process group (its id cannot have been
 * reused while the leader is a zombie).
 */
void
session_exiting(struct session *s, pid_t pid)
{
	if (pid != s->pid || s->exited)
		return;
	/* Whatever it left behind in its group goes with it. */
	signal_group(s, SIGKILL);
}

/*
 * session_abort(s):
 * The client is gone: stop ${s}'s program at once.
 */
void
session_abort(struct session *s)
{
	s->client_done = 1;
	halt(s, STOP_GONE, "client disconnected");
}

/*
 * session_backend_gone(s):
 * The backend has ended, and with it the IMAP session: stop ${s}'s
 * program and end the command without waiting for DONE.
 */
void
session_backend_gone(struct session *s)
{
	if (s->client_done && s->stop != STOP_NONE)
		return;
	s->client_done = 1;
	if (!s->exited)
		halt(s, STOP_CANCELED, "the IMAP server has ended");
}

/*
 * session_free(s):
 * Release ${s}, killing and closing whatever is left of it.
 */
void
session_free(struct session *s)
{
	int status;

	if (s == NULL)
		return;
	if (!s->exited && s->pid > 0) {
		signal_group(s, SIGKILL);
		while (waitpid(s->pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	if (s->sock >= 0) {
		s->in = s->st[S_OUT].fd = -1;
		close_fd(&s->sock);
	}
	close_fd(&s->in);
	close_fd(&s->st[0].fd);
	close_fd(&s->st[1].fd);
	buf_free(&s->ibuf);
	free(s);
}
