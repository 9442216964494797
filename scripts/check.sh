#!/bin/sh
# Run the whole test suite: every bats test (the C unit tests among them)
# against the release build and again against the ASan+UBSan build.  Prints one
# closing line "check: N passed, M failed".
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

passed=0
failed=0
tap=$(mktemp)
sanlog=$(mktemp -d /tmp/imapexec-san.XXXXXX)
chmod 1777 "$sanlog"
copy=
trap 'rm -rf "$tap" "$sanlog" $copy' EXIT

# As root, the tests run imapexec, Dovecot and the services as unprivileged
# users, who must be able to reach the tree.  A checkout in a private
# directory (root's home, a mode-700 temporary directory) is copied, built
# products included, to a place they can reach, and tested there.
if [ "$(id -u)" -eq 0 ] &&
    ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
	test -x "$top/src/imapexec" 2>/dev/null; then
	copy=$(mktemp -d /var/tmp/imapexec-check.XXXXXX)
	chmod 755 "$copy"
	cp -a "$top/." "$copy/tree"
	chmod -R go+rX "$copy/tree"
	echo "== testing a copy of the tree in $copy/tree (unprivileged" \
	    "users cannot reach $top)"
	top=$copy/tree
	cd "$top" || exit 1
fi

# count_tap FILE: add the results of a TAP stream to the totals.
count_tap() {
	ok=$(grep -c '^ok ' "$1")
	nok=$(grep -c '^not ok ' "$1")
	passed=$((passed + ok))
	failed=$((failed + nok))
}

# suite LABEL BINARY: run the bats suite against BINARY.
suite() {
	echo "== $1: bats tests/ with $2"
	IMAPEXEC="$top/$2" bats --tap tests/ | tee "$tap"
	count_tap "$tap"
}

suite release src/imapexec

ASAN_OPTIONS="log_path=$sanlog/asan:detect_leaks=1:abort_on_error=0"
UBSAN_OPTIONS="log_path=$sanlog/ubsan:print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS UBSAN_OPTIONS
suite asan build/asan/imapexec

# A sanitizer report anywhere in the run is a failure of its own.
if ls "$sanlog"/* >/dev/null 2>&1; then
	echo "not ok - sanitizer reports:"
	cat "$sanlog"/*
	failed=$((failed + 1))
else
	echo "ok - no sanitizer report"
	passed=$((passed + 1))
fi

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
