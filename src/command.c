/*
 * imapexec's own commands.
 */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "conn.h"

struct command {
	enum scan_cmd	 cmd;
	int		 reading;	/* its line is still coming */
	const char	*reply;		/* the tagged response, once known */
	char		 tag[SCAN_TAG_MAX + 1];
};

/*
 * command_begin(c, cmd, tag, taglen):
 * Start imapexec's own command ${cmd} with the ${taglen}-byte tag at ${tag}
 * on ${c}.  Return 0, or -1 if it cannot even be started (out of memory).
 */
int
command_begin(struct conn *c, enum scan_cmd cmd, const uint8_t *tag,
    size_t taglen)
{
	struct command *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return (-1);
	k->cmd = cmd;
	k->reading = 1;
	memcpy(k->tag, tag, taglen);
	k->tag[taglen] = '\0';
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
	return (c->cmd != NULL && c->cmd->reading);
}

/*
 * refusal(cmd):
 * Return the tagged response text for refused command ${cmd}.
 */
static const char *
refusal(enum scan_cmd cmd)
{
	switch (cmd) {
	case CMD_COMPRESS:
		return ("NO [CANNOT] COMPRESS is not available here");
	case CMD_STARTTLS:
		return ("NO [CANNOT] STARTTLS is not available here");
	default:
		return ("BAD EXECUTE is not available yet");
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

	(void)p;
	switch (act->op) {
	case SCAN_LITERAL:
		if (act->flags & LIT_NONSYNC)
			break;
		/* Refuse the octets: the command ends here. */
		scan_client_literal(&c->scan, 0);
		k->reading = 0;
		k->reply = refusal(k->cmd);
		break;
	case SCAN_END:
		k->reading = 0;
		k->reply = refusal(k->cmd);
		break;
	default:
		break;
	}
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

	if (k->reply == NULL || !conn_can_emit(c))
		return (0);
	if (conn_printf(c, "%s %s\r\n", k->tag, k->reply) == -1)
		return (0);
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
	(void)c;
	(void)pfd;
	(void)max;
	return (0);
}

/*
 * command_events(c, pfd, n):
 * Handle the poll(2) results ${pfd}[0..${n}) of command_pollfds().
 */
void
command_events(struct conn *c, const struct pollfd *pfd, int n)
{
	(void)c;
	(void)pfd;
	(void)n;
}

/*
 * command_timeout(c):
 * Return the milliseconds until the own command's next deadline, or -1.
 */
int
command_timeout(struct conn *c)
{
	(void)c;
	return (-1);
}

/*
 * command_reaped(c, pid, status):
 * Child ${pid} of ${c} ended with wait(2) status ${status}.  Return nonzero
 * if it belonged to the own command.
 */
int
command_reaped(struct conn *c, pid_t pid, int status)
{
	(void)c;
	(void)pid;
	(void)status;
	return (0);
}

/*
 * command_abort(c):
 * The client is gone or imapexec is stopping: end the own command of ${c}
 * at once, killing what it runs.
 */
void
command_abort(struct conn *c)
{
	free(c->cmd);
	c->cmd = NULL;
}
