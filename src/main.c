/*
 * imapexec: an IMAP filter that adds the EXECUTE command to a
 * preauthenticated IMAP server.  See imapexec(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "env.h"
#include "log.h"
#include "peer.h"
#include "postlogin.h"
#include "relay.h"
#include "spawn.h"
#include "zio.h"

#ifndef VERSION
#define VERSION		"0.0"
#endif
#ifndef CONFIG_FILE
#define CONFIG_FILE	"/etc/imapexec.conf"
#endif

/*
 * usage(fp, status):
 * Print the synopsis to ${fp} and exit with ${status}.
 */
static void __attribute__((noreturn))
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: imapexec [-dhtV] [-c file] [--] "
	    "[backend [arg ...]]\n"
	    "       imapexec -P [-d] [-c file] [--] program [arg ...]\n");
	exit(status);
}

/*
 * std_fds():
 * Make sure descriptors 0, 1 and 2 are open, on /dev/null if need be.
 */
static void
std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		(void)close(fd);
}

/*
 * drop_privileges(cf):
 * If imapexec runs as root, become the account named by ${cf}->user (with
 * its groups); without one, stay root and say so.  Exit on failure.
 */
static void
drop_privileges(const struct config *cf)
{
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return;
	if (cf->user == NULL) {
		log_info("running as root: no user set in %s; EXECUTE is "
		    "refused", cf->file);
		return;
	}
	if ((pw = getpwnam(cf->user)) == NULL)
		fatalx("user=<%s> does not exist", cf->user);
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		fatal("cannot become user=<%s>", cf->user);
	if (pw->pw_uid != 0 && setuid(0) == 0)
		fatalx("could regain root after becoming user=<%s>", cf->user);
}

/*
 * backend_env(cf, pw, e):
 * Build in ${e} the environment of the backend for account ${pw}: PATH,
 * HOME, USER, LOGNAME, the launcher's MAIL and TZ if set, and the
 * configuration's backend_env.  Exit on failure.
 */
static void
backend_env(const struct config *cf, const struct passwd *pw, struct env *e)
{
	static const char *keep[] = { "MAIL", "TZ" };
	const char *v;
	size_t i;

	if (env_set(e, "PATH", cf->path) == -1 ||
	    env_set(e, "HOME", pw->pw_dir) == -1 ||
	    env_set(e, "USER", pw->pw_name) == -1 ||
	    env_set(e, "LOGNAME", pw->pw_name) == -1)
		fatal("environment");
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((v = getenv(keep[i])) != NULL && env_set(e, keep[i], v))
			fatal("environment");
	for (i = 0; cf->backend_env != NULL && cf->backend_env[i] != NULL; i++)
		if (env_put(e, cf->backend_env[i]) == -1)
			fatal("environment");
}

/*
 * sync_token(token):
 * Store SCAN_SYNC_LEN fresh random hex digits in ${token}, NUL-terminated:
 * the post-login sync token (scan.h).
 */
