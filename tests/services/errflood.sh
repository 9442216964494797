#!/bin/sh
# Flood stderr instead of stdout: flood.py's bytes (argument: how many,
# default 100 MiB), all on fd 2.
exec "$(dirname "$0")/flood.py" "$@" >&2
