/*
 * cpuwrap OUT cmd [arg ...]: run cmd as a child and, once it has exited,
 * append "own_ns total_us" to OUT: the CPU time of cmd's own process
 * (/proc/PID/schedstat of the zombie, nanoseconds) and that of cmd with
 * every descendant it waited for (wait4 rusage, microseconds).  Exits
 * with cmd's status.  stdin/stdout pass through untouched.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char path[64], buf[256];
	unsigned long long own = 0;
	struct rusage ru;
	siginfo_t si;
	int status, fd;
	ssize_t n;
	pid_t pid;
	FILE *f;

	if (argc < 3)
		return (2);
	if ((pid = fork()) == -1)
		return (127);
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	signal(SIGPIPE, SIG_IGN);
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == -1)
		;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if ((fd = open(path, O_RDONLY)) != -1) {
		if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			own = strtoull(buf, NULL, 10);
		}
		close(fd);
	}
	if (wait4(pid, &status, 0, &ru) == -1)
		return (127);
	if ((f = fopen(argv[1], "a")) != NULL) {
		fprintf(f, "%llu %lld\n", own,
		    (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		    1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
		fclose(f);
	}
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
