#!/usr/bin/env bats
# imapexec-run against hostile or broken servers and surroundings: a
# scripted server (tests/fakeimap.py) for what a real one never does, the
# real imapexec in front of Dovecot (tests/run.bash) for the rest.

bats_require_minimum_version 1.5.0

load helper
load execute
load run
load dovecotd
# hooks of the libraries loaded above: teardown_file: helper.bash's

setup_file() {
	ex_setup_file
	dd_certs "$IMX_RUN/certs"
}
setup() {
	imx_setup
	ex_setup
	rn_setup
	FK_PID=
}
teardown() {
	rn_teardown
	[ -z "$FK_PID" ] || { kill "$FK_PID" 2>/dev/null; wait "$FK_PID" 2>/dev/null; } || true
}

# fk_start ADDR [fakeimap options]: run the scripted server on ADDR with
# the script in $T/script (what it got in $T/got); FK_PORT, FK_PID.
fk_start() {
	local addr=$1
	shift
	rm -f "$T/port"
	: >"$T/got"
	python3 "$REPO/tests/fakeimap.py" "$@" "$addr" "$T/port" "$T/got" \
		"$T/script" 2>"$T/fake.err" &
	FK_PID=$!
	imx_wait_for test -s "$T/port"
	FK_PORT=$(cat "$T/port")
}

# fk_public: an address of this host outside loopback, or skip.
fk_public() {
	FK_ADDR=$(ip -o -4 addr show scope global 2>/dev/null |
		awk '{ sub("/.*", "", $4); print $4; exit }')
	[ -n "$FK_ADDR" ] || skip "no non-loopback IPv4 address"
}

@test "hostile: imap:// to a non-loopback host greeting PREAUTH in clear text is refused" {
	fk_public
	printf '%s\n' 'send * PREAUTH hi\r\n' 'hold' >"$T/script"
	fk_start "$FK_ADDR"
	RN_WANT=255 rn -p 'echo pw' "imap://u@$FK_ADDR:$FK_PORT" cat <<<"secret"
	grep -q '^imapexec-run: .*PREAUTH.*clear' "$T/run.err"
	wait "$FK_PID" || true
	FK_PID=
	! grep -q 'EXECUTE\|secret' "$T/got"
}

@test "hostile: imap:// to a non-loopback host without STARTTLS: refused, no password sent" {
	fk_public
	printf '%s\n' 'send * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n' \
		'hold' >"$T/script"
	fk_start "$FK_ADDR"
	RN_WANT=255 rn -p 'echo pw' "imap://u@$FK_ADDR:$FK_PORT" echo hi
	grep -qx "imapexec-run: $FK_ADDR: no STARTTLS offered; will not send a password in clear text" "$T/run.err"
	wait "$FK_PID" || true
	FK_PID=
	! grep -q 'AUTHENTICATE\|LOGIN' "$T/got"
}

@test "hostile: responses pipelined after the STARTTLS answer are refused" {
	printf '%s\n' 'send * OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n' \
		'expect s STARTTLS\r\n' \
		'send s OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n' \
		'hold' >"$T/script"
	fk_start 127.0.0.1
	RN_WANT=255 rn -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo hi
	grep -qx 'imapexec-run: protocol error: data after the STARTTLS answer' "$T/run.err"
}

@test "hostile: a closed stdin, stdout or stderr is never taken for the connection" {
	# stdin closed: as empty (not through bats' run, which may open it)
	timeout -s KILL 60 "$RUN_BIN" -t "$TUNNEL" cat <&- >"$T/out" 2>"$T/run.err"
	[ ! -s "$T/out" ]
	# stdout closed: the output is lost, the status is the service's
	rc=0
	timeout -s KILL 60 "$RUN_BIN" -t "$TUNNEL" exit 3 >&- 2>"$T/run.err" || rc=$?
	[ "$rc" -eq 3 ]
	rc=0
	timeout -s KILL 60 "$RUN_BIN" -t "$TUNNEL" echo hi >&- 2>"$T/run.err" || rc=$?
	[ "$rc" -eq 0 ]
	# stderr closed
	rc=0
	timeout -s KILL 60 "$RUN_BIN" -t "$TUNNEL" nosuch >"$T/out" 2>&- || rc=$?
	[ "$rc" -eq 127 ]
	[ ! -s "$T/out" ]
	rc=0
	timeout -s KILL 60 "$RUN_BIN" -t "$TUNNEL" echo hi <&- >&- 2>&- || rc=$?
	[ "$rc" -eq 0 ]
	imx_assert_no_leftovers
}

