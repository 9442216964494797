#!/usr/bin/env python3
"""mkseeds.py - (re)write the hand-made seeds of the fuzz corpora.

Writes tests/fuzz/seeds/<target>/seed-* from tests/sessions/*.txt (the
client bytes of every session, with a plausible backend answer) and from
edge cases of FINDINGS-style framing rules.  Seeds are small and named
after what they hold; other files there (named by their SHA-1) are inputs
kept from earlier fuzz runs and are left alone.  scripts/fuzz.sh merges
into build/fuzz/corpus/, never here.  Run from anywhere: python3 tests/fuzz/mkseeds.py
"""
import os
import re
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import imapdrive  # noqa: E402  (parse_script: the sessions' client bytes)

CORPUS = os.path.join(HERE, "seeds")
GREETING = (b"* PREAUTH [CAPABILITY IMAP4rev1 SASL-IR ID ENABLE IDLE LITERAL+ "
            b"MULTIAPPEND CATENATE BINARY STARTTLS COMPRESS=DEFLATE] Logged in\r\n")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def answers(client):
    """A backend answer to client bytes: '+' for sync literals and IDLE,
    a tagged OK for every line that starts with a tag."""
    out = bytearray(GREETING)
    for line in client.split(b"\n"):
        m = re.match(rb"([!#$&'*+,./0-9:;<=>?@A-Z^_`a-z|}~\[-]+) (\S+)", line)
        if re.search(rb"\{\d+\}\r?$", line):
            out += b"+ OK\r\n"
        if m and m.group(2).upper() == b"IDLE":
            out += b"+ idling\r\n"
        if m:
            out += m.group(1) + b" OK " + m.group(2) + b" completed\r\n"
    out += b"* 2 FETCH (BODY[] {12}\r\na1 OK fake\r\n)\r\n"
    return bytes(out)


def client_seed(name, client, server=None, seed=0x12345678):
    server = answers(client) if server is None else server
    head = struct.pack("<BHI", 0, min(len(client), 0xffff), seed)
    write("scan_client", name, head + client[:0xffff] + server)


def session_bytes(path):
    ops = imapdrive.parse_script(path)
    return b"".join(arg for _, op, arg in ops if op == "send")


