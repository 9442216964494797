#!/usr/bin/env bats
# COMPRESS=DEFLATE (RFC 4978): imapexec advertises it, answers COMPRESS
# itself once the probe proves a command boundary, and from the byte after
# its OK inflates the client's stream before the scanner and deflates
# everything for the client after it.  The backend's own COMPRESS stays
# hidden and unused.  The driver (imapdrive.py --compress TAG) negotiates
# with zlib.compressobj(wbits=-15) and records the inflated transcript,
# which must equal the same session without COMPRESS but for the COMPRESS
# exchange.

load helper
load execute
# hooks of the libraries loaded above: setup_file and setup: execute.bash's;
# teardown_file: helper.bash's

HOSTILE=$REPO/tests/compress_hostile.py

# strip_zc FILE: FILE without the line of the COMPRESS exchange.
strip_zc() {
	grep -a -v -E '^zc (OK|NO|BAD) ' "$1" || true
}

# zcompare SCRIPT [driver opts]: SCRIPT direct without COMPRESS and
# through imapexec with it; the normalised transcripts must be equal.
zcompare() {
	run_direct "$@"
	run_filtered "$@" --compress zc
	grep -a -q -E '^zc OK DEFLATE active'$'\r''$' "$T/filtered.out"
	# (a backend with imap_zlib offers COMPRESS=DEFLATE itself: imapexec
	# drops that offer, so it is no part of the comparison)
	imx_normalize "$T/direct.out" |
		sed -E '/^\* (PREAUTH \[)?CAPABILITY / s/ COMPRESS=DEFLATE//' >"$T/direct.norm"
	imx_normalize_filtered "$T/filtered.out" >"$T/filtered.all"
	strip_zc "$T/filtered.all" >"$T/filtered.norm"
	imx_compare_norm
}

# zcompare_all SCRIPT [--socket]: zcompare with the compressed client
# bytes written whole, one byte a write, and in random splits (two seeds).
zcompare_all() { imx_each_chunk zcompare "$@"; }

@test "compress: capability lists offer COMPRESS=DEFLATE once, right after EXECUTE" {
	run_filtered basic.txt
	head -n 1 "$T/filtered.out" |
		grep -a -q -E '^\* PREAUTH \[CAPABILITY [^]]* EXECUTE COMPRESS=DEFLATE\]'
	grep -a -q -E '^\* CAPABILITY( [^ ]+)* EXECUTE COMPRESS=DEFLATE'$'\r''$' \
		"$T/filtered.out"
	[ "$(grep -a -E '^\* (PREAUTH \[)?CAPABILITY ' "$T/filtered.out" |
		grep -o -i 'COMPRESS=[^] ]*' | wc -l)" -eq 2 ]
}

@test "compress: large FETCH literals (basic), pipes, whole/byte/random x2" { zcompare_all basic.txt; }
@test "compress: large FETCH literals (basic), socket, whole/byte/random x2" { zcompare_all basic.txt --socket; }
@test "compress: APPEND with literals, pipes, whole/byte/random x2" { zcompare_all append.txt; }
@test "compress: APPEND with literals, socket, whole/byte/random x2" { zcompare_all append.txt --socket; }
@test "compress: MULTIAPPEND and bodylines, whole/byte/random x2" {
	zcompare_all multiappend.txt
	zcompare_all bodylines.txt --socket
}
@test "compress: IDLE, pipes and socket, whole/byte/random x2" {
	zcompare_all idle.txt
	zcompare_all idle.txt --socket
}
@test "compress: pipelined commands, whole/byte/random x2" { SORTED=1 zcompare_all pipeline.txt --socket; }

# zx_canon FILE: the normalised transcript FILE of basic-x.txt without the
# responses of x1, x2 and x3, then for each of them the octets of its
# output, its EXIT and its completion.
zx_canon() {
	local x
	"$PYTHON" "$EXR" --strip x1,x2,x3 "$1" | imx_normalize /dev/stdin
	for x in x1 x2 x3; do
		echo "== $x output:"
		"$PYTHON" "$EXR" --tag "$x" "$1" | od -An -c
		echo "== $x end:"
		"$PYTHON" "$EXR" --list --tag "$x" "$1" |
			grep -a -E "^(\* EXECUTE \(TAG \"$x\"\) (EXIT|SIGNAL) |$x )" || true
	done
}

