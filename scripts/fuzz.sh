#!/bin/sh
# fuzz.sh - build the libFuzzer targets of tests/fuzz/ and run each for
# FUZZ_SECONDS (default 30), then grow the checked-in corpora.
#
#   FUZZ_SECONDS=60 sh scripts/fuzz.sh [target...]
#
# Builds into build/fuzz/ with clang -fsanitize=fuzzer,address,undefined.
# Each target runs on a scratch corpus (build/fuzz/work/<target>) seeded
# with tests/fuzz/corpus/<target>; afterwards the new inputs that add
# coverage are merged into tests/fuzz/corpus/<target> (libFuzzer -merge=1),
# and a corpus over FUZZ_CORPUS_MAX files (default 150, not counting the
# hand-made seed-* files) is minimised
# afresh, hand-made seed-* files always kept.  Crash, leak, timeout and
# sanitizer artifacts go to build/fuzz/artifacts/; any of them fails the
# run.  Then the differential test runs with DIFF_STREAMS streams (default
# 20000; 0 skips it).  Prints executions per target and the findings.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

secs=${FUZZ_SECONDS:-30}
cap=${FUZZ_CORPUS_MAX:-150}
streams=${DIFF_STREAMS:-20000}
out=build/fuzz
CC_FUZZ=${CC_FUZZ:-clang}
SCAN="src/lex.c src/tags.c src/scan_client.c src/scan_server.c"
FLAGS="-std=c11 -D_GNU_SOURCE -DVERSION=\"fuzz\" -DCONFIG_FILE=\"/nonexistent\"
	-Isrc -Itests/fuzz -O1 -g -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
# A leak inside libconfig itself (tests/fuzz/lsan.supp) is not ours.
LSAN_OPTIONS=suppressions=$top/tests/fuzz/lsan.supp
export LSAN_OPTIONS
LIBCONFIG=$(pkg-config --cflags --libs libconfig 2>/dev/null || echo -lconfig)

# sources TARGET: the src/ files TARGET links with (no main.c).
sources() {
	case $1 in
	scan_client | scan_server | probe) echo "$SCAN" ;;
	xcmd) echo "$SCAN src/xcmd.c" ;;
	xinput) echo "src/lex.c src/xinput.c" ;;
	config) echo "src/config.c" ;;
	esac
}

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
targets=${*:-scan_client scan_server probe xcmd xinput config}
mkdir -p "$out/artifacts" "$out/logs"
rm -f "$out"/artifacts/*

status=0
summary=
for t in $targets; do
	src=tests/fuzz/fuzz_$t.c
	corpus=tests/fuzz/corpus/$t
	work=$out/work/$t
	log=$out/logs/$t.log
	mkdir -p "$corpus"
	echo "== fuzz_$t: build"
	# shellcheck disable=SC2086 # word lists
	if ! $CC_FUZZ $FLAGS -o "$out/fuzz_$t" "$src" $(sources "$t") \
		$LIBCONFIG; then
		summary="$summary
fuzz_$t: BUILD FAILED"
		status=1
		continue
	fi
	rm -rf "$work"
	mkdir -p "$work"
	before=$(find "$corpus" -type f | wc -l)
	echo "== fuzz_$t: ${secs}s, -max_len=$(maxlen "$t"), corpus $before files"
	"$out/fuzz_$t" -max_total_time="$secs" -max_len="$(maxlen "$t")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t-" "$work" "$corpus" \
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
	# Grow the checked-in corpus with what this run found.
	"$out/fuzz_$t" -merge=1 -max_len="$(maxlen "$t")" "$corpus" "$work" \
		</dev/null >"$log.merge" 2>&1 || true
	if [ "$(find "$corpus" -type f | wc -l)" -gt "$cap" ]; then
		fresh=$out/work/$t.min
		rm -rf "$fresh"
		mkdir -p "$fresh"
		cp "$corpus"/seed-* "$fresh"/ 2>/dev/null || true
		"$out/fuzz_$t" -merge=1 -max_len="$(maxlen "$t")" "$fresh" \
			"$corpus" </dev/null >>"$log.merge" 2>&1 || true
		# Still too many: keep the seeds and the smallest of the rest.
		find "$fresh" -type f ! -name 'seed-*' -printf '%s %p\n' |
			sort -n | tail -n +$((cap + 1)) | cut -d' ' -f2- |
			xargs -r rm -f
		rm -rf "$corpus"
		mv "$fresh" "$corpus"
	fi
	after=$(find "$corpus" -type f | wc -l)
	size=$(du -sk --apparent-size "$corpus" | cut -f1)
	line="fuzz_$t: ${execs:-?} execs in ${secs}s, cov ${cov:-?}, corpus $before -> $after files (${size} KiB), findings $findings"
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