static void
sync_token(char token[SCAN_SYNC_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[SCAN_SYNC_LEN / 2];
	size_t i;

	arc4random_buf(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		token[2 * i] = hex[rnd[i] >> 4];
		token[2 * i + 1] = hex[rnd[i] & 15];
	}
	token[SCAN_SYNC_LEN] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
}

/*
 * conn_setup(c, cf, pw, post):
 * Prepare connection ${c} for account ${pw}, in Dovecot's post-login mode
 * if ${post} (the address is already in ${c}->rip then).  Exit on failure.
 */
static void
conn_setup(struct conn *c, const struct config *cf, const struct passwd *pw,
    int post)
{
	char rip[sizeof(c->rip)], token[SCAN_SYNC_LEN + 1];

	memcpy(rip, c->rip, sizeof(rip));
	memset(c, 0, sizeof(*c));
	c->cf = cf;
	c->user = pw->pw_name;
	c->home = pw->pw_dir;
	c->cl_in = 0;
	c->cl_out = 1;
	c->be_status = -1;
	c->be.pid = c->be.in = c->be.out = c->be.err = -1;
	if (post)
		memcpy(c->rip, rip, sizeof(rip));
	else
		peer_addr(c->rip, sizeof(c->rip));
	if (buf_init(&c->c_in, CONN_BUFSZ) == -1 ||
	    buf_init(&c->b_out, CONN_BUFSZ) == -1 ||
	    buf_init(&c->b_in, CONN_BUFSZ) == -1 ||
	    buf_init(&c->c_out, CONN_BUFSZ) == -1)
		fatal("buffers");
	scan_init(&c->scan);
	if (post) {
		sync_token(token);
		scan_postlogin(&c->scan, token);
		explicit_bzero(token, sizeof(token));
		c->be_sock = 1;
	}
	c->scan.offer_compress = cf->compress != 0;
}

/*
 * conn_free(c):
 * Release what connection ${c} holds.
 */
static void
conn_free(struct conn *c)
{
	spawn_close(&c->be);
	buf_free(&c->c_in);
	buf_free(&c->b_out);
	buf_free(&c->b_in);
	buf_free(&c->c_out);
	zio_free(c->z);
}

/*
 * main(argc, argv):
 * Parse the options, read the configuration, become the configured user,
 * start the backend and relay until it ends.  Return the backend's exit
 * status, 1 on a configuration error, 64 on a usage error.
 */
int
main(int argc, char *argv[])
{
	struct config cf;
	struct conn c;
	struct passwd *pw;
	struct env e = { NULL, 0 };
	struct spawn_req req;
	const char *file = CONFIG_FILE;
	char errbuf[1024], *user = NULL, *home = NULL;
	char uesc[256], resc[4 * sizeof(c.rip) + 4];
	struct sigaction oint;
	struct passwd plpw;
	const char *why;
	int ch, debug = 0, test = 0, explicit = 0, fl0, fl1, status, intign;
	int post = 0;

	std_fds();
	/*
	 * Started with SIGINT ignored (a tunnel of imapexec-run, a job in
	 * the background): keep it so, or ^C at the terminal would end the
	 * session that imapexec-run answers with CANCEL.
	 */
	intign = sigaction(SIGINT, NULL, &oint) == 0 &&
	    oint.sa_handler == SIG_IGN;
	spawn_signals();
	while ((ch = getopt(argc, argv, "+c:dhPtV")) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			explicit = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 'P':
			post = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("imapexec %s\n", VERSION);
			return (0);
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	/*
	 * From here on, fd 2 may be the client's socket: never write it, not
	 * even from a library while the configuration is read (libconfig's
	 * scanner writes there on an @include'd directory).  Under
	 * script-login it is Dovecot's log, which the rest of the chain
	 * writes to: keep it.  -t and -d write to it.
	 */
	if (!test && !debug && !post) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd == -1 || dup2(fd, 2) == -1) {
			log_init(0);
			fatal("/dev/null");
		}
		if (fd != 2)
			(void)close(fd);
	}

	/* -t checks a file: the default one too must exist. */
	if (config_load(&cf, file, explicit || test, errbuf,
	    sizeof(errbuf)) == -1) {
		if (test || debug)
			fprintf(stderr, "imapexec: %s\n", errbuf);
		else {
			log_init(0);
			log_warnx("config: %s", errbuf);
		}
		return (1);
	}
	if (test) {
		printf("configuration OK\n");
		config_free(&cf);
		return (0);
	}

	/*
	 * Post-login: script-login leaves descriptors of Dovecot's master
	 * open beyond fd 3 (its status and log pipes): neither imapexec nor
	 * the chain needs them.  Before log_init(), which opens syslog's.
	 */
	if (post)
		closefrom(POSTLOGIN_COMM_FD + 1);
	log_init(debug);
	if (post && (why = postlogin_check(argc)) != NULL)
		fatalx("-P: not started by script-login: %s", why);

	drop_privileges(&cf);
	if (post) {
		/*
		 * The user is Dovecot's login, which need not be a system
		 * account (script-login -d has given us its uid and gid).
		 */
		memset(&plpw, 0, sizeof(plpw));
		postlogin_identity((const char **)&plpw.pw_name,
		    (const char **)&plpw.pw_dir, c.rip, sizeof(c.rip));
		/*
		 * Without a userdb home, never the uid's: virtual users
		 * share one uid, and would share their services' data.
		 * EXECUTE is refused then (command.c).
		 */
		if (plpw.pw_dir != NULL && plpw.pw_dir[0] != '/')
			plpw.pw_dir = NULL;	/* empty or relative: none */
		pw = &plpw;
	} else if ((pw = getpwuid(getuid())) == NULL)
		fatalx("uid=<%u> has no account", (unsigned)getuid());
	if ((user = strdup(pw->pw_name)) == NULL ||
	    (pw->pw_dir != NULL && (home = strdup(pw->pw_dir)) == NULL))
		fatal("account");
	if (!post)
		backend_env(&cf, pw, &e);
	conn_setup(&c, &cf, pw, post);
	c.user = user;
	c.home = home;

	if (relay_signals() == -1 || (intign && signal(SIGINT, SIG_IGN) ==
	    SIG_ERR))
		fatal("signals");
	memset(&req, 0, sizeof(req));
	req.argv = argc > 0 ? argv : cf.backend;
	req.envp = e.v;
	req.umask = -1;
	if (req.argv[0][0] != '/')
		fatalx("backend=<%s> is not an absolute path", req.argv[0]);
	/* In post-login mode USER and IP come from Dovecot: any bytes. */
	(void)log_esc(uesc, sizeof(uesc), user, strlen(user));
	(void)log_esc(resc, sizeof(resc), c.rip, strlen(c.rip));
	/*
	 * Post-login: the chain gets our environment, as script-login set,
	 * and has handed off (ended) when postlogin_spawn() returns 0.
	 */
	if (post && (status = postlogin_spawn(argv, &c.be, &c.be_status,
	    &why)) == 1) {
		log_warnx("post-login: user=<%s>, rip=<%s>: %s", uesc, resc,
		    why);
		postlogin_bye();
		/* Dovecot would log any other status as one more error. */
		exit(0);
	}
	if (post ? status : spawn(&req, &c.be))
		fatal("backend=<%s>", req.argv[0]);
	log_debug("Connect: user=<%s>, rip=<%s>, backend=<%s>, pid=<%d>",
	    uesc, resc, req.argv[0], (int)c.be.pid);

	/* The client's descriptors are put back as they were at the end. */
	fl0 = fcntl(c.cl_in, F_GETFL);
	fl1 = fcntl(c.cl_out, F_GETFL);
	if (fl0 == -1 || fl1 == -1 || fd_nonblock(c.cl_in) == -1 ||
	    fd_nonblock(c.cl_out) == -1)
		fatal("client descriptors");
	status = relay_run(&c);
	(void)fcntl(c.cl_in, F_SETFL, fl0);
	(void)fcntl(c.cl_out, F_SETFL, fl1);

	log_debug("Disconnected: user=<%s>, status=<%d>", uesc, status);
	conn_free(&c);
	env_free(&e);
	config_free(&cf);
	free(user);
	free(home);
	return (status);
}
