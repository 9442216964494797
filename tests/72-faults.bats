#!/usr/bin/env bats
# Faults (issue 6) that tests/40-execute.bats does not cover, each checked
# from outside through /proc by tests/faults.py: the documented response
# or a clean exit, imapexec's descriptors back to the baseline after every
# EXECUTE, services holding only fds 0-2, no zombie, bounded RSS, and
# nothing of the test user left running afterwards.
# Services: tests/services/ (errflood.sh floods stderr; fakeimap.py is a
# misbehaving backend).

load helper
load execute
# hooks of the libraries loaded above: teardown_file: helper.bash's

# setup_file: execute.bash's, and whether the binary is the sanitizer
# build (looked up once: nm reads all of it)
setup_file() {
	ex_setup_file
	FAULT_ASAN=0
	if nm "$IMAPEXEC" 2>/dev/null | grep -q __asan_init; then
		FAULT_ASAN=1
	fi
	export FAULT_ASAN
}

setup() {
	imx_setup
	ex_setup
	ex_config "$(ex_service sleepi sleep.sh 'interactive = true;')
$(ex_service deaf sleep.sh 'interactive = true; timeout = 3;')
$(ex_service errflood errflood.sh 'timeout = 60;')
$(ex_service errfloodc errflood.sh 'stderr = "client"; timeout = 60;')"
	# imapexec's peak RSS bound; the sanitizer build has a larger base
	RSS_KB=32768
	if [ "$FAULT_ASAN" = 1 ]; then
		RSS_KB=131072
	fi
	# under valgrind (scripts/check-valgrind.sh) the RSS is valgrind's
	if [ "${IMX_VALGRIND:-0}" = 1 ]; then
		RSS_KB=0
	fi
}

teardown() {
	# a test's helper processes, by pid (pipefill.py)
	if [ -n "${FILL_PID:-}" ]; then
		kill "$FILL_PID" 2>/dev/null || true
		wait "$FILL_PID" 2>/dev/null || true
	fi
}

