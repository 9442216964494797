#!/usr/bin/env python3
"""imapdrive.py - a scripted raw IMAP client for testing imapexec.

Usage:
  imapdrive.py [--chunk whole|byte|random] [--seed N] [--socket]
               [--compress TAG] [--out FILE] [--log FILE] [--timeout SECS]
               SCRIPT -- CMD [ARGS...]

CMD is spawned with its stdin/stdout connected to two pipes, or with
--socket to ONE end of an AF_UNIX stream socketpair used as both fd 0 and
fd 1 (what xinetd and systemd do).  Its stderr is inherited, or goes to
--log FILE.  Every byte CMD writes is copied verbatim to --out (default
stdout) while the script runs; server output is read concurrently, so a
big FETCH never deadlocks.

--compress TAG first sends "TAG COMPRESS DEFLATE" and waits for its OK;
from then on both directions are raw DEFLATE (RFC 4978): what is written
is compressed (zlib.compressobj(wbits=-15), a Z_SYNC_FLUSH per flush, and
the compressed bytes are what --chunk splits), what is read is inflated,
and --out records the inflated bytes.  The script does the same with
"compress TAG" at any point.

--chunk decides how queued client bytes are written:
  whole   all bytes queued since the last flush in one write() (default)
  byte    one byte per write(), with a tiny yield between writes
  random  random-sized writes (1..97 bytes), seeded by --seed (default 1)

SCRIPT format (one directive per line; '#' at line start and blank lines
are ignored):

  > TEXT          queue TEXT followed by CRLF
  >> TEXT         queue TEXT without CRLF
  wait TAG [ST]   flush, then wait for the tagged completion "TAG OK|NO|BAD";
                  with ST (OK, NO or BAD) fail unless the status is ST
  wait +          flush, then wait for a continuation request ("+ ...")
  match REGEX     flush, then wait for a response line starting with REGEX
                  (Python bytes regex, matched at the start of the line)
  flush           write the queued bytes now, without waiting
  shutdown        flush, then half-close (shutdown SHUT_WR / close stdin)
  eof             flush, then wait until the server closes its output
  compress TAG    flush, send "TAG COMPRESS DEFLATE", wait for TAG OK and
                  compress from then on (see --compress)
  raw TEXT        flush, then write TEXT (escapes apply) as it is, past
                  the compressor: garbage in a compressed stream
  timeout SECS    timeout of the following waits (default 10, or --timeout)
  data NAME       define a data block: the following lines up to a line
                  that is exactly ".end", each followed by CRLF (a line
                  ending in \\c gets no CRLF); escapes apply
  data NAME < F   define a data block from the bytes of file F ($VARS are
                  expanded; relative to the script's directory)

In TEXT and data lines:
  \\r \\n \\t \\0 \\\\   CR, LF, TAB, NUL, backslash
  \\xHH           any byte (8-bit data)
  \\@ \\{ \\c      literal '@', literal '{', (data lines) no CRLF at the end
                 any other backslash pair is sent as written (\\Seen, \\Flagged)
  @{NAME}        the bytes of data block NAME
  {#NAME}        "{N}" where N is the length of block NAME; {#NAME+} gives
                 "{N+}"; prefix a '~' yourself for literal8: ~{#NAME}

A wait is satisfied by the earliest received response that matches and
was not matched by an earlier wait (so each "+" is used once, and tagged
completions may be awaited in any order).  Responses are split literal-aware: a
line ending in {N} continues after N bytes, so message bodies that look
like "a1 OK" never match a wait.  When the script ends, queued bytes are
flushed, the write side is closed (unless already), the driver waits for
EOF and for CMD to exit.

Exit status: 0 success, 1 usage/script error, 2 timeout (waited-for thing
and last received bytes on stderr), 3 wrong tagged status or write failure,
4 CMD exited non-zero or by a signal.  CMD's exit status is always
reported on stderr.
"""

import argparse
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib

CRLF = b"\r\n"
LITERAL_AT_EOL = re.compile(rb"~?\{(\d+)\+?\}\r?$")


