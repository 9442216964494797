#!/usr/bin/env python3
"""tests/plraw.py - raw IMAP over TLS for the post-login tests.

    plraw.py smuggle PORT USER PASSFILE CAFILE MSGFILE
        One write: LOGIN, APPEND INBOX {n+} with MSGFILE's octets, LOGOUT.
        Prints what the server sent.
    Modes that read the login reply first (hold, send, compress, idle)
    then send the EXECUTE-SYNC NOOP if the reply offers one.
    plraw.py hold PORT USER PASSFILE CAFILE STATEDIR
        LOGIN, NOOP; then touch STATEDIR/ready and wait: if STATEDIR/close
        appears, close the connection (exit 0); if the server closes first,
        touch STATEDIR/eof (exit 0).  At most 30 s.
    plraw.py send PORT USER PASSFILE CAFILE STATEDIR
        As hold, but right after the login sends the bytes of
        STATEDIR/send, unanswered, before it touches STATEDIR/ready.
        (Both exit 1 if neither side closed in the 30 s.)
    plraw.py compress PORT USER PASSFILE CAFILE -
        LOGIN, COMPRESS DEFLATE, then compressed: `x EXECUTE whoami`,
        LOGOUT.  Prints what the server sent, inflated.
    plraw.py idle PORT USER PASSFILE CAFILE STATEDIR
        LOGIN, IDLE; touch STATEDIR/ready once idling, wait (at most 30 s)
        for STATEDIR/done, then DONE, `x EXECUTE whoami`, LOGOUT.  Prints
        what the server sent.
    plraw.py login PORT USER PASSFILE CAFILE STATEDIR
        Send LOGIN, touch STATEDIR/sent, then print what the server sends
        until it closes (touch STATEDIR/eof) or STATEDIR/close appears
        (hang up).  At most 30 s (then exit 1).
    plraw.py pipeline PORT USER PASSFILE CAFILE -
        One write: LOGIN, `x EXECUTE mark`, `n NOOP`, LOGOUT.  Prints
        what the server sent.
"""
import os
import re
import socket
import ssl
import sys
import time
import zlib


def quoted(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), 30)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def read_until(s, marker):
    got = b""
    while marker not in got:
        d = s.recv(65536)
        if not d:
            break
        got += d
    return got


def sync(s, got):
    """The EXECUTE-SYNC NOOP, if the login reply GOT offers one: the
    first command after the login (imapexec -P needs it for EXECUTE)."""
    tok = re.search(rb"EXECUTE-SYNC=([0-9a-f]+)", got)
    if tok:
        s.sendall(b"y NOOP " + tok.group(1) + b"\r\n")
        read_until(s, b"y OK")


def main():
    what, port, user, passfile, cafile, arg = sys.argv[1:7]
    pw = open(passfile).read().rstrip("\n")
    s = connect(int(port), cafile)
    read_until(s, b"\r\n")
    login = ("a LOGIN %s %s\r\n" % (quoted(user), quoted(pw))).encode()
    if what == "smuggle":
        msg = open(arg, "rb").read()
        s.sendall(login + b"b APPEND INBOX {%d+}\r\n" % len(msg) + msg +
                  b"\r\nc LOGOUT\r\n")
        sys.stdout.buffer.write(read_until(s, b"c OK"))
        return
    if what == "pipeline":
        s.sendall(login + b"x EXECUTE mark\r\nn NOOP\r\nz LOGOUT\r\n")
        sys.stdout.buffer.write(read_until(s, b"z OK"))
        return
    s.sendall(login)
    if what == "login":
        open(os.path.join(arg, "sent"), "w").close()
        watch(s, arg, True)
        return
    sync(s, read_until(s, b"a OK"))
    if what == "compress":
        s.sendall(b"c COMPRESS DEFLATE\r\n")
        got = read_until(s, b"c OK")
        if not got.endswith(b"\r\n") or b"c OK" not in got:
            sys.exit("COMPRESS refused: %r" % got)
        z, inf = zlib.compressobj(wbits=-15), zlib.decompressobj(wbits=-15)
        s.sendall(z.compress(b"x EXECUTE whoami\r\nz LOGOUT\r\n") +
                  z.flush(zlib.Z_SYNC_FLUSH))
        while b"z OK" not in got:
            d = s.recv(65536)
            if not d:
                break
            got += inf.decompress(d)
        sys.stdout.buffer.write(got)
        return
    if what == "idle":
        s.sendall(b"i IDLE\r\n")
        got = read_until(s, b"+ idling")
        open(os.path.join(arg, "ready"), "w").close()
        end = time.time() + 30
        while time.time() < end and \
                not os.path.exists(os.path.join(arg, "done")):
            time.sleep(0.1)
        s.sendall(b"DONE\r\n")
        got += read_until(s, b"i OK")
        s.sendall(b"x EXECUTE whoami\r\n")
        got += read_until(s, b"x OK")
        s.sendall(b"z LOGOUT\r\n")
        got += read_until(s, b"z OK")
        sys.stdout.buffer.write(got)
        return
    if what == "send":
        s.sendall(open(os.path.join(arg, "send"), "rb").read())
    else:
        s.sendall(b"n NOOP\r\n")
        read_until(s, b"n OK")
    open(os.path.join(arg, "ready"), "w").close()
    watch(s, arg, False)


def watch(s, statedir, show):
    """Until STATEDIR/close appears (hang up) or the server closes (touch
    STATEDIR/eof), at most 30 s; print what comes if SHOW."""
    s.settimeout(0.1)
    end = time.time() + 30
    while time.time() < end:
        if os.path.exists(os.path.join(statedir, "close")):
            s.close()
            return
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        except (ConnectionError, ssl.SSLError):
            break
        if d == b"":
            break
        if show:
            sys.stdout.buffer.write(d)
            sys.stdout.flush()
    else:
        sys.exit("the server did not close the connection in 30 s")
    open(os.path.join(statedir, "eof"), "w").close()


main()
