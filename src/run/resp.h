/*
 * The client side's reader of server responses: a pure, incremental
 * splitter of the byte stream into segments (a line, or the part of a
 * line before a literal's octets) and literal octets, and a parser of a
 * response's first segment.  No I/O, no allocation.
 */
#ifndef IMAPEXEC_RUN_RESP_H
#define IMAPEXEC_RUN_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "lex.h"

/* The longest segment kept whole; a longer one is a protocol error. */
#define RESP_LINE_MAX	65536

enum rd_op {
	RD_MORE = 0,	/* all bytes used, nothing complete yet */
	RD_SEG,		/* a segment is complete: rd->line[0..rd->len) */
	RD_DATA,	/* literal octets: the ev's data[0..len) */
	RD_ERROR	/* a segment over RESP_LINE_MAX */
};

struct rd_ev {
	enum rd_op	 op;
	size_t		 used;		/* input bytes consumed */
	const uint8_t	*data;		/* RD_DATA */
	size_t		 len;
};

struct rdr {
	struct lex	 lx;
	int		 first;		/* the segment starts a response */
	int		 lit;		/* the segment ends in a literal header */
	int		 done;		/* line[] holds a delivered segment */
	uint8_t		 flags;		/* LIT_* of that literal */
	uint64_t	 left;		/* literal octets still to come */
	size_t		 len;		/* segment bytes, CRLF or header CRLF
					   stripped once complete */
	uint8_t		 line[RESP_LINE_MAX + 1];	/* NUL-terminated */
};

/*
 * rd_init(r):
 * Prepare ${r} for the first byte of a response.
 */
void	rd_init(struct rdr *);

/*
 * rd_feed(r, p, n, ev):
 * Take bytes from ${p}[0..${n}) and store in ${ev} what they made: a
 * complete segment in ${r}->line (valid until the next call; ${r}->first
 * says whether it starts a response, ${r}->lit whether it ends with a
 * literal header whose size is ${r}->left), literal octets (a part of
 * ${p}), RD_MORE or RD_ERROR.  ${ev}->used bytes were consumed.
 */
void	rd_feed(struct rdr *, const uint8_t *, size_t, struct rd_ev *);

enum resp_kind {
	R_OTHER = 0,	/* anything this client does not look at */
	R_CONT,		/* "+ text" */
	R_STATUS,	/* OK/NO/BAD/PREAUTH/BYE, tagged or not */
	R_CAPA,		/* "* CAPABILITY ..." */
	R_SERVICE,	/* "* EXECUTE SERVICE name (flags) desc" */
	R_OUTPUT,	/* "* EXECUTE (TAG "t") OUT/ERR data" */
	R_EXIT,		/* "* EXECUTE (TAG "t") EXIT n" */
	R_SIGNAL	/* "* EXECUTE (TAG "t") SIGNAL SIGxxx" */
};

enum resp_status { ST_OK = 1, ST_NO, ST_BAD, ST_PREAUTH, ST_BYE };

#define SVC_INTERACTIVE	0x01
#define SVC_CRLF	0x02

#define RESP_TAG_MAX	64

struct resp {
	enum resp_kind	 kind;
	int		 tagged;	/* R_STATUS: has a tag (in tag) */
	char		 tag[RESP_TAG_MAX + 1];	/* the tag, or the (TAG "t") */
	enum resp_status status;
	const char	*code;		/* inside "[...]", or NULL */
	size_t		 codelen;
	const char	*text;		/* human text, NUL-terminated */
	const char	*caps;		/* R_CAPA, or a [CAPABILITY] code */
	size_t		 capslen;
	int		 err;		/* R_OUTPUT: ERR rather than OUT */
	int		 lit;		/* R_OUTPUT, R_SERVICE: value is a literal */
	const uint8_t	*data;		/* R_OUTPUT: the unquoted octets */
	size_t		 len;
	char		 name[65];	/* R_SERVICE: name; R_SIGNAL: signal */
	int		 flags;		/* R_SERVICE: SVC_* */
	long		 number;	/* R_EXIT */
};

/*
 * resp_parse(s, n, lit, r):
 * Parse the first segment of a response, the ${n} bytes at ${s} (with a
 * NUL at s[n]; ${lit} if a literal header ends it), into ${r}.  Quoted
 * strings are unescaped in place, so ${s} is changed; ${r} points into
 * it.  Anything not understood is R_OTHER; never fails.
 */
void	resp_parse(uint8_t *, size_t, int, struct resp *);

/*
 * resp_has_cap(caps, len, name):
 * Return nonzero if the space-separated list ${caps} (${len} bytes) holds
 * ${name} (case-insensitively).
 */
int	resp_has_cap(const char *, size_t, const char *);

/*
 * resp_cap_value(caps, len, name, vlen):
 * Return the value of the first "${name}=value" in the space-separated
 * list ${caps} (${len} bytes), its length in *${vlen}; NULL if none.
 */
const char *resp_cap_value(const char *, size_t, const char *, size_t *);

#endif /* !IMAPEXEC_RUN_RESP_H */
