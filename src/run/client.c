/*
 * imapexec-run's session: one poll loop over the connection and standard
 * input; the responses go through the reader (resp.c) to the handlers
 * here (the EXECUTE) and in login.c (everything before it, which says
 * what to send and whether to fail; the sending and failing are here).
 *
 * Invariants: the output buffer only ever holds whole commands, lines or
 * literals (so DONE or CANCEL can be queued at any time); literal octets
 * of the EXECUTE's OUT and ERR go straight to stdout and stderr, never
 * held; c->result is set once, and the loop ends with it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dassert.h"
#include "enc.h"
#include "login.h"
#include "util.h"

#define OUT_CAP		(1024 * 1024)	/* queued to the server, at least */
#define IN_CAP		(64 * 1024)	/* stdin bytes not yet encoded */
#define READ_CAP	(64 * 1024)	/* one read from the server */

static volatile sig_atomic_t interrupted;

/* The EXECUTE's side of the session. */
struct ex {
	int		 svc_flags;	/* from discovery */
	int		 interactive;	/* the "+" came */
	int		 want_cancel;	/* ^C before the "+" */
	int		 stdin_eof;
	int		 done_sent;
	int		 cancel_sent;
	int		 ended;		/* EXIT or SIGNAL came */
	int		 status;	/* the status they give */
	int		 sink;		/* literal octets: 1, 2, or -1 */
	int		 ints;		/* SIGINTs handled */
	struct buf	 in;
};

static struct ex ex;

/* What the last login step asked for (large: a response's text). */
static struct login_step step;

/*
 * onint(sig):
 * Note a SIGINT for the loop.
 */
static void
onint(int sig)
{
	(void)sig;
	interrupted++;
}

/*
 * cl_fail(c, status, fmt, ...):
 * Print "imapexec-run: " and the reason, end the session with ${status}.
 */
