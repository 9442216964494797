#!/usr/bin/env bats
# Dovecot post-login mode (imapexec -P, issue 13): imapexec as the
# post-login script of a real `dovecot -F` (tests/dovecotd.bash), with
# passwords and TLS done by imap-login.  Every session runs against a
# daemon without the script too, and must be equal to it apart from the
# added EXECUTE (and COMPRESS=DEFLATE, which imapexec terminates).

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin
# hooks of the libraries loaded above: setup_file and teardown_file:
# postlogin.bash's; setup: helper.bash's

# pl_same TLS AUTHOPT: the session over TLS (ssl|starttls) with LOGIN or
# --plain, direct and post, equal but for EXECUTE (and imapexec's
# COMPRESS=DEFLATE) in capability lists.
pl_same() {
	pl_skip
	pl_fresh
	pl_client direct "$@" || { cat "$T/direct.err"; return 1; }
	pl_client post "$@" || { cat "$T/post.err"; return 1; }
	# The login reply (its code, or the untagged CAPABILITY before it,
	# as imap sends to a client that asked for them before) gains
	# EXECUTE and the sync token.  The client's first command is no
	# sync, so imapexec relays blindly from then on: the later
	# CAPABILITY response is the backend's own (issue 21, rule 2).
	grep -a -B1 'Logged in' "$T/post.out" |
		grep -a -q 'CAPABILITY .* EXECUTE EXECUTE-SYNC=[0-9a-f]\{32\}[^0-9a-f]'
	[ "$(grep -a -c EXECUTE "$T/post.out")" -eq 1 ]
	! grep -a -q EXECUTE "$T/direct.out"
	sed 's/ ([0-9. +]* secs)//' "$T/direct.out" >"$T/direct.norm"
	sed 's/ EXECUTE EXECUTE-SYNC=[0-9a-f]*\([] \r]\)/\1/; s/ ([0-9. +]* secs)//' \
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

# pl_smuggle SIZE [base64]: LOGIN + APPEND of a message with SIZE octets of filler
# and then an EXECUTE line, in one write: nothing runs and the message is
# stored as sent.
pl_smuggle() {
	pl_skip
	pl_fresh
	"$PYTHON" - "$1" "$T/msg" "${2:-filler}" <<-'PY'
		import base64, random, sys
		n = int(sys.argv[1])
		body = b"Subject: smuggle\r\n\r\n"
		if sys.argv[3] == "base64":
		    # An attachment: most lines look like a tag alone, each
		    # unlike the others (no reused tag to fail closed on).
		    raw = random.Random(13).randbytes(n * 3 // 4)
		    b = base64.b64encode(raw)
		    body += b"".join(b[i:i + 76] + b"\r\n"
		                     for i in range(0, len(b), 76))
		else:
		    body += b"filler line\r\n" * (n // 13)
		body += b"x EXECUTE mark\r\ny EXECUTE mark\r\nlast line\r\n"
		open(sys.argv[2], "wb").write(body)
	PY
	run timeout 60 "$PYTHON" "$REPO/tests/plraw.py" smuggle \
		"$PL_P_IMAPS" "$DD_USER" "$PL_DIR/pass1" "$DD_CA" "$T/msg"
	echo "$output" | head -c 2000; [ "$status" -eq 0 ]
	[[ "$output" == *"b OK [APPENDUID"* ]]
	[ ! -e "$PL_DIR/spool/ran" ]
	f=$(grep -l -r 'Subject: smuggle' "$PL_DIR/post/home/$DD_USER/Maildir/new" "$PL_DIR/post/home/$DD_USER/Maildir/cur")
	tr -d "\r" <"$T/msg" | cmp - "$f"
}

@test "post-login: LOGIN + APPEND with an EXECUTE line in the literal, one write: nothing runs, stored as sent" {
	pl_smuggle 100
}

@test "post-login: the same with a literal beyond imap-login's read: nothing runs, stored as sent" {
	pl_smuggle 200000
}

@test "post-login: the same with a base64 attachment beyond imap-login's read: nothing runs, stored as sent" {
	pl_smuggle 200000 base64
}

# pl_drop WHAT: user 2 logs in, sends $T/h/send, then hangs up once
# pl_at_$WHAT holds: nothing is left behind, Dovecot logs no error.
pl_drop() {
	pl_skip
	pl_fresh
	: >"$PL_DIR/post/dovecot.log"
	pl_hold send
	imx_wait_for "pl_at_$1"
	touch "$T/h/close"
	wait "$PL_HOLD"
	imx_wait_for pl_gone
	pl_log_clean
}

pl_at_now() { true; }
pl_at_sleeping() { pgrep -u "$PL_USER2" -f "sleep 4242" >/dev/null; }

@test "post-login: a client that disconnects leaves no process and no error" {
	pl_skip
	: >"$PL_DIR/post/dovecot.log"
	pl_hold
	pl_pgrep imapexec >/dev/null
	touch "$T/h/close"
	wait "$PL_HOLD"
	imx_wait_for pl_gone
	pl_log_clean
}

@test "post-login: imap killed: imapexec ends, the client sees the end" {
	pl_skip
	pl_hold
	pkill -KILL -u "$PL_USER2" -x imap
	imx_wait_for test -e "$T/h/eof"
	wait "$PL_HOLD"
	imx_wait_for pl_gone
}

@test "post-login: imapexec killed: imap ends, the client sees the end" {
	pl_skip
	pl_hold
	pl_pkill KILL imapexec
	imx_wait_for test -e "$T/h/eof"
	wait "$PL_HOLD"
	imx_wait_for pl_gone
}

# pl_run_bin: imapexec-run beside $IMAPEXEC (the ASan build pairs with the
# ASan build), or $IMAPEXEC_RUN.
pl_run_bin() {
	echo "${IMAPEXEC_RUN:-$(dirname "$IMAPEXEC")/imapexec-run}"
}

@test "post-login: imapexec-run over imaps:// with -p runs a service end to end" {
	pl_skip
	pl_fresh
	run --separate-stderr timeout 60 "$(pl_run_bin)" -C "$DD_CA" \
		-p "cat $PL_DIR/pass2" \
		"imaps://$PL_USER2@127.0.0.1:$PL_P_IMAPS" whoami
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "uid=$(id -u "$PL_USER2") home=$PL_DIR/post/home/$PL_USER2 user=$PL_USER2 addr=127.0.0.1 pwd=$PL_DIR/post/home/$PL_USER2" ]
	# a service for the other user only: 127, as no such service
	run -127 --separate-stderr timeout 60 "$(pl_run_bin)" -C "$DD_CA" \
		-p "cat $PL_DIR/pass2" \
		"imaps://$PL_USER2@127.0.0.1:$PL_P_IMAPS" onlyone
	echo "$output"; echo "$stderr"
	[ -z "$output" ]
	[[ "$stderr" == *"onlyone: No such service"* ]]
}

@test "post-login: imapexec-run over imap:// (STARTTLS) with the password from ~/.netrc" {
	pl_skip
	pl_fresh
	mkdir -p "$T/nh"
	esc=${DD_PASS//\\/\\\\}
	esc=${esc//\"/\\\"}
	printf 'machine 127.0.0.1 login %s password "%s"\n' "$DD_USER" "$esc" \
		>"$T/nh/.netrc"
	chmod 600 "$T/nh/.netrc"
	HOME=$T/nh run --separate-stderr timeout 60 "$(pl_run_bin)" -v \
		-C "$DD_CA" "imap://127.0.0.1:$PL_P_IMAP" onlyone
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "only" ]
	[[ "$stderr" == *"C: s STARTTLS"* ]]
}

@test "post-login: hang up inside a literal: nothing left, no error" {
	printf 'b APPEND INBOX {100000+}\r\nSubject: cut\r\n\r\nsome' >"$T/h.send"
	mkdir -p "$T/h" && mv "$T/h.send" "$T/h/send"
	pl_drop now
}

@test "post-login: hang up right behind an EXECUTE (its probe): nothing left, no error" {
	mkdir -p "$T/h" && printf 'x EXECUTE whoami\r\n' >"$T/h/send"
	pl_drop now
}

@test "post-login: hang up while a service runs: service killed, nothing left, no error" {
	mkdir -p "$T/h" && printf 'x EXECUTE sleeper\r\n' >"$T/h/send"
	pl_drop sleeping
}

@test "post-login: a running service has fds 0, 1, 2 only; imapexec holds no fd 3 of script-login" {
	pl_skip
	pl_fresh
	mkdir -p "$T/h" && printf 'x EXECUTE sleeper\r\n' >"$T/h/send"
	pl_hold send
	imx_wait_for pl_at_sleeping
	p=$(pgrep -u "$PL_USER2" -f "sleep 4242")
	ls -l "/proc/$p/fd"
	[ "$(ls "/proc/$p/fd" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
	i=$(pl_pgrep imapexec)
	ls -l "/proc/$i/fd"
	# the client (0, 1), the log (2), nothing of the hand-off
	! ls -l "/proc/$i/fd" | grep -q ' 3 -> '
	touch "$T/h/close"
	wait "$PL_HOLD"
	imx_wait_for pl_gone
}

@test "post-login: a user whose home is missing: the service runs in /, as in the other modes" {
	pl_skip
	pl_fresh
	: >"$PL_DIR/post/dovecot.log"
	rm -rf "$PL_DIR/post/home.away"
	mv "$PL_DIR/post/home/$PL_USER2" "$PL_DIR/post/home.away"
	run --separate-stderr timeout 60 "$(pl_run_bin)" -C "$DD_CA" \
		-p "cat $PL_DIR/pass2" \
		"imaps://$PL_USER2@127.0.0.1:$PL_P_IMAPS" whoami
	rm -rf "$PL_DIR/post/home/$PL_USER2"
	mv "$PL_DIR/post/home.away" "$PL_DIR/post/home/$PL_USER2"
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "uid=$(id -u "$PL_USER2") home=$PL_DIR/post/home/$PL_USER2 user=$PL_USER2 addr=127.0.0.1 pwd=/" ]
	imx_wait_for pl_gone
	pl_log_clean
}

@test "post-login: COMPRESS=DEFLATE negotiated through imapexec, EXECUTE runs compressed" {
	pl_skip
	pl_fresh
	run timeout 60 "$PYTHON" "$REPO/tests/plraw.py" compress \
		"$PL_P_IMAPS" "$PL_USER2" "$PL_DIR/pass2" "$DD_CA" -
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"c OK DEFLATE active"* ]]
	[[ "$output" == *"OUT \"uid=$(id -u "$PL_USER2") home=$PL_DIR/post/home/$PL_USER2 user=$PL_USER2"* ]]
	[[ "$output" == *"x OK whoami completed"* ]]
	[[ "$output" == *"z OK Logout completed"* ]]
	imx_wait_for pl_gone
}

# pl_mbsync MODE [DEBUGFLAGS]: mbsync with User/PassCmd over imaps against
# daemon MODE, into $T/MODE/Mail (config $T/MODE/mbsyncrc, log
# $T/MODE/mbsync.log).
pl_mbsync() {
	mkdir -p "$T/$1/Mail"
	cat >"$T/$1/mbsyncrc" <<-RC
		FSync no
		IMAPAccount mail
		Host localhost
		Port $(pl_port "$1" ssl)
		User $DD_USER
		PassCmd "cat $PL_DIR/pass1"
		SSLType IMAPS
		CertificateFile $DD_CA
		Timeout 300

		IMAPStore mail-remote
		Account mail

		MaildirStore mail-local
		Path $T/$1/Mail/
		Inbox $T/$1/Mail/INBOX
		SubFolders Verbatim

		Channel mail
		Far :mail-remote:
		Near :mail-local:
		Patterns *
		Create Both
		Expunge Both
		SyncState *
	RC
	HOME=$T/$1 timeout 600 mbsync ${2:+-D$2} -c "$T/$1/mbsyncrc" -a \
		>>"$T/$1/mbsync.log" 2>&1 || {
		tail -n 20 "$T/$1/mbsync.log"
		return 1
	}
}

@test "post-login: mbsync with User/Pass over TLS: full sync equals the sync without the script, then two-way changes too" {
	pl_skip
	command -v mbsync >/dev/null || skip "no mbsync"
	local md=$REPO/tests/deploy/mdcompare.py d n
	"$PYTHON" "$REPO/tests/deploy/mkmaildir.py" "$T/gen" 600 --seed 7 >/dev/null
	for d in direct post; do
		rm -rf "$PL_DIR/$d/home/$DD_USER/Maildir"
		cp -a "$T/gen" "$PL_DIR/$d/home/$DD_USER/Maildir"
		chown -R "$IMX_USER:" "$PL_DIR/$d/home/$DD_USER/Maildir"
		pl_mbsync "$d" n
	done
	"$PYTHON" "$md" same "$T/direct/Mail" "$T/post/Mail"
	[ "$("$PYTHON" "$md" count "$T/post/Mail")" -eq 600 ]
	# through imapexec: EXECUTE and its sync token offered; mbsync does
	# not sync, so imapexec relays blindly, and offers no compression of
	# its own (Dovecot without imap_zlib has none either)
	grep -a -q 'OK \[CAPABILITY .* EXECUTE EXECUTE-SYNC=[0-9a-f]\{32\}\] Logged in' \
		"$T/post/mbsync.log"
	! grep -a -q 'COMPRESS' "$T/post/mbsync.log"
	! grep -a -q 'EXECUTE' "$T/direct/mbsync.log"
	# the same changes on both servers and both local copies
	for d in direct post; do
		"$PYTHON" "$md" change "$PL_DIR/$d/home/$DD_USER/Maildir" 11 >/dev/null
		chown -R "$IMX_USER:" "$PL_DIR/$d/home/$DD_USER/Maildir"
		"$PYTHON" "$md" change "$T/$d/Mail" 12 >/dev/null
		pl_mbsync "$d"
	done
	"$PYTHON" "$md" same "$T/direct/Mail" "$T/post/Mail"
	"$PYTHON" "$md" same "$PL_DIR/direct/home/$DD_USER/Maildir" \
		"$PL_DIR/post/home/$DD_USER/Maildir"
	n=$("$PYTHON" "$md" count "$T/post/Mail")
	[ "$n" -lt 600 ] && [ "$n" -gt 540 ]
	[ "$(grep -rl 'Message-ID: <new\.1[12]\.' "$T/post/Mail" | wc -l)" -eq 8 ]
}

@test "post-login: imapflow over TLS with a password discovers and runs a service" {
	pl_skip
	command -v node >/dev/null && command -v npm >/dev/null || skip "no node"
	local nd=$REPO/tests/node
	imx_node_modules "$nd"
	pl_fresh
	export EXECUTE_MJS_USER=$PL_USER2 EXECUTE_MJS_PASSFILE=$PL_DIR/pass2 \
		EXECUTE_MJS_CA=$DD_CA EXECUTE_MJS_SHOW_COMPRESSION=1
	timeout 60 node "$nd/execute.mjs" 127.0.0.1 "$PL_P_IMAPS" \
		>"$T/list.out" 2>"$T/list.err" || { cat "$T/list.out" "$T/list.err"; false; }
	cat "$T/list.out"
	grep -q "$(printf '^whoami\t()\twho runs$')" "$T/list.out"
	! grep -q '^onlyone' "$T/list.out"
	timeout 60 node "$nd/execute.mjs" 127.0.0.1 "$PL_P_IMAPS" whoami \
		>"$T/run.out" 2>"$T/run.err" || { cat "$T/run.out" "$T/run.err"; false; }
	grep -qx 'compression on' "$T/run.err"
	[ "$(cat "$T/run.out")" = "uid=$(id -u "$PL_USER2") home=$PL_DIR/post/home/$PL_USER2 user=$PL_USER2 addr=127.0.0.1 pwd=$PL_DIR/post/home/$PL_USER2" ]
	imx_wait_for pl_gone
}

# pl_signal_during_service SIG: send imapexec SIG while a service runs;
# the client must see the end and nothing may be left.
pl_signal_during_service() {
	pl_skip
	pl_fresh
	mkdir -p "$T/h" && printf 'x EXECUTE sleeper\r\n' >"$T/h/send"
	pl_hold send
	imx_wait_for pl_at_sleeping
	pl_pkill "$1" imapexec
	imx_wait_for test -e "$T/h/eof"
	wait "$PL_HOLD"
	imx_wait_for pl_gone
}

@test "post-login: SIGTERM to imapexec while a service runs: service killed, client sees the end, nothing left" {
	pl_signal_during_service TERM
}

@test "post-login: imapexec killed (SIGKILL) while a service runs: nothing left" {
	pl_signal_during_service KILL
}

@test "post-login: USER and HOME with odd bytes, no IP: log lines stay whole, the service runs" {
	[ "$EUID" -eq 0 ] || skip "needs root"
	local conf=$T/odd.conf
	cat >"$conf" <<-'CONF'
		services = (
		  { name = "whoami"; description = "who runs";
		    exec = [ "/bin/sh", "-c", "echo user=$IMAPEXEC_USER addr=$IMAPEXEC_REMOTE_ADDR pwd=$(pwd)" ]; }
		);
	CONF
	chmod 755 "$T"; chmod 644 "$conf"
	printf 'x EXECUTE whoami\r\nz LOGOUT\r\n' |
		timeout 60 "$PYTHON" "$REPO/tests/plpipe.py" -- \
		env -i PATH=/usr/bin:/bin USERDB_KEYS="USER HOME" \
		USER=$'ev\x1bil\nimapexec: Info: forged' \
		HOME=$'/nonexistent\nimapexec: Info: forged' \
		setpriv --reuid="$IMX_USER" --regid="$IMX_USER" --clear-groups \
		"$IMAPEXEC" -P -d -c "$conf" -- /usr/bin/python3 \
		"$REPO/tests/plfake.py" 3</dev/null >"$T/out" 2>"$T/err"
	cat -A "$T/out" "$T/err"
	grep -a -q '^\* EXECUTE (TAG "x") EXIT 0' "$T/out"
	grep -a -q '^z OK' "$T/out"
	# every log line is one of imapexec's, none forged
	! grep -a -v '^imapexec: [A-Z][a-z]*: ' "$T/err"
	! grep -a -q 'forged' <(grep -a -v 'ev\\x1bil\\x0aimapexec: Info: forged\|nonexistent\\x0aimapexec: Info: forged' "$T/err")
	grep -a -q 'Connect: user=<ev\\x1bil\\x0aimapexec: Info: forged>, rip=<>' "$T/err"
}

# Last: it stops the post daemon, whose master ends its service
# processes with SIGQUIT.
@test "post-login: SIGTERM to the whole Dovecot service while a service runs: nothing is left" {
	pl_skip
	pl_fresh
	mkdir -p "$T/h" && printf 'x EXECUTE sleeper\r\n' >"$T/h/send"
	: >"$PL_DIR/post/dovecot.log"
	pl_hold send
	imx_wait_for pl_at_sleeping
	DD_PID=$PL_P_PID
	dd_stop
	wait "$PL_HOLD" || true
	imx_wait_for pl_gone
	! pgrep -f "$PL_DIR/post/run" >/dev/null
	! grep -a -E 'Fatal|Panic' "$PL_DIR/post/dovecot.log"
}

# The rest of the chain cannot be executed (missing, not executable, a
# script without #!, a directory) or imapexec has too few descriptors for
# the hand-off: imapexec says why, exits 1 at once, the client gets no
# byte and nothing is left.  Outside Dovecot, as the test above.
@test "post-login: a chain that cannot be executed, or RLIMIT_NOFILE too small: clear error, exit 1, nothing left" {
	[ "$EUID" -eq 0 ] || skip "needs root"
	local conf=$T/pl.conf b want rc n
	printf 'services = ( { name = "x"; exec = [ "/bin/true" ]; } );\n' >"$conf"
	printf 'echo hi\n' >"$T/noshebang"
	printf '#!/bin/sh\necho hi\n' >"$T/noexec"
	chmod 755 "$T" "$T/noshebang"
	chmod 644 "$conf" "$T/noexec"
	mkdir -p "$T/adir"
	# pl_run PROGRAM [prlimit opts]: imapexec -P in front of PROGRAM, as
	# the test user, its client holding on; sets rc
	pl_run() {
		local b=$1
		shift
		rc=0
		# (LeakSanitizer cannot work under a tiny RLIMIT_NOFILE)
		timeout -k 5 30 env -i PATH=/usr/bin:/bin USERDB_KEYS=USER \
			USER="$IMX_USER" ASAN_OPTIONS=detect_leaks=0 setpriv --reuid="$IMX_USER" \
			--regid="$IMX_USER" --clear-groups prlimit "$@" -- \
			"$IMAPEXEC" -P -d -c "$conf" -- "$b" \
			3</dev/null >"$T/out" 2>"$T/err" < <(exec sleep 40) || rc=$?
		kill $! 2>/dev/null || true
		echo "# $b $*: exit $rc: $(tail -n 1 "$T/err")" >&3
		[ "$rc" -ne 124 ]
		[ ! -s "$T/out" ]
		imx_assert_no_leftovers
	}
	for b in "/nonexistent/imap:No such file or directory" \
	    "$T/noshebang:Exec format error" "$T/noexec:Permission denied" \
	    "$T/adir:Permission denied"; do
		want=${b#*:}
		pl_run "${b%%:*}"
		[ "$rc" -eq 1 ]
		grep -q -F "Error: backend=<${b%%:*}>: $want" "$T/err"
	done
	# every limit up to the first that works (the chain, true, ends at
	# once: exit 0)
	for n in $(seq 5 30); do
		pl_run /usr/bin/true --nofile="$n:$n"
		[ "$rc" -ne 0 ] || break
		grep -q 'error while loading shared libraries' "$T/err" &&
			continue
		[ "$rc" -eq 1 ]
		# whichever step runs out (the config's working directory,
		# the signals, the spawn) names itself
		grep -q -E '^imapexec: (Error: )?[^ ].*: Too many open files$' "$T/err"
	done
	[ "$rc" -eq 0 ]
}
