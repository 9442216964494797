#!/usr/bin/env bats
# Safe by default (issue 16): what make install and the shipped files
# enable must not open the mailbox or the MTA to anyone, and the
# configuration checks refuse what cannot work.
#  - the installed launchers listen on loopback only, and say why;
#  - a socket service connects without freezing imapexec: SIGTERM and the
#    client's hang-up end it at once, one deadline covers every address;
#  - imapexec -t refuses configurations that cannot work, with file, line
#    and reason;
#  - rlimits: "unlimited" is a limit, 0 is refused;
#  - a user in more than 256 groups still gets group-restricted services.
# The SMTP service against a real Postfix is in 50-services.bats.

load helper
load execute
# hooks of the libraries loaded above: setup_file: execute.bash's;
# teardown_file: helper.bash's

SAFE_DIR=$REPO/tests/safe
# the name and the tag of its lines in /etc/hosts are this run's own
SAFE_HOSTS_TAG="# imapexec-63-safe-defaults $IMX_ID"
SAFE_NAME=imapexec-two-$IMX_ID.test
SAFE_GROUPS=300

setup() {
	imx_setup
	ex_setup
	SAFE_BH_PID=
}
teardown() {
	if [ -n "${SAFE_BH_PID:-}" ]; then
		kill "$SAFE_BH_PID" 2>/dev/null || true
		wait "$SAFE_BH_PID" 2>/dev/null || true
	fi
	[ -z "${EX_PID:-}" ] || { kill "$EX_PID" 2>/dev/null || true; wait "$EX_PID" 2>/dev/null || true; }
	safe_hosts_clean
	safe_groups_clean
}

# --- launchers ----------------------------------------------------------

# flat FILE: the text of FILE on one line, comment marks and roff line
# breaks folded into single spaces.
flat() { tr '\n#' '  ' <"$1" | tr -s ' \t' '  '; }

@test "make install: the installed socket unit and xinetd entry listen on loopback only, and say why" {
	local d=$T/dest
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" DESTDIR="$d" >"$T/make.log"
	local unit=$d/usr/local/lib/systemd/system/imapexec.socket
	local xi=$d/usr/local/share/doc/imapexec/examples/xinetd.imapexec
	[ -f "$unit" ]
	[ -f "$xi" ]
	# every active Listen*= of the unit is a loopback address with a port
	sed -n -E 's/^[[:space:]]*Listen[A-Za-z]*[[:space:]]*=[[:space:]]*//p' \
		"$unit" >"$T/listen"
	cat "$T/listen" >&3
	[ -s "$T/listen" ]
	local l
	while read -r l; do
		case $l in
		127.0.0.1:[0-9]*|'[::1]:'[0-9]*) ;;
		*) echo "# not loopback: Listen...=$l" >&2; return 1 ;;
		esac
	done <"$T/listen"
	grep -qx '127.0.0.1:143' "$T/listen"
	grep -qx '\[::1\]:143' "$T/listen"
	# every active xinetd service binds to a loopback address
	awk '/^[ \t]*#/ { next }
	     /^[ \t]*service[ \t]/ { n++; b[n] = "" }
	     /^[ \t]*(bind|interface)[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); b[n] = v }
	     END { for (i = 1; i <= n; i++) print "service " i ": bind=" b[i] }' \
		"$xi" >"$T/binds"
	cat "$T/binds" >&3
	[ -s "$T/binds" ]
	! grep -v -E ': bind=(127\.0\.0\.1|::1)$' "$T/binds" || false
	# the one plain sentence, in every place an admin reads
	local f
	for f in "$unit" "$xi" "$REPO/README" \
		"$d/usr/local/share/man/man8/imapexec.8"; do
		flat "$f" | grep -q 'hands the mailbox to anyone who can connect' || {
			echo "# $f does not say it" >&2
			return 1
		}
	done
}

# --- socket services: connect without blocking ---------------------------

# safe_hosts: $SAFE_NAME has two addresses, 127.0.0.2 and 127.0.0.3, in
# /etc/hosts (root only; removed by teardown).
safe_hosts() {
	[ "$EUID" -eq 0 ] || skip "a name with two addresses needs root (/etc/hosts)"
	safe_hosts_clean
	(
		flock -w 60 9
		printf '127.0.0.2 %s %s\n127.0.0.3 %s %s\n' "$SAFE_NAME" \
			"$SAFE_HOSTS_TAG" "$SAFE_NAME" "$SAFE_HOSTS_TAG" >>/etc/hosts
	) 9</etc/hosts
	[ "$(getent ahostsv4 "$SAFE_NAME" | awk '$2 == "STREAM" { print $1 }' | sort | tr '\n' ' ')" = \
		"127.0.0.2 127.0.0.3 " ]
}

