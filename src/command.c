/*
 * imapexec's own commands, the ones the backend never sees.
 *
 * STARTTLS is refused: it would turn the stream into bytes the scanner
 * cannot read.  COMPRESS DEFLATE is done here, between the client and the
 * scanner (zio.c), so the scanner still reads plain bytes both ways; the
 * backend's own COMPRESS is never used.  EXECUTE lists the services the user may
 * run (no service name) or runs one: its line is parsed by xcmd.c, checked
 * against the service's policy here, and run by session.c.  An own command
 * starts only once the backend owes no tagged response (the scanner holds
 * it until then), and the backend's output is held between two lines until
 * the own command's tagged response has gone out.
 *
 * Failing closed.  An own command is taken up only while the scanner's
 * view is proven (scan.h).  Before it reads a byte past "tag name", it
 * needs proof that the backend, too, stands at a command boundary: it
 * sends the backend "<probe> NOOP", the probe tag being 128 fresh random
 * bits, and goes on only when "<probe> OK" comes back (scan_server.c drops
 * that line) with nothing inconsistent seen.  No answer within
 * probe_timeout, or anything inconsistent, ever (scan.h, failed), and the
 * relay is blind: "tag name" is passed on to the backend unchanged, the
 * rest of its line follows as any other command's, and the backend's
 * answer goes to the client; imapexec answers nothing.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "conn.h"
#include "dassert.h"
#include "log.h"
#include "session.h"
#include "util.h"
#include "xcmd.h"
#include "zio.h"

/* The most groups of a user looked at: Linux's NGROUPS_MAX. */
#define NGROUPS_MAX_SANE	65536
/* Where an own command stands before it may act. */
enum {
	GATE_PROBE = 0,	/* the probe is to be sent */
	GATE_WAIT,	/* the probe is out: waiting for its answer */
	GATE_OPEN,	/* proven: the command reads its line and acts */
	GATE_PASS	/* failed closed: its line goes to the backend */
};

struct command {
	enum scan_cmd	 cmd;
	int		 gate;		/* GATE_* */
	int64_t		 deadline;	/* GATE_WAIT: ms, monotonic */
	char		 head[SCAN_TAG_MAX + 1 + SCAN_NAME_MAX + 1];
	size_t		 headlen;	/* "tag SP name" as the client sent it */
	int		 reading;	/* its line is still coming */
	int		 want_plus;	/* a literal of its line waits for "+" */
	int		 listing;	/* discovery: next service to list */
	size_t		 next;
	char		*argv[XCMD_ARGS + 1];
	struct xcmd	*x;		/* EXECUTE's arguments */
	struct session	*sess;		/* EXECUTE's running service */
	char		 reply[512];	/* the tagged response, once known */
	char		 tag[SCAN_TAG_MAX + 1];
	char		 arg[16];	/* COMPRESS's arguments, bounded */
	size_t		 arglen;	/* sizeof(arg) once too long */
	int		 deflate;	/* COMPRESS accepted: turn it on */
};

