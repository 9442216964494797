#!/bin/sh
# Copy stdin to stdout, byte for byte.
exec cat
