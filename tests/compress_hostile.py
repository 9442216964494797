#!/usr/bin/env python3
"""compress_hostile.py - hostile compressed streams against imapexec.

Usage: compress_hostile.py [--out FILE] [--timeout SECS] MODE -- CMD [ARGS...]

CMD (imapexec in front of Dovecot) runs on one end of a socketpair.  The
client negotiates COMPRESS DEFLATE, checks that a compressed NOOP works,
then, by MODE:

  early      (instead) sends COMPRESS, compressed NOOPs right behind it
             and its end of file at once, without waiting for the OK:
             the NOOPs are still answered, compressed

  garbage    writes bytes that are no DEFLATE stream (a reserved block
             type) and waits for the server's end
  truncated  writes half of the compressed bytes of many NOOPs, then
             half-closes, and waits for the server's end
  bomb       writes a stream that inflates to 1 GiB: an APPEND to a
             mailbox that does not exist, with a 1 GiB non-synchronising
             literal of one repeated byte; then LOGOUT, which must be
             answered (the session survived)

Meanwhile it samples CMD's resident set (VmRSS in /proc).  On stdout it
prints "key value" lines: exit (CMD's status), maxrss_kib (the largest
sample of CMD itself), tree_maxrss_kib (wait4's ru_maxrss: CMD and its
waited-for children, i.e. the backend), sent (compressed bytes written),
and the inflated server output goes to --out.  Exit status 0 unless the
session itself went wrong (timeout, no COMPRESS, ...), which is 1.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zlib

GIB = 1 << 30


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("garbage", "truncated", "bomb", "early"))
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(cmd, stdin=theirs, stdout=theirs)
    theirs.close()
    deadline = time.monotonic() + a.timeout
    plain = bytearray()
    state = {"inf": None, "eof": False, "maxrss": 0, "err": None}
    cond = threading.Condition()

    def reader():
        pre = bytearray()
        while True:
            try:
                data = ours.recv(65536)
            except OSError:
                data = b""
            with cond:
                if not data:
                    state["eof"] = True
                    cond.notify_all()
                    return
                if state["inf"] is not None:
                    try:
                        plain.extend(state["inf"].decompress(data))
                    except zlib.error as e:
                        state["err"] = str(e)
                else:
                    pre += data
                    m = re.search(rb"(?m)^zc OK [^\n]*\n", pre)
                    if m:
                        plain.extend(pre[:m.end()])
                        state["inf"] = zlib.decompressobj(wbits=-15)
                        plain.extend(state["inf"].decompress(bytes(pre[m.end():])))
                        pre.clear()
                    elif re.search(rb"(?m)^zc (NO|BAD)", pre):
                        plain.extend(pre)
                        state["err"] = "COMPRESS refused"
                        pre.clear()
                cond.notify_all()

    def sample():
        # CMD's pid runs setpriv and env before imapexec: a short session
        # may end between two samples, so sample() is also called at
        # points where imapexec is surely running (it just answered).
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        state["maxrss"] = max(state["maxrss"], int(line.split()[1]))
        except OSError:
            return False
        return True

    def sampler():
        while not state.get("reaped") and sample():
            time.sleep(0.05)

    def wait_for(rx):
        with cond:
            while not re.search(rx, plain):
                if state["eof"] or state["err"]:
                    raise SystemExit("server ended before %r: %r" % (rx, bytes(plain[-300:])))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit("timeout waiting for %r" % rx)
                cond.wait(left)

    def wait_eof():
        with cond:
            while not state["eof"]:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit("timeout waiting for the server's end")
                cond.wait(left)

    sent = 0

    def send(b):
        nonlocal sent
        try:
            ours.sendall(b)
        except OSError:
            return False
        sent += len(b)
        return True

    threading.Thread(target=reader, daemon=True).start()
    threading.Thread(target=sampler, daemon=True).start()
    rc = 0
    try:
        if a.mode == "early":
            z = zlib.compressobj(wbits=-15)
            send(b"zc COMPRESS DEFLATE\r\n" +
                 z.compress(b"e1 NOOP\r\ne2 NOOP\r\n") + z.flush(zlib.Z_SYNC_FLUSH))
            ours.shutdown(socket.SHUT_WR)
            wait_for(rb"(?m)^e2 OK")
            sample()
            wait_eof()
            raise StopIteration
        send(b"zc COMPRESS DEFLATE\r\n")
        wait_for(rb"(?m)^zc OK")
        z = zlib.compressobj(wbits=-15)
        send(z.compress(b"n1 NOOP\r\n") + z.flush(zlib.Z_SYNC_FLUSH))
        wait_for(rb"(?m)^n1 OK")
        sample()
        if a.mode == "garbage":
            send(b"\xff\xfe garbage, not DEFLATE\r\nn2 NOOP\r\n")
            wait_eof()
        elif a.mode == "truncated":
            blob = z.compress(b"".join(b"t%d NOOP\r\n" % i for i in range(2000)))
            blob += z.flush(zlib.Z_SYNC_FLUSH)
            send(blob[:len(blob) // 2])
            ours.shutdown(socket.SHUT_WR)
            wait_eof()
        else:
            send(z.compress(b"b1 APPEND nosuchbox {%d+}\r\n" % GIB))
            chunk = b"x" * (1 << 20)
            for _ in range(GIB // len(chunk)):
                if not send(z.compress(chunk)):
                    break
            send(z.compress(b"\r\nb2 LOGOUT\r\n") + z.flush(zlib.Z_SYNC_FLUSH))
            wait_for(rb"(?m)^b2 OK")
            wait_eof()
    except StopIteration:
        pass
    except SystemExit as e:
        print("compress_hostile: %s" % e, file=sys.stderr)
        rc = 1
    try:
        ours.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    # Reap with wait4(2) (not Popen.poll) to get the child's rusage.
    end = max(deadline, time.monotonic() + 5)
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if time.monotonic() > end:
            proc.kill()
            rc = 1
            pid, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    state["reaped"] = True
    proc.returncode = os.waitstatus_to_exitcode(status)
    print("exit %d" % proc.returncode)
    print("maxrss_kib %d" % state["maxrss"])
    print("tree_maxrss_kib %d" % ru.ru_maxrss)
    print("sent %d" % sent)
    if state["err"]:
        print("inflate_error %s" % state["err"])
    if a.out:
        with open(a.out, "wb") as f:
            f.write(plain)
    return rc


if __name__ == "__main__":
    sys.exit(main())
