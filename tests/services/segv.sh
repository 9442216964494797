#!/bin/sh
# Die by SIGSEGV (no core file: the limit is set to 0 first).
ulimit -c 0
kill -SEGV $$
