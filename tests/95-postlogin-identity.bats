#!/usr/bin/env bats
# Dovecot post-login mode (imapexec -P), identity of virtual users (issue
# 21, rule 4): users of a passwd-file userdb that share one "vmail" uid and
# gid (tests/vusers.bash), behind a real `dovecot -F` with imapexec as its
# post-login script.  Without a userdb home no EXECUTE runs (the uid's own
# home would be every user's); with one, each user's data is its own; and
# `groups` policies follow the credentials the services run with, never a
# system account that happens to share the login's name.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load vusers
# hooks of the libraries loaded above: setup_file and teardown_file:
# vusers.bash's; setup: helper.bash's

# The refusal of EXECUTE without a home, and the line imapexec logs for it
NOHOME_NO='NO \[UNAVAILABLE\] EXECUTE needs a home directory, and this account has none'
nohome_log() {
	echo "execute: refused: user=<$1> has no home in Dovecot's userdb (HOME is not set)"
}

# vu_outs USER: the OUT strings of $T/USER.out, one a line.
vu_outs() {
	sed -n 's/^\* EXECUTE (TAG "T[0-9]*") OUT "\(.*\)"\r$/\1/p' "$T/$1.out"
}

# vu_vmail_untouched: nothing in the vmail account's own home, no
# ~/.imapexec or list anywhere, no service ran.
vu_vmail_untouched() {
	ls -A "$VU_DIR/vmail"
	[ -z "$(ls -A "$VU_DIR/vmail")" ]
	vu_written
	[ -z "$(vu_written)" ]
	[ ! -e "$VU_DIR/spool/ran" ]
}

# Two users of one uid, no home in the userdb: discovery and every service
# are refused, the IMAP session itself goes on, imapexec logs the reason
# once a connection, and nothing is written anywhere (the old fallback to
# the uid's home gave both users that one home, and so one blacklist).
@test "post-login identity: no userdb home: EXECUTE is NO [UNAVAILABLE] for every user of the vmail uid, logged once, nothing written" {
	vu_skip
	vu_fresh
	local u
	for u in alice bob; do
		vu_client nohome "$u" --execute "" \
			--execute "blacklist add spam-$u@example.net" \
			--execute "blacklist list" --execute whoami --execute mark
		cat "$T/$u.out"
		[ "$(grep -a -c -E "^T[0-9]+ $NOHOME_NO"$'\r$' "$T/$u.out")" -eq 5 ]
		! grep -a -q '^\* EXECUTE ' "$T/$u.out"
		# the rest of the session is Dovecot's as always
		grep -a -q '^T[0-9]* OK \[APPENDUID ' "$T/$u.out"
	done
	vu_log nohome
	for u in alice bob; do
		[ "$(grep -a -c -F "$(nohome_log "$u")" "$VU_DIR/nohome/dovecot.log")" -eq 1 ]
	done
	! grep -a -q 'execute: user=<' "$VU_DIR/nohome/dovecot.log"
	vu_vmail_untouched
}

# With default_fields = home=.../%u each user of the one uid has a home,
# and the shipped blacklist keeps each user's list there: alice and bob see
# only their own entry, also after the other's change.  Then bob through
# the daemon without a home (the same uid): refused, and the uid's own home
# is still empty (the old code wrote the list there).
@test "post-login identity: with a userdb home, alice's and bob's blacklists are their own; the vmail uid's home is nobody's" {
	vu_skip
	vu_fresh
	local h=$VU_DIR/home/vhome
	vu_client home alice --execute whoami \
		--execute "blacklist add spam@example.net"
	[ "$(vu_outs alice)" = "uid=$(id -u "$VU_VMAIL") gid=$(id -g "$VU_VMAIL") groups=$(id -g "$VU_VMAIL") $(getent group "$VU_XGROUP" | cut -d: -f3) home=$h/alice user=alice pwd=$h/alice" ]
	grep -a -q '^T[0-9]* OK blacklist completed' "$T/alice.out"
	vu_client home bob --execute "blacklist add junk@example.org"
	grep -a -q '^T[0-9]* OK blacklist completed' "$T/bob.out"
	vu_client home bob --execute "blacklist list"
	[ "$(vu_outs bob)" = junk@example.org ]
	vu_client home alice --execute "blacklist list"
	[ "$(vu_outs alice)" = spam@example.net ]
	[ "$(cat "$h/alice/.imapexec/blacklist")" = spam@example.net ]
	[ "$(cat "$h/bob/.imapexec/blacklist")" = junk@example.org ]
	[ "$(stat -c %U "$h/alice/.imapexec/blacklist")" = "$VU_VMAIL" ]
	grep -q 'spam@example.net' "$h/alice/.imapexec/lists.sieve"
	! grep -q 'junk@example.org' "$h/alice/.imapexec/lists.sieve"
	# every list written is alice's or bob's, in their homes
	[ "$(vu_written | sort)" = "$(printf '%s\n' "$h/alice/.imapexec" \
		"$h/alice/.imapexec/blacklist" "$h/alice/.imapexec/lists.sieve" \
		"$h/bob/.imapexec" "$h/bob/.imapexec/blacklist" \
		"$h/bob/.imapexec/lists.sieve" | sort)" ]
	# the same uid without a userdb home reaches no list
	vu_client nohome bob --execute "blacklist add other@example.com" \
		--execute "blacklist list"
	[ "$(grep -a -c -E "^T[0-9]+ $NOHOME_NO"$'\r$' "$T/bob.out")" -eq 2 ]
	[ -z "$(vu_outs bob)" ]
	[ -z "$(ls -A "$VU_DIR/vmail")" ]
	[ "$(cat "$h/bob/.imapexec/blacklist")" = junk@example.org ]
}

