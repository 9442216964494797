#!/bin/sh
# Write to stderr a line holding CR, ESC, NUL, DEL, a backslash and an
# 8-bit byte, then one 20000-byte line without control characters.
printf 'a\rb\033[31mc\000d\177e\\f\377g\n' >&2
head -c 20000 /dev/zero | tr '\0' 'y' >&2
printf '\n' >&2
