#!/bin/sh
# fuzz.sh - build the libFuzzer targets of tests/fuzz/ and run each for
# FUZZ_SECONDS (default 30), then grow the merged corpora.
#
#   FUZZ_SECONDS=60 sh scripts/fuzz.sh [target...]
#
# Builds into build/fuzz/ (or $FUZZ_OUT) with clang -fsanitize=fuzzer,address,undefined.
# Two corpora per target, kept apart:
#   tests/fuzz/seeds/<target>/   tracked regression seeds (hand-made seed-*
#                                files, tests/fuzz/mkseeds.py, and inputs
#                                worth keeping, copied there by hand); this
#                                script only reads them, and fails if a run
#                                changed them
#   build/fuzz/corpus/<target>/  the merged corpus (untracked): what the
#                                runs found that adds coverage (libFuzzer
#                                -merge=1); over FUZZ_CORPUS_MAX files
#                                (default 150) it is minimised afresh,
#                                then trimmed to the smallest files
# Each target runs on a scratch corpus (build/fuzz/work/<target>) and reads
# both.  Crash, leak, timeout and sanitizer artifacts go to
# build/fuzz/artifacts/; any of them fails the run.  Then the differential
# test runs with DIFF_STREAMS streams (default 20000; 0 skips it).  Prints
# executions per target and the findings.  tests/70-fuzz-corpus.bats
# replays both corpora of every target.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

secs=${FUZZ_SECONDS:-30}
cap=${FUZZ_CORPUS_MAX:-150}
streams=${DIFF_STREAMS:-20000}
out=${FUZZ_OUT:-build/fuzz}
CC_FUZZ=${CC_FUZZ:-clang}
FLAGS="-std=c11 -D_GNU_SOURCE -DVERSION=\"fuzz\" -DCONFIG_FILE=\"/nonexistent\"
	-Isrc -Itests/fuzz -O1 -g -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
# A leak inside libconfig itself (tests/fuzz/lsan.supp) is not ours.
LSAN_OPTIONS=suppressions=$top/tests/fuzz/lsan.supp
export LSAN_OPTIONS
# The fuzzers report on their own stderr (their logs), never into a
# sanitizer log directory that a caller (make check) may have set.
ASAN_OPTIONS=detect_leaks=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
LIBCONFIG=$(pkg-config --cflags --libs libbsd-overlay libconfig zlib 2>/dev/null || echo "-lbsd -lconfig -lz")

# fuzz_sources TARGET: the src/ files TARGET links with.
. "$top/tests/fuzz/sources.sh"

# maxlen TARGET: -max_len, a bit over the limits each parser works with
# (SCAN_LOOKAHEAD, XIN_LINE_MAX) so that their edges are reachable.
maxlen() {
	case $1 in
	xinput) echo 10240 ;;
	*) echo 2048 ;;
	esac
}

if ! command -v "$CC_FUZZ" >/dev/null 2>&1; then
	echo "fuzz: $CC_FUZZ not found (make fuzz installs it)" >&2
	exit 1
fi
targets=${*:-scan_client scan_server probe xcmd xinput config resp inflate}
mkdir -p "$out/artifacts" "$out/logs"
rm -f "$out"/artifacts/*

status=0
summary=
# digest DIR: one line per file of DIR (name and SHA-256), sorted
digest() {
	find "$1" -type f -exec sha256sum {} + 2>/dev/null | sort
}

for t in $targets; do
	src=tests/fuzz/fuzz_$t.c
	seeds=tests/fuzz/seeds/$t
	corpus=$out/corpus/$t
	work=$out/work/$t
	log=$out/logs/$t.log
	mkdir -p "$corpus" "$seeds"
	seeds_before=$(digest "$seeds")
	echo "== fuzz_$t: build"
	# shellcheck disable=SC2086 # word lists
	if ! $CC_FUZZ $FLAGS -o "$out/fuzz_$t" "$src" $(fuzz_sources "$t") \
		$LIBCONFIG; then
		summary="$summary
fuzz_$t: BUILD FAILED"
		status=1
		continue
	fi
	rm -rf "$work"
	mkdir -p "$work"
	before=$(find "$corpus" -type f | wc -l)
	nseeds=$(find "$seeds" -type f | wc -l)
	echo "== fuzz_$t: ${secs}s, -max_len=$(maxlen "$t"), $nseeds seeds, corpus $before files"
	# The first directory is the only one libFuzzer writes to: the scratch.
	"$out/fuzz_$t" -max_total_time="$secs" -max_len="$(maxlen "$t")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t-" "$work" "$corpus" "$seeds" \
		</dev/null >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	findings=$(ls "$out"/artifacts/"$t"-* 2>/dev/null | wc -l)
	if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ] ||
		grep -q -E '^(==[0-9]+==ERROR|SUMMARY: (Address|Undefined|Leak)|.*runtime error:|.*invariant failed)' "$log"; then
		status=1
		echo "fuzz_$t: FAILED (exit $rc); the report:" >&2
		grep -E -A 30 'ERROR|runtime error|invariant failed|deadly signal' "$log" |
			head -n 60 >&2
		findings=$((findings > 0 ? findings : 1))
	fi
	# Grow the merged corpus (never the seeds) with what this run found.
	"$out/fuzz_$t" -merge=1 -max_len="$(maxlen "$t")" "$corpus" "$work" \
		</dev/null >"$log.merge" 2>&1 || true
	if [ "$(find "$corpus" -type f | wc -l)" -gt "$cap" ]; then
		fresh=$out/work/$t.min
		rm -rf "$fresh"
		mkdir -p "$fresh"
		"$out/fuzz_$t" -merge=1 -max_len="$(maxlen "$t")" "$fresh" \
			"$corpus" </dev/null >>"$log.merge" 2>&1 || true
		# Still too many: keep the smallest.
		find "$fresh" -type f -printf '%s %p\n' |
			sort -n | tail -n +$((cap + 1)) | cut -d' ' -f2- |
			xargs -r rm -f
		rm -rf "$corpus"
		mv "$fresh" "$corpus"
	fi
	if [ "$(digest "$seeds")" != "$seeds_before" ]; then
		echo "fuzz_$t: FAILED: $seeds changed during the run" >&2
		status=1
	fi
	after=$(find "$corpus" -type f | wc -l)
	size=$(du -sk --apparent-size "$corpus" | cut -f1)
	line="fuzz_$t: ${execs:-?} execs in ${secs}s, cov ${cov:-?}, $nseeds seeds, corpus $before -> $after files (${size} KiB), findings $findings"
	echo "$line"
	summary="$summary
$line"
done

echo "== fuzz summary:$summary"
ls "$out"/artifacts/* 2>/dev/null | sed 's/^/artifact: /'

if [ "$streams" -gt 0 ]; then
	echo "== differential test against Dovecot: $streams streams"
	IMAPEXEC=${IMAPEXEC:-$top/src/imapexec}
	if [ ! -x "$IMAPEXEC" ]; then
		make -s all || status=1
	fi
	DIFF_STREAMS=$streams DIFF_SEED=${DIFF_SEED:-$(date +%s)} \
		IMAPEXEC=$IMAPEXEC bats --tap tests/71-differential.bats ||
		status=1
fi

[ "$status" -eq 0 ] && echo "fuzz: OK" || echo "fuzz: FAILED"
exit "$status"
