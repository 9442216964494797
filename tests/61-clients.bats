#!/usr/bin/env bats
# Real mail clients through imapexec over ssh, each with the shipped
# client example (conf/ssh/) and the shipped authorized_keys: mbsync
# (isync) syncing a few thousand messages, and 300 of up to 4 MiB with
# PipelineDepth 50 (each compared with a direct sync from Dovecot),
# offlineimap3 with preauthtunnel, mutt in tmux.

load deploy
# hooks of the libraries loaded above: setup_file and teardown_file:
# deploy.bash's

setup() {
	dep_setup
	dep_require ssh ssh-keygen /usr/sbin/sshd
	dep_sshd
	dep_shipped_authorized_keys
}
teardown() {
	[ ! -S "${T:-/nonexistent}/tmux.sock" ] ||
		tmux -S "$T/tmux.sock" kill-server 2>/dev/null || true
	dep_teardown
}

MD=$BATS_TEST_DIRNAME/deploy/mdcompare.py

# mbsync_run HOME: mbsync -a with HOME/mbsyncrc; output in $T/mbsync.log
# (with MBSYNC_DEBUG=FLAGS, mbsync's -DFLAGS debug output too).
mbsync_run() {
	HOME=$1 mbsync ${MBSYNC_DEBUG:+-D$MBSYNC_DEBUG} -c "$1/mbsyncrc" -a \
		>>"$T/mbsync.log" 2>&1 || {
		echo "# mbsync -c $1/mbsyncrc failed:" >&2
		tail -n 20 "$T/mbsync.log" >&2
		return 1
	}
}

# same A B: the two Maildirs hold the same messages.
same() {
	"$PYTHON" "$MD" same "$1" "$2" >"$T/same.log" || {
		cat "$T/same.log" >&2
		return 1
	}
	cat "$T/same.log"
}

# mbsync_compare COUNT SEED [mkmaildir options...]: two identical server
# mailboxes of COUNT generated messages, one served through ssh + imapexec,
# one directly by Dovecot (the reference); mbsync (the shipped client
# example, PipelineDepth $MBSYNC_DEPTH if set) syncs each, the copies must
# be equal message for message; then the same changes (deletions, flags,
# new messages) on both servers and both local copies, and a second sync.
mbsync_compare() {
	local count=$1 seed=$2
	shift 2
	dep_require mbsync
	rm -rf "$T/Maildir"
	"$PYTHON" "$DEP_DIR/mkmaildir.py" "$T/Maildir" "$count" --seed "$seed" \
		"$@" >"$T/gen.log"
	cp -a "$T/Maildir" "$T/Maildir.ref"
	dep_dovecot_conf "$T/dovecot.ref.conf" "$T/Maildir.ref"
	chown -R "$DEP_USER:$DEP_USER" "$T"

	dep_client_conf mbsyncrc
	grep -q "^Tunnel \"ssh -F $T/ssh_config -q $DEP_USER@mail.example.org $IMAPEXEC\"$" \
		"$T/client/mbsyncrc"
	# no fsync per message: the disk of a busy CI machine is not under test
	sed -i "1i FSync no" "$T/client/mbsyncrc"
	# mbsync gives up on a silent server after 20 s by default; a
	# sanitizer build on a loaded machine can be slower than that.
	sed -i "/^Tunnel /a Timeout 300" "$T/client/mbsyncrc"
	if [ -n "${MBSYNC_DEPTH:-}" ]; then
		sed -i "/^Tunnel /a PipelineDepth $MBSYNC_DEPTH" "$T/client/mbsyncrc"
	fi
	local run_as="setpriv --reuid=$DEP_USER --regid=$DEP_USER --init-groups env -i HOME=$DEP_HOME USER=$DEP_USER LOGNAME=$DEP_USER PATH=$IMX_PATH"
	# MBSYNC_TUNNEL=direct: mbsync starts imapexec itself, no ssh between
	# (mbsync is then the reader of imapexec's socket, as in make bench)
	if [ "${MBSYNC_TUNNEL:-ssh}" = direct ]; then
		sed -i "s|^Tunnel .*|Tunnel \"$run_as $IMAPEXEC -c $T/imapexec.conf\"|" \
			"$T/client/mbsyncrc"
	fi
	mkdir -p "$T/ref/Mail"
	sed "s|^Tunnel .*|Tunnel \"$run_as $DOVECOT_IMAP -c $T/dovecot.ref.conf\"|" \
		"$T/client/mbsyncrc" >"$T/ref/mbsyncrc"

	mbsync_run "$T/ref"
	mbsync_run "$T/client"
	same "$T/ref/Mail" "$T/client/Mail"
	[ "$("$PYTHON" "$MD" count "$T/client/Mail")" -eq "$count" ]
	[ -d "$T/client/Mail/Archive/cur" ]
	[ -d "$T/client/Mail/Sent/cur" ]

	# the same changes on both servers, and on both local copies
	"$PYTHON" "$MD" change "$T/Maildir" 11 >"$T/change.log"
	"$PYTHON" "$MD" change "$T/Maildir.ref" 11 >>"$T/change.log"
	"$PYTHON" "$MD" change "$T/client/Mail" 12 >>"$T/change.log"
	"$PYTHON" "$MD" change "$T/ref/Mail" 12 >>"$T/change.log"
	chown -R "$DEP_USER:$DEP_USER" "$T/Maildir" "$T/Maildir.ref"
	mbsync_run "$T/ref"
	mbsync_run "$T/client"
	same "$T/ref/Mail" "$T/client/Mail"
	same "$T/Maildir.ref" "$T/Maildir"
	local n
	n=$("$PYTHON" "$MD" count "$T/client/Mail")
	[ "$n" -eq "$("$PYTHON" "$MD" count "$T/Maildir")" ]
	# deletions from both sides went through, and the new messages too
	[ "$n" -lt "$count" ]
	[ "$n" -gt $((count * 9 / 10)) ]
	[ "$(grep -rl 'Message-ID: <new\.1[12]\.' "$T/Maildir" | wc -l)" -eq 8 ]
	[ "$(grep -rl 'Message-ID: <new\.1[12]\.' "$T/client/Mail" | wc -l)" -eq 8 ]
	dep_assert_no_leftovers
}