@test "hostile: SIGINT during a TLS handshake that never ends gives 130 at once" {
	printf '%s\n' 'hold' >"$T/script"
	fk_start 127.0.0.1
	for tmo in 0 600; do
		timeout -s KILL 50 "$RUN_BIN" -T "$tmo" -p 'echo pw' \
			"imaps://u@127.0.0.1:$FK_PORT" echo hi 2>"$T/run.err" &
		pid=$!
		# the ClientHello came: the client waits in the handshake
		imx_wait_for test -s "$T/got"
		kill -INT "$pid"
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" -eq 130 ]
		[ ! -s "$T/run.err" ]
		[ "$tmo" = 600 ] || { wait "$FK_PID" || true; fk_start 127.0.0.1; }
	done
}

@test "hostile: -p printing without end, a huge line, nothing, or failing: 255, one line, no connection" {
	printf '%s\n' 'hold' >"$T/script"
	fk_start 127.0.0.1
	for cmd in yes 'head -c 100000 /dev/zero | tr "\0" x' 'exit 0' 'printf "\n\npw\n"' 'echo pw; exit 1' 'kill -9 $$'; do
		RN_WANT=255 rn -p "$cmd" "imaps://u@127.0.0.1:$FK_PORT" echo hi
		[ "$(wc -l <"$T/run.err")" -eq 1 ]
		grep -q '^imapexec-run: password command \(printed too much\|printed nothing\|failed (status 1)\|failed (signal 9)\)$' "$T/run.err"
	done
	grep -q 'printed too much' "$T/run.err" || true
	[ ! -s "$T/got" ]
}

@test "hostile: ^C from a terminal (SIGINT to the whole process group) cancels; the local tunnel keeps it ignored" {
	mkfifo "$T/fifo"
	exec 7<>"$T/fifo"
	# a process group of its own, as a shell's foreground job
	setsid "$RUN_BIN" -v -t "$TUNNEL" catpid <"$T/fifo" >"$T/back" \
		2>"$T/run.err" &
	pid=$!
	( sleep 60; kill -KILL -- -"$pid" ) 2>/dev/null &
	dog=$!
	echo ping >&7
	imx_wait_for grep -q '^ping$' "$T/back"
	kill -INT -- -"$pid"
	rc=0
	wait "$pid" || rc=$?
	kill "$dog" 2>/dev/null || true
	exec 7>&-
	[ "$rc" -eq 130 ]
	grep -q '^imapexec-run: C: CANCEL' "$T/run.err"
	grep -q 'NO \[CANCELED\]' "$T/run.err"
	! grep -q 'signal=<2>' "$T/tunnel.log"
	ex_pid_gone "$T/cat.pid"
	imx_assert_no_leftovers
}

# fk_login REPLY: a server offering AUTH=PLAIN that answers REPLY to
# AUTHENTICATE PLAIN; then LOGIN works and "echo" says hi.
fk_login() {
	printf '%s\n' 'send * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+] hi\r\n' \
		'expect l AUTHENTICATE PLAIN [A-Za-z0-9+/=]+\r\n' \
		"send l $1\\r\\n" \
		'expect l LOGIN .*\r\n' \
		'send l OK logged in\r\n' \
		'expect x EXECUTE echo\r\n' \
		'send * EXECUTE SERVICE echo () "e"\r\nd OK done\r\n* EXECUTE (TAG "x") OUT "hi"\r\n* EXECUTE (TAG "x") EXIT 0\r\nx OK done\r\n' \
		'hold' >"$T/script"
	fk_start 127.0.0.1
}

