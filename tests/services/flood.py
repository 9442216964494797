#!/usr/bin/python3
# Write N bytes (argument, default 100 MiB) of text lines to stdout, after
# recording the pid in $HOME/flood.pid.
import os
import sys
total = int(sys.argv[1]) if len(sys.argv) > 1 else 100 * 1024 * 1024
with open(os.path.join(os.environ["HOME"], "flood.pid"), "w") as f:
    f.write("%d\n" % os.getpid())
line = b"0123456789 the flood goes on and on abcdefghijklmnopqrstuvwxyz\n"
chunk = line * (65536 // len(line))
left = total
while left > 0:
    view = memoryview(chunk)[:left]
    while len(view) > 0:
        n = os.write(1, view)
        view = view[n:]
        left -= n
