/*
 * Deterministic tests of the relay loop (src/relay.c): the loop runs on
 * pipes whose other ends this program holds, and poll(2) is replaced by
 * harness_poll(), where the scripted peers (a backend writing a response,
 * a client reading it on a fixed schedule) act.  The world is closed: no
 * byte moves but in relay_run() or in harness_poll().  So a call of poll
 * that would block for good, after both peers did all they could, is a
 * deadlock, found for certain and not by a timeout.
 *
 * Scenarios:
 *  - wake-up: with c_out full, the client reads all its pipe holds
 *    exactly when poll(2) returned without its descriptor ready (between
 *    poll and the write at once).  This lost the wake-up in imapexec 0.1.0: b_in full, c_out
 *    drained, neither polled (issue 10).
 *  - random: client read sizes and moments drawn from a seeded generator.
 *  - gone: the client sends more than the backend reads (it reads
 *    nothing) and closes both directions while nothing is queued for it:
 *    the relay must see the hang-up and give the backend its grace period
 *    (then kill it).
 *  - append: the client's output is a file opened O_APPEND, which
 *    splice(2) refuses: the relay falls back to read and write.
 *  - fast: the client reads all there is whenever the peers act; most of
 *    a literal's octets must then go by splice(2) (counted), not through
 *    the buffers.
 *  - compressed random, compressed fast: the same with COMPRESS=DEFLATE on
 *    (src/zio.c between the client's descriptors and the buffers); the
 *    client inflates what it reads, must get every byte, and nothing may
 *    be spliced past the compressor.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int harness_poll(struct pollfd *, nfds_t, int);
static ssize_t harness_splice(int, loff_t *, int, loff_t *, size_t,
    unsigned int);
#define poll(p, n, t)	harness_poll(p, n, t)
#define splice(a, b, c, d, n, f)	harness_splice(a, b, c, d, n, f)
#define BACKEND_GRACE_MS	100
#include "../../src/relay.c"
#undef poll
#undef splice
#include "../../src/buf.c"
#include "../../src/conn.c"
#include "../../src/util.c"
#include "../../src/zio.c"

#include <sys/types.h>

static struct conn *cur;	/* the connection relay_run() relays */

/* Stubs for what relay.c calls outside the relay (no own command runs). */
int command_begin(struct conn *c, enum scan_cmd k, const uint8_t *p,
    size_t n, size_t t) { (void)c; (void)k; (void)p; (void)n; (void)t;
    return (-1); }
int command_probing(const struct conn *c) { (void)c; return (0); }
void command_tell_failed(struct conn *c) { (void)c; }
int command_reading(const struct conn *c) { (void)c; return (0); }
void command_feed(struct conn *c, const struct scan_act *a,
    const uint8_t *p) { (void)c; (void)a; (void)p; }
int command_step(struct conn *c) { (void)c; return (0); }
int command_pollfds(struct conn *c, struct pollfd *p, int n)
{ (void)c; (void)p; (void)n; return (0); }
void command_events(struct conn *c, const struct pollfd *p, int n)
{ (void)c; (void)p; (void)n; }
int command_timeout(struct conn *c) { (void)c; return (-1); }
int command_reaped(struct conn *c, pid_t p, int s)
{ (void)c; (void)p; (void)s; return (0); }
void command_abort(struct conn *c) { c->cmd = NULL; }
void command_exiting(struct conn *c, pid_t p) { (void)c; (void)p; }
const char *log_esc(char *d, size_t n, const void *s, size_t k)
{ (void)s; (void)k; if (n > 0) d[0] = '\0'; return (d); }
void log_info(const char *f, ...) { (void)f; }
void log_warn(const char *f, ...) { (void)f; }
void log_warnx(const char *f, ...) { (void)f; }
void fatal(const char *f, ...) { fprintf(stderr, "fatal: %s\n", f); exit(2); }
void close_fd(int *fdp) { if (*fdp >= 0) (void)close(*fdp); *fdp = -1; }

enum sched {
	SCHED_WAKEUP, SCHED_RANDOM, SCHED_GONE, SCHED_APPEND, SCHED_FAST,
	SCHED_ZRANDOM, SCHED_ZFAST	/* RANDOM, FAST with COMPRESS on */
};

/* The peers' ends and their scripts. */
static struct world {
	enum sched	 sched;
	int		 cl_w;		/* client -> imapexec (cl_in) */
	int		 cl_r;		/* imapexec -> client (cl_out) */
	int		 be_w;		/* backend -> imapexec (be.out) */
	int		 be_r;		/* imapexec -> backend (be.in) */
	const uint8_t	*out;		/* what the backend sends */
	size_t		 outlen, outoff;
	uint8_t		*got;		/* what the client received */
	size_t		 gotlen;
	size_t		 clsent;	/* what the client sent (gone) */
	size_t		 spliced;	/* what splice(2) moved */
	unsigned long	 seed;
	unsigned long	 polls;
	int		 deadlock;
	int		 zip;		/* COMPRESS: the client inflates */
	z_stream	 inf;
	int		 zerr;		/* what came did not inflate */
} W;

