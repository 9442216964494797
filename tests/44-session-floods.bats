#!/usr/bin/env bats
# Adversarial regressions for issue 12 (EXECUTE sessions): what the first
# fix still let through.  Against the real Dovecot backend.

load helper
load execute
# hooks of the libraries loaded above: setup_file: execute.bash's;
# teardown_file: helper.bash's

setup() {
	imx_setup
	ex_setup
	ex_config "	{ name = \"nlflood\"; exec = [ \"/bin/sh\", \"-c\", \"yes '' | head -n 200000 >&2\" ]; timeout = 60; },
	{ name = \"oneflood\"; exec = [ \"/bin/sh\", \"-c\", \"yes x | head -n 200000 >&2\" ]; timeout = 60; },
	{ name = \"escflood\"; exec = [ \"/bin/sh\", \"-c\", \"setsid sh -c 'echo \$\$ >\\\"\$HOME/escapee.pid\\\"; exec yes escaping' & while [ ! -s \\\"\$HOME/escapee.pid\\\" ]; do sleep 0.01; done; exit 0\" ]; timeout = 2; idle_timeout = 0; max_output = 0; },"
}

teardown() {
	local f=$EX_HOME/escapee.pid
	if [ -s "$f" ]; then
		kill -KILL "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	fi
}

@test "log: a flood of empty stderr lines is capped" {
	printf '%s\n' 'timeout 60' '> a EXECUTE nlflood' 'wait a OK' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	local lines
	lines=$(grep -a -c 'service=<nlflood>, tag=<a>, stderr=<' "$T/filtered.log" || true)
	echo "# $lines log lines" >&3
	[ "$lines" -le 1024 ]
	[ "$(grep -a -c 'service=<nlflood>, tag=<a>: stderr: .*dropped' "$T/filtered.log")" -eq 1 ]
}

@test "log: a flood of one-byte stderr lines is capped" {
	printf '%s\n' 'timeout 60' '> a EXECUTE oneflood' 'wait a OK' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	local lines
	lines=$(grep -a -c 'service=<oneflood>, tag=<a>, stderr=<' "$T/filtered.log" || true)
	echo "# $lines log lines" >&3
	[ "$lines" -le 1024 ]
}

@test "timeout: ends the command though a setsid descendant floods the pipes" {
	printf '%s\n' 'timeout 30' '> a EXECUTE escflood' 'wait a NO' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_list a | tail -n 1 | grep -q '^a NO \[LIMIT\] escflood stopped: timeout'
}
