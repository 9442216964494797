#!/usr/bin/python3
"""run.py WORKDIR - the imapexec benchmarks R1..R10 (see scripts/bench.sh);
R9 and R10 time the client, imapexec-run, through a preauth tunnel.

Runs as the unprivileged bench user with a clean environment; everything
is started the same way for both sides (posix_spawn from this process, or
through mbsync's Tunnel).  WORKDIR holds the binaries, configs and data
that bench.sh prepared; results go to WORKDIR/out (results.json, table.txt,
report.md, and chart.dat for gnuplot).
"""
import json
import os
import re
import selectors
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib

W = sys.argv[1]
QUICK = os.environ.get("BENCH_QUICK", "0") == "1"
ONLY = os.environ.get("BENCH_ONLY", "").split()
OUT = os.path.join(W, "out")
IMAPEXEC = os.path.join(W, "bin", "imapexec")
DOVECOT = "/usr/lib/dovecot/imap"
DCONF = os.path.join(W, "etc", "dovecot.conf")
DCONF_BIG = os.path.join(W, "etc", "dovecot-big.conf")
ICONF = os.path.join(W, "etc", "imapexec.conf")
ICONF_BIG = os.path.join(W, "etc", "imapexec-big.conf")
ICONF_PLAIN = os.path.join(W, "etc", "imapexec-plain.conf")
DCONF_ZLIB = os.path.join(W, "etc", "dovecot-zlib.conf")
ERRLOG = open(os.path.join(W, "log", "stderr.log"), "ab")

P = dict(r1_rounds=3, r2_noops=2000, r2_rounds=3, r3_rounds=3,
         r4_starts=40, r4_rounds=3, r5_calls=60, r5_ssh=5, r5_rounds=3,
         r6_mib=32, r6_rounds=2, r7_flood=3, r8_conns=200,
         r9_calls=20, r9_rounds=3, r10_mib=32, r10_rounds=2,
         r11_rounds=2, r11_conns=10) if QUICK else \
    dict(r1_rounds=7, r2_noops=10000, r2_rounds=5, r3_rounds=7,
         r4_starts=150, r4_rounds=5, r5_calls=300, r5_ssh=20, r5_rounds=5,
         r6_mib=256, r6_rounds=3, r7_flood=10, r8_conns=200,
         r9_calls=100, r9_rounds=5, r10_mib=256, r10_rounds=3,
         r11_rounds=5, r11_conns=20)

results = []          # one dict per table row
extra = {}            # other facts for the report


def log(msg):
    print(msg, flush=True)


def cmd_direct(conf=DCONF):
    return [DOVECOT, "-c", conf]


def cmd_filtered(conf=DCONF, iconf=ICONF):
    return [IMAPEXEC, "-c", iconf, "--", DOVECOT, "-c", conf]


SCRATCH = bytearray(1 << 20)


# --- one connection: the server on a socketpair, as inetd would start it --

class Conn:
    def __init__(self, argv):
        a, b = socket.socketpair()
        fa = [(os.POSIX_SPAWN_DUP2, b.fileno(), 0),
              (os.POSIX_SPAWN_DUP2, b.fileno(), 1),
              (os.POSIX_SPAWN_DUP2, ERRLOG.fileno(), 2)]
        self.pid = os.posix_spawn(argv[0], argv, os.environ,
                                  file_actions=fa)
        b.close()
        self.s = a
        self.buf = bytearray()
        self.n = 0

    def fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("server closed the connection")
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return ln
            self.fill()

    def skip(self, n):
        """Drop n bytes of literal data; return how many."""
        k = min(n, len(self.buf))
        del self.buf[:k]
        left = n - k
        while left:
            got = self.s.recv_into(SCRATCH, min(left, len(SCRATCH)))
            if not got:
                raise EOFError("server closed the connection")
            left -= got
        return n

    def until_tagged(self, tag):
        """Read responses up to the tagged one; return (line, literal bytes)."""
        lit = 0
        t = tag.encode() + b" "
        while True:
            ln = self.line()
            while ln.endswith(b"}"):
                m = re.search(rb"~?\{(\d+)\}$", ln)
                if not m:
                    break
                lit += self.skip(int(m.group(1)))
                ln = self.line()
            if ln.startswith(t):
                return ln, lit

    def cmd(self, text):
        self.n += 1
        tag = "a%d" % self.n
        self.s.sendall(("%s %s\r\n" % (tag, text)).encode())
        ln, lit = self.until_tagged(tag)
        if not ln.startswith((tag + " OK").encode()):
            raise RuntimeError("%s %s: %r" % (tag, text, ln))
        return lit

    def greeting(self):
        ln = self.line()
        if not ln.startswith(b"* PREAUTH"):
            raise RuntimeError("greeting %r" % ln)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (EOFError, RuntimeError, OSError):
            pass
        self.s.close()
        os.waitpid(self.pid, 0)


