# tests/postlogin.bash - two Dovecot daemons of tests/dovecotd.bash with the
# same users and certificates, one plain ("direct") and one with imapexec
# -P as its post-login script ("post"); load after helper and dovecotd.
#
#   pl_setup_file        start both (root only); exports PL_* below
#   pl_teardown_file     stop both
#   pl_fresh             give both users of both daemons a fresh copy of
#                        the template Maildir (identical UIDVALIDITY etc.)
#   pl_client MODE ...   tests/plclient.py against daemon MODE (direct|post)
#   pl_hold [send]       a session of user 2 held open (see below)
#   pl_gone              nothing of user 2's sessions is left
#   pl_log_clean         no error in the post daemon's log
#
# PL_EXTRA=(lines), set before pl_setup_file, go into the post daemon's
# config too; with PL_SHIPPED=1 the post daemon runs the shipped
# conf/dovecot example (dd_postlogin_shipped), else dd_postlogin_conf
# (DD_PL_IMAP, DD_PL_CHAIN, DD_PL_LINES apply).  With PL_CHAIN=1 the
# chain runs $PL_DIR/chain.sh between imapexec and script-login: it
# touches $PL_DIR/spool/chain.USER, then does what $PL_DIR/chain.mode
# says: "hang" (sleep, then go on), "die" (exit 1), "wait" (go on once
# $PL_DIR/spool/go exists, at most 30 s), anything else: go on at once.
# PL_USER2 is the second user (an account of the run's own, imxt-ID-u2,
# with its own uid and home); PL_DIR holds the
# imapexec config ($PL_DIR/imapexec.conf), the password files (pass1,
# pass2) and a world-writable $PL_DIR/spool for what services leave.

PL_USER2=${PL_USER2:-}

