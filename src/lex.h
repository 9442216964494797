/*
 * The argument lexer shared by both directions of the IMAP scanner: it
 * follows one line's arguments byte by byte and tells where the line ends
 * and where a literal's octets begin.  Pure: no I/O, no allocation.
 */
#ifndef IMAPEXEC_LEX_H
#define IMAPEXEC_LEX_H

#include <stddef.h>
#include <stdint.h>

/* Literal flags. */
#define LIT_NONSYNC	0x01	/* {n+}: the octets follow at once */
#define LIT_BINARY	0x02	/* ~{n}: literal8, may hold NUL */

/*
 * The largest literal size an interactive EXECUTE input line may announce
 * (xinput.c).  The scanner's lexer has no such limit: it takes any size
 * for a literal, as Dovecot does.
 */
#define LIT_SIZE_MAX	((uint64_t)INT64_MAX)

/*
 * Where the lexer stands inside a line.  LEX_ARG is the start of an
 * argument: after a space, '(' or ')', a quoted string, a literal's
 * octets, or the command name.
 */
enum lex_state {
	LEX_ARG = 0,
	LEX_ATOM,
	LEX_QUOTED,
	LEX_ESCAPE,
	LEX_TILDE,
	LEX_SIZE,
	LEX_PLUS,
	LEX_CLOSE,
	LEX_CR
};

struct lex {
	uint8_t		state;		/* enum lex_state */
	uint8_t		flags;		/* LIT_* of the literal being read */
	uint64_t	size;		/* literal size read so far */
};

/* What lex_run() stopped at. */
enum lex_stop {
	LEX_MORE = 0,	/* all bytes used, the line goes on */
	LEX_EOL,	/* the line ended with the LF just used */
	LEX_LITERAL	/* the LF just used ends a literal header */
};

/*
 * lex_reset(l):
 * Put ${l} at the start of an argument.
 */
void	lex_reset(struct lex *);

/*
 * lex_run(l, p, n, used):
 * Feed up to ${n} bytes at ${p} to ${l}, stopping after the first LF.  Store
 * the number of bytes used in ${used}.  Return LEX_EOL if that LF ends the
 * line, LEX_LITERAL if it ends a literal header (size in ${l}->size, flags
 * in ${l}->flags; the lexer is then ready for the argument after the
 * literal's octets), or LEX_MORE if all ${n} bytes were used mid-line.
 */
enum lex_stop lex_run(struct lex *, const uint8_t *, size_t, size_t *);

#endif /* !IMAPEXEC_LEX_H */
