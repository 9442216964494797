#!/usr/bin/env bats
# Failing closed (issue 11): an own command acts only with proof that the
# backend stands at a command boundary (the probe, README "Security").
# Hidden commands that Dovecot runs while the scanner took them for data,
# against the real Dovecot imap with the marker service: nothing runs, the
# EXECUTE gets NO [UNAVAILABLE], every byte the client sent reaches the
# backend (the appended message is FETCHed back), one warning is logged,
# and the session goes on.  A fake "* OK" greeting backend never gets an
# EXECUTE to run.

load helper
load execute

setup_file() { ex_setup_file; }
teardown_file() { imx_teardown_file; }
setup() {
	imx_setup
	ex_setup
	# a timed-out probe ends the test sooner; no test depends on it
	echo 'probe_timeout = 1;' >>"$T/imapexec.conf"
}

# fetched_body: the octets of the last "BODY[] {n}" literal the client
# received, on stdout.
fetched_body() {
	"$PYTHON" - "$T/filtered.out" <<-'PY'
		import re, sys
		d = open(sys.argv[1], "rb").read()
		m = list(re.finditer(rb"BODY\[\] \{(\d+)\}\r\n", d))[-1]
		sys.stdout.buffer.write(d[m.end():m.end() + int(m.group(1))])
	PY
}

# assert_failed_closed_once: the log says so, once.
assert_failed_closed_once() {
	local n
	n=$(grep -c 'failing closed' "$T/filtered.log" || true)
	if [ "$n" -ne 1 ]; then
		echo "# 'failing closed' logged $n times:" >&2
		grep 'failing closed' "$T/filtered.log" | sed 's/^/#   /' >&2
		return 1
	fi
}

