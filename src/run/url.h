/*
 * imapexec-run's destinations: imaps://[user@]host[:port][/] and
 * imap://[user@]host[:port][/].
 */
#ifndef IMAPEXEC_RUN_URL_H
#define IMAPEXEC_RUN_URL_H

#define URL_PART_MAX	256

struct url {
	int	tls;			/* imaps: TLS from the first byte */
	char	user[URL_PART_MAX];	/* "" if none was given */
	char	host[URL_PART_MAX];	/* without the brackets of [v6] */
	char	port[8];
};

/*
 * url_parse(s, u, err, errlen):
 * Parse ${s} into ${u}.  The user part is %-decoded (it must not decode to
 * NUL, CR or LF).  Return 0, or -1 with a reason in ${err}.
 */
int	url_parse(const char *, struct url *, char *, size_t);

#endif /* !IMAPEXEC_RUN_URL_H */