# --- statistics ---------------------------------------------------------------

def rounds(n, variants, warmup=1):
    """Run each (name, fn) once per round, interleaved, after warm-up
    rounds; return {name: [value per measured round]}."""
    out = {name: [] for name, _ in variants}
    for r in range(warmup + n):
        for name, fn in variants:
            v = fn()
            if r >= warmup:
                out[name].append(v)
    return out


def mmm(xs):
    return (min(xs), statistics.median(xs), max(xs))


def add(rid, what, unit, a_name, a, b_name, b, target=None, sense=None,
        note=""):
    """A table row: ratio a/b per round.  target is the bound on the
    median ratio; sense '<=' or '>='."""
    ratios = [x / y for x, y in zip(a, b)]
    lo, med, hi = mmm(ratios)
    met = None
    if target is not None:
        met = med <= target if sense == "<=" else med >= target
    row = dict(id=rid, what=what, unit=unit, a=a_name, b=b_name,
               a_med=statistics.median(a), b_med=statistics.median(b),
               rmin=lo, rmed=med, rmax=hi, n=len(ratios),
               target=("%s %g" % (sense, target)) if target else "",
               met=met, note=note)
    results.append(row)
    log("  %-4s %-34s %10.4g %s vs %10.4g %s  ratio %.3f/%.3f/%.3f %s" %
        (rid, what, row["a_med"], unit, row["b_med"], unit, lo, med, hi,
         "" if met is None else ("MET" if met else "MISSED")))
    return row


