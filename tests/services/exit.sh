#!/bin/sh
# Exit with the code given as the first argument.
exit "${1:-0}"