# /etc/hosts may be a bind mount: rewrite it in place, never rename; under
# a lock on the file itself, as another suite may be writing its own
# lines; and never empty, as others read it: the lines that stay are
# written over the old ones, then the file is cut to their length.
safe_hosts_clean() {
	[ "$EUID" -eq 0 ] && grep -qF "$SAFE_HOSTS_TAG" /etc/hosts || return 0
	(
		flock -w 60 9
		"$PYTHON" -c 'import sys
with open("/etc/hosts", "r+b") as f:
    old = f.read()
    new = b"".join(l for l in old.splitlines(True)
                   if sys.argv[1].encode() not in l)
    f.seek(0)
    f.write(new)
    f.truncate(len(new))' "$SAFE_HOSTS_TAG"
	) 9</etc/hosts
}

# safe_blackhole ADDR...: listeners with a full backlog on ADDR:$SAFE_PORT.
safe_blackhole() {
	SAFE_PORT=$("$PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.2", 0)); print(s.getsockname()[1])')
	"$PYTHON" "$SAFE_DIR/blackhole.py" "$SAFE_PORT" "$@" >"$T/bh.out" 2>&1 &
	SAFE_BH_PID=$!
	imx_wait_for grep -qx ready "$T/bh.out"
}

# safe_syn_sent N: at least N connections to $SAFE_PORT hang in SYN-SENT.
safe_syn_sent() {
	[ "$(ss -tnH state syn-sent "( dport = :$SAFE_PORT )" | wc -l)" -ge "$1" ]
}

# safe_hang_config TIMEOUT: the service "hang" connects to both addresses
# of $SAFE_NAME, whose backlogs are full.
safe_hang_config() {
	ex_config "	{ name = \"hang\"; connect = \"tcp:$SAFE_NAME:$SAFE_PORT\";
	  interactive = true; timeout = $1; },"
}

@test "socket service: SIGTERM while the connect hangs ends imapexec at once" {
	safe_hosts
	safe_blackhole 127.0.0.2 127.0.0.3
	safe_hang_config 60
	printf '%s\n' '> 1 EXECUTE hang' 'timeout 60' 'eof' >"$T/s.txt"
	ex_start "$T/s.txt"
	# the helper's own two connections, and imapexec's
	imx_wait_for safe_syn_sent 3
	local pid
	pid=$(ex_imapexec_pid)
	[ -n "$pid" ]
	kill -TERM "$pid"
	# a hang detector, not a timing: it would take 20 s before
	imx_wait_for eval "! kill -0 $pid 2>/dev/null"
	ex_wait_driver
	[ "$EX_RC" -eq 0 ]
	! grep -a -q '^+ ' "$T/filtered.out" || false
	grep -a -q 'Disconnected: signal=<15>' "$T/filtered.log"
	grep -a -q 'service=<hang>, tag=<1>, status=<DISCONNECTED>' "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "socket service: the client's hang-up while the connect hangs ends the command at once" {
	safe_hosts
	safe_blackhole 127.0.0.2 127.0.0.3
	safe_hang_config 60
	# the script ends: the driver closes its side and waits for EOF
	printf '%s\n' '> 1 EXECUTE hang' 'timeout 10' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_expect 1 <<-'EOF2'
		1 NO [CANCELED] hang canceled: the client closed its input
	EOF2
	! grep -a -q '^+ ' "$T/filtered.out" || false
	grep -a -q 'service=<hang>, tag=<1>, status=<CANCELED>' "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "socket service: a name with two hanging addresses gets NO [UNAVAILABLE] within the command's one deadline" {
	safe_hosts
	safe_blackhole 127.0.0.2 127.0.0.3
	safe_hang_config 2
	printf '%s\n' '> 1 EXECUTE hang' 'wait 1 NO' '> 2 NOOP' 'wait 2 OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_expect 1 <<-'EOF2'
		1 NO [UNAVAILABLE] The service is not available now
	EOF2
	! grep -a -q '^+ ' "$T/filtered.out" || false
	# both addresses were tried, one after the other
	grep -a -q 'connect=<127.0.0.2' "$T/filtered.log"
	grep -a -q 'connect=<127.0.0.3' "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "socket service: the second address of a name answers when the first hangs" {
	safe_hosts
	safe_blackhole 127.0.0.2
	"$PYTHON" -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.3", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept(); c.sendall(b"hello from .3\n"); c.recv(100); c.close()' \
		"$SAFE_PORT" &
	local srv=$!
	safe_hang_config 4
	printf '%s\n' '> 1 EXECUTE hang' 'wait +' 'match \* EXECUTE \(TAG "1"\) OUT "hello from .3"' \
		'> DONE' 'wait 1 OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	wait "$srv"
	imx_assert_no_leftovers
}

