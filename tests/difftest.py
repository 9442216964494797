#!/usr/bin/env python3
"""difftest.py - differential test of imapexec's scanner against Dovecot.

Usage:
  difftest.py --count N --seed S [--per-conn K] [--mark FILE] [--report F]
              -- DIRECT-CMD... --- FILTERED-CMD...

DIRECT-CMD runs Dovecot's preauth imap; FILTERED-CMD runs imapexec in
front of it with a service "mark" that appends its one argument, as a
line, to FILE (tests/services/mark.sh with MARK_FILE=FILE).

The question: does imapexec take exactly those bytes for command lines
that Dovecot takes for command lines?  A command that imapexec runs itself
(EXECUTE) while Dovecot would have read the same bytes as a literal's data
or as the rest of another line is remote command execution; that must
never happen.

How it is observed.  Every stream is a list of commands generated from a
seeded PRNG (stream i uses seed S*1000003+i, so any stream is reproducible
alone with --only i).  Among ordinary commands (atoms, quoted strings,
literals {n} {n+} ~{n} ~{n+} in every position, MULTIAPPEND, CATENATE,
APPEND to a missing mailbox, IDLE with good and bad terminators, long
lines, odd tags, bare LF, stray CR, pipelining; and, for issue 11,
hidden commands: a command that takes no arguments carrying a literal
whose data is a command line with the next command's tag or another, that
next command an APPEND whose data starts with a marker; ordinary commands
reusing the previous tag; literal sizes at and past 2^63 and 2^64), the
streams carry marker
lines "TAG EXECUTE mark TAG": as commands of their own, inside literal
data, after literal headers Dovecot does not consume, as IDLE terminators,
after unterminated quotes, with invalid tags, and so on.  Each marker's
tag is unique, and is also its argument.

  D = the marker tags that Dovecot, run directly, parsed as command lines
      named EXECUTE: exactly those it answers "TAG BAD ... EXECUTE:
      Unknown command".
  F = the marker tags that imapexec ran: the lines of FILE.

Both runs send the same bytes as long as both answer alike: the client
honours "+" for synchronizing literals and IDLE (waits for "+" or the
command's tagged response; after a tagged response it drops the rest of
that command, as a real client does), and records each such decision.
Checks, per stream:
  - unsafe:      F - D must be empty (imapexec ran what Dovecot took for
                 data): a security bug;
  - lost:        every tag in D - F must have been passed on by imapexec
                 and answered by the backend (its BAD is in the filtered
                 output): imapexec may see a literal where Dovecot does
                 not, on purpose (README, Security), and then the line goes
                 to the backend, which rejects it.  Such cases are counted
                 as "passed to the backend".  Failed closed, imapexec
                 relays blindly: the line goes to the backend, which
                 answers BAD, counted as "passed" too (before issue 21
                 imapexec answered NO [UNAVAILABLE] itself, "refused",
                 which must now never happen; the connections are
                 replaced after a stream in which imapexec logged
                 "failing closed");
  - order:       F is in the order of D;
  - statuses:    every other tag has the same tagged status (OK/NO/BAD) in
                 both runs (markers aside), and the client's decisions at
                 every synchronizing literal and IDLE are the same.
The stream's commands are pipelined; between streams the client sends
a barrier (two NOOPs) and waits for it.  Both runs go in lockstep, stream
by stream, each on its own connection (40 streams a connection, each
stream starting with INBOX selected); when either connection does not
answer the barrier (Dovecot left inside a literal, or gone after "BYE
Literal size too large" or 20 BADs in a row), both are replaced.  Streams
with a mismatch are run once more, alone on fresh connections (a stream
can inherit an odd state from the one before it); what still differs is
reported.  A stream Dovecot itself did not finish (no answer to a "+"
wait or to the barrier, or a BYE while imapexec ran nothing) has no
reference and is counted as "cut short": only the safety check applies
(what Dovecot had not parsed as a command when it stalled inside a
literal or hung up, it never ran).  So does a stream in which imapexec's
probe went into the backend's data (its log says "failing closed: no
answer to the probe"): the two backends then no longer see the same
bytes, as README, Security, documents.  A stream during
which the backend behind imapexec crashed (Dovecot 2.3.19 can trip its
own assertion client_check_command_hangs on some pipelined input, e.g.
seed 1795807515 streams 3907 and 16465; imapexec's -d log shows the
Panic) gets only the safety check (F - D empty) and is counted apart.
So does one where only the backend behind imapexec hung up with "BYE Too
many invalid IMAP commands": a command that completes resets Dovecot's
count of BADs in a row, and whether it is answered before or after the
BADs around it depends on when their bytes arrive, which imapexec's
probe changes (seed 20261129 stream 13160).

Prints the totals; with mismatches, each one's stream number, bytes and
sets, and exits 1.
"""