@test "compress: EXECUTE one-shot and interactive in a compressed session" {
	ex_basic_x
	local chunk
	for chunk in whole byte "random --seed 3"; do
		# shellcheck disable=SC2086 # chunk holds an option and its value
		ex_run "$T/basic-x.txt" --chunk $chunk
		mv "$T/filtered.out" "$T/plain.out"
		# shellcheck disable=SC2086
		ex_run "$T/basic-x.txt" --compress zc --chunk $chunk
		grep -a -q '^x2 OK calendar completed' "$T/filtered.out"
		grep -a -q '^x3 OK binary completed' "$T/filtered.out"
		# where a service's output is cut into OUT responses is the
		# timing's (a prompt and the next line are one read or two):
		# the sessions apart from EXECUTE must be equal, and so must
		# each EXECUTE's octets, its EXIT and its completion
		zx_canon "$T/plain.out" >"$T/plain.norm"
		zx_canon "$T/filtered.out" | strip_zc /dev/stdin >"$T/z.norm"
		diff -a -u "$T/plain.norm" "$T/z.norm"
	done
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "compress: interactive EXECUTE conversation, compressed bytes one at a time" {
	cat >"$T/s.txt" <<-'EOF2'
		> 100 EXECUTE calendar
		wait +
		match \* EXECUTE \(TAG "100"\) OUT \{2\}\r\n> \r\n
		> list schedule today 8:00 10:00
		match \* EXECUTE \(TAG "100"\) OUT "9:00 read mail"
		match \* EXECUTE \(TAG "100"\) OUT \{2\}
		> quit
		match \* EXECUTE \(TAG "100"\) EXIT 0
		> DONE
		wait 100 OK
		> 101 EXECUTE cat
		wait +
		> line one
		match \* EXECUTE \(TAG "101"\) OUT "line one"
		> DONE
		wait 101 OK
		> 102 LOGOUT
		wait 102 OK
	EOF2
	ex_run "$T/s.txt" --compress zc --chunk byte
	ex_has '^100 OK calendar completed'
	ex_has '^101 OK cat completed'
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "compress: a second COMPRESS is NO [COMPRESSIONACTIVE]; bad arguments are BAD" {
	cat >"$T/s.txt" <<-'EOF2'
		> b1 COMPRESS
		wait b1 BAD
		> b2 COMPRESS GZIP
		wait b2 BAD
		> b3 COMPRESS DEFLATE DEFLATE
		wait b3 BAD
		> b4 COMPRESS {7}
		wait b4 BAD
		# the refused literal is no literal: this line is a command
		> b5 NOOP
		wait b5 OK
		compress zc
		> c1 compress deflate
		wait c1 NO
		> c2 NOOP
		wait c2 OK
		> c3 LOGOUT
		wait c3 OK
	EOF2
	run_filtered "$T/s.txt"
	grep -a -q -E '^b[1-4] BAD' "$T/filtered.out"
	[ "$(grep -a -c -E '^b[1-4] BAD' "$T/filtered.out")" -eq 4 ]
	grep -a -q -E '^c1 NO \[COMPRESSIONACTIVE\]' "$T/filtered.out"
	grep -a -q -E '^c3 OK' "$T/filtered.out"
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "compress = false: not offered, COMPRESS refused NO [CANNOT], session goes on" {
	echo 'compress = false;' >>"$T/imapexec.conf"
	cat >"$T/s.txt" <<-'EOF2'
		> a CAPABILITY
		wait a OK
		> b COMPRESS DEFLATE
		wait b NO
		> c NOOP
		wait c OK
	EOF2
	run_filtered "$T/s.txt"
	imx_refute_grep 'COMPRESS=' "$T/filtered.out"
	grep -a -q -E '^b NO \[CANNOT\]' "$T/filtered.out"
	grep -a -q -E '^c OK' "$T/filtered.out"
	imx_normalize_filtered "$T/filtered.out" >/dev/null
}

# With Dovecot's imap_zlib plugin the backend offers COMPRESS=DEFLATE too:
# its offer is dropped, ours stays, and the backend never compresses (a
# backend that did would hand the client doubly compressed bytes).
# shellcheck disable=SC2016 # $mail_plugins is for Dovecot
@test "compress: the backend's own COMPRESS (imap_zlib) stays hidden and unused" {
	# shellcheck disable=SC2034 # used by imx_session in helper.bash
	IMX_DOVECOT_EXTRA=('mail_plugins = $mail_plugins zlib'
		'protocol imap {' '  mail_plugins = $mail_plugins imap_zlib' '}')
	run_direct basic.txt
	grep -a -q -E '^\* CAPABILITY .*COMPRESS=DEFLATE' "$T/direct.out"
	zcompare basic.txt --chunk random --seed 4
	[ "$(grep -a -E '^\* (PREAUTH \[)?CAPABILITY ' "$T/filtered.out" |
		grep -o -i 'COMPRESS=[^] ]*' | wc -l)" -eq 2 ]
}

# A refused COMPRESS on a connection that has failed closed, with an
# imap_zlib backend: tests/74-failclosed.bats.

# hostile MODE: run compress_hostile.py MODE through imapexec on a fresh
# home; its "key value" report in $T/hostile.txt, the inflated server
# output in $T/hostile.out, its stderr and imapexec's in $T/filtered.log.
hostile() {
	local home=$T/home.filtered
	rm -rf "$home"
	cp -a "$IMX_RUN/template" "$home"
	imx_write_dovecot_conf "$T/dovecot.filtered.conf" "$home/Maildir"
	: >"$T/filtered.log"
	imx_own "$T/filtered.log"
	imx_command filtered "$home" "$T/dovecot.filtered.conf"
	(cd "$home/Maildir" && find . -type f -path '*/cur/*' -o -type f -path '*/new/*' | sort) >"$T/mail.before"
	"$PYTHON" "$HOSTILE" --out "$T/hostile.out" --timeout 600 "$1" -- \
		"${IMX_CMD[@]}" >"$T/hostile.txt" 2>"$T/filtered.log" || {
		cat "$T/hostile.txt" "$T/filtered.log" >&2
		return 1
	}
	(cd "$home/Maildir" && find . -type f -path '*/cur/*' -o -type f -path '*/new/*' | sort) >"$T/mail.after"
	cat "$T/hostile.txt" >&3
	# the backend was given its usual end: EOF on its input, exit 0
	grep -q '^exit 0$' "$T/hostile.txt"
	imx_refute_grep '^inflate_error' "$T/hostile.txt"
	# the mailbox is untouched
	cmp "$T/mail.before" "$T/mail.after"
}

# hostile_rss KIB: imapexec's own RSS stayed below KIB.
hostile_rss() {
	local rss
	rss=$(awk '$1 == "maxrss_kib" { print $2 }' "$T/hostile.txt")
	[ "$rss" -gt 0 ]
	[ "$rss" -lt "$1" ]
}

@test "compress: garbage after OK DEFLATE active gets * BYE and an orderly end" {
	hostile garbage
	grep -a -q '^n1 OK' "$T/hostile.out"
	grep -a -q '^\* BYE Compressed stream is corrupt' "$T/hostile.out"
	imx_refute_grep '^n2 ' "$T/hostile.out"
	grep -q 'Disconnected: corrupt compressed stream' "$T/filtered.log"
	hostile_rss 65536
	imx_assert_no_leftovers
}

@test "compress: compressed commands right behind COMPRESS, then EOF, are still answered" {
	hostile early
	grep -a -q '^e1 OK' "$T/hostile.out"
	grep -a -q '^e2 OK' "$T/hostile.out"
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "compress: a truncated stream ends the session cleanly" {
	hostile truncated
	grep -a -q '^n1 OK' "$T/hostile.out"
	imx_refute_grep 'BYE Compressed' "$T/hostile.out"
	hostile_rss 65536
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "compress: a stream inflating to 1 GiB waits on backpressure, memory bounded" {
	hostile bomb
	grep -a -q '^b1 NO' "$T/hostile.out"
	grep -a -q '^b2 OK' "$T/hostile.out"
	# a few MiB of compressed bytes made 1 GiB: imapexec never held it
	[ "$(awk '$1 == "sent" { print $2 }' "$T/hostile.txt")" -lt 8388608 ]
	hostile_rss 65536
	local tree
	tree=$(awk '$1 == "tree_maxrss_kib" { print $2 }' "$T/hostile.txt")
	[ "$tree" -lt 262144 ]
	imx_assert_no_leftovers
}
