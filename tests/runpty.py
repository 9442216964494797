#!/usr/bin/env python3
"""Run a command with a pseudo-terminal as its controlling terminal only,
and talk to it there, for imapexec-run's password prompt tests.

usage: runpty.py LOG STEP... -- COMMAND [ARG...]

COMMAND runs in a session of its own whose controlling terminal is a new
pty; its standard input, output and error are runpty's own (so a test
can redirect them), so it reaches the terminal only through /dev/tty.
Everything COMMAND writes to the terminal is appended, raw, to LOG.  The
steps, in order:

    expect=REGEX   wait until what came since the last expect matches
                   (bytes regex; 30 s at most, else exit 98)
    reading        wait until COMMAND sleeps in a read of the terminal
                   (30 s at most, else exit 98): a ^C typed before that
                   may come between readpassphrase(3)'s setting up of its
                   signal handlers and its read(2), and be lost there,
                   as no person types that fast
    send=TEXT      type TEXT (Python escapes: \\n, \\x03 for ^C, \\351)
    pause=SECONDS  do nothing for that long

Then wait for COMMAND to end (60 s at most, else SIGKILL and exit 99),
append a line "[echo on]" or "[echo off]" (the terminal's ECHO flag at
the end) to LOG, and exit with COMMAND's status (128 + n for signal n).
"""
import fcntl
import os
import re
import select
import signal
import sys
import termios
import time


def main():
    log = open(sys.argv[1], 'ab', buffering=0)
    k = sys.argv.index('--')
    steps, cmd = sys.argv[2:k], sys.argv[k + 1:]
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        os.close(slave)
        os.close(master)
        os.execvp(cmd[0], cmd)
    got = b''
    status = None

    def pump(secs):
        nonlocal got
        r, _, _ = select.select([master], [], [], secs)
        if r:
            try:
                d = os.read(master, 4096)
            except OSError:
                d = b''
            log.write(d)
            got += d

    for step in steps:
        op, _, arg = step.partition('=')
        if op == 'expect':
            deadline = time.time() + 30
            while not re.search(os.fsencode(arg), got):
                if time.time() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    sys.exit(98)
                pump(0.2)
            got = b''
        elif op == 'reading':
            deadline = time.time() + 30
            while not re.match(rb'(wait_woken|n_tty_read)',
                               open('/proc/%d/wchan' % pid, 'rb').read()):
                if time.time() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    sys.exit(98)
                pump(0.05)
        elif op == 'send':
            os.write(master, os.fsencode(arg).decode('unicode_escape')
                     .encode('latin1'))
        elif op == 'pause':
            end = time.time() + float(arg)
            while time.time() < end:
                pump(0.1)
    deadline = time.time() + 60
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        elif time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            sys.exit(99)
        else:
            pump(0.1)
    pump(0)
    echo = termios.tcgetattr(slave)[3] & termios.ECHO
    log.write(b'\n[echo on]\n' if echo else b'\n[echo off]\n')
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


main()
