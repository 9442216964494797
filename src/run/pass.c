/*
 * imapexec-run's passwords.  The buffers are the caller's; every copy made
 * here is wiped before it is released.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <readpassphrase.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pass.h"

extern char **environ;

/*
 * firstline(buf, len):
 * Cut the ${len} bytes at ${buf} at their first CR or LF; NUL-terminate.
 */
static void
firstline(char *buf, size_t len)
{
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
}

/*
 * pass_command(cmd, buf, size, err, errlen):
 * Run ${cmd} with /bin/sh -c and take the first line it prints (without
 * its CR LF) as the password, in ${buf} (${size} bytes).  Return 0, or -1
 * with a reason in ${err} (the command failed, printed nothing, or more
 * than fits).
 */
int
pass_command(const char *cmd, char *buf, size_t size, char *err,
    size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t def;
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	int fds[2], st, rc = -1;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "password command: %s", strerror(errno));
		return (-1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	/* SIGPIPE as usual: it ends a command that prints too much. */
	posix_spawnattr_init(&sa);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigdefault(&sa, &def);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF);
	errno = posix_spawn(&pid, "/bin/sh", &fa, &sa, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(fds[1]);
	if (errno != 0) {
		snprintf(err, errlen, "password command: %s", strerror(errno));
		close(fds[0]);
		return (-1);
	}
	/*
	 * Read it all (the command must not block on a full pipe), up to
	 * one byte more than fits: then the pipe is closed, and a command
	 * that prints without end (yes(1)) ends of SIGPIPE.
	 */
	while (len < size) {
		n = read(fds[0], buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (len >= size)
		snprintf(err, errlen, "password command printed too much");
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		snprintf(err, errlen, "password command failed (%s %d)",
		    WIFEXITED(st) ? "status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	else {
		firstline(buf, len);
		if (buf[0] == '\0')
			snprintf(err, errlen, "password command printed nothing");
		else
			rc = 0;
	}
	if (rc != 0)
		explicit_bzero(buf, size);
	return (rc);
}

/* One netrc token at a time. */
struct ntok {
	const char	*p;
	const char	*end;
	char		 tok[PASS_MAX];
};

/*
 * next(t):
 * Store the next token of ${t} (a word, or a "quoted" one) in ${t}->tok;
 * return 0, or -1 at the end.
 */
static int
next(struct ntok *t)
{
	size_t k = 0;
	int q;

	while (t->p < t->end && strchr(" \t\r\n", *t->p) != NULL)
		t->p++;
	if (t->p >= t->end)
		return (-1);
	q = *t->p == '"';
	if (q)
		t->p++;
	while (t->p < t->end && (q ? *t->p != '"' :
	    strchr(" \t\r\n", *t->p) == NULL)) {
		if (q && *t->p == '\\' && t->p + 1 < t->end)
			t->p++;
		if (k + 1 < sizeof(t->tok))
			t->tok[k++] = *t->p;
		t->p++;
	}
	if (q && t->p < t->end)
		t->p++;
	t->tok[k] = '\0';
	return (0);
}

/*
 * pass_netrc(path, host, user, usize, buf, size, err, errlen):
 * Look ${host} up in the netrc file ${path}: the first "machine" entry for
 * it (case-insensitive) whose login is ${user} (any login when ${user} is
 * empty, which then receives it), else a "default" entry.  Store the
 * password in ${buf}.  Return 1 if found, 0 if not (or no file), -1 with
 * a reason in ${err} if the file is unreadable or readable by others.
 */
int
pass_netrc(const char *path, const char *host, char *user, size_t usize,
    char *buf, size_t size, char *err, size_t errlen)
{
	struct ntok *t;
	struct stat sb;
	char *text, login[PASS_MAX], pw[PASS_MAX];
	int fd, found = 0, in = 0, isdef = 0, have_pw = 0, have_login = 0;
	ssize_t n;
	size_t len = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return (0);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) != 0 || (sb.st_mode & 077) != 0 ||
	    sb.st_size > 1024 * 1024) {
		snprintf(err, errlen, "%s: %s", path,
		    (sb.st_mode & 077) != 0 ? "readable by others, not used" :
		    "over 1 MiB, not used");
		close(fd);
		return (-1);
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL ||
	    (t = malloc(sizeof(*t))) == NULL) {
		free(text);
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return (-1);
	}
	while (len < (size_t)sb.st_size &&
	    ((n = read(fd, text + len, (size_t)sb.st_size - len)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	close(fd);
	t->p = text;
	t->end = text + len;
	login[0] = pw[0] = '\0';
	/*
	 * Entries start at "machine NAME" or "default"; an entry is ours
	 * when complete (at the next entry or the end) and it matches.
	 */
	for (;;) {
		int more = next(t) == 0;

		if (!more || strcmp(t->tok, "machine") == 0 ||
		    strcmp(t->tok, "default") == 0) {
			if (in && have_pw && (user[0] == '\0' || !have_login ||
			    strcmp(login, user) == 0) && (!isdef || !found)) {
				found = isdef ? 2 : 1;
				if (user[0] == '\0' && have_login)
					snprintf(user, usize, "%s", login);
				snprintf(buf, size, "%s", pw);
				if (!isdef)
					break;
			}
			if (!more)
				break;
			isdef = strcmp(t->tok, "default") == 0;
			in = isdef || (next(t) == 0 &&
			    strcasecmp(t->tok, host) == 0);
			have_pw = have_login = 0;
		} else if (strcmp(t->tok, "login") == 0 && next(t) == 0) {
			snprintf(login, sizeof(login), "%s", t->tok);
			have_login = 1;
		} else if (strcmp(t->tok, "password") == 0 && next(t) == 0) {
			snprintf(pw, sizeof(pw), "%s", t->tok);
			have_pw = 1;
		} else if (strcmp(t->tok, "macdef") == 0) {
			/* A macro runs to the next empty line. */
			const char *e = memmem(t->p, (size_t)(t->end - t->p),
			    "\n\n", 2);

			t->p = e != NULL ? e + 2 : t->end;
			in = 0;
		}
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(t, sizeof(*t));
	explicit_bzero(text, len);
	free(t);
	free(text);
	return (found ? 1 : 0);
}

/*
 * pass_prompt(prompt, buf, size):
 * Ask for the password on the terminal (no echo).  Return 0, -1 if
 * there is no terminal, or PASS_INTR if a signal (^C) ended the prompt
 * (readpassphrase(3) has then restored the terminal and raised it again,
 * so the caller's handler has run).
 */
int
pass_prompt(const char *prompt, char *buf, size_t size)
{
	if (readpassphrase(prompt, buf, size, RPP_REQUIRE_TTY) == NULL) {
		explicit_bzero(buf, size);
		return (errno == EINTR ? PASS_INTR : -1);
	}
	return (0);
}
