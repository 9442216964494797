#!/usr/bin/env bats
# Post-login read-ahead (issue 21): imap-login may read part of what the
# client pipelined behind its login (the first KB or so) and hand it to
# imap directly, so imapexec -P sees the stream from a point inside a
# command line or a literal that a hostile email author wrote.  imapexec
# must then relay blindly (the client did not start with the
# EXECUTE-SYNC NOOP): nothing in a message runs, no byte is added or
# changed, and honest pipelining completes as without imapexec.  Driven
# by tests/plattack.py against the two daemons of tests/postlogin.bash.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin
# hooks of the libraries loaded above: teardown_file: postlogin.bash's;
# setup: helper.bash's

setup_file() {
	pl_setup_file
	# imapexec reads its config at each login: a probe that went into
	# data (the bug this file is about) fails closed in 2 s, not 10.
	[ -z "${PL_DIR:-}" ] || echo 'probe_timeout = 2;' >>"$PL_DIR/imapexec.conf"
}

PA=$BATS_TEST_DIRNAME/plattack.py

# pa_state: the post daemon's Maildir of user 1, as plattack.py state.
pa_state() {
	"$PYTHON" "$PA" state "$PL_DIR/post/home/$DD_USER/Maildir"
}

# pa_attack AUTH SIZE PAYLOAD TAIL: the honest client sends, in one write
# over imaps, its login (AUTH: login or plain, i.e. AUTHENTICATE PLAIN
# with SASL-IR), `s SELECT INBOX`, `b APPEND INBOX {SIZE+}` with the
# attacker's message (PAYLOAD on a line of its own near the end, the last
# 39 octets padding + CRLF + TAIL + CRLF), `c LIST "" *`, `d LOGOUT`.
# Were a 39-octet probe put into the literal, the literal would end 39
# octets early and TAIL run as a command.  Then: the client got Dovecot's
# own answers (APPENDUID for b, c and d OK, nothing tagged z, no BYE of
# imapexec's), the marker of the mark service is absent, and the mailboxes
# are as before but for the one message, stored as sent.
pa_attack() {
	local auth=$1 size=$2 payload=$3 tail=$4
	echo "# $auth $size '$payload' '$tail'" >&2
	pa_state >"$T/before"
	grep -qx Archive "$T/before"
	timeout 90 "$PYTHON" "$PA" attack "$PL_P_IMAPS" "$DD_USER" \
		"$PL_DIR/pass1" "$DD_CA" "$T/msg" --auth "$auth" \
		--size "$size" --payload "$payload" --tail "$tail" >"$T/out"
	grep -a -v '^\* [0-9]* FETCH\|^\* OK \[' "$T/out" | cut -c 1-200 >&2
	grep -a -q '^b OK \[APPENDUID [0-9]* [0-9]*\] Append completed' "$T/out"
	grep -a -q '^c OK List completed' "$T/out"
	grep -a -q '^d OK Logout completed' "$T/out"
	imx_refute_grep '^(z|b NO|b BAD)|CLIENTBUG|UNAVAILABLE' "$T/out"
	[ ! -e "$PL_DIR/spool/ran" ]
	"$PYTHON" "$PA" expect "$T/before" "$T/msg" >"$T/want"
	pa_state >"$T/after"
	diff -u "$T/want" "$T/after" >&2
	# The login reply offers the sync (or, when imapexec saw the
	# client's first line before imap's reply, is left as it is, the
	# relay being blind already): no other edit.
	grep -a '^a OK \[CAPABILITY ' "$T/out" >"$T/login"
	! sed 's/ EXECUTE EXECUTE-SYNC=[0-9a-f]\{32\}\]/]/' "$T/login" |
		grep -a -q 'EXECUTE'
}

