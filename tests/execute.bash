# tests/execute.bash - helpers for tests/40-execute.bats (load after helper).
#
#   ex_setup_file        imx_setup_file, plus the test services copied to
#                        $IMX_RUN/services and (as root) a group for the
#                        users/groups checks
#   ex_config [TEXT]     write $T/imapexec.conf: every test service, with
#                        TEXT added inside the services list
#   ex_run SCRIPT [opts] run SCRIPT through imapexec (like run_filtered),
#                        with EX_ENV=(NAME=value ...) added to the clean
#                        environment; output in $T/filtered.out
#   ex_start SCRIPT      the same in the background: EX_PID is the driver
#   ex_list TAG          the responses of TAG in $T/filtered.out, one a line
#   ex_out TAG [opts]    the reassembled OUT octets of TAG

EXR=$REPO/tests/execute_reassemble.py

# As root: an account of this run's own (imxt-ID-x) with a real home,
# $IMX_RUN/home (services run in the passwd home of the user imapexec runs
# as, and /nonexistent cannot be it), in a group of its own (EX_GROUP,
# imxt-ID-tgrp) for the users/groups checks.  Else ourselves and our home.
if [ "$EUID" -eq 0 ]; then
	EX_HOME=${EX_HOME:-}
	EX_GROUP=${EX_GROUP:-}
	imx_ensure_user() {
		EX_HOME=$IMX_RUN/home
		mkdir -p "$EX_HOME"
		IMX_USER=$(imx_account x --home-dir "$EX_HOME") || return 1
		chown "$IMX_USER:$IMX_USER" "$EX_HOME"
		chmod 755 "$EX_HOME"
		EX_GROUP=$(imx_group tgrp) || return 1
		imx_retry gpasswd -a "$IMX_USER" "$EX_GROUP" >/dev/null
		export IMX_USER EX_HOME EX_GROUP
	}
else
	EX_HOME=$(getent passwd "$IMX_USER" | cut -d: -f6)
	EX_GROUP=imapexec-tgrp
fi

ex_setup_file() {
	imx_setup_file
	export EX_SERVICES=$IMX_RUN/services
	cp -R "$REPO/tests/services" "$EX_SERVICES"
	chmod -R a+rX "$EX_SERVICES"
}

# ex_service NAME PROGRAM [SETTINGS]: one service entry, exec'ing
# $EX_SERVICES/PROGRAM; SETTINGS are more libconfig settings.
ex_service() {
	printf '\t{ name = "%s"; description = "test service %s";\n' "$1" "$1"
	local t='timeout = 20;'
	[[ " ${3:-}" =~ [\ \;]timeout\ = ]] && t=
	printf '\t  exec = [ "%s/%s" ]; %s %s },\n' \
		"$EX_SERVICES" "$2" "$t" "${3:-}"
}

# ex_setup: per test, after imx_setup: the config, and (as root) an empty
# home for the test user.
ex_setup() {
	if [ "$EUID" -eq 0 ]; then
		find "$EX_HOME" -mindepth 1 -delete
	fi
	ex_config
}

