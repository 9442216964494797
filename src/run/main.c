/*
 * imapexec-run: run an EXECUTE service from a shell, the way
 * `ssh host command` runs a command.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

/*
 * usage():
 * Print the usage and exit 255, as ssh does.
 */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: imapexec-run [-iv] [-T seconds] -t tunnel service [arg ...]\n"
	    "       imapexec-run [-iv] [-C cafile] [-p passcmd] [-T seconds] "
	    "imap[s]://[user@]host[:port] service [arg ...]\n"
	    "       imapexec-run [-v] [-C cafile] [-p passcmd] [-T seconds] "
	    "-l -t tunnel | -l URL\n");
	exit(RX_FAIL);
}

/*
 * stdfds():
 * Open /dev/null on whichever of descriptors 0, 1 and 2 is closed, as ssh
 * does: else the connection or the tunnel's socket would take one, and
 * "stdin" would be read from the server, the output written to it.
 * Exit 255 if that cannot be done.
 */
static void
stdfds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd < 0)
		exit(RX_FAIL);
	close(fd);
}

int
main(int argc, char *argv[])
{
	struct opts o;
	char err[256];
	long v;
	char *ep;
	int ch;

	stdfds();
	memset(&o, 0, sizeof(o));
	o.timeout = -1;
	/* "+": options end at the first operand, as the service's own do. */
	while ((ch = getopt(argc, argv, "+C:hilp:T:t:vV")) != -1) {
		switch (ch) {
		case 'C':
			o.cafile = optarg;
			break;
		case 'i':
			o.input = 1;
			break;
		case 'l':
			o.list = 1;
			break;
		case 'p':
			o.passcmd = optarg;
			break;
		case 'T':
			v = strtol(optarg, &ep, 10);
			if (*optarg == '\0' || *ep != '\0' || v < 0 ||
			    v > INT_MAX / 1000)
				usage();
			o.timeout = (int)v;
			break;
		case 't':
			o.tunnel = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			printf("imapexec-run %s\n", VERSION);
			return (0);
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (o.tunnel == NULL) {
		if (argc < 1)
			usage();
		if (url_parse(argv[0], &o.url, err, sizeof(err)) != 0) {
			fprintf(stderr, "imapexec-run: %s: %s\n", argv[0], err);
			return (RX_FAIL);
		}
		argc--;
		argv++;
	}
	if (o.list ? argc != 0 : argc < 1)
		usage();
	if (!o.list) {
		o.service = argv[0];
		o.args = argv + 1;
		o.nargs = argc - 1;
	}
	/* -T: 30 s for a URL, none for a tunnel (it may ask for a password). */
	if (o.timeout < 0)
		o.timeout = o.tunnel != NULL ? 0 : 30;
	return (client_run(&o));
}
