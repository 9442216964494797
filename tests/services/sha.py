#!/usr/bin/python3
# Read stdin to EOF; print its SHA-256 and length.
import hashlib
import sys
h = hashlib.sha256()
n = 0
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print("%s %d" % (h.hexdigest(), n))
