#!/bin/sh
# Leave a descendant in a session of its own (setsid) that keeps stdout
# and stderr open for two minutes, record its pid in $HOME/escapee.pid,
# say "escaped", and exit 0 at once.
rm -f "$HOME/escapee.pid"
setsid sh -c 'echo $$ >"$HOME/escapee.pid.tmp";
	mv "$HOME/escapee.pid.tmp" "$HOME/escapee.pid"; exec sleep 120' &
while [ ! -s "$HOME/escapee.pid" ]; do sleep 0.01; done
echo escaped
exit 0