static void	reply(struct command *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * command_begin(c, cmd, head, headlen, taglen):
 * Start imapexec's own command ${cmd} on ${c}: the ${headlen} bytes at
 * ${head} are its "tag SP name", the first ${taglen} its tag.  Return 0,
 * or -1 if it cannot even be started (out of memory).
 */
int
command_begin(struct conn *c, enum scan_cmd cmd, const uint8_t *head,
    size_t headlen, size_t taglen)
{
	struct command *k;

	/* Invariant: the scanner reports at most a tag and a short name. */
	DASSERT(headlen < sizeof(k->head) && taglen <= headlen &&
	    taglen <= SCAN_TAG_MAX);
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return (-1);
	k->cmd = cmd;
	k->reading = 1;
	k->gate = GATE_PROBE;	/* gate() refuses at once if it may not */
	memcpy(k->head, head, headlen);
	k->headlen = headlen;
	memcpy(k->tag, head, taglen);
	k->tag[taglen] = '\0';
	if (cmd == CMD_EXECUTE && c->scan.authenticated) {
		if ((k->x = malloc(sizeof(*k->x))) == NULL) {
			free(k);
			return (-1);
		}
		xcmd_init(k->x);
	}
	c->cmd = k;
	return (0);
}

/*
 * command_reading(c):
 * Return nonzero while the command line of ${c}'s own command is still
 * being read through the scanner.
 */
int
command_reading(const struct conn *c)
{
	return (c->cmd != NULL && c->cmd->reading &&
	    c->cmd->gate == GATE_OPEN);
}

/*
 * command_probing(c):
 * Return nonzero while the own command of ${c} waits for the backend's
 * answer to its probe (the backend's output must flow meanwhile).
 */
int
command_probing(const struct conn *c)
{
	return (c->cmd != NULL && c->cmd->gate <= GATE_WAIT);
}

/*
 * command_tell_failed(c):
 * Log, once a connection, that ${c} has failed closed and why.
 */
void
command_tell_failed(struct conn *c)
{
	if (c->scan.failed == NULL || c->scan.fail_told)
		return;
	c->scan.fail_told = 1;
	/* A post-login client that does not sync is the common case. */
	if (c->scan.failed == scan_unsynced)
		log_info("post-login: %s; relaying only, no EXECUTE on this "
		    "connection", c->scan.failed);
	else
		log_warnx("failing closed: %s; relaying only, no EXECUTE on "
		    "this connection from now on", c->scan.failed);
}

/*
 * gate(c, k):
 * Move own command ${k} of ${c} towards acting or refusal: send the probe,
 * take its answer, or time it out.  Return nonzero if anything changed.
 */
static int
gate(struct conn *c, struct command *k)
{
	static const char hex[] = "0123456789abcdef";
	char tag[SCAN_PROBE_TAGLEN + 1], line[SCAN_PROBE_TAGLEN + 8];
	uint8_t rnd[SCAN_PROBE_TAGLEN / 2];
	size_t i;

	if (c->scan.failed != NULL && k->gate <= GATE_WAIT) {
		k->gate = GATE_PASS;
		return (1);
	}
	switch (k->gate) {
	case GATE_PROBE:
		/* Invariant: only a proven view probes, and only when the
		 * backend owes nothing (scan_client.c). */
		DASSERT(scan_aligned(&c->scan));
		DASSERT(c->scan.tags.count == 0 && c->scan.probe != PROBE_SENT);
		if (c->be.in < 0) {
			scan_fail(&c->scan, "the backend's input is closed");
			return (1);
		}
		if (buf_room(&c->b_out) < sizeof(line))
			return (0);
		arc4random_buf(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++) {
			tag[2 * i] = hex[rnd[i] >> 4];
			tag[2 * i + 1] = hex[rnd[i] & 15];
		}
		tag[SCAN_PROBE_TAGLEN] = '\0';
		(void)snprintf(line, sizeof(line), "%s NOOP\r\n", tag);
		(void)buf_add(&c->b_out, line, strlen(line));
		scan_probe_sent(&c->scan, tag);
		k->deadline = now_ms() + (int64_t)c->cf->probe_timeout * 1000;
		k->gate = GATE_WAIT;
		return (1);
	case GATE_WAIT:
		if (c->scan.probe == PROBE_OK) {
			/* Invariant: an OK with anything inconsistent seen
			 * since the probe went out is failed (above). */
			DASSERT(c->scan.failed == NULL);
			c->scan.probe = PROBE_NONE;
			k->gate = GATE_OPEN;
			return (1);
		}
		/*
		 * While bytes wait for the client, the answer may wait behind
		 * them: a slow client is no fault of the backend, so the
		 * probe's time starts again (issue 10).
		 */
		if (c->c_out.len > 0 && !c->be_eof) {
			k->deadline = now_ms() +
			    (int64_t)c->cf->probe_timeout * 1000;
			return (0);
		}
		if (c->be_eof)
			scan_fail(&c->scan, "the backend closed its output "
			    "before it answered the probe");
		else if (now_ms() >= k->deadline)
			scan_fail(&c->scan, "no answer to the probe within "
			    "probe_timeout");
		else
			return (0);
		k->gate = GATE_PASS;
		return (1);
	default:
		return (0);
	}
}

/*
 * pass_on(c, k):
 * Own command ${k} of ${c} failed closed before it acted: pass "tag name"
 * on to the backend as the client sent it (the rest of the line follows
 * through the scanner, and the backend's answer through to the client)
 * and forget ${k}.  Return nonzero if that was done, 0 if there is no
 * room yet.
 */
static int
pass_on(struct conn *c, struct command *k)
{
	size_t taglen = strlen(k->tag);

	if (c->be.in >= 0 && buf_room(&c->b_out) < k->headlen)
		return (0);
	/* Invariant: head is "tag SP name", the name not empty, and not a
	 * byte of the line has been read past it. */
	DASSERT(taglen + 1 < k->headlen && k->head[taglen] == ' ');
	DASSERT(k->reading && k->reply[0] == '\0');
	if (c->be.in >= 0)
		(void)buf_add(&c->b_out, k->head, k->headlen);
	scan_client_disown(&c->scan);
	command_tell_failed(c);
	free(k->x);
	free(k);
	c->cmd = NULL;
	return (1);
}

/*
 * reply(k, fmt, ...):
 * Set the tagged response of ${k}, unless one was set before.
 */
static void
reply(struct command *k, const char *fmt, ...)
{
	va_list ap;

	if (k->reply[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(k->reply, sizeof(k->reply), fmt, ap);
	va_end(ap);
}

/*
 * refuse_early(c, k):
 * Set the response of a command refused whatever its arguments.  Return
 * nonzero if ${k} is one.
 */
static int
refuse_early(struct conn *c, struct command *k)
{
	switch (k->cmd) {
	case CMD_COMPRESS:
		if (c->cf->compress)
			return (0);
		reply(k, "NO [CANNOT] COMPRESS is not available here");
		return (1);
	case CMD_STARTTLS:
		reply(k, "NO [CANNOT] STARTTLS is not available here");
		return (1);
	default:
		break;
	}
	if (!c->scan.authenticated) {
		reply(k, "BAD EXECUTE is only valid in authenticated state");
		return (1);
	}
	return (0);
}

/*
 * in_group(gid):
 * Return nonzero if imapexec, and so every service it starts, runs with
 * group ${gid}: its primary group or one of its supplementary groups.
 * The credentials, never the login name: in post-login mode that name
 * need not be a system account, and one that is (a virtual "daemon")
 * says nothing of the uid and gid the service runs as.
 */
static int
in_group(gid_t gid)
{
	gid_t *groups;
	int i, n, ok = 0;

	if (getegid() == gid || getgid() == gid)
		return (1);
	if ((n = getgroups(0, NULL)) <= 0 || n > NGROUPS_MAX_SANE ||
	    (groups = reallocarray(NULL, (size_t)n, sizeof(*groups))) == NULL)
		return (0);
	if ((n = getgroups(n, groups)) == -1)
		n = 0;
	for (i = 0; i < n && !ok; i++)
		ok = groups[i] == gid;
	free(groups);
	return (ok);
}

/*
 * allowed(c, sv):
 * Return nonzero if the user of ${c} may run ${sv}: it names no users or
 * groups, or names the user's login or a group the services run with.
 */
static int
allowed(const struct conn *c, const struct service *sv)
{
	struct group *gr;
	int i;

	if (sv->users == NULL && sv->groups == NULL)
		return (1);
	for (i = 0; sv->users != NULL && sv->users[i] != NULL; i++)
		if (strcmp(sv->users[i], c->user) == 0)
			return (1);
	for (i = 0; sv->groups != NULL && sv->groups[i] != NULL; i++)
		if ((gr = getgrnam(sv->groups[i])) != NULL &&
		    in_group(gr->gr_gid))
			return (1);
	return (0);
}

/*
 * check_args(k, sv):
 * Check the arguments of ${k} against the policy of ${sv} and fill in
 * ${k}->argv.  Return 0, or -1 with the tagged response set.
 */
static int
check_args(struct command *k, const struct service *sv)
{
	const char *arg;
	size_t i, n, len;

	n = xcmd_nargs(k->x);
	if (n < (size_t)sv->args_min || n > (size_t)sv->args_max) {
		if (sv->args_min == sv->args_max)
			reply(k, "NO [CANNOT] %s takes %d argument%s", sv->name,
			    sv->args_min, sv->args_min == 1 ? "" : "s");
		else
			reply(k, "NO [CANNOT] %s takes %d to %d arguments",
			    sv->name, sv->args_min, sv->args_max);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		arg = xcmd_arg(k->x, i, &len);
		/*
		 * An argument becomes a C string (argv): one with NUL is
		 * refused.  One that starts with '-' could be taken for an
		 * option: refused unless the service allows it (dash_args).
		 */
		if (memchr(arg, '\0', len) != NULL ||
		    (arg[0] == '-' && !sv->dash_args) || (sv->has_pattern &&
		    regexec(&sv->pattern, arg, 0, NULL, 0) != 0)) {
			reply(k, "NO [CANNOT] %s does not accept argument %zu",
			    sv->name, i + 1);
			return (-1);
		}
		k->argv[i] = (char *)arg;
	}
	k->argv[n] = NULL;
	return (0);
}

/*
 * execute(c, k):
 * The EXECUTE line of ${k} is complete: list the services, refuse, or
 * start the service.
 */
static void
execute(struct conn *c, struct command *k)
{
	const struct service *sv;
	const char *why;
	char uesc[256];

	if (xcmd_end(k->x) == -1) {
		if (k->x->toolarge)
			reply(k, "NO [LIMIT] EXECUTE arguments too large");
		else
			reply(k, "BAD %s", k->x->error);
		return;
	}
	if (geteuid() == 0) {
		log_warnx("execute: refused: imapexec runs as root; set user "
		    "in %s", c->cf->file);
		reply(k, "NO [UNAVAILABLE] EXECUTE is disabled on this server");
		return;
	}
	if (c->home == NULL) {
		/* Post-login without a userdb home: see main.c. */
		if (!c->home_told)
			log_warnx("execute: refused: user=<%s> has no home in "
			    "Dovecot's userdb (HOME is not set)", log_esc(uesc,
			    sizeof(uesc), c->user, strlen(c->user)));
		c->home_told = 1;
		reply(k, "NO [UNAVAILABLE] EXECUTE needs a home directory, "
		    "and this account has none");
		return;
	}
	if (k->x->service == NULL) {
		k->listing = 1;
		return;
	}
	/* The name becomes a C string: one holding NUL is no name. */
	if (!name_ok(k->x->service, k->x->servicelen) ||
	    (sv = config_service(c->cf, k->x->service)) == NULL ||
	    !allowed(c, sv)) {
		reply(k, "NO [NONEXISTENT] No such service");
		return;
	}
	if (check_args(k, sv) == -1)
		return;
	k->sess = session_start(c, sv, k->tag, k->argv, k->x->input,
	    k->x->inputlen, sv->interactive && k->x->input == NULL, &why);
	if (k->sess == NULL)
		reply(k, "NO [UNAVAILABLE] %s", why);
}

/*
 * compress_arg(k, p, n):
 * Add the ${n} bytes at ${p} to the arguments of COMPRESS ${k}, bounded.
 */
static void
compress_arg(struct command *k, const uint8_t *p, size_t n)
{
	if (n > sizeof(k->arg) - k->arglen) {
		k->arglen = sizeof(k->arg);	/* too long to be " DEFLATE" */
		return;
	}
	memcpy(k->arg + k->arglen, p, n);
	k->arglen += n;
}

/*
 * compress_feed(c, k, act, p):
 * Read the line of COMPRESS ${k} of ${c} (the part ${act} at ${p}) and,
 * at its end, decide: " DEFLATE" turns compression on, once; anything
 * else is BAD.
 */
static void
compress_feed(struct conn *c, struct command *k, const struct scan_act *act,
    const uint8_t *p)
{
	size_t n;

	switch (act->op) {
	case SCAN_LITERAL:
		/* No literal is a mechanism's name. */
		k->arglen = sizeof(k->arg);
		if (!(act->flags & LIT_NONSYNC)) {
			scan_client_literal(&c->scan, 0);
			k->reading = 0;
			reply(k, "BAD COMPRESS takes one argument: DEFLATE");
		}
		return;
	case SCAN_TEXT:
		compress_arg(k, p, act->n);
		return;
	case SCAN_END:
		compress_arg(k, p, act->n);
		break;
	default:
		return;
	}
	k->reading = 0;
	n = k->arglen;
	if (n > 0 && n < sizeof(k->arg) && k->arg[n - 1] == '\n')
		n--;
	if (n > 0 && n < sizeof(k->arg) && k->arg[n - 1] == '\r')
		n--;
	if (n != 8 || strncasecmp(k->arg, " DEFLATE", 8) != 0)
		reply(k, "BAD COMPRESS takes one argument: DEFLATE");
	else if (c->z != NULL)
		reply(k, "NO [COMPRESSIONACTIVE] DEFLATE is active already");
	else {
		k->deflate = 1;
		reply(k, "OK DEFLATE active");
	}
}

/*
 * command_feed(c, act, p):
 * Give the own command of ${c} the part of its line that the scanner
 * reported in ${act}, ${act}->n bytes at ${p}.
 */
void
command_feed(struct conn *c, const struct scan_act *act, const uint8_t *p)
{
	struct command *k = c->cmd;

	if (k->x == NULL && k->cmd == CMD_COMPRESS && c->cf->compress) {
		compress_feed(c, k, act, p);
		return;
	}
	if (k->x == NULL) {
		/* Refused whatever it says: so are its literals. */
		if (act->op == SCAN_LITERAL && !(act->flags & LIT_NONSYNC)) {
			scan_client_literal(&c->scan, 0);
			k->reading = 0;
			(void)refuse_early(c, k);
		} else if (act->op == SCAN_END) {
			k->reading = 0;
			(void)refuse_early(c, k);
		}
		return;
	}
	switch (act->op) {
	case SCAN_TEXT:
		xcmd_text(k->x, p, act->n);
		break;
	case SCAN_LITERAL:
		xcmd_text(k->x, p, act->n);
		if (xcmd_literal(k->x, act->size) == -1 &&
		    !(act->flags & LIT_NONSYNC)) {
			scan_client_literal(&c->scan, 0);
			k->reading = 0;
			reply(k, "NO [LIMIT] EXECUTE arguments too large");
		} else if (!(act->flags & LIT_NONSYNC))
			k->want_plus = 1;
		break;
	case SCAN_DATA:
		xcmd_data(k->x, p, act->n);
		break;
	case SCAN_END:
		xcmd_text(k->x, p, act->n);
		k->reading = 0;
		execute(c, k);
		break;
	default:
		break;
	}
}

/*
 * list_one(c, sv):
 * Queue the discovery line for ${sv}.  Return 0, or -1 if there is no
 * room now.
 */
static int
list_one(struct conn *c, const struct service *sv)
{
	const char *d = sv->description != NULL ? sv->description : "";
	char flags[64];
	size_t i, n = strlen(d);
	int quoted = n < 1024;

	for (i = 0; i < n && quoted; i++)
		if ((unsigned char)d[i] < 0x20 || (unsigned char)d[i] >= 0x7f ||
		    d[i] == '"' || d[i] == '\\')
			quoted = 0;
	(void)snprintf(flags, sizeof(flags), "%s%s%s",
	    sv->interactive ? "INTERACTIVE" : "",
	    sv->interactive && sv->crlf ? " " : "", sv->crlf ? "CRLF" : "");
	/*
	 * The loader bounds names and descriptions so that the longest
	 * line fits an empty output buffer: the room waited for can come.
	 */
	_Static_assert(NAME_MAX_LEN + DESC_MAX + 128 <= CONN_BUFSZ,
	    "a discovery line must fit the client's buffer");
	DASSERT(strlen(sv->name) <= NAME_MAX_LEN && n <= DESC_MAX);
	if (buf_room(&c->c_out) < strlen(sv->name) + n + 128)
		return (-1);
	if (quoted)
		return (conn_printf(c, "* EXECUTE SERVICE %s (%s) \"%s\"\r\n",
		    sv->name, flags, d));
	(void)conn_printf(c, "* EXECUTE SERVICE %s (%s) {%zu}\r\n", sv->name,
	    flags, n);
	(void)conn_emit(c, d, n);
	return (conn_emit(c, "\r\n", 2));
}

/*
 * compress_on(c, k):
 * Answer COMPRESS ${k} of ${c} OK and turn compression on from the byte
 * after that line: what the client sent after its COMPRESS line is
 * compressed already, what is queued for it up to the OK stays plain.
 * Return nonzero if the answer is queued (OK, or NO if out of memory),
 * 0 if there is no room for it yet.
 */
static int
compress_on(struct conn *c, struct command *k)
{
	char line[sizeof(k->tag) + sizeof(k->reply) + 4];

	(void)snprintf(line, sizeof(line), "%s %s\r\n", k->tag, k->reply);
	if (buf_room(&c->c_out) < strlen(line))
		return (0);
	/* Invariant: the scanner stands at the start of a client line. */
	DASSERT(c->c_pass == 0);
	if ((c->z = zio_start(&c->c_in, &c->c_out, line)) == NULL) {
		log_warnx("COMPRESS: out of memory");
		(void)conn_printf(c, "%s NO [UNAVAILABLE] COMPRESS failed\r\n",
		    k->tag);
	} else if (c->cl_eof) {
		/* The client's end came already: c_in ends only once what
		 * it sent is inflated (relay.c). */
		c->z->in_eof = 1;
		c->cl_eof = 0;
	}
	return (1);
}

/*
 * command_step(c):
 * Let the own command of ${c} make what progress it can without blocking.
 * Return nonzero if anything changed.  The command is freed (and ${c}->cmd
 * set to NULL) once its tagged response has been queued.
 */
int
command_step(struct conn *c)
{
	struct command *k = c->cmd;
	const struct service *sv;
	int moved = 0, rc;

	if (k->gate <= GATE_WAIT)
		return (gate(c, k));
	if (k->gate == GATE_PASS)
		return (pass_on(c, k));
	if (!conn_can_emit(c))
		return (0);
	if (k->want_plus) {
		if (conn_printf(c, "+ Ready for argument\r\n") == -1)
			return (0);
		k->want_plus = 0;
		scan_client_literal(&c->scan, 1);
		return (1);
	}
	if (k->reading)
		return (0);
	while (k->listing) {
		if (k->next == c->cf->nservices) {
			k->listing = 0;
			reply(k, "OK EXECUTE completed");
			break;
		}
		sv = &c->cf->services[k->next];
		if (allowed(c, sv) && list_one(c, sv) == -1)
			return (moved);
		k->next++;
		moved = 1;
	}
	if (k->sess != NULL) {
		if (c->be_eof && c->b_in.len == 0)
			session_backend_gone(k->sess);
		if ((rc = session_step(c, k->sess)) < 1)
			return (moved || rc == 0);
		session_free(k->sess);
		k->sess = NULL;
	} else if (k->deflate && !c->cl_gone) {
		if (!compress_on(c, k))
			return (moved);
	} else if (conn_printf(c, "%s %s\r\n", k->tag, k->reply) == -1)
		return (moved);
	free(k->x);
	free(k);
	c->cmd = NULL;
	return (1);
}

/*
 * command_pollfds(c, pfd, max):
 * Store up to ${max} descriptors the own command of ${c} waits for in
 * ${pfd}; return how many.
 */
int
command_pollfds(struct conn *c, struct pollfd *pfd, int max)
{
	if (c->cmd->sess == NULL)
		return (0);
	return (session_pollfds(c->cmd->sess, pfd, max));
}

/*
 * command_events(c, pfd, n):
 * Handle the poll(2) results ${pfd}[0..${n}) of command_pollfds().
 */
void
command_events(struct conn *c, const struct pollfd *pfd, int n)
{
	if (c->cmd->sess != NULL)
		session_events(c, c->cmd->sess, pfd, n);
}

/*
 * command_timeout(c):
 * Return the milliseconds until the own command's next deadline, or -1.
 */
int
command_timeout(struct conn *c)
{
	int64_t left;

	if (c->cmd->gate == GATE_WAIT) {
		left = c->cmd->deadline - now_ms();
		return (left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left);
	}
	if (c->cmd->sess == NULL)
		return (-1);
	return (session_timeout(c->cmd->sess));
}

/*
 * command_exiting(c, pid):
 * Child ${pid} of ${c} has ended but is not reaped yet.  If it is the own
 * command's program, kill what is left of its process group now.
 */
void
command_exiting(struct conn *c, pid_t pid)
{
	if (c->cmd != NULL && c->cmd->sess != NULL)
		session_exiting(c->cmd->sess, pid);
}

/*
 * command_reaped(c, pid, status):
 * Child ${pid} of ${c} ended with wait(2) status ${status}.  Return nonzero
 * if it belonged to the own command.
 */
int
command_reaped(struct conn *c, pid_t pid, int status)
{
	if (c->cmd == NULL || c->cmd->sess == NULL)
		return (0);
	return (session_reaped(c->cmd->sess, pid, status));
}

/*
 * command_abort(c):
 * The client is gone or imapexec is stopping: end the own command of ${c}
 * at once, killing what it runs.
 */
void
command_abort(struct conn *c)
{
	struct command *k = c->cmd;

	if (k->sess != NULL) {
		session_abort(k->sess);
		return;		/* it ends once its program is reaped */
	}
	free(k->x);
	free(k);
	c->cmd = NULL;
}