def value(rid, what, unit, v, target=None, sense=None, note=""):
    """A table row with a single value (no ratio)."""
    met = None
    if target is not None:
        met = v <= target if sense == "<=" else v >= target
    results.append(dict(id=rid, what=what, unit=unit, a="imapexec", b="",
                        a_med=v, b_med=None, rmin=None, rmed=None,
                        rmax=None, n=1, target=("%s %g %s" %
                        (sense, target, unit)) if target else "",
                        met=met, note=note))
    log("  %-4s %-34s %10.4g %s %s" % (rid, what, v, unit,
        "" if met is None else ("MET" if met else "MISSED")))


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return int(ln.split()[1])
    return 0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for ln in f:
                if ln.startswith("Pss:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --- R1: mbsync --------------------------------------------------------------

def mbsyncrcs(prefix, tunnels, dst):
    """Write an mbsyncrc per tunnel (name -> argv) that pulls everything
    into dst; return name -> its path."""
    rcs = {}
    for name, argv in tunnels.items():
        rc = os.path.join(W, "etc", "%s.%s" % (prefix, name.replace(" ", "_")))
        with open(rc, "w") as f:
            f.write("FSync no\n\nIMAPStore src\nTunnel \"%s\"\n\n"
                    "MaildirStore dst\nPath %s/\nInbox %s/INBOX\n"
                    "SubFolders Verbatim\n\nChannel c\nFar :src:\n"
                    "Near :dst:\nPatterns *\nCreate Near\nSync Pull\n"
                    "SyncState *\n" % (shlex.join(argv), dst, dst))
        rcs[name] = rc
    return rcs


def mbsync_round(rc, dst, files):
    """Remove files (the wrappers' records), sync into a fresh dst with
    the mbsyncrc rc; return the seconds it took."""
    subprocess.run(["rm", "-rf", dst], check=True)
    os.mkdir(dst)
    for f in files:
        try:
            os.unlink(f)
        except FileNotFoundError:
            pass
    t = time.perf_counter()
    subprocess.run(["mbsync", "-q", "-c", rc, "-a"], check=True, stderr=ERRLOG)
    return time.perf_counter() - t


def r1():
    log("R1 mbsync full sync via Tunnel to tmpfs")
    dst = os.environ["BENCH_SHM"]
    cpu = os.path.join(W, "log", "cpu.txt")
    wrap = os.path.join(W, "bin", "cpuwrap")
    tunnels = {
        # compress = false: the relay alone, like for like with Dovecot
        "imapexec": [wrap, cpu] + cmd_filtered(iconf=ICONF_PLAIN),
        # the default: mbsync takes the COMPRESS=DEFLATE imapexec offers
        "imapexec COMPRESS": [wrap, cpu] + cmd_filtered(),
        "direct": [wrap, cpu] + cmd_direct(),
        "socat": [wrap, cpu, "/usr/bin/socat", "STDIO",
                  "EXEC:%s -c %s" % (DOVECOT, DCONF)],
        "socat -t 0.05": [wrap, cpu, "/usr/bin/socat", "-t", "0.05",
                          "STDIO", "EXEC:%s -c %s" % (DOVECOT, DCONF)],
    }
    rcs = mbsyncrcs("mbsyncrc", tunnels, dst)
    cpus = {name: [] for name in tunnels}

    def run(name):
        def fn():
            dt = mbsync_round(rcs[name], dst, [cpu])
            with open(cpu) as f:
                own, total = f.read().split()
            cpus[name].append((int(own) / 1e9, int(total) / 1e6))
            return dt
        return fn
    res = rounds(P["r1_rounds"], [(n, run(n)) for n in tunnels])
    n_files = sum(len(fs) for _, _, fs in os.walk(dst))
    extra["r1_files"] = n_files
    d = res["direct"]
    add("R1", "mbsync sync, imapexec", "s", "imapexec", res["imapexec"],
        "direct", d, 1.02, "<=")
    add("R1", "mbsync sync, imapexec with COMPRESS (the default)", "s",
        "imapexec COMPRESS", res["imapexec COMPRESS"], "direct", d)
    add("R1", "mbsync sync, socat (blind relay)", "s", "socat", res["socat"],
        "direct", d)
    add("R1", "mbsync sync, socat -t 0.05", "s", "socat -t 0.05",
        res["socat -t 0.05"], "direct", d)
    # CPU: imapexec's own process vs the backend (its waited children).
    ic = cpus["imapexec"][1:]          # drop the warm-up round
    own = [o for o, _ in ic]
    backend = [t - o for o, t in ic]
    add("R1", "imapexec CPU / backend CPU", "s", "imapexec own CPU", own,
        "backend CPU", backend, 0.03, "<=")
    zc = cpus["imapexec COMPRESS"][1:]
    add("R1", "imapexec CPU / backend CPU, with COMPRESS", "s",
        "imapexec own CPU", [o for o, _ in zc], "backend CPU",
        [t - o for o, t in zc])
    sc = cpus["socat"][1:]
    add("R1", "socat CPU / backend CPU", "s", "socat own CPU",
        [o for o, _ in sc], "backend CPU", [t - o for o, t in sc])


# --- R2: NOOP round trips -----------------------------------------------------

def r2():
    log("R2 %d sequential NOOP round trips on one connection" % P["r2_noops"])

    def run(argv):
        def fn():
            c = Conn(argv)
            c.greeting()
            c.cmd("NOOP")
            t = time.perf_counter()
            for _ in range(P["r2_noops"]):
                c.cmd("NOOP")
            dt = time.perf_counter() - t
            c.close()
            return dt / P["r2_noops"] * 1e6
        return fn
    res = rounds(P["r2_rounds"], [("imapexec", run(cmd_filtered())),
                                  ("direct", run(cmd_direct()))])
    add("R2", "NOOP round trip", "us", "imapexec", res["imapexec"],
        "direct", res["direct"], 1.05, "<=")


# --- R3: bulk FETCH ------------------------------------------------------------

def fetch_all(c):
    c.cmd("SELECT INBOX")
    t = time.perf_counter()
    n = c.cmd("FETCH 1:* BODY.PEEK[]")
    return n, time.perf_counter() - t


def r3():
    log("R3 bulk FETCH BODY.PEEK[] of the large-literal mailbox")
    peak = {"rss": 0, "hwm": 0}

    def run(argv, sample):
        def fn():
            c = Conn(argv)
            c.greeting()
            stop = threading.Event()

            def sampler():
                while not stop.is_set():
                    try:
                        peak["rss"] = max(peak["rss"],
                                          status_kb(c.pid, "VmRSS"))
                    except OSError:
                        pass
                    time.sleep(0.01)
            th = None
            if sample:
                th = threading.Thread(target=sampler)
                th.start()
            n, dt = fetch_all(c)
            if th:
                stop.set()
                th.join()
                peak["hwm"] = max(peak["hwm"], status_kb(c.pid, "VmHWM"))
            c.close()
            extra["r3_bytes"] = n
            return n / dt / 1048576.0
        return fn
    res = rounds(P["r3_rounds"], [
        ("imapexec", run(cmd_filtered(DCONF_BIG, ICONF_BIG), True)),
        ("direct", run(cmd_direct(DCONF_BIG), False))])
    add("R3", "FETCH BODY.PEEK[] throughput", "MiB/s", "imapexec",
        res["imapexec"], "direct", res["direct"], 0.98, ">=",
        note="%.0f MiB per run" % (extra["r3_bytes"] / 1048576.0))
    extra["r7_r3_rss"] = peak["rss"]
    extra["r7_r3_hwm"] = peak["hwm"]


# --- R4: connection start ---------------------------------------------------------

def r4():
    log("R4 connect -> greeting -> LOGOUT, %d per round" % P["r4_starts"])

    def run(argv):
        def fn():
            t = time.perf_counter()
            for _ in range(P["r4_starts"]):
                c = Conn(argv)
                c.greeting()
                c.close()
            return (time.perf_counter() - t) / P["r4_starts"] * 1e3
        return fn
    res = rounds(P["r4_rounds"], [("imapexec", run(cmd_filtered())),
                                  ("direct", run(cmd_direct()))])
    add("R4", "session start + LOGOUT", "ms", "imapexec", res["imapexec"],
        "direct", res["direct"], 1.05, "<=")


# --- sshd ----------------------------------------------------------------

class Sshd:
    def __init__(self):
        d = os.path.join(W, "ssh")
        self.port = free_port()
        conf = os.path.join(d, "sshd_config")
        with open(conf, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\n"
                    "HostKey %s/host_ed25519\nPidFile %s/sshd.pid\n"
                    "AuthorizedKeysFile %s/authorized_keys\n"
                    "UsePAM no\nStrictModes no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\n"
                    "PubkeyAuthentication yes\nPrintMotd no\n"
                    "PrintLastLog no\nUseDNS no\nLogLevel ERROR\n"
                    "MaxStartups 100\nMaxSessions 100\n"
                    % (self.port, d, d, d))
        self.p = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", conf,
                                   "-E", os.path.join(W, "log", "sshd.log")])
        self.base = ["ssh", "-F", "/dev/null", "-p", str(self.port),
                     "-i", os.path.join(d, "id_ed25519"),
                     "-o", "IdentitiesOnly=yes",
                     "-o", "UserKnownHostsFile=%s/known_hosts" % d,
                     "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes",
                     "-o", "LogLevel=ERROR"]
        self.cm = ["-o", "ControlPath=%s/cm-%%C" % d]
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port)).close()
                break
            except OSError:
                time.sleep(0.05)
        subprocess.run(self.base + ["127.0.0.1", "true"], check=True)
        subprocess.run(self.base + self.cm + ["-M", "-N", "-f",
                       "-o", "ControlPersist=600", "127.0.0.1"], check=True)
        self.mux = self.base + self.cm + ["-o", "ControlMaster=no"]

    def stop(self):
        subprocess.run(self.base + self.cm + ["-O", "exit", "127.0.0.1"],
                       stderr=subprocess.DEVNULL)
        self.p.terminate()
        self.p.wait()