# --- imapexec -t --------------------------------------------------------

# safe_refused FILE LINE REGEX: imapexec -t -c FILE fails with
# "imapexec: FILE:LINE: ..." matching REGEX, and so does the loader.
safe_refused() {
	local rc=0
	"$IMAPEXEC" -t -c "$1" >"$T/t.out" 2>"$T/t.err" || rc=$?
	cat "$T/t.out" "$T/t.err" >&3
	[ "$rc" -eq 1 ] || { echo "# -t exit status $rc" >&2; return 1; }
	[ ! -s "$T/t.out" ]
	grep -q -E "^imapexec: $1:$2: $3" "$T/t.err" || {
		echo "# want: imapexec: $1:$2: $3" >&2
		return 1
	}
}

# safe_service_conf FILE SETTINGS: a config whose service "s" (line 3) has
# SETTINGS on line 4.
safe_service_conf() {
	printf 'backend = [ "/bin/true" ];\nservices = (\n\t{ name = "s";\n\t  %s\n\t}\n);\n' \
		"$2" >"$1"
}

@test "imapexec -t refuses connect specs that cannot work, with file, line and reason" {
	local c=$T/c.conf long
	safe_service_conf "$c" 'connect = "tcp:localhost"; interactive = true;'
	safe_refused "$c" 4 'service s: connect "tcp:localhost": .*port'
	safe_service_conf "$c" 'connect = "tcp:"; interactive = true;'
	safe_refused "$c" 4 'service s: connect "tcp:": .*'
	safe_service_conf "$c" 'connect = "tcp:127.0.0.1:"; interactive = true;'
	safe_refused "$c" 4 'service s: connect "tcp:127.0.0.1:": .*port'
	safe_service_conf "$c" 'connect = "tcp:127.0.0.1:99999";'
	safe_refused "$c" 4 'service s: connect "tcp:127.0.0.1:99999": .*port'
	safe_service_conf "$c" 'connect = "tcp:no-such-host.invalid:25";'
	safe_refused "$c" 4 'service s: connect "tcp:no-such-host.invalid:25": .*'
	long=/tmp/$(printf 'x%.0s' $(seq 120))
	safe_service_conf "$c" "connect = \"unix:$long\";"
	safe_refused "$c" 4 "service s: connect \"unix:$long\": .*longer than 107 bytes"
	# what works still passes
	safe_service_conf "$c" 'connect = "tcp:[::1]:25";'
	"$IMAPEXEC" -t -c "$c"
	safe_service_conf "$c" 'connect = "unix:/run/x.sock";'
	"$IMAPEXEC" -t -c "$c"
}

@test "imapexec -t refuses args beyond the 255-argument cap, or min above max" {
	local c=$T/c.conf
	safe_service_conf "$c" 'exec = [ "/bin/true" ]; args = { min = 900; max = 1000; };'
	safe_refused "$c" 4 'args: max is above 255'
	safe_service_conf "$c" 'exec = [ "/bin/true" ]; args = { max = 256; };'
	safe_refused "$c" 4 'args: max is above 255'
	safe_service_conf "$c" 'exec = [ "/bin/true" ]; args = { min = 3; max = 2; };'
	safe_refused "$c" 4 'args: min is above max'
	safe_service_conf "$c" 'exec = [ "/bin/true" ]; args = { min = 255; max = 255; };'
	"$IMAPEXEC" -t -c "$c"
}

