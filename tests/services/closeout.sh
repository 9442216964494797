#!/bin/sh
# Write a line, close stdout, keep running a while, then exit 5.
echo before
exec >&-
sleep 1
exit 5
