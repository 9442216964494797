#!/bin/sh
# Append the arguments, as one line, to the file named by $MARK_FILE (set
# in the service's env): evidence that the service ran, and for what.
printf '%s\n' "$*" >>"$MARK_FILE"
