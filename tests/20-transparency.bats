#!/usr/bin/env bats
# Transparency: a session through imapexec must produce exactly the bytes
# Dovecot produces directly, except that every capability list gains
# EXECUTE (and imapexec's COMPRESS=DEFLATE) and loses the backend's
# COMPRESS=/STARTTLS.  Each session script in
# tests/sessions/ runs in every chunk mode and with both fd layouts.

load helper
# hooks of the libraries loaded above: setup_file, teardown_file and setup:
# helper.bash's

# compare SCRIPT [driver opts]: run SCRIPT direct and filtered with the
# same driver options and compare the normalised outputs; check the log
# and that no process is left behind.
compare() {
	run_direct "$@"
	run_filtered "$@"
	imx_normalize "$T/direct.out" >"$T/direct.norm"
	imx_normalize_filtered "$T/filtered.out" >"$T/filtered.norm"
	imx_compare_norm
}

# compare_all SCRIPT [--socket]: compare in every chunk mode.
compare_all() { imx_each_chunk compare "$@"; }

# One test per session script and fd layout (bats 1.8 cannot generate
# tests in a loop); each runs the four chunk modes.
@test "transparency: append, pipes, chunks whole/byte/random x2" { compare_all append.txt; }
@test "transparency: append, socket, chunks whole/byte/random x2" { compare_all append.txt --socket; }
@test "transparency: basic, pipes, chunks whole/byte/random x2" { compare_all basic.txt; }
@test "transparency: basic, socket, chunks whole/byte/random x2" { compare_all basic.txt --socket; }
@test "transparency: bodylines, pipes, chunks whole/byte/random x2" { compare_all bodylines.txt; }
@test "transparency: bodylines, socket, chunks whole/byte/random x2" { compare_all bodylines.txt --socket; }
@test "transparency: idle, pipes, chunks whole/byte/random x2" { compare_all idle.txt; }
@test "transparency: idle, socket, chunks whole/byte/random x2" { compare_all idle.txt --socket; }
@test "transparency: multiappend, pipes, chunks whole/byte/random x2" { compare_all multiappend.txt; }
@test "transparency: multiappend, socket, chunks whole/byte/random x2" { compare_all multiappend.txt --socket; }
@test "transparency: pipeline, pipes, chunks whole/byte/random x2" { SORTED=1 compare_all pipeline.txt; }
@test "transparency: pipeline, socket, chunks whole/byte/random x2" { SORTED=1 compare_all pipeline.txt --socket; }
@test "transparency: rejected, pipes, chunks whole/byte/random x2" { compare_all rejected.txt; }
@test "transparency: rejected, socket, chunks whole/byte/random x2" { compare_all rejected.txt --socket; }

@test "the template mailbox was built as intended" {
	# guards against a session comparing two empty mailboxes
	grep -a -q '^t11 OK' "$IMX_RUN/template.out"
	run_direct basic.txt
	grep -a -q '^\* 5 EXISTS' "$T/direct.out"
	grep -a -q 'a4 OK' "$T/direct.out"
	grep -a -q 'MESSAGES 1' "$T/direct.out"
}

@test "Dovecot advertises BINARY, LITERAL+, MULTIAPPEND, CATENATE; no COMPRESS" {
	run_direct basic.txt
	grep -a -q -E '^\* CAPABILITY .*\bBINARY\b.*\bLITERAL\+' "$T/direct.out"
	grep -a -q -E '^\* CAPABILITY .*\bMULTIAPPEND\b.*\bCATENATE\b' "$T/direct.out"
	grep -a -E '^\* (CAPABILITY|PREAUTH)' "$T/direct.out" >"$T/caps"
	imx_refute_grep 'COMPRESS=|STARTTLS' "$T/caps"
}

@test "the greeting and every capability list through imapexec carry EXECUTE" {
	run_filtered basic.txt
	head -n 1 "$T/filtered.out" | grep -a -q -E '^\* PREAUTH \[CAPABILITY [^]]* EXECUTE( |\])'
	grep -a -q -E '^\* CAPABILITY( [^ ]+)* EXECUTE( |.$)' "$T/filtered.out"
	imx_normalize_filtered "$T/filtered.out" >/dev/null
}