# fault SCENARIO [BACKEND-ARGV...]: run tests/faults.py SCENARIO against
# imapexec (in front of Dovecot, or of the given backend).
fault() {
	local name=$1 home=$T/home.fault
	shift
	imx_require_binary
	rm -rf "$home"
	cp -a "$IMX_RUN/template" "$home"
	imx_own "$home"
	imx_write_dovecot_conf "$T/dovecot.fault.conf" "$home/Maildir"
	: >"$T/fault.log"
	imx_own "$T/fault.log"
	imx_command filtered "$home" "$T/dovecot.fault.conf"
	local cmd=("${IMX_CMD[@]}")
	if [ $# -gt 0 ]; then
		cmd=("${cmd[@]:0:${#cmd[@]}-3}" "$@")
	fi
	if [ -n "${FAULT_NOFILE:-}" ]; then
		cmd=(prlimit --nofile="$FAULT_NOFILE:$FAULT_NOFILE" -- "${cmd[@]}")
	fi
	ex_fault "$name" "${cmd[@]}"
}

@test "fault: service dies by SIGSEGV: NO [EXITSIGNAL SIGSEGV], fds back, session goes on" {
	fault segv
}

@test "fault: service hangs: only fds 0-2 in it; CANCEL gives NO [CANCELED], fds back" {
	fault hang-cancel
}

@test "fault: service ignores SIGTERM: CANCEL still ends it (SIGKILL), fds back" {
	fault noterm
}

@test "fault: grandchild keeps the pipes open after the service exits: OK, fds back" {
	fault grandchild
}

@test "fault: service closes stdout early but runs on: NO [EXITCODE 5] after it ends" {
	fault closeout
}

@test "fault: service floods stderr to the log (8 MB): completes, RSS bounded" {
	fault stderr-log
	grep -a -q 'the flood goes on' "$T/fault.log"
}

@test "fault: service floods stderr to the client (8 MB of ERR): completes, RSS bounded" {
	fault stderr-client
}

# imapexec stops reading a client whose program reads nothing, so it sees
# the client's hang-up only once the program ends (here its timeout): an
# interactive service without timeout and idle_timeout would stay until the
# program ends by itself.  See the report in the README's Security section.
@test "fault: service reads nothing while the client sends megabytes: flow control, then hang-up" {
	fault deaf-service
	grep -a -q -E 'service=<deaf>, tag=<a>, status=<LIMIT>' "$T/fault.log"
}

@test "fault: client disconnects mid-literal (APPEND to the backend)" {
	fault disconnect-literal-append
}

@test "fault: client disconnects mid-literal (EXECUTE argument, non-synchronizing)" {
	fault disconnect-literal-execute
	[ ! -e "$T/marker" ]
}

@test "fault: client disconnects mid-literal (EXECUTE argument, after + Ready)" {
	fault disconnect-sync-execute
}

@test "fault: client disconnects in the middle of an EXECUTE line" {
	fault disconnect-midline-execute
	[ ! -e "$T/marker" ]
}

@test "fault: client disconnects in the middle of an interactive input line" {
	fault disconnect-midline-interactive
}

@test "fault: client disconnects during an output flood: service killed, exit" {
	fault disconnect-flood
}

# imapexec started with RLIMIT_NOFILE just above what it holds after the
# greeting (the fake backend needs few descriptors, Dovecot more): the four
# pipes of a spawn cannot all be made.
@test "fault: EMFILE when spawning: NO [UNAVAILABLE], the session goes on" {
	[ "${IMX_VALGRIND:-0}" != 1 ] ||
		skip "valgrind needs descriptors of its own under the limit"
	local n ok=
	for n in $(seq 12 24); do
		if FAULT_NOFILE=$n fault emfile "$EX_SERVICES/fakeimap.py"; then
			ok=$n
			break
		fi
	done
	[ -n "$ok" ] || return 1
	echo "# EMFILE with RLIMIT_NOFILE=$ok" >&3
	grep -a -q -E 'Too many open files' "$T/fault.log"
}

@test "fault: backend dies mid-FETCH literal: imapexec exits, nothing left" {
	fault backend-fetch-die "$EX_SERVICES/fakeimap.py" fetch-die
}

@test "fault: backend dies mid-line: imapexec exits, nothing left" {
	fault backend-line-die "$EX_SERVICES/fakeimap.py" line-die
}

@test "fault: backend exits without a word mid-session: imapexec exits" {
	fault backend-exit-quiet "$EX_SERVICES/fakeimap.py" exit-on-noop
}

@test "fault: backend killed while an EXECUTE runs: service killed, imapexec exits" {
	fault backend-dies-during-execute
}

# Issue 10: nothing to write, nothing to read, the client gone both ways.
@test "fault: client closes both directions while the backend is deaf: hang-up seen, backend ended after its grace" {
	fault client-vanishes-in-stall "$EX_SERVICES/fakeimap.py" deaf
}

# Issue 10: the backend's output ends but the backend runs on: no byte can
# reach the client again, so the relay hands the backend its grace.
@test "fault: backend closes its output but runs on, client waits: backend ended after its grace, imapexec exits" {
	fault backend-mute "$EX_SERVICES/fakeimap.py" mute
}

# Issue 10: the relay holding the backend's output for a client that reads
# nothing is no fault of the backend: the probe of an EXECUTE behind it
# must not time out (probe_timeout = 1 here; the client pauses 3 s).
@test "fault: EXECUTE pipelined behind a long answer, client reads nothing past probe_timeout: not failed closed" {
	echo 'probe_timeout = 1;' >>"$T/imapexec.conf"
	fault probe-behind-slow-client "$EX_SERVICES/fakeimap.py" longok
}

# The backend's and a service's pipes keep the kernel's size (256 KiB
# ones were measured and bought nothing on a quiet machine, against three
# times the per-user pipe budget): F_GETPIPE_SZ through /proc/PID/fd of
# the backend and of a service shows what the kernel gave; a 1 MiB message
# goes in and comes back whole.
@test "fault: the backend's and a service's pipes are the kernel's 64 KiB; 1 MiB through them" {
	FAULT_PIPES="65536 65536" fault pipes
}

# A user whose pipes exceed fs.pipe-user-pages-soft gets 8 KiB pipes and
# F_SETPIPE_SZ refused: the session must work all the same.  The limit
# counts per user: a user of this test alone is filled (tests/pipefill.py),
# so that no other test or run on the machine feels it, and no sysctl is
# changed.
@test "fault: a user past fs.pipe-user-pages-soft: 8 KiB pipes everywhere, the session works" {
	[ "$EUID" -eq 0 ] || skip "needs root for a user of its own"
	[ "$(cat /proc/sys/fs/pipe-user-pages-soft)" -gt 0 ] ||
		skip "fs.pipe-user-pages-soft is 0 (no limit)"
	IMX_USER=$(imx_account pipes)
	imx_own "$T/imapexec.conf"
	setpriv --reuid="$IMX_USER" --regid="$IMX_USER" --init-groups \
		env -i PATH="$IMX_PATH" python3 "$REPO/tests/pipefill.py" 120 \
		>"$T/fill.out" &
	FILL_PID=$!
	imx_wait_for grep -q '^full' "$T/fill.out"
	echo "# $(cat "$T/fill.out") pipes of $IMX_USER" >&3
	FAULT_PIPES="8192 8192" fault pipes
}

# backend_start BACKEND-ARGV...: run imapexec (as the test user) in front of
# the given backend with a client that sends nothing and stays; imapexec
# must end by itself within 30 s.  Sets $rc, the client's output in
# $T/be.out and imapexec's log in $T/be.log.
backend_start() {
	imx_command filtered "$T" "$T/dovecot.conf"
	local cmd=() a
	for a in "${IMX_CMD[@]:0:${#IMX_CMD[@]}-3}"; do
		# the limit for imapexec alone, not for setpriv before it;
		# LeakSanitizer cannot work under it (it spins at exit), so
		# a sanitizer build checks leaks elsewhere
		if [ "$a" = "$IMAPEXEC" ] && [ -n "${FAULT_NOFILE:-}" ]; then
			cmd+=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
				prlimit --nofile="$FAULT_NOFILE:$FAULT_NOFILE" --)
		fi
		cmd+=("$a")
	done
	cmd+=("$@")
	: >"$T/be.log"
	imx_own "$T/be.log"
	rc=0
	# the client: a pipe whose writer stays (no end of file to imapexec)
	timeout -k 5 30 "${cmd[@]}" >"$T/be.out" 2>>"$T/be.log" < <(exec sleep 40) ||
		rc=$?
	kill $! 2>/dev/null || true
	[ "$rc" -ne 124 ] || { echo "# imapexec did not end" >&2; return 1; }
	imx_assert_no_leftovers
}