import argparse
import os
import random
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapdrive import split_responses  # noqa: E402

SHOW = os.environ.get("DIFF_SHOW") == "1"
# Dovecot's; --toomany and --unknown set others (another backend, issue 26)
TOOMANY = re.compile(rb"\* BYE Too many invalid IMAP commands")
WAIT = 3.0          # seconds to wait for "+" or a tagged response
UNKNOWN_EXECUTE = re.compile(rb"command EXECUTE: Unknown command", re.I)
TAGGED = re.compile(rb"([^ \r\n]+) (OK|NO|BAD)\b", re.I)
REFUSED = re.compile(rb"NO \[UNAVAILABLE\] EXECUTE is not available on this connection")
LOGOUT = False       # --logout
PROBE_LOST = re.compile(rb"failing closed: (no answer to the probe|the probe was)")


# ---------------------------------------------------------------- generator

class Gen:
    """Builds one stream: a list of commands, each a list of parts:
    (b"bytes",) to send, ("sync", tag) to wait for "+" or TAG's tagged
    response (then drop the rest of the command), ("plus", tag) the same
    but a "+" wins if it comes within the wait, ("idle", tag) likewise for
    IDLE's "+ idling"."""

    def __init__(self, rnd, sid, hostile=True):
        self.r = rnd
        self.sid = sid
        self.n = 0
        self.markers = []        # every marker tag generated
        self.hostile = hostile   # hidden commands and size boundaries too

    def tag(self, kind="c"):
        self.n += 1
        t = b"s%d%s%d" % (self.sid, kind.encode(), self.n)
        if kind == "c":
            self.prev, self.last = getattr(self, "last", None), t
        return t

    def eol(self):
        return b"\n" if self.r.random() < 0.1 else b"\r\n"

    def marker_line(self, tagvariant=True):
        t = self.tag("e")
        self.markers.append(t)
        r = self.r.random()
        name = self.r.choice([b"EXECUTE", b"execute", b"Execute"])
        svc = b'"mark"' if r < 0.2 else b"mark"
        arg = b'"%s"' % t if self.r.random() < 0.2 else t
        tg = t
        if tagvariant:
            v = self.r.random()
            if v < 0.05:
                tg = t + self.r.choice([b"]", b"%", b"*", b"+", b"{", b"(", b"\\", b"\x80", b'"'])
            elif v < 0.08:
                name = self.r.choice([b"EXECUTEX", b"EXECUTE\tmark", b"UID EXECUTE", b" EXECUTE"])
        return tg + b" " + name + b" " + svc + b" " + arg + self.eol()

    def hidden(self):
        """Literal data: text that holds command lines, for when the
        literal is not consumed (or is, and must stay data)."""
        parts = []
        for _ in range(self.r.randint(0, 3)):
            c = self.r.random()
            if c < 0.45:
                parts.append(self.marker_line())
            elif c < 0.6:
                parts.append(self.tag("h") + b" NOOP\r\n")
            elif c < 0.7:
                parts.append(b"DONE\r\n")
            elif c < 0.8:
                parts.append(self.tag("h") + b" NOOP {3+}\r\nabc\r\n")
            else:
                parts.append(self.r.choice([b"hello", b"x y z", b"* OK", b"{5}", b")", b"\0\x01\xff"]))
        data = b"".join(parts)
        if self.r.random() < 0.3:
            data += b"tail"
        return data or b"x"

    def literal(self, data, allow_sync=True, binary=None, tag=None, wait="sync"):
        """Parts for a literal holding data; a synchronizing one waits as
        wait says ("sync" or "plus")."""
        r = self.r.random()
        sync = allow_sync and r < 0.35
        b8 = self.r.random() < 0.15 if binary is None else binary
        hdr = (b"~" if b8 else b"") + b"{%d%s}" % (len(data), b"" if sync else b"+")
        if self.r.random() < 0.05:
            hdr = hdr.replace(b"{", b"{0", 1)
        hdr += b"\n" if self.r.random() < 0.1 else b"\r\n"
        if sync:
            return [(hdr,), (wait, tag), (data,)]
        return [(hdr + data,)]

    def astring(self, word, tag):
        c = self.r.random()
        if c < 0.5:
            return [(word,)]
        if c < 0.7:
            return [(b'"' + word + b'"',)]
        return self.literal(word, tag=tag, binary=False)

    def hidden_command(self, t):
        """A command that takes no arguments carrying a literal whose data
        is a whole command line (the issue 11 reproduction): Dovecot runs
        the hidden line, the scanner takes it for data.  The hidden line's
        tag is the next command's, another one, or a marker's; the next
        command is an APPEND whose data starts with a marker line."""
        r = self.r
        t2 = self.tag()
        ht = r.choice([t2, t2, self.tag("h")])
        hidden = ht + b" " + r.choice([b"NOOP", b"CAPABILITY", b"CHECK", b"SELECT nosuch",
                                      b"APPEND INBOX {%d+}" % r.choice([2, 40, 60])])
        if r.random() < 0.2:
            hidden = self.marker_line().rstrip(b"\r\n")
        outer = r.choice([b"NOOP", b"CHECK", b"CAPABILITY", b"NAMESPACE", b"UNSELECT"])
        p = [(t + b" " + outer + b" {%d+}\r\n" % (len(hidden) + 2) + hidden + b"\r\n" + self.eol(),)]
        msg = self.marker_line() + b"Subject: h\r\n\r\n" + self.hidden() + b"\r\n"
        # The hidden line may answer t2 before the "+" comes: wait for the
        # "+" itself (the attack sends the data after it), so that the
        # decision does not depend on which of the two arrives first.
        p += [(t2 + b" APPEND INBOX ",)] + self.literal(msg, tag=t2, binary=False, wait="plus") + \
            [(self.eol(),)]
        return p, 1

    def size_boundary(self, t):
        """A literal whose size is at or past 2^63 or 2^64, then a marker
        line: Dovecot 2.3.19 takes sizes up to 2^64-1 for literals (APPEND
        waits for the octets) and hangs up on larger ones."""
        r = self.r
        size = r.choice([b"9223372036854775807", b"9223372036854775808",
                         b"18446744073709551615", b"18446744073709551616",
                         b"99999999999999999999", b"123456789012345678901234567890"])
        plus = r.choice([b"", b"+"])
        hdr = t + r.choice([b" APPEND INBOX ", b" SEARCH TEXT "]) + b"{" + size + plus + b"}\r\n"
        if plus:
            return [(hdr + self.marker_line(False),)], 1
        return [(hdr,), ("sync", t), (self.marker_line(False),)], 1

    def command(self):
        r = self.r
        t = self.tag()
        k = r.random()
        eol = self.eol()
        if self.hostile and k < 0.08:
            return self.hidden_command(t)
        if self.hostile and k < 0.11:
            return self.size_boundary(t)
        if self.hostile and k < 0.13 and self.prev:
            # A tag reused, maybe while the command that had it is still
            # outstanding: a command without waits, so that the client's
            # decisions never hang on which answer comes first.
            return [(self.prev + r.choice([b" NOOP", b" FETCH 1 (FLAGS)", b" CHECK"]) + eol,)], 1
        if self.hostile:
            k = r.random()
        if k < 0.16:
            return [(self.marker_line(),)], 1
        if k < 0.26:    # commands that read no arguments, with a literal
            name = r.choice([b"NOOP", b"CHECK", b"CAPABILITY", b"NAMESPACE", b"UNSELECT"])
            return [(t + b" " + name + b" ",)] + self.literal(self.hidden(), tag=t) + [(eol,)], 1
        if k < 0.36:    # SELECT / EXAMINE: whole line, extra literals
            p = [(t + b" " + r.choice([b"SELECT", b"EXAMINE"]) + b" ",)]
            p += self.astring(r.choice([b"INBOX", b"Archive", b"nosuch"]), t)
            if r.random() < 0.5:
                p += [(b" extra ",)] + self.literal(self.hidden(), tag=t)
            return p + [(eol,)], 1
        if k < 0.44:    # STATUS reads 2 args; CREATE 1
            if r.random() < 0.5:
                p = [(t + b" STATUS ",)] + self.astring(b"INBOX", t) + [(b" (MESSAGES) ",)]
            else:
                p = [(t + b" " + r.choice([b"CREATE", b"DELETE", b"SUBSCRIBE"]) + b" ",)]
                p += self.astring(b"tmp%d" % r.randint(1, 3), t) + [(b" ",)]
            p += self.literal(self.hidden(), tag=t)
            return p + [(eol,)], 1
        if k < 0.54:    # SEARCH with literals in every place
            p = [(t + b" SEARCH",)]
            for _ in range(r.randint(1, 4)):
                c = r.random()
                if c < 0.3:
                    p += [(b" TEXT ",)] + self.literal(self.hidden(), tag=t)
                elif c < 0.45:
                    p += [(b" (TEXT ",)] + self.literal(self.hidden(), tag=t) + [(b")",)]
                elif c < 0.55:
                    p += [(b' "x"',)] + self.literal(self.hidden(), tag=t)
                elif c < 0.65:
                    p += [(b" TEXT \"x {5} \\\" y\"",)]
                elif c < 0.75:
                    p += [(b" TEXT foo",)] + self.literal(self.hidden(), allow_sync=False)
                elif c < 0.85:
                    p += [(b" ALL",)]
                else:
                    p += [(b" ~",)] + [(b"{3+}\r\nabc",)]
            return p + [(eol,)], 1
        if k < 0.58:    # FETCH, big or small
            what = r.choice([b"1 (FLAGS)", b"1:* (UID RFC822.SIZE)", b"1:* BODY.PEEK[]",
                             b"1 BODY.PEEK[HEADER]", b"2 BINARY.PEEK[1]"])
            return [(t + b" FETCH " + what + eol,)], 1
        if k < 0.72:    # APPEND / MULTIAPPEND, good and bad
            mbox = r.choice([b"INBOX", b"INBOX", b"Archive", b"nosuch"])
            p = [(t + b" APPEND ",)] + self.astring(mbox, t)
            for _ in range(r.randint(1, 3)):
                c = r.random()
                if c < 0.2:
                    p += [(b" (\\Seen)",)]
                elif c < 0.27:
                    p += [(b" (\\Bogus)",)]
                if r.random() < 0.15:
                    p += [(r.choice([b' "01-Jan-2024 00:00:00 +0000"', b' "notadate"']),)]
                msg = b"Subject: d%d\r\n\r\n" % r.randint(0, 99) + self.hidden() + b"\r\n"
                p += [(b" ",)] + self.literal(msg, tag=t)
            return p + [(eol,)], 1
        if k < 0.78:    # CATENATE
            p = [(t + b" APPEND " + r.choice([b"INBOX", b"nosuch"]) + b" CATENATE (",)]
            for i in range(r.randint(1, 3)):
                if i:
                    p += [(b" ",)]
                if r.random() < 0.2:
                    p += [(b'URL "/INBOX;UIDVALIDITY=1/;UID=1"',)]
                else:
                    p += [(b"TEXT ",)] + self.literal(b"Subject: c\r\n\r\n" + self.hidden(), tag=t)
            return p + [(b")" + eol,)], 1
        if k < 0.85:    # IDLE and its terminator
            term = r.choice([b"DONE", b"done", b"DoNe", b"DONE ", b" DONE", b"x {5}", None])
            if term is None:
                term = self.marker_line().rstrip(b"\r\n")
            p = [(t + b" IDLE",)]
            if r.random() < 0.2:
                p += [(b" {5+}\r\nDONE",)]
            return p + [(eol,), ("idle", t), (term + self.eol(),)], 1
        if k < 0.89:    # invalid or unusual tags, with literals
            bad = r.choice([b"*", b"+", b"a+b", b'"a b"', b"a{5}", b"\x01x", b"x]", b"x%"])
            good = t + r.choice([b"}", b"[", b"~", b"!", b"\x7f"])
            if r.random() < 0.5:
                return [(bad + b" NOOP {%d+}\r\n" % 0,), (self.hidden() + eol,)], 1
            p = [(good + b" SELECT ",)] + self.literal(b"INBOX", tag=good) + [(eol,)]
            return p, 1
        if k < 0.92:    # long lines
            n = r.choice([1000, 9000, 66000, 70000])
            return [(t + r.choice([b" SEARCH TEXT ", b" NOOP "]) + b"y" * n + b" ",)] + \
                self.literal(self.hidden(), allow_sync=False) + [(eol,)], 1
        if k < 0.95:    # unterminated quote, stray CR: the next line is a command
            if r.random() < 0.5:
                return [(t + b' SEARCH TEXT "x {5}' + eol + self.marker_line(False),)], 2
            return [(t + b" SEARCH ALL\r" + self.marker_line(False),)], 1
        if k < 0.97:    # two spaces, empty command, UID forms
            return [(r.choice([t + b"  SELECT ", t + b" UID FETCH 1 (", t + b" ENABLE "]),)] + \
                self.literal(self.hidden(), allow_sync=False) + [(b")" + eol,)], 1
        return [(t + b" ID (\"a\" ",)] + self.literal(self.hidden(), tag=t) + [(b")" + eol,)], 1

    def stream(self):
        cmds, count = [], 0
        for _ in range(self.r.randint(2, 9)):
            c, k = self.command()
            cmds.append(c)
            count += k
        return cmds, count