@test "mbsync via Tunnel: full sync of 3000 messages equals a direct sync, then two-way changes too" {
	mbsync_compare 3000 7
}

# Issue 10: mbsync timed out through imapexec on big messages (a relay
# stall), while the suite's small messages passed.
@test "mbsync via Tunnel, PipelineDepth 50: 300 messages up to 4 MiB equal a direct sync, then two-way changes too" {
	MBSYNC_DEPTH=50 mbsync_compare 300 13 --big 10
}

@test "mbsync, Tunnel straight to imapexec, PipelineDepth 50: 300 messages up to 4 MiB equal a direct sync, then changes" {
	MBSYNC_TUNNEL=direct MBSYNC_DEPTH=50 mbsync_compare 300 13 --big 10
}

# mbsync compresses whenever the server offers COMPRESS=DEFLATE: through
# imapexec it negotiates it with imapexec (the reference, Dovecot without
# imap_zlib, offers none), as its protocol debug output shows.
@test "mbsync via Tunnel with COMPRESS=DEFLATE negotiated (-Dn): full sync equals a direct sync" {
	MBSYNC_DEBUG=n MBSYNC_DEPTH=50 mbsync_compare 300 17 --big 5
	grep -E '^>>> [0-9]+ COMPRESS DEFLATE' "$T/mbsync.log"
	[ "$(grep -c -E '^>>> [0-9]+ COMPRESS DEFLATE' "$T/mbsync.log")" -eq 2 ]
	grep -E '^[0-9]+ OK DEFLATE active' "$T/mbsync.log"
}

@test "offlineimap3 via preauthtunnel: a full sync" {
	dep_require offlineimap
	dep_client_conf offlineimaprc
	grep -q "^preauthtunnel = ssh -F $T/ssh_config -q " "$T/client/offlineimaprc"
	HOME=$T/client timeout 120 offlineimap -c "$T/client/offlineimaprc" -o -u basic \
		>"$T/offlineimap.log" 2>&1 || {
		tail -n 30 "$T/offlineimap.log" >&2
		false
	}
	! grep -q -E '^ *(ERROR|WARNING)|Traceback' "$T/offlineimap.log" ||
		{ cat "$T/offlineimap.log" >&2; false; }
	# same folders, same number of messages with the same flags
	"$PYTHON" "$MD" list "$T/Maildir" | awk '{ print $1, $3 }' | sort >"$T/server.list"
	"$PYTHON" "$MD" list "$T/client/Mail" | awk '{ print $1, $3 }' | sort >"$T/client.list"
	[ "$(wc -l <"$T/client.list")" -eq 30 ]
	diff -u "$T/server.list" "$T/client.list"
	dep_assert_no_leftovers
}

# tmux_wait REGEX [SECS]: poll the mutt pane until it matches REGEX.
tmux_wait() {
	local end=$((SECONDS + ${2:-20}))
	while [ "$SECONDS" -lt "$end" ]; do
		tmux -S "$T/tmux.sock" capture-pane -p -t mutt >"$T/screen" 2>/dev/null || true
		grep -q -E "$1" "$T/screen" && return 0
		sleep 0.1
	done
	echo "# the screen never matched /$1/:" >&2
	sed 's/^/#   /' "$T/screen" >&2
	return 1
}

@test "mutt via tunnel: the index of a folder, driven in tmux" {
	dep_require mutt tmux
	dep_client_conf muttrc
	grep -q "^set tunnel = \"ssh -F $T/ssh_config -q " "$T/client/muttrc"
	local n
	n=$("$PYTHON" "$MD" list "$T/Maildir" | grep -c '^Archive ')
	tmux -S "$T/tmux.sock" new-session -d -s mutt -x 160 -y 50 \
		"HOME=$T/client mutt -n -F $T/client/muttrc -f =Archive; echo mutt-exited \$?; sleep 30"
	tmux_wait "Msgs:$n\\b"
	tmux_wait 'message [0-9]+ \('
	tmux -S "$T/tmux.sock" send-keys -t mutt c '=Sent' Enter
	tmux_wait 'Sent.*Msgs:[0-9]+'
	tmux -S "$T/tmux.sock" send-keys -t mutt q
	tmux_wait 'mutt-exited 0'
	dep_assert_no_leftovers
}
