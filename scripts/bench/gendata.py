#!/usr/bin/python3
"""gendata.py MAILDIR BIGMAILDIR NMSG BIGMIB - deterministic bench mailboxes.

MAILDIR gets NMSG messages over four folders (INBOX, Archive, Lists,
Attachments), sizes 1 KB .. 1 MB (mostly small, a long tail), plain 7-bit,
8-bit text (Content-Transfer-Encoding: 8bit), base64 attachments and raw
binary parts (Content-Transfer-Encoding: binary, NUL bytes included).
BIGMAILDIR (the "large-literal mailbox") gets BIGMIB MiB of 4 MiB messages
with an 8-bit/binary body, for bulk FETCH BODY.PEEK[].  Same arguments,
same bytes: everything comes from random.Random(seed).
"""
import base64
import os
import random
import sys

FOLDERS = [("", 0.50), (".Archive", 0.27), (".Lists", 0.16),
           (".Attachments", 0.07)]
WORDS = (b"the quick brown fox jumps over lazy dog mail server imap relay "
         b"filter execute calendar voicemail blacklist bench message "
         b"subject reply forward archive folder").split()
UTF8 = ["Grüße aus Köln", "naïve café", "Ελληνικά", "日本語のテキスト",
        "Ærø Ønskeø", "½ · € · ß"]


def maildir(path):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)


def size_for(rng):
    r = rng.random()
    if r < 0.70:
        return rng.randint(1024, 10 * 1024)
    if r < 0.95:
        return rng.randint(10 * 1024, 100 * 1024)
    return rng.randint(100 * 1024, 1024 * 1024)


def text(rng, n, eight=False):
    out, size = [], 0
    while size < n:
        ws = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
        if eight and rng.random() < 0.3:
            ws.append(rng.choice(UTF8).encode())
        line = b" ".join(ws)
        out.append(line)
        size += len(line) + 2
    return b"\r\n".join(out) + b"\r\n"


def header(i, subject, extra=b""):
    return (b"From: Sender %d <sender%d@example.org>\r\n"
            b"To: imapexec-bench@example.org\r\n"
            b"Subject: %s\r\n"
            b"Date: Mon, 01 Jan 2024 %02d:%02d:%02d +0000\r\n"
            b"Message-ID: <bench.%d@example.org>\r\n"
            b"MIME-Version: 1.0\r\n" %
            (i % 97, i % 97, subject, (i // 3600) % 24, (i // 60) % 60,
             i % 60, i)) + extra


def message(rng, i, size):
    kind = rng.choice(("plain", "8bit", "base64", "binary"))
    if kind == "plain":
        return (header(i, b"plain %d" % i) +
                b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
                text(rng, size - 300))
    if kind == "8bit":
        return (header(i, "8-bit %d Grüße".format().encode() % i) +
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n" +
                text(rng, size - 300, eight=True))
    b = b"=-=bench-%d=-=" % i
    intro = text(rng, min(600, size // 4))
    body = size - 700 - len(intro)
    if kind == "base64":
        raw = rng.randbytes(max(body * 3 // 4, 16))
        enc = base64.encodebytes(raw).replace(b"\n", b"\r\n")
        part = (b"Content-Type: application/octet-stream; name=a%d.bin\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" % i) + enc
    else:
        raw = bytes(rng.randbytes(max(body, 16)))
        part = (b"Content-Type: application/octet-stream; name=b%d.bin\r\n"
                b"Content-Transfer-Encoding: binary\r\n\r\n" % i) + raw + \
            b"\r\n"
    return (header(i, b"attachment %d" % i,
                   b"Content-Type: multipart/mixed; boundary=\"%s\"\r\n" % b) +
            b"\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n" % b + intro +
            b"--%s\r\n" % b + part + b"--%s--\r\n" % b)


def write(folder, i, data, t0=1700000000):
    name = "%d.M%06dP1.bench,S=%d:2,S" % (t0 + i, i, len(data))
    with open(os.path.join(folder, "cur", name), "wb") as f:
        f.write(data)


def main():
    mdir, bigdir, nmsg, bigmib = (sys.argv[1], sys.argv[2],
                                  int(sys.argv[3]), int(sys.argv[4]))
    rng = random.Random(20240101)
    dirs = [os.path.join(mdir, f) for f, _ in FOLDERS]
    for d in dirs:
        maildir(d)
    total = 0
    for i in range(nmsg):
        r, acc, k = rng.random(), 0.0, 0
        for k, (_, w) in enumerate(FOLDERS):
            acc += w
            if r < acc:
                break
        size = size_for(rng)
        if k == 3:  # Attachments: the bigger ones
            size = max(size, rng.randint(20 * 1024, 300 * 1024))
        data = message(rng, i, size)
        total += len(data)
        write(dirs[k], i, data)
    maildir(bigdir)
    per = 4 << 20
    for i in range(max(1, bigmib * (1 << 20) // per)):
        data = message(random.Random(i), 100000 + i, per)
        write(bigdir, i, data)
    print("gendata: %d messages, %.1f MiB; large-literal mailbox %d MiB" %
          (nmsg, total / 1048576.0, bigmib))


main()
