#!/usr/bin/env bats
# Dovecot post-login mode deployed as an admin would: the shipped
# conf/dovecot/90-imapexec-postlogin.conf, with the installed paths
# (tests/dovecotd.bash dd_postlogin_shipped), in a real `dovecot -F`
# with imaps and STARTTLS and password logins of two users with their
# own uids.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin
# hooks of the libraries loaded above: teardown_file: postlogin.bash's;
# setup: helper.bash's

setup_file() {
	PL_SHIPPED=1
	pl_setup_file
	[ -n "${PL_DIR:-}" ] || return 0
	# what a service sees: its descriptors, environment and limits
	sed -i '$d' "$PL_DIR/imapexec.conf"
	cat >>"$PL_DIR/imapexec.conf" <<-'CONF'
		  ,
		  { name = "fds"; description = "its descriptors";
		    exec = [ "/bin/sh", "-c", "ls /proc/$$/fd; :" ]; },
		  { name = "env"; description = "its environment";
		    exec = [ "/usr/bin/env" ]; },
		  { name = "vsz"; description = "its address space limit";
		    exec = [ "/bin/sh", "-c", "ulimit -v" ]; }
		);
	CONF
	"$IMAPEXEC" -t -c "$PL_DIR/imapexec.conf" >/dev/null
}

# pl_run SERVICE: imapexec-run as user 2 over imaps:// runs SERVICE;
# output in $output.
pl_run() {
	run --separate-stderr timeout 60 \
		"${IMAPEXEC_RUN:-$(dirname "$IMAPEXEC")/imapexec-run}" \
		-C "$DD_CA" -p "cat $PL_DIR/pass2" \
		"imaps://$PL_USER2@127.0.0.1:$PL_P_IMAPS" "$1"
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
}

# pl_doveconf NAME: the post daemon's setting NAME.
pl_doveconf() {
	doveconf -c "$PL_DIR/post/dovecot.conf" -h "$1"
}

# pl_process_limit SERVICE: its process_limit (0: default_process_limit).
pl_process_limit() {
	local n
	n=$(pl_doveconf "service/$1/process_limit")
	[ "$n" -ne 0 ] || n=$(pl_doveconf default_process_limit)
	echo "$n"
}

@test "shipped example: the post-login service takes as many sessions as imap does" {
	pl_skip
	# Each session keeps its post-login process (imapexec) for its
	# whole life: Dovecot's default_process_limit (100) would refuse
	# the 101st user, after imap's post-login timeout.
	pl_process_limit imap
	pl_process_limit imapexec-postlogin
	[ "$(pl_process_limit imapexec-postlogin)" -ge \
		"$(pl_process_limit imap)" ]
}

@test "shipped example: 30 concurrent logins over imaps and STARTTLS, two users, each EXECUTE runs as its user" {
	pl_skip
	pl_fresh
	local i n tls pids=()
	for i in $(seq 30); do
		n=$((i % 2 + 1)) tls=ssl user=$DD_USER
		[ $((i % 4)) -lt 2 ] || tls=starttls
		[ "$n" = 2 ] && user=$PL_USER2
		opts=()
		[ "$tls" = ssl ] && opts+=(--ssl)
		timeout 120 "$PYTHON" "$REPO/tests/plclient.py" "${opts[@]}" \
			--execute whoami "$(pl_port post "$tls")" "$user" \
			"$PL_DIR/pass$n" "$DD_CA" >"$T/c$i.out" 2>"$T/c$i.err" &
		pids+=($!)
	done
	for i in $(seq 30); do
		wait "${pids[$((i - 1))]}" || { cat "$T/c$i.err"; false; }
	done
	for i in $(seq 30); do
		n=$((i % 2 + 1)) user=$DD_USER uid=$(id -u "$IMX_USER")
		[ "$n" = 2 ] && user=$PL_USER2 uid=$(id -u "$PL_USER2")
		grep -a -q -F "OUT \"uid=$uid home=$PL_DIR/post/home/$user user=$user addr=127.0.0.1 " "$T/c$i.out" ||
			{ cat "$T/c$i.out"; false; }
		grep -a -q '^\* EXECUTE (TAG "T[0-9]*") EXIT 0' "$T/c$i.out"
	done
	imx_wait_for pl_gone
	! pl_pgrep imapexec >/dev/null
}

@test "shipped example: a service has fds 0, 1, 2 and nothing else" {
	pl_skip
	pl_run fds
	[ "$(echo "$output" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
}

@test "shipped example: a service's environment is the documented one: no password, nothing of Dovecot's" {
	pl_skip
	pl_run env
	[ "$(echo "$output" | sed 's/=.*//' | sort | tr '\n' ' ')" = \
		"HOME IMAPEXEC_REMOTE_ADDR IMAPEXEC_SERVICE IMAPEXEC_USER LOGNAME PATH USER " ]
	echo "$output" | grep -qx "USER=$PL_USER2"
	echo "$output" | grep -qx "IMAPEXEC_REMOTE_ADDR=127.0.0.1"
	! echo "$output" | grep -q -F "$DD_PASS2"
}

@test "shipped example: a service has no address space limit (none in the other modes either)" {
	pl_skip
	pl_run vsz
	[ "$output" = unlimited ]
}

@test "shipped example: LOGIN + EXECUTE pipelined in one write: nothing runs, imap refuses it, the session goes on" {
	pl_skip
	pl_fresh
	run timeout 60 "$PYTHON" "$REPO/tests/plraw.py" pipeline \
		"$PL_P_IMAPS" "$PL_USER2" "$PL_DIR/pass2" "$DD_CA" -
	echo "$output"
	[ "$status" -eq 0 ]
	# imap-login read the EXECUTE with the LOGIN and gave it to imap:
	# imapexec never saw it
	[[ "$output" == *"x BAD "* ]]
	[[ "$output" == *"n OK"* ]]
	[[ "$output" == *"z OK"* ]]
	[ ! -e "$PL_DIR/spool/ran" ]
	imx_wait_for pl_gone
}

# pl_pipes PID: the pipe inodes among PID's descriptors (but 0, 1, 2).
pl_pipes() {
	local f
	for f in /proc/"$1"/fd/*; do
		case ${f##*/} in 0 | 1 | 2) continue ;; esac
		readlink "$f"
	done | sed -n 's/^pipe:\[\([0-9]*\)\]$/\1/p' | sort -u
}

@test "shipped example: imapexec keeps no descriptor of Dovecot's master beyond 0, 1, 2" {
	pl_skip
	pl_fresh
	pl_hold
	i=$(pl_pgrep imapexec)
	ls -l "/proc/$i/fd"
	pl_pipes "$i" >"$T/own"
	pl_pipes "$PL_P_PID" >"$T/master"
	touch "$T/h/close"
	wait "$PL_HOLD"
	imx_wait_for pl_gone
	# nothing shared with the master (status and death pipes, its log)
	[ -z "$(comm -12 "$T/own" "$T/master")" ]
}