def main():
    sessions = os.path.join(HERE, "..", "sessions")
    for f in sorted(os.listdir(sessions)):
        if f.endswith(".txt"):
            data = session_bytes(os.path.join(sessions, f))
            base = f[:-4]
            client_seed("session-" + base, data)
            client_seed("session-" + base + "-seed2", data, seed=7)

    # Framing edge cases (FINDINGS.md): invalid tags, literals Dovecot
    # does not consume, headers in odd places, IDLE terminators, EXECUTE.
    edge = {
        "badtag-literal": b"* NOOP {5+}\r\nz2 NOOP\r\nz1 NOOP\r\n",
        "quoted-tag": b"\"a b\" NOOP {5}\r\nz1 EXECUTE mark 1\r\n",
        "noop-nonsync": b"a NOOP {5+}\r\ne1 EXECUTE mark 1\r\n",
        "select-two": b"a SELECT {5+}\r\nINBOX extra {5+}\r\nz2 NOOP\r\nz1 NOOP\r\n",
        "atom-brace": b"a SEARCH TEXT foo{3}\r\nabc\r\ne1 EXECUTE x\r\n",
        "after-quote": b"a SEARCH \"x\"{3+}\r\nabc (ALL){5+}\r\nhello\r\n",
        "paren": b"a SEARCH ({5+}\r\nhello)\r\n",
        "missing-lf": b"a SEARCH {3}x\r\nb NOOP\r\n",
        "two-headers": b"a SEARCH {3+} {3+}\r\nabc\r\n",
        "bare-lf": b"a SEARCH {3+}\nabc\ne1 EXECUTE\n",
        "cr-only": b"a SEARCH {3+}\rabc\r\nb NOOP\r\n",
        "sizes": b"a X {03+}\r\nabc {}\r\n{+}\r\n{0+}\r\n{ 3+} {3-} {3++}\r\n",
        "huge": b"a X {99999999999999999999}\r\nb X {18446744073709551615+}\r\n",
        "literal8": b"a APPEND INBOX ~{5+}\r\nhe\0lo\r\nb SEARCH ~{3}\r\n",
        "quoted-brace": b"a SEARCH TEXT \"x {5}\r\nhello\r\n",
        "escape": b"a SEARCH \"a\\\"{5+}\" \"a\\\\\" {2+}\r\nab\r\n",
        "idle": b"a IDLE {5+}\r\nDONE\r\nb IDLE\r\ndone\r\nc IDLE\r\ne1 EXECUTE\r\n",
        "execute-lits": b"e EXECUTE args {3+}\r\nabc ~{2}\r\nxy \"q\\\"\" atom\r\n",
        "execute-sync": b"e EXECUTE args {70000}\r\ne2 EXECUTE\r\n",
        "compress": b"c COMPRESS DEFLATE\r\nd STARTTLS\r\ne execute\r\n",
        "auth": b"a AUTHENTICATE PLAIN\r\ndGVzdA==\r\nb LOGIN u p\r\n",
        "catenate": b"a APPEND INBOX CATENATE (TEXT {5}\r\nhello URL \"/x\" TEXT {3+}\r\nabc)\r\n",
        "multiappend": b"a APPEND INBOX (\\Seen) {5}\r\nhello (\\Bogus) \"1-Jan-2024 00:00:00 +0000\" {3+}\r\nabc\r\n",
        "uid": b"a UID EXECUTE x\r\nb uid fetch 1 BODY[]\r\n",
        "two-spaces": b"a  SELECT {5+}\r\nINBOX\r\n",
        "tab": b"a EXECUTE\tmark 1\r\na\tEXECUTE mark 1\r\n",
        "longtag": b"a" * 1100 + b" NOOP\r\n",
        "longname": b"a " + b"N" * 40 + b" {5+}\r\nhello\r\n",
    }
    for name, data in edge.items():
        client_seed("edge-" + name, data)

    # The server direction alone.
    srv = {
        "greeting": GREETING,
        "capability": b"* CAPABILITY IMAP4rev1 STARTTLS COMPRESS=DEFLATE EXECUTE\r\na OK [CAPABILITY IMAP4rev1 STARTTLS] done\r\n",
        "fetch": b"* 1 FETCH (BODY[] {20}\r\na OK [CAPABILITY X]\r\n\r\n)\r\n* 2 FETCH (BINARY[] ~{3}\r\n\0\0\0)\r\n",
        "continuation": b"+ OK\r\n+ idling\r\n+ \r\n",
        "bye": b"* BYE [ALERT] going\r\n",
        "nogreet": b"a OK done\r\n* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n",
        "longcap": b"* CAPABILITY " + b"X" * 80 + b" COMPRESS=" + b"Y" * 70 + b" STARTTLS\r\n",
        "lf-only": b"* PREAUTH [CAPABILITY IMAP4rev1]\n* CAPABILITY A B\n",
    }
    for name, data in srv.items():
        write("scan_server", name, struct.pack("<I", 0x2468ace1) + data)

    # EXECUTE arguments (what follows "tag EXECUTE ").
    xc = {
        "discovery": b"\r\n",
        "plain": b"blacklist add joe@smith.com\r\n",
        "input": b"cat (INPUT \"hello world\") a b\r\n",
        "input-literal": b"cat (INPUT {5+}\r\nhello) x\r\n",
        "quoted": b"\"args\" \"a b\" \"c\\\"d\" \"e\\\\f\"\r\n",
        "literals": b"args {3}\r\nabc ~{4+}\r\na\0bc {0+}\r\n\r\n",
        "bad": b"args (\r\n",
        "badclose": b"args )\r\n",
        "nul": b"args \"a\0b\"\r\n",
        "toolarge": b"args {300000+}\r\n" + b"x" * 64 + b"\r\n",
        "many": b"args" + b" a" * 300 + b"\r\n",
        "slash": b"a/b x\r\n",
        "bare-lf": b"args x\n",
        "cr": b"args x\ry\r\n",
        "options": b"cat (INPUT a INPUT b) x\r\ncat () x\r\n",
    }
    for name, data in xc.items():
        write("xcmd", name, struct.pack("<I", 0x13572468) + data)

    # Interactive input.
    xi = {
        "lines": b"hello\r\n\"quoted \\\" line\"\r\nDONE\r\n",
        "literals": b"{5}\r\nhello tail\r\n{3+}\r\nabc\r\n~{2}\r\n\0\0\r\ndone\r\n",
        "cancel": b"x\r\nCaNcEl\r\nafter\r\n",
        "long": b"y" * 9000 + b"\r\nDONE\r\n",
        "cr": b"a\rb\r\n\r\n\n",
        "badlit": b"{}\r\n{+}\r\n{x}\r\n~{1\r\n{99999999999999999999}\r\n",
        "quoted-done": b"\"DONE\"\r\nDONE\r\n",
    }
    for name, data in xi.items():
        write("xinput", name, struct.pack("<I", 0x0badcafe) + data)

    # Configurations.
    conf = os.path.join(HERE, "..", "..", "conf", "imapexec.conf")
    with open(conf, "rb") as f:
        write("config", "example", f.read())
    cf = {
        "minimal": b'backend = [ "/usr/lib/dovecot/imap" ];\n',
        "services": b'''backend = [ "/bin/cat", "-u" ];
backend_env = [ "A=b" ];
user = "nobody";
path = "/usr/bin:/bin";
services = (
  { name = "a"; description = "d"; exec = [ "/bin/echo", "x" ];
    interactive = true; eol = "crlf"; stderr = "client";
    args = { min = 1; max = 3; pattern = "^[a-z]+$"; };
    timeout = 10; idle_timeout = 5; max_output = "1M"; max_input = 1024;
    env = [ "X=1" ]; users = [ "root" ]; groups = [ "wheel" ];
    limits = { cpu = 10; memory = "64M"; nofile = 64; nproc = 16; fsize = "1G"; }; },
  { name = "s"; connect = "unix:/run/x.sock"; },
  { name = "t"; connect = "tcp:127.0.0.1:25"; }
);
''',
        "bad-backend": b'backend = [ "relative" ];\n',
        "bad-name": b'services = ( { name = "a/b"; exec = [ "/bin/true" ]; } );\n',
        "bad-syntax": b'services = ( { name = ; } \n',
        "bad-size": b'services = ( { name = "a"; exec = [ "/bin/true" ]; max_output = "12Q"; } );\n',
        "bad-regex": b'services = ( { name = "a"; exec = [ "/bin/true" ]; args = { pattern = "(["; }; } );\n',
    }
    for name, data in cf.items():
        write("config", name, data)

    # COMPRESS: the client's raw DEFLATE streams (fuzz_inflate.c: a
    # 4-byte schedule seed, a buffer-size byte, the stream).
    def deflate(parts, level=6, flush=zlib.Z_SYNC_FLUSH):
        z = zlib.compressobj(level, zlib.DEFLATED, -15)
        out = b"".join(z.compress(p) + z.flush(zlib.Z_SYNC_FLUSH) for p in parts)
        return out + (z.flush(flush) if flush != zlib.Z_SYNC_FLUSH else b"")

    for f in sorted(os.listdir(sessions)):
        if f.endswith(".txt"):
            data = session_bytes(os.path.join(sessions, f))
            lines = data.split(b"\r\n")
            parts = [ln + b"\r\n" for ln in lines[:-1]] + [lines[-1]]
            write("inflate", "session-" + f[:-4],
                  struct.pack("<IB", 0x600dcafe, 3) + deflate(parts))
    hello = [b"a NOOP\r\n", b"b EXECUTE mark {3}\r\nabc\r\n", b"c LOGOUT\r\n"]
    zs = {
        "stored": struct.pack("<IB", 1, 0) + deflate(hello, level=0),
        "best": struct.pack("<IB", 2, 63) + deflate(hello, level=9),
        "final-block": struct.pack("<IB", 3, 5) + deflate(hello, flush=zlib.Z_FINISH),
        "after-end": struct.pack("<IB", 4, 9) + deflate(hello, flush=zlib.Z_FINISH) + b"x NOOP\r\n",
        "garbage": struct.pack("<IB", 5, 1) + deflate(hello[:1]) + b"\xff\xfe garbage",
        "truncated": struct.pack("<IB", 6, 2) + deflate(hello)[:17],
        "bomb": struct.pack("<IB", 7, 0) + deflate([b"a APPEND x {2000000+}\r\n", b"x" * 2000000]),
        "literal": struct.pack("<IB", 8, 4) + deflate([b"a APPEND INBOX {5}\r\n", b"hello\r\n"]),
        "empty-flushes": struct.pack("<IB", 9, 6) + deflate([b"", b"", b"a NOOP\r\n", b""]),
    }
    for name, data in zs.items():
        write("inflate", name, data)


if __name__ == "__main__":
    main()
