#!/bin/sh
# Write to stdout and stderr.
echo "out line"
echo "err line one" >&2
echo "out again"
printf 'err partial' >&2
