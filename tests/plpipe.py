#!/usr/bin/env python3
"""tests/plpipe.py - a client on a pipe for imapexec -P run outside Dovecot.

    plpipe.py -- COMMAND [ARG...]

Runs COMMAND with its stdin and stdout on pipes, reads the first line it
sends (the login reply), sends the EXECUTE-SYNC NOOP if that line offers
one, then what plpipe.py reads on its own stdin; copies everything
COMMAND sends to stdout until it closes.  Exits with COMMAND's status.
An open fd 3 is passed on to COMMAND."""
import os
import re
import subprocess
import sys


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    try:
        os.fstat(3)
        keep = (3,)     # imapexec -P wants imap's fd 3 (script-login)
    except OSError:
        keep = ()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         pass_fds=keep)
    first = p.stdout.readline()
    sys.stdout.buffer.write(first)
    tok = re.search(rb"EXECUTE-SYNC=([0-9a-f]+)", first)
    if tok:
        p.stdin.write(b"s NOOP " + tok.group(1) + b"\r\n")
    p.stdin.write(sys.stdin.buffer.read())
    p.stdin.close()
    for line in p.stdout:
        sys.stdout.buffer.write(line)
    sys.exit(p.wait())


main()
