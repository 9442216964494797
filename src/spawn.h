/*
 * Starting child processes: the backend and EXECUTE's programs.
 */
#ifndef IMAPEXEC_SPAWN_H
#define IMAPEXEC_SPAWN_H

#include <sys/resource.h>
#include <sys/types.h>

struct spawn_req {
	char *const	*argv;		/* argv[0] is an absolute path */
	char *const	*envp;		/* the whole environment */
	const char	*dir;		/* working directory, or NULL */
	int		 setsid;	/* start a new session (and group) */
	int		 diekill;	/* SIGKILL it if imapexec dies first
					   (PR_SET_PDEATHSIG) */
	int		 umask;		/* file mode mask, or -1 to keep */
	int		 nlimits;	/* entries in the next two arrays */
	const int	*limit_res;	/* RLIMIT_* */
	const rlim_t	*limit_val;	/* soft and hard limit */
};

struct spawn_proc {
	pid_t		 pid;
	int		 in;		/* write end of the child's stdin */
	int		 out;		/* read end of its stdout */
	int		 err;		/* read end of its stderr */
};

/*
 * spawn(req, proc):
 * Start ${req}->argv with its stdin, stdout and stderr connected to pipes
 * whose other ends (non-blocking, close-on-exec) are stored in ${proc}.
 * The child gets default signal dispositions, an empty signal mask, no
 * other descriptor, and what ${req} asks for.  Return 0 once the program
 * runs, or -1 with errno set (the error of execve(2) itself included).
 * The caller must have called spawn_signals() first.
 */
int	spawn(const struct spawn_req *, struct spawn_proc *);

/*
 * spawn_signals():
 * Put every signal disposition imapexec inherited back to the default, so
 * that its children start with default dispositions (the few imapexec
 * changes later are reset by spawn() itself).
 */
void	spawn_signals(void);

/*
 * spawn_started(reportp, pid):
 * Wait until the child ${pid}, just forked, has executed its program: the
 * close-on-exec pipe *${reportp} (its read end, closed and set to -1
 * here) then reaches end of file.  A child that fails before or in
 * execve(2) writes its errno there instead and exits.  Return 0 once the
 * program runs; or kill and reap the child and return -1 with errno set
 * to its error (or to read(2)'s).
 */
int	spawn_started(int *, pid_t);

/*
 * spawn_kill(pid):
 * Kill the child ${pid} with SIGKILL and reap it; errno is preserved.
 */
void	spawn_kill(pid_t);

/*
 * spawn_close(proc):
 * Close whichever pipe ends of ${proc} are still open.
 */
void	spawn_close(struct spawn_proc *);

/*
 * fd_nonblock(fd):
 * Make ${fd} non-blocking.  Return 0, or -1 with errno set.
 */
int	fd_nonblock(int);

/*
 * close_fd(fdp):
 * Close *${fdp} if it is open and set it to -1.
 */
void	close_fd(int *);

/*
 * close_fds(fdp, ...):
 * close_fd() each descriptor of the list of pointers ${fdp}, ... that
 * ends with NULL; errno is preserved.  For the failure paths.
 */
void	close_fds(int *, ...) __attribute__((sentinel));

#endif /* !IMAPEXEC_SPAWN_H */
