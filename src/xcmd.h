/*
 * The arguments of an EXECUTE command line: a pure parser that takes the
 * line as the scanner delivers it (text, literal headers, literal octets)
 * and yields the service name, its options and its arguments.
 */
#ifndef IMAPEXEC_XCMD_H
#define IMAPEXEC_XCMD_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes all arguments of one EXECUTE may hold together. */
#define XCMD_MAX	(256 * 1024)
/* The most arguments (service name and options included). */
#define XCMD_ARGS	256

/* Kinds of token. */
enum xtok {
	XT_ATOM = 0,
	XT_STRING,		/* quoted string */
	XT_LITERAL,		/* literal or literal8 */
	XT_OPEN,		/* "(" */
	XT_CLOSE		/* ")" */
};

struct xcmd {
	/* Tokens, in order; token i's bytes are buf[off[i]..off[i]+len[i]). */
	uint8_t		 buf[XCMD_MAX];
	size_t		 used;
	size_t		 off[XCMD_ARGS];
	size_t		 len[XCMD_ARGS];
	uint8_t		 type[XCMD_ARGS];
	size_t		 ntok;

	uint8_t		 state;		/* tokenizer state */
	uint64_t	 left;		/* literal octets still to come */
	const char	*error;		/* syntax error, or NULL */
	int		 toolarge;	/* the arguments did not fit */

	/* Filled in by xcmd_end(). */
	const char	*service;	/* NULL for discovery */
	size_t		 servicelen;	/* its length, NULs included */
	const uint8_t	*input;		/* INPUT option, or NULL */
	size_t		 inputlen;
	size_t		 firstarg;	/* token index of the first argument */
};

/*
 * xcmd_init(x):
 * Prepare ${x} for the bytes that follow "tag EXECUTE".
 */
void	xcmd_init(struct xcmd *);

/*
 * xcmd_text(x, p, n):
 * Feed ${n} bytes of the command line at ${p} (literal headers included).
 */
void	xcmd_text(struct xcmd *, const uint8_t *, size_t);

/*
 * xcmd_literal(x, size):
 * The bytes fed last ended a literal header announcing ${size} octets.
 * Return 0 if they will be kept, or -1 if they do not fit (then they are
 * to be refused, or dropped if they come anyway).
 */
int	xcmd_literal(struct xcmd *, uint64_t);

/*
 * xcmd_data(x, p, n):
 * Feed ${n} octets of the current literal at ${p}.
 */
void	xcmd_data(struct xcmd *, const uint8_t *, size_t);

/*
 * xcmd_end(x):
 * The line ended.  Check its syntax and fill in service, input and
 * firstarg.  Return 0, or -1 with a reason in ${x}->error (syntax) or
 * ${x}->toolarge set.
 */
int	xcmd_end(struct xcmd *);

/*
 * xcmd_arg(x, i, len):
 * Return argument ${i} (0 is the first after the service and options) and
 * store its length in ${len}; arguments are NUL-terminated.
 */
const char *xcmd_arg(const struct xcmd *, size_t, size_t *);

/*
 * xcmd_nargs(x):
 * Return the number of arguments after the service and options.
 */
size_t	xcmd_nargs(const struct xcmd *);

#endif /* !IMAPEXEC_XCMD_H */