@test "hostile: AUTHENTICATE PLAIN refused (BAD, or NO without a code): LOGIN follows, the password quoted" {
	printf '%s\n' 'p "w" \ x' >"$T/pw"
	for reply in 'BAD Unknown mechanism' 'NO Unsupported authentication mechanism.'; do
		fk_login "$reply"
		rn -p "cat $T/pw" "imap://u@127.0.0.1:$FK_PORT" echo
		[ "$output" = hi ]
		grep -qF 'l LOGIN "u" "p \"w\" \\ x"' "$T/got"
		wait "$FK_PID" || true
		FK_PID=
	done
}

@test "hostile: AUTHENTICATE PLAIN refused with [AUTHENTICATIONFAILED]: 255, no second try" {
	fk_login 'NO [AUTHENTICATIONFAILED] Authentication failed.'
	RN_WANT=255 rn -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo
	grep -qx 'imapexec-run: login failed: Authentication failed.' "$T/run.err"
	wait "$FK_PID" || true
	FK_PID=
	! grep -q 'LOGIN' "$T/got"
}

# --- a server that floods, stalls or asks for nothing --------------------

GREET='send * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n'
AUTHED='expect l AUTHENTICATE PLAIN [A-Za-z0-9+/=]+\r\n'

# rh_start ARGS...: the client in the background (stdin from $T/in, or
# empty), against the scripted server; RH_PID.
rh_start() {
	[ -e "$T/in" ] || : >"$T/in"
	timeout -s KILL 100 "$RUN_BIN" "$@" <"$T/in" >"$T/out" 2>"$T/run.err" &
	RH_PID=$!
}

# rh_hwm: the client's peak resident memory in KiB (it must still run).
rh_hwm() {
	local pid
	pid=$(pgrep -P "$RH_PID" -x imapexec-run)
	awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status"
}

# rh_end WANT: end the scripted server; the client must exit WANT.
rh_end() {
	kill "$FK_PID" 2>/dev/null || true
	wait "$FK_PID" 2>/dev/null || true
	FK_PID=
	rc=0
	wait "$RH_PID" || rc=$?
	[ "$rc" -eq "$1" ]
}

@test "hostile: an endless line: 255 and one line once it is over 64 KiB" {
	printf '%s\n' 'send * OK ' 'repeat 100000 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' \
		'hold' >"$T/script"
	fk_start 127.0.0.1
	RN_WANT=255 rn -T 0 -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo hi
	grep -qx 'imapexec-run: protocol error: a response line over 65536 bytes' "$T/run.err"
	[ "$(wc -l <"$T/run.err")" -eq 1 ]
}

# rh_flood LINE...: a server that greets, takes the login, then sends the
# fakeimap.py script LINEs and holds: imapexec-run's memory stays bounded
# while it reads them, and the server's hang-up gives 255 and one line.
rh_flood() {
	printf '%s\n' "$GREET" "$AUTHED" "$@" "touch $T/flooded" 'hold' \
		>"$T/script"
	fk_start 127.0.0.1
	rh_start -T 0 -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo hi
	imx_wait_for test -e "$T/flooded"
	hwm=$(rh_hwm)
	echo "# peak RSS ${hwm} KiB" >&3
	[ "$hwm" -lt 100000 ]
	rh_end 255
	grep -qx 'imapexec-run: connection closed by the server' "$T/run.err"
}

@test "hostile: a literal of 2^63 octets, then 300 MB of them: memory stays bounded; the end gives 255" {
	rh_flood 'send * 1 FETCH (BODY[] {9223372036854775808}\r\n' \
		'repeat 300000 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
}

@test "hostile: five million untagged lines before the login's answer: memory stays bounded; the end gives 255" {
	rh_flood 'repeat 5000000 * 1 EXISTS\r\n'
}