# --- R5: one-shot EXECUTE -----------------------------------------------------

def r5(sshd):
    log("R5 one-shot EXECUTE of %s (per call)" % os.environ["BENCH_TRUE"])
    prog = os.environ["BENCH_TRUE"]

    def imap():
        c = Conn(cmd_filtered())
        c.greeting()
        c.cmd("EXECUTE true")
        t = time.perf_counter()
        for _ in range(P["r5_calls"]):
            c.cmd("EXECUTE true")
        dt = time.perf_counter() - t
        c.close()
        return dt / P["r5_calls"] * 1e3

    def spawn():
        out = subprocess.run([os.path.join(W, "bin", "spawnloop"),
                              str(P["r5_calls"]), prog], check=True,
                             capture_output=True, text=True).stdout
        return float(out) / 1e3

    def ssh(base):
        def fn():
            t = time.perf_counter()
            for _ in range(P["r5_ssh"]):
                subprocess.run(base + ["127.0.0.1", prog], check=True,
                               stdin=subprocess.DEVNULL)
            return (time.perf_counter() - t) / P["r5_ssh"] * 1e3
        return fn
    res = rounds(P["r5_rounds"], [("imapexec", imap),
                                  ("posix_spawn", spawn),
                                  ("ssh", ssh(sshd.base)),
                                  ("ssh ControlMaster", ssh(sshd.mux))])
    i = res["imapexec"]
    add("R5", "EXECUTE true vs posix_spawn", "ms", "imapexec", i,
        "posix_spawn", res["posix_spawn"], 1.3, "<=")
    add("R5", "EXECUTE true vs ssh", "ms", "imapexec", i, "ssh",
        res["ssh"], 0.1, "<=")
    add("R5", "EXECUTE true vs ssh ControlMaster", "ms", "imapexec", i,
        "ssh ControlMaster", res["ssh ControlMaster"])


# --- R6: interactive streaming ------------------------------------------------

CHUNK = 65536
OUTRE = re.compile(rb'\* EXECUTE \(TAG "x"\) (OUT|ERR) ~?\{(\d+)\}\r\n')


