/*
 * Starting child processes: the backend and EXECUTE's programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

/*
 * fd_nonblock(fd):
 * Make ${fd} non-blocking.  Return 0, or -1 with errno set.
 */
int
fd_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return (-1);
	return (0);
}

/*
 * spawn_signals():
 * Put every signal disposition imapexec inherited back to the default, so
 * that its children start with default dispositions (the few imapexec
 * changes later are reset by spawn() itself).
 */
void
spawn_signals(void)
{
	int i;

	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			(void)signal(i, SIG_DFL);
}

/*
 * close_fd(fdp):
 * Close *${fdp} if it is open and set it to -1.
 */
void
close_fd(int *fdp)
{
	if (*fdp >= 0) {
		(void)close(*fdp);
		*fdp = -1;
	}
}

/*
 * close_fds(fdp, ...):
 * close_fd() each descriptor of the list of pointers ${fdp}, ... that
 * ends with NULL; errno is preserved.  For the failure paths.
 */
void
close_fds(int *fdp, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fdp);
	for (; fdp != NULL; fdp = va_arg(ap, int *))
		close_fd(fdp);
	va_end(ap);
	errno = e;
}

/*
 * child(req, fds, report, parent):
 * In the child: set up the process as ${req} asks, with ${fds}[0..2] as
 * stdin, stdout and stderr, then execute the program; ${parent} is
 * imapexec's pid.  On failure write errno to ${report} and exit.
 */
static void __attribute__((noreturn))
child(const struct spawn_req *req, const int fds[3], int report, pid_t parent)
{
	static const int caught[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP,
	    SIGQUIT, SIGPIPE };
	struct rlimit rl;
	sigset_t none;
	int hi[4], i, e;

	/*
	 * Signals are blocked here.  imapexec set every disposition to the
	 * default when it started, but for the ones it catches or ignores:
	 * put those back before unblocking, so that none of its handlers
	 * can run in the child.
	 */
	for (i = 0; i < (int)(sizeof(caught) / sizeof(caught[0])); i++)
		(void)signal(caught[i], SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		goto fail;
	if (req->setsid && setsid() == -1)
		goto fail;
	/*
	 * A service outlives a SIGKILLed imapexec otherwise (it has its own
	 * session: nothing else reaches it).  If ${parent} is gone already,
	 * the signal would never come: give up.
	 */
	if (req->diekill && prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		goto fail;
	if (req->diekill && getppid() != parent) {
		errno = ESRCH;
		goto fail;
	}
	/*
	 * Lift the four descriptors clear of 0..3 first, so that placing
	 * one cannot overwrite another; the report pipe ends up at 3.
	 */
	for (i = 0; i < 3; i++)
		if ((hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) == -1)
			goto fail;
	if ((hi[3] = fcntl(report, F_DUPFD_CLOEXEC, 10)) == -1)
		goto fail;
	report = hi[3];
	for (i = 0; i < 3; i++)
		if (dup2(hi[i], i) == -1)
			goto fail;
	if (dup3(hi[3], 3, O_CLOEXEC) == -1)
		goto fail;
	report = 3;
	closefrom(4);
	for (i = 0; i < req->nlimits; i++) {
		rl.rlim_cur = rl.rlim_max = req->limit_val[i];
		if (setrlimit(req->limit_res[i], &rl) == -1)
			goto fail;
	}
	if (req->dir != NULL && chdir(req->dir) == -1)
		goto fail;
	if (req->umask >= 0)
		(void)umask((mode_t)req->umask);
	execve(req->argv[0], req->argv, req->envp);
fail:
	e = errno;
	(void)write(report, &e, sizeof(e));
	_exit(127);
}

/*
 * spawn(req, proc):
 * Start ${req}->argv with its stdin, stdout and stderr connected to pipes
 * whose other ends (non-blocking, close-on-exec) are stored in ${proc}.
 * The child gets default signal dispositions, an empty signal mask, no
 * other descriptor, and what ${req} asks for.  Return 0 once the program
 * runs, or -1 with errno set (the error of execve(2) itself included).
 * The caller must have called spawn_signals() first.
 */
int
spawn(const struct spawn_req *req, struct spawn_proc *proc)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int report[2] = { -1, -1 }, fds[3], e = 0;
	sigset_t all, old;
	pid_t pid, self;

	proc->pid = -1;
	proc->in = proc->out = proc->err = -1;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1 || pipe2(report, O_CLOEXEC) == -1)
		goto fail;
	fds[0] = in[0];
	fds[1] = out[1];
	fds[2] = err[1];
	/*
	 * vfork(2): the child only makes system calls and then executes or
	 * exits, which is what vfork allows; it saves copying the page
	 * tables for every EXECUTE.  All signals stay blocked until the
	 * child has reset their dispositions.
	 */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) == -1)
		goto fail;
	self = getpid();
	if ((pid = vfork()) == 0)
		child(req, fds, report[1], self);
	e = errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		errno = e;
		goto fail;
	}
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&report[1]);
	if (spawn_started(&report[0], pid) == -1)
		goto fail;
	if (fd_nonblock(in[1]) == -1 || fd_nonblock(out[0]) == -1 ||
	    fd_nonblock(err[0]) == -1) {
		spawn_kill(pid);
		goto fail;
	}
	proc->pid = pid;
	proc->in = in[1];
	proc->out = out[0];
	proc->err = err[0];
	return (0);

fail:
	close_fds(&in[0], &in[1], &out[0], &out[1], &err[0], &err[1],
	    &report[0], &report[1], (int *)NULL);
	return (-1);
}

/*
 * spawn_started(reportp, pid):
 * Wait until the child ${pid}, just forked, has executed its program: the
 * close-on-exec pipe *${reportp} (its read end, closed and set to -1
 * here) then reaches end of file.  A child that fails before or in
 * execve(2) writes its errno there instead and exits.  Return 0 once the
 * program runs; or kill and reap the child and return -1 with errno set
 * to its error (or to read(2)'s).
 */
int
spawn_started(int *reportp, pid_t pid)
{
	ssize_t n;
	int e = 0;

	do
		n = read(*reportp, &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	if (n == -1)
		e = errno;
	else if (n > 0 && n != sizeof(e))
		e = EIO;
	close_fd(reportp);
	if (n == 0)
		return (0);
	/* It has failed, or its state is unknown: it must not run on. */
	errno = e;
	spawn_kill(pid);
	return (-1);
}

/*
 * spawn_kill(pid):
 * Kill the child ${pid} with SIGKILL and reap it; errno is preserved.
 */
void
spawn_kill(pid_t pid)
{
	int e = errno;

	(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	errno = e;
}

/*
 * spawn_close(proc):
 * Close whichever pipe ends of ${proc} are still open.
 */
void
spawn_close(struct spawn_proc *proc)
{
	close_fd(&proc->in);
	close_fd(&proc->out);
	close_fd(&proc->err);
}
