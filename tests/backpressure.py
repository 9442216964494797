#!/usr/bin/env python3
"""backpressure.py - backpressure sessions through imapexec (issue 10).

  backpressure.py [--seed N] [--stall S] [--rounds N] [--logdir DIR] COUNT \\
      DIRECT-ARGV... --- FILTERED-ARGV...

Runs the same read-only session against DIRECT-ARGV (Dovecot's imap) and
against FILTERED-ARGV (imapexec in front of it) for every combination of

  reader     fast (reads all there is), uneven (random sizes 1 B .. 256
             KiB, a short random pause now and then) and stopgo (reads
             nothing for 1 s twice, then all there is)
  pipelining depth 1 (each FETCH after the previous reply) and 50 (all
             commands in one write)
  launch     two pipes, or one socket (fd 0 = fd 1)

over the COUNT messages of INBOX (BODY.PEEK[] of each), --rounds times
(2 by default) with other random draws.  Every filtered
session must end (LOGOUT, EOF, exit status 0) and equal the direct session
of the same depth (timing suffixes aside, and the EXECUTE capability).
A session that receives nothing for --stall seconds while it still
expects output has stalled: that is a hang detector, the bound is
generous on purpose; gaps of over 2 s are reported.  The randomness is
seeded; the seed is printed.  Exit status 0 if all sessions pass.
"""

import argparse
import os
import random
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapdrive import split_responses  # noqa: E402
from imapnorm import TIMING, fix_caps, segments  # noqa: E402

READERS = ("fast", "uneven", "stopgo")
DEPTHS = (1, 50)
LAUNCHES = ("pipes", "socket")


class Fail(Exception):
    pass


