/*
 * Dovecot post-login mode.  Dovecot's imap, after a login, connects to the
 * post-login service; script-login there runs imapexec with the client on
 * fd 0 and 1, fd 3 back to imap, the identity in the environment (USER,
 * IP, LOCAL_IP, each userdb field upper-cased, USERDB_KEYS naming them)
 * and its own path appended to the arguments.  Whatever runs that last
 * argument (script-login again) sends its fd 1 to imap over fd 3 as the
 * client's descriptor.  imapexec gives it one end of a socketpair and
 * relays between the real client and the other end.
 *
 * The hand-off is done when that chain has ended: script-login exits once
 * it has sent the descriptor.  Until then imapexec watches its copy of fd
 * 3: imap closes its end when it has the descriptor, when its post-login
 * timeout (imap -t, 60 s by default) has passed, or when it dies.  A
 * chain still running POSTLOGIN_GRACE_MS after that will never hand off.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dassert.h"
#include "postlogin.h"
#include "util.h"

/* Time a chain has to end once imap closed its end of fd 3. */
#ifndef POSTLOGIN_GRACE_MS
#define POSTLOGIN_GRACE_MS	10000
#endif

/* What the client hears when the hand-off fails. */
#define POSTLOGIN_BYE	"* BYE [UNAVAILABLE] The login could not be " \
	"completed (post-login hand-off failed), try again later\r\n"

/*
 * postlogin_check(argc):
 * Check that imapexec was started as a post-login script: fd 3 open, USER
 * and USERDB_KEYS set, and ${argc} > 0.  Return NULL, or why not.
 */
const char *
postlogin_check(int argc)
{
	if (fcntl(POSTLOGIN_COMM_FD, F_GETFD) == -1)
		return ("fd 3 (the connection to imap) is not open");
	if (getenv("USER") == NULL || getenv("USERDB_KEYS") == NULL)
		return ("USER or USERDB_KEYS is not set");
	if (argc < 1)
		return ("no program to finish the login (script-login)");
	return (NULL);
}

/*
 * postlogin_identity(user, home, rip, riplen):
 * Store the logged-in account's name, home and address (see postlogin.h).
 */
void
postlogin_identity(const char **user, const char **home, char *rip,
    size_t riplen)
{
	const char *v;

	*user = getenv("USER");
	*home = getenv("HOME");
	v = getenv("IP");
	(void)strlcpy(rip, v != NULL ? v : "", riplen);
}

/*
 * child(argv, end, report):
 * In the child: make a process group of its own (a failed hand-off kills
 * all of it), put ${end} on fd 0 and 1, keep fd 2 and 3, close the rest
 * but the close-on-exec ${report}, reset signals and execute ${argv}; on
 * failure write errno to ${report} and exit.
 */
static void __attribute__((noreturn))
child(char *const *argv, int end, int report)
{
	sigset_t none;
	int e, i;

	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			(void)signal(i, SIG_DFL);
	sigemptyset(&none);
	if (setpgid(0, 0) == -1 || dup2(end, 0) == -1 || dup2(end, 1) == -1)
		goto fail;
	/* report is close-on-exec: move it above 3 and close the rest. */
	if (report < 4) {
		if ((e = fcntl(report, F_DUPFD_CLOEXEC, 4)) == -1)
			goto fail;
		report = e;
	}
	for (i = 4; i < report; i++)
		(void)close(i);
	closefrom(report + 1);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
fail:
	e = errno;
	(void)write(report, &e, sizeof(e));
	_exit(127);
}

/*
 * chain_end(pid):
 * Kill the chain's process group ${pid} and reap ${pid}; errno is
 * preserved.
 */
static void
chain_end(pid_t pid)
{
	int e = errno;

	/*
	 * ${pid} is not reaped yet, so no other process or group can have
	 * its id: the group is the chain's (or none, if setpgid failed).
	 */
	(void)kill(-pid, SIGKILL);
	errno = e;
	spawn_kill(pid);
}

/*
 * handoff(pid, sigs, status):
 * Wait until the chain ${pid} has handed the socketpair to imap: it exits
 * with status 0.  ${sigs} are blocked and SIGCHLD is among them; the rest
 * end the wait.  Store the chain's status in *${status} if it exited.
 * Return NULL once it is handed off, or why not (the chain is reaped
 * then, its process group killed).
 */
