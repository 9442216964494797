#!/usr/bin/env python3
"""mkmaildir.py DIR COUNT [--seed N] [--small] [--big K] - write a Dovecot
Maildir++ of COUNT generated messages: INBOX, Archive and Sent, sizes from
1 KB up to 1 MB (about 17 KB on average; --small: up to 8 KB; --big K: K
of them, spread over the folders, from 1 to 4 MiB, the last one about
4 MiB), plain 7-bit and
8-bit text (UTF-8 and raw Latin-1), base64, 8bit and binary attachments
(raw random octets, NUL and bare CR among them).  Some messages are
flagged.  Prints the number of messages and bytes written."""

import argparse
import base64
import os
import random
import sys

FOLDERS = ["", ".Archive", ".Sent"]   # Maildir++: INBOX is the top
FLAGS = ["", "S", "S", "S", "FS", "RS", "F"]


def text(rng, n, eightbit):
    words = ["imap", "filter", "Dovecot", "EXECUTE", "relay", "literal",
             "mailbox", "{12}", "a OK", "* BYE", "tunnel", "quoted"]
    if eightbit:
        words += ["Grüße", "naïve", "Ŝtelo", "日本語", "Ærø"]
    out, size = [], 0
    while size < n:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
        b = line.encode("utf-8")
        if eightbit and rng.random() < 0.1:
            b += b" \xe9t\xe9 latin-1"      # raw 8-bit, not UTF-8
        out.append(b)
        size += len(b) + 1
    return b"\n".join(out) + b"\n"


def message(rng, i, seed, size):
    kind = rng.choice(["plain", "8bit", "base64", "binary", "8bitatt"])
    hdr = [b"From: Sender %d <sender%d@example.org>" % (i % 37, i % 37),
           b"To: deploy@example.org",
           b"Subject: message %d (%s)" % (i, kind.encode()),
           b"Date: Mon, 0%d Jan 2024 %02d:%02d:00 +0000" % (1 + i % 9, i % 24, i % 60),
           b"Message-ID: <%d.%d@deploy.imapexec.test>" % (i, seed),
           b"MIME-Version: 1.0"]
    if kind in ("plain", "8bit"):
        hdr += [b"Content-Type: text/plain; charset=utf-8",
                b"Content-Transfer-Encoding: %s" % (b"7bit" if kind == "plain" else b"8bit")]
        body = text(rng, size, kind == "8bit")
        if kind == "plain":
            body = body.decode("ascii", "ignore").encode()
        return b"\n".join(hdr) + b"\n\n" + body
    bnd = b"=-=imapexec-%d=-=" % i
    hdr.append(b'Content-Type: multipart/mixed; boundary="%s"' % bnd)
    intro = text(rng, 200, True)
    raw = rng.randbytes(max(size - 600, 16))
    if kind == "base64":
        enc, data = b"base64", base64.encodebytes(raw[: len(raw) * 3 // 4])
    elif kind == "8bitatt":
        enc, data = b"8bit", text(rng, len(raw), True)
    else:
        enc, data = b"binary", raw
    return (b"\n".join(hdr) + b"\n\n" +
            b"--" + bnd + b"\nContent-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: 8bit\n\n" + intro +
            b"--" + bnd + b"\nContent-Type: application/octet-stream; name=\"a%d.bin\"\n"
            b"Content-Transfer-Encoding: " % i + enc +
            b"\nContent-Disposition: attachment; filename=\"a%d.bin\"\n\n" % i +
            data + b"\n--" + bnd + b"--\n")


def size_for(rng, i, count, small, big=0):
    step = max(5, count // max(big, 1))
    k = i // step
    if k < big and i % step == k % 5:        # k % 5: in every folder
        if k == big - 1:
            return 4 << 20                   # one of about 4 MiB
        return int(2 ** rng.uniform(20, 22))         # 1 .. 4 MiB
    if small:
        return int(2 ** rng.uniform(10, 13))
    if i == count - 1:
        return 1 << 20                       # one of exactly 1 MB
    r = rng.random()
    if r < 0.90:
        return int(2 ** rng.uniform(10, 14.5))      # 1 .. 23 KB
    if r < 0.995:
        return int(2 ** rng.uniform(14.5, 17))      # 23 .. 128 KB
    return int(2 ** rng.uniform(18, 20))            # 256 KB .. 1 MB


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("count", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--big", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    for f in FOLDERS:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(a.dir, f, sub), exist_ok=True)
    total = 0
    for i in range(a.count):
        folder = FOLDERS[0] if i % 5 < 3 else FOLDERS[1 + i % 2]
        msg = message(rng, i, a.seed, size_for(rng, i, a.count, a.small, a.big))
        name = "%d.M%dP1.deploy:2,%s" % (1700000000 + i, i, rng.choice(FLAGS))
        with open(os.path.join(a.dir, folder, "cur", name), "wb") as fh:
            fh.write(msg)
        total += len(msg)
    print("%d messages, %d bytes" % (a.count, total))


if __name__ == "__main__":
    sys.exit(main())
