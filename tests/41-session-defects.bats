#!/usr/bin/env bats
# EXECUTE sessions (issue 12): lost interactive input, limits that must
# hold after the program has exited, no signal to a reaped process group,
# long descriptions, NUL in names, leading-dash arguments, escaped and
# bounded logging, one name_ok() and one now_ms().  Against the real
# Dovecot backend, with the test services of tests/services/.

load helper
load execute
# hooks of the libraries loaded above: setup_file: execute.bash's;
# teardown_file: helper.bash's

setup() {
	imx_setup
	ex_setup
	ex_config "$(ex_service slowsha slowsha.py 'interactive = true; timeout = 120;')
$(ex_service slowshal slowsha.py 'interactive = true; max_input = 100;')
$(ex_service quick exit.sh 'interactive = true;')
$(ex_service esc_timeout escapee.sh 'timeout = 2; idle_timeout = 0;')
$(ex_service esc_idle escapee.sh 'timeout = 0; idle_timeout = 2;')
$(ex_service esc_free escapee.sh 'timeout = 0; idle_timeout = 0;')
$(ex_service logjunk logjunk.sh)
$(ex_service errlog8 'errflood.sh", "1000000' 'timeout = 60;')
$(ex_service dashok args.sh 'dash_args = true;')"
}

teardown() {
	# the escapee left our process group on purpose: end it here
	local f=$EX_HOME/escapee.pid
	if [ -s "$f" ]; then
		kill -KILL "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	fi
}

# rand_line FILE N: N random letters (no LF) in FILE.
rand_line() {
	"$PYTHON" -c 'import random, sys
r = random.Random(int(sys.argv[2]))
sys.stdout.write("".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789 ")
                         for _ in range(int(sys.argv[2]))))' "$1" "$2" >"$1"
}

# --- 1: interactive input is never dropped ------------------------------

@test "input: a 300,000-byte line reaches a slow interactive reader whole" {
	rand_line "$T/line" 300000
	cat >"$T/s.txt" <<-EOF2
		data line < $T/line
		timeout 60
		> a EXECUTE slowsha
		wait +
		> @{line}
		> DONE
		wait a OK
	EOF2
	ex_run "$T/s.txt"
	local want
	want="$( (cat "$T/line"; printf '\n') | sha256sum | cut -d' ' -f1) 300001"
	[ "$(ex_out a)" = "$want" ] || {
		echo "# want $want, got $(ex_out a)" >&2
		false
	}
	grep -a -q "service=<slowsha>, tag=<a>, status=<OK>, .*in=<300001>" "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "input: several long lines and a literal reach a slow reader in order" {
	rand_line "$T/l1" 300000
	rand_line "$T/l2" 100000
	rand_line "$T/l3" 70000
	"$PYTHON" -c 'import os, sys; sys.stdout.buffer.write(os.urandom(200000))' >"$T/blob"
	cat >"$T/s.txt" <<-EOF2
		data l1 < $T/l1
		data l2 < $T/l2
		data l3 < $T/l3
		data blob < $T/blob
		timeout 60
		> a EXECUTE slowsha
		wait +
		> @{l1}
		> @{l2}
		> {#blob}
		wait +
		> @{blob}
		> @{l3}
		> DONE
		wait a OK
	EOF2
	ex_run "$T/s.txt"
	local want
	want="$( (cat "$T/l1"; printf '\n'; cat "$T/l2"; printf '\n'; cat "$T/blob" "$T/l3"; printf '\n') | sha256sum | cut -d' ' -f1) 670003"
	[ "$(ex_out a)" = "$want" ] || {
		echo "# want $want, got $(ex_out a)" >&2
		false
	}
	imx_assert_no_leftovers
}

# --- 2: limits hold after the program has exited --------------------------

# esc_check TAG SERVICE REASON: the program's EXIT 0, then the tagged NO
# for REASON, and the session went on.
esc_check() {
	ex_list "$1" | grep -qx "\\* EXECUTE (TAG \"$1\") OUT \"escaped\""
	ex_list "$1" | grep -qx "\\* EXECUTE (TAG \"$1\") EXIT 0"
	ex_list "$1" | tail -n 1 | grep -qx "$1 NO \\[LIMIT\\] $2 stopped: $3"
	ex_has '^b OK'
}

@test "timeout: ends the command when a setsid descendant keeps the pipes" {
	printf '%s\n' 'timeout 60' '> a EXECUTE esc_timeout' 'wait a NO' \
		'> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	esc_check a esc_timeout timeout
}

@test "idle timeout: ends the command when a setsid descendant keeps the pipes" {
	printf '%s\n' 'timeout 60' '> a EXECUTE esc_idle' 'wait a NO' \
		'> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	esc_check a esc_idle 'idle timeout'
}

@test "client hang-up: imapexec and the backend end though a descendant keeps the pipes" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 60
		> a EXECUTE esc_free
		match \* EXECUTE \(TAG "a"\) OUT "escaped"
		shutdown
		eof
	EOF2
	ex_run "$T/s.txt"
	grep -a -q -E 'service=<esc_free>, tag=<a>, status=<(CANCELED|DISCONNECTED)>' "$T/filtered.log"
	imx_assert_no_leftovers
}

