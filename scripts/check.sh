#!/bin/sh
# check.sh [fast] - run the test suite.
#
# Without an argument: every bats file of tests/ (the C unit tests among
# them) against the release build and against the ASan+UBSan build, both
# suites at once, each running CHECK_JOBS files side by side (bats --jobs;
# the tests of one file run in order).  Then the last test,
# tests/final/99-nothing-left.bats: no account, process or run directory
# of a test is left.  Every file makes its own accounts, directories and
# ports (tests/helper.bash), so nothing is shared between them.
#
# Before the last test, the browser files (QUIET below) run, the two
# builds side by side on an otherwise idle machine.
#
# With "fast": the unit tests and the core files (FAST below) against the
# release build only, for the inner loop.
#
# Prints the TAP lines of each suite (a file's once it has ended),
# prefixed with the build; then each failure with what it printed; then,
# last, each failing test in two short lines (builds, name, line; why);
# and one closing line "check: N passed, M failed".
set -u

# Debian's own programs: a python3 of a version manager in PATH (pyenv's
# shims are bash scripts that run several more at every call) costs ten
# times the CPU of the interpreter, and lacks the Debian modules the tests
# use (python3-aiosmtpd, python3-icalendar).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# Every file run makes its own IMX_ID (tests/helper.bash).
unset IMX_ID IMX_ID_OF

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
mode=${1:-full}
jobs=${CHECK_JOBS:-6}

# The files that take longest start first, so that none of them starts
# last and holds up the end; the rest follow in order.
SLOW="75-backends 71-differential 68-roundcube 67-thunderbird 94-postlogin-attack
20-transparency 50-services
22-compress 72-faults 76-backends-faults 61-clients 40-execute 92-postlogin-handoff 80-run
51-services-hostile 63-safe-defaults 90-postlogin 64-smtp-and-install"
# Files the release suite runs and the sanitizer suite does not:
# - their tests do not run $IMAPEXEC (the unit tests and the fuzz corpora
#   are built with the sanitizers of their own; 69-deb builds the Debian
#   packages and installs them into this system, one run at once);
# - 75-backends runs imapexec's one relay and scanner against Courier and
#   Mailutils: their memory safety is proven by the sanitizer suite's
#   runs against Dovecot (71-differential, 72-faults, ...), and its
#   differential streams through two slow backends would double the
#   suite's longest file.
ONCE="30-unit 70-fuzz-corpus 69-deb 75-backends"
# Files that drive a browser (Chromium, php -S, Roundcube): they run
# after the others, release and sanitizer side by side and nothing else.
# In the main phase the machine runs at a load of 15 to 30 on 2 cores;
# a browser there waits minutes for a page (measured: a page with two
# frames, 20 s alone, took over 200 s on the CI machine and under 24
# busy loops here), while what the tests assert is about the plugin, not
# about starvation.
QUIET="68-roundcube"
FAST="30-unit 40-execute 41-session-defects 74-failclosed 80-run
90-postlogin 96-postlogin-zlib"

# What runs of test files killed before (a ^C, a CI job that was stopped)
# left behind: their records name it (tests/runs.bash).
tests/reap-runs.sh

passed=0
failed=0
work=$(mktemp -d)
sanlog=$(mktemp -d /tmp/imapexec-san.XXXXXX)
chmod 1777 "$sanlog"
copy=
trap 'rm -rf "$work" "$sanlog" $copy' EXIT

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