# With Dovecot's imap_zlib plugin, COMPRESS=DEFLATE is advertised directly;
# with compress = false imapexec must hide it and refuse the command itself
# (with compression on, see 22-compress.bats).
# shellcheck disable=SC2016 # $mail_plugins is for Dovecot
@test "compress = false: COMPRESS=DEFLATE is hidden and COMPRESS is refused with NO [CANNOT]" {
	echo 'compress = false;' >>"$T/imapexec.conf"
	# shellcheck disable=SC2034 # used by imx_session in helper.bash
	IMX_DOVECOT_EXTRA=('mail_plugins = $mail_plugins zlib'
		'protocol imap {' '  mail_plugins = $mail_plugins imap_zlib' '}')
	cat >"$T/compress.txt" <<-'EOF'
		> a CAPABILITY
		wait a OK
		> b COMPRESS DEFLATE
		wait b
		> c NOOP
		wait c OK
		> d LOGOUT
		wait d OK
	EOF
	# direct: advertised, and accepted (so the rest of the session is
	# compressed and never answered in clear: only check the reply)
	sed -i '/^> c/,$d' "$T/compress.txt"
	run_direct "$T/compress.txt"
	grep -a -q -E '^\* PREAUTH \[CAPABILITY .*COMPRESS=DEFLATE' "$T/direct.out"
	grep -a -q -E '^\* CAPABILITY .*COMPRESS=DEFLATE' "$T/direct.out"
	grep -a -q -E '^b OK' "$T/direct.out"
	# filtered: hidden, refused, and the session goes on in clear
	printf '%s\n' '> c NOOP' 'wait c OK' '> d LOGOUT' 'wait d OK' >>"$T/compress.txt"
	run_filtered "$T/compress.txt"
	imx_refute_grep 'COMPRESS=' "$T/filtered.out"
	grep -a -q -E '^b NO \[CANNOT\]' "$T/filtered.out"
	grep -a -q -E '^c OK' "$T/filtered.out"
	grep -a -q -E '^d OK' "$T/filtered.out"
	imx_normalize_filtered "$T/filtered.out" >/dev/null
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "STARTTLS is refused with NO [CANNOT], also after a rejected literal" {
	cat >"$T/starttls.txt" <<-'EOF'
		> a STARTTLS
		wait a NO
		> b APPEND nosuchbox {11}
		wait b NO
		# the literal was refused: this line is a command, not literal data
		> c STARTTLS
		wait c NO
		> d compress deflate64
		wait d BAD
		> e LOGOUT
		wait e OK
	EOF
	run_filtered "$T/starttls.txt"
	grep -a -q -E '^a NO \[CANNOT\]' "$T/filtered.out"
	grep -a -q -E '^c NO \[CANNOT\]' "$T/filtered.out"
	grep -a -q -E '^d BAD COMPRESS takes one argument: DEFLATE' "$T/filtered.out"
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

# Message text that looks like protocol must pass untouched both ways.
@test "an APPENDed message with 'x EXECUTE mark' lines comes back byte-identical" {
	for chunk in whole byte; do
		run_filtered bodylines.txt --chunk "$chunk"
		# literals 1 and 3 are BODY[] of messages 6 and 7 (sync / LITERAL+
		# APPEND), literal 5 is BODY[] of the template's copy
		for n in 1 3 5; do
			imx_literal "$T/filtered.out" "$n" >"$T/lit$n"
			cmp "$T/lit$n" "$REPO/tests/data/trap.eml"
		done
		grep -a -c '^x EXECUTE mark' "$T/lit1" | grep -q '^2$'
	done
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "half-close: imapexec ends the session when the client closes" {
	printf '%s\n' '> a SELECT INBOX' 'wait a OK' 'shutdown' 'eof' >"$T/halfclose.txt"
	run_direct "$T/halfclose.txt" --socket
	run_filtered "$T/halfclose.txt" --socket
	diff <(imx_normalize "$T/direct.out") <(imx_normalize_filtered "$T/filtered.out")
	run_filtered "$T/halfclose.txt"
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}