# --- 3: no signal to a process group after its leader was reaped --------------

# strace_run SCRIPT: run SCRIPT with imapexec under strace -f; the trace
# of kill, pidfd_send_signal and the wait calls is in $T/strace.out.
strace_run() {
	command -v strace >/dev/null || skip "strace not installed"
	local real=$IMAPEXEC
	cat >"$T/traced" <<-EOF2
		#!/bin/sh
		exec strace -f -qq -e trace=kill,pidfd_send_signal,wait4,waitid \
			-o "$T/strace.out" "$real" "\$@"
	EOF2
	chmod 755 "$T/traced"
	: >"$T/strace.out"
	imx_own "$T/strace.out"
	# LeakSanitizer cannot run under ptrace
	local ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	IMAPEXEC=$T/traced ex_run "$1"
}

# no_late_kill: no kill(-P, ...) in the trace after P was reaped, and at
# least one group kill before a reap (the trace works).
no_late_kill() {
	"$PYTHON" - "$T/strace.out" <<-'PY'
		import re, sys
		reaped, before, bad = set(), 0, []
		for line in open(sys.argv[1], errors="replace"):
		    m = re.search(r"\bwait(?:4|id)(?:\(| resumed>).*=\s*(\d+)\s*$", line)
		    if m and "WNOWAIT" not in line and int(m.group(1)) > 0:
		        reaped.add(int(m.group(1)))
		    m = re.search(r"\bkill\(-(\d+),", line)
		    if m:
		        if int(m.group(1)) in reaped:
		            bad.append(line.strip())
		        else:
		            before += 1
		for b in bad:
		    print("signal after reaping: " + b, file=sys.stderr)
		if before == 0:
		    print("no group kill before a reap in the trace", file=sys.stderr)
		sys.exit(1 if bad or before == 0 else 0)
	PY
}

@test "signals: CANCEL after the program exited signals no reaped group" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 30
		> a EXECUTE quick
		wait +
		match \* EXECUTE \(TAG "a"\) EXIT 0
		> CANCEL
		wait a
		> b NOOP
		wait b OK
	EOF2
	strace_run "$T/s.txt"
	no_late_kill
}

@test "signals: a disconnect after the program exited signals no reaped group" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 30
		> a EXECUTE quick
		wait +
		match \* EXECUTE \(TAG "a"\) EXIT 0
		shutdown
		eof
	EOF2
	strace_run "$T/s.txt"
	no_late_kill
}

@test "signals: the input limit after the program exited signals no reaped group" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 30
		> a EXECUTE slowshal
		wait +
		> DONE
		match \* EXECUTE \(TAG "a"\) EXIT 0
		wait a OK
		> c EXECUTE quick
		wait +
		match \* EXECUTE \(TAG "c"\) EXIT 0
		> this line is longer than the hundred bytes of max_input, so it trips the input limit after the exit
		> DONE
		wait c
	EOF2
	strace_run "$T/s.txt"
	no_late_kill
}

# --- 4: long descriptions ---------------------------------------------------

