#!/usr/bin/env python3
"""tests/plclient.py - a Python imaplib session against a Dovecot daemon, for
the post-login tests (tests/90-postlogin.bats).

    plclient.py [--ssl] [--plain] [--sync] [--execute SPEC]... PORT USER PASSFILE CAFILE

Connects to 127.0.0.1:PORT with IMAP4_SSL (--ssl) or IMAP4 + STARTTLS,
logs in with LOGIN or (--plain) AUTHENTICATE PLAIN with SASL-IR, runs a
fixed session (CAPABILITY, LIST, SELECT, FETCH, STORE, APPEND, SEARCH,
EXPUNGE, LOGOUT) and prints every byte received after the TLS handshake,
with imaplib's random tag prefix replaced by "T".  Each --execute SPEC
(a service name and words) runs `EXECUTE SPEC` after the SELECT; its
response lines are part of the transcript.  With --execute (or --sync)
the session starts with the EXECUTE-SYNC NOOP when the login reply
offers one (imapexec -P).
"""
import argparse
import base64
import imaplib
import re
import ssl
import sys

imaplib.Commands.setdefault("EXECUTE", ("AUTH", "SELECTED"))


def recording(base):
    class Rec(base):
        def _rec_init(self):
            if not hasattr(self, "wire"):
                self.wire = bytearray()

        def readline(self):
            line = super().readline()
            self._rec_init()
            self.wire += line
            return line

        def read(self, size):
            data = super().read(size)
            self._rec_init()
            self.wire += data
            return data
    return Rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ssl", action="store_true")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--execute", action="append", default=[])
    ap.add_argument("--sync", action="store_true")
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("passfile")
    ap.add_argument("cafile")
    a = ap.parse_args()
    pw = open(a.passfile).read().rstrip("\n")
    ctx = ssl.create_default_context(cafile=a.cafile)
    if a.ssl:
        m = recording(imaplib.IMAP4_SSL)("127.0.0.1", a.port,
                                         ssl_context=ctx, timeout=30)
    else:
        m = recording(imaplib.IMAP4)("127.0.0.1", a.port, timeout=30)
        m.starttls(ssl_context=ctx)
        m.wire = bytearray()   # the clear-text part is imap-login's alone
    if a.plain:
        ir = base64.b64encode(b"\0" + a.user.encode() + b"\0" + pw.encode())
        typ, _ = m._simple_command("AUTHENTICATE", "PLAIN", ir.decode())
        if typ != "OK":
            sys.exit("AUTHENTICATE failed")
        m.state = "AUTH"
    else:
        m.login(a.user, pw)
    if a.execute or a.sync:
        # EXECUTE behind post-login needs the sync first: the token from
        # the login reply's capability list, in the first command after.
        tok = re.search(rb"EXECUTE-SYNC=([0-9a-f]+)", bytes(m.wire))
        if tok:
            m.xatom("NOOP", tok.group(1).decode())
    m.capability()
    m.list()
    m.select("INBOX")
    for spec in a.execute:
        m._simple_command("EXECUTE", *spec.split())
    m.fetch("1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    m.store("1", "+FLAGS", "(\\Flagged)")
    m.append("INBOX", "(\\Seen)", '"04-Jan-2024 07:00:00 +0000"',
             b"Subject: appended\r\n\r\nbody line\r\n")
    m.search(None, "ALL")
    m.store("1", "-FLAGS", "(\\Flagged)")
    m.logout()
    # Only a tag at a line's start or in EXECUTE's (TAG "...") is
    # imaplib's: its random prefix may also stand inside other words (a
    # prefix "PEND" in "APPENDUID").
    tag = re.compile(rb'(?m)(^|\(TAG ")' + re.escape(m.tagpre) +
                     rb'(?=[0-9]+[ "])')
    sys.stdout.buffer.write(tag.sub(rb"\1T", bytes(m.wire)))


main()