/*
 * rnd():
 * Return the next number of a small seeded generator (xorshift).
 */
static unsigned long
rnd(void)
{
	W.seed ^= W.seed << 13;
	W.seed ^= W.seed >> 7;
	W.seed ^= W.seed << 17;
	return (W.seed);
}

/*
 * client_read(max):
 * The client reads at most ${max} bytes of what imapexec wrote.
 */
static void
client_read(size_t max)
{
	static uint8_t raw[65536];
	ssize_t n;
	int rc;

	while (W.cl_r >= 0 && max > 0) {
		if (!W.zip) {
			n = read(W.cl_r, W.got + W.gotlen,
			    max < 65536 ? max : 65536);
			if (n <= 0)
				break;
			W.gotlen += (size_t)n;
			max -= (size_t)n;
			continue;
		}
		if ((n = read(W.cl_r, raw, max < sizeof(raw) ? max :
		    sizeof(raw))) <= 0)
			break;
		max -= (size_t)n;
		/* W.got has room for all the backend sent, and no more. */
		W.inf.next_in = raw;
		W.inf.avail_in = (uInt)n;
		W.inf.next_out = W.got + W.gotlen;
		W.inf.avail_out = (uInt)(W.outlen + 32 - W.gotlen);
		rc = inflate(&W.inf, Z_SYNC_FLUSH);
		W.gotlen = (size_t)(W.inf.next_out - W.got);
		if ((rc != Z_OK && rc != Z_BUF_ERROR) || W.inf.avail_in > 0)
			W.zerr = 1;
	}
}

/*
 * backend_act():
 * The backend writes what its pipe takes, and ends (closes its output)
 * once all is written and its input is closed.
 */
static void
backend_act(void)
{
	ssize_t n;

	while (W.be_w >= 0 && W.outoff < W.outlen) {
		n = write(W.be_w, W.out + W.outoff, W.outlen - W.outoff);
		if (n <= 0)
			break;
		W.outoff += (size_t)n;
	}
	/* SCHED_GONE: a backend process that reads nothing, until killed. */
	if (W.be_w >= 0 && W.outoff == W.outlen &&
	    (W.sched != SCHED_GONE || cur->be.pid == -1)) {
		(void)close(W.be_w);
		W.be_w = -1;
	}
}

/*
 * client_send():
 * SCHED_GONE: once it has all the backend sent, the client sends
 * commands until its pipe is full, then closes both its ends.
 */
static void
client_send(void)
{
	static const char cmd[] = "a NOOP\r\n";
	ssize_t n;

	if (W.cl_w < 0)
		return;
	client_read(SIZE_MAX);
	if (W.gotlen < W.outlen)
		return;		/* the greeting first */
	while ((n = write(W.cl_w, cmd, sizeof(cmd) - 1)) > 0)
		W.clsent += (size_t)n;
	if (n == -1 && errno == EAGAIN) {
		(void)close(W.cl_w);
		(void)close(W.cl_r);
		W.cl_w = W.cl_r = -1;
	}
}

/*
 * ready(p, n):
 * Return how many of ${p}[0..${n}) are ready now (poll with no wait).
 */
static int
ready(struct pollfd *p, nfds_t n)
{
	int r;

	while ((r = poll(p, n, 0)) == -1 && errno == EINTR)
		;
	return (r);
}

/*
 * harness_poll(p, n, timeout):
 * poll(2) for relay_run(), with the peers acting around it.
 */
