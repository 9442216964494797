#!/bin/sh
# Flood stderr instead of stdout: text lines, at least N bytes (argument,
# default 100 MiB), all on fd 2.  Only shell builtins, no command
# substitution: the service opens nothing, so whenever tests/faults.py
# looks, it holds fds 0-2 (and the script) only.
exec >&2	# once, so that no builtin saves and restores a descriptor
line='0123456789 the flood goes on and on abcdefghijklmnopqrstuvwxyz.'
block=$line
i=0
while [ $i -lt 10 ]; do		# 1024 lines of 64 bytes: 64 KiB
	block="$block
$block"
	i=$((i + 1))
done
n=$(( (${1:-104857600} + 65535) / 65536 ))
while [ $n -gt 0 ]; do
	printf '%s\n' "$block"
	n=$((n - 1))
done
