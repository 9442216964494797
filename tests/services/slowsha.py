#!/usr/bin/python3
# Read stdin to EOF slowly, 1000 bytes at a time with a short pause after
# each read; print its SHA-256 and length.
import hashlib
import os
import time
h = hashlib.sha256()
n = 0
while True:
    b = os.read(0, 1000)
    if not b:
        break
    h.update(b)
    n += len(b)
    time.sleep(0.001)
print("%s %d" % (h.hexdigest(), n))
