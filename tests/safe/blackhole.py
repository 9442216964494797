#!/usr/bin/env python3
"""blackhole.py PORT ADDR... - listeners whose backlog is full.

For each ADDR (IPv4 or IPv6, on loopback), listen on ADDR:PORT with a
backlog of 0 and never accept; connect to it until a connection stays in
SYN-SENT, so that any later connect hangs until its own deadline.  Prints
"ready" once every listener is full, then sleeps until killed.  No traffic
leaves this machine.
"""
import select
import socket
import sys
import time

port = int(sys.argv[1])
keep = []
for a in sys.argv[2:]:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    lsn = socket.socket(fam)
    lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsn.bind((a, port))
    lsn.listen(0)
    keep.append(lsn)
    for _ in range(64):
        c = socket.socket(fam)
        c.setblocking(False)
        c.connect_ex((a, port))
        keep.append(c)
        _, w, _ = select.select([], [c], [], 0.5)
        if not w:
            break
    else:
        sys.exit("blackhole.py: could not fill the backlog of %s" % a)
print("ready", flush=True)
while True:
    time.sleep(3600)
