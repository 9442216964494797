#!/usr/bin/env python3
"""faults.py - fault scenarios for imapexec (tests/72-faults.bats).

Usage: faults.py SCENARIO [--rss KB] -- CMD...

CMD starts imapexec (as the test user, clean environment); this script is
its client on two pipes and also watches it from outside through /proc:
its open descriptors (a baseline after the greeting and a NOOP; back to
exactly that set after every EXECUTE), its children (no zombie; services
have only fds 0, 1 and 2), its peak RSS (VmHWM below --rss).  Exit 0 when
the scenario ends as documented; else 1 with the reason on stderr.
"""

import os
import re
import resource
import select
import signal
import subprocess
import sys
import time

DEADLINE = 120.0  # a hang, not a speed: the machine may be busy


class Fail(Exception):
    pass


def children(pid):
    """Pids of pid's children (all threads)."""
    kids = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                kids += [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return kids


def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def fds(pid):
    """{fd: target} of pid."""
    d = "/proc/%d/fd" % pid
    out = {}
    try:
        for n in os.listdir(d):
            try:
                out[int(n)] = os.readlink(os.path.join(d, n))
            except FileNotFoundError:
                pass
    except FileNotFoundError:
        pass
    return out


def status(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


class Client:
    def __init__(self, argv, log=None):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=log)
        self.pid = self.p.pid
        self.w = self.p.stdin.fileno()
        self.r = self.p.stdout.fileno()
        os.set_blocking(self.w, False)
        os.set_blocking(self.r, False)
        self.buf = bytearray()
        self.eof = False
        self.reading = True

    def pump(self, t=0.1, out=b""):
        rr, ww, _ = select.select([self.r] if self.reading and not self.eof else [],
                                  [self.w] if out else [], [], t)
        n = 0
        if ww:
            try:
                n = os.write(self.w, out)
            except BlockingIOError:
                n = 0
        if rr:
            try:
                d = os.read(self.r, 1 << 16)
            except BlockingIOError:
                d = None
            except OSError:
                d = b""
            if d == b"":
                self.eof = True
            elif d:
                self.buf += d
                if len(self.buf) > 4 << 20:
                    del self.buf[:len(self.buf) - (1 << 20)]
        return n

    def send(self, data, timeout=DEADLINE):
        end = time.monotonic() + timeout
        while data:
            if time.monotonic() > end:
                raise Fail("timeout writing")
            n = self.pump(0.1, data)
            data = data[n:]

    def expect(self, rx, timeout=DEADLINE):
        rx = re.compile(rx, re.M)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                return m
            if self.eof or time.monotonic() > end:
                raise Fail("no %r; got ...%r" % (rx.pattern, bytes(self.buf[-400:])))
            self.pump(0.2)

    def read_some(self, n):
        """Read at least n more octets (what is kept of them is bounded)."""
        got = 0
        while got < n:
            before = len(self.buf)
            self.pump(0.1)
            got += max(0, len(self.buf) - before)

    def vanish(self):
        """Go both ways: stop reading, close the read end, then the write
        end, as a client whose connection is cut."""
        self.reading = False
        os.close(self.r)
        self.eof = True
        self.close()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass

    def wait_exit(self, timeout=DEADLINE):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if self.p.poll() is not None:
                # Read what is still on its way, up to the end of file.
                while not self.eof and time.monotonic() < end:
                    self.pump(0.1)
                return self.p.returncode
        raise Fail("imapexec did not exit")


def until(pred, what, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise Fail("gave up waiting for " + what)


class Scenario:
    def __init__(self, argv, rss, log=None):
        self.c = Client(argv, log)
        self.rss = rss
        self.c.expect(rb"^\* PREAUTH")
        self.c.send(b"n0 NOOP\r\n")
        self.c.expect(rb"^n0 OK")
        self.backend = until(lambda: [k for k in children(self.c.pid)
                                      if comm(k) not in (None,)], "the backend")[0]
        self.base = fds(self.c.pid)
        self.n = 0

    def service(self):
        """The service: the child of imapexec that is not the backend, once
        it runs the service's program (before execve(2) the child is still
        imapexec, with imapexec's descriptors)."""
        me = os.readlink("/proc/%d/exe" % self.c.pid)

        def started():
            found = []
            for k in children(self.c.pid):
                try:
                    if k != self.backend and \
                            os.readlink("/proc/%d/exe" % k) != me:
                        found.append(k)
                except OSError:
                    pass
            return found
        return until(started, "the service")[0]

    def check_service_fds(self, pid):
        """The service holds fds 0, 1 and 2 from imapexec and nothing else
        (an interpreter's own handle on its script aside).  Right after
        execve(2) the dynamic loader briefly holds the libraries it maps
        (seen: fd 3 on libc.so.6 on a busy machine): a descriptor that
        imapexec leaked stays, those go, so the check waits up to 5 s
        for a clean table."""
        last = {}

        def clean():
            f = fds(pid)
            last.clear()
            last.update(f)
            extra = {k: v for k, v in f.items() if k > 2 and
                     not (v.startswith("/") and v.endswith((".sh", ".py")))}
            return sorted(k for k in f if k <= 2) == [0, 1, 2] and not extra
        try:
            until(clean, "a clean descriptor table", timeout=5.0)
        except Fail:
            raise Fail("service %d has fds %r" % (pid, last))

    def back_to_base(self):
        """imapexec's descriptors are exactly the baseline again, and it
        has no child but the backend (no zombie)."""
        def ok():
            return (sorted(fds(self.c.pid)) == sorted(self.base) and
                    children(self.c.pid) == [self.backend])
        try:
            until(ok, "baseline", 5)
        except Fail:
            raise Fail("fds %r (baseline %r), children %r" % (
                fds(self.c.pid), self.base,
                [(k, comm(k), state(k)) for k in children(self.c.pid)]))

    def noop(self):
        self.n += 1
        t = b"n%d" % self.n
        self.c.send(t + b" NOOP\r\n")
        self.c.expect(rb"^" + t + rb" OK")

    def check_rss(self):
        hwm = status(self.c.pid, "VmHWM")
        if self.rss and hwm > self.rss:
            raise Fail("imapexec VmHWM %d kB > %d kB" % (hwm, self.rss))
        return hwm

    def logout(self):
        self.c.send(b"z LOGOUT\r\n")
        self.c.expect(rb"^z OK")
        self.c.close()
        rc = self.c.wait_exit()
        if rc != 0:
            raise Fail("imapexec exit status %d after LOGOUT" % rc)


def run_one(s, cmd, final, service_fds=False, then=None):
    s.c.send(cmd)
    if service_fds:
        svc = s.service()
        s.check_service_fds(svc)
        if then:
            then(s, svc)
    s.c.expect(final)
    s.back_to_base()
    s.noop()


def sc_segv(s):
    run_one(s, b"a EXECUTE segv\r\n", rb"^a NO \[EXITSIGNAL SIGSEGV\]")
    s.logout()


def sc_hang_cancel(s):
    def cancel(s, svc):
        s.c.expect(rb"^\+ ")
        s.c.send(b"CANCEL\r\n")
    run_one(s, b"a EXECUTE sleepi\r\n", rb"^a NO \[CANCELED\]", True, cancel)
    s.logout()


def sc_noterm(s):
    def cancel(s, svc):
        s.c.expect(rb'OUT "ready"')
        s.c.send(b"CANCEL\r\n")
    run_one(s, b"a EXECUTE noterm\r\n", rb"^a NO \[CANCELED\]", True, cancel)
    s.logout()


def sc_grandchild(s):
    run_one(s, b"a EXECUTE gc_exit\r\n", rb"^a OK ")
    s.logout()


def sc_closeout(s):
    run_one(s, b"a EXECUTE closeout\r\n", rb"^a NO \[EXITCODE 5\]")
    s.logout()


def sc_stderr_log(s):
    # 8 MB on stderr, to the log: the program must not block on it
    run_one(s, b"a EXECUTE errflood 8388608\r\n", rb"^a OK ", True)
    s.check_rss()
    s.logout()


def sc_stderr_client(s):
    run_one(s, b"a EXECUTE errfloodc 8388608\r\n", rb"^a OK ", True)
    if b'ERR "0123456789 the flood' not in s.c.buf and b"ERR {" not in s.c.buf:
        raise Fail("no ERR lines")
    s.check_rss()
    s.logout()


def sc_deaf_service(s):
    """The program reads nothing while the client sends megabytes: imapexec
    stops reading the client (bounded RSS); then the client hangs up.
    imapexec, not reading, sees the hang-up only when the program ends: here
    at its 3 s timeout (service "deaf")."""
    s.c.send(b"a EXECUTE deaf\r\n")
    svc = s.service()
    s.c.expect(rb"^\+ ")
    line = b"y" * 1000 + b"\r\n"
    sent, stuck = 0, None
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end and sent < 64 << 20:
        n = s.c.pump(0.05, line * 64)
        sent += n
        if n == 0:
            stuck = stuck or time.monotonic()
            if time.monotonic() - stuck > 1.0:
                break
        else:
            stuck = None
    if sent >= 64 << 20:
        raise Fail("64 MB accepted while the program reads nothing")
    hwm = s.check_rss()
    print("deaf: %d bytes accepted, imapexec VmHWM %d kB" % (sent, hwm))
    s.c.close()
    s.c.reading = True
    rc = s.c.wait_exit()
    until(lambda: state(svc) is None, "the service to go", 10)
    print("deaf: imapexec exit %d" % rc)


def sc_disconnect_literal_append(s):
    s.c.send(b"a APPEND INBOX {1000000+}\r\n" + b"z" * 5000)
    time.sleep(0)   # no pause needed: EOF mid-literal is the point
    s.c.close()
    rc = s.c.wait_exit()
    until(lambda: state(s.backend) is None, "the backend to go", 10)
    print("mid-literal (APPEND): exit %d" % rc)


def sc_disconnect_sync_append(s):
    """The client goes in the middle of an APPEND's synchronizing literal,
    after the backend's "+" (for a backend without LITERAL+)."""
    del s.c.buf[:]
    s.c.send(b"a APPEND INBOX {1000000}\r\n")
    s.c.expect(rb"^\+ ")
    s.c.send(b"Subject: cut\r\n\r\n" + b"z" * 5000)
    s.c.close()
    rc = s.c.wait_exit()
    until(lambda: state(s.backend) is None, "the backend to go", 10)
    print("mid-literal (APPEND, after +): exit %d" % rc)


def sc_disconnect_literal_execute(s):
    s.c.send(b"a EXECUTE args {200000+}\r\n" + b"z" * 5000)
    s.c.close()
    rc = s.c.wait_exit()
    until(lambda: state(s.backend) is None, "the backend to go", 10)
    print("mid-literal (EXECUTE): exit %d" % rc)


def sc_disconnect_sync_execute(s):
    s.c.send(b"a EXECUTE args {2000}\r\n")
    s.c.expect(rb"^\+ ")
    s.c.send(b"z" * 100)
    s.c.close()
    rc = s.c.wait_exit()
    print("mid-literal (EXECUTE, sync): exit %d" % rc)


def sc_disconnect_midline_execute(s):
    s.c.send(b"a EXECUTE args x y")
    s.c.close()
    rc = s.c.wait_exit()
    print("mid-line (EXECUTE): exit %d" % rc)


def sc_disconnect_midline_execute_both(s):
    """EOF in the middle of an EXECUTE line, the client gone both ways (a
    backend that never ends at the end of its input, as Mailutils' imap4d,
    would keep a client that reads on)."""
    s.c.send(b"a EXECUTE args x y")
    s.c.vanish()
    until(lambda: s.c.p.poll() is not None, "imapexec to exit", 60)
    until(lambda: state(s.backend) is None, "the backend to go", 10)
    print("mid-line (EXECUTE), client gone both ways: exit %d" % s.c.p.returncode)


def sc_disconnect_midline_interactive(s):
    """EOF in the middle of an interactive input line (no LF yet)."""
    s.c.send(b"a EXECUTE sleepi\r\n")
    svc = s.service()
    s.c.expect(rb"^\+ ")
    s.c.send(b"half a line")
    s.c.close()
    rc = s.c.wait_exit(15)
    until(lambda: state(svc) is None, "the service to go", 10)
    print("mid-line (interactive input): exit %d" % rc)


def sc_disconnect_flood(s):
    s.c.send(b"a EXECUTE flood\r\n")
    svc = s.service()
    s.c.expect(rb'OUT "0123456789')
    s.c.read_some(2 << 20)
    s.c.vanish()
    until(lambda: s.c.p.poll() is not None, "imapexec to exit", 60)
    until(lambda: state(svc) is None, "the flood service to go", 10)
    s.check_rss()
    print("disconnect during flood: exit %d" % s.c.p.returncode)


def append_big(s, lines=13000):
    """APPEND a message of about 1 MiB (a header and lines of 80 octets)
    and SELECT INBOX; return (its body, its sequence number)."""
    body = b"".join(b"%07d %s\r\n" % (i, b"x" * 70) for i in range(lines))
    msg = b"Subject: big\r\n\r\n" + body
    del s.c.buf[:]
    s.c.send(b"p APPEND INBOX {%d}\r\n" % len(msg))
    s.c.expect(rb"^\+ ")
    s.c.send(msg + b"\r\n")
    s.c.expect(rb"^p OK")
    s.c.send(b"s SELECT INBOX\r\n")
    n = int(s.c.expect(rb"^\* (\d+) EXISTS").group(1))
    s.c.expect(rb"^s OK")
    del s.c.buf[:]
    return body, n


def fetch_big(s, n, count=16):
    """Pipeline count FETCHes of message n's body (about count MiB)."""
    s.c.send(b"".join(b"f%d FETCH %d BODY.PEEK[]\r\n" % (i, n)
                      for i in range(count)))


def sc_disconnect_big_fetch(s):
    """The client reads 2 MiB of 16 MiB of FETCH answers, then goes both
    ways: imapexec exits, the backend goes, RSS bounded."""
    _, n = append_big(s)
    fetch_big(s, n)
    s.c.expect(rb"BODY\[\] \{")
    s.c.read_some(2 << 20)
    s.c.vanish()
    until(lambda: s.c.p.poll() is not None, "imapexec to exit", 60)
    until(lambda: state(s.backend) is None, "the backend to go", 10)
    s.check_rss()
    print("disconnect during a big FETCH: exit %d" % s.c.p.returncode)


def kill_backend(s):
    """SIGKILL the backend: the client must see the end of the session,
    and imapexec exit 128 + SIGKILL.  Return that status."""
    os.kill(s.backend, signal.SIGKILL)
    rc = s.c.wait_exit()
    if not s.c.eof:
        raise Fail("no EOF to the client")
    if rc != 128 + signal.SIGKILL:
        raise Fail("imapexec exit status %d, want %d" % (rc, 128 + signal.SIGKILL))
    return rc


def sc_backend_killed(s):
    """The backend is SIGKILLed between commands, a mailbox selected."""
    s.c.send(b"s SELECT INBOX\r\n")
    s.c.expect(rb"^s OK")
    print("backend killed between commands: imapexec exit %d" % kill_backend(s))


def sc_backend_killed_mid_fetch(s):
    """The backend is SIGKILLed while it sends 16 MiB of FETCH answers:
    the client gets part of them, then the end."""
    _, n = append_big(s)
    fetch_big(s, n)
    s.c.expect(rb"BODY\[\] \{")
    rc = kill_backend(s)
    if re.search(rb"^f15 OK", s.c.buf, re.M):
        raise Fail("all FETCHes answered: the backend died too late")
    print("backend killed mid-FETCH: imapexec exit %d" % rc)


def sc_emfile(s):
    """EMFILE at spawn (imapexec started with a low RLIMIT_NOFILE, see the
    bats file): NO [UNAVAILABLE], fds back, the session goes on."""
    for tag in (b"a", b"b"):
        s.c.send(tag + b" EXECUTE args x\r\n")
        s.c.expect(rb"^" + tag + rb" NO \[UNAVAILABLE\]")
        s.back_to_base()
        s.noop()
    s.logout()


def sc_backend_fetch_die(s):
    s.c.send(b"f FETCH 1 BODY[]\r\n")
    rc = s.c.wait_exit()
    if not s.c.eof:
        raise Fail("no EOF to the client")
    print("backend died mid-FETCH literal: imapexec exit %d, %d bytes relayed"
          % (rc, len(s.c.buf)))


def sc_backend_line_die(s):
    s.c.send(b"f FETCH 1 FLAGS\r\n")
    rc = s.c.wait_exit()
    print("backend died mid-line: imapexec exit %d" % rc)


def sc_backend_exit_quiet(s):
    s.c.send(b"x NOOP\r\n")
    rc = s.c.wait_exit()
    print("backend exited without a word: imapexec exit %d" % rc)


def sc_backend_dies_during_execute(s):
    s.c.send(b"a EXECUTE sleepi\r\n")
    svc = s.service()
    s.c.expect(rb"^\+ ")
    os.kill(s.backend, signal.SIGKILL)
    rc = s.c.wait_exit()
    until(lambda: state(svc) is None, "the service to go", 10)
    print("backend killed during EXECUTE: imapexec exit %d" % rc)


def sc_client_vanishes_in_stall(s):
    """Issue 10: the backend goes deaf (reads and writes nothing), the
    client sends on and then closes both directions while nothing is
    queued for it.  imapexec must see the hang-up although it has nothing
    to write, give the backend its grace period and end."""
    s.c.send(b"d DEAF\r\n" + b"x NOOP\r\n" * 1000)
    s.c.close()
    s.c.p.stdout.close()
    end = time.monotonic() + DEADLINE
    while s.c.p.poll() is None:
        if time.monotonic() > end:
            os.kill(s.backend, signal.SIGKILL)      # leave nothing behind
            raise Fail("imapexec did not exit after the client went away")
        time.sleep(0.1)
    until(lambda: state(s.backend) is None, "the backend to go", 10)
    print("client gone during a stall: imapexec exit %d" % s.c.p.returncode)


def sc_probe_behind_slow_client(s):
    """Issue 10: the client pipelines an EXECUTE behind a FETCH whose
    tagged answer is long, and reads nothing for longer than probe_timeout
    (1 s).  The relay holds the backend's output for the client; that is
    no fault of the backend, so the probe must not time out and fail the
    connection closed: the EXECUTE runs once the client reads."""
    s.c.reading = False
    s.c.send(b"f FETCH 1 BODY[]\r\nx EXECUTE args hello\r\n")
    time.sleep(3)       # the stimulus: a client that reads nothing a while
    s.c.reading = True
    m = s.c.expect(rb"^x (OK|NO|BAD)[^\r]*")
    if not m.group(0).startswith(b"x OK"):
        raise Fail("EXECUTE behind a slow client: %r" % m.group(0))
    print("probe behind a slow client: %r" % m.group(0))
    s.logout()


def sc_backend_mute(s):
    """Issue 10: the backend closes its output but runs on, deaf to the
    end of its input.  No byte can reach the client any more: imapexec
    must close the backend's input, give it its grace period and end,
    although the client stays connected and waits."""
    s.c.send(b"m MUTE\r\n")
    end = time.monotonic() + DEADLINE
    while s.c.p.poll() is None:
        if time.monotonic() > end:
            os.kill(s.backend, signal.SIGKILL)      # leave nothing behind
            raise Fail("imapexec did not end after the backend's output did")
        s.c.pump(0.1)
    until(lambda: state(s.backend) is None, "the backend to go", 10)
    print("backend muted: imapexec exit %d" % s.c.p.returncode)


def sc_spawn_fails(s):
    """Services whose program cannot be executed (missing, not executable,
    a script without #!, a directory): NO [UNAVAILABLE] each, fds back, no
    zombie, the session goes on."""
    for tag, name in ((b"a", b"missing"), (b"b", b"noexec"),
                      (b"c", b"noshebang"), (b"d", b"adir")):
        run_one(s, tag + b" EXECUTE " + name + b"\r\n",
                rb"^" + tag + rb" NO \[UNAVAILABLE\]")
    s.logout()


F_GETPIPE_SZ = 1032     # fcntl(2), Linux


def pipe_sizes(pid, fdnums):
    """[F_GETPIPE_SZ] of pid's descriptors fdnums, opened through /proc
    (a pipe end opened so is the same pipe; reading side, non-blocking, and
    closed at once, so that it changes nothing)."""
    import fcntl
    out = []
    for n in fdnums:
        fd = os.open("/proc/%d/fd/%d" % (pid, n), os.O_RDONLY | os.O_NONBLOCK)
        try:
            out.append(fcntl.fcntl(fd, F_GETPIPE_SZ))
        finally:
            os.close(fd)
    return out


def sc_pipes(s):
    """The backend's stdin and stdout pipes have the capacity imapexec asks
    for (or what the kernel leaves a user past fs.pipe-user-pages-soft),
    its stderr and a service's pipes the default; a 1 MiB message goes
    to the backend and back whole through them (FAULT_PIPES="BACKEND
    OTHER": the expected sizes, in bytes)."""
    want_be, want_other = (int(x) for x in os.environ["FAULT_PIPES"].split())
    got = pipe_sizes(s.backend, (0, 1, 2))
    with open("/proc/sys/fs/pipe-user-pages-soft") as f:
        soft = int(f.read()) * 4096
    print("backend pipes (stdin, stdout, stderr): %r: %d KiB a connection, "
          "%d connections of one user within fs.pipe-user-pages-soft"
          % (got, sum(got) // 1024, soft // sum(got) if soft else -1))
    if got != [want_be, want_be, want_other]:
        raise Fail("backend pipes %r, want %r" % (got, [want_be, want_be, want_other]))

    def svc_pipes(s, svc):
        got = pipe_sizes(svc, (0, 1, 2))
        print("service pipes: %r" % got)
        if got != [want_other] * 3:
            raise Fail("service pipes %r, want %r" % (got, [want_other] * 3))
    run_one(s, b"a EXECUTE sleepi\r\n", rb"^a NO \[CANCELED\]", service_fds=True,
            then=lambda s, svc: (s.c.expect(rb"^\+ "), svc_pipes(s, svc),
                                 s.c.send(b"CANCEL\r\n")))
    body, n = append_big(s)
    s.c.send(b"f FETCH %d BODY.PEEK[]\r\n" % n)
    s.c.expect(rb"^f OK")
    if body not in bytes(s.c.buf):
        raise Fail("the 1 MiB message did not come back whole")
    s.back_to_base()
    s.logout()


SCENARIOS = {k[3:].replace("_", "-"): v for k, v in globals().items()
             if k.startswith("sc_")}


def main():
    args = sys.argv[1:]
    rss = 0
    name = args.pop(0)
    log = None
    while args[:1] in (["--rss"], ["--log"]):
        if args[0] == "--rss":
            rss = int(args[1])
        else:
            log = open(args[1], "ab")
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    s = None
    try:
        s = Scenario(args, rss, log)
        SCENARIOS[name](s)
        if s.c.p.poll() is None:
            s.c.close()
            s.c.wait_exit()
        hwm = status(s.c.pid, "VmHWM")
    except Fail as e:
        print("faults: %s: %s" % (name, e), file=sys.stderr)
        if s:
            s.c.p.kill()
            s.c.p.wait()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
