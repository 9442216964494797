#!/usr/bin/env python3
"""A scripted, hostile IMAP server for imapexec-run's tests.

usage: fakeimap.py [--cert CRT --key KEY] ADDR PORTFILE LOG SCRIPT

Listens on ADDR (port 0), writes the port to PORTFILE once it listens,
accepts one connection and runs SCRIPT, one step a line:

    send TEXT      send TEXT (Python escapes: \\r\\n, \\x00, ...)
    expect REGEX   read until what came since the last expect matches
                   (bytes regex; 30 s at most, else exit 1)
    tls            start TLS as the server (needs --cert and --key)
    hold           read until the client closes (60 s at most)
    repeat N TEXT  send TEXT N times (in writes of about 1 MiB; what the
                   client sends meanwhile is logged as it comes)
    touch PATH     create the file PATH (a test waits for it)

Everything the client sends is appended, raw, to LOG (after TLS too).
"""
import re
import select
import socket
import ssl
import sys
import time


def main():
    args = sys.argv[1:]
    cert = key = None
    while args and args[0].startswith('--'):
        if args[0] == '--cert':
            cert = args[1]
        elif args[0] == '--key':
            key = args[1]
        args = args[2:]
    addr, portfile, logpath, script = args
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    ls = socket.socket(fam)
    ls.bind((addr, 0))
    ls.listen(1)
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % ls.getsockname()[1])
    import os
    os.rename(portfile + '.tmp', portfile)
    ls.settimeout(60)
    conn, _ = ls.accept()
    log = open(logpath, 'ab', buffering=0)
    got = b''

    def recv(deadline):
        conn.settimeout(max(0.1, deadline - time.time()))
        try:
            d = conn.recv(65536)
        except (socket.timeout, ssl.SSLError, OSError):
            return None
        log.write(d)
        return d

    for line in open(script).read().splitlines():
        op, _, arg = line.partition(' ')
        if op == 'send':
            conn.sendall(arg.encode().decode('unicode_escape')
                         .encode('latin1'))
        elif op == 'expect':
            deadline = time.time() + 30
            while not re.search(arg.encode(), got):
                d = recv(deadline)
                if not d:
                    sys.exit(1)
                got += d
            got = b''
        elif op == 'tls':
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            conn = ctx.wrap_socket(conn, server_side=True)
        elif op == 'repeat':
            n, _, text = arg.partition(' ')
            unit = text.encode().decode('unicode_escape').encode('latin1')
            k = max(1, (1 << 20) // len(unit))
            left = int(n)
            while left > 0:
                conn.sendall(unit * min(k, left))
                left -= k
                r, _, _ = select.select([conn], [], [], 0)
                if r:
                    d = recv(time.time() + 1)
                    if d:
                        got += d
        elif op == 'touch':
            open(arg, 'w').close()
        elif op == 'hold':
            deadline = time.time() + 60
            while time.time() < deadline and recv(deadline):
                pass
    conn.close()


main()