static void __attribute__((format(printf, 3, 4)))
cl_fail(struct cl *c, int status, const char *fmt, ...)
{
	va_list ap;

	if (c->result >= 0)
		return;
	if (fmt != NULL) {
		fprintf(stderr, "imapexec-run: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	c->result = status;
}

/*
 * netfail(c):
 * A connection step failed: ^C ends the session quietly (130), anything
 * else with net's reason (255).
 */
static void
netfail(struct cl *c)
{
	if (interrupted)
		cl_fail(c, RX_INT, NULL);
	else
		cl_fail(c, RX_FAIL, "%s", c->net.err);
}

/*
 * trace(c, dir, p, n):
 * With -v, show ${n} bytes at ${p} on stderr after ${dir}, escaped.
 */
static void
trace(const struct cl *c, const char *dir, const uint8_t *p, size_t n)
{
	size_t i;

	if (!c->o->verbose)
		return;
	fprintf(stderr, "imapexec-run: %s ", dir);
	for (i = 0; i < n && i < 400; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			continue;
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fprintf(stderr, "%s\n", i < n ? "..." : "");
}

/*
 * cl_send(c, p, n, show):
 * Queue ${n} bytes at ${p} for the server; trace them with -v if ${show}.
 * A command that does not fit ends the session (255).
 */
static void
cl_send(struct cl *c, const void *p, size_t n, int show)
{
	if (c->result >= 0)
		return;
	if (buf_add(&c->out, p, n) != 0) {
		cl_fail(c, RX_FAIL, "command too long");
		return;
	}
	if (show)
		trace(c, "C:", p, n);
}

static void onsigint(struct cl *);
static void sendout(struct cl *);

/*
 * writeall(c, fd, p, n):
 * Write ${n} bytes at ${p} to ${fd}.  Return 0, or -1 with errno set.
 * While ${fd} is full (a reader that stopped reading), ^C is still
 * handled: its CANCEL goes out to the server at once, and a ^C that ends
 * the session ends the write (-1, EINTR).  (A ^C that lands just before
 * a blocking write(2) waits for that write, or for the next ^C.)
 */
static int
writeall(struct cl *c, int fd, const void *p, size_t n)
{
	const uint8_t *q = p;
	struct pollfd pfd[2];
	sigset_t mask;
	ssize_t w;
	int e;

	/* Invariant: output is written only while the session runs. */
	DASSERT(c->result < 0);
	while (n > 0) {
		if (interrupted > ex.ints) {
			onsigint(c);
			if (c->result >= 0) {
				errno = EINTR;
				return (-1);
			}
			sendout(c);	/* the CANCEL */
		}
		/* stdout may block: a ^C must end the write (EINTR) */
		net_sigint_open(&mask);
		if (interrupted > ex.ints) {
			w = -1;
			errno = EINTR;
		} else
			w = write(fd, q, n);
		e = errno;
		net_sigint_restore(&mask);
		errno = e;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return (-1);
			/*
			 * A non-blocking ${fd}, full: wait for it, or for
			 * the server to take what is queued (not for what it
			 * sends: that waits for us).
			 */
			sendout(c);
			pfd[0].fd = fd;
			pfd[0].events = POLLOUT;
			pfd[1].fd = c->net.fd;
			pfd[1].events = c->net.wr_ev;
			(void)net_poll(pfd, c->out.len > 0 ? 2 : 1, 1000);
			continue;
		}
		q += w;
		n -= (size_t)w;
	}
	return (0);
}

/*
 * emit(c, fd, p, n):
 * Pass ${n} bytes of the service's output to ${fd}, unless the session
 * has ended; a vanished stdout ends it quietly (141, as cat(1) killed by
 * SIGPIPE).
 */
static void
emit(struct cl *c, int fd, const void *p, size_t n)
{
	if (c->result >= 0)
		return;		/* the session is over: nothing more out */
	if (writeall(c, fd, p, n) != 0)
		cl_fail(c, errno == EPIPE ? RX_PIPE : RX_FAIL,
		    errno == EPIPE ? NULL : "output: %s", strerror(errno));
}

/*
 * sendarg(c, p, n):
 * Queue the ${n} bytes at ${p} as an EXECUTE argument: an atom, a quoted
 * string, or a non-synchronizing literal (a literal8 if it holds NUL).
 */
static void
sendarg(struct cl *c, const uint8_t *p, size_t n)
{
	char hdr[40];
	size_t i;
	int atom = n > 0 && p[0] != '~', quote = 1;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			atom = quote = 0;
		else if (strchr(" (){%*\"\\]", p[i]) != NULL)
			atom = 0;
	}
	if (atom)
		cl_send(c, p, n, 0);
	else if (quote) {
		if (c->result < 0 && enc_quoted(p, n, &c->out) != 0)
			cl_fail(c, RX_FAIL, "command too long");
	} else {
		snprintf(hdr, sizeof(hdr), "%s{%zu+}\r\n",
		    memchr(p, '\0', n) != NULL ? "~" : "", n);
		cl_send(c, hdr, strlen(hdr), 0);
		cl_send(c, p, n, 0);
	}
}

/*
 * readinput(c, len):
 * Read all of stdin (for -i), at most RUN_INPUT_MAX bytes, into a new
 * buffer; store its length in ${len}.  Return the buffer (the caller
 * frees it), or NULL with the session ended (124 if there is more).
 */
static uint8_t *
readinput(struct cl *c, size_t *len)
{
	uint8_t *p;
	ssize_t r;

	*len = 0;
	if ((p = malloc(RUN_INPUT_MAX + 1)) == NULL) {
		cl_fail(c, RX_FAIL, "out of memory");
		return (NULL);
	}
	while (*len <= RUN_INPUT_MAX) {
		r = read(0, p + *len, RUN_INPUT_MAX + 1 - *len);
		if (r < 0 && errno == EINTR && !interrupted)
			continue;
		if (r < 0) {
			cl_fail(c, interrupted ? RX_INT : RX_FAIL,
			    interrupted ? NULL : "stdin: %s", strerror(errno));
			free(p);
			return (NULL);
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	if (*len > RUN_INPUT_MAX) {
		cl_fail(c, RX_LIMIT, "input over %d KiB (-i)",
		    RUN_INPUT_MAX / 1024);
		free(p);
		return (NULL);
	}
	return (p);
}

/*
 * cl_start_exec(c):
 * The session is authenticated: send the discovery and the EXECUTE.
 */
static void
cl_start_exec(struct cl *c)
{
	const struct opts *o = c->o;
	uint8_t *input;
	size_t len;
	int i;

	c->ph = PH_EXEC;
	/*
	 * Behind Dovecot's post-login (imapexec -P), EXECUTE needs the
	 * sync first: the token the server put in the capability list, in
	 * a NOOP that is the first command after the login.
	 */
	if (c->sync[0] != '\0') {
		cl_send(c, TAG_SYNC " NOOP ", 7, 1);
		cl_send(c, c->sync, strlen(c->sync), 1);
		cl_send(c, "\r\n", 2, 1);
	}
	cl_send(c, TAG_LIST " EXECUTE\r\n", 11, 1);
	if (o->list)
		return;
	c->deadline = 0;
	cl_send(c, TAG_EXEC " EXECUTE ", 10, 1);
	sendarg(c, (const uint8_t *)o->service, strlen(o->service));
	if (o->input) {
		if ((input = readinput(c, &len)) == NULL)
			return;
		cl_send(c, " (INPUT ", 8, 0);
		if (len == 0)
			cl_send(c, "\"\"", 2, 0);
		else {
			/* Always a literal: the octets as they are. */
			char hdr[40];

			snprintf(hdr, sizeof(hdr), "%s{%zu+}\r\n",
			    memchr(input, '\0', len) != NULL ? "~" : "", len);
			cl_send(c, hdr, strlen(hdr), 0);
			cl_send(c, input, len, 0);
		}
		cl_send(c, ")", 1, 0);
		free(input);
	}
	for (i = 0; i < o->nargs; i++) {
		cl_send(c, " ", 1, 0);
		sendarg(c, (const uint8_t *)o->args[i], strlen(o->args[i]));
	}
	cl_send(c, "\r\n", 2, 0);
}

/*
 * login_do(c, st):
 * Do what the login step ${st} asks: queue its bytes, then fail or start
 * the EXECUTE.  Its bytes, which may hold the password, are wiped.
 */
static void
login_do(struct cl *c, struct login_step *st)
{
	const uint8_t *p = buf_head(&st->out);

	if (st->show > 0)
		cl_send(c, p, st->show, 1);
	if (st->out.len > st->show)
		cl_send(c, p + st->show, st->out.len - st->show, 0);
	explicit_bzero(st->space, sizeof(st->space));
	if (st->fail >= 0)
		cl_fail(c, st->fail, st->loud ? "%s" : NULL, st->why);
	else if (st->exec)
		cl_start_exec(c);
}

/*
 * signum(name):
 * Return the number of signal ${name} ("SIGTERM"), or 0.
 */
static int
signum(const char *name)
{
	const char *abbrev;
	int i;

	if (strncmp(name, "SIG", 3) != 0)
		return (0);
	for (i = 1; i < NSIG; i++)
		if ((abbrev = sigabbrev_np(i)) != NULL &&
		    strcmp(abbrev, name + 3) == 0)
			return (i);
	return (0);
}

/*
 * codeis(r, name):
 * Return nonzero if ${r}'s response code starts with the word ${name}.
 */
static int
codeis(const struct resp *r, const char *name)
{
	size_t k = strlen(name);

	return (r->code != NULL && r->codelen >= k &&
	    strncasecmp(r->code, name, k) == 0 &&
	    (r->codelen == k || r->code[k] == ' '));
}

/*
 * final(c, r):
 * The EXECUTE's tagged response ${r}: the exit status.
 */
static void
final(struct cl *c, const struct resp *r)
{
	const char *svc = c->o->service;

	if (r->status == ST_OK)
		c->result = ex.ended ? ex.status : 0;
	else if (r->status == ST_NO && codeis(r, "NONEXISTENT"))
		cl_fail(c, RX_NOTFOUND, "%s: %s", svc, r->text);
	else if (r->status == ST_NO && codeis(r, "CANNOT"))
		cl_fail(c, RX_CANNOT, "%s: %s", svc, r->text);
	else if (r->status == ST_NO && codeis(r, "LIMIT"))
		cl_fail(c, RX_LIMIT, "%s: %s", svc, r->text);
	else if (r->status == ST_NO && ex.ended &&
	    (codeis(r, "EXITCODE") || codeis(r, "EXITSIGNAL")))
		c->result = ex.status;
	else if (r->status == ST_NO && codeis(r, "CANCELED"))
		/* ^C: however the service ended, as a shell reports ^C. */
		c->result = RX_INT;
	else
		cl_fail(c, RX_FAIL, "%s: %s", svc, r->text);
}

/*
 * ended(c, status):
 * The service ended with ${status}: an interactive session's input ends
 * too (DONE), as ssh stops sending once the remote command is gone.
 */
static void
ended(struct cl *c, int status)
{
	ex.ended = 1;
	ex.status = status;
	if (ex.interactive && !ex.done_sent && !ex.cancel_sent) {
		cl_send(c, "DONE\r\n", 6, 1);
		ex.done_sent = 1;
	}
}

/*
 * handle(c, r):
 * Act on the response ${r} (its first segment).
 */
static void
handle(struct cl *c, const struct resp *r)
{
	int mine = strcmp(r->tag, TAG_EXEC) == 0;
	int sig;

	ex.sink = -1;
	switch (r->kind) {
	case R_STATUS:
		if (r->status == ST_BYE && c->ph != PH_GREET) {
			snprintf(c->bye, sizeof(c->bye), "%s", r->text);
			return;
		}
		if (!r->tagged && c->ph != PH_GREET) {
			if (r->caps != NULL)
				login_caps(c, r->caps, r->capslen);
			return;
		}
		if (r->tagged && r->caps != NULL)
			login_caps(c, r->caps, r->capslen);
		if (c->ph != PH_EXEC) {
			login_status(c, r, &step);
			login_do(c, &step);
		} else if (strcmp(r->tag, TAG_LIST) == 0) {
			if (c->o->list)
				c->result = r->status == ST_OK ? 0 : RX_FAIL;
			if (r->status != ST_OK)
				cl_fail(c, RX_FAIL, "no EXECUTE on the "
				    "server: %s", r->text);
		} else if (mine)
			final(c, r);
		break;
	case R_CAPA:
		login_caps(c, r->caps != NULL ? r->caps : "", r->capslen);
		break;
	case R_CONT:
		if (c->ph != PH_EXEC) {
			login_cont(c, &step);
			login_do(c, &step);
		} else if (!ex.interactive && !c->o->input && !c->o->list &&
		    (ex.svc_flags & SVC_INTERACTIVE)) {
			/*
			 * The discovery, answered first, said the service
			 * is interactive: else stdin is not the server's to
			 * ask for (a one-shot service's stdin is empty).
			 */
			ex.interactive = 1;
			if (ex.want_cancel) {
				cl_send(c, "CANCEL\r\n", 8, 1);
				ex.cancel_sent = 1;
			}
		} else
			cl_fail(c, RX_FAIL, "unexpected continuation "
			    "request: %s", r->text);
		break;
	case R_SERVICE:
		if (c->o->list) {
			printf("%s\n", r->name);
			if (fflush(stdout) != 0)
				cl_fail(c, RX_PIPE, NULL);
		} else if (strcmp(r->name, c->o->service) == 0)
			ex.svc_flags = r->flags;
		break;
	case R_OUTPUT:
		if (!mine)
			break;
		if (r->lit)
			ex.sink = r->err ? 2 : 1;
		else {
			emit(c, r->err ? 2 : 1, r->data, r->len);
			if (ex.svc_flags & SVC_CRLF)
				emit(c, r->err ? 2 : 1, "\r\n", 2);
			else
				emit(c, r->err ? 2 : 1, "\n", 1);
		}
		break;
	case R_EXIT:
		if (mine)
			ended(c, r->number > 255 ? RX_FAIL : (int)r->number);
		break;
	case R_SIGNAL:
		if (mine) {
			sig = signum(r->name);
			ended(c, sig > 0 ? 128 + sig : RX_FAIL);
		}
		break;
	case R_OTHER:
		break;
	}
}

/*
 * feed(c, p, n):
 * Process ${n} bytes the server sent.
 */
static void
feed(struct cl *c, const uint8_t *p, size_t n)
{
	struct rd_ev ev;
	struct resp r;

	while (n > 0 && c->result < 0) {
		rd_feed(c->rd, p, n, &ev);
		DASSERT(ev.used <= n);
		p += ev.used;
		n -= ev.used;
		switch (ev.op) {
		case RD_MORE:
			break;
		case RD_ERROR:
			cl_fail(c, RX_FAIL, "protocol error: a response line "
			    "over %d bytes", RESP_LINE_MAX);
			break;
		case RD_DATA:
			if (ex.sink > 0)
				emit(c, ex.sink, ev.data, ev.len);
			break;
		case RD_SEG:
			if (!c->rd->first) {
				/* A response goes on after a literal. */
				if (c->rd->lit)
					ex.sink = -1;
				break;
			}
			trace(c, "S:", c->rd->line, c->rd->len);
			resp_parse(c->rd->line, c->rd->len, c->rd->lit, &r);
			handle(c, &r);
			if (c->starttls && c->result < 0) {
				c->starttls = 0;
				if (n > 0) {
					cl_fail(c, RX_FAIL, "protocol error: "
					    "data after the STARTTLS answer");
					break;
				}
				if (net_tls(&c->net, c->o->url.host,
				    c->o->cafile, c->deadline) != 0) {
					netfail(c);
					break;
				}
				c->secure = 1;
				c->have_caps = 0;
				c->capslen = 0;
				c->caps[0] = '\0';
				c->sync[0] = '\0';
				c->ph = PH_CAPA;
				cl_send(c, TAG_CAPA " CAPABILITY\r\n", 14, 1);
			}
			break;
		}
	}
}

/*
 * onsigint(c):
 * ^C: CANCEL an interactive service; else give up (130) at once, which
 * makes imapexec kill a running one-shot service.
 */
static void
onsigint(struct cl *c)
{
	ex.ints++;
	if (ex.ints == 1 && c->ph == PH_EXEC && !c->o->input &&
	    !c->o->list && !ex.done_sent && !ex.cancel_sent &&
	    (ex.interactive || (ex.svc_flags & SVC_INTERACTIVE))) {
		if (ex.interactive) {
			cl_send(c, "CANCEL\r\n", 8, 1);
			ex.cancel_sent = 1;
		} else
			ex.want_cancel = 1;
		return;
	}
	cl_fail(c, RX_INT, NULL);
}

/*
 * pump_stdin(c):
 * Read standard input once and queue it, encoded; at its end, DONE.
 */
static void
pump_stdin(struct cl *c)
{
	size_t used;
	ssize_t r;
	int flush;

	r = buf_read(&ex.in, 0);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r < 0) {
		cl_fail(c, RX_FAIL, "stdin: %s", strerror(errno));
		return;
	}
	if (r == 0)
		ex.stdin_eof = 1;
	/* A read that did not fill the space: nothing more is pending. */
	flush = ex.stdin_eof || ex.in.off + ex.in.len < ex.in.cap;
	used = enc_input(buf_head(&ex.in), ex.in.len, flush, &c->out);
	buf_consume(&ex.in, used);
	if (ex.stdin_eof) {
		DASSERT(ex.in.len == 0);
		cl_send(c, "DONE\r\n", 6, 1);
		ex.done_sent = 1;
	}
}

/*
 * sendout(c):
 * Write what is queued for the server, as far as it goes without waiting.
 */
static void
sendout(struct cl *c)
{
	ssize_t r;

	while (c->out.len > 0 && c->result < 0) {
		r = net_write(&c->net, buf_head(&c->out), c->out.len);
		if (r == NET_WANT)
			break;
		if (r < 0) {
			cl_fail(c, RX_FAIL, "%s", c->net.err);
			return;
		}
		buf_consume(&c->out, (size_t)r);
	}
}

/*
 * io(c, rbuf):
 * The connection is ready: write what is queued, read what came into
 * ${rbuf} (at most 16 reads, so stdin gets its turn; with TLS, each read
 * takes a whole record, so nothing waits inside libtls unseen by poll).
 */
static void
io(struct cl *c, uint8_t *rbuf)
{
	ssize_t r;
	int i;

	sendout(c);
	for (i = 0; i < 16 && c->result < 0; i++) {
		r = net_read(&c->net, rbuf, READ_CAP);
		if (r == NET_WANT)
			break;
		if (r < 0) {
			cl_fail(c, RX_FAIL, "%s", c->net.err);
			return;
		}
		if (r == 0) {
			cl_fail(c, RX_FAIL, "connection closed by the "
			    "server%s%s", c->bye[0] ? ": " : "", c->bye);
			return;
		}
		feed(c, rbuf, (size_t)r);
	}
}

/*
 * loop(c):
 * Run the session until it has a result.
 */
static void
loop(struct cl *c)
{
	struct pollfd pfd[2];
	uint8_t *rbuf;
	int64_t left;
	int n, tmo;

	if ((rbuf = malloc(READ_CAP)) == NULL) {
		cl_fail(c, RX_FAIL, "out of memory");
		return;
	}
	while (c->result < 0) {
		if (interrupted > ex.ints) {
			onsigint(c);
			continue;
		}
		pfd[0].fd = c->net.fd;
		pfd[0].events = net_events(&c->net, c->out.len > 0);
		pfd[1].fd = 0;
		pfd[1].events = POLLIN;
		n = 1;
		if (ex.interactive && !ex.stdin_eof && !ex.done_sent &&
		    !ex.cancel_sent &&
		    buf_room(&c->out) >= ENC_ROOM(buf_room(&ex.in) +
		    ex.in.len))
			n = 2;
		tmo = -1;
		if (c->deadline) {
			left = c->deadline - now_ms();
			if (left <= 0) {
				cl_fail(c, RX_FAIL, "timed out (-T %d)",
				    c->o->timeout);
				break;
			}
			tmo = left > 1000000 ? 1000000 : (int)left;
		}
		pfd[0].revents = pfd[1].revents = 0;
		if (net_poll(pfd, (nfds_t)n, tmo) < 0) {
			if (errno != EINTR)
				cl_fail(c, RX_FAIL, "poll: %s",
				    strerror(errno));
			continue;
		}
		if (pfd[0].revents)
			io(c, rbuf);
		if (n == 2 && pfd[1].revents && c->result < 0)
			pump_stdin(c);
	}
	free(rbuf);
}

/*
 * client_run(o):
 * Do what ${o} asks; return the exit status (a reason for any failure of
 * ours is on stderr).
 */
int
client_run(const struct opts *o)
{
	struct cl *c;
	struct sigaction sa;
	size_t cap = OUT_CAP;
	int i, result;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->rd = malloc(sizeof(*c->rd))) == NULL) {
		fprintf(stderr, "imapexec-run: out of memory\n");
		free(c);
		return (RX_FAIL);
	}
	c->o = o;
	c->result = -1;
	c->net.fd = -1;
	rd_init(c->rd);
	memset(&ex, 0, sizeof(ex));
	ex.sink = -1;
	/* Room for the whole EXECUTE: arguments, and the -i input. */
	for (i = 0; i < o->nargs; i++)
		cap += 32 + strlen(o->args[i]) * 2;
	if (buf_init(&c->out, cap + RUN_INPUT_MAX) != 0 ||
	    buf_init(&ex.in, IN_CAP) != 0) {
		fprintf(stderr, "imapexec-run: out of memory\n");
		return (RX_FAIL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/*
	 * The password first (a prompt, or a -p that asks a gpg-agent, may
	 * take any time): -T bounds the connection and the login only.
	 */
	if (o->tunnel == NULL && login_password(c, &step) != 0)
		login_do(c, &step);	/* the failure: sets c->result */
	/* From here on a ^C is taken in the waits alone (net_poll). */
	net_sigint_block();
	if (c->result < 0 && o->timeout > 0)
		c->deadline = now_ms() + (int64_t)o->timeout * 1000;
	if (c->result < 0 && o->tunnel != NULL) {
		c->secure = 1;
		if (net_tunnel(&c->net, o->tunnel) != 0)
			netfail(c);
	} else if (c->result < 0) {
		if (net_tcp(&c->net, o->url.host, o->url.port,
		    c->deadline) != 0)
			netfail(c);
		else if (o->url.tls) {
			if (net_tls(&c->net, o->url.host, o->cafile,
			    c->deadline) != 0)
				netfail(c);
			c->secure = 1;
		}
	}
	if (c->result < 0)
		loop(c);
	result = c->result;
	explicit_bzero(c->pass, sizeof(c->pass));
	explicit_bzero(c->out.data, c->out.cap);
	net_close(&c->net);
	buf_free(&c->out);
	buf_free(&ex.in);
	free(c->rd);
	free(c);
	return (result);
}