static int
harness_poll(struct pollfd *p, nfds_t n, int timeout)
{
	nfds_t i;
	int r, clready;

	W.polls++;
	if (getenv("TEST_RELAY_TRACE") != NULL) {
		fprintf(stderr, "poll %lu: b_in %zu c_out %zu s_pass %zu "
		    "got %zu sent %zu, fds", W.polls, cur->b_in.len,
		    cur->c_out.len, cur->s_pass, W.gotlen, W.outoff);
		for (i = 0; i < n; i++)
			fprintf(stderr, " %d/%#x", p[i].fd, p[i].events);
		fprintf(stderr, "\n");
	}
	backend_act();
	if (W.sched == SCHED_GONE)
		client_send();
	else if ((W.sched == SCHED_RANDOM || W.sched == SCHED_ZRANDOM) &&
	    rnd() % 3 == 0)
		client_read(1 + rnd() % (3 * CONN_BUFSZ));
	else if (W.sched == SCHED_FAST || W.sched == SCHED_APPEND ||
	    W.sched == SCHED_ZFAST)
		client_read(SIZE_MAX);
	if ((r = ready(p, n)) == 0 && timeout != 0) {
		/* Nothing ready: let the peers do all they can. */
		client_read(SIZE_MAX);
		backend_act();
		if ((r = ready(p, n)) == 0 && timeout < 0) {
			W.deadlock = 1;
			fprintf(stderr, "deadlock: poll(2) would block for "
			    "good (b_in %zu, c_out %zu, s_pass %zu, "
			    "client got %zu of %zu)\n", cur->b_in.len,
			    cur->c_out.len, cur->s_pass, W.gotlen, W.outlen);
			errno = EINTR;
			got_term = SIGTERM;	/* end the loop */
			return (-1);
		}
		if (r == 0)	/* a timeout runs: wait for it */
			while ((r = poll(p, n, timeout)) == -1 &&
			    errno == EINTR)
				;
	}
	if (r > 0 && W.sched == SCHED_WAKEUP) {
		/*
		 * With c_out full, the client drains its pipe just as
		 * poll(2) returned for another descriptor (the backend's),
		 * before the write at once.
		 */
		clready = 0;
		for (i = 0; i < n; i++)
			if (p[i].fd == cur->cl_out &&
			    (p[i].revents & POLLOUT))
				clready = 1;
		if (!clready && buf_room(&cur->c_out) == 0)
			client_read(SIZE_MAX);
	}
	return (r);
}

/*
 * harness_splice(in, inoff, out, outoff, n, flags):
 * splice(2) for relay_run(), counting the bytes it moves.
 */
static ssize_t
harness_splice(int in, loff_t *inoff, int out, loff_t *outoff, size_t n,
    unsigned int flags)
{
	ssize_t r;

	if ((r = splice(in, inoff, out, outoff, n, flags)) > 0)
		W.spliced += (size_t)r;
	return (r);
}

/*
 * xpipe(fds):
 * A pipe of CONN_BUFSZ bytes, non-blocking at both ends.
 */
static void
xpipe(int fds[2])
{
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		perror("pipe2");
		exit(2);
	}
	(void)fcntl(fds[1], F_SETPIPE_SZ, CONN_BUFSZ);
}

/*
 * run(sched, seed, size):
 * Relay a FETCH response with a literal of ${size} octets under
 * schedule ${sched}.  Return 0 if the client got exactly the backend's
 * bytes and the loop never deadlocked, else 1.
 */
