#!/usr/bin/env bats
# imapexec-run, the client, through a preauth tunnel: imapexec in front of
# the real Dovecot imap, run as the test user (tests/run.bash), with the
# test services of tests/execute.bash and the calendar of
# scripts/services.  Then TLS, logins and passwords against a Dovecot
# daemon of the file's own (tests/dovecotd.bash): its post-login imap has
# no EXECUTE, so a good login ends in Dovecot's BAD for EXECUTE (255 with
# its text), which proves the login and the certificate checks.

bats_require_minimum_version 1.5.0

load helper
load execute
load run
load dovecotd

setup_file() {
	ex_setup_file
	if [ "$EUID" -eq 0 ] && command -v dovecot >/dev/null; then
		dd_start "$IMX_RUN/dovecotd"
		export DD_DIR DD_PID DD_CA DD_IMAP_PORT DD_IMAPS_PORT
	fi
	rn_login_start "$IMX_RUN/dlogin"
}
teardown_file() {
	rn_login_stop
	dd_stop
	imx_teardown_file
}
setup() {
	imx_setup
	ex_setup
	rn_setup
}
teardown() {
	rn_teardown
	[ -z "${RL2_PID:-}" ] || RL_PID=$RL2_PID rn_login_stop
}

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

@test "run: SIGINT mid-session sends CANCEL (130); the service is killed, nothing is left" {
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
	[ "$rc" -eq 130 ]
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

# --- TLS, logins and passwords (a Dovecot daemon, no EXECUTE there) -----

# tls_setup: skip without the daemon; the password in a file for -p, and
# a home for .netrc.
tls_setup() {
	[ -n "${DD_PID:-}" ] || skip "no Dovecot daemon (needs root)"
	printf '%s\n' "$DD_PASS" >"$T/pw"
	mkdir -p "$T/nh"
	URL=imaps://$DD_USER@127.0.0.1:$DD_IMAPS_PORT
}

# logged_in: Dovecot logged the user in over TLS since the mark.
logged_in() {
	tail -c +"$1" "$DD_DIR/dovecot.log" |
		grep -q "imap-login: .*Login: user=<$DD_USER>, method=${2:-PLAIN},.* TLS"
}

# mark: the current size of Dovecot's log, for logged_in.
mark() { echo $(($(stat -c %s "$DD_DIR/dovecot.log") + 1)); }

@test "tls: imaps:// with the password from -p logs in (AUTHENTICATE PLAIN, SASL-IR); Dovecot's BAD for EXECUTE gives 255 with its text" {
	tls_setup
	m=$(mark)
	RN_WANT=255 rn -v -C "$DD_CA" -p "cat $T/pw" "$URL" echo hi
	grep -q '^imapexec-run: C: l AUTHENTICATE PLAIN ' "$T/run.err"
	! grep -q "$(printf '%s' "$DD_PASS" | head -c 6)" "$T/run.err"
	grep -q '^imapexec-run: no EXECUTE on the server: .*Unknown command' "$T/run.err"
	imx_wait_for logged_in "$m"
}

@test "tls: the password from ~/.netrc (quoted, with spaces), also for the user" {
	tls_setup
	esc=${DD_PASS//\\/\\\\}
	esc=${esc//\"/\\\"}
	printf 'machine other login x password y\nmachine 127.0.0.1 login %s password "%s"\n' \
		"$DD_USER" "$esc" >"$T/nh/.netrc"
	chmod 600 "$T/nh/.netrc"
	m=$(mark)
	HOME=$T/nh RN_WANT=255 rn -C "$DD_CA" "$URL" echo hi
	grep -q '^imapexec-run: no EXECUTE on the server: .*Unknown command' "$T/run.err"
	imx_wait_for logged_in "$m"
	# no user in the URL: the .netrc entry's login
	m=$(mark)
	HOME=$T/nh RN_WANT=255 rn -C "$DD_CA" "imaps://127.0.0.1:$DD_IMAPS_PORT" echo hi
	grep -q '^imapexec-run: no EXECUTE on the server: .*Unknown command' "$T/run.err"
	imx_wait_for logged_in "$m"
	# readable by others: not used (and no terminal to ask on)
	chmod 644 "$T/nh/.netrc"
	HOME=$T/nh RN_WANT=255 rn -C "$DD_CA" "$URL" echo hi </dev/null
	grep -q 'readable by others, not used' "$T/run.err"
	grep -q '^imapexec-run: no password for ' "$T/run.err"
}

@test "tls: imap:// does STARTTLS before the login" {
	tls_setup
	m=$(mark)
	RN_WANT=255 rn -v -C "$DD_CA" -p "cat $T/pw" \
		"imap://$DD_USER@127.0.0.1:$DD_IMAP_PORT" echo hi
	grep -q '^imapexec-run: C: s STARTTLS' "$T/run.err"
	grep -q '^imapexec-run: no EXECUTE on the server: .*Unknown command' "$T/run.err"
	imx_wait_for logged_in "$m"
}

@test "tls: a certificate the system store does not trust, another CA, or another name is refused (255)" {
	tls_setup
	m=$(mark)
	RN_WANT=255 rn -p "cat $T/pw" "$URL" echo hi
	grep -q '^imapexec-run: TLS handshake: .*certificate' "$T/run.err"
	[ "$(wc -l <"$T/run.err")" -eq 1 ]
	RN_WANT=255 rn -C "$DD_DIR/other-ca.crt" -p "cat $T/pw" "$URL" echo hi
	grep -q '^imapexec-run: TLS handshake: .*certificate' "$T/run.err"
	# 127.0.0.2 is not in the certificate
	RN_WANT=255 rn -C "$DD_CA" -p "cat $T/pw" \
		"imaps://$DD_USER@127.0.0.2:$DD_IMAPS_PORT" echo hi
	grep -q '^imapexec-run: TLS handshake: .*127.0.0.2' "$T/run.err"
	RN_WANT=255 rn -C "$DD_CA" -p "cat $T/pw" \
		"imap://$DD_USER@127.0.0.2:$DD_IMAP_PORT" echo hi
	grep -q '^imapexec-run: TLS handshake: .*127.0.0.2' "$T/run.err"
	! tail -c +"$m" "$DD_DIR/dovecot.log" | grep -q 'Login: '
}

@test "tls: a bad password gives 255 with the server's text" {
	tls_setup
	RN_WANT=255 rn -C "$DD_CA" -p 'echo wrong' "$URL" echo hi
	grep -qx 'imapexec-run: login failed: \[AUTHENTICATIONFAILED\] Authentication failed.' "$T/run.err" ||
		grep -q '^imapexec-run: login failed: .*Authentication failed' "$T/run.err"
	[ "$(wc -l <"$T/run.err")" -eq 1 ]
	# a failing password command: 255 before any connection
	RN_WANT=255 rn -C "$DD_CA" -p 'exit 3' "$URL" echo hi
	grep -qx 'imapexec-run: password command failed (status 3)' "$T/run.err"
}

@test "tls: nothing listening gives 255 and one line" {
	tls_setup
	imx_closed_port
	port=$IMX_CLOSED_PORT
	RN_WANT=255 rn -C "$DD_CA" -p "cat $T/pw" "imaps://u@127.0.0.1:$port" echo hi
	kill "$IMX_CLOSED_PID"
	grep -q "^imapexec-run: 127.0.0.1 port $port: Connection refused" "$T/run.err"
}

# --- LOGIN and AUTHENTICATE LOGIN, where the server offers no AUTH=PLAIN
# (rn_login_start: the service runs after the login) ---------------------

# rl_setup: skip without the daemon; the passwords in files for -p.
rl_setup() {
	[ -n "${RL_PID:-}" ] || skip "no Dovecot daemon (needs root)"
	printf '%s\n' "$RL_PASS" >"$T/pw"
	printf '%s\n' "$RL_PASS8" >"$T/pw8"
}

# rl_mark: the current size of RL_DIR's Dovecot log, plus one.
rl_mark() { echo $(($(stat -c %s "$RL_DIR/dovecot.log") + 1)); }

# rl_logged_in MARK USER METHOD: Dovecot logged USER in with METHOD
# since MARK.
rl_logged_in() {
	tail -c +"$1" "$RL_DIR/dovecot.log" |
		grep -q "imap-login: .*Login: user=<$2>, method=$3,"
}

@test "login: no AUTH=PLAIN offered: LOGIN, the password quoted ('\"', '\\', spaces) or a literal (8-bit); the service runs" {
	rl_setup
	# Dovecot offers AUTH=PLAIN whenever LOGIN works: the relay hides it
	# (and STARTTLS: loopback, so clear text is allowed)
	rn_capproxy plain "$RL_IMAP"
	m=$(rl_mark)
	rn -v -p "cat $T/pw" "imap://$DD_USER@127.0.0.1:$CP_PORT" echo hello
	[ "$output" = hello ]
	grep -qx 'imapexec-run: C: l LOGIN ' "$T/run.err"
	! grep -q 'AUTHENTICATE\|STARTTLS' "$T/run.err"
	! grep -qF 'x y' "$T/run.err"
	imx_wait_for rl_logged_in "$m" "$DD_USER" PLAIN
	# the other user's password needs a literal (LITERAL+)
	m=$(rl_mark)
	rn -p "cat $T/pw8" "imap://$RL_USER8@127.0.0.1:$CP_PORT" echo hello8
	[ "$output" = hello8 ]
	imx_wait_for rl_logged_in "$m" "$RL_USER8" PLAIN
	# a wrong password: 255 and the server's text, in one line
	RN_WANT=255 rn -p "echo 'p \"w\" \\ x z'" \
		"imap://$DD_USER@127.0.0.1:$CP_PORT" echo hello
	[ "$(wc -l <"$T/run.err")" -eq 1 ]
	grep -q '^imapexec-run: login failed: .*Authentication failed' "$T/run.err"
}

@test "login: AUTH=LOGIN alone (auth_mechanisms = login gives LOGINDISABLED): AUTHENTICATE LOGIN; the service runs" {
	rl_setup
	local RL_DIR RL_PID RL_IMAP RL_IMAPS
	rn_login_start "$T/dlogin2" 'auth_mechanisms = login'
	RL2_PID=$RL_PID
	m=$(rl_mark)
	rn -v -C "$RL_DIR/ca.crt" -p "cat $T/pw8" \
		"imaps://$RL_USER8@127.0.0.1:$RL_IMAPS" echo hello
	[ "$output" = hello ]
	grep -q '^imapexec-run: S: .*LOGINDISABLED AUTH=LOGIN\]' "$T/run.err"
	grep -qx 'imapexec-run: C: l AUTHENTICATE LOGIN' "$T/run.err"
	imx_wait_for rl_logged_in "$m" "$RL_USER8" LOGIN
	RN_WANT=255 rn -C "$RL_DIR/ca.crt" -p "echo nope" \
		"imaps://$DD_USER@127.0.0.1:$RL_IMAPS" echo hello
	[ "$(wc -l <"$T/run.err")" -eq 1 ]
	grep -q '^imapexec-run: login failed: .*Authentication failed' "$T/run.err"
	rn_login_stop
	RL2_PID=
}

# --- the password prompt on the terminal (tests/runpty.py) --------------

# rl_pty LOG STEP... -- ARGS: imapexec-run ARGS under tests/runpty.py (the
# terminal's side in LOG), with a HOME without .netrc, stdin /dev/null,
# stdout in $T/out, stderr in $T/run.err; its status in rc.
rl_pty() {
	local log=$1
	shift
	mkdir -p "$T/nh"
	rc=0
	HOME=$T/nh timeout -s KILL 100 python3 "$REPO/tests/runpty.py" \
		"$log" "$@" </dev/null >"$T/out" 2>"$T/run.err" || rc=$?
}

# rl_typed PASS: PASS as runpty.py's send= wants it, with a newline.
rl_typed() {
	printf 'send=%s\\n' "${1//\\/\\\\}"
}

@test "prompt: no -p, no .netrc: asked on the terminal, not echoed, and the service runs (8-bit too)" {
	rl_setup
	rl_pty "$T/tty" 'expect=Password for runuser@127\.0\.0\.1: $' \
		"$(rl_typed "$RL_PASS")" -- \
		"$RUN_BIN" -C "$RL_DIR/ca.crt" "imaps://$DD_USER@127.0.0.1:$RL_IMAPS" echo hello
	[ "$rc" -eq 0 ]
	[ "$(cat "$T/out")" = hello ]
	[ ! -s "$T/run.err" ]
	! grep -qF 'x y' "$T/tty"
	grep -qx '\[echo on\]' "$T/tty"
	rl_pty "$T/tty8" "expect=Password for $RL_USER8@" \
		"$(rl_typed "$RL_PASS8")" -- \
		"$RUN_BIN" -C "$RL_DIR/ca.crt" "imaps://$RL_USER8@127.0.0.1:$RL_IMAPS" echo hello8
	[ "$rc" -eq 0 ]
	[ "$(cat "$T/out")" = hello8 ]
	! grep -qF "$RL_PASS8" "$T/tty8"
}

@test "prompt: ^C at the prompt gives 130, quietly, and the terminal echoes again" {
	rl_setup
	rl_pty "$T/tty" 'expect=Password for ' reading 'send=\x03' -- \
		"$RUN_BIN" -C "$RL_DIR/ca.crt" "imaps://$DD_USER@127.0.0.1:$RL_IMAPS" echo hello
	[ "$rc" -eq 130 ]
	[ ! -s "$T/out" ]
	[ ! -s "$T/run.err" ]
	grep -qx '\[echo on\]' "$T/tty"
}

@test "prompt: -T counts from the password on, not from the prompt" {
	rl_setup
	# the prompt waits longer than -T allows; the login and the command
	# after the password get their -T, ample on a busy machine too
	rl_pty "$T/tty" 'expect=Password for ' 'pause=12' \
		"$(rl_typed "$RL_PASS")" -- \
		"$RUN_BIN" -T 10 -C "$RL_DIR/ca.crt" "imaps://$DD_USER@127.0.0.1:$RL_IMAPS" echo hello
	[ "$rc" -eq 0 ]
	[ "$(cat "$T/out")" = hello ]
}

@test "prompt: no terminal and no password source: 255 and one line, no wait" {
	rl_setup
	mkdir -p "$T/nh"
	rc=0
	HOME=$T/nh setsid -w timeout -s KILL 60 "$RUN_BIN" -C "$RL_DIR/ca.crt" \
		"imaps://$DD_USER@127.0.0.1:$RL_IMAPS" echo hello \
		</dev/null >"$T/out" 2>"$T/run.err" || rc=$?
	[ "$rc" -eq 255 ]
	[ "$(wc -l <"$T/run.err")" -eq 1 ]
	grep -qx "imapexec-run: no password for $DD_USER@127.0.0.1 (no -p, no ~/.netrc entry, no terminal)" "$T/run.err"
}