@test "imapexec -t without -c: the default file must exist" {
	local def
	def=$(grep -aoE -m1 '/[[:alnum:]/._-]+/imapexec\.conf' "$IMAPEXEC" | head -n 1)
	[ -n "$def" ]
	[ ! -e "$def" ] || skip "$def exists on this machine"
	run "$IMAPEXEC" -t
	[ "$status" -eq 1 ]
	[ "$output" = "imapexec: $def: No such file or directory" ]
}

# --- rlimits ------------------------------------------------------------

@test "rlimits: 0 is refused with a clear message; \"unlimited\" and numbers apply to cpu and memory" {
	local c=$T/c.conf
	safe_service_conf "$c" 'exec = [ "/bin/true" ];
	  rlimits = { cpu = 0; };'
	safe_refused "$c" 5 'rlimits: cpu = 0 .*"unlimited"'
	safe_service_conf "$c" 'exec = [ "/bin/true" ];
	  rlimits = { memory = 0; };'
	safe_refused "$c" 5 'rlimits: memory = 0 .*"unlimited"'
	safe_service_conf "$c" 'exec = [ "/bin/true" ];
	  rlimits = { memory = "unlimitd"; };'
	safe_refused "$c" 5 'memory: bad number "unlimitd"'
	cp "$SAFE_DIR/limits.sh" "$EX_SERVICES/limits.sh"
	ex_config "	{ name = \"unl\"; exec = [ \"$EX_SERVICES/limits.sh\" ];
	  rlimits = { cpu = \"unlimited\"; memory = \"unlimited\"; }; },
	{ name = \"lim\"; exec = [ \"$EX_SERVICES/limits.sh\" ];
	  rlimits = { cpu = 7; memory = \"2G\"; }; },"
	printf '%s\n' '> 1 EXECUTE unl' 'wait 1 OK' '> 2 EXECUTE lim' 'wait 2 OK' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_out 1 >"$T/unl"
	ex_out 2 >"$T/lim"
	cat "$T/unl" "$T/lim" >&3
	grep -q -E '^Max cpu time +unlimited +unlimited ' "$T/unl"
	grep -q -E '^Max address space +unlimited +unlimited ' "$T/unl"
	grep -q -E '^Max cpu time +7 +7 ' "$T/lim"
	grep -q -E '^Max address space +2147483648 +2147483648 ' "$T/lim"
	imx_assert_no_leftovers
}

# --- more than 256 groups -----------------------------------------------

# safe_groups_clean: remove the groups gN of this run (the next test
# sees the account as it was).
safe_groups_clean() {
	[ "$EUID" -eq 0 ] || return 0
	local g
	for g in $(getent group | cut -d: -f1 |
	    grep -E "^imxt-$IMX_ID-g[0-9]+\$"); do
		imx_retry groupdel "$g" || true
	done
}

@test "a user in $SAFE_GROUPS groups gets the services of each of them" {
	[ "$EUID" -eq 0 ] || skip "creating groups needs root"
	# groups of this run's own (imxt-ID-gN), removed by teardown_file
	local i g first last list=
	for i in $(seq "$SAFE_GROUPS"); do
		g=$(imx_group "g$i")
		list=$list${list:+,}$g
		[ "$i" -ne 1 ] || first=$g
		last=$g
	done
	imx_retry usermod -a -G "$list" "$IMX_USER"
	[ "$(id -G "$IMX_USER" | wc -w)" -gt "$SAFE_GROUPS" ]
	ex_config "	{ name = \"first\"; exec = [ \"$EX_SERVICES/args.sh\" ]; groups = [ \"$first\" ]; },
	{ name = \"last300\"; exec = [ \"$EX_SERVICES/args.sh\" ]; groups = [ \"$last\" ]; },"
	printf '%s\n' '> 1 EXECUTE first' 'wait 1' '> 2 EXECUTE last300' 'wait 2' \
		'> 3 EXECUTE grp' 'wait 3' '> 4 EXECUTE nogrp' 'wait 4' >"$T/s.txt"
	ex_run "$T/s.txt"
	ex_list 1 | tail -1 | grep -qx '1 OK first completed'
	ex_list 2 | tail -1 | grep -qx '2 OK last300 completed'
	ex_list 3 | tail -1 | grep -qx '3 OK grp completed'
	ex_list 4 | tail -1 | grep -qx '4 NO \[NONEXISTENT\] No such service'
	imx_assert_no_leftovers
}
