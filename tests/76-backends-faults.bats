#!/usr/bin/env bats
# The fault scenarios of tests/72-faults.bats (tests/faults.py) that
# involve the backend, against Courier's imapd and GNU Mailutils' imap4d
# (issue 26; Dovecot is 72's): the backend killed between commands and
# in the middle of a large FETCH, the client gone in the middle of an
# APPEND literal, of a large FETCH, of an EXECUTE line, and services
# that crash, hang, flood or outlive the backend while these backends
# stand behind imapexec.  Each ends as documented, with imapexec's
# descriptors back after every EXECUTE, RSS bounded, and nothing of the
# test user left running.  A scenario a backend cannot take is skipped
# by name, with the reason.
#
# Mailutils' imap4d does not end at the end of its input (README, "Other
# backends"): a scenario where the client goes ends it after imapexec's
# grace (10 s), so Mailutils' share of the wall time is mostly that.

load helper
load execute
load backends
# hooks of the libraries loaded above: teardown_file: helper.bash's

# setup_file: execute.bash's, the backends' templates, and the RSS bound
# (the sanitizer build has a larger base; under valgrind none)
setup_file() {
	ex_setup_file
	bk_setup_file
	RSS_KB=32768
	if nm "$IMAPEXEC" 2>/dev/null | grep -q __asan_init; then
		RSS_KB=131072
	fi
	if [ "${IMX_VALGRIND:-0}" = 1 ]; then
		RSS_KB=0
	fi
	export RSS_KB
}

setup() {
	imx_setup
	ex_setup
	ex_config "$(ex_service sleepi sleep.sh 'interactive = true;')"
}

# bfault NAME SCENARIO: tests/faults.py SCENARIO against imapexec in front
# of backend NAME, on a fresh home of NAME's template (execute.bash's
# ex_fault).
bfault() {
	bk_want "$1"
	bk_home "$1" fault
	: >"$T/fault.log"
	imx_own "$T/fault.log"
	bk_command "$1" filtered "$T/home.fault"
	ex_fault "$2" "${IMX_CMD[@]}"
}

# --- the backend dies ---------------------------------------------------------

@test "courier: backend SIGKILLed between commands: the client sees the end, imapexec exits 137" {
	bfault courier backend-killed
}
@test "mailutils: backend SIGKILLed between commands: the client sees the end, imapexec exits 137" {
	bfault mailutils backend-killed
}

@test "courier: backend SIGKILLed during a 16 MiB FETCH: part of it, then the end" {
	bfault courier backend-killed-mid-fetch
}
@test "mailutils: backend SIGKILLed during a 16 MiB FETCH: part of it, then the end" {
	bfault mailutils backend-killed-mid-fetch
}

@test "courier: backend SIGKILLed while an EXECUTE runs: service killed, imapexec exits" {
	bfault courier backend-dies-during-execute
}
@test "mailutils: backend SIGKILLed while an EXECUTE runs: service killed, imapexec exits" {
	bfault mailutils backend-dies-during-execute
}

# --- the client goes ----------------------------------------------------------

@test "courier: client disconnects mid-literal (APPEND {n}, after the backend's +)" {
	bfault courier disconnect-sync-append
}
@test "mailutils: client disconnects mid-literal (APPEND {n}, after the backend's +)" {
	bfault mailutils disconnect-sync-append
}

@test "courier: client disconnects mid-literal (APPEND {n+})" {
	bk_lacks courier "no LITERAL+: {n+} is answered NO, no literal to be cut"
}
@test "mailutils: client disconnects mid-literal (APPEND {n+})" {
	bfault mailutils disconnect-literal-append
}

@test "courier: client disconnects after 2 MiB of a 16 MiB FETCH: imapexec exits, backend gone" {
	bfault courier disconnect-big-fetch
}
@test "mailutils: client disconnects after 2 MiB of a 16 MiB FETCH: imapexec exits, backend gone" {
	bfault mailutils disconnect-big-fetch
}

@test "courier: client disconnects in the middle of an EXECUTE line: nothing runs" {
	bfault courier disconnect-midline-execute
	ex_no_marker
}
# imap4d answers the end of its input with "* BAD Null command" without
# end, and a client that only half-closes reads them on (README, "Other
# backends"): this client goes both ways.
@test "mailutils: client disconnects (both ways) in the middle of an EXECUTE line: nothing runs" {
	bfault mailutils disconnect-midline-execute-both
	ex_no_marker
}

@test "courier: client disconnects during a service's output flood: service killed, exit" {
	bfault courier disconnect-flood
}
@test "mailutils: client disconnects during a service's output flood: service killed, exit" {
	bfault mailutils disconnect-flood
}

# --- service faults with these backends behind ------------------------------

@test "courier: service dies by SIGSEGV: NO [EXITSIGNAL SIGSEGV], fds back, session goes on" {
	bfault courier segv
}
@test "mailutils: service dies by SIGSEGV: NO [EXITSIGNAL SIGSEGV], fds back, session goes on" {
	bfault mailutils segv
}

@test "courier: service hangs: only fds 0-2 in it; CANCEL gives NO [CANCELED], fds back" {
	bfault courier hang-cancel
}
@test "mailutils: service hangs: only fds 0-2 in it; CANCEL gives NO [CANCELED], fds back" {
	bfault mailutils hang-cancel
}
