/*
 * Dovecot post-login mode.  Dovecot's imap, after a login, connects to the
 * post-login service; script-login there runs imapexec with the client on
 * fd 0 and 1, fd 3 back to imap, the identity in the environment (USER,
 * IP, LOCAL_IP, each userdb field upper-cased, USERDB_KEYS naming them)
 * and its own path appended to the arguments.  Whatever runs that last
 * argument (script-login again) sends its fd 1 to imap over fd 3 as the
 * client's descriptor.  imapexec gives it one end of a socketpair and
 * relays between the real client and the other end.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dassert.h"
#include "postlogin.h"

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
 * In the child: put ${end} on fd 0 and 1, keep fd 2 and 3, close the
 * rest but the close-on-exec ${report}, reset signals and execute
 * ${argv}; on failure write errno to ${report} and exit.
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
	if (dup2(end, 0) == -1 || dup2(end, 1) == -1)
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
 * postlogin_spawn(argv, proc):
 * Start the rest of the chain on a socketpair (see postlogin.h).
 */
int
postlogin_spawn(char *const *argv, struct spawn_proc *proc)
{
	int sp[2] = { -1, -1 }, report[2] = { -1, -1 }, dupfd = -1, e = 0;
	sigset_t all, old;
	pid_t pid;

	DASSERT(argv[0] != NULL && argv[0][0] == '/');
	proc->pid = -1;
	proc->in = proc->out = proc->err = -1;
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
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		errno = e;
		goto fail;
	}
	close_fd(&sp[1]);
	close_fd(&report[1]);
	if (spawn_started(&report[0], pid) == -1)
		goto fail;
	/* imap's end of the hand-off is the chain's business alone. */
	(void)close(POSTLOGIN_COMM_FD);
	if ((dupfd = fcntl(sp[0], F_DUPFD_CLOEXEC, 0)) == -1 ||
	    fd_nonblock(sp[0]) == -1) {
		spawn_kill(pid);
		goto fail;
	}
	proc->pid = pid;
	proc->in = sp[0];
	proc->out = dupfd;
	return (0);

fail:
	e = errno;
	close_fd(&sp[0]);
	close_fd(&sp[1]);
	close_fd(&report[0]);
	close_fd(&report[1]);
	close_fd(&dupfd);
	errno = e;
	return (-1);
}
