#!/bin/sh
# Sleep forever, silently.
exec sleep infinity
