#!/usr/bin/env bats
# Privilege rules (root only): imapexec started as root
#  - without `user` in the config stays root as a filter but refuses every
#    EXECUTE with NO [UNAVAILABLE], and logs why;
#  - with `user` becomes that account (its uid, its gid, its own groups:
#    root's supplementary groups are dropped) before it starts the backend,
#    and services run with those credentials and exactly the documented
#    environment, nothing of the launcher's.

load helper
load execute
# hooks of the libraries loaded above: teardown_file: helper.bash's

setup_file() {
	[ "$EUID" -eq 0 ] || skip "privilege tests need root"
	ex_setup_file
}
setup() {
	[ "$EUID" -eq 0 ] || skip "privilege tests need root"
	imx_require_binary
	imx_setup
	HOME_P=$T/home.priv
	cp -a "$IMX_RUN/template" "$HOME_P"
	imx_write_dovecot_conf "$T/dovecot.priv.conf" "$HOME_P/Maildir"
	: >"$T/priv.log"
	imx_own "$T/priv.log"
}

# priv_conf [USER]: $T/priv.conf with the ids and info services, and
# `user = USER` if given.
priv_conf() {
	{
		printf 'backend = [ "%s" ];\n' "$DOVECOT_IMAP"
		[ -z "${1:-}" ] || printf 'user = "%s";\n' "$1"
		echo 'services = ('
		ex_service ids ids.sh
		printf '\t{ name = "info"; exec = [ "%s/info.sh" ];\n' "$EX_SERVICES"
		printf '\t  env = [ "EXTRA=from config" ]; }\n'
		echo ');'
	} >"$T/priv.conf"
	chmod 644 "$T/priv.conf"
}

# priv_run SCRIPT BACKEND...: imapexec as root (supplementary groups 0, 4
# and 24 added, a SECRET in its environment), in front of BACKEND.
priv_run() {
	local script=$1
	shift
	local cmd=(setpriv --groups=0,4,24 -- env -i HOME=/root USER=root
		LOGNAME=root "PATH=$IMX_PATH" SECRET=launcher-only)
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -z "${!v:-}" ] || cmd+=("$v=${!v}")
	done
	cmd+=("$IMAPEXEC" -d -c "$T/priv.conf" -- "$@")
	local rc=0
	"$PYTHON" "$DRIVER" --out "$T/filtered.out" --log "$T/priv.log" \
		"$script" -- "${cmd[@]}" 2>"$T/priv.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$T/priv.err" "$T/priv.log" >&2
		return 1
	fi
}

@test "root without user: EXECUTE refused with NO [UNAVAILABLE], logged, filter goes on" {
	priv_conf
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE ids
		wait a NO
		> b EXECUTE
		wait b NO
		> c NOOP
		wait c OK
	EOF2
	# Dovecot does not run as root: a plain backend stands in for it
	priv_run "$T/s.txt" "$EX_SERVICES/fakeimap.py"
	grep -a -q -E '^a NO \[UNAVAILABLE\] ' "$T/filtered.out"
	grep -a -q -E '^b NO \[UNAVAILABLE\] ' "$T/filtered.out"
	grep -a -q -E '^c OK ' "$T/filtered.out"
	imx_refute_grep '^\* EXECUTE' "$T/filtered.out"
	grep -a -q 'running as root: no user set' "$T/priv.log"
	grep -a -q 'execute: refused: imapexec runs as root' "$T/priv.log"
}

@test "root with user: backend and service run as the user, root's groups dropped" {
	priv_conf "$IMX_USER"
	cat >"$T/s.txt" <<-'EOF2'
		> a EXECUTE ids
		wait a OK
		> b LOGOUT
		wait b OK
	EOF2
	priv_run "$T/s.txt" "$DOVECOT_IMAP" -c "$T/dovecot.priv.conf"
	local uid gid groups
	uid=$(id -u "$IMX_USER")
	gid=$(id -g "$IMX_USER")
	groups=$(id -G "$IMX_USER" | tr ' ' '\n' | sort -n | tr '\n' ' ')
	ex_out a >"$T/ids"
	cat "$T/ids" >&3
	grep -q -x -E "Uid:\s+$uid\s+$uid\s+$uid\s+$uid" "$T/ids"
	grep -q -x -E "Gid:\s+$gid\s+$gid\s+$gid\s+$gid" "$T/ids"
	local got
	got=$(sed -n 's/^Groups:\s*//p' "$T/ids" | tr ' \t' '\n\n' | grep . |
		sort -n | tr '\n' ' ')
	[ "$got" = "$groups" ] || {
		echo "# groups: got <$got>, want <$groups> (the user's own)" >&2
		false
	}
	# the backend ran as the user too: Dovecot says whom it serves
	grep -a -q -E "^\* PREAUTH .* Logged in as $IMX_USER" "$T/filtered.out"
	grep -a -q -E "execute: user=<$IMX_USER>, service=<ids>, tag=<a>, status=<OK>" "$T/priv.log"
	imx_assert_no_leftovers
}

@test "root with user: the service environment is exactly the documented set" {
	priv_conf "$IMX_USER"
	printf '%s\n' '> a EXECUTE info' 'wait a OK' '> b LOGOUT' 'wait b OK' >"$T/s.txt"
	priv_run "$T/s.txt" "$DOVECOT_IMAP" -c "$T/dovecot.priv.conf"
	ex_out a | grep '^env ' >"$T/env"
	cat >"$T/want" <<-EOF2
		env EXTRA=from config
		env HOME=$EX_HOME
		env IMAPEXEC_REMOTE_ADDR=
		env IMAPEXEC_SERVICE=info
		env IMAPEXEC_USER=$IMX_USER
		env LOGNAME=$IMX_USER
		env PATH=/usr/local/bin:/usr/bin:/bin
		env USER=$IMX_USER
	EOF2
	diff -u "$T/want" "$T/env"
	ex_out a | grep -q -x "cwd=$EX_HOME"
	imx_assert_no_leftovers
}