def pattern():
    # 8-bit bytes without LF or NUL: a binary stream, sent as literals.
    return bytes(0x80 + (i * 7 + i // 251) % 128 for i in range(CHUNK))


def stream_raw(argv, nbytes):
    """Write nbytes to argv's stdin while reading its stdout; seconds."""
    data = pattern()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=ERRLOG)
    os.set_blocking(p.stdin.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(p.stdin, selectors.EVENT_WRITE)
    sel.register(p.stdout, selectors.EVENT_READ)
    sent = got = 0
    mv = memoryview(data)
    off = 0
    t = time.perf_counter()
    while got < nbytes:
        for key, ev in sel.select():
            if key.fileobj is p.stdin:
                try:
                    k = os.write(p.stdin.fileno(), mv[off:])
                except BlockingIOError:
                    continue
                off = (off + k) % CHUNK
                sent += k
                if sent >= nbytes:
                    sel.unregister(p.stdin)
                    p.stdin.close()
            else:
                d = os.read(p.stdout.fileno(), 1 << 20)
                if not d:
                    raise EOFError("stream ended early")
                got += len(d)
    dt = time.perf_counter() - t
    p.stdout.close()
    p.wait()
    if got != nbytes:
        raise RuntimeError("got %d of %d" % (got, nbytes))
    return dt


def stream_imap(nbytes):
    data = pattern()
    c = Conn(cmd_filtered())
    c.greeting()
    c.s.sendall(b"x EXECUTE cat\r\n")
    ln = c.line()
    if not ln.startswith(b"+ "):
        raise RuntimeError("no continuation: %r" % ln)
    frame = b"{%d+}\r\n" % CHUNK + data + b"\r\n"
    nframes = nbytes // CHUNK
    s = c.s
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    out = memoryview(frame)
    off = sent = got = 0
    buf = c.buf
    done = False
    t = time.perf_counter()
    while True:
        for key, ev in sel.select():
            if ev & selectors.EVENT_WRITE and not done:
                try:
                    k = s.send(out[off:])
                except BlockingIOError:
                    k = 0
                off += k
                if off == len(out):
                    sent += 1
                    off = 0
                    if sent == nframes:
                        out = memoryview(b"DONE\r\n")
                    elif sent > nframes:
                        done = True
                        sel.modify(s, selectors.EVENT_READ)
            if ev & selectors.EVENT_READ:
                try:
                    d = s.recv(1 << 20)
                except BlockingIOError:
                    d = None
                if d == b"":
                    raise EOFError("imapexec closed")
                if d:
                    buf += d
                # parse OUT literals
                while True:
                    m = OUTRE.match(buf)
                    if m:
                        n = int(m.group(2))
                        if len(buf) < m.end() + n + 2:
                            break
                        if m.group(1) == b"OUT":
                            got += n
                        del buf[:m.end() + n + 2]
                        continue
                    i = buf.find(b"\r\n")
                    if i < 0:
                        break
                    ln = bytes(buf[:i])
                    del buf[:i + 2]
                    if ln.startswith(b"x "):
                        if not ln.startswith(b"x OK"):
                            raise RuntimeError(ln)
                        dt = time.perf_counter() - t
                        s.setblocking(True)
                        c.close()
                        if got != nbytes:
                            raise RuntimeError("got %d of %d" %
                                               (got, nbytes))
                        return dt
                    if not ln.startswith(b"* EXECUTE"):
                        raise RuntimeError("unexpected %r" % ln[:80])


def r6(sshd):
    n = P["r6_mib"] << 20
    log("R6 interactive EXECUTE cat, %d MiB each way" % P["r6_mib"])
    mib = P["r6_mib"]
    res = rounds(P["r6_rounds"], [
        ("imapexec", lambda: mib / stream_imap(n)),
        ("raw pipe", lambda: mib / stream_raw(["/bin/cat"], n)),
        ("ssh", lambda: mib / stream_raw(sshd.base + ["127.0.0.1", "cat"],
                                         n))])
    add("R6", "EXECUTE cat vs raw pipe", "MiB/s", "imapexec",
        res["imapexec"], "raw pipe", res["raw pipe"], 0.5, ">=")
    add("R6", "EXECUTE cat vs ssh cat", "MiB/s", "imapexec",
        res["imapexec"], "ssh", res["ssh"], 1.0, ">=")


# --- R9, R10: the client, imapexec-run, through a tunnel ----------------------

RUN = os.path.join(W, "bin", "imapexec-run")


def tunnel():
    return " ".join(shlex.quote(a) for a in cmd_filtered())


def r9(sshd):
    log("R9 imapexec-run -t TUNNEL true, a whole session per call")
    prog = os.environ["BENCH_TRUE"]
    n = P["r9_calls"]

    def client():
        argv = [RUN, "-t", tunnel(), "true"]
        t = time.perf_counter()
        for _ in range(n):
            subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
        return (time.perf_counter() - t) / n * 1e3

    def spawn():
        out = subprocess.run([os.path.join(W, "bin", "spawnloop"), str(n),
                              prog], check=True, capture_output=True,
                             text=True).stdout
        return float(out) / 1e3

    def ssh():
        t = time.perf_counter()
        for _ in range(P["r5_ssh"]):
            subprocess.run(sshd.base + ["127.0.0.1", prog], check=True,
                           stdin=subprocess.DEVNULL)
        return (time.perf_counter() - t) / P["r5_ssh"] * 1e3
    res = rounds(P["r9_rounds"], [("imapexec-run", client),
                                  ("posix_spawn", spawn), ("ssh", ssh)])
    add("R9", "imapexec-run true vs ssh true", "ms", "imapexec-run",
        res["imapexec-run"], "ssh", res["ssh"], 0.1, "<=")
    add("R9", "imapexec-run true vs posix_spawn", "ms", "imapexec-run",
        res["imapexec-run"], "posix_spawn", res["posix_spawn"])


def r10(sshd):
    n = P["r10_mib"] << 20
    mib = P["r10_mib"]
    log("R10 imapexec-run -t TUNNEL cat, %d MiB each way" % mib)
    res = rounds(P["r10_rounds"], [
        ("imapexec-run", lambda: mib / stream_raw(
            [RUN, "-t", tunnel(), "cat"], n)),
        ("ssh", lambda: mib / stream_raw(sshd.base + ["127.0.0.1", "cat"],
                                         n))])
    add("R10", "imapexec-run cat vs ssh cat", "MiB/s", "imapexec-run",
        res["imapexec-run"], "ssh", res["ssh"], 1.0, ">=")


# --- R7: memory ------------------------------------------------------------------

def r7():
    log("R7 imapexec memory")
    c = Conn(cmd_filtered())
    c.greeting()
    c.cmd("NOOP")
    time.sleep(0.2)
    rss, anon, hwm, pss = (status_kb(c.pid, "VmRSS"),
                           status_kb(c.pid, "RssAnon"),
                           status_kb(c.pid, "VmHWM"), pss_kb(c.pid))
    bp = None
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == c.pid:
                        bp = int(name)
            except (OSError, ValueError, IndexError):
                pass
    c.close()
    value("R7", "idle VmRSS", "KiB", rss, 1024, "<=",
          note="RssAnon %d KiB, PSS %d KiB, VmHWM %d KiB" % (anon, pss, hwm))
    value("R7", "idle RssAnon (private heap/stack)", "KiB", anon, 1024,
          "<=")
    value("R7", "idle PSS", "KiB", pss)
    extra["r7_idle"] = dict(rss=rss, anon=anon, hwm=hwm, pss=pss)
    if bp:
        extra["r7_backend_pid"] = bp
    value("R7", "peak VmRSS during R3", "KiB", extra.get("r7_r3_rss", 0),
          note="VmHWM %d KiB" % extra.get("r7_r3_hwm", 0))

    # The flood: a service writes without end; the client reads nothing.
    c = Conn(cmd_filtered())
    c.greeting()
    c.s.sendall(b"f EXECUTE flood\r\n")
    samples = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < P["r7_flood"]:
        time.sleep(0.25)
        samples.append((round(time.perf_counter() - t0, 2),
                        status_kb(c.pid, "VmRSS")))
    hwm = status_kb(c.pid, "VmHWM")
    c.s.settimeout(5)
    head = c.s.recv(4096)
    if b'* EXECUTE (TAG "f") OUT' not in head:
        raise RuntimeError("flood: no output: %r" % head[:200])
    os.kill(c.pid, signal.SIGTERM)
    c.s.close()
    os.waitpid(c.pid, 0)
    first = samples[0][1]
    top = max(v for _, v in samples)
    extra["r7_flood"] = samples
    value("R7", "flood: VmRSS growth after 0.25 s", "KiB", top - first, 64,
          "<=", note="VmRSS %d KiB at 0.25 s, max %d, VmHWM %d over %d s"
          % (first, top, hwm, P["r7_flood"]))


# --- R8: many connections -------------------------------------------------------

def children(ppid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == ppid:
                out.append(int(name))
        except (OSError, ValueError, IndexError):
            pass
    return out


def r8():
    n = P["r8_conns"]
    log("R8 %d concurrent connections through systemd-socket-activate" % n)
    port = free_port()
    sa = subprocess.Popen(["systemd-socket-activate", "--inetd", "-a", "-l",
                           "127.0.0.1:%d" % port] + cmd_filtered(),
                          stderr=ERRLOG)
    socks = []
    try:
        for _ in range(100):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port)))
                break
            except OSError:
                time.sleep(0.05)
        while len(socks) < n:
            socks.append(socket.create_connection(("127.0.0.1", port)))
        for s in socks:
            b = b""
            while b"\r\n" not in b:
                d = s.recv(4096)
                if not d:
                    raise EOFError("connection closed")
                b += d
        time.sleep(0.3)
        ie = children(sa.pid)
        be = [b for p in ie for b in children(p)]
        rss = [status_kb(p, "VmRSS") for p in ie]
        anon = [status_kb(p, "RssAnon") for p in ie]
        pss = [pss_kb(p) for p in ie]
        brss = [status_kb(p, "VmRSS") for p in be]
        bpss = [pss_kb(p) for p in be]
    finally:
        for s in socks:
            s.close()
        deadline = time.time() + 20
        while children(sa.pid) and time.time() < deadline:
            time.sleep(0.1)
        sa.terminate()
        sa.wait()
    if len(ie) != n:
        raise RuntimeError("%d imapexec processes for %d connections" %
                           (len(ie), n))
    mb = 1024.0
    value("R8", "%d conns: imapexec VmRSS total" % n, "MiB", sum(rss) / mb,
          note="per process %.0f KiB (RssAnon %.0f KiB)" %
          (statistics.median(rss), statistics.median(anon)))
    value("R8", "%d conns: imapexec PSS total" % n, "MiB", sum(pss) / mb,
          note="per process %.0f KiB" % statistics.median(pss))
    value("R8", "%d conns: backend (Dovecot) PSS total" % n, "MiB",
          sum(bpss) / mb, note="VmRSS total %.1f MiB, for scale" %
          (sum(brss) / mb))
    extra["r8"] = dict(n=n, rss=sum(rss), pss=sum(pss), anon=sum(anon),
                       brss=sum(brss), bpss=sum(bpss))


