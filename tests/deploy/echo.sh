#!/bin/sh
# A test service: print each argument on a line of its own.
for a in "$@"; do
	printf '%s\n' "$a"
done
