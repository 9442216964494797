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
#   rn_teardown          after a failed test, show the stderr files
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
