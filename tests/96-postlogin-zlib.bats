#!/usr/bin/env bats
# Post-login read-ahead (issue 21) with Dovecot's own COMPRESS (imap_zlib)
# on: a COMPRESS pipelined behind the login goes to imap with the login
# (imap-login read it), so imap compresses from its answer on, and
# imapexec, which never saw the command, must relay the compressed
# streams untouched both ways.  A client that syncs first gets
# imapexec's own COMPRESS, and EXECUTE through it.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin
# hooks of the libraries loaded above: teardown_file: postlogin.bash's;
# setup: helper.bash's

setup_file() {
	# imap_zlib (Dovecot 2.3) needs the zlib plugin loaded too
	PL_EXTRA=(
		'mail_plugins = $mail_plugins zlib'
		'protocol imap {'
		'  mail_plugins = $mail_plugins imap_zlib'
		'}'
	)
	pl_setup_file
}

PA=$BATS_TEST_DIRNAME/plattack.py

# A client that does not sync (imaplib, no EXECUTE): imapexec relays
# blindly, so imap's COMPRESS=DEFLATE stays in every capability list (it
# is dropped only where imapexec does COMPRESS itself), and nothing is
# added but the sync offer of the login reply.
@test "post-login zlib: unsynced, imap's COMPRESS=DEFLATE stays in every capability list" {
	pl_skip
	pl_fresh
	pl_client post ssl 1 || { cat "$T/post.err"; false; }
	# imap's lists (imap-login's, before the login, have no COMPRESS)
	grep -a 'CAPABILITY .* SORT ' "$T/post.out" | tr -d '\r' >"$T/caps"
	cat "$T/caps"
	[ "$(wc -l <"$T/caps")" -ge 2 ]
	grep -a -q -E 'CAPABILITY .* EXECUTE EXECUTE-SYNC=[0-9a-f]{32}(]|$)' "$T/caps"
	sed -E 's/ EXECUTE EXECUTE-SYNC=[0-9a-f]{32}(]|$)/\1/' "$T/caps" >"$T/caps.norm"
	! grep -a -q EXECUTE "$T/caps.norm"
	[ "$(grep -a -c 'COMPRESS=DEFLATE' "$T/caps.norm")" -eq "$(wc -l <"$T/caps")" ]
}

# One write: LOGIN and `b COMPRESS DEFLATE`; after `b OK`, deflated:
# `c EXECUTE mark`, `d LIST`, an APPEND of about 8 KB of base64 (deflate
# makes long runs without a space or LF of it), `e LOGOUT`.  Dovecot
# compresses end to end: the server's bytes after `b OK` inflate, c is
# Dovecot's BAD, d, f and e are OK, and the mark service did not run.
@test "post-login zlib: COMPRESS pipelined behind LOGIN is Dovecot's, end to end, nothing injected" {
	pl_skip
	pl_fresh
	run timeout 60 "$PYTHON" "$PA" zpipe "$PL_P_IMAPS" "$DD_USER" \
		"$PL_DIR/pass1" "$DD_CA" -
	echo "$output" | cut -c 1-200
	[ "$status" -eq 0 ]
	[[ "$output" == *"b OK Begin compression"* ]]
	[[ "$output" == *"c BAD Error in IMAP command EXECUTE: Unknown command"* ]]
	[[ "$output" == *"d OK List completed"* ]]
	[[ "$output" == *"f OK [APPENDUID "* ]]
	[[ "$output" == *"e OK Logout completed"* ]]
	[[ "$output" != *CLIENTBUG* && "$output" != *UNAVAILABLE* ]]
	[ ! -e "$PL_DIR/spool/ran" ]
	f=$(grep -l -r 'Subject: compressed' "$PL_DIR/post/home/$DD_USER/Maildir/new" "$PL_DIR/post/home/$DD_USER/Maildir/cur")
	[ -n "$f" ]
}

# The same with the COMPRESS in a write of its own, after a SELECT that
# was pipelined behind the login: imapexec sees it, blind (the view is
# not the sync), and passes it on; imap answers and compresses.  (Before
# issue 21 imapexec, failed closed, answered it NO [CANNOT] itself.)
@test "post-login zlib: a COMPRESS seen blind goes to Dovecot, end to end, nothing injected" {
	pl_skip
	pl_fresh
	run timeout 60 "$PYTHON" "$PA" zpipe "$PL_P_IMAPS" "$DD_USER" \
		"$PL_DIR/pass1" "$DD_CA" later
	echo "$output" | cut -c 1-200
	[ "$status" -eq 0 ]
	[[ "$output" == *"s OK [READ-WRITE]"* ]]
	[[ "$output" == *"b OK Begin compression"* ]]
	[[ "$output" == *"c BAD Error in IMAP command EXECUTE: Unknown command"* ]]
	[[ "$output" == *"f OK [APPENDUID "* ]]
	[[ "$output" == *"e OK Logout completed"* ]]
	[[ "$output" != *CANNOT* && "$output" != *UNAVAILABLE* ]]
	[ ! -e "$PL_DIR/spool/ran" ]
}

# The honest syncing client: LOGIN, its reply, `n NOOP <token>`, then
# `x COMPRESS DEFLATE` is imapexec's (the later CAPABILITY lists one
# COMPRESS=DEFLATE, imapexec's), and EXECUTE runs compressed.
@test "post-login zlib: after the sync COMPRESS is imapexec's and EXECUTE runs compressed" {
	pl_skip
	pl_fresh
	run timeout 60 "$PYTHON" "$PA" zsync "$PL_P_IMAPS" "$DD_USER" \
		"$PL_DIR/pass1" "$DD_CA" -
	echo "$output" | cut -c 1-200
	[ "$status" -eq 0 ]
	[[ "$output" == *"n OK NOOP completed"* ]]
	echo "$output" | grep -a '^\* CAPABILITY ' >"$T/caps"
	[ "$(grep -o 'COMPRESS=DEFLATE' "$T/caps" | wc -l)" -eq 1 ]
	grep -q ' EXECUTE COMPRESS=DEFLATE' "$T/caps"
	[[ "$output" == *"x OK DEFLATE active"* ]]
	[[ "$output" == *"* EXECUTE (TAG \"y\") EXIT 0"* ]]
	[[ "$output" == *"y OK mark completed"* ]]
	[[ "$output" == *"z OK Logout completed"* ]]
	[ -e "$PL_DIR/spool/ran" ]
}