# pa_matrix AUTH SIZE: pa_attack with every payload (an EXECUTE of a
# service that leaves a mark, a COMPRESS and a STARTTLS, each with the
# APPEND's tag) and every tail (a DELETE of an existing mailbox, a CREATE,
# a STORE of \Deleted on the selected INBOX).
pa_matrix() {
	local p t
	pl_skip
	pl_fresh
	for p in "b EXECUTE mark" "b COMPRESS DEFLATE" "b STARTTLS"; do
		for t in "z DELETE Archive" "z CREATE Pwned" \
		    'z STORE 1 +FLAGS (\Deleted)'; do
			pa_attack "$1" "$2" "$p" "$t"
		done
	done
}

@test "post-login attack: LOGIN + APPEND of a 1 KB message with command lines, one write: nothing runs, nothing added" {
	pa_matrix login 1024
}

@test "post-login attack: the same with AUTHENTICATE PLAIN (SASL-IR) and 1 KB" {
	pa_matrix plain 1024
}

@test "post-login attack: LOGIN and a 10 KB message" {
	pa_matrix login 10240
}

@test "post-login attack: AUTHENTICATE PLAIN and a 10 KB message" {
	pa_matrix plain 10240
}

@test "post-login attack: LOGIN and a 1 MB message" {
	pa_matrix login 1048576
}

@test "post-login attack: AUTHENTICATE PLAIN and a 1 MB message" {
	pa_matrix plain 1048576
}

# pa_pipeline WHAT: an honest pipeline in one write behind the login,
# whose line imap-login stops in the middle of: imapexec sees the rest of
# a line with no space for thousands of octets (no tag it could take), and
# must pass it on, not close the connection; the session equals the one
# without imapexec.
pa_pipeline() {
	local m
	pl_skip
	pl_fresh
	for m in direct post; do
		timeout 60 "$PYTHON" "$PA" pipeline "$(pl_port "$m" ssl)" \
			"$DD_USER" "$PL_DIR/pass1" "$DD_CA" "$1" >"$T/$m.out"
		cut -c 1-200 "$T/$m.out" >&2
		grep -a -q '^c OK' "$T/$m.out"
		grep -a -q '^d OK Logout completed' "$T/$m.out"
		imx_refute_grep 'CLIENTBUG|^\* BYE \[' "$T/$m.out"
		sed 's/ ([0-9. +]* secs)//; s/ EXECUTE EXECUTE-SYNC=[0-9a-f]*\]/]/; s/APPENDUID [0-9]*/APPENDUID V/; s/UIDVALIDITY [0-9]*/UIDVALIDITY V/' \
			"$T/$m.out" >"$T/$m.norm"
	done
	diff -u "$T/direct.norm" "$T/post.norm"
}

@test "post-login attack: LOGIN, SELECT, UID FETCH of 1999 UIDs (one long line), LOGOUT in one write completes" {
	pa_pipeline fetch
}

@test "post-login attack: LOGIN, SELECT, APPEND of a message with a 5000-octet line, LOGOUT in one write completes" {
	pa_pipeline longline
}

# Generated sessions (plattack.py gen): honest pipelined sessions with
# attackers' messages, the login's write cut at random points (so imapexec
# sees the stream from anywhere in the first KB or two), some synced;
# each equal to the session without imapexec, and the mark service never
# runs.  PA_GEN_COUNT and PA_GEN_SEED change the run.
@test "post-login attack: generated sessions with read-ahead anywhere equal the sessions without imapexec" {
	pl_skip
	pl_fresh
	run timeout 600 "$PYTHON" "$PA" gen --direct "$PL_D_IMAPS" \
		--post "$PL_P_IMAPS" --user "$DD_USER" \
		--passfile "$PL_DIR/pass1" --ca "$DD_CA" \
		--marker "$PL_DIR/spool/ran" --seed "${PA_GEN_SEED:-94}" \
		--count "${PA_GEN_COUNT:-400}" --jobs 4 --keep "$T/gen"
	echo "$output" | tail -n 40
	echo "# ${lines[-1]}" >&3
	[ "$status" -eq 0 ]
	[ ! -e "$PL_DIR/spool/ran" ]
}