ex_config() {
	{
		printf 'backend = [ "%s" ];\n' "$DOVECOT_IMAP"
		echo 'services = ('
		ex_service args args.sh
		ex_service blacklist args.sh \
			'args = { min = 2; max = 2; pattern = "^(add|del|[^@ ]+@[^@ ]+)$"; };'
		ex_service info info.sh 'env = [ "EXTRA=from config", "LANG=C.UTF-8" ];'
		ex_service exit exit.sh
		ex_service segv segv.sh
		ex_service calendar calendar.sh 'interactive = true;'
		ex_service crlf crlf.sh 'interactive = true; eol = "crlf";'
		ex_service cat cat.sh 'interactive = true;'
		ex_service binary binary.py
		ex_service stderr stderr.sh 'stderr = "client";'
		ex_service errlog stderr.sh
		ex_service closeout closeout.sh
		ex_service sha sha.py 'interactive = true;'
		ex_service mark mark.sh "env = [ \"MARK_FILE=$T/marker\" ];"
		ex_service markp mark.sh "env = [ \"MARK_FILE=$T/marker\" ];
		  args = { min = 1; max = 2; pattern = \"^[a-z]+\$\"; };"
		ex_service missing ../nonexistent/program
		ex_service gc_timeout grandchild.sh 'timeout = 1; idle_timeout = 0;'
		ex_service gc_idle grandchild.sh 'idle_timeout = 1;'
		ex_service gc_output 'grandchild.sh", "flood' 'max_output = "256K";'
		ex_service gc_cancel grandchild.sh 'interactive = true;'
		ex_service gc_exit 'grandchild.sh", "exit'
		ex_service noterm noterm.sh 'interactive = true;'
		ex_service flood flood.py 'max_output = "200M"; timeout = 120;'
		ex_service mine args.sh "users = [ \"$IMX_USER\" ];"
		ex_service notmine args.sh 'users = [ "root" ];'
		ex_service grp args.sh "groups = [ \"$EX_GROUP\" ];"
		ex_service prim args.sh "groups = [ \"$(id -gn "$IMX_USER")\" ];"
		ex_service nogrp args.sh 'groups = [ "root" ];'
		ex_service both args.sh 'users = [ "root" ]; groups = [ "root" ];'
		printf '%s\n' "${1:-}"
		# the last element: no comma after it
		printf '\t{ name = "last"; exec = [ "%s/args.sh" ]; }\n' "$EX_SERVICES"
		echo ');'
	} >"$T/imapexec.conf"
	chmod 644 "$T/imapexec.conf"
	"$IMAPEXEC" -t -c "$T/imapexec.conf" >/dev/null 2>&1 || {
		"$IMAPEXEC" -t -c "$T/imapexec.conf" >&2
		return 1
	}
}

# ex_run SCRIPT [driver opts]: run_filtered, and show the tail of what the
# client received when it fails.
ex_run() {
	local rc=0
	run_filtered "$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "# client received (last 2000 bytes):" >&2
		tail -c 2000 "$T/filtered.out" | sed 's/^/#   /' >&2
	fi
	return "$rc"
}

# ex_start SCRIPT [driver opts]: run_filtered in the background; EX_PID is
# the subshell running it.  ex_wait_driver waits and sets EX_RC.
ex_start() {
	: >"$T/filtered.out"
	run_filtered "$@" &
	EX_PID=$!
}

ex_wait_driver() {
	EX_RC=0
	wait "$EX_PID" || EX_RC=$?
}

# ex_imapexec_pid: the pid of the running imapexec (the driver's child).
ex_imapexec_pid() {
	local drv
	drv=$(pgrep -P "$EX_PID" -f imapdrive.py | head -n 1)
	[ -n "$drv" ] && pgrep -P "$drv" | head -n 1
}

ex_list() {
	"$PYTHON" "$EXR" --list --tag "$1" "${@:2}" "$T/filtered.out"
}

ex_out() {
	"$PYTHON" "$EXR" --tag "$1" "${@:2}" "$T/filtered.out"
}

# ex_expect TAG [--plus]: the responses of TAG must be exactly stdin.
ex_expect() {
	local want
	want=$(cat)
	local got
	got=$(ex_list "$@")
	if [ "$got" != "$want" ]; then
		echo "# responses of tag $1 differ (- expected, + received):" >&2
		diff -u <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/#   /' >&2
		return 1
	fi
}


# ex_has REGEX: $T/filtered.out has a line matching REGEX (grep -E).
ex_has() {
	grep -a -q -E "$1" "$T/filtered.out"
}

# ex_child_of PID COMM: the pid of the child of PID whose command is COMM.
ex_child_of() {
	ps -o pid=,comm= --ppid "$1" | awk -v c="$2" '$2 == c { print $1 }'
}

# ex_no_marker: the marker service never ran.
ex_no_marker() {
	if [ -e "$T/marker" ]; then
		echo "# the marker service ran, with arguments:" >&2
		sed 's/^/#   /' "$T/marker" >&2
		return 1
	fi
}

# ex_pid_gone PIDFILE: the process recorded in PIDFILE no longer exists.
ex_pid_gone() {
	local pid
	pid=$(cat "$1")
	[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null
}

# ex_stall_rss LIMIT_KB: start imapexec with the flood service, stop
# reading, and once the flood is blocked (our pipe full, the flooder asleep
# in a pipe write with little written), check imapexec's VmHWM is below
# LIMIT_KB; then read a few MB more (the stream goes on) and disconnect.
# Prints "hwm=<kB> rss=<kB> written=<bytes>" on stdout.
ex_stall_rss() {
	local home=$T/home.stall
	rm -rf "$home"
	cp -a "$IMX_RUN/template" "$home"
	imx_write_dovecot_conf "$T/dovecot.stall.conf" "$home/Maildir"
	: >"$T/stall.log"
	imx_own "$T/stall.log"
	imx_command filtered "$home" "$T/dovecot.stall.conf"
	"$PYTHON" - "$1" "$EX_HOME" "${IMX_CMD[@]}" 2>"$T/stall.err" \
		3>>"$T/stall.log" <<-'PY'
		import fcntl, os, select, subprocess, sys, termios, time, array
		limit, home, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
		log = os.fdopen(3, "wb")
		p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
		                     stderr=log)
		rfd = p.stdout.fileno()
		def fail(msg):
		    print("stall: " + msg, file=sys.stderr)
		    p.kill()
		    sys.exit(1)
		def pending():
		    buf = array.array("i", [0])
		    fcntl.ioctl(rfd, termios.FIONREAD, buf)
		    return buf[0]
		def status(pid, field):
		    for line in open("/proc/%d/status" % pid):
		        if line.startswith(field + ":"):
		            return int(line.split()[1])
		# the greeting, then the flood; from now on we do not read
		got = b""
		while b"\r\n" not in got:
		    got += os.read(rfd, 4096)
		p.stdin.write(b"a EXECUTE flood\r\n")
		p.stdin.flush()
		pidfile = os.path.join(home, "flood.pid")
		deadline = time.monotonic() + 20
		fpid = None
		while True:
		    if time.monotonic() > deadline:
		        fail("the flood never blocked (pending=%d, pid=%s, wchan=%s)" % (pending(), fpid,
		            fpid and open("/proc/%d/wchan" % fpid).read()))
		    if fpid is None and os.path.exists(pidfile):
		        s = open(pidfile).read().strip()
		        fpid = int(s) if s else None
		    if fpid is not None and pending() >= 32768:
		        wchan = open("/proc/%d/wchan" % fpid).read()
		        state = open("/proc/%d/stat" % fpid).read().rsplit(")", 1)[1].split()[0]
		        if state == "S" and "pipe" in wchan:
		            break
		    time.sleep(0.05)
		written = 0
		for line in open("/proc/%d/io" % fpid):
		    if line.startswith("wchar:"):
		        written = int(line.split()[1])
		hwm, rss = status(p.pid, "VmHWM"), status(p.pid, "VmRSS")
		print("hwm=%d rss=%d written=%d" % (hwm, rss, written))
		if written > 8 * 1024 * 1024:
		    fail("the flooder wrote %d bytes while the client did not read" % written)
		if hwm > limit:
		    fail("imapexec VmHWM %d kB > %d kB while the client does not read" % (hwm, limit))
		# the stream goes on when we read again: 4 MB more
		n = 0
		while n < 4 * 1024 * 1024:
		    r, _, _ = select.select([rfd], [], [], 10)
		    if not r:
		        fail("no more output after reading resumed")
		    n += len(os.read(rfd, 65536))
		hwm = status(p.pid, "VmHWM")
		print("after reading: hwm=%d" % hwm)
		if hwm > limit:
		    fail("imapexec VmHWM %d kB > %d kB after reading" % (hwm, limit))
		# now vanish: imapexec must kill the flood and exit
		p.stdin.close()
		p.stdout.close()
		try:
		    p.wait(timeout=10)
		except subprocess.TimeoutExpired:
		    fail("imapexec did not exit after the client disconnected")
		PY
}

# ex_basic_x: $T/basic-x.txt, the session basic.txt with EXECUTEs woven
# in: one-shot, interactive, pipelined with a FETCH, binary output.
ex_basic_x() {
	awk '
		{ print }
		$0 == "wait a1 OK" { print "> x1 EXECUTE args one"; print "wait x1 OK" }
		$0 == "wait a5 OK" { print "> x2 EXECUTE calendar"; print "wait +";
			print "> list schedule today 8:00 10:00"; print "> DONE";
			print "wait x2 OK" }
		$0 == "> a6 FETCH 1:* (FLAGS BODY.PEEK[])" { print "> x3 EXECUTE binary 3" }
		$0 == "wait a6 OK" { print "wait x3 OK" }
	' "$SESSIONS/basic.txt" >"$T/basic-x.txt"
	grep -q 'x3 EXECUTE' "$T/basic-x.txt"
}

# ex_fault SCENARIO CMD...: tests/faults.py SCENARIO with CMD (imapexec as
# the test user) as its server, imapexec's RSS bound RSS_KB (0: none) and
# log $T/fault.log; faults.py's lines on fd 3, its reason and the log's
# tail on stderr when it fails; then nothing of the test user is left.
ex_fault() {
	local scenario=$1 rc=0
	shift
	"$PYTHON" "$REPO/tests/faults.py" "$scenario" --rss "${RSS_KB:-0}" \
		--log "$T/fault.log" -- "$@" 2>"$T/fault.err" >"$T/fault.out" || rc=$?
	sed 's/^/# /' "$T/fault.out" >&3
	if [ "$rc" -ne 0 ]; then
		cat "$T/fault.err" >&2
		echo "# imapexec log (tail):" >&2
		tail -n 20 "$T/fault.log" | sed 's/^/#   /' >&2
		return 1
	fi
	imx_assert_no_leftovers
}

# The hooks of a file that loads execute: the account, services and
# template of the run; a fresh $T, config and home a test.
setup_file() { ex_setup_file; }
setup() {
	imx_setup
	ex_setup
}
