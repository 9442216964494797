/*
 * The client's input to an interactive EXECUTE session: a pure parser that
 * turns the lines the client sends after "+" into bytes for the program.
 *
 *   DONE            end of input (case does not matter)
 *   CANCEL          stop the program
 *   "quoted"        the unquoted string, then the service's end of line
 *   {n} / {n+}      exactly n octets (also ~{n} and ~{n+}), on a line of
 *                   their own; the line that carried them ends after them
 *   anything else   the line as it is, then the service's end of line
 */
#ifndef IMAPEXEC_XINPUT_H
#define IMAPEXEC_XINPUT_H

#include <stddef.h>
#include <stdint.h>

/* The longest line that is looked at whole; longer ones are raw. */
#define XIN_LINE_MAX	8192

enum xin_op {
	XIN_MORE = 0,	/* more input is needed; nothing consumed */
	XIN_BYTES,	/* deliver data[0..len), then the end of line if eol */
	XIN_LITERAL,	/* a literal header: size, flags; sync needs "+" */
	XIN_DONE,	/* end of input */
	XIN_CANCEL	/* stop the program */
};

struct xin_act {
	enum xin_op	 op;
	size_t		 n;		/* input bytes consumed */
	const uint8_t	*data;		/* XIN_BYTES: what to deliver */
	size_t		 len;
	int		 eol;		/* XIN_BYTES: end of line follows */
	uint64_t	 size;		/* XIN_LITERAL */
	int		 sync;		/* XIN_LITERAL: synchronizing */
};

struct xinput {
	uint8_t		 state;
	uint64_t	 left;		/* literal octets still to come */
	uint8_t		 line[XIN_LINE_MAX];	/* an unquoted string */
};

/*
 * xin_init(x):
 * Prepare ${x} for the first line after the continuation request.
 */
void	xin_init(struct xinput *);

/*
 * xin_scan(x, p, n, room, act):
 * Decide what to do with the client bytes ${p}[0..${n}), delivering at most
 * ${room} bytes of data at once (an end of line not counted; ${room} is at
 * least XIN_LINE_MAX); store the decision in ${act}.  The caller consumes
 * ${act}->n bytes after using ${act}->data.
 */
void	xin_scan(struct xinput *, const uint8_t *, size_t, size_t,
	    struct xin_act *);

/*
 * xin_accept(x):
 * The continuation request for a synchronizing literal has been sent.
 */
void	xin_accept(struct xinput *);

#endif /* !IMAPEXEC_XINPUT_H */