# ---------------------------------------------------------------- client

class Conn:
    def __init__(self, argv, log):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=log)
        self.wfd = self.p.stdin.fileno()
        self.rfd = self.p.stdout.fileno()
        os.set_blocking(self.wfd, False)
        os.set_blocking(self.rfd, False)
        self.out = bytearray()
        self.buf = bytearray()
        self.parsed = 0
        self.eof = False
        self.wclosed = False
        self.plus = 0           # continuation requests seen
        self.tagged = {}        # tag -> (status, line) of its first answer
        self.tagn = {}          # tag -> tagged responses so far (reused tags)
        self.order = []         # tags in the order answered
        self.mark = 0

    def _responses(self):
        spans, self.parsed = split_responses(self.buf, self.parsed)
        for s, e in spans:
            line = bytes(self.buf[s:e])
            if line.startswith(b"+"):
                self.plus += 1
                continue
            m = TAGGED.match(line)
            if m and not line.startswith(b"* "):
                tag = m.group(1)
                self.tagn[tag] = self.tagn.get(tag, 0) + 1
                if tag not in self.tagged:
                    self.tagged[tag] = (m.group(2).upper(), line)
                    self.order.append(tag)
        if self.parsed > 1 << 20:
            del self.buf[:self.parsed]
            self.parsed = 0

    def pump(self, timeout):
        """Write what is queued, read what comes, for up to timeout."""
        w = [self.wfd] if self.out and not self.wclosed else []
        r = [] if self.eof else [self.rfd]
        if not r and not w:
            return
        rr, ww, _ = select.select(r, w, [], timeout)
        if ww:
            try:
                n = os.write(self.wfd, self.out[:65536])
                del self.out[:n]
            except BlockingIOError:
                pass
            except OSError:
                self.wclosed = True
                self.out.clear()
        if rr:
            try:
                d = os.read(self.rfd, 1 << 16)
            except BlockingIOError:
                d = None
            except OSError:
                d = b""
            if d == b"":
                self.eof = True
            elif d:
                self.buf += d
                self._responses()

    def until(self, pred, timeout):
        end = time.monotonic() + timeout
        while not pred():
            left = end - time.monotonic()
            if left <= 0 or (self.eof and not pred()):
                return False
            self.pump(min(left, 0.5))
        return True

    def send(self, data):
        if not self.wclosed:
            self.out += data

    def close(self):
        if LOGOUT and not self.wclosed and not self.eof:
            # Mailutils' imap4d spins on end of input ("* BAD Null
            # command" without end): say goodbye first.
            self.send(b"zzl LOGOUT\r\n")
            self.until(lambda: b"zzl" in self.tagged, WAIT)
        if not self.wclosed:
            self.until(lambda: not self.out, WAIT)
            try:
                self.p.stdin.close()
            except OSError:
                pass
            self.wclosed = True
        self.until(lambda: self.eof, WAIT * 2)
        try:
            self.p.wait(timeout=WAIT * 2)
        except subprocess.TimeoutExpired:
            # SIGTERM first: imapexec then ends its backend (a SIGKILL
            # would orphan it, and Mailutils' imap4d spins on end of input)
            self.p.terminate()
            try:
                self.p.wait(timeout=WAIT * 5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        try:
            self.p.stdout.close()
        except OSError:
            pass


def run_stream(conn, cmds, barrier):
    """Send one stream; return (decisions, ok) where ok is False if the
    connection must be dropped."""
    decisions = []
    used = conn.plus
    for cmd in cmds:
        # A wait is for an answer that comes after the command was sent:
        # with a reused tag, an earlier command's answer does not count.
        snap = dict(conn.tagn)
        for part in cmd:
            if len(part) == 1:
                conn.send(part[0])
                continue
            kind, tag = part
            want = used + 1
            def answered():
                return conn.tagn.get(tag, 0) > snap.get(tag, 0)
            if kind == "plus":
                # "+" decides; the tagged response only if no "+" came.
                conn.until(lambda: conn.plus >= want, WAIT)
            got = conn.until(lambda: conn.plus >= want or answered(), WAIT)
            if not got:
                decisions.append((tag, "timeout"))
                return decisions, False
            if conn.plus >= want:
                used = want
                decisions.append((tag, "+"))
                continue
            decisions.append((tag, "tagged"))
            break
        if conn.eof:
            return decisions, False
    b1, b2 = barrier + b"a", barrier + b"b"
    conn.send(b1 + b" NOOP\r\n" + b2 + b" NOOP\r\n")
    ok = conn.until(lambda: b2 in conn.tagged, WAIT)
    # A "+" nobody asked for (an unconsumed sync literal inside data Dovecot
    # ran as a command) would shift the next stream's decisions: resync.
    return decisions, ok and conn.plus == used


def connect(argv, log):
    """A fresh connection, greeted, with INBOX selected (every stream
    starts in that state)."""
    conn = Conn(argv, log)
    conn.until(lambda: b"* PREAUTH" in conn.buf or conn.eof, WAIT * 3)
    conn.send(b"zzs SELECT INBOX\r\n")
    conn.until(lambda: b"zzs" in conn.tagged, WAIT * 3)
    return conn


def run_all(argvs, streams, per_conn, log):
    """Run every stream on both commands in lockstep: stream i goes to the
    direct and the filtered connection, and both are replaced together
    (after per_conn streams, or when either failed its barrier), so that
    both see the same mailbox state."""
    results = [{} for _ in argvs]
    conns, n = None, 0
    for i, (cmds, _) in streams:
        if conns is None or n >= per_conn:
            for c in conns or []:
                c.close()
            conns, n = [connect(a, log) for a in argvs], 0
        ok = True
        for k, c in enumerate(conns):
            bye = c.buf.count(b"* BYE")
            log.flush()
            at = os.path.getsize(log.name) if k == 1 else 0
            dec, good = run_stream(c, cmds, b"s%dzb" % i)
            crashed = probed = False
            if k == 1:
                if c.eof and not good:
                    time.sleep(0.1)
                log.flush()
                with open(log.name, "rb") as f:
                    f.seek(at)
                    seg = f.read()
                # Did the backend behind imapexec die (Dovecot 2.3.19 has
                # an assertion, client_check_command_hangs, that some
                # pipelined input trips)?  imapexec's -d log says so.
                crashed = c.eof and not good and b"Panic:" in seg
                # Did imapexec's probe go unanswered or answered otherwise
                # (it became data, or ended a line, in the backend)?
                probed = PROBE_LOST.search(seg) is not None
                # Failed closed: no EXECUTE would run on this connection
                # any more; start the next stream on fresh ones.
                if b"failing closed" in seg:
                    ok = False
            # Did Dovecot hang up on 20 invalid commands in a row?
            toomany = TOOMANY.search(c.buf, c.mark) is not None
            results[k][i] = (dec, c.tagged, c.buf.count(b"* BYE") > bye or c.eof, good,
                             (crashed, probed, toomany))
            if SHOW:
                sys.stdout.buffer.write(b"==== %s stream %d:\n" % (b"direct" if k == 0 else b"filtered", i) + bytes(c.buf[c.mark:]) + b"\n")
            c.mark = len(c.buf)
            ok = ok and good
        n += 1
        if not ok:
            for c in conns:
                c.close()
            conns = None
    for c in conns or []:
        c.close()
    return results


def execute_ids(tagged, sid, what=None):
    """The marker ids of the lines answered "BAD ... EXECUTE: Unknown
    command" (or what else matches what), in the order answered.  A
    marker's tag ends in its id; text before it in the same line (literal
    data run together with it) makes a longer tag for the same line."""
    pre = re.compile(rb"(s%de\d+)$" % sid)
    what = what or UNKNOWN_EXECUTE
    ids = []
    for t, (st, line) in tagged.items():
        m = pre.search(t)
        if m and what.search(line):
            ids.append(m.group(1))
    return ids


def F_of(ran, i):
    return ran.get(i, [])


def tags_of(tagged, sid):
    pre = re.compile(rb"s%d[a-z]\d+" % sid)
    return {t: v for t, v in tagged.items() if pre.match(t)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", type=int, default=None)
    ap.add_argument("--start", type=int, default=0,
                    help="first stream number (to split one seed's streams over runs)")
    ap.add_argument("--per-conn", type=int, default=40)
    ap.add_argument("--mark", required=True)
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--dump", help="write stream i's bytes to DUMP.i on mismatch")
    ap.add_argument("--unknown", help="regex of the backend's answer to an unknown "
                    "command (default Dovecot's); \".\" counts every tagged answer")
    ap.add_argument("--toomany", help="regex of the backend's BYE after too many "
                    "invalid commands (default Dovecot's)")
    ap.add_argument("--logout", action="store_true",
                    help="send LOGOUT before closing a connection")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    global UNKNOWN_EXECUTE, TOOMANY, LOGOUT
    if a.unknown:
        UNKNOWN_EXECUTE = re.compile(a.unknown.encode(), re.I)
    if a.toomany:
        TOOMANY = re.compile(a.toomany.encode())
    LOGOUT = a.logout
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    k = rest.index("---")
    direct, filtered = rest[:k], rest[k + 1:]

    ids = [a.only] if a.only is not None else range(a.start, a.start + a.count)
    streams, markers, ncmds = [], {}, 0
    for i in ids:
        g = Gen(random.Random(a.seed * 1000003 + i), i)
        cmds, c = g.stream()
        streams.append((i, (cmds, c)))
        markers[i] = g.markers
        ncmds += c

    t0 = time.monotonic()
    with open(a.log, "ab") as log:
        dres, fres = run_all([direct, filtered], streams, a.per_conn, log)
    ran = {}
    try:
        with open(a.mark, "rb") as f:
            for line in f.read().split(b"\n"):
                m = re.match(rb"s(\d+)e\d+$", line)
                if m:
                    ran.setdefault(int(m.group(1)), []).append(line)
                elif line:
                    ran.setdefault(-1, []).append(line)
    except FileNotFoundError:
        pass

    def compare(i, cmds, dr, fr, stats):
        ddec, dtag, dbye, dok, (_, _, dtoomany) = dr
        fdec, ftag, fbye, fok, (fcrash, fprobed, ftoomany) = fr
        F = F_of(ran, i)
        D = execute_ids(dtag, i)
        if not dok or (dbye and not F):
            # Dovecot hung up or stalled in this stream (20 BADs in a row,
            # a literal too large, a literal it still waits for): what it
            # would have parsed after that is unknown, and imapexec ran
            # nothing: nothing to compare.  (Seen: after IDLE ends with
            # "BAD Expected DONE", Dovecot 2.3.19 may leave a pipelined
            # APPEND unanswered until more input comes, which then never
            # does.  The stream numbers are listed with --verbose.)
            # The safety check still applies: what Dovecot had not parsed
            # as a command when it stalled (inside a literal) or hung up
            # it never ran, so imapexec must not have run it either.
            stats["short"] += 1
            stats["shortlist"].append(i)
            unsafe = [t for t in F if t not in D]
            if unsafe:
                return ["UNSAFE (stream cut short by Dovecot): imapexec ran %r, Dovecot "
                        "parsed only %r" % (unsafe, D)]
            return None
        dt, ft = tags_of(dtag, i), tags_of(ftag, i)
        probs = []
        unsafe = [t for t in F if t not in D]
        if unsafe:
            probs.append("UNSAFE: imapexec ran %r, Dovecot took them for data" % unsafe)
        refused = execute_ids(ftag, i, REFUSED)
        stats["refused"] += len(refused)
        if refused:
            probs.append("imapexec answered %r itself after failing closed "
                         "(a blind relay answers nothing)" % refused)
        if fprobed:
            # imapexec's probe became data (or ended a line) in the
            # backend, as documented (README, Security): the two backends
            # no longer see the same bytes; only the safety check applies.
            stats["probed"] += 1
            return probs
        if fcrash:
            # The backend behind imapexec crashed: the rest of the stream
            # was never run there; only the safety check applies.
            stats["crash"] += 1
            stats["crashlist"].append(i)
            return probs
        if ftoomany and not dtoomany:
            # Dovecot behind imapexec hung up on 20 invalid commands in a
            # row where the direct one did not.  A command that completes
            # resets that count, and Dovecot answers it before or after
            # the BADs around it depending on when their input arrives;
            # imapexec, holding the client while an own command waits for
            # its probe, makes later lines arrive later (seed 20261129
            # stream 13160: a hidden NOOP answered before three BADs
            # instead of after them).  The rest of the stream never ran
            # there; only the safety check applies.
            stats["toomany"] += 1
            stats["toomanylist"].append(i)
            return probs
        stats["d"] += len(D)
        fpassed = execute_ids(ftag, i)
        for t in D:
            if t in F:
                continue
            if t in fpassed:
                stats["passed"] += 1
            elif t in refused:
                stats["dref"] += 1
            else:
                probs.append("lost: Dovecot parses %r as EXECUTE, imapexec neither ran it "
                             "nor passed it on" % t)
        dorder = [t for t in D if t in F]
        if dorder != F[:len(dorder)] or len(F) != len(set(F)):
            probs.append("order: Dovecot %r, imapexec %r" % (dorder, F))
        for t, (st, _) in dt.items():
            if re.match(rb"s\d+e", t):
                continue
            stats["cmp"] += 1
            if t not in ft or ft[t][0] != st:
                probs.append("status of %r: direct %s, filtered %s"
                             % (t, st, ft[t][0] if t in ft else "none"))
        for t in ft:
            if t not in dt and not re.match(rb"s\d+e", t):
                probs.append("tag %r answered only through imapexec" % t)
        if ddec != fdec:
            probs.append("decisions: direct %r, filtered %r" % (ddec, fdec))
        if not dok or not fok:
            probs.append("stalled: direct %s, filtered %s" % (
                "ok" if dok else "no barrier", "ok" if fok else "no barrier"))
        return probs

    def compare_all(sel):
        stats = {"short": 0, "d": 0, "passed": 0, "cmp": 0, "shortlist": [],
                 "crash": 0, "crashlist": [], "refused": 0, "dref": 0, "probed": 0,
                 "toomany": 0, "toomanylist": []}
        bad = []
        for i, (cmds, _) in sel:
            probs = compare(i, cmds, dres[i], fres[i], stats)
            if probs:
                bad.append((i, probs, cmds))
        return stats, bad

    stats, bad = compare_all(streams)
    if bad:
        # Run the streams that failed again, each on fresh connections:
        # a stream may have inherited an odd state (a command Dovecot still
        # works on, a literal it still reads) from the one before it.
        again = [s for s in streams if s[0] in {b[0] for b in bad}]
        reran = len(again)
        with open(a.mark, "ab") as f:
            pass
        ran_before = {k: list(v) for k, v in ran.items()}
        for i, _ in again:
            ran.pop(i, None)
        marks_at = os.path.getsize(a.mark) if os.path.exists(a.mark) else 0
        with open(a.log, "ab") as log:
            d2, f2 = run_all([direct, filtered], again, 1, log)
        dres.update(d2)
        fres.update(f2)
        with open(a.mark, "rb") as f:
            f.seek(marks_at)
            for line in f.read().split(b"\n"):
                m = re.match(rb"s(\d+)e\d+$", line)
                if m:
                    ran.setdefault(int(m.group(1)), []).append(line)
        for k, v in ran_before.items():
            if k not in {s[0] for s in again}:
                ran[k] = v
        stats, bad = compare_all(streams)
    else:
        reran = 0
    nd, npassed, ncmp, nbye = stats["d"], stats["passed"], stats["cmp"], stats["short"]
    nmark = sum(len(v) for v in markers.values())
    if ran.get(-1):
        bad.append((-1, ["marker lines of no stream: %r" % ran[-1][:5]], []))

    nunsafe = sum(1 for _, probs, _ in bad if any(p.startswith("UNSAFE") for p in probs))
    print("difftest: seed %d: %d streams, %d commands, %d marker lines, %d tagged "
          "responses compared, %d EXECUTE lines Dovecot parses as commands: %d run "
          "by imapexec, %d passed to the backend, %d refused (failed closed); "
          "%d markers refused in all; %d streams with the probe lost in the backend; "
          "%d streams cut short by Dovecot; "
          "%d with the backend behind imapexec crashed (Dovecot Panic); "
          "%d with its invalid-command limit reached only behind imapexec; "
          "%d rerun alone; %d mismatches, %d unsafe (%.1fs)"
          % (a.seed, len(streams), ncmds, nmark, ncmp, nd,
             nd - npassed - stats["dref"], npassed, stats["dref"], stats["refused"],
             stats["probed"], nbye, stats["crash"], stats["toomany"], reran, len(bad), nunsafe,
             time.monotonic() - t0))
    if a.verbose and stats["shortlist"]:
        print("streams Dovecot did not finish: %r" % stats["shortlist"])
    if a.verbose and stats["toomanylist"]:
        print("streams where only the backend behind imapexec hit its invalid-command "
              "limit: %r" % stats["toomanylist"])
    if stats["crashlist"]:
        print("streams where the backend behind imapexec crashed: %r" % stats["crashlist"])
    for i, probs, cmds in bad[:10]:
        print("MISMATCH in stream %d (rerun: --seed %d --only %d):" % (i, a.seed, i))
        for p in probs:
            print("  " + p)
        sent = b"".join(b"".join(p[0] for p in c if len(p) == 1) for c in cmds)
        print("  stream bytes: %r" % sent[:3000])
        if a.dump:
            with open("%s.%d" % (a.dump, i), "wb") as f:
                f.write(sent)
    if ncmp == 0 or nmark == 0:
        print("difftest: nothing was compared: the runs failed (see --log)")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
