#!/usr/bin/env python3
"""tests/plfake.py - a stand-in for imap behind imapexec -P, for tests that
run imapexec outside Dovecot: it hands off at once (the process ends, as
script-login's does) and a child on fd 0/1 sends the login reply, answers
every NOOP OK, LOGOUT with BYE and OK (then exits), and BAD to the rest."""
import os
import sys

# As script-login does, the program imapexec started ends once it has
# handed the session on (imapexec waits for that); imap, a child here,
# serves it.
if os.fork() != 0:
    os._exit(0)
out = os.fdopen(1, "wb", buffering=0)
inp = os.fdopen(0, "rb")
out.write(b"a OK [CAPABILITY IMAP4rev1] Logged in\r\n")
for line in inp:
    words = line.split()
    if len(words) < 2:
        continue
    tag, cmd = words[0], words[1].upper()
    if cmd == b"NOOP":
        out.write(tag + b" OK NOOP completed.\r\n")
    elif cmd == b"LOGOUT":
        out.write(b"* BYE Logging out\r\n" + tag + b" OK Logout completed.\r\n")
        sys.exit(0)
    else:
        out.write(tag + b" BAD Unknown command.\r\n")