@test "description: -t and the loader refuse one over 4096 bytes with file:line" {
	local d
	d=$(head -c 65536 /dev/zero | tr '\0' 'x')
	ex_config "	{ name = \"long\"; description = \"$d\";
	  exec = [ \"$EX_SERVICES/args.sh\" ]; }," 2>/dev/null && false
	run "$IMAPEXEC" -t -c "$T/imapexec.conf"
	[ "$status" -ne 0 ]
	[[ "$output" =~ imapexec.conf:[0-9]+:\ .*description.*4096 ]] || {
		echo "# $output" >&2
		false
	}
	# and the loader refuses it when a session starts
	printf '%s\n' '> a NOOP' 'wait a OK' >"$T/s.txt"
	run run_filtered "$T/s.txt"
	[ "$status" -ne 0 ]
	grep -a -q 'description' "$T/filtered.log"
}

@test "description: 4096 bytes (as a literal) are listed and the session goes on" {
	local d
	d=$(head -c 4095 /dev/zero | tr '\0' 'x')
	ex_config "	{ name = \"long\"; description = \"\\\\$d\";
	  exec = [ \"$EX_SERVICES/args.sh\" ]; },"
	printf '%s\n' 'timeout 20' '> a EXECUTE' 'wait a OK' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_has '^\* EXECUTE SERVICE long \(\) \{4096\}'
	ex_has '^\* EXECUTE SERVICE last '
}

# --- 5: NUL in a name ----------------------------------------------------------

@test "a service name with NUL: NO [NONEXISTENT], nothing runs" {
	cat >"$T/s.txt" <<-'EOF2'
		> c EXECUTE {6+}\r\nargs\0z hello
		wait c NO
		> d EXECUTE ~{6+}\r\nargs\0z
		wait d NO
		> e EXECUTE args ok
		wait e OK
	EOF2
	ex_run "$T/s.txt"
	ex_has '^c NO \[NONEXISTENT\] No such service'
	ex_has '^d NO \[NONEXISTENT\] No such service'
	imx_refute_grep '^\* EXECUTE \(TAG "[cd]"\)' "$T/filtered.out"
}

# --- 6: leading-dash arguments ----------------------------------------------

@test "arguments starting with '-' are refused unless the service sets dash_args" {
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE args --list=whitelist add
		wait a NO
		> b EXECUTE args ok "-x"
		wait b NO
		> c EXECUTE dashok --list=x -
		wait c OK
		> d EXECUTE args a-b x-
		wait d OK
	EOF2
	ex_run "$T/s.txt"
	ex_has '^a NO \[CANNOT\] args does not accept argument 1'
	ex_has '^b NO \[CANNOT\] args does not accept argument 2'
	imx_refute_grep '^\* EXECUTE \(TAG "[ab]"\)' "$T/filtered.out"
	ex_out c | grep -qx 'argv\[1\]=<--list=x>'
	ex_out d | grep -qx 'argv\[2\]=<x->'
}

# --- 7: logging -----------------------------------------------------------------

@test "log: stderr and tags are escaped (\\xNN) and bounded per line" {
	printf '%s\n' '> a EXECUTE logjunk' 'wait a OK' '> b\x7fc EXECUTE args' '> z NOOP' 'wait z OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	grep -a -q -F 'stderr=<a\x0db\x1b[31mc\x00d\x7fe\x5cf\xffg>' "$T/filtered.log"
	grep -a -q -F 'tag=<b\x7fc>, status=<OK>' "$T/filtered.log"
	# no raw control character (but TAB) or 8-bit byte in imapexec's lines
	run sh -c "grep -a '^imapexec: ' '$T/filtered.log' | LC_ALL=C grep -a -c -P '[\\x00-\\x08\\x0b-\\x1f\\x7f-\\xff]'"
	[ "$output" = 0 ]
	# the 20000-byte line went in bounded pieces
	[ "$(grep -a -c 'service=<logjunk>, tag=<a>, stderr=<yyyy' "$T/filtered.log")" -ge 2 ]
	[ "$(grep -a '^imapexec: ' "$T/filtered.log" | awk 'length($0) > 1024' | wc -l)" -eq 0 ]
}

@test "log: stderr logged per command is capped, with one note" {
	printf '%s\n' 'timeout 60' '> a EXECUTE errlog8' 'wait a OK' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	local bytes notes
	bytes=$(grep -a 'service=<errlog8>, tag=<a>, stderr=<' "$T/filtered.log" | wc -c)
	notes=$(grep -a -c 'service=<errlog8>, tag=<a>: stderr: .*dropped' "$T/filtered.log")
	echo "# logged $bytes bytes of stderr, $notes note(s)" >&3
	[ "$bytes" -le $((200 * 1024)) ]
	[ "$notes" -eq 1 ]
	ex_has '^a OK errlog8 completed'
}

# --- 8: one name_ok() and one now_ms() -------------------------------------------

@test "one name_ok() and one now_ms() in the sources" {
	[ "$(grep -l -E '^(name_ok|now_ms)\(' "$REPO"/src/*.c | wc -l)" -eq 1 ]
	[ "$(grep -c -E '^name_ok\(' "$REPO"/src/*.c | awk -F: '{ s += $2 } END { print s }')" -eq 1 ]
	[ "$(grep -c -E '^now_ms\(' "$REPO"/src/*.c | awk -F: '{ s += $2 } END { print s }')" -eq 1 ]
}