static int
run(enum sched sched, unsigned long seed, size_t size)
{
	static struct conn c;
	char head[128];
	uint8_t *out;
	size_t hl, i;
	int a[2], b[2], s[2], d[2], fail = 0;
	pid_t pid;

	hl = (size_t)snprintf(head, sizeof(head),
	    "* PREAUTH hi\r\n* 1 FETCH (BODY[] {%zu}\r\n", size);
	memset(&W, 0, sizeof(W));
	if ((out = malloc(hl + size + 32)) == NULL ||
	    (W.got = malloc(hl + size + 32)) == NULL)
		exit(2);
	memcpy(out, head, hl);
	for (i = 0; i < size; i++)
		out[hl + i] = (uint8_t)"0123456789abcdef\r\n"[i % 18];
	/* Compressed random: octets that do not compress, so that every
	 * buffer on the way fills (compressed fast keeps the ones that do:
	 * then the buffers drain, where splice(2) would be tempted). */
	W.seed = seed;
	for (i = 0; sched == SCHED_ZRANDOM && i < size; i++)
		out[hl + i] = (uint8_t)(rnd() >> 24);
	memcpy(out + hl + size, ")\r\nf OK done\r\n", 14);

	W.sched = sched;
	W.zip = sched == SCHED_ZRANDOM || sched == SCHED_ZFAST;
	if (W.zip && inflateInit2(&W.inf, -15) != Z_OK)
		exit(2);
	W.seed = seed;
	W.out = out;
	W.outlen = hl + size + 14;
	/*
	 * SCHED_GONE: a backend process that reads nothing, forked before
	 * the pipes so that it holds none of their ends.
	 */
	pid = -1;
	if (sched == SCHED_GONE) {
		if ((pid = fork()) == -1)
			exit(2);
		if (pid == 0)
			for (;;)
				pause();
	}
	xpipe(a);
	if (sched == SCHED_APPEND) {
		/* The client's output: a file opened O_APPEND, which
		 * splice(2) refuses (EINVAL). */
		char path[] = "/tmp/test_relay.XXXXXX";

		if ((b[1] = mkstemp(path)) == -1 ||
		    fcntl(b[1], F_SETFL, O_APPEND | O_NONBLOCK) == -1 ||
		    (b[0] = open(path, O_RDONLY)) == -1) {
			perror(path);
			exit(2);
		}
		(void)unlink(path);
	} else
		xpipe(b);
	xpipe(s);
	xpipe(d);
	W.cl_w = a[1];
	W.cl_r = b[0];
	W.be_w = s[1];
	W.be_r = d[0];

	memset(&c, 0, sizeof(c));
	c.cl_in = a[0];
	c.cl_out = b[1];
	c.be.pid = pid;
	c.be.in = d[1];
	c.be.out = s[0];
	c.be.err = -1;
	c.be_status = 0;
	if (buf_init(&c.c_in, CONN_BUFSZ) || buf_init(&c.b_out, CONN_BUFSZ) ||
	    buf_init(&c.b_in, CONN_BUFSZ) || buf_init(&c.c_out, CONN_BUFSZ))
		exit(2);
	scan_init(&c.scan);
	/* COMPRESS on from the first byte (the OK is not part of this). */
	if (W.zip && (c.z = zio_start(&c.c_in, &c.c_out, "")) == NULL)
		exit(2);
	if (sched != SCHED_GONE) {
		(void)close(W.cl_w);	/* the client sends nothing */
		W.cl_w = -1;
	}
	got_term = 0;
	if (relay_signals() == -1) {
		perror("relay_signals");
		exit(2);
	}
	cur = &c;
	(void)relay_run(&c);
	client_read(SIZE_MAX);

	if (W.deadlock)
		fail = 1;
	else if (sched == SCHED_GONE) {
		if (!c.cl_gone || c.be.pid != -1) {
			fprintf(stderr, "gone: hang-up not seen\n");
			fail = 1;
		}
	} else if (W.gotlen != W.outlen || memcmp(W.got, out, W.outlen) ||
	    W.zerr) {
		fprintf(stderr, "client got %zu bytes, backend sent %zu%s\n",
		    W.gotlen, W.outlen, W.zerr ? ", did not inflate" : "");
		fail = 1;
	} else if (W.zip && W.spliced > 0) {
		fprintf(stderr, "compressed: %zu bytes spliced past deflate\n",
		    W.spliced);
		fail = 1;
	} else if (sched == SCHED_FAST && W.spliced < size / 2) {
		fprintf(stderr, "fast: only %zu bytes spliced\n", W.spliced);
		fail = 1;
	} else if (sched == SCHED_APPEND && (W.spliced > 0 || !c.nosplice)) {
		fprintf(stderr, "append: splice(2) was not refused\n");
		fail = 1;
	}
	printf("%s %s seed=%lu size=%zu polls=%lu spliced=%zu\n",
	    fail ? "FAIL" : "ok", sched == SCHED_WAKEUP ? "wake-up" :
	    sched == SCHED_RANDOM ? "random" : sched == SCHED_GONE ? "gone" :
	    sched == SCHED_FAST ? "fast" : sched == SCHED_APPEND ? "append" :
	    sched == SCHED_ZRANDOM ? "compressed random" : "compressed fast",
	    seed, size, W.polls, W.spliced);

	close_fd(&c.cl_in);
	close_fd(&c.cl_out);
	close_fd(&c.be.in);
	close_fd(&c.be.out);
	close_fd(&W.cl_w);
	close_fd(&W.cl_r);
	close_fd(&W.be_w);
	close_fd(&W.be_r);
	buf_free(&c.c_in);
	buf_free(&c.b_out);
	buf_free(&c.b_in);
	buf_free(&c.c_out);
	zio_free(c.z);
	if (W.zip)
		(void)inflateEnd(&W.inf);
	free(out);
	free(W.got);
	return (fail);
}

int
main(int argc, char **argv)
{
	unsigned long seed, k;
	int failed = 0, passed = 0;

	seed = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
	printf("test_relay: seed %lu\n", seed);
	failed += run(SCHED_WAKEUP, 1, 1024 * 1024);
	for (k = 0; k < 20; k++)
		failed += run(SCHED_RANDOM, seed + k,
		    300000 + (seed + k) % 4096);
	failed += run(SCHED_GONE, 1, 0);
	failed += run(SCHED_APPEND, seed, 1024 * 1024);
	failed += run(SCHED_FAST, seed, 1024 * 1024);
	for (k = 0; k < 6; k++)
		failed += run(SCHED_ZRANDOM, seed + k,
		    300000 + (seed + k) % 4096);
	failed += run(SCHED_ZFAST, seed, 1024 * 1024);
	passed = 31 - failed;
	printf("test_relay: %d passed, %d failed\n", passed, failed);
	return (failed > 0);
}
