#!/usr/bin/env bats
# EXECUTE against the real Dovecot preauth backend, with the small test
# services of tests/services/ (see tests/execute.bash for the helpers and
# the configuration every test gets).

load helper
load execute
# hooks of the libraries loaded above: setup_file and setup: execute.bash's;
# teardown_file: helper.bash's

# --- the seed's exchanges ----------------------------------------------

@test "seed: one-shot with arguments: 100 execute blacklist add joe@smith.com" {
	cat >"$T/s.txt" <<-'EOF2'
		> 100 execute blacklist add joe@smith.com
		wait 100 OK
		> 101 LOGOUT
		wait 101 OK
	EOF2
	ex_run "$T/s.txt"
	ex_expect 100 <<-'EOF2'
		* EXECUTE (TAG "100") OUT "argv[1]=<add>"
		* EXECUTE (TAG "100") OUT "argv[2]=<joe@smith.com>"
		* EXECUTE (TAG "100") EXIT 0
		100 OK blacklist completed
	EOF2
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "seed: interactive conversation: prompt, lines, quit, DONE" {
	cat >"$T/s.txt" <<-'EOF2'
		> 100 EXECUTE calendar
		wait +
		# the prompt has no newline, and arrives before we send anything
		match \* EXECUTE \(TAG "100"\) OUT \{2\}\r\n> \r\n
		> list schedule today 8:00 10:00
		match \* EXECUTE \(TAG "100"\) OUT "9:00 read mail"
		match \* EXECUTE \(TAG "100"\) OUT \{2\}
		> "DONE"
		match \* EXECUTE \(TAG "100"\) OUT "unknown: DONE"
		> quit
		match \* EXECUTE \(TAG "100"\) EXIT 0
		> DONE
		wait 100 OK
		> 101 NOOP
		wait 101 OK
	EOF2
	ex_run "$T/s.txt"
	ex_expect 100 --plus <<-'EOF2'
		+ calendar ready, send DONE to end the input
		* EXECUTE (TAG "100") OUT {2}
		> 
		* EXECUTE (TAG "100") OUT "8:00 make coffee"
		* EXECUTE (TAG "100") OUT "9:00 read mail"
		* EXECUTE (TAG "100") OUT {2}
		> 
		* EXECUTE (TAG "100") OUT "unknown: DONE"
		* EXECUTE (TAG "100") OUT {2}
		> 
		* EXECUTE (TAG "100") EXIT 0
		100 OK calendar completed
	EOF2
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "seed: interactive, DONE first closes stdin and the program ends" {
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE calendar
		wait +
		> list schedule today 8:00 10:00
		> DONE
		wait a OK
	EOF2
	ex_run "$T/s.txt"
	ex_out a >"$T/got"
	printf '> 8:00 make coffee\n9:00 read mail\n> ' | cmp - "$T/got"
	ex_has '^\* EXECUTE \(TAG "a"\) EXIT 0'
	ex_has '^a OK calendar completed'
	imx_assert_no_leftovers
}

@test "seed: CRLF service gets CRLF lines and its CRLF lines come back quoted" {
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE crlf
		wait +
		match \* EXECUTE \(TAG "a"\) OUT "hello from crlf"
		> one line
		match \* EXECUTE \(TAG "a"\) OUT "got <one line>"
		> "quoted DONE"
		match \* EXECUTE \(TAG "a"\) OUT "got <quoted DONE>"
		> done
		wait a OK
	EOF2
	ex_run "$T/s.txt"
	ex_expect a <<-'EOF2'
		* EXECUTE (TAG "a") OUT "hello from crlf"
		* EXECUTE (TAG "a") OUT "got <one line>"
		* EXECUTE (TAG "a") OUT "got <quoted DONE>"
		* EXECUTE (TAG "a") OUT "bye"
		* EXECUTE (TAG "a") EXIT 0
		a OK crlf completed
	EOF2
	# reassembled with CRLF, the stream is what the program wrote
	ex_out a --eol crlf >"$T/got"
	printf 'hello from crlf\r\ngot <one line>\r\ngot <quoted DONE>\r\nbye\r\n' | cmp - "$T/got"
	imx_assert_no_leftovers
}

@test "binary output with NUL bytes is restored exactly (literal8)" {
	printf '%s\n' '> a EXECUTE binary 100' 'wait a OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_has '^\* EXECUTE \(TAG "a"\) OUT ~\{[0-9]+\}'
	ex_out a >"$T/got"
	"$PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 100)' >"$T/want"
	cmp "$T/want" "$T/got"
	ex_has '^a OK binary completed'
}

@test "INPUT gives stdin inline: quoted, literal with NUL/CRLF/8-bit, literal8+" {
	"$PYTHON" -c 'import sys; sys.stdout.buffer.write(b"line one\r\n\x00\xff\xfe tail" + bytes(range(256)))' >"$T/blob"
	export EX_BLOB=$T/blob
	cat >"$T/s.txt" <<-'EOF2'
		data blob < $EX_BLOB
		> a EXECUTE cat (INPUT "say \"hi\" \\\\o/")
		wait a OK
		> b EXECUTE cat (INPUT {#blob}
		wait +
		>> @{blob}
		> )
		wait b OK
		> c EXECUTE cat (input ~{#blob+}
		>> @{blob}
		> )
		wait c OK
		> d EXECUTE cat (INPUT "")
		wait d OK
	EOF2
	ex_run "$T/s.txt"
	ex_out a >"$T/got.a"
	printf 'say "hi" \\o/' | cmp - "$T/got.a"
	ex_out b >"$T/got.b"
	cmp "$T/blob" "$T/got.b"
	ex_out c >"$T/got.c"
	cmp "$T/blob" "$T/got.c"
	ex_out d >"$T/got.d"
	[ ! -s "$T/got.d" ]
	# with INPUT even an interactive service runs one-shot: no "cat ready"
	imx_refute_grep '^\+ cat ready' "$T/filtered.out"
	grep -a -c '^+ Ready for argument' "$T/filtered.out" | grep -qx 1
	for t in a b c d; do ex_has "^$t OK cat completed"; done
	imx_assert_no_leftovers
}

# --- discovery and refusals --------------------------------------------

@test "discovery lists exactly the services this user may run (users/groups)" {
	[ "$EUID" -eq 0 ] || skip "needs root to put the test user in a group"
	printf '%s\n' '> a EXECUTE' 'wait a OK' '> b execute notmine' 'wait b NO' \
		'> c EXECUTE nogrp' 'wait c NO' '> d EXECUTE grp' 'wait d OK' \
		'> e EXECUTE both' 'wait e NO' '> f EXECUTE prim' 'wait f OK' \
		'> g EXECUTE mine' 'wait g OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	grep -a '^\* EXECUTE SERVICE ' "$T/filtered.out" | tr -d '\r' >"$T/list"
	awk '{ print $4 }' "$T/list" | tr '\n' ' ' >"$T/names"
	echo >>"$T/names"
	[ "$(cat "$T/names")" = "args blacklist info exit segv calendar crlf cat binary stderr errlog closeout sha mark markp missing gc_timeout gc_idle gc_output gc_cancel gc_exit noterm flood mine grp prim last " ] || {
		cat "$T/names" >&2
		false
	}
	grep -qx '\* EXECUTE SERVICE args () "test service args"' "$T/list"
	grep -qx '\* EXECUTE SERVICE calendar (INTERACTIVE) "test service calendar"' "$T/list"
	grep -qx '\* EXECUTE SERVICE crlf (INTERACTIVE CRLF) "test service crlf"' "$T/list"
	grep -qx '\* EXECUTE SERVICE last () ""' "$T/list"
	ex_has '^a OK EXECUTE completed'
	for t in b c e; do ex_has "^$t NO \[NONEXISTENT\] No such service"; done
	for t in d f g; do ex_has "^$t OK "; done
}

@test "refusals: unknown, ../x, control chars, not allowed, bad/too few/too many args, NUL, spawn failure" {
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE nosuch
		> b EXECUTE ../x
		> c EXECUTE "../mark"
		> d EXECUTE "mark\x01"
		> e EXECUTE notmine
		> f EXECUTE markp Bad1
		> g EXECUTE markp
		> h EXECUTE markp one two three
		> i EXECUTE markp "a b"
		> j EXECUTE markp ~{3+}
		> a\0b
		> k EXECUTE args 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17
		> l EXECUTE missing
		> m EXECUTE markp (FOO bar) x
		> n EXECUTE markp (INPUT)
		> o EXECUTE markp "unterminated
		> p EXECUTE mark/x
		wait p NO
		> z EXECUTE markp ok fine
		wait z OK
	EOF2
	ex_run "$T/s.txt"
	for t in a b c d e p; do ex_has "^$t NO \[NONEXISTENT\] No such service"; done
	for t in f g h i j k; do ex_has "^$t NO \[CANNOT\]"; done
	ex_has '^l NO \[UNAVAILABLE\]'
	for t in m n o; do ex_has "^$t BAD "; done
	# nothing ran for any of them
	imx_refute_grep '^\* EXECUTE \(TAG "[a-p]"\)' "$T/filtered.out"
	[ "$(cat "$T/marker")" = "ok fine" ]
	imx_assert_no_leftovers
}

# --- how programs run ---------------------------------------------------

@test "environment is exactly PATH HOME USER LOGNAME IMAPEXEC_* + env; cwd home; umask 077" {
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE info "two words" {6}
		wait +
		> x"y\z!
		wait a OK
	EOF2
	ex_run "$T/s.txt" --socket
	ex_out a >"$T/got"
	cat >"$T/want" <<-EOF2
		argc=2
		argv[1]=<two words>
		argv[2]=<x"y\\z!>
		env EXTRA=from config
		env HOME=$EX_HOME
		env IMAPEXEC_REMOTE_ADDR=local
		env IMAPEXEC_SERVICE=info
		env IMAPEXEC_USER=$IMX_USER
		env LANG=C.UTF-8
		env LOGNAME=$IMX_USER
		env PATH=/usr/local/bin:/usr/bin:/bin
		env USER=$IMX_USER
		cwd=$EX_HOME
		umask=0077
	EOF2
	diff -u "$T/want" "$T/got"
	# over pipes there is no peer address
	printf '%s\n' '> a EXECUTE info' 'wait a OK' >"$T/s2.txt"
	ex_run "$T/s2.txt"
	ex_out a | grep -qx 'env IMAPEXEC_REMOTE_ADDR='
}

@test "exit codes and signals: EXIT/SIGNAL, OK, NO [EXITCODE n], NO [EXITSIGNAL SIGSEGV]" {
	printf '%s\n' '> a EXECUTE exit 0' '> b EXECUTE exit 3' '> c EXECUTE exit 255' \
		'> d EXECUTE segv' 'wait d' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_expect a <<-'EOF2'
		* EXECUTE (TAG "a") EXIT 0
		a OK exit completed
	EOF2
	ex_list b | head -n 1 | grep -qx '\* EXECUTE (TAG "b") EXIT 3'
	ex_has '^b NO \[EXITCODE 3\] '
	ex_has '^\* EXECUTE \(TAG "c"\) EXIT 255'
	ex_has '^c NO \[EXITCODE 255\] '
	ex_list d | head -n 1 | grep -qx '\* EXECUTE (TAG "d") SIGNAL SIGSEGV'
	ex_has '^d NO \[EXITSIGNAL SIGSEGV\] '
	imx_assert_no_leftovers
}

@test "stderr: ERR responses with stderr=client, log lines with stderr=log" {
	printf '%s\n' '> a EXECUTE stderr' 'wait a OK' '> b EXECUTE errlog' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_out a >"$T/out.a"
	printf 'out line\nout again\n' | cmp - "$T/out.a"
	ex_out a --stream ERR >"$T/err.a"
	printf 'err line one\nerr partial' | cmp - "$T/err.a"
	imx_refute_grep '^\* EXECUTE \(TAG "b"\) ERR' "$T/filtered.out"
	grep -a -q 'stderr=<err line one>' "$T/filtered.log"
	grep -a -q 'stderr=<err partial>' "$T/filtered.log"
}

@test "a program that closes stdout early is still waited for: EXIT 5 after it" {
	printf '%s\n' '> a EXECUTE closeout' 'wait a NO' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_expect a <<-'EOF2'
		* EXECUTE (TAG "a") OUT "before"
		* EXECUTE (TAG "a") EXIT 5
		a NO [EXITCODE 5] closeout exited with status 5
	EOF2
	imx_assert_no_leftovers
}

@test "one syslog line per EXECUTE, without the arguments" {
	printf '%s\n' '> a EXECUTE blacklist add secret@example.org' 'wait a OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	grep -a -E "execute: user=<$IMX_USER>, service=<blacklist>, tag=<a>, status=<OK>, duration=<[0-9]+>, in=<0>, out=<[0-9]+>, rip=<" "$T/filtered.log"
	imx_refute_grep 'secret@example' "$T/filtered.log"
}

# --- limits and CANCEL kill the whole process group -----------------------

# gc_check TAG SERVICE REASON-REGEX: the tagged NO, an end line before it,
# the grandchild (ignoring SIGTERM, holding the pipes) gone, nothing left.
gc_check() {
	ex_has "^\\* EXECUTE \\(TAG \"$1\"\\) OUT \"grandchild [0-9]+\""
	ex_list "$1" | tail -n 2 | head -n 1 | grep -E "^\\* EXECUTE \\(TAG \"$1\"\\) (SIGNAL SIG[A-Z]+|EXIT [0-9]+)\$"
	ex_list "$1" | tail -n 1 | grep -E "^$1 $3\$"
	imx_wait_for ex_pid_gone "$EX_HOME/grandchild.pid"
	imx_assert_no_leftovers
}

@test "timeout kills the process group, grandchild included: NO [LIMIT] ... timeout" {
	printf '%s\n' 'timeout 15' '> a EXECUTE gc_timeout' 'wait a NO' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	gc_check a gc_timeout 'NO \[LIMIT\] gc_timeout stopped: timeout'
}

@test "idle timeout kills the process group: NO [LIMIT] ... idle timeout" {
	printf '%s\n' 'timeout 15' '> a EXECUTE gc_idle' 'wait a NO' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	gc_check a gc_idle 'NO \[LIMIT\] gc_idle stopped: idle timeout'
}

@test "output cap kills the process group: NO [LIMIT] ... output limit reached" {
	printf '%s\n' 'timeout 15' '> a EXECUTE gc_output' 'wait a NO' '> b NOOP' 'wait b OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	gc_check a gc_output 'NO \[LIMIT\] gc_output stopped: output limit reached'
	# not much more than the cap reached the client
	local n
	n=$(ex_out a | wc -c)
	[ "$n" -ge 200000 ]
	[ "$n" -le 400000 ]
}

@test "CANCEL kills the process group: NO [CANCELED]" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 15
		> a EXECUTE gc_cancel
		wait +
		match \* EXECUTE \(TAG "a"\) OUT "grandchild
		> cancel
		wait a NO
		> b NOOP
		wait b OK
	EOF2
	ex_run "$T/s.txt"
	gc_check a gc_cancel 'NO \[CANCELED\] .*'
}

@test "CANCEL of a program that ignores SIGTERM: SIGKILL after the grace" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 15
		> a EXECUTE noterm
		wait +
		match \* EXECUTE \(TAG "a"\) OUT "ready"
		> CANCEL
		wait a NO
	EOF2
	ex_run "$T/s.txt"
	ex_list a | head -n 2 | tr '\n' '|' | grep -qx '\* EXECUTE (TAG "a") OUT "ready"|\* EXECUTE (TAG "a") SIGNAL SIGKILL|'
	ex_has '^a NO \[CANCELED\]'
	imx_assert_no_leftovers
}

@test "a program that exits leaving a grandchild on the pipes: EXIT 0, grandchild killed" {
	printf '%s\n' 'timeout 15' '> a EXECUTE gc_exit' 'wait a OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	gc_check a gc_exit 'OK gc_exit completed'
}

# --- ordering -------------------------------------------------------------

# line_no REGEX: the first line of $T/filtered.out matching REGEX.
line_no() {
	local n
	n=$(grep -a -n -m 1 -E "$1" "$T/filtered.out" | cut -d: -f1)
	[ -n "$n" ] || { echo "# no line matches $1" >&2; return 1; }
	echo "$n"
}

@test "pipelining: a NOOP, b EXECUTE, c NOOP in one write are answered in order" {
	for chunk in whole byte; do
		printf '%s\n' '> a NOOP' '> b EXECUTE args x' '> c NOOP' 'wait c OK' >"$T/s.txt"
		ex_run "$T/s.txt" --chunk "$chunk"
		local la lb1 lb2 lb3 lc
		la=$(line_no '^a OK')
		lb1=$(line_no '^\* EXECUTE \(TAG "b"\) OUT "argv\[1\]=<x>"')
		lb2=$(line_no '^\* EXECUTE \(TAG "b"\) EXIT 0')
		lb3=$(line_no '^b OK args completed')
		lc=$(line_no '^c OK')
		[ "$la" -lt "$lb1" ] && [ "$lb1" -lt "$lb2" ] && [ "$lb2" -lt "$lb3" ] &&
			[ "$lb3" -lt "$lc" ] || {
			echo "# order a=$la b=$lb1,$lb2,$lb3 c=$lc ($chunk)" >&2
			false
		}
	done
}

@test "an EXECUTE behind a long FETCH waits for the FETCH's tagged OK" {
	cat >"$T/s.txt" <<-'EOF2'
		> a SELECT INBOX
		wait a OK
		> b FETCH 1:* BODY[]
		> c EXECUTE args after
		wait c OK
	EOF2
	ex_run "$T/s.txt"
	local ob oc
	ob=$(grep -a -b -m 1 '^b OK' "$T/filtered.out" | cut -d: -f1)
	oc=$(grep -a -b -m 1 '^\* EXECUTE (TAG "c")' "$T/filtered.out" | cut -d: -f1)
	[ -n "$ob" ]
	[ -n "$oc" ]
	[ "$ob" -lt "$oc" ]
	# it was a long FETCH: more than 300 KB before its OK
	[ "$ob" -gt 300000 ]
	ex_out c | grep -qx 'argv\[1\]=<after>'
}

@test "the session goes on after EXECUTE: basic session byte-identical apart from EXECUTE" {
	run_direct basic.txt
	ex_basic_x
	ex_run "$T/basic-x.txt"
	"$PYTHON" "$EXR" --strip x1,x2,x3 --plus "$T/filtered.out" >"$T/stripped.out"
	imx_normalize "$T/direct.out" >"$T/direct.norm"
	imx_normalize_filtered "$T/stripped.out" >"$T/filtered.norm"
	grep -a -q '^a12 OK' "$T/direct.norm"
	diff -a -u "$T/direct.norm" "$T/filtered.norm"
	ex_has '^x1 OK' && ex_has '^x2 OK' && ex_has '^x3 OK'
	imx_assert_no_leftovers
}

# --- smuggling --------------------------------------------------------------

# A message whose lines look like EXECUTE commands.
smuggle_data() {
	cat <<-'EOF2'
		data trap
		x EXECUTE mark at-start
		From: trap@example.org
		Subject: x EXECUTE mark
		
		x EXECUTE mark in-body
		y EXECUTE mark {3}
		DONE
		x EXECUTE mark last-line
		.end
	EOF2
}

@test "smuggling: x EXECUTE mark inside APPEND data ({n}, {n+}, ~{n}, MULTIAPPEND, CATENATE) never runs" {
	{
		smuggle_data
		cat <<-'EOF2'
			> s1 APPEND INBOX {#trap}
			wait +
			>> @{trap}
			>
			wait s1 OK
			> s2 APPEND INBOX {#trap+}
			> @{trap}
			wait s2 OK
			> s3 APPEND INBOX ~{#trap}
			wait +
			> @{trap}
			wait s3 OK
			> s4 APPEND INBOX {#trap}
			wait +
			>> @{trap}
			>  (\Seen) {#trap}
			wait +
			> @{trap}
			wait s4 OK
			> s5 APPEND INBOX CATENATE (TEXT {#trap}
			wait +
			>> @{trap}
			>  TEXT {#trap+}
			>> @{trap}
			> )
			wait s5 OK
			> c1 EXECUTE mark control
			wait c1 OK
			> s6 STATUS INBOX (MESSAGES)
			wait s6 OK
		EOF2
	} >"$T/s.txt"
	for chunk in whole byte; do
		rm -f "$T/marker"
		ex_run "$T/s.txt" --chunk "$chunk"
		# every APPEND went to Dovecot (5 + 6 messages), only c1 ran
		ex_has '^\* STATUS INBOX \(MESSAGES 11\)'
		[ "$(cat "$T/marker")" = "control" ]
	done
	imx_assert_no_leftovers
}

@test "smuggling: after a rejected synchronizing literal the next line is a command" {
	{
		smuggle_data
		cat <<-'EOF2'
			> r1 APPEND nosuchbox {#trap}
			wait r1 NO
			> x EXECUTE mark after-rejection
			wait x OK
			> r2 APPEND nosuchbox ~{#trap}
			wait r2 NO
			> y EXECUTE mark again
			wait y OK
		EOF2
	} >"$T/s.txt"
	for chunk in whole byte; do
		rm -f "$T/marker"
		ex_run "$T/s.txt" --chunk "$chunk"
		printf 'after-rejection\nagain\n' | cmp - "$T/marker"
		imx_refute_grep '^\+ ' "$T/filtered.out"
	done
}

@test "smuggling: x EXECUTE mark inside IDLE never runs" {
	cat >"$T/s.txt" <<-'EOF2'
		> i1 IDLE
		wait +
		> x EXECUTE mark inside-idle
		wait i1
		> i2 IDLE
		wait +
		> DONE
		wait i2 OK
		> c1 EXECUTE mark control
		wait c1 OK
	EOF2
	for chunk in whole byte; do
		rm -f "$T/marker"
		ex_run "$T/s.txt" --chunk "$chunk"
		[ "$(cat "$T/marker")" = "control" ]
		imx_refute_grep '^\* EXECUTE \(TAG "x"\)' "$T/filtered.out"
	done
}

# --- flow control -------------------------------------------------------------

@test "flow control: a client that stops reading keeps imapexec's RSS bounded (100 MB flood)" {
	local limit=16384
	# the sanitizer build has a larger fixed footprint; allow for it
	if nm "$IMAPEXEC" 2>/dev/null | grep -q __asan_init; then limit=65536; fi
	ex_stall_rss "$limit" >"$T/stall.txt" || {
		cat "$T/stall.txt" "$T/stall.err" >&2
		false
	}
	cat "$T/stall.txt" >&3
	imx_assert_no_leftovers
}

@test "flow control: 6 MB of input through literals reaches the program completely" {
	"$PYTHON" -c 'import os, sys; sys.stdout.buffer.write(os.urandom(2 * 1024 * 1024))' >"$T/blob"
	cat >"$T/s.txt" <<-EOF2
		data blob < $T/blob
		timeout 30
		> a EXECUTE sha
		wait +
		> {#blob}
		wait +
		> @{blob}
		> ~{#blob}
		wait +
		> @{blob}
		> {#blob+}
		> @{blob}
		> DONE
		wait a OK
	EOF2
	ex_run "$T/s.txt"
	local want
	want="$(cat "$T/blob" "$T/blob" "$T/blob" | sha256sum | cut -d' ' -f1) $((3 * 2 * 1024 * 1024))"
	[ "$(ex_out a)" = "$want" ] || {
		echo "# want $want, got $(ex_out a)" >&2
		false
	}
	imx_assert_no_leftovers
}

# --- disconnects ---------------------------------------------------------------

@test "client half-close mid-session kills the service" {
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE noterm
		wait +
		match \* EXECUTE \(TAG "a"\) OUT "ready"
		shutdown
		eof
	EOF2
	ex_run "$T/s.txt"
	# no tagged OK (a NO [CANCELED] or nothing at all is fine)
	imx_refute_grep '^a (OK|BAD)' "$T/filtered.out"
	grep -a -q -E 'service=<noterm>, tag=<a>, status=<(DISCONNECTED|CANCELED)>' "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "client killed mid-session: the service (ignoring SIGTERM) is killed" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 30
		> a EXECUTE noterm
		wait +
		match \* EXECUTE \(TAG "a"\) OUT "ready"
		match never
	EOF2
	ex_start "$T/s.txt"
	imx_wait_for ex_has '^\* EXECUTE \(TAG "a"\) OUT "ready"'
	local drv
	drv=$(pgrep -P "$EX_PID" -f imapdrive.py)
	[ -n "$drv" ]
	kill -KILL "$drv"
	ex_wait_driver
	imx_assert_no_leftovers
}

@test "backend death mid-session: imapexec ends cleanly, nothing left" {
	cat >"$T/s.txt" <<-'EOF2'
		timeout 20
		> a EXECUTE calendar
		wait +
		match \* EXECUTE \(TAG "a"\) OUT \{2\}
		eof
	EOF2
	ex_start "$T/s.txt"
	imx_wait_for ex_has '^\* EXECUTE \(TAG "a"\) OUT \{2\}'
	local ix be
	ix=$(ex_imapexec_pid)
	[ -n "$ix" ]
	be=$(ex_child_of "$ix" imap)
	[ -n "$be" ]
	kill -KILL "$be"
	# imapexec must end on its own (the driver waits for EOF)
	if ! imx_wait_for eval '! kill -0 '"$ix"' 2>/dev/null'; then
		echo "# imapexec $ix still runs 10 s after its backend died" >&2
		ps -o pid,stat,args --ppid "$ix" >&2 || true
		kill -KILL "$ix" 2>/dev/null || true
		ex_wait_driver
		false
	fi
	ex_wait_driver
	imx_assert_no_leftovers
}
