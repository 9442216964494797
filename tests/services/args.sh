#!/bin/sh
# Print each argument on a line of its own, then exit 0.
i=0
for a in "$@"; do
	i=$((i + 1))
	printf 'argv[%d]=<%s>\n' "$i" "$a"
done