@test "hostile: a \"+\" nobody asked for: after the greeting, and before a one-shot service: 255, one line, stdin not sent" {
	printf '%s\n' "$GREET" 'send + go on\r\n' 'hold' >"$T/script"
	fk_start 127.0.0.1
	RN_WANT=255 rn -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo hi
	grep -qx 'imapexec-run: unexpected continuation request' "$T/run.err"
	wait "$FK_PID" || true
	printf '%s\n' "$GREET" "$AUTHED" 'send l OK in\r\n' \
		'expect x EXECUTE echo hi\r\n' 'send + go on\r\n' 'hold' >"$T/script"
	fk_start 127.0.0.1
	RN_WANT=255 rn -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo hi <<<"secret"
	grep -qx 'imapexec-run: unexpected continuation request: go on' "$T/run.err"
	wait "$FK_PID" || true
	FK_PID=
	! grep -q 'secret\|DONE' "$T/got"
}

@test "hostile: a server that stalls after the greeting, or before the list ends: -T gives 255, one line" {
	for t in 1 2; do
		printf '%s\n' "$GREET" 'hold' >"$T/script"
		fk_start 127.0.0.1
		RN_WANT=255 rn -T "$t" -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo hi
		grep -qx "imapexec-run: timed out (-T $t)" "$T/run.err"
		wait "$FK_PID" || true
	done
	printf '%s\n' "$GREET" "$AUTHED" 'send l OK in\r\n' \
		'send * EXECUTE SERVICE echo () "e"\r\n' 'hold' >"$T/script"
	fk_start 127.0.0.1
	RN_WANT=255 rn -T 1 -l -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT"
	[ "$output" = echo ]
	grep -qx 'imapexec-run: timed out (-T 1)' "$T/run.err"
	wait "$FK_PID" || true
	FK_PID=
}

@test "hostile: 10 MB through cat with a slow reader of stdout, and a slow writer of stdin: no byte lost or moved" {
	head -c 10000000 /dev/urandom >"$T/rand"
	timeout -s KILL 100 "$RUN_BIN" -t "$TUNNEL" cat <"$T/rand" 2>"$T/run.err" |
		{ sleep 2; cat; } >"$T/back"
	cmp "$T/rand" "$T/back"
	{ sleep 2; cat "$T/rand"; } |
		timeout -s KILL 100 "$RUN_BIN" -t "$TUNNEL" cat >"$T/back" 2>"$T/run.err"
	cmp "$T/rand" "$T/back"
	imx_assert_no_leftovers
}

@test "hostile: ^C while stdout is full (a reader that stopped reading): CANCEL goes out at once, a second ^C ends it" {
	mkfifo "$T/i" "$T/o"
	# stdin that never ends; output without end (yes)
	exec 7<>"$T/i"
	"$RUN_BIN" -v -t "$TUNNEL" yespid <"$T/i" >"$T/o" 2>"$T/run.err" &
	pid=$!
	( sleep 60; kill -KILL "$pid" ) 2>/dev/null &
	dog=$!
	exec 8<"$T/o"
	head -c 100 <&8 >/dev/null
	imx_wait_for test -s "$T/yes.pid"
	# the client waits in write(2) on its full stdout pipe
	imx_wait_for grep -q 'pipe_write$' "/proc/$pid/wchan"
	kill -INT "$pid"
	imx_wait_for grep -q '^imapexec-run: C: CANCEL' "$T/run.err"
	imx_wait_for ex_pid_gone "$T/yes.pid"
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	kill "$dog" 2>/dev/null || true
	exec 7>&- 8<&-
	[ "$rc" -eq 130 ]
	imx_assert_no_leftovers
}

@test "hostile: AUTHENTICATE PLAIN without SASL-IR answered \"+\" again and again: the response goes once, then 255" {
	printf '%s\n' 'send * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n' \
		'expect l AUTHENTICATE PLAIN\r\n' 'send + \r\n' \
		'expect [A-Za-z0-9+/=]+\r\n' 'send + \r\n' 'hold' >"$T/script"
	fk_start 127.0.0.1
	RN_WANT=255 rn -T 0 -p 'echo pw' "imap://u@127.0.0.1:$FK_PORT" echo hi
	grep -qx 'imapexec-run: unexpected continuation request' "$T/run.err"
	wait "$FK_PID" || true
	FK_PID=
	[ "$(grep -c '^AHUAcHc=' "$T/got")" -eq 1 ]
}