pl_setup_file() {
	imx_setup_file
	[ "$EUID" -eq 0 ] && command -v dovecot >/dev/null || return 0
	PL_USER2=$(imx_account u2) || return 1
	export PL_USER2
	PL_DIR=$IMX_RUN/pl
	mkdir -p "$PL_DIR/spool"
	chmod 1777 "$PL_DIR/spool"
	chmod 755 "$PL_DIR"
	printf '%s\n' "$DD_PASS" >"$PL_DIR/pass1"
	printf '%s\n' "$DD_PASS2" >"$PL_DIR/pass2"
	chmod 644 "$PL_DIR/pass1" "$PL_DIR/pass2"
	cat >"$PL_DIR/imapexec.conf" <<-CONF
		services = (
		  { name = "whoami"; description = "who runs";
		    exec = [ "/bin/sh", "-c",
		      "echo uid=\$(id -u) home=\$HOME user=\$IMAPEXEC_USER addr=\$IMAPEXEC_REMOTE_ADDR pwd=\$(pwd)" ]; },
		  { name = "onlyone"; description = "for $DD_USER alone";
		    users = [ "$DD_USER" ];
		    exec = [ "/bin/echo", "only" ]; },
		  { name = "sleeper"; description = "sleeps";
		    exec = [ "/bin/sleep", "4242" ]; },
		  { name = "mark"; description = "leaves a mark";
		    exec = [ "/usr/bin/touch", "$PL_DIR/spool/ran" ]; }
		);
	CONF
	chmod 644 "$PL_DIR/imapexec.conf"
	if [ -n "${PL_CHAIN:-}" ]; then
		cat >"$PL_DIR/chain.sh" <<-SH
			#!/bin/sh
			d=$PL_DIR
			touch "\$d/spool/chain.\$USER"
			case \$(cat "\$d/chain.mode" 2>/dev/null) in
			hang) sleep 4243 ;;
			die) exit 1 ;;
			wait)
				i=0
				while [ ! -e "\$d/spool/go" ] && [ \$i -lt 300 ]; do
					sleep 0.1; i=\$((i + 1))
				done ;;
			esac
			exec "\$@"
		SH
		chmod 755 "$PL_DIR/chain.sh"
		: >"$PL_DIR/chain.mode"
		chmod 644 "$PL_DIR/chain.mode"
		DD_PL_CHAIN=$PL_DIR/chain.sh
	fi
	export DD_USER2=$PL_USER2
	dd_certs "$PL_DIR/direct"
	mkdir -p "$PL_DIR/post"
	cp -p "$PL_DIR/direct"/*.crt "$PL_DIR/direct"/*.key "$PL_DIR/post/"
	DD_EXTRA=()
	dd_start "$PL_DIR/direct"
	PL_D_PID=$DD_PID PL_D_IMAP=$DD_IMAP_PORT PL_D_IMAPS=$DD_IMAPS_PORT
	local how=conf
	[ -z "${PL_SHIPPED:-}" ] || how=shipped
	mapfile -t DD_EXTRA < <("dd_postlogin_$how" "$IMAPEXEC" \
		"$PL_DIR/imapexec.conf")
	DD_EXTRA+=("${PL_EXTRA[@]}")
	dd_start "$PL_DIR/post"
	PL_P_PID=$DD_PID PL_P_IMAP=$DD_IMAP_PORT PL_P_IMAPS=$DD_IMAPS_PORT
	DD_PID=
	export PL_DIR PL_D_PID PL_D_IMAP PL_D_IMAPS PL_P_PID PL_P_IMAP \
		PL_P_IMAPS DD_CA DD_USER DD_PASS DD_PASS2
}

pl_teardown_file() {
	local p
	for p in "${PL_D_PID:-}" "${PL_P_PID:-}"; do
		DD_PID=$p
		dd_stop
	done
	imx_teardown_file
}

# pl_skip: skip unless the daemons run.
pl_skip() {
	[ -n "${PL_P_PID:-}" ] || skip "needs root and dovecot"
}

pl_fresh() {
	local d u o
	for d in direct post; do
		for u in "$DD_USER" "$PL_USER2"; do
			o=$u
			[ "$u" != "$DD_USER" ] || o=$IMX_USER
			rm -rf "$PL_DIR/$d/home/$u/Maildir"
			cp -a "$IMX_RUN/template/Maildir" "$PL_DIR/$d/home/$u/"
			chown -R "$o:" "$PL_DIR/$d/home/$u/Maildir"
		done
	done
	rm -f "$PL_DIR/spool/ran" "$PL_DIR/spool/go" "$PL_DIR/spool"/chain.*
	[ ! -e "$PL_DIR/chain.mode" ] || : >"$PL_DIR/chain.mode"
}

# pl_port MODE ssl|starttls: the daemon's port for it.
pl_port() {
	case $1:$2 in
	direct:ssl) echo "$PL_D_IMAPS" ;;
	direct:starttls) echo "$PL_D_IMAP" ;;
	post:ssl) echo "$PL_P_IMAPS" ;;
	post:starttls) echo "$PL_P_IMAP" ;;
	esac
}

# pl_client MODE ssl|starttls USERNUM [plclient options]: run plclient.py,
# output in $T/MODE.out, stderr in $T/MODE.err.
pl_client() {
	local mode=$1 tls=$2 n=$3 user=$DD_USER opts=()
	shift 3
	[ "$n" = 2 ] && user=$PL_USER2
	[ "$tls" = ssl ] && opts+=(--ssl)
	timeout 60 "$PYTHON" "$REPO/tests/plclient.py" "${opts[@]}" "$@" \
		"$(pl_port "$mode" "$tls")" "$user" "$PL_DIR/pass$n" "$DD_CA" \
		>"$T/$mode.out" 2>"$T/$mode.err"
}

# pl_hold [send]: a session of user 2 over imaps held open by plraw.py
# hold (or send: with the bytes of $T/h/send sent after the login), in
# the background (PL_HOLD its pid, state in $T/h); waits until logged in.
pl_hold() {
	mkdir -p "$T/h"
	timeout 60 "$PYTHON" "$REPO/tests/plraw.py" "${1:-hold}" "$PL_P_IMAPS" \
		"$PL_USER2" "$PL_DIR/pass2" "$DD_CA" "$T/h" 3>&- &
	PL_HOLD=$!
	imx_wait_for test -e "$T/h/ready"
}

# pl_pgrep [pgrep options] NAME: pgrep NAME (exactly) among the processes
# of the run's two accounts (imapexec, imap, chain.sh run as the user who
# logs in).  pl_pkill SIGNAL NAME: the same for pkill.
pl_pgrep() {
	pgrep "${@:1:$#-1}" -u "$IMX_USER,$PL_USER2" -x "${!#}"
}
pl_pkill() {
	pkill "-$1" -u "$IMX_USER,$PL_USER2" -x "$2"
}

# pl_gone: no imapexec (of either user), no imap, no chain.sh and no
# service of user 2 is left: the accounts are this run's own.
pl_gone() {
	! pl_pgrep imapexec >/dev/null &&
		! pgrep -u "$IMX_USER" -x sleep >/dev/null &&
		! pgrep -u "$PL_USER2" >/dev/null
}

# pl_log_clean: no error-level line in the post daemon's log.
pl_log_clean() {
	! grep -a -E 'Error|Fatal|Panic' "$PL_DIR/post/dovecot.log"
}

# The hooks of a file that loads postlogin: the two daemons of the run; a
# fresh $T a test.
setup_file() { pl_setup_file; }
teardown_file() { pl_teardown_file; }