# hidden CMD HTAG HIDDEN [data]: the issue's reproduction: "z CMD {n+}"
# carries the line HIDDEN (tag HTAG), which Dovecot runs; then "a APPEND
# INBOX", whose data starts with an EXECUTE line.  With "data", the scanner
# too takes that line for data (no answer to x); a later EXECUTE is
# refused all the same.
hidden() {
	local cmd=$1 htag=$2 line=$3 xwait='wait x NO'
	[ "${4:-}" != data ] || xwait='# x is data'
	cat >"$T/s.txt" <<-EOF2
		data msg
		x EXECUTE mark hello
		Subject: hidden

		body line
		.end
		>> z $cmd {$((${#line} + 2))+}\\r\\n$line\\r\\n\\r\\na APPEND INBOX {#msg}\\r\\n
		wait +
		>> @{msg}
		$xwait
		>
		wait z
		wait $htag
		wait a
		> y EXECUTE mark later
		wait y NO
		> e SELECT INBOX
		wait e OK
		> f FETCH * BODY[]
		wait f OK
		> g NOOP
		wait g OK
	EOF2
	ex_run "$T/s.txt"
	ex_no_marker
	if [ "${4:-}" = data ]; then
		! ex_has '^x '
	else
		ex_has '^x NO \[UNAVAILABLE\]'
	fi
	ex_has '^y NO \[UNAVAILABLE\]'
	[ "$(fetched_body | od -c)" = "$(printf 'x EXECUTE mark hello\r\nSubject: hidden\r\n\r\nbody line\r\n' | od -c)" ]
	assert_failed_closed_once
	imx_assert_no_leftovers
}

@test "hidden command: NOOP {n+} carrying a NOOP with the APPEND's tag (the issue's reproduction)" {
	hidden NOOP a 'a NOOP'
}

@test "hidden command: CHECK carrying a NOOP" {
	hidden CHECK a 'a NOOP'
}

@test "hidden command: CAPABILITY carrying a CAPABILITY" {
	hidden CAPABILITY a 'a CAPABILITY'
}

@test "hidden command: another tag (a tagged answer nobody sent)" {
	hidden NOOP q 'q NOOP' data
}

@test "hidden command: answered NO, then the '+' nobody awaits" {
	hidden NOOP a 'a SELECT nosuch'
}

@test "hidden APPEND {n+}: the probe goes unanswered, EXECUTE refused, no byte lost" {
	# Nothing inconsistent is seen before the EXECUTE: the scanner takes
	# "q APPEND INBOX {69+}" for NOOP's literal data, Dovecot for a
	# command whose 69 octets are "\r\n", then the probe line (39
	# octets), then the EXECUTE line (22) and "tail\r\n" (6).
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {22+}\r\nq APPEND INBOX {69+}\r\n\r\n
		wait z OK
		> x EXECUTE mark hello
		wait x NO
		> tail
		>
		wait q OK
		> e SELECT INBOX
		wait e OK
		> f FETCH * BODY[]
		wait f OK
		> g NOOP
		wait g OK
	EOF2
	ex_run "$T/s.txt"
	ex_no_marker
	ex_has '^x NO \[UNAVAILABLE\]'
	fetched_body >"$T/body"
	grep -a -q -E '^[0-9a-f]{32} NOOP'$'\r''$' "$T/body"
	[ "$(tail -c 28 "$T/body" | od -c)" = "$(printf 'x EXECUTE mark hello\r\ntail\r\n' | od -c)" ]
	[ "$(wc -c <"$T/body")" -eq 69 ]
	grep -q 'failing closed: no answer to the probe' "$T/filtered.log"
	assert_failed_closed_once
	imx_assert_no_leftovers
}

@test "failed closed: every later EXECUTE is refused too, the session goes on" {
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {8+}\r\na NOOP\r\n\r\n
		wait a OK
		wait z OK
		> b EXECUTE mark one
		wait b NO
		> c EXECUTE
		wait c NO
		> d COMPRESS DEFLATE
		wait d NO
		> e NOOP
		wait e OK
	EOF2
	ex_run "$T/s.txt"
	ex_no_marker
	ex_has '^b NO \[UNAVAILABLE\]'
	ex_has '^c NO \[UNAVAILABLE\]'
	ex_has '^d NO \[CANNOT\]'
	# the backend's own answers to the lines passed on are dropped
	[ "$(grep -a -c -E '^[bcd] ' "$T/filtered.out")" -eq 3 ]
	assert_failed_closed_once
	imx_assert_no_leftovers
}

@test "a tag reused while outstanding fails closed" {
	cat >"$T/s.txt" <<-'EOF2'
		> a NOOP
		> a NOOP
		wait a OK
		wait a OK
		> b EXECUTE mark one
		wait b NO
	EOF2
	ex_run "$T/s.txt"
	ex_no_marker
	ex_has '^b NO \[UNAVAILABLE\]'
	grep -q 'failing closed: a tag was reused' "$T/filtered.log"
}

@test "an ordinary session keeps EXECUTE, and the probe's answer never reaches the client" {
	cat >"$T/s.txt" <<-'EOF2'
		> a SELECT INBOX
		> b EXECUTE mark one
		wait b OK
		> c APPEND INBOX {5}
		wait +
		> hello
		wait c OK
		> d EXECUTE mark two
		wait d OK
	EOF2
	ex_run "$T/s.txt"
	[ "$(cat "$T/marker")" = "$(printf 'one\ntwo')" ]
	! grep -a -q -E '^[0-9a-f]{32} ' "$T/filtered.out"
	! grep -q 'failing closed' "$T/filtered.log"
}

# okgreet MODE SCRIPT: run SCRIPT through imapexec in front of the fake
# backend tests/services/fakeimap.py MODE (greets "* OK").
okgreet() {
	local mode=$1 script=$2
	imx_require_binary
	imx_command filtered "$T/home.fake" /nonexistent
	local cmd=("${IMX_CMD[@]:0:${#IMX_CMD[@]}-3}" "$EX_SERVICES/fakeimap.py" "$mode")
	: >"$T/filtered.log"
	imx_own "$T/filtered.log"
	"$PYTHON" "$DRIVER" --out "$T/filtered.out" --log "$T/filtered.log" \
		"$script" -- "${cmd[@]}" 2>"$T/filtered.err" || {
		cat "$T/filtered.err" >&2
		return 1
	}
}

@test "'* OK' greeting backend: a LOGIN's OK does not authenticate; no EXECUTE runs" {
	cat >"$T/s.txt" <<-'EOF2'
		> a LOGIN u p
		wait a OK
		> b CAPABILITY
		wait b OK
		> c EXECUTE mark one
		wait c BAD
	EOF2
	okgreet okgreet-in "$T/s.txt"
	ex_no_marker
	! grep -a -q EXECUTE <(grep -a -v '^c ' "$T/filtered.out")
}

@test "'* OK' greeting backend: a hidden command's OK matched to a failed LOGIN grants nothing" {
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {8+}\r\na NOOP\r\n\r\na LOGIN u p\r\n
		wait z OK
		wait a OK
		wait a NO
		> c EXECUTE mark one
		wait c
		> d NOOP
		wait d OK
	EOF2
	okgreet okgreet "$T/s.txt"
	ex_no_marker
	grep -a -q -E '^c (BAD|NO) ' "$T/filtered.out"
}

# With Dovecot's imap_zlib plugin the backend knows COMPRESS itself.  A
# COMPRESS refused after failing closed must not be passed on to it: the
# backend would answer OK (dropped) and compress, while the client, told
# NO, goes on in plain text: the session would end.
# shellcheck disable=SC2016 # $mail_plugins is for Dovecot
@test "failed closed: COMPRESS refused is not turned on in an imap_zlib backend" {
	# shellcheck disable=SC2034 # used by imx_session in helper.bash
	IMX_DOVECOT_EXTRA=('mail_plugins = $mail_plugins zlib'
		'protocol imap {' '  mail_plugins = $mail_plugins imap_zlib' '}')
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {8+}\r\na NOOP\r\n\r\n
		wait a OK
		wait z OK
		> d COMPRESS DEFLATE
		wait d NO
		> e NOOP
		wait e OK
		> f LOGOUT
		wait f OK
	EOF2
	ex_run "$T/s.txt"
	ex_has '^d NO \[CANNOT\]'
	ex_has '^e OK'
	# one answer to d (the backend's own is dropped), and Dovecot never
	# saw a broken zlib stream
	[ "$(grep -a -c -E '^d ' "$T/filtered.out")" -eq 1 ]
	imx_refute_grep 'zlib' "$T/filtered.log"
	assert_failed_closed_once
	imx_assert_no_leftovers
}

@test "failed closed: a COMPRESS the backend takes for data is still passed on, as XOMPRESS" {
	# Failed closed first; then a hidden APPEND {67+} swallows CRLF (2
	# octets), the probe for COMPRESS (39), which goes unanswered, the
	# COMPRESS line (20) and "tail" (6): without proof the line is data,
	# relayed with its name's first letter made an X (the same length).
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {8+}\r\na NOOP\r\n\r\n
		wait a OK
		wait z OK
		>> y NOOP {22+}\r\nq APPEND INBOX {67+}\r\n\r\n
		wait y OK
		> d COMPRESS DEFLATE
		wait d NO
		> tail
		>
		wait q OK
		> e SELECT INBOX
		wait e OK
		> f FETCH * BODY[]
		wait f OK
	EOF2
	ex_run "$T/s.txt"
	ex_has '^d NO \[CANNOT\]'
	fetched_body >"$T/body"
	grep -a -q -E '^[0-9a-f]{32} NOOP'$'\r''$' "$T/body"
	[ "$(tail -c 26 "$T/body" | od -c)" = "$(printf 'd XOMPRESS DEFLATE\r\ntail\r\n' | od -c)" ]
	[ "$(wc -c <"$T/body")" -eq 67 ]
	assert_failed_closed_once
	imx_assert_no_leftovers
}
