#!/usr/bin/env bats
# Dovecot post-login mode with hibernation (issue 13): with
# imap_hibernate_timeout set, imap hands the socket it got from imapexec
# (its end of imapexec's socketpair) to imap-hibernate during IDLE, and
# a new imap takes it over when the client sends DONE.  imapexec stays
# in the path all along and sees one unbroken stream.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin
# hooks of the libraries loaded above: teardown_file: postlogin.bash's;
# setup: helper.bash's

setup_file() {
	PL_EXTRA=(
		'imap_hibernate_timeout = 1s'
		'service imap-hibernate {'
		'  unix_listener imap-hibernate {'
		'    mode = 0666'
		'  }'
		'}'
		'service imap {'
		'  unix_listener imap-master {'
		'    user = $default_internal_user'
		'  }'
		'}'
	)
	pl_setup_file
}

# pl_hibernated: user 2 has no imap process, but its imapexec runs.
pl_hibernated() {
	! pgrep -u "$PL_USER2" -x imap >/dev/null &&
		pl_pgrep imapexec >/dev/null
}

@test "post-login hibernation: IDLE hibernates, DONE wakes imap, EXECUTE still runs" {
	pl_skip
	pl_fresh
	mkdir -p "$T/h"
	timeout 60 "$PYTHON" "$REPO/tests/plraw.py" idle "$PL_P_IMAPS" \
		"$PL_USER2" "$PL_DIR/pass2" "$DD_CA" "$T/h" >"$T/out" 2>"$T/err" 3>&- &
	pid=$!
	imx_wait_for test -e "$T/h/ready"
	imx_wait_for pl_hibernated
	touch "$T/h/done"
	wait "$pid" || { cat "$T/err" "$T/out" "$PL_DIR/post/dovecot.log"; false; }
	cat "$T/out"
	grep -a -q '^i OK' "$T/out"
	grep -a -F -q "OUT \"uid=$(id -u "$PL_USER2") " "$T/out"
	grep -a -q '^x OK' "$T/out"
	! grep -a -E 'Error|Fatal|Panic' "$PL_DIR/post/dovecot.log"
}
