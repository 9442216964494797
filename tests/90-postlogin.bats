#!/usr/bin/env bats
# Dovecot post-login mode (imapexec -P, issue 13): imapexec as the
# post-login script of a real `dovecot -F` (tests/dovecotd.bash), with
# passwords and TLS done by imap-login.  Every session runs against a
# daemon without the script too, and must be equal to it apart from the
# added EXECUTE.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin

setup_file() { pl_setup_file; }
teardown_file() { pl_teardown_file; }
setup() { imx_setup; }

# pl_same TLS AUTHOPT: the session over TLS (ssl|starttls) with LOGIN or
# --plain, direct and post, equal but for EXECUTE in capability lists.
pl_same() {
	pl_skip
	pl_fresh
	pl_client direct "$@" || { cat "$T/direct.err"; return 1; }
	pl_client post "$@" || { cat "$T/post.err"; return 1; }
	# The login reply (its code, or the untagged CAPABILITY before it,
	# as imap sends to a client that asked for them before) and the
	# CAPABILITY response gain EXECUTE.
	grep -a -B1 'Logged in' "$T/post.out" | grep -a -q 'CAPABILITY .* EXECUTE'
	[ "$(grep -a -c '^\* CAPABILITY .* EXECUTE' "$T/post.out")" -ge 1 ]
	! grep -a -q EXECUTE "$T/direct.out"
	sed 's/ ([0-9. +]* secs)//' "$T/direct.out" >"$T/direct.norm"
	sed 's/ EXECUTE\([] \r]\)/\1/; s/ ([0-9. +]* secs)//' \
		"$T/post.out" >"$T/post.norm"
	diff -u "$T/direct.norm" "$T/post.norm"
}

@test "post-login: IMAP4_SSL with LOGIN equals the session without the script" {
	pl_same ssl 1
}

@test "post-login: IMAP4_SSL with AUTHENTICATE PLAIN (SASL-IR) equals the session without the script" {
	pl_same ssl 1 --plain
}

@test "post-login: STARTTLS with LOGIN equals the session without the script" {
	pl_same starttls 1
}

@test "post-login: STARTTLS with AUTHENTICATE PLAIN (SASL-IR) equals the session without the script" {
	pl_same starttls 1 --plain
}

@test "post-login: EXECUTE runs as each user: uid, HOME, IMAPEXEC_USER, address" {
	pl_skip
	pl_fresh
	pl_client post ssl 1 --execute whoami || { cat "$T/post.err"; false; }
	grep -a -F "OUT \"uid=$(id -u "$IMX_USER") home=$PL_DIR/post/home/$DD_USER user=$DD_USER addr=127.0.0.1 pwd=$PL_DIR/post/home/$DD_USER" "$T/post.out"
	grep -a -q '^\* EXECUTE (TAG "T[0-9]*") EXIT 0' "$T/post.out"
	pl_client post starttls 2 --plain --execute whoami || { cat "$T/post.err"; false; }
	grep -a -F "OUT \"uid=$(id -u "$PL_USER2") home=$PL_DIR/post/home/$PL_USER2 user=$PL_USER2 addr=127.0.0.1 pwd=$PL_DIR/post/home/$PL_USER2" "$T/post.out"
}

@test "post-login: a service for one user is NO [NONEXISTENT] for the other, and not listed" {
	pl_skip
	pl_fresh
	pl_client post ssl 1 --execute onlyone --execute "" || { cat "$T/post.err"; false; }
	grep -a -q '^\* EXECUTE (TAG "T[0-9]*") OUT "only' "$T/post.out"
	grep -a -q '^\* EXECUTE SERVICE onlyone ' "$T/post.out"
	pl_client post ssl 2 --execute onlyone --execute "" || { cat "$T/post.err"; false; }
	grep -a -q '^T[0-9]* NO \[NONEXISTENT\]' "$T/post.out"
	! grep -a -q 'SERVICE onlyone' "$T/post.out"
	grep -a -q '^\* EXECUTE SERVICE whoami ' "$T/post.out"
}