def split_responses(buf, pos=0):
    """Split buf[pos:] into complete IMAP responses, honouring literals.

    Returns (list of (start, end) offsets, offset of the first incomplete
    byte).  A response ends at a LF that does not follow a literal
    announcement {N}; a literal's N bytes are skipped unparsed."""
    out = []
    start = i = pos
    n = len(buf)
    while True:
        nl = buf.find(b"\n", i)
        if nl < 0:
            return out, start
        m = LITERAL_AT_EOL.search(buf, i, nl)
        if m:
            end = nl + 1 + int(m.group(1))
            if end > n:
                return out, start
            i = end
            continue
        out.append((start, nl + 1))
        start = i = nl + 1


class ScriptError(Exception):
    pass


class Failure(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


ESCAPES = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0",
           b"\\": b"\\", b"@": b"@", b"{": b"{"}
TOKEN = re.compile(rb"\\x([0-9A-Fa-f]{2})|\\(.)|@\{([\w.-]+)\}|\{#([\w.-]+)(\+?)\}")


def expand(text, blocks, lineno):
    """Apply escapes and data-block expansions to one line of TEXT."""
    def sub(m):
        if m.group(1):
            return bytes([int(m.group(1), 16)])
        if m.group(2) is not None:
            # unknown escapes stay as written, so flags like \Seen work
            return ESCAPES.get(m.group(2), m.group(0))
        name = (m.group(3) or m.group(4)).decode()
        if name not in blocks:
            raise ScriptError("line %d: undefined data block %s" % (lineno, name))
        if m.group(3):
            return blocks[name]
        return b"{%d%s}" % (len(blocks[name]), m.group(5))
    return TOKEN.sub(sub, text)


