#!/bin/sh
# Print the CPU time and address space limits the service runs with, from
# the kernel's view.
grep -E '^Max (cpu time|address space) ' /proc/self/limits
