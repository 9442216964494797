#!/usr/bin/env python3
"""A TCP relay on loopback that edits a real server's capability lists,
for imapexec-run's login tests (tests/80-run.bats).

usage: capproxy.py MODE PORTFILE TARGET_PORT

Listens on 127.0.0.1 (port 0), writes the port to PORTFILE once it
listens, and relays each connection to 127.0.0.1:TARGET_PORT, byte for
byte but for the lines from the server that hold "CAPABILITY", where
STARTTLS and AUTH=PLAIN are dropped and, in MODE "logindisabled",
LOGINDISABLED is added.  MODE "plain" drops only those two.  Ends 120 s
after it started.
"""
import os
import re
import select
import socket
import sys
import threading
import time


def edit(line, mode):
    if b'CAPABILITY' not in line:
        return line
    line = re.sub(rb' (STARTTLS|AUTH=PLAIN)(?=[ \]\r\n])', b'', line)
    if mode == 'logindisabled':
        line = re.sub(rb'CAPABILITY IMAP4rev1', b'CAPABILITY IMAP4rev1 '
                      b'LOGINDISABLED', line)
    return line


def relay(c, port, mode, deadline):
    s = socket.create_connection(('127.0.0.1', port))
    pend = b''
    try:
        while time.time() < deadline:
            r, _, _ = select.select([c, s], [], [], 1)
            if c in r:
                d = c.recv(65536)
                if not d:
                    s.shutdown(socket.SHUT_WR)
                    break
                s.sendall(d)
            if s in r:
                d = s.recv(65536)
                if not d:
                    break
                pend += d
                *lines, pend = pend.split(b'\n')
                for ln in lines:
                    c.sendall(edit(ln + b'\n', mode))
        if pend:
            c.sendall(pend)
    except OSError:
        pass
    c.close()
    s.close()


def main():
    mode, portfile, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    deadline = time.time() + 120
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(8)
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % ls.getsockname()[1])
    os.rename(portfile + '.tmp', portfile)
    while time.time() < deadline:
        ls.settimeout(max(0.1, deadline - time.time()))
        try:
            c, _ = ls.accept()
        except OSError:
            break
        threading.Thread(target=relay, args=(c, port, mode, deadline),
                         daemon=True).start()


main()