def parse_script(path):
    """Turn SCRIPT into a list of (lineno, op, arg) operations."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    base = os.path.dirname(os.path.abspath(path))
    blocks, ops = {}, []
    i = 0
    while i < len(lines):
        lineno, raw = i + 1, lines[i].rstrip(b"\r")
        i += 1
        if not raw.strip() or raw.startswith(b"#"):
            continue
        if raw.startswith(b">>"):
            ops.append((lineno, "send", expand(raw[2:].removeprefix(b" "), blocks, lineno)))
            continue
        if raw.startswith(b">"):
            ops.append((lineno, "send", expand(raw[1:].removeprefix(b" "), blocks, lineno) + CRLF))
            continue
        words = raw.split()
        cmd, args = words[0].decode(), words[1:]
        if cmd == "data":
            if len(args) == 3 and args[1] == b"<":
                f = os.path.join(base, os.path.expandvars(os.fsdecode(args[2])))
                with open(f, "rb") as fh:
                    blocks[args[0].decode()] = fh.read()
            elif len(args) == 1:
                body = b""
                while True:
                    if i >= len(lines):
                        raise ScriptError("line %d: data block without .end" % lineno)
                    line = lines[i].rstrip(b"\r")
                    i += 1
                    if line == b".end":
                        break
                    if line.endswith(b"\\c"):
                        body += expand(line[:-2], blocks, i)
                    else:
                        body += expand(line, blocks, i) + CRLF
                blocks[args[0].decode()] = body
            else:
                raise ScriptError("line %d: usage: data NAME [< FILE]" % lineno)
        elif cmd == "wait" and args == [b"+"]:
            ops.append((lineno, "match", (re.compile(rb"\+"), "continuation request")))
        elif cmd == "wait" and len(args) in (1, 2):
            tag = re.escape(args[0])
            want = args[1].upper() if len(args) == 2 else None
            if want not in (None, b"OK", b"NO", b"BAD"):
                raise ScriptError("line %d: status must be OK, NO or BAD" % lineno)
            ops.append((lineno, "match",
                        (re.compile(tag + rb" (OK|NO|BAD)\b", re.I),
                         "tagged completion of %s" % args[0].decode(), want)))
        elif cmd == "match" and args:
            rx = raw.split(None, 1)[1]
            ops.append((lineno, "match", (re.compile(rx), "line matching %r" % rx)))
        elif cmd == "compress" and len(args) == 1:
            ops.append((lineno, "compress", args[0]))
        elif cmd == "raw" and args:
            ops.append((lineno, "raw", expand(raw.split(None, 1)[1], blocks, lineno)))
        elif cmd in ("flush", "shutdown", "eof") and not args:
            ops.append((lineno, cmd, None))
        elif cmd == "timeout" and len(args) == 1:
            ops.append((lineno, "timeout", float(args[0])))
        else:
            raise ScriptError("line %d: cannot parse %r" % (lineno, raw))
    return ops


class Session:
    def __init__(self, argv, use_socket, log, out):
        self.buf = bytearray()
        self.eof = False
        self.cond = threading.Condition()
        self.out = out
        stderr = open(log, "wb") if log else None
        if use_socket:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.proc = subprocess.Popen(argv, stdin=theirs, stdout=theirs,
                                         stderr=stderr)
            theirs.close()
            self.sock = ours
            self.rfd = self.wfd = ours.fileno()
        else:
            self.sock = None
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=stderr)
            self.wfd = self.proc.stdin.fileno()
            self.rfd = self.proc.stdout.fileno()
        if stderr:
            stderr.close()
        os.set_blocking(self.wfd, False)
        self.write_open = True
        self.shut = False        # shutdown requested by the script
        self.ztag = None         # COMPRESS sent: its tagged answer awaited
        self.zpre = bytearray()  # meanwhile: the bytes of a partial line
        self.inflater = None     # the server's stream, once compressed
        self.deflater = None     # ours
        self.zerror = None       # the server's stream did not inflate
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.spans = []          # (start, end) of each complete response
        self.parsed = 0          # offset up to which buf has been split
        self.used = set()        # indexes of responses matched by a wait

    def _read(self):
        while True:
            try:
                data = os.read(self.rfd, 65536)
            except BlockingIOError:
                select.select([self.rfd], [], [])
                continue
            except OSError:
                data = b""
            data = self._plain(data)
            if data:
                self.out.write(data)
                self.out.flush()
            with self.cond:
                if data:
                    self.buf += data
                else:
                    self.eof = True
                self.cond.notify_all()
            if not data:
                return

    def _plain(self, data):
        """The server's bytes as plain text: inflated from the byte after
        the CRLF of the OK to our COMPRESS (RFC 4978, section 3)."""
        if self.inflater is not None:
            try:
                return self.inflater.decompress(data)
            except zlib.error as e:
                self.zerror = str(e)
                return b""
        if self.ztag is None:
            return data
        self.zpre += data
        out = bytearray()
        while True:
            nl = self.zpre.find(b"\n")
            if nl < 0:
                return bytes(out)
            line = bytes(self.zpre[:nl + 1])
            del self.zpre[:nl + 1]
            out += line
            m = re.match(re.escape(self.ztag) + rb" (OK|NO|BAD)\b", line, re.I)
            if m:
                self.ztag = None
                rest, self.zpre = bytes(self.zpre), bytearray()
                if m.group(1).upper() == b"OK":
                    self.inflater = zlib.decompressobj(wbits=-15)
                    rest = self.inflater.decompress(rest)
                return bytes(out) + rest

    def write(self, data, chunk, rng, timeout, raw=False):
        if self.deflater is not None and not raw:
            data = self.deflater.compress(data) + \
                self.deflater.flush(zlib.Z_SYNC_FLUSH)
        if not self.write_open:
            if self.shut:
                raise Failure(3, "write after shutdown")
            return

        deadline = time.monotonic() + timeout
        pos = 0
        while pos < len(data):
            if chunk == "byte":
                size = 1
            elif chunk == "random":
                size = rng.randint(1, 97)
            else:
                size = len(data) - pos
            piece = data[pos:pos + size]
            while piece:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(2, "timeout writing to CMD (%d of %d bytes written)"
                                  % (pos, len(data)))
                select.select([], [self.wfd], [], left)
                try:
                    n = os.write(self.wfd, piece)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    # The server closed (e.g. after LOGOUT, Dovecot may act
                    # on CR before our LF arrives): drop the rest; a later
                    # wait fails with EOF if an answer really is missing.
                    self.write_open = False
                    return
                except OSError as e:
                    raise Failure(3, "write to CMD failed: %s" % e)
                piece = piece[n:]
                pos += n
            if chunk != "whole":
                time.sleep(0.00005)   # tiny yield so the peer sees small reads

    def shutdown(self):
        self.shut = True
        if self.write_open:
            self.write_open = False
            try:
                if self.sock:
                    self.sock.shutdown(socket.SHUT_WR)
                else:
                    self.proc.stdin.close()
            except OSError:
                pass            # the peer is already gone

    def wait_match(self, rx, what, want, timeout):
        """Wait for the first not yet matched response that matches rx."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                spans, self.parsed = split_responses(self.buf, self.parsed)
                self.spans += spans
                for k, (s, e) in enumerate(self.spans):
                    m = None if k in self.used else rx.match(self.buf, s, e)
                    if m:
                        self.used.add(k)
                        if want and m.group(1).upper() != want:
                            raise Failure(3, "expected %s %s, got: %r"
                                          % (what, want.decode(), bytes(self.buf[s:e])))
                        return
                if self.eof:
                    raise Failure(2, "EOF while waiting for %s" % what)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(2, "timeout (%gs) waiting for %s" % (timeout, what))
                self.cond.wait(left)

    def wait_eof(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(2, "timeout (%gs) waiting for EOF" % timeout)
                self.cond.wait(left)
        self.reader.join()

    def tail(self):
        with self.cond:
            return bytes(self.buf[-300:])


def main():
    ap = argparse.ArgumentParser(description="scripted raw IMAP client")
    ap.add_argument("--chunk", choices=("whole", "byte", "random"), default="whole")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--socket", action="store_true")
    ap.add_argument("--compress", metavar="TAG")
    ap.add_argument("--out")
    ap.add_argument("--log", help="file for CMD's stderr (default: inherited)")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("script")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("missing -- CMD")
    try:
        ops = parse_script(a.script)
        if a.compress:
            ops.insert(0, (0, "compress", a.compress.encode()))
    except (ScriptError, OSError, re.error) as e:
        print("imapdrive: %s: %s" % (a.script, e), file=sys.stderr)
        return 1

    out = open(a.out, "wb") if a.out else sys.stdout.buffer
    rng = random.Random(a.seed)
    timeout = a.timeout
    sess = Session(cmd, a.socket, a.log, out)
    pending = bytearray()
    status = 0
    lineno = 0

    def flush():
        if pending:
            sess.write(bytes(pending), a.chunk, rng, timeout)
            pending.clear()

    try:
        for lineno, op, arg in ops:
            if op == "send":
                pending += arg
            elif op == "timeout":
                timeout = arg
            else:
                flush()
                if op == "match":
                    rx, what = arg[0], arg[1]
                    sess.wait_match(rx, what, arg[2] if len(arg) > 2 else None, timeout)
                elif op == "shutdown":
                    sess.shutdown()
                elif op == "eof":
                    sess.wait_eof(timeout)
                elif op == "raw":
                    sess.write(arg, a.chunk, rng, timeout, raw=True)
                elif op == "compress":
                    sess.ztag = arg
                    sess.write(arg + b" COMPRESS DEFLATE" + CRLF, a.chunk,
                               rng, timeout)
                    sess.wait_match(re.compile(re.escape(arg) + rb" (OK|NO|BAD)\b", re.I),
                                    "answer to COMPRESS", b"OK", timeout)
                    sess.deflater = zlib.compressobj(wbits=-15)
        lineno = "end"
        flush()
        sess.shutdown()
        sess.wait_eof(timeout)
    except Failure as e:
        print("imapdrive: %s line %s: %s" % (a.script, lineno, e), file=sys.stderr)
        print("imapdrive: last bytes received: %r" % sess.tail(), file=sys.stderr)
        status = e.code
        sess.shutdown()

    try:
        rc = sess.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print("imapdrive: CMD did not exit within %gs, killing it" % timeout,
              file=sys.stderr)
        sess.proc.kill()
        rc = sess.proc.wait()
        status = status or 2
    if rc < 0:
        print("imapdrive: CMD killed by signal %s" % signal.Signals(-rc).name,
              file=sys.stderr)
    else:
        print("imapdrive: CMD exited with status %d" % rc, file=sys.stderr)
    if rc != 0:
        status = status or 4
    if sess.zerror:
        print("imapdrive: the server's compressed stream: %s" % sess.zerror,
              file=sys.stderr)
        status = status or 3
    sess.reader.join(timeout)
    if a.out:
        out.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