# --- R11: COMPRESS=DEFLATE ------------------------------------------------------

def r11():
    log("R11 COMPRESS: mbsync full sync, imapexec compressing vs Dovecot's imap_zlib")
    dst = os.environ["BENCH_SHM"]
    cpu = os.path.join(W, "log", "cpu11.txt")
    wire = os.path.join(W, "log", "wire11.txt")
    wrap = os.path.join(W, "bin", "cpuwrap")
    count = os.path.join(W, "bin", "wirecount")
    tunnels = {
        # imapexec offers COMPRESS=DEFLATE (the default): mbsync takes it
        "imapexec COMPRESS": cmd_filtered(),
        # Dovecot with imap_zlib offers it itself: mbsync takes it
        "dovecot imap_zlib": cmd_direct(DCONF_ZLIB),
        # no compression anywhere: Dovecot's CPU without zlib
        "dovecot plain": cmd_direct(),
    }
    rcs = mbsyncrcs("mbsyncrc11", {name: [count, wire, wrap, cpu] + argv
                                   for name, argv in tunnels.items()}, dst)
    own = {name: [] for name in tunnels}
    down = {name: [] for name in tunnels}
    up = {name: [] for name in tunnels}

    def run(name):
        def fn():
            dt = mbsync_round(rcs[name], dst, [cpu, wire])
            with open(cpu) as f:
                o, _ = f.read().split()
            with open(wire) as f:
                u, d = f.read().split()
            own[name].append(int(o) / 1e9)
            up[name].append(int(u))
            down[name].append(int(d))
            return dt
        return fn
    rounds(P["r11_rounds"], [(n, run(n)) for n in tunnels])
    ie, dz, dp = "imapexec COMPRESS", "dovecot imap_zlib", "dovecot plain"
    for d in (own, up, down):
        for k in d:
            del d[k][0]            # the warm-up round
    add("R11", "wire bytes to client, imapexec/Dovecot", "B", ie, down[ie],
        dz, down[dz], 1.02, "<=")
    add("R11", "wire bytes from client, imapexec/Dovecot", "B", ie, up[ie],
        dz, up[dz])
    add("R11", "compression ratio (plain/compressed)", "B", dp, down[dp],
        ie, down[ie], note="Dovecot's own: %.2f" %
        (statistics.median(down[dp]) / statistics.median(down[dz])))
    # Dovecot's zlib cost: its CPU with imap_zlib minus without.
    zcost = [max(z - p, 1e-6) for z, p in zip(own[dz], own[dp])]
    add("R11", "imapexec CPU / Dovecot's zlib CPU", "s", "imapexec own CPU",
        own[ie], "Dovecot zlib cost", zcost, 1.2, "<=")
    r11_rss()


