#!/usr/bin/env bats
# The suite cleans up after a run of a test file that was killed (a ^C, a
# CI job or a session that ended under it): tests/reap-runs.sh, run by
# scripts/check.sh before the suites, removes what the run's record names
# once its owner is gone, and never touches a run that is still going.

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
REAP=$REPO/tests/reap-runs.sh
RUNS=/var/lib/imapexec-tests/runs

# This file's run has a record of its own (tests/runs.bash), and the runs
# its tests start and kill on purpose are "under" it: a reaper beside this
# file (the other build's run of it, check.sh's) leaves them to this
# file's own reaper, $REAP with IMX_REAP_UNDER, until this run ends.
. "$REPO/tests/runs.bash"
reap() {
	IMX_REAP_UNDER=$IMX_ID "$REAP"
}

setup_file() {
	[ "$(id -u)" -ne 0 ] || imx_record "file 31-reap-runs"
}

teardown_file() {
	[ "$(id -u)" -ne 0 ] || reap >/dev/null
	imx_run_end
}

# fake_run NAME [PARENT]: start a run of a file as bash -c does it: load
# tests/runs.bash (a run of its own, under this file's), make a directory,
# an account and a group, start a process as the account; the owner then
# sleeps.  Sets NAME_PID (the owner), NAME_ID, NAME_DIR.  PARENT: the ID
# of the run it is under instead.
fake_run() {
	local out=$BATS_TEST_TMPDIR/$1.out parent=${2:-$IMX_ID}
	# shellcheck disable=SC2016 # expanded by the run's own shell
	IMX_ID='' setsid bash -c '. "$1/tests/runs.bash"
		imx_record "under $2" || exit 1
		d=$(imx_run_dir test) || exit 1
		u=$(imx_name reap)
		imx_record "user $u" && imx_record "group $u-g" || exit 1
		useradd --system --no-create-home -s /usr/sbin/nologin "$u" &&
			groupadd "$u-g" || exit 1
		setpriv --reuid="$u" --regid=nogroup --clear-groups \
			sleep 300 </dev/null >/dev/null 2>&1 &
		(cd "$d" && exec sleep 300) </dev/null >/dev/null 2>&1 &
		echo "$IMX_ID $d"
		exec sleep 300' _ "$REPO" "$parent" >"$out" 2>/dev/null &
	printf -v "$1_PID" %s "$!"
	local i
	for i in $(seq 100); do
		[ -s "$out" ] && break
		sleep 0.1
	done
	read -r "$1_ID" "$1_DIR" <"$out"
}

# gone_run ID DIR: nothing of the run is left.
gone_run() {
	[ ! -e "$RUNS/$1" ] && [ ! -e "$2" ] &&
		! getent passwd "imxt-$1-reap" >/dev/null &&
		! getent group "imxt-$1-reap-g" >/dev/null &&
		! pgrep -u "imxt-$1-reap" >/dev/null 2>&1
}

teardown() {
	local p
	for p in "${dead_PID:-}" "${live_PID:-}" "${parent_PID:-}" "${child_PID:-}"; do
		[ -z "$p" ] || kill -KILL -- "-$p" 2>/dev/null || true
	done
	# what a failed test left: the reaper itself, now that both are dead
	sleep 0.2
	reap >/dev/null || true
}

@test "reap-runs: a killed run's directory, accounts and processes go; a live run's stay" {
	[ "$(id -u)" -eq 0 ] || skip "the records are root's"
	fake_run dead
	fake_run live
	[ -n "$dead_ID" ] && [ -d "$dead_DIR" ] && [ -f "$RUNS/$dead_ID" ]
	pgrep -u "imxt-$dead_ID-reap" >/dev/null
	# the dead run is killed as a session kills it: the owner, the
	# processes it started, all at once, with no teardown
	kill -KILL -- "-$dead_PID"
	sleep 0.2
	setpriv --reuid="imxt-$dead_ID-reap" --regid=nogroup --clear-groups \
		sleep 300 </dev/null >/dev/null 2>&1 &
	local stray=$!
	run reap
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"reaped the killed test run $dead_ID"* ]]
	[[ "$output" != *"$live_ID"* ]]
	gone_run "$dead_ID" "$dead_DIR"
	! kill -0 "$stray" 2>/dev/null
	# the live run is untouched
	[ -d "$live_DIR" ] && [ -f "$RUNS/$live_ID" ]
	getent passwd "imxt-$live_ID-reap" >/dev/null
	pgrep -u "imxt-$live_ID-reap" >/dev/null
	# until it ends too
	kill -KILL -- "-$live_PID"
	sleep 0.2
	reap >/dev/null
	gone_run "$live_ID" "$live_DIR"
}

