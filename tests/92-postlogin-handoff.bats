#!/usr/bin/env bats
# Dovecot post-login mode: the hand-off from imapexec to imap going wrong.
# A program of the chain (tests/postlogin.bash PL_CHAIN, between imapexec
# and script-login) hangs, fails or waits; imap gives up after its
# post-login timeout (`imap -t 3` here, 60 s by default) or dies; the
# client hangs up; the post-login service's process_limit is reached.
# Nothing may hang, no process may be left, and the client hears why.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin
# hooks of the libraries loaded above: teardown_file: postlogin.bash's;
# setup: helper.bash's

setup_file() {
	PL_CHAIN=1
	DD_PL_IMAP="-t 3"
	DD_PL_LINES=("process_limit = 2")
	pl_setup_file
}

# A failed test may leave its chain behind: end it, and what it runs.
teardown() {
	local c
	[ -n "${PL_DIR:-}" ] || return 0
	c=$(pl_pgrep -d, chain.sh) || return 0
	pkill -KILL -P "$c" || true
	pl_pkill KILL chain.sh || true
}

# pl_login [DIR]: user 2 sends LOGIN over imaps and prints what comes
# until the server closes (plraw.py login) in the background: PL_LOGIN
# its pid, state in DIR ($T/l), output in DIR/out.
pl_login() {
	local d=${1:-$T/l}
	mkdir -p "$d"
	timeout 60 "$PYTHON" "$REPO/tests/plraw.py" login "$PL_P_IMAPS" \
		"$PL_USER2" "$PL_DIR/pass2" "$DD_CA" "$d" >"$d/out" 3>&- &
	PL_LOGIN=$!
}

# pl_wait_long CMD...: imx_wait_for, three times as long (imap's
# post-login timeout of 3 s comes first).
pl_wait_long() {
	imx_wait_for "$@" || imx_wait_for "$@" || imx_wait_for "$@"
}

# pl_in_chain: the chain of user 2 has started.
pl_in_chain() {
	test -e "$PL_DIR/spool/chain.$PL_USER2"
}

# pl_bye_end: the client got imapexec's BYE and then the end.
pl_bye_end() {
	wait "$PL_LOGIN"
	cat "$T/l/out"
	test -e "$T/l/eof"
	grep -a -q '^\* BYE \[UNAVAILABLE\] ' "$T/l/out"
	! grep -a -q '^a OK' "$T/l/out"
}

@test "post-login hand-off: the chain hangs past imap's timeout: the client gets a BYE, nothing is left" {
	pl_skip
	pl_fresh
	: >"$PL_DIR/post/dovecot.log"
	echo hang >"$PL_DIR/chain.mode"
	pl_login
	pl_wait_long test -e "$T/l/eof"
	pl_bye_end
	imx_wait_for pl_gone
	# the one expected error: imap's own
	cat "$PL_DIR/post/dovecot.log"
	grep -a -q 'Timeout waiting for post-login script' "$PL_DIR/post/dovecot.log"
	[ "$(grep -a -c -E 'Error|Fatal|Panic' "$PL_DIR/post/dovecot.log")" -eq 1 ]
}

@test "post-login hand-off: the chain fails: the client gets a BYE, nothing is left" {
	pl_skip
	pl_fresh
	: >"$PL_DIR/post/dovecot.log"
	echo die >"$PL_DIR/chain.mode"
	pl_login
	pl_wait_long test -e "$T/l/eof"
	pl_bye_end
	imx_wait_for pl_gone
	grep -a -q 'Post-login script denied access' "$PL_DIR/post/dovecot.log"
}

@test "post-login hand-off: a slow chain within imap's timeout: the login completes, EXECUTE runs" {
	pl_skip
	pl_fresh
	echo wait >"$PL_DIR/chain.mode"
	pl_client post ssl 2 --execute whoami &
	c=$!
	imx_wait_for pl_in_chain
	touch "$PL_DIR/spool/go"
	wait "$c" || { cat "$T/post.err"; false; }
	grep -a -F "OUT \"uid=$(id -u "$PL_USER2") " "$T/post.out"
	imx_wait_for pl_gone
}

@test "post-login hand-off: the client hangs up while the chain runs: nothing is left" {
	pl_skip
	pl_fresh
	: >"$PL_DIR/post/dovecot.log"
	echo wait >"$PL_DIR/chain.mode"
	pl_login
	imx_wait_for pl_in_chain
	touch "$T/l/close"
	wait "$PL_LOGIN"
	touch "$PL_DIR/spool/go"
	pl_wait_long pl_gone
	pl_log_clean
}

@test "post-login hand-off: the client hangs up while the chain hangs: nothing is left" {
	pl_skip
	pl_fresh
	: >"$PL_DIR/post/dovecot.log"
	echo hang >"$PL_DIR/chain.mode"
	pl_login
	imx_wait_for pl_in_chain
	touch "$T/l/close"
	wait "$PL_LOGIN"
	pl_wait_long pl_gone
}

@test "post-login hand-off: imap dies while the chain runs: the client sees the end, nothing is left" {
	pl_skip
	pl_fresh
	echo wait >"$PL_DIR/chain.mode"
	pl_login
	imx_wait_for pl_in_chain
	# during the hand-off imap still runs as root: the post daemon's
	# only imap
	pkill -KILL -P "$PL_P_PID" -x imap
	touch "$PL_DIR/spool/go"
	# imap-login, waiting for imap's answer to the login, closes the
	# TLS connection itself: the client sees the end (without imapexec's
	# BYE, which comes too late).
	pl_wait_long test -e "$T/l/eof"
	wait "$PL_LOGIN"
	cat "$T/l/out"
	! grep -a -q '^a OK' "$T/l/out"
	imx_wait_for pl_gone
	cat "$PL_DIR/post/dovecot.log"
	grep -a -q 'fd_send() failed' "$PL_DIR/post/dovecot.log"
}

@test "post-login hand-off: imapexec gets SIGTERM while the chain hangs: the client gets a BYE, nothing is left" {
	pl_skip
	pl_fresh
	echo hang >"$PL_DIR/chain.mode"
	pl_login
	imx_wait_for pl_in_chain
	pl_pkill TERM imapexec
	imx_wait_for test -e "$T/l/eof"
	pl_bye_end
	imx_wait_for pl_gone
}

# pl_sessions_of N: N imapexec sessions run.
pl_sessions_of() {
	[ "$(pl_pgrep -c imapexec)" -eq "$1" ]
}

@test "post-login hand-off: the service's process_limit reached: the next login ends, none is left, then logins work again" {
	pl_skip
	pl_fresh
	# two sessions fill process_limit = 2
	pl_hold
	h1=$PL_HOLD
	mv "$T/h" "$T/h1"
	pl_hold
	h2=$PL_HOLD
	pl_sessions_of 2
	: >"$PL_DIR/post/dovecot.log"
	pl_login
	pl_wait_long test -e "$T/l/eof"
	wait "$PL_LOGIN"
	cat "$T/l/out"
	! grep -a -q '^a OK' "$T/l/out"
	grep -a -q 'process_limit (2) reached' "$PL_DIR/post/dovecot.log"
	pl_sessions_of 2
	touch "$T/h1/close" "$T/h/close"
	wait "$h1"
	wait "$h2"
	imx_wait_for pl_gone
	# and the service takes logins again
	pl_client post ssl 2 --execute whoami || { cat "$T/post.err"; false; }
	grep -a -F "OUT \"uid=$(id -u "$PL_USER2") " "$T/post.out"
	imx_wait_for pl_gone
}
