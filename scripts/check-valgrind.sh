#!/bin/sh
# check-valgrind.sh [BATS-FILE...] - run the bats suite (default: every
# tests/*.bats) with imapexec under valgrind's memcheck, then scan the logs.
#
# IMAPEXEC points to a wrapper that runs the release build as
#   valgrind --error-exitcode=99 --leak-check=full
#            --errors-for-leak-kinds=definite --track-fds=yes
#            --log-file=DIR/vg.%p --trace-children=no src/imapexec ...
# (the backend and the services run natively).  The wrapper sits in a
# world-readable directory and names valgrind by absolute path, so it works
# for the unprivileged test user and in helper.bash's clean environment
# (env -i with PATH, HOME, USER, LOGNAME).  IMX_VALGRIND=1 tells tests that
# measure imapexec's RSS that valgrind's footprint is not imapexec's.
#
# Then every log is checked for memcheck errors, definitely lost bytes and
# descriptors imapexec itself opened and left open at exit.  Not counted:
# descriptors valgrind reports as "<inherited from parent>" (the
# launcher's: bats and the driver pass some down), and the descriptors of
# a forked child of imapexec that ended without exec (a service whose
# program could not be started: the child holds the pipes it was setting
# up when it _exits; its log's "Parent PID" is another logged imapexec).
# VG_BINARY (default src/imapexec) picks the binary; TESTS or the
# arguments pick bats files.
# Prints "check-valgrind: N passed, M failed; L logs: E with errors,
# D with definite leaks, F with open descriptors".
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

if ! command -v valgrind >/dev/null 2>&1; then
	echo "check-valgrind: valgrind not found (apt-get install valgrind)" >&2
	exit 1
fi
vg=$(mktemp -d /tmp/imapexec-vg.XXXXXX)
chmod 1777 "$vg"
cat >"$vg/imapexec" <<EOF2
#!/bin/sh
exec $(command -v valgrind) --error-exitcode=99 --leak-check=full \\
	--errors-for-leak-kinds=definite --track-fds=yes \\
	--log-file=$vg/vg.%p --trace-children=no ${VG_BINARY:-$top/src/imapexec} "\$@"
EOF2
chmod 755 "$vg/imapexec"

tap=$vg/tap
files=${*:-${TESTS:-tests/}}
echo "== valgrind: bats $files with $vg/imapexec"
# shellcheck disable=SC2086 # a list of files
IMAPEXEC=$vg/imapexec IMX_VALGRIND=1 bats --tap $files | tee "$tap"
passed=$(grep -c '^ok ' "$tap")
failed=$(grep -c '^not ok ' "$tap")

logs=0 errs=0 leaks=0 fdlogs=0
for f in "$vg"/vg.*; do
	[ -e "$f" ] || continue
	logs=$((logs + 1))
	bad=
	if grep -q -E 'ERROR SUMMARY: [1-9]' "$f"; then
		errs=$((errs + 1))
		bad="$bad errors"
	fi
	if grep -q -E 'definitely lost: [1-9]' "$f"; then
		leaks=$((leaks + 1))
		bad="$bad leak"
	fi
	# "Open file descriptor N: ..." followed by where it was opened, or by
	# "<inherited from parent>"; fds 0-2 are listed too (std).
	ppid=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\).*/\1/p' "$f")
	if [ -n "$ppid" ] && [ -e "$vg/vg.$ppid" ]; then
		: # a spawn child that did not exec: see above
	elif awk '/Open (file descriptor|AF_UNIX socket|AF_INET socket) [0-9]+:/ {
			split($0, w, /descriptor |socket /); split(w[2], n, ":");
			fd = n[1] + 0; getline nxt;
			if (fd > 2 && nxt !~ /inherited from parent/) found = 1 }
		END { exit !found }' "$f"; then
		fdlogs=$((fdlogs + 1))
		bad="$bad fds"
	fi
	if [ -n "$bad" ]; then
		echo "not ok - $f:$bad" >&2
		sed 's/^/#   /' "$f" | head -n 60 >&2
	fi
done
bad=$((errs + leaks + fdlogs))
echo "check-valgrind: $passed passed, $failed failed; $logs logs: $errs with errors, $leaks with definite leaks, $fdlogs with open descriptors"
if [ "$bad" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$logs" -gt 0 ]; then
	rm -rf "$vg"
	exit 0
fi
echo "check-valgrind: logs kept in $vg" >&2
exit 1
