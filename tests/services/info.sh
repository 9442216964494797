#!/bin/sh
# Print what the service was started with: its arguments, its exact
# environment (the block it was exec'd with, not the shell's), cwd, umask.
echo "argc=$#"
i=0
for a in "$@"; do
	i=$((i + 1))
	printf 'argv[%d]=<%s>\n' "$i" "$a"
done
tr '\0' '\n' <"/proc/$$/environ" | LC_ALL=C sort | sed 's/^/env /'
echo "cwd=$(pwd -P)"
echo "umask=$(umask)"
