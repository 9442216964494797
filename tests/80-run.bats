#!/usr/bin/env bats
# imapexec-run, the client, through a preauth tunnel: imapexec in front of
# the real Dovecot imap, run as the test user (tests/run.bash), with the
# test services of tests/execute.bash and the calendar of
# scripts/services.  TLS and passwords: tests/81-run-tls.bats.

bats_require_minimum_version 1.5.0

load helper
load execute
load run

setup_file() { ex_setup_file; }
teardown_file() { imx_teardown_file; }
setup() {
	imx_setup
	ex_setup
	rn_setup
}
teardown() { rn_teardown; }

@test "run: echo hello prints hello and exits 0" {
	rn -t "$TUNNEL" echo hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	[ ! -s "$T/run.err" ]
	imx_assert_no_leftovers
}

@test "run: the exit status is the service's: EXIT 3 gives 3, EXIT 0 gives 0" {
	RN_WANT=3 rn -t "$TUNNEL" exit 3
	[ "$status" -eq 3 ]
	rn -t "$TUNNEL" exit 0
	[ "$status" -eq 0 ]
	imx_assert_no_leftovers
}

@test "run: an unknown service gives 127 and the server's text" {
	RN_WANT=127 rn -t "$TUNNEL" nosuch
	[ "$status" -eq 127 ]
	grep -qx 'imapexec-run: nosuch: No such service' "$T/run.err"
}

@test "run: a service killed by SIGSEGV gives 128 + 11" {
	RN_WANT=139 rn -t "$TUNNEL" segv
	[ "$status" -eq 139 ]
	imx_assert_no_leftovers
}

@test "run: NO [CANNOT] gives 126, NO [LIMIT] gives 124" {
	RN_WANT=126 rn -t "$TUNNEL" blacklist add joe@smith.com extra
	[ "$status" -eq 126 ]
	grep -q '^imapexec-run: blacklist: ' "$T/run.err"
	RN_WANT=124 rn -t "$TUNNEL" gc_timeout
	[ "$status" -eq 124 ]
	grep -q '^imapexec-run: gc_timeout: .*timeout' "$T/run.err"
	imx_assert_no_leftovers
}

@test "run: arguments reach argv exactly: spaces, quotes, backslash, 8-bit, ~ and {, empty" {
	rn -t "$TUNNEL" args 'a b' '"q"' 'x\y' "$(printf 'caf\303\251')" '~t' '{5}' '' '(p)' 'nl
x'
	[ "$status" -eq 0 ]
	diff <(printf '%s\n' "$output") - <<-EOF
		argv[1]=<a b>
		argv[2]=<"q">
		argv[3]=<x\y>
		argv[4]=<$(printf 'caf\303\251')>
		argv[5]=<~t>
		argv[6]=<{5}>
		argv[7]=<>
		argv[8]=<(p)>
		argv[9]=<nl
		x>
	EOF
}

@test "run: -i gives stdin as INPUT (binary, NUL included); without -i stdin is empty" {
	head -c 100000 /dev/urandom >"$T/in"
	printf 'a\0b\n' >>"$T/in"
	rn -i -t "$TUNNEL" sha <"$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(sha256sum <"$T/in" | cut -d' ' -f1) $(stat -c %s "$T/in")" ]
	rn -t "$TUNNEL" info <"$T/in"
	[ "$status" -eq 0 ]
}

@test "run: 10 MB of random bytes through the interactive cat service keep their sha256" {
	head -c 10000000 /dev/urandom >"$T/rand"
	rn -t "$TUNNEL" cat <"$T/rand"
	[ "$status" -eq 0 ]
	# run's $output drops NULs: redo with the output in a file
	timeout 60 "$RUN_BIN" -t "$TUNNEL" cat <"$T/rand" >"$T/back"
	[ "$(sha256sum <"$T/back")" = "$(sha256sum <"$T/rand")" ]
	imx_assert_no_leftovers
}

@test "run: text lines, DONE and CANCEL as data, a last line without LF, CRLF lines" {
	printf 'plain\nDONE\ncancel\n"quoted"\n{3}\nend}\n\ttab\r\nlast' >"$T/in"
	timeout 60 "$RUN_BIN" -t "$TUNNEL" cat <"$T/in" >"$T/back" 2>"$T/run.err"
	cmp "$T/in" "$T/back"
}

@test "run: a CRLF service gets CRLF lines and its quoted output ends in CRLF" {
	printf 'one\ntwo\n' | timeout 60 "$RUN_BIN" -t "$TUNNEL" crlf >"$T/back"
	printf 'hello from crlf\r\ngot <one>\r\ngot <two>\r\nbye\r\n' | cmp - "$T/back"
}

@test "run: the seed's calendar exchange from a here-document" {
	rn -t "$TUNNEL" calendar2 <<-'EOF'
		add today 8:00 make coffee
		add today 9:00 9:15 standup
		add today 12:00 lunch
		add tomorrow 8:30 dentist
		list schedule today 8:00 10:00
		quit
	EOF
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/conv"
	[ "$(grep -c '^calendar> added [0-9a-f]\{8\}$' "$T/conv")" -eq 4 ]
	grep -q '^calendar> 8:00 make coffee \[[0-9a-f]\{8\}\]$' "$T/conv"
	grep -q '^9:00 standup \[[0-9a-f]\{8\}\]$' "$T/conv"
	! grep -q 'lunch \[\|dentist \[' "$T/conv"
	[ "$(grep -c '^BEGIN:VEVENT' "$H/cal/.imapexec/calendar.ics")" -eq 4 ]
	imx_assert_no_leftovers
}

@test "run: SIGINT mid-session sends CANCEL; the service is killed, nothing is left" {
	mkfifo "$T/fifo"
	# hold the fifo open so that stdin never ends
	exec 7<>"$T/fifo"
	timeout --foreground -s KILL 60 "$RUN_BIN" -v -t "$TUNNEL" catpid <"$T/fifo" \
		>"$T/back" 2>"$T/run.err" &
	pid=$!
	echo "ping" >&7
	imx_wait_for grep -q '^ping$' "$T/back"
	[ -s "$T/cat.pid" ]
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	exec 7>&-
	grep -q '^imapexec-run: C: CANCEL' "$T/run.err"
	grep -q 'NO \[CANCELED\]' "$T/run.err"
	[ "$rc" -eq $((128 + 15)) ]
	ex_pid_gone "$T/cat.pid"
	imx_assert_no_leftovers
}

@test "run: -l lists the services of discovery, one a line" {
	rn -l -t "$TUNNEL"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	diff <(printf '%s\n' "$output") <(rn_discovery)
	printf '%s\n' "$output" | grep -qx calendar2
}

@test "run: a tunnel that fails or greets without PREAUTH gives 255 and one line" {
	RN_WANT=255 rn -t 'exit 0' echo hi
	[ "$status" -eq 255 ]
	[ "$(wc -l <"$T/run.err")" -eq 1 ]
	grep -q '^imapexec-run: connection closed by the server' "$T/run.err"
	RN_WANT=255 rn -t 'printf "* OK hello\r\n"; sleep 5' echo hi
	[ "$status" -eq 255 ]
	grep -qx "imapexec-run: the tunnel's server wants a login (no PREAUTH)" "$T/run.err"
}

@test "run: usage errors give 255" {
	RN_WANT=255 rn
	[ "$status" -eq 255 ]
	RN_WANT=255 rn -t "$TUNNEL"
	[ "$status" -eq 255 ]
	RN_WANT=255 rn ftp://host/ echo
	[ "$status" -eq 255 ]
	grep -q 'not an imap:// or imaps:// URL' "$T/run.err"
}