# files LIST [SKIP]: the bats files of LIST (names without .bats) that
# exist, then (unless LIST is FAST) every other file of tests/ in order;
# none of SKIP.
files() {
	for f in $1; do
		case " $(echo ${2:-}) " in *" $f "*) continue ;; esac
		[ -f "tests/$f.bats" ] && echo "tests/$f.bats"
	done
	[ "$1" = "$FAST" ] && return 0
	for f in tests/*.bats; do
		case " $(echo $1 ${2:-}) " in
		*" $(basename "$f" .bats) "*) ;;
		*) echo "$f" ;;
		esac
	done
}

# quiet: the bats files of QUIET that exist.
quiet() {
	for f in $QUIET; do
		[ -f "tests/$f.bats" ] && echo "tests/$f.bats"
	done
}

# sanitize: the options of the sanitizer build's runs (its reports go to
# $sanlog, any report is a failure).
sanitize() {
	ASAN_OPTIONS="log_path=$sanlog/asan:detect_leaks=1:abort_on_error=0"
	UBSAN_OPTIONS="log_path=$sanlog/ubsan:print_stacktrace=1:halt_on_error=1"
	export ASAN_OPTIONS UBSAN_OPTIONS
}

# suite LABEL BINARY FILES...: run the bats files against BINARY, the TAP
# stream in $work/LABEL.tap and on stdout with "[LABEL] " before each line.
suite() {
	label=$1 bin=$2
	shift 2
	echo "== $label: bats --jobs $jobs with $bin"
	par=
	[ "$jobs" -le 1 ] || par="--jobs $jobs --no-parallelize-within-files"
	# shellcheck disable=SC2086 # par is options or nothing
	IMAPEXEC="$top/$bin" bats --tap $par "$@" 2>&1 |
	    tee "$work/$label.tap" | sed -u "s/^/[$label] /"
}

# count NAME [LABEL]: add the results of $work/NAME.tap to the totals and
# list its failures, with their diagnostics, in $work/failures; LABEL (by
# default NAME) is the build they are shown under (a suite that stopped
# short is shown under NAME, which tells the phase).
count() {
	tap=$work/$1.tap
	label=${2:-$1}
	ok=$(grep -c '^ok ' "$tap")
	nok=$(grep -c '^not ok ' "$tap")
	passed=$((passed + ok))
	failed=$((failed + nok))
	# each failure with its diagnostics, the "#" lines after it (the
	# first 20, where it failed, and the last 60): the end of a CI log
	# may be all that is kept of it; and in $work/why a line for each:
	# build, test name, its line and the last line that says an error
	# (else its last line), tab-separated
	awk -v label="$label" -v why="$work/why" '
	    function flush(  i) {
		    if (n > 80)
			    print "[" label "] # ... " (n - 80) " lines left out"
		    for (i = (n > 80 ? n - 59 : 21); i <= n; i++)
			    print "[" label "] " tail[i % 60]
		    gsub(/\t/, " ", err)
		    gsub(/\t/, " ", last)
		    print label "\t" name "\t" where "\t" (err != "" ? err : last) >>why
		    on = 0
	    }
	    /^(ok|not ok) / { if (on) flush() }
	    /^not ok / {
		    n = 0; on = 1; where = err = last = ""
		    name = $0
		    sub(/^not ok [0-9]+ /, "", name)
		    print "[" label "] " $0
		    next
	    }
	    on && /^#/ {
		    n++
		    if (n <= 20)
			    print "[" label "] " $0
		    tail[n % 60] = $0
		    if (where == "" && match($0, /line [0-9]+\)/))
			    where = substr($0, RSTART, RLENGTH - 1)
		    else if (/[Ee]rror|gave up|[Tt]imeout|timed out|not found|denied|refused|failed|warning|crashed/)
			    err = substr($0, 3)
		    if ($0 !~ /^#[ \t]*$/)
			    last = substr($0, 3)
	    }
	    END { if (on) flush() }
	' "$tap" >>"$work/failures"
	# a suite that stopped short (bats died) is a failure of its own
	plan=$(sed -n 's/^1\.\.//p' "$tap" | head -n 1)
	if [ -z "$plan" ] || [ $((ok + nok)) -ne "$plan" ]; then
		echo "[$1] not ok - the suite ran $((ok + nok)) of" \
		    "${plan:-?} tests" >>"$work/failures"
		printf '%s\tthe suite ran %s of %s tests\t\t\n' "$1" \
		    "$((ok + nok))" "${plan:-?}" >>"$work/why"
		failed=$((failed + 1))
	fi
}

: >"$work/failures"
: >"$work/why"
start=$(date +%s)
if [ "$mode" = fast ]; then
	# shellcheck disable=SC2046 # one file name a word
	suite release src/imapexec $(files "$FAST")
	count release
else
	# shellcheck disable=SC2046
	suite release src/imapexec $(files "$SLOW" "$QUIET") &
	# shellcheck disable=SC2046
	(sanitize; suite asan build/asan/imapexec $(files "$SLOW" "$ONCE $QUIET")) &
	wait
	count release
	count asan

	# The browser files, on a machine that runs nothing else.
	if [ -n "$(quiet)" ]; then
		# shellcheck disable=SC2046
		suite release-browser src/imapexec $(quiet) &
		# shellcheck disable=SC2046
		(sanitize; suite asan-browser build/asan/imapexec $(quiet)) &
		wait
		count release-browser release
		count asan-browser asan
	fi

	# A sanitizer report anywhere in the run is a failure of its own.
	if ls "$sanlog"/* >/dev/null 2>&1; then
		echo "[asan] not ok - sanitizer reports:" >>"$work/failures"
		printf 'asan\tsanitizer reports\t\t%s\n' "$(grep -h -m 1 \
		    'ERROR\|runtime error' "$sanlog"/* | head -n 1)" >>"$work/why"
		cat "$sanlog"/* >>"$work/failures"
		failed=$((failed + 1))
	else
		echo "ok - no sanitizer report"
		passed=$((passed + 1))
	fi

	# The last test, once both suites have ended.
	bats --tap tests/final/ | tee "$work/final.tap" | sed -u "s/^/[final] /"
	count final
fi

if [ -s "$work/failures" ]; then
	echo "== failures, with what they printed:"
	cat "$work/failures"
	# last, as the end of a CI log may be all that is kept of it: each
	# failing test once (with the builds it failed in), where and why, in
	# two short lines
	echo "== failures:"
	awk -F '\t' '
	    function cut(s, w) {
		    gsub(/[ \t]+/, " ", s)
		    return length(s) > w ? substr(s, 1, w - 3) "..." : s
	    }
	    ($2 in builds) { builds[$2] = builds[$2] "+" $1; next }
	    { order[++n] = $2; builds[$2] = $1; why[$2] = $4; at[$2] = $3 }
	    END {
		    for (i = 1; i <= n; i++) {
			    t = order[i]
			    print "[" builds[t] "] " cut(t, 100) \
				(at[t] != "" ? " (" at[t] ")" : "")
			    print "    " cut(why[t], 150)
		    }
	    }' "$work/why"
fi
echo "== $(($(date +%s) - start)) s"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
