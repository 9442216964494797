#!/usr/bin/env bats
# Failing closed (issue 11): an own command acts only with proof that the
# backend stands at a command boundary (the probe, README "Security").
# Hidden commands that Dovecot runs while the scanner took them for data,
# against the real Dovecot imap with the marker service: nothing runs, and
# from then on the relay is blind (issue 21): every byte the client sent
# reaches the backend unchanged (the appended message is FETCHed back),
# every answer is the backend's (an EXECUTE is an unknown command to it),
# one warning is logged, and the session goes on.  A fake "* OK" greeting
# backend never gets an EXECUTE to run.

load helper
load execute
# hooks of the libraries loaded above: setup_file: execute.bash's;
# teardown_file: helper.bash's

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

# hidden CMD HTAG HIDDEN: the issue's reproduction: "z CMD {n+}" carries
# the line HIDDEN (tag HTAG), which Dovecot runs; then "a APPEND INBOX",
# whose data starts with an EXECUTE line: data to Dovecot, so nobody may
# answer it (imapexec used to, issue 21).  A later EXECUTE goes to
# Dovecot, which does not know it.
hidden() {
	local cmd=$1 htag=$2 line=$3
	cat >"$T/s.txt" <<-EOF2
		data msg
		x EXECUTE mark hello
		Subject: hidden

		body line
		.end
		>> z $cmd {$((${#line} + 2))+}\\r\\n$line\\r\\n\\r\\na APPEND INBOX {#msg}\\r\\n
		wait +
		>> @{msg}
		>
		wait z
		wait $htag
		wait a
		> y EXECUTE mark later
		wait y BAD
		> e SELECT INBOX
		wait e OK
		> f FETCH * BODY[]
		wait f OK
		> g NOOP
		wait g OK
	EOF2
	ex_run "$T/s.txt"
	ex_no_marker
	! ex_has '^x '
	ex_has '^y BAD Error in IMAP command EXECUTE: Unknown command'
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
	hidden NOOP q 'q NOOP'
}

@test "hidden command: answered NO, then the '+' nobody awaits" {
	hidden NOOP a 'a SELECT nosuch'
}

@test "hidden APPEND {n+}: the probe goes unanswered, the EXECUTE line goes on as data, no byte lost" {
	# Nothing inconsistent is seen before the EXECUTE: the scanner takes
	# "q APPEND INBOX {69+}" for NOOP's literal data, Dovecot for a
	# command whose 69 octets are "\r\n", then the probe line (39
	# octets), then the EXECUTE line (22) and "tail\r\n" (6).
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {22+}\r\nq APPEND INBOX {69+}\r\n\r\n
		wait z OK
		> x EXECUTE mark hello
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
	! ex_has '^x '
	fetched_body >"$T/body"
	grep -a -q -E '^[0-9a-f]{32} NOOP'$'\r''$' "$T/body"
	[ "$(tail -c 28 "$T/body" | od -c)" = "$(printf 'x EXECUTE mark hello\r\ntail\r\n' | od -c)" ]
	[ "$(wc -c <"$T/body")" -eq 69 ]
	grep -q 'failing closed: no answer to the probe' "$T/filtered.log"
	assert_failed_closed_once
	imx_assert_no_leftovers
}

@test "failed closed: a blind relay: EXECUTE and COMPRESS are the backend's, capabilities its own, the session goes on" {
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {8+}\r\na NOOP\r\n\r\n
		wait a OK
		wait z OK
		> b EXECUTE mark one
		wait b BAD
		> c EXECUTE
		wait c BAD
		> d COMPRESS DEFLATE
		wait d BAD
		> e NOOP
		wait e OK
		> f CAPABILITY
		wait f OK
	EOF2
	ex_run "$T/s.txt"
	ex_no_marker
	ex_has '^b BAD Error in IMAP command EXECUTE: Unknown command'
	ex_has '^c BAD Error in IMAP command EXECUTE: Unknown command'
	ex_has '^d BAD Error in IMAP command COMPRESS: Unknown command'
	# one answer each, Dovecot's; nothing of imapexec's
	[ "$(grep -a -c -E '^[bcd] ' "$T/filtered.out")" -eq 3 ]
	# the greeting's list was edited, the one after failing is Dovecot's
	ex_has '^\* PREAUTH \[CAPABILITY .* EXECUTE COMPRESS=DEFLATE\]'
	grep -a '^\* CAPABILITY ' "$T/filtered.out" | tail -n 1 >"$T/caps"
	! grep -a -q EXECUTE "$T/caps"
	grep -a -q ' IDLE ' "$T/caps"
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
		wait b BAD
	EOF2
	ex_run "$T/s.txt"
	ex_no_marker
	ex_has '^b BAD Error in IMAP command EXECUTE: Unknown command'
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
	# failed closed: the line is the backend's (this fake answers OK)
	grep -a -q -E '^c OK EXECUTE completed' "$T/filtered.out"
}

# notpreauth MODE: the fake backend greets as MODE says, with no PREAUTH
# on its first line (issue 26: Courier's "* OK [ALERT]" then "* PREAUTH"):
# not authenticated, EXECUTE neither advertised nor run, the log says why.
notpreauth() {
	cat >"$T/s.txt" <<-'EOF2'
		> a CAPABILITY
		wait a OK
		> b EXECUTE mark one
		wait b BAD
		> c NOOP
		wait c OK
	EOF2
	okgreet "$1" "$T/s.txt"
	ex_no_marker
	ex_has '^b BAD EXECUTE is only valid in authenticated state'
	! grep -a -q EXECUTE <(grep -a -v '^b ' "$T/filtered.out")
	grep -q 'the backend did not greet with PREAUTH on its first line' "$T/filtered.log"
}

@test "greeting '* OK' then '* PREAUTH': not authenticated, no EXECUTE" { notpreauth okpreauth; }
@test "greeting '* BYE' (the backend goes on): not authenticated, no EXECUTE" { notpreauth byegreet; }
@test "greeting '* CAPABILITY' then '* PREAUTH': not authenticated, no EXECUTE" { notpreauth capgreet; }
@test "greeting 'a PREAUTH' (tagged): not authenticated, no EXECUTE" { notpreauth taggreet; }
@test "greeting '*  PREAUTH' (two spaces): not authenticated, no EXECUTE" { notpreauth spacegreet; }

@test "greeting '* preauth' (keywords are case-insensitive): authenticated, EXECUTE runs" {
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE mark one
		wait a OK
	EOF2
	okgreet lowergreet "$T/s.txt"
	ex_has '^a OK mark completed'
	[ -e "$T/marker" ]
	! grep -q 'did not greet with PREAUTH' "$T/filtered.log"
}

# With Dovecot's imap_zlib plugin the backend knows COMPRESS itself.
# Failed closed, a COMPRESS goes to it unchanged: Dovecot answers OK and
# compresses, the client does too, and the blind relay carries the
# DEFLATE streams both ways: the session works compressed end to end.
# shellcheck disable=SC2016 # $mail_plugins is for Dovecot
@test "failed closed: COMPRESS goes to an imap_zlib backend, which compresses end to end" {
	imx_require_binary
	local home=$T/home.filtered
	cp -a "$IMX_RUN/template" "$home"
	imx_write_dovecot_conf "$T/dovecot.conf" "$home/Maildir" \
		'mail_plugins = $mail_plugins zlib' 'protocol imap {' \
		'  mail_plugins = $mail_plugins imap_zlib' '}'
	: >"$T/filtered.log"
	imx_own "$T/filtered.log"
	imx_command filtered "$home" "$T/dovecot.conf"
	run timeout 60 "$PYTHON" - "${IMX_CMD[@]}" <<-'PY'
		import subprocess, sys, zlib
		p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE,
		                     stdout=subprocess.PIPE)
		def until(marker, inf=None):
		    got = b""
		    while marker not in got:
		        d = p.stdout.read1(65536)
		        if not d:
		            sys.exit("closed: %r" % got)
		        got += inf.decompress(d) if inf else d
		    return got
		out = until(b"\r\n")
		assert b"COMPRESS=DEFLATE" in out, out
		p.stdin.write(b"z NOOP {8+}\r\na NOOP\r\n\r\n"); p.stdin.flush()
		out += until(b"z OK")
		p.stdin.write(b"d COMPRESS DEFLATE\r\n"); p.stdin.flush()
		got = until(b"d OK")
		out += got
		assert got.endswith(b"\r\n"), got
		z, inf = zlib.compressobj(wbits=-15), zlib.decompressobj(wbits=-15)
		p.stdin.write(z.compress(b"e EXECUTE mark x\r\nf LIST \"\" *\r\n"
		                         b"g LOGOUT\r\n") + z.flush(zlib.Z_SYNC_FLUSH))
		p.stdin.flush()
		out += until(b"g OK", inf)
		sys.stdout.buffer.write(out)
		p.stdin.close()
		sys.exit(p.wait())
	PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"d OK"* ]]
	[[ "$output" == *"e BAD Error in IMAP command EXECUTE: Unknown command"* ]]
	[[ "$output" == *'* LIST ('*'INBOX'* ]]
	ex_no_marker
	[[ "$output" == *"failing closed: a tagged response came for a tag not outstanding"* ]]
}

@test "failed closed: a COMPRESS the backend takes for data is passed on unchanged" {
	# Failed closed first; then a hidden APPEND {28+} swallows CRLF (2
	# octets), the COMPRESS line (20) and "tail" (6): blind, imapexec
	# neither probes nor answers nor changes a byte.
	cat >"$T/s.txt" <<-'EOF2'
		>> z NOOP {8+}\r\na NOOP\r\n\r\n
		wait a OK
		wait z OK
		>> y NOOP {22+}\r\nq APPEND INBOX {28+}\r\n\r\n
		wait y OK
		> d COMPRESS DEFLATE
		> tail
		>
		wait q OK
		> e SELECT INBOX
		wait e OK
		> f FETCH * BODY[]
		wait f OK
	EOF2
	ex_run "$T/s.txt"
	! ex_has '^d '
	fetched_body >"$T/body"
	[ "$(od -c <"$T/body")" = "$(printf '\r\nd COMPRESS DEFLATE\r\ntail\r\n' | od -c)" ]
	assert_failed_closed_once
	imx_assert_no_leftovers
}
