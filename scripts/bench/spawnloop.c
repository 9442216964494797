/*
 * spawnloop N prog [arg ...]: the R5 baseline.  N times: posix_spawn()
 * prog with its stdin from /dev/null and its stdout and stderr on a pipe,
 * read the pipe to its end and waitpid() for it - what a bare program
 * launcher must do at least.  Prints the mean microseconds per call.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	char buf[4096];
	int i, n, p[2], status;
	pid_t pid;

	if (argc < 3)
		return (2);
	n = atoi(argv[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		if (pipe2(p, O_CLOEXEC) == -1)
			return (1);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		    O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_adddup2(&fa, p[1], 2);
		if (posix_spawn(&pid, argv[2], &fa, NULL, argv + 2,
		    environ) != 0)
			return (1);
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		close(p[0]);
		if (waitpid(pid, &status, 0) == -1 || status != 0)
			return (1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 +
	    (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n);
	return (0);
}