# A backend that cannot be executed: imapexec says why, with the errno of
# execve(2), exits 1 at once and leaves nothing.
@test "fault: backend missing, not executable, a script without #!, a directory: clear error, exit 1, nothing left" {
	imx_require_binary
	printf 'echo "* PREAUTH"\n' >"$T/noshebang"
	printf '#!/bin/sh\necho "* PREAUTH"\n' >"$T/noexec"
	chmod 755 "$T/noshebang"
	chmod 644 "$T/noexec"
	mkdir -p "$T/adir"
	local b want
	for b in "/nonexistent/imap:No such file or directory" \
	    "$T/noshebang:Exec format error" "$T/noexec:Permission denied" \
	    "$T/adir:Permission denied"; do
		want=${b#*:}
		b=${b%%:*}
		backend_start "$b"
		echo "# $b: exit $rc: $(tail -n 1 "$T/be.log")" >&3
		[ "$rc" -eq 1 ]
		grep -q -F "Error: backend=<$b>: $want" "$T/be.log"
		[ ! -s "$T/be.out" ]
	done
}

# RLIMIT_NOFILE too small for the backend's four pipes (in imapexec) or
# for their placing (in the child): a clear error and exit 1 for every
# limit below the first that works, never a hang or a leftover.
@test "fault: RLIMIT_NOFILE too small to start the backend: Too many open files, exit 1, up to the first limit that works" {
	imx_require_binary
	[ "${IMX_VALGRIND:-0}" != 1 ] ||
		skip "valgrind needs descriptors of its own under the limit"
	local n ok='' seen=''
	for n in $(seq 5 40); do
		FAULT_NOFILE=$n backend_start /bin/sh -c 'echo "* PREAUTH x"; exit 0'
		if [ "$rc" -eq 0 ]; then
			ok=$n
			break
		fi
		echo "# RLIMIT_NOFILE=$n: exit $rc: $(tail -n 1 "$T/be.log")" >&3
		# below the dynamic loader's own need (bats leaves descriptors
		# open to its children): not imapexec's yet
		if [ "$rc" -eq 127 ] &&
		    grep -q 'error while loading shared libraries' "$T/be.log"; then
			continue
		fi
		[ "$rc" -eq 1 ]
		# whichever step runs out (the config's working directory,
		# the signals, the spawn) names itself
		grep -q -E '^imapexec: (Error: )?[^ ].*: Too many open files$' "$T/be.log"
		seen=$n
	done
	echo "# the backend starts from RLIMIT_NOFILE=$ok" >&3
	[ -n "$ok" ] && [ -n "$seen" ]
	grep -q '^\* PREAUTH x' "$T/be.out"
}

# A backend that closes its stdout at once but runs on: nothing can reach
# the client any more; imapexec ends it after its grace, and the client
# (which never hangs up) sees the end.
@test "fault: backend closes its stdout at once and runs on: imapexec ends it after its grace, nothing left" {
	imx_require_binary
	backend_start /bin/sh -c 'exec >&-; exec sleep 60'
	echo "# exit $rc: $(tail -n 1 "$T/be.log")" >&3
	[ "$rc" -ne 0 ]
	grep -q 'backend did not exit; killing it' "$T/be.log"
	# and one that exits at once, without a word: exit 0 at once
	backend_start /bin/sh -c 'exit 0'
	[ "$rc" -eq 0 ]
	[ ! -s "$T/be.out" ]
}

# EXECUTE of a program that cannot be executed: NO [UNAVAILABLE] with the
# reason in the log (execve(2)'s errno), fds back, no zombie.
@test "fault: service missing, not executable, a script without #!, a directory: NO [UNAVAILABLE], reason logged, fds back" {
	printf 'echo hi\n' >"$T/noshebang"
	printf '#!/bin/sh\necho hi\n' >"$T/noexec"
	chmod 755 "$T/noshebang"
	chmod 644 "$T/noexec"
	mkdir -p "$T/adir"
	ex_config "$(ex_service noexec "../$(basename "$T")/noexec")
$(ex_service noshebang "../$(basename "$T")/noshebang")
$(ex_service adir "../$(basename "$T")/adir")"
	fault spawn-fails
	local s want
	for s in "missing:No such file or directory" "noexec:Permission denied" \
	    "noshebang:Exec format error" "adir:Permission denied"; do
		want=${s#*:}
		grep -a -q -E "execute: service=<${s%%:*}>: [^ ]+: $want\$" "$T/fault.log"
	done
}
