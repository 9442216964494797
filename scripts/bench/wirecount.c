/*
 * wirecount OUT cmd [arg ...]: run cmd on a pipe pair and relay between
 * our stdin/stdout and it, counting the bytes; once cmd's output ended,
 * append "up down" to OUT: the bytes that went to cmd and came from it
 * (what a Tunnel puts on the wire).  Exits with cmd's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Move what one read gives from ${from} to ${to}; add it to *${n}.
 * Return 0 at end of file or on error. */
static int
pass(int from, int to, unsigned long long *n)
{
	static char buf[1 << 16];
	ssize_t r, w, off;

	do
		r = read(from, buf, sizeof(buf));
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return (0);
	for (off = 0; off < r; off += w) {
		do
			w = write(to, buf + off, (size_t)(r - off));
		while (w == -1 && errno == EINTR);
		if (w <= 0)
			return (0);
	}
	*n += (unsigned long long)r;
	return (1);
}

int
main(int argc, char **argv)
{
	unsigned long long up = 0, down = 0;
	int tochild[2], fromchild[2], status, in_open = 1;
	struct pollfd pfd[2];
	pid_t pid;
	FILE *f;

	if (argc < 3 || pipe(tochild) == -1 || pipe(fromchild) == -1)
		return (2);
	signal(SIGPIPE, SIG_IGN);
	if ((pid = fork()) == -1)
		return (127);
	if (pid == 0) {
		dup2(tochild[0], 0);
		dup2(fromchild[1], 1);
		close(tochild[0]); close(tochild[1]);
		close(fromchild[0]); close(fromchild[1]);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[2], argv + 2);
		_exit(127);
	}
	close(tochild[0]);
	close(fromchild[1]);
	for (;;) {
		pfd[0].fd = in_open ? 0 : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fromchild[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents && !pass(0, tochild[1], &up)) {
			in_open = 0;
			close(tochild[1]);
		}
		if (pfd[1].revents && !pass(fromchild[0], 1, &down))
			break;
	}
	if (in_open)
		close(tochild[1]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if ((f = fopen(argv[1], "a")) != NULL) {
		fprintf(f, "%llu %llu\n", up, down);
		fclose(f);
	}
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}
