#!/usr/bin/env python3
"""pipefill.py - push the calling user past fs.pipe-user-pages-soft.

Usage: pipefill.py SECONDS   (run as the user to fill)

Makes pipes, the first ones as large as fs.pipe-max-size allows, until a
new pipe comes out smaller than the default (the kernel's sign that the
user's pipes exceed the soft limit), prints "full N" (N pipes) and holds
them for SECONDS at most, or until killed.  Nothing of other users is
touched: the limit counts per user.
"""

import fcntl
import os
import sys
import time

F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032


def main():
    hold = float(sys.argv[1])
    with open("/proc/sys/fs/pipe-user-pages-soft") as f:
        if int(f.read()) == 0:
            print("no soft limit", flush=True)
            return 2
    with open("/proc/sys/fs/pipe-max-size") as f:
        big = int(f.read())
    held = []
    while True:
        r, w = os.pipe()
        held += [r, w]
        if fcntl.fcntl(w, F_GETPIPE_SZ) < 65536:
            break
        if big:
            try:
                fcntl.fcntl(w, F_SETPIPE_SZ, big)
            except OSError:
                big = 0     # near the limit: default pipes from here on
    print("full %d" % (len(held) // 2), flush=True)
    time.sleep(hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
