/*
 * imapexec-run's encoding of standard input for an interactive EXECUTE:
 * a line of plain text goes as a line, anything else as a literal of the
 * exact octets; and of a quoted string (client.c, login.c).  Pure.
 */
#ifndef IMAPEXEC_RUN_ENC_H
#define IMAPEXEC_RUN_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The longest line sent as text; longer ones go as literals. */
#define ENC_LINE_MAX	4096

/* Room enc_input() needs in the output for ${n} input bytes. */
#define ENC_ROOM(n)	(8 * (size_t)(n) + 64)

/*
 * enc_input(p, n, flush, out):
 * Encode the input bytes ${p}[0..${n}) into ${out}, which has at least
 * ENC_ROOM(${n}) bytes of room.  A last line without its LF that could
 * still become a text line is left unconsumed unless ${flush}.  Return
 * the number of bytes consumed.
 */
size_t	enc_input(const uint8_t *, size_t, int, struct buf *);

/*
 * enc_quoted(p, n, out):
 * Queue the ${n} bytes at ${p}, printable ASCII, in ${out} as a quoted
 * string, a backslash before each '"' and '\\'.  Return 0, or -1 if it did
 * not fit (what fitted stays queued).
 */
int	enc_quoted(const uint8_t *, size_t, struct buf *);

#endif /* !IMAPEXEC_RUN_ENC_H */
