/*
 * The argument lexer shared by both directions of the IMAP scanner.
 *
 * It follows the generic IMAP argument grammar the way Dovecot's parser
 * does: a quoted string starts with '"' at the start of an argument and
 * may escape any byte but CR and LF with '\'; a literal header is '{' (or
 * "~{") at the start of an argument, digits, an optional '+', '}' and
 * CRLF or a bare LF.  Anything else is atom-like text.  A line ends at LF.
 *
 * Where the two could disagree, the lexer errs towards seeing a literal:
 * octets taken for literal data are never taken for a command.  So "{}"
 * and "{+}" are literals of size 0, as Dovecot takes them, although RFC
 * 3501 wants a digit, and a size of any number of digits is a literal
 * (sizes past UINT64_MAX count as UINT64_MAX).
 */
#include "lex.h"

/*
 * lex_reset(l):
 * Put ${l} at the start of an argument.
 */
void
lex_reset(struct lex *l)
{
	l->state = LEX_ARG;
	l->flags = 0;
	l->size = 0;
}

/*
 * lex_open(l, flags):
 * Start reading a literal header with ${flags} in ${l}.
 */
static void
lex_open(struct lex *l, uint8_t flags)
{
	l->state = LEX_SIZE;
	l->flags = flags;
	l->size = 0;
}

/*
 * lex_other(l, c):
 * Handle byte ${c}, which is not LF, as text outside any header or string.
 */
static void
lex_other(struct lex *l, uint8_t c)
{
	switch (c) {
	case ' ':
	case '(':
	case ')':
		l->state = LEX_ARG;
		break;
	default:
		l->state = LEX_ATOM;
		break;
	}
}

/*
 * lex_run(l, p, n, used):
 * Feed up to ${n} bytes at ${p} to ${l}, stopping after the first LF.  Store
 * the number of bytes used in ${used}.  Return LEX_EOL if that LF ends the
 * line, LEX_LITERAL if it ends a literal header (size in ${l}->size, flags
 * in ${l}->flags; the lexer is then ready for the argument after the
 * literal's octets), or LEX_MORE if all ${n} bytes were used mid-line.
 */
enum lex_stop
lex_run(struct lex *l, const uint8_t *p, size_t n, size_t *used)
{
	enum lex_stop stop = LEX_MORE;
	size_t i;
	uint8_t c;

	for (i = 0; i < n && stop == LEX_MORE; i++) {
		c = p[i];
		if (c == '\n') {
			if (l->state == LEX_CLOSE || l->state == LEX_CR) {
				stop = LEX_LITERAL;
				l->state = LEX_ARG;
			} else {
				stop = LEX_EOL;
				lex_reset(l);
			}
			continue;
		}
		switch (l->state) {
		case LEX_ARG:
			if (c == '"')
				l->state = LEX_QUOTED;
			else if (c == '{')
				lex_open(l, 0);
			else if (c == '~')
				l->state = LEX_TILDE;
			else
				lex_other(l, c);
			break;
		case LEX_ATOM:
			lex_other(l, c);
			break;
		case LEX_QUOTED:
			if (c == '\\')
				l->state = LEX_ESCAPE;
			else if (c == '"')
				l->state = LEX_ARG;
			break;
		case LEX_ESCAPE:
			l->state = LEX_QUOTED;
			break;
		case LEX_TILDE:
			if (c == '{')
				lex_open(l, LIT_BINARY);
			else
				lex_other(l, c);
			break;
		case LEX_SIZE:
			if (c >= '0' && c <= '9') {
				/*
				 * Dovecot 2.3.19 takes every size up to
				 * UINT64_MAX for a literal (and hangs up on a
				 * larger one): a larger size stays a literal
				 * here too, of UINT64_MAX octets, which is
				 * erring towards the literal.
				 */
				if (l->size > (UINT64_MAX - (c - '0')) / 10)
					l->size = UINT64_MAX;
				else
					l->size = l->size * 10 + (c - '0');
			} else if (c == '+')
				l->state = LEX_PLUS;
			else if (c == '}')
				l->state = LEX_CLOSE;
			else
				lex_other(l, c);
			break;
		case LEX_PLUS:
			if (c == '}') {
				l->flags |= LIT_NONSYNC;
				l->state = LEX_CLOSE;
			} else
				lex_other(l, c);
			break;
		case LEX_CLOSE:
			if (c == '\r')
				l->state = LEX_CR;
			else
				lex_other(l, c);
			break;
		case LEX_CR:
		default:
			lex_other(l, c);
			break;
		}
	}
	*used = i;
	return (stop);
}
