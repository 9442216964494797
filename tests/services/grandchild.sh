#!/bin/sh
# Fork a grandchild that ignores SIGTERM and holds stdout and stderr open,
# record its pid in $HOME/grandchild.pid, then (argument) "sleep" forever,
# "flood" stdout, or "exit" at once leaving the grandchild behind.
sh -c 'trap "" TERM; echo $$ >"$HOME/grandchild.pid.tmp";
	mv "$HOME/grandchild.pid.tmp" "$HOME/grandchild.pid"; exec sleep infinity' &
while [ ! -s "$HOME/grandchild.pid" ]; do sleep 0.01; done
echo "grandchild $(cat "$HOME/grandchild.pid")"
case ${1:-sleep} in
sleep) exec sleep infinity ;;
flood) exec yes 'flooding the client with output' ;;
exit) exit 0 ;;
esac