# groups = [ "daemon" ] is for processes in group daemon: a virtual login
# named "daemon" (uid and gid vmail) does not get it (the old code took the
# groups of the system account "daemon").  The vmail group, and a
# supplementary group Dovecot gives the processes (mail_access_groups), are
# every user's: groups come from the credentials the services run with.
@test "post-login identity: a virtual login named daemon does not get groups = [daemon]; the vmail group and a supplementary group are everyone's" {
	vu_skip
	vu_fresh
	local u g vgid xgid
	vgid=$(id -g "$VU_VMAIL")
	xgid=$(getent group "$VU_XGROUP" | cut -d: -f3)
	g=$(getent group daemon | cut -d: -f3)
	# the premise: Dovecot runs them as vmail, with the extra group only
	[ "$vgid" != "$g" ] && [ "$xgid" != "$g" ]
	# daemon first: the login the old code gave the group daemon
	for u in daemon alice bob; do
		vu_client home "$u" --execute "" --execute grpdaemon \
			--execute grpvmail --execute grpextra --execute whoami
		cat "$T/$u.out"
		grep -a -q "^\\* EXECUTE (TAG \"T[0-9]*\") OUT \"uid=$(id -u "$VU_VMAIL") gid=$vgid groups=$vgid $xgid home=$VU_DIR/home/vhome/$u user=$u " "$T/$u.out"
		# grpdaemon: unknown to every one of them, and not listed
		[ "$(grep -a -c '^T[0-9]* NO \[NONEXISTENT\] No such service' "$T/$u.out")" -eq 1 ]
		! grep -a -q 'SERVICE grpdaemon\|group daemon' "$T/$u.out"
		# the groups they do run with
		grep -a -q '^\* EXECUTE SERVICE grpvmail ' "$T/$u.out"
		grep -a -q '^\* EXECUTE SERVICE grpextra ' "$T/$u.out"
		[ "$(vu_outs "$u" | grep -c '^group ')" -eq 2 ]
		vu_outs "$u" | grep -qx 'group vmail'
		vu_outs "$u" | grep -qx 'group extra'
	done
	grep -a -q 'execute: user=<daemon>, service=<grpvmail>, .*status=<OK>' \
		"$VU_DIR/home/dovecot.log"
	! grep -a -q 'service=<grpdaemon>' "$VU_DIR/home/dovecot.log"
}

# vu_pipe HOME-ENV...: imapexec -P -d outside Dovecot, as the vmail account
# (whose own home exists), USER alice and the environment given (HOME=...
# or nothing), before tests/plfake.py; the client (plpipe.py) sends the
# sync, discovery, three EXECUTEs and LOGOUT.  Output in $T/pipe.out,
# imapexec's log in $T/pipe.err.
vu_pipe() {
	local keys="USER"
	[ $# -eq 0 ] || keys="USER HOME"
	printf '%s\r\n' 'a EXECUTE' 'b EXECUTE whoami' 'c EXECUTE mark' \
		'd EXECUTE blacklist add spam@example.net' 'z LOGOUT' |
		timeout 60 "$PYTHON" "$REPO/tests/plpipe.py" -- \
		env -i PATH=/usr/bin:/bin USERDB_KEYS="$keys" USER=alice \
		IP=127.0.0.1 "$@" \
		setpriv --reuid="$VU_VMAIL" --regid="$VU_VMAIL" --init-groups \
		"$IMAPEXEC" -P -d -c "$VU_DIR/imapexec.conf" -- /usr/bin/python3 \
		"$REPO/tests/plfake.py" 3</dev/null >"$T/pipe.out" 2>"$T/pipe.err"
	cat "$T/pipe.out" "$T/pipe.err"
	[ "$(grep -a -c -E "^[abcd] $NOHOME_NO"$'\r$' "$T/pipe.out")" -eq 4 ]
	! grep -a -q '^\* EXECUTE' "$T/pipe.out"
	grep -a -q '^z OK' "$T/pipe.out"
	[ "$(grep -a -c -F "$(nohome_log alice)" "$T/pipe.err")" -eq 1 ]
	vu_vmail_untouched
}

# The same outside Dovecot, for every way of having no home: HOME not in
# the environment at all, HOME set but empty (a userdb `home` field that
# is empty), and a relative HOME (no home either: a service would run in
# /); the account of the uid has a home of its own, which must not be
# used.
@test "post-login identity: HOME unset, empty or relative: every EXECUTE refused, logged once, the uid's own home unused" {
	vu_skip
	vu_fresh
	vu_pipe
	vu_fresh
	vu_pipe HOME=
	vu_fresh
	vu_pipe HOME=relative/alice
}

# Dovecot's global mail_home gives imap a home, but it is no userdb field:
# script-login does not put it in the environment, so imapexec has no HOME
# and refuses (the old code used the vmail account's home instead).  The
# README tells admins to set home in the userdb for this reason.
@test "post-login identity: mail_home alone (no userdb home): imap has a home, EXECUTE is still refused and nothing is written" {
	vu_skip
	vu_fresh
	vu_client mailhome alice --execute "blacklist add spam@example.net" \
		--execute whoami
	cat "$T/alice.out"
	[ "$(grep -a -c -E "^T[0-9]+ $NOHOME_NO"$'\r$' "$T/alice.out")" -eq 2 ]
	! grep -a -q '^\* EXECUTE ' "$T/alice.out"
	# imap itself used mail_home: the message went to ~/Maildir there
	grep -a -q '^T[0-9]* OK \[APPENDUID ' "$T/alice.out"
	grep -l -r 'Subject: appended' "$VU_DIR/mailhome/vhome/alice/Maildir"
	[ "$(grep -a -c -F "$(nohome_log alice)" "$VU_DIR/mailhome/dovecot.log")" -eq 1 ]
	vu_vmail_untouched
}
