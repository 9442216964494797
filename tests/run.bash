# tests/run.bash - helpers for tests/80-run.bats, imapexec-run through a
# preauth tunnel (load after helper and execute).
#
#   rn_setup             per test, after imx_setup and ex_setup: a home
#                        $H (template Maildir), $T/dovecot.conf, the config
#                        with the extra services of this suite, and TUNNEL:
#                        the shell command that runs imapexec in front of
#                        Dovecot's imap as the test user (stderr to
#                        $T/tunnel.log)
#   rn [args]            run imapexec-run with bats' run (stdout only),
#                        bounded by a timeout; stderr in $T/run.err; the
#                        status must be RN_WANT (default 0)
#   rn_teardown          stop rn_capproxy's relay; after a failed test,
#                        show the stderr files
#   rn_login_start DIR [EXTRA...], rn_login_stop
#                        a Dovecot daemon whose post-login script is
#                        imapexec, with users whose passwords need quoting
#                        and a literal (see below)
#   rn_capproxy MODE PORT
#                        tests/capproxy.py in front of it: capability
#                        lists without AUTH=PLAIN and STARTTLS
#
# RUN_BIN is the client under test: imapexec-run beside $IMAPEXEC (so the
# ASan build of imapexec pairs with the ASan build of the client), or
# $IMAPEXEC_RUN.

RUN_BIN=${IMAPEXEC_RUN:-$(dirname "$IMAPEXEC")/imapexec-run}

rn_setup() {
	[ -x "$RUN_BIN" ] || skip "$RUN_BIN not built (run make)"
	H=$T/home
	cp -a "$IMX_RUN/template" "$H"
	mkdir -p "$H/cal"
	imx_own "$H"
	if [ ! -d "$IMX_RUN/services-bin" ]; then
		cp -a "$REPO/scripts/services" "$IMX_RUN/services-bin"
		chmod -R a+rX "$IMX_RUN/services-bin"
	fi
	imx_write_dovecot_conf "$T/dovecot.conf" "$H/Maildir"
	ex_config "$(rn_services)"
	: >"$T/tunnel.log"
	imx_own "$T/tunnel.log"
	imx_command filtered "$H" "$T/dovecot.conf"
	TUNNEL="$(printf '%q ' "${IMX_CMD[@]}") 2>>$T/tunnel.log"
}

# The services this suite adds to execute.bash's.
rn_services() {
	cat <<-EOF
		{ name = "echo"; exec = [ "/bin/echo" ]; dash_args = true; },
		{ name = "catpid"; interactive = true;
		  exec = [ "/bin/sh", "-c", "echo \$\$ >\"\$0\"; exec cat", "$T/cat.pid" ]; },
		{ name = "yespid"; interactive = true;
		  exec = [ "/bin/sh", "-c", "echo \$\$ >\"\$0\"; exec yes", "$T/yes.pid" ]; },
		{ name = "calendar2"; interactive = true; timeout = 60;
		  exec = [ "$IMX_RUN/services-bin/calendar" ];
		  env = [ "HOME=$H/cal", "TZ=Europe/Berlin" ]; },
	EOF
}

# rn ARGS...: run the client (stdin as given), 60 s at most.
# RN_WANT is the exit status it must have (default 0).
rn() {
	run "-${RN_WANT:-0}" rn_client "$@"
}

# rn_teardown: after a failed test, show the client's and the tunnel's
# stderr.
rn_teardown() {
	[ -z "${CP_PID:-}" ] || { kill "$CP_PID"; wait "$CP_PID"; } 2>/dev/null || true
	CP_PID=
	[ -z "${BATS_TEST_COMPLETED:-}" ] || return 0
	[ -n "${T:-}" ] || return 0
	local f
	for f in "$T/run.err" "$T/tunnel.log"; do
		[ -s "$f" ] || continue
		echo "# $f:"
		tail -n 30 "$f" | sed 's/^/#   /'
	done >&3
}

rn_client() {
	timeout --foreground -s KILL 60 "$RUN_BIN" "$@" 2>"$T/run.err"
}

# rn_discovery: the service names of a discovery, read from the raw
# IMAP session (no imapexec-run involved), one a line.
rn_discovery() {
	printf 'a EXECUTE\r\nb LOGOUT\r\n' | timeout 30 bash -c "$TUNNEL" |
		tr -d '\r' | sed -n 's/^\* EXECUTE SERVICE \([^ ]*\) .*/\1/p'
}

# rn_login_start DIR [EXTRA...]: a Dovecot daemon of tests/dovecotd.bash
# under DIR whose post-login script is imapexec with two services (echo,
# cat), with the config lines EXTRA (such as "auth_mechanisms = login",
# which makes imap-login offer AUTH=LOGIN alone, and LOGINDISABLED).  Users: DD_USER with RL_PASS (a quote, a
# backslash, spaces: a quoted string) and RL_USER8 with RL_PASS8 (a
# non-ASCII byte too: a literal).  Sets RL_DIR, RL_PID, RL_IMAP, RL_IMAPS;
# the CA is $RL_DIR/ca.crt.  As root, else RL_PID stays empty.
RL_PASS='p "w" \ x y'
RL_USER8=runuser8
RL_PASS8=$(printf 'q "8" \\ \351 z')
rn_login_start() {
	local DD_DIR DD_PID DD_CA DD_IMAP_PORT DD_IMAPS_PORT DD_EXTRA
	local DD_PASS=$RL_PASS
	RL_PID=
	[ "$EUID" -eq 0 ] && command -v dovecot >/dev/null || return 0
	local dir=$1
	shift
	mkdir -p "$dir"
	chmod 755 "$dir"
	cat >"$dir/imapexec.conf" <<-CONF
		services = (
		  { name = "echo"; exec = [ "/bin/echo" ]; },
		  { name = "cat"; interactive = true; exec = [ "/bin/cat" ]; }
		);
	CONF
	chmod 644 "$dir/imapexec.conf"
	mapfile -t DD_EXTRA < <(dd_postlogin_conf "$IMAPEXEC" "$dir/imapexec.conf")
	DD_EXTRA+=("$@")
	dd_start "$dir"
	mkdir -p "$DD_DIR/home/$RL_USER8"
	imx_own "$DD_DIR/home/$RL_USER8"
	# passwd-file reads the file again when it changes
	printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$RL_USER8" "$RL_PASS8" \
		"$(id -u "$IMX_USER")" "$(id -g "$IMX_USER")" \
		"$DD_DIR/home/$RL_USER8" >>"$DD_DIR/passwd"
	RL_DIR=$DD_DIR RL_PID=$DD_PID RL_IMAP=$DD_IMAP_PORT
	RL_IMAPS=$DD_IMAPS_PORT
	export RL_DIR RL_PID RL_IMAP RL_IMAPS
}

# rn_login_stop: stop rn_login_start's daemon.
rn_login_stop() {
	local DD_PID=${RL_PID:-}
	dd_stop
}

# rn_capproxy MODE PORT: tests/capproxy.py in front of 127.0.0.1:PORT;
# CP_PORT, CP_PID (rn_teardown stops it).
rn_capproxy() {
	rm -f "$T/cp.port"
	python3 "$REPO/tests/capproxy.py" "$1" "$T/cp.port" "$2" \
		2>"$T/capproxy.err" &
	CP_PID=$!
	imx_wait_for test -s "$T/cp.port"
	CP_PORT=$(cat "$T/cp.port")
}
