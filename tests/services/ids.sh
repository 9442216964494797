#!/bin/sh
# Print the credentials the service runs with, from the kernel's view.
grep -E '^(Uid|Gid|Groups):' "/proc/$$/status"