def zconn(argv, compress):
    """A connection that selects INBOX and fetches 50 messages whole, with
    COMPRESS negotiated first if ${compress}; left open."""
    c = Conn(argv)
    c.greeting()
    if compress:
        c.cmd("COMPRESS DEFLATE")
        d = zlib.compressobj(wbits=-15)
        i = zlib.decompressobj(wbits=-15)
        raw = c.s
        rest = bytes(c.buf)
        c.buf = bytearray(i.decompress(rest))

        class Z:
            pend = b""

            def recv(self, n):
                while not self.pend:
                    b = raw.recv(1 << 16)
                    if not b:
                        return b
                    self.pend = i.decompress(b)
                p, self.pend = self.pend[:n], self.pend[n:]
                return p

            def recv_into(self, buf, n):
                p = self.recv(n)
                buf[:len(p)] = p
                return len(p)

            def sendall(self, b):
                raw.sendall(d.compress(b) + d.flush(zlib.Z_SYNC_FLUSH))

            def close(self):
                raw.close()
        c.s = Z()
    c.cmd("SELECT INBOX")
    c.cmd("FETCH 1:50 BODY.PEEK[]")
    c.cmd("NOOP")
    return c


def r11_rss():
    n = P["r11_conns"]
    log("R11 RSS per connection after a 50-message FETCH, %d each" % n)
    res = {}
    for compress in (False, True):
        conns = [zconn(cmd_filtered(), compress) for _ in range(n)]
        time.sleep(0.3)
        res[compress] = ([status_kb(c.pid, "VmRSS") for c in conns],
                         [status_kb(c.pid, "RssAnon") for c in conns],
                         [pss_kb(c.pid) for c in conns])
        for c in conns:
            c.close()
    for k, what in ((0, "VmRSS"), (1, "RssAnon"), (2, "PSS")):
        z = statistics.median(res[True][k])
        p = statistics.median(res[False][k])
        value("R11", "%s per compressed connection" % what, "KiB", z,
              note="%.0f KiB without COMPRESS: +%.0f KiB" % (p, z - p))


