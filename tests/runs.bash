# tests/runs.bash - the identity of a bats file's run, its directories, and
# the record that lets scripts/check.sh clean up after a run that was killed.
# Loaded by tests/helper.bash; a file that does not load helper may load it
# alone.
#
# Each run of a bats file (the release and the ASan suites run the same
# files side by side) has an ID of 6 random characters, IMX_ID.  Its
# accounts are imxt-ID-ROLE (tests/helper.bash), its directories
# /var/tmp/imapexec-KIND.XXXXXX (imx_run_dir).  As root, the run keeps a
# record, $IMX_RUNS/ID:
#   owner PID START    the bats process of the file (PID, start time in
#                      clock ticks since boot: a PID can be reused)
#   dir PATH           a directory of the run
#   user NAME, group NAME   an account of the run (tests/helper.bash)
#   dpkg PACKAGE       a Debian package it installs (tests/69-deb.bats)
#   under ID           a run that a test of run ID starts and kills on
#                      purpose (tests/31-reap-runs.bats): reaped by that
#                      run's own reaper (IMX_REAP_UNDER=ID), by any other
#                      only once run ID has ended too
# teardown_file removes the directories and then the record (imx_run_end).
# A run killed before (a ^C, a session that ended) leaves its record with
# an owner that no longer runs: tests/reap-runs.sh removes what it names.

IMX_RUNS=/var/lib/imapexec-tests/runs

# imx_new_id: a fresh IMX_ID for this file's run (exported), unless it has
# one.  Called as the file is loaded in setup_file's shell, which is the
# bats process of the file (IMX_OWNER, $$ there): the tests inherit both
# (never call it in a command substitution: the ID would be lost).  An
# IMX_ID that came with the environment from elsewhere (a shell that
# sourced this file, another suite) is not this file's: IMX_ID_OF names the
# file run (bats' directory of it) the ID belongs to.
imx_new_id() {
	[ -n "${IMX_ID:-}" ] && [ "${IMX_ID_OF:-}" = "${BATS_FILE_TMPDIR:-}" ] &&
		return 0
	IMX_ID=$(LC_ALL=C tr -dc a-z0-9 </dev/urandom | head -c 6)
	IMX_ID_OF=${BATS_FILE_TMPDIR:-}
	IMX_OWNER=$$
	export IMX_ID IMX_ID_OF IMX_OWNER
}
imx_new_id

# imx_name ROLE: the name of this run's account for ROLE.
imx_name() {
	echo "imxt-$IMX_ID-$1"
}

# imx_start_time PID: print the start time of process PID (field 22 of
# /proc/PID/stat, read after the command name, which may hold blanks and
# parentheses); fails if there is no such process.
imx_start_time() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086 # the fields, a word each
	set -- $s
	echo "${20}"
}

# imx_record LINE: add LINE to this run's record (root only; no-op else),
# making the record, with its owner line, first.  The directory of records
# must be root's own and not a link: else fail (it is under /var/lib, where
# only root writes, not in world-writable /var/tmp).
imx_record() {
	[ "$EUID" -eq 0 ] || return 0
	local f=$IMX_RUNS/$IMX_ID
	if [ ! -e "$IMX_RUNS" ]; then
		mkdir -p -m 700 "$IMX_RUNS" 2>/dev/null || [ -d "$IMX_RUNS" ] ||
			return 1
	fi
	if [ -L "$IMX_RUNS" ] || [ ! -d "$IMX_RUNS" ] ||
		[ "$(stat -c %u "$IMX_RUNS")" != 0 ]; then
		echo "# $IMX_RUNS is not a directory of root's own" >&2
		return 1
	fi
	[ -e "$f" ] ||
		echo "owner $IMX_OWNER $(imx_start_time "$IMX_OWNER")" >"$f" ||
		return 1
	echo "$1" >>"$f"
}

# imx_run_dir KIND: make and print a directory /var/tmp/imapexec-KIND.XXXXXX
# of this run's own (mode 755: the test accounts reach into it), recorded
# before it is made (a run killed right after mkdir leaves nothing the
# record does not name).  mkdir makes it or fails if anything, a link
# included, has the name: then the line goes and another name is tried.
imx_run_dir() {
	local d i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		d=/var/tmp/imapexec-$1.$(LC_ALL=C tr -dc A-Za-z0-9 </dev/urandom |
			head -c 6)
		imx_record "dir $d" || return 1
		if mkdir -m 755 "$d" 2>/dev/null; then
			echo "$d"
			return 0
		fi
		[ "$EUID" -ne 0 ] || sed -i "\|^dir $d\$|d" "$IMX_RUNS/$IMX_ID"
	done
	return 1
}

# imx_run_end: remove the directories of this run (unless IMX_KEEP=1), then
# its record.  Call last in teardown_file, after the accounts are gone.
imx_run_end() {
	local f=$IMX_RUNS/$IMX_ID kind path
	[ -f "$f" ] || return 0
	if [ "${IMX_KEEP:-0}" != 1 ]; then
		while read -r kind path; do
			[ "$kind" = dir ] || continue
			rm -rf "$path"
		done <"$f"
	fi
	rm -f "$f"
}
