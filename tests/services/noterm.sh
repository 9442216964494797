#!/bin/sh
# Ignore SIGTERM, say so, then sleep forever.
trap '' TERM
echo ready
exec sleep infinity