static const char *
handoff(pid_t pid, const sigset_t *sigs, int *status)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	const char *why = NULL;
	int64_t by = -1, now;
	int sfd, n, timeout;
	pid_t r;

	DASSERT(pid > 0 && sigismember(sigs, SIGCHLD) == 1);
	if ((sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		why = "signalfd failed";
		goto kill;
	}
	for (;;) {
		/* A SIGCHLD may have come before the signalfd. */
		while ((r = waitpid(pid, status, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (r == pid) {
			if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
				why = "the post-login chain failed";
			goto done;
		}
		if (r == -1) {
			why = "waitpid failed";
			goto kill;
		}
		now = now_ms();
		if (by >= 0 && now >= by) {
			why = "imap gave up on the hand-off (its post-login "
			    "timeout, or it ended), the chain did not";
			goto kill;
		}
		n = 0;
		pfd[n].fd = sfd;
		pfd[n++].events = POLLIN;
		/* Only the hang-up of imap's end: POLLHUP, POLLERR. */
		if (by < 0) {
			pfd[n].fd = POSTLOGIN_COMM_FD;
			pfd[n++].events = 0;
		}
		timeout = by < 0 ? -1 : (int)(by - now);
		if (poll(pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			why = "poll failed";
			goto kill;
		}
		if (n > 1 && pfd[1].revents != 0)
			by = now_ms() + POSTLOGIN_GRACE_MS;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD) {
				why = "imapexec was told to end";
				goto kill;
			}
	}

kill:
	chain_end(pid);
done:
	close_fd(&sfd);
	return (why);
}

/*
 * postlogin_bye():
 * Tell the client on fd 1 that the login failed; best effort, never
 * blocking.
 */
void
postlogin_bye(void)
{
	ssize_t n;

	if (fd_nonblock(1) == -1)
		return;
	do
		n = write(1, POSTLOGIN_BYE, sizeof(POSTLOGIN_BYE) - 1);
	while (n == -1 && errno == EINTR);
}

/*
 * postlogin_spawn(argv, proc, status, why):
 * Start the rest of the chain on a socketpair and wait for its hand-off
 * (see postlogin.h).
 */
int
postlogin_spawn(char *const *argv, struct spawn_proc *proc, int *status,
    const char **why)
{
	int sp[2] = { -1, -1 }, report[2] = { -1, -1 }, dupfd = -1, e = 0;
	sigset_t all, old, held;
	pid_t pid;

	DASSERT(argv[0] != NULL && argv[0][0] == '/');
	proc->pid = -1;
	proc->in = proc->out = proc->err = -1;
	*why = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    pipe2(report, O_CLOEXEC) == -1)
		goto fail;
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) == -1)
		goto fail;
	if ((pid = fork()) == 0) {
		(void)close(sp[0]);
		(void)close(report[0]);
		child(argv, sp[1], report[1]);
	}
	e = errno;
	/* Until the hand-off these come through handoff()'s signalfd. */
	sigemptyset(&held);
	(void)sigaddset(&held, SIGCHLD);
	(void)sigaddset(&held, SIGTERM);
	(void)sigaddset(&held, SIGINT);
	(void)sigaddset(&held, SIGHUP);
	(void)sigaddset(&held, SIGQUIT);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	(void)sigprocmask(SIG_BLOCK, &held, NULL);
	if (pid == -1) {
		errno = e;
		goto restore;
	}
	/* As the child does: whichever comes first. */
	(void)setpgid(pid, pid);
	close_fd(&sp[1]);
	close_fd(&report[1]);
	if (spawn_started(&report[0], pid) == -1)
		goto restore;
	if ((dupfd = fcntl(sp[0], F_DUPFD_CLOEXEC, 0)) == -1 ||
	    fd_nonblock(sp[0]) == -1) {
		chain_end(pid);
		goto restore;
	}
	*why = handoff(pid, &held, status);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	/* imap's end of the hand-off is the chain's business alone. */
	(void)close(POSTLOGIN_COMM_FD);
	if (*why != NULL) {
		close_fd(&sp[0]);
		close_fd(&dupfd);
		return (1);
	}
	DASSERT(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
	proc->in = sp[0];
	proc->out = dupfd;
	return (0);

restore:
	e = errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
fail:
	close_fds(&sp[0], &sp[1], &report[0], &report[1], &dupfd, (int *)NULL);
	return (-1);
}