@test "reap-runs: a record directory that is not root's own is not read" {
	[ "$(id -u)" -eq 0 ] || skip "the records are root's"
	# a link planted in place of the directory stops a run from recording
	# (and so from starting): runs.bash refuses it
	local d=$BATS_TEST_TMPDIR/fake
	mkdir "$d"
	run bash -c '. "$1/tests/runs.bash"
		IMX_RUNS=$2; imx_record "dir /nonexistent"' _ "$REPO" "$d/link"
	[ "$status" -eq 0 ]   # a directory it made itself is fine
	[ -d "$d/link" ] && [ "$(stat -c %a "$d/link")" = 700 ]
	ln -s "$d" "$d/planted"
	run bash -c '. "$1/tests/runs.bash"
		IMX_RUNS=$2; imx_record "dir /nonexistent"' _ "$REPO" "$d/planted"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not a directory of root's own"* ]]
	chown nobody "$d/link"
	run bash -c '. "$1/tests/runs.bash"
		IMX_RUNS=$2; imx_record "dir /nonexistent"' _ "$REPO" "$d/link"
	[ "$status" -ne 0 ]
}

@test "reap-runs: a run killed right after it made a directory: the directory goes" {
	[ "$(id -u)" -eq 0 ] || skip "the records are root's"
	local shim=$BATS_TEST_TMPDIR/shim out=$BATS_TEST_TMPDIR/k.out
	mkdir "$shim"
	# mkdir (or mktemp) makes the run's directory, then the whole run is
	# killed
	printf '%s\n' '#!/bin/sh' '/bin/mkdir "$@" || exit' \
		'case "$*" in */var/tmp/imapexec-test.*) kill -KILL 0 ;; esac' \
		>"$shim/mkdir"
	printf '%s\n' '#!/bin/sh' 'd=$(/bin/mktemp "$@") || exit' 'echo "$d"' \
		'case "$d" in /var/tmp/imapexec-test.*) kill -KILL 0 ;; esac' \
		>"$shim/mktemp"
	chmod 755 "$shim/mkdir" "$shim/mktemp"
	# shellcheck disable=SC2016 # expanded by the run's own shell
	IMX_ID='' setsid bash -c '. "$1/tests/runs.bash"; echo "$IMX_ID" >"$2"
		imx_record "under $4" || exit 1
		PATH=$3:$PATH imx_run_dir test' _ "$REPO" "$out" "$shim" "$IMX_ID" \
		>/dev/null 2>&1 || true
	local id d
	id=$(cat "$out")
	[ -f "$RUNS/$id" ]
	d=$(sed -n 's/^dir //p' "$RUNS/$id")
	[ -d "$d" ]
	run reap
	[[ "$output" == *"reaped the killed test run $id"* ]]
	[ ! -e "$d" ] && [ ! -e "$RUNS/$id" ]
}

@test "reap-runs: run from inside a killed run's directory, it does not kill itself or its shell" {
	[ "$(id -u)" -eq 0 ] || skip "the records are root's"
	fake_run dead
	kill -KILL -- "-$dead_PID"
	sleep 0.2
	run bash -c 'cd "$1" && IMX_REAP_UNDER=$3 "$2"; echo "reaper: $?"' _ \
		"$dead_DIR" "$REAP" "$IMX_ID"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"reaped the killed test run $dead_ID"* ]]
	[[ "$output" == *"reaper: 0"* ]]
	gone_run "$dead_ID" "$dead_DIR"
}

@test "reap-runs: the runs a test kills on purpose are its own to reap: a reaper beside it leaves them until its run ends" {
	[ "$(id -u)" -eq 0 ] || skip "the records are root's"
	# the other build's run of this file, or check.sh's, reaps beside
	# this one: it must not take (and kill the shells in the directory
	# of) a run this file's tests killed and reap themselves
	fake_run dead
	kill -KILL -- "-$dead_PID"
	sleep 0.2
	run "$REAP"
	[[ "$output" != *"$dead_ID"* ]]
	[ -f "$RUNS/$dead_ID" ] && [ -d "$dead_DIR" ]
	run reap
	[[ "$output" == *"reaped the killed test run $dead_ID"* ]]
	gone_run "$dead_ID" "$dead_DIR"
	# a run under a run that has ended is anybody's to reap
	fake_run parent
	fake_run child "$parent_ID"
	kill -KILL -- "-$child_PID"
	sleep 0.2
	run "$REAP"
	[[ "$output" != *"$child_ID"* ]]
	kill -KILL -- "-$parent_PID"
	sleep 0.2
	run "$REAP"
	echo "$output" >&2
	[[ "$output" == *"reaped the killed test run $child_ID"* ]]
	[[ "$output" != *"$parent_ID"* ]]
	gone_run "$child_ID" "$child_DIR"
	run reap
	[[ "$output" == *"reaped the killed test run $parent_ID"* ]]
	gone_run "$parent_ID" "$parent_DIR"
}