# --- report -----------------------------------------------------------------

def fmt(v):
    if v is None:
        return ""
    return "%.3f" % v if abs(v) < 10 else "%.1f" % v


def table():
    hdr = ("id", "measurement", "A", "B", "A median", "B median",
           "ratio min", "median", "max", "target", "met")
    rows = []
    for r in results:
        rows.append((r["id"], r["what"], r["a"], r["b"],
                     "%s %s" % (fmt(r["a_med"]), r["unit"]),
                     "%s %s" % (fmt(r["b_med"]), r["unit"])
                     if r["b_med"] is not None else "",
                     fmt(r["rmin"]), fmt(r["rmed"]), fmt(r["rmax"]),
                     r["target"],
                     "" if r["met"] is None else
                     ("yes" if r["met"] else "NO")))
    return hdr, rows


def main():
    os.makedirs(OUT, exist_ok=True)
    steps = [("R1", r1), ("R2", r2), ("R3", r3), ("R4", r4), ("R5", None),
             ("R6", None), ("R7", r7), ("R8", r8), ("R9", None),
             ("R10", None), ("R11", r11)]
    sshd = None
    extra["load_start"] = open("/proc/loadavg").read().split()[0]
    try:
        for rid, fn in steps:
            if ONLY and rid not in ONLY:
                continue
            if fn is None:
                if sshd is None:
                    sshd = Sshd()
                dict(R5=r5, R6=r6, R9=r9, R10=r10)[rid](sshd)
            else:
                fn()
    finally:
        if sshd:
            sshd.stop()
    extra["load_end"] = open("/proc/loadavg").read().split()[0]
    hdr, rows = table()
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(dict(results=results, extra=extra, params=P,
                       quick=QUICK), f, indent=1)
    widths = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    with open(os.path.join(OUT, "table.txt"), "w") as f:
        for r in [hdr] + rows:
            f.write("  ".join(str(x).ljust(w) for x, w in
                              zip(r, widths)).rstrip() + "\n")
    with open(os.path.join(OUT, "chart.dat"), "w") as f:
        for i, r in enumerate(x for x in results if x["rmed"] is not None):
            f.write('%d "%s %s" %.4f %.4f %.4f\n' %
                    (i, r["id"], r["what"].replace('"', "'"),
                     r["rmin"], r["rmed"], r["rmax"]))


main()
