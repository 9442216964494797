#!/usr/bin/env python3
"""imaplib_session.py HOST PORT [--source ADDR] [--expect-addr ADDR]
[--expect-user USER] [--ipv6] [--stream CMD]

A Python imaplib session through imapexec over TCP (or a tunnel command): PREAUTH greeting,
CAPABILITY with EXECUTE, LIST, SELECT, FETCH, then EXECUTE discovery,
EXECUTE whereami (the address imapexec saw) and EXECUTE echo with
arguments, then LOGOUT.  Connects from ADDR with --source.  Exits 0 if
everything is as expected, else prints the reason and exits 1."""

import argparse
import imaplib
import socket
import sys


class Client(imaplib.IMAP4):
    def __init__(self, host, port, source, family):
        self.source, self.family = source, family
        super().__init__(host, port, timeout=20)

    def _create_socket(self, timeout):
        s = socket.socket(self.family, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if self.source:
            s.bind((self.source, 0))
        s.connect((self.host, self.port))
        return s


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def execute(imap, *args):
    """Run EXECUTE through imaplib's extension hook; return status and the
    untagged EXECUTE data."""
    typ, dat = imap.xatom("EXECUTE", *args)
    typ, dat = imap._untagged_response(typ, dat, "EXECUTE")
    return typ, [d for d in dat if d is not None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--source")
    ap.add_argument("--expect-addr")
    ap.add_argument("--expect-user")
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--stream", metavar="CMD",
                    help="run CMD as the tunnel (imaplib.IMAP4_stream), not TCP")
    a = ap.parse_args()
    if a.stream:
        imap = imaplib.IMAP4_stream(a.stream)
    else:
        imap = Client(a.host, a.port, a.source,
                      socket.AF_INET6 if a.ipv6 else socket.AF_INET)
    if imap.state != "AUTH":
        fail("no PREAUTH greeting: state %s" % imap.state)
    caps = imap.capabilities
    print("capabilities:", " ".join(caps))
    if "EXECUTE" not in caps or "STARTTLS" in caps:
        fail("capabilities: %r" % (caps,))
    typ, boxes = imap.list()
    names = sorted(b.decode().rsplit(" ", 1)[1].strip('"') for b in boxes)
    print("folders:", names)
    if typ != "OK" or names != ["Archive", "INBOX", "Sent"]:
        fail("LIST: %s %r" % (typ, boxes))
    typ, dat = imap.select("INBOX", readonly=True)
    if typ != "OK" or int(dat[0]) < 1:
        fail("SELECT: %s %r" % (typ, dat))
    typ, dat = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    if typ != "OK" or b"Message-ID: <0.1@deploy.imapexec.test>" not in dat[0][1]:
        fail("FETCH: %s %r" % (typ, dat))

    typ, dat = execute(imap)
    print("services:", dat)
    if typ != "OK" or not any(d.startswith(b"SERVICE whereami ") for d in dat):
        fail("EXECUTE discovery: %s %r" % (typ, dat))
    typ, dat = execute(imap, "whereami")
    print("whereami:", dat)
    out = [d.split(b" OUT ", 1)[1].strip(b'"').decode() for d in dat if b" OUT " in d]
    if typ != "OK" or not dat[-1].endswith(b" EXIT 0"):
        fail("EXECUTE whereami: %s %r" % (typ, dat))
    if a.expect_addr and "addr=" + a.expect_addr not in out:
        fail("IMAPEXEC_REMOTE_ADDR: want %s, got %r" % (a.expect_addr, out))
    if a.expect_user and "user=" + a.expect_user not in out:
        fail("IMAPEXEC_USER: want %s, got %r" % (a.expect_user, out))
    typ, dat = execute(imap, "echo", "one", '"two words"')
    print("echo:", dat)
    out = [d.split(b" OUT ", 1)[1] for d in dat if b" OUT " in d]
    if typ != "OK" or out != [b'"one"', b'"two words"']:
        fail("EXECUTE echo: %s %r" % (typ, dat))
    typ, dat = imap.close()
    typ, dat = imap.logout()
    if typ != "BYE":
        fail("LOGOUT: %s %r" % (typ, dat))
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