def commands(count, depth):
    """The session's commands, grouped in writes."""
    if depth == 1:
        cmds = [b"a EXAMINE INBOX\r\n"]
        cmds += [b"f%d FETCH %d (BODY.PEEK[])\r\n" % (i, i)
                 for i in range(1, count + 1)]
        return [[c] for c in cmds] + [[b"z LOGOUT\r\n"]]
    # 50 FETCHes in one write: every message once, the rest small ones
    order = list(range(1, count + 1))
    small = order[: max(1, count // 2)]
    while len(order) < 50:
        order.append(small[len(order) % len(small)])
    batch = [b"a EXAMINE INBOX\r\n"]
    batch += [b"f%d FETCH %d (BODY.PEEK[])\r\n" % (k, i)
              for k, i in enumerate(order[:50])]
    return [batch, [b"z LOGOUT\r\n"]]


def tag_of(cmd):
    return cmd.split(b" ", 1)[0]


class Reader:
    """How much to read now, and when to pause."""

    def __init__(self, kind, rng):
        self.kind = kind
        self.rng = rng
        self.stops = sorted(rng.randint(1, 3 << 20) for _ in range(2))

    def size(self):
        if self.kind == "uneven":
            return max(1, int(2 ** self.rng.uniform(0, 18)))
        return 1 << 20

    def pause(self, got):
        """Seconds to read nothing, after ${got} bytes."""
        if self.kind == "uneven" and self.rng.random() < 0.01:
            return self.rng.uniform(0, 0.03)
        if self.kind == "stopgo" and self.stops and got >= self.stops[0]:
            self.stops.pop(0)
            return 1.0
        return 0


def run(argv, launch, reader, writes, stall, log):
    """Run one session; return every byte received."""
    err = open(log, "ab") if log else subprocess.DEVNULL
    if launch == "socket":
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        proc = subprocess.Popen(argv, stdin=theirs, stdout=theirs, stderr=err)
        theirs.close()
        rfd = wfd = ours.fileno()
    else:
        ours = None
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err)
        wfd, rfd = proc.stdin.fileno(), proc.stdout.fileno()
    if log:
        err.close()
    os.set_blocking(wfd, False)
    os.set_blocking(rfd, False)
    buf = bytearray()
    pending = b""
    want = []                  # tags of the writes sent, not answered
    nxt = 0                    # next write to send
    parsed = 0                 # buf is split into responses up to here
    eof = False
    last = time.monotonic()
    gaps = []
    try:
        while not eof:
            if not pending and not want and nxt < len(writes):
                pending = b"".join(writes[nxt])
                want = [tag_of(c) for c in writes[nxt]]
                nxt += 1
            now = time.monotonic()
            if now - last > stall:
                raise Fail("stalled: nothing for %.1f s after %d bytes, "
                           "waiting for %s" % (now - last, len(buf),
                                               b",".join(want[:3]).decode()))
            r, w, _ = select.select([rfd], [wfd] if pending else [], [],
                                    0.2)
            if w:
                try:
                    n = os.write(wfd, pending)
                    pending = pending[n:]
                except BlockingIOError:
                    pass
            if not r:
                continue
            try:
                data = os.read(rfd, reader.size())
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            now = time.monotonic()
            if now - last > 2:
                gaps.append(round(now - last, 1))
            last = now
            if not data:
                eof = True
                break
            buf += data
            spans, parsed = split_responses(buf, parsed)
            for s, e in spans:
                t = bytes(buf[s:min(e, s + 64)]).split(b" ", 1)[0]
                if t in want:
                    want.remove(t)
            p = reader.pause(len(buf))
            if p:
                time.sleep(p)
                last = time.monotonic()
        if want or nxt < len(writes):
            raise Fail("EOF after %d bytes, still waiting for %s"
                       % (len(buf), b",".join(want[:3]).decode()))
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Fail("the server did not exit after EOF")
        if rc != 0:
            raise Fail("exit status %d" % rc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if ours:
            ours.close()
        else:
            for f in (proc.stdin, proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
    return bytes(buf), gaps


def normalize(data, filtered):
    """The output with timing suffixes (and, filtered, the one EXECUTE of
    each capability list) taken out, as tests/imapnorm.py does; then the
    responses sorted, untagged before tagged: Dovecot runs pipelined
    FETCHes in parallel, and their responses come in an order that
    timing decides (for the direct session too).  Each response is still
    compared whole, every byte of it."""
    spans, rest = split_responses(data)
    untagged, tagged, errors = [], [], []
    for s, e in spans + [(rest, len(data))]:
        first, out = True, []
        for is_lit, seg in segments(data[s:e]):
            if not is_lit:
                if first and filtered:
                    seg = fix_caps(seg, errors)
                seg = TIMING.sub(b"(T secs)", seg)
            first = False
            out.append(seg)
        resp = b"".join(out)
        (untagged if resp[:1] in (b"*", b"+") else tagged).append(resp)
    if errors:
        raise Fail("; ".join(errors))
    return b"".join(sorted(untagged)) + b"".join(sorted(tagged))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int,
                    default=int.from_bytes(os.urandom(4), "big"))
    ap.add_argument("--stall", type=float, default=15.0)
    ap.add_argument("--rounds", type=int, default=2,
                    help="the whole matrix again, with other random draws")
    ap.add_argument("--logdir")
    ap.add_argument("count", type=int)
    ap.add_argument("argv", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if "---" not in a.argv:
        ap.error("DIRECT-ARGV --- FILTERED-ARGV")
    k = a.argv.index("---")
    direct, filtered = a.argv[:k], a.argv[k + 1:]
    print("backpressure: seed %d" % a.seed, flush=True)
    failed = 0

    def log(name):
        return os.path.join(a.logdir, name + ".log") if a.logdir else None

    for depth in DEPTHS:
        writes = commands(a.count, depth)
        ref, _ = run(direct, "pipes", Reader("fast", random.Random(0)),
                     writes, a.stall, log("direct-%d" % depth))
        ref = normalize(ref, False)
        for launch, kind, rnd in [(la, k, r) for r in range(a.rounds)
                                  for la in LAUNCHES for k in READERS]:
            name = "%s-%d-%s-%d" % (kind, depth, launch, rnd)
            rng = random.Random("%d %s" % (a.seed, name))
            t0 = time.monotonic()
            try:
                out, gaps = run(filtered, launch, Reader(kind, rng),
                                writes, a.stall, log(name))
                out = normalize(out, True)
                if out != ref:
                    i = next((i for i in range(min(len(out), len(ref)))
                              if out[i] != ref[i]), min(len(out), len(ref)))
                    raise Fail("differs from the direct session at byte "
                               "%d (%d vs %d bytes): %r vs %r" % (
                                   i, len(out), len(ref),
                                   out[max(0, i - 40):i + 40],
                                   ref[max(0, i - 40):i + 40]))
                print("ok %s: %d bytes, %.1f s%s" % (
                    name, len(out), time.monotonic() - t0,
                    ", gaps > 2 s: %s" % gaps if gaps else ""), flush=True)
            except Fail as e:
                failed += 1
                print("FAIL %s: %s" % (name, e), flush=True)
    print("backpressure: seed %d, %d failed" % (a.seed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
