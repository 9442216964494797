#!/usr/bin/env bats
# The suite's last test (scripts/check.sh runs it once both builds' suites
# have ended): no test left an account, a process or a run directory
# behind.  Every bats file makes its own accounts imxt-ID-ROLE and its run
# directories /var/tmp/imapexec-{test,deploy,fuzz}.*, and removes them in
# teardown_file (tests/helper.bash).

# left_accounts: passwd and group entries of the tests.
left_accounts() {
	getent passwd | cut -d: -f1 | grep '^imxt-' || true
	getent group | cut -d: -f1 | grep '^imxt-' || true
}

# left_processes: processes whose real or effective uid is a system uid
# (the range of the test accounts) without a passwd entry any more (a test
# account removed under it), or whose command line or working directory
# names a run directory of the tests (a daemon the tests started as root).
left_processes() {
	local pid uids u args cwd gone
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		[ "$pid" != $$ ] && [ "$pid" != "$BASHPID" ] || continue
		uids=$(awk '$1 == "Uid:" { print $2, $3 }' "/proc/$pid/status" \
			2>/dev/null) || continue
		args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
		cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || cwd=
		[ -n "$uids" ] || continue
		gone=
		for u in $uids; do
			[ "$u" -gt 0 ] && [ "$u" -lt 1000 ] &&
				! getent passwd "$u" >/dev/null && gone=1
		done
		if [ -n "$gone" ] ||
			[[ "$args $cwd" =~ /var/tmp/imapexec-(test|deploy|fuzz)\. ]]; then
			echo "$pid uid=$uids cwd=$cwd $args"
		fi
	done
}

# left_edits: lines the tests add to files of /etc, and the packages they
# install (with /etc/imapexec.conf), left by a test killed before it
# could take them out again.
left_edits() {
	grep -H 'imapexec-63-safe-defaults' /etc/hosts || true
	grep -H -F 'written by the imapexec test suite' \
		/etc/postfix/main.cf 2>/dev/null || true
	# the Debian packages tests/69-deb.bats installs and purges
	dpkg-query -W -f='${Package} ${db:Status-Status}\n' imapexec \
		imapexec-run 2>/dev/null | grep -v ' not-installed$' || true
}

# left_dirs: run directories of the tests, and records of runs
# (tests/runs.bash) that did not end.
left_dirs() {
	compgen -G "/var/lib/imapexec-tests/runs/*" || true
	[ "${IMX_KEEP:-0}" = 1 ] && return 0
	local k
	for k in test deploy fuzz; do
		compgen -G "/var/tmp/imapexec-$k.??????" || true
	done
}

@test "after the suite: no test account, process, run directory or edit of /etc is left" {
	[ "$(id -u)" -eq 0 ] || skip "the tests make accounts only as root"
	local a p d e
	a=$(left_accounts)
	p=$(left_processes)
	d=$(left_dirs)
	e=$(left_edits)
	[ -z "$a" ] || printf '# accounts left:\n%s\n' "$a" >&2
	[ -z "$p" ] || printf '# processes left:\n%s\n' "$p" >&2
	[ -z "$d" ] || printf '# directories left:\n%s\n' "$d" >&2
	[ -z "$e" ] || printf '# edits of /etc left:\n%s\n' "$e" >&2
	[ -z "$a$p$d$e" ]
}
