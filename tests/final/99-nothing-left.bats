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

# left_processes: processes whose real or effective uid has no passwd
# entry any more (a test account removed under it), or whose command line
# names a run directory of the tests.
left_processes() {
	local pid uids args
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		[ "$pid" != $$ ] && [ "$pid" != "$BASHPID" ] || continue
		uids=$(awk '$1 == "Uid:" { print $2, $3 }' "/proc/$pid/status" \
			2>/dev/null) || continue
		args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
		[ -n "$uids" ] || continue
		if ! getent passwd "${uids% *}" >/dev/null ||
			! getent passwd "${uids#* }" >/dev/null ||
			[[ $args == */var/tmp/imapexec-test.* ]] ||
			[[ $args == */var/tmp/imapexec-deploy.* ]] ||
			[[ $args == */var/tmp/imapexec-fuzz.* ]]; then
			echo "$pid uid=$uids $args"
		fi
	done
}

# left_dirs: run directories of the tests.
left_dirs() {
	[ "${IMX_KEEP:-0}" = 1 ] && return 0
	local k
	for k in test deploy fuzz; do
		compgen -G "/var/tmp/imapexec-$k.??????" || true
	done
}

@test "after the suite: no test account, no process of a test, no run directory is left" {
	[ "$(id -u)" -eq 0 ] || skip "the tests make accounts only as root"
	local a p d
	a=$(left_accounts)
	p=$(left_processes)
	d=$(left_dirs)
	[ -z "$a" ] || printf '# accounts left:\n%s\n' "$a" >&2
	[ -z "$p" ] || printf '# processes left:\n%s\n' "$p" >&2
	[ -z "$d" ] || printf '# directories left:\n%s\n' "$d" >&2
	[ -z "$a$p$d" ]
}
