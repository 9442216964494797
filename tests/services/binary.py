#!/usr/bin/python3
# Write the bytes 0..255 N times (argument, default 100), in several writes.
import os
import sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
block = bytes(range(256))
for i in range(n):
    os.write(1, block[:100])
    os.write(1, block[100:])
