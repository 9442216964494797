#!/usr/bin/env bats
# Replay of the fuzz corpora: each libFuzzer target of tests/fuzz/ is
# linked with tests/fuzz/standalone.c (a main that runs every file once)
# by the C compiler of the build (gcc), with AddressSanitizer and UBSan, so
# `make check` needs no clang, and runs on both corpora of the target: the
# tracked seeds tests/fuzz/seeds/<target>/ (which must exist) and the
# merged corpus of `make fuzz`, build/fuzz/corpus/<target>/ (when there is
# one).  Every input must pass the target's invariants without a sanitizer
# report.  `make fuzz` (scripts/fuzz.sh) never changes the seeds: the last
# test checks that with a short run when clang with libFuzzer is there.

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
. "$REPO/tests/fuzz/sources.sh"
. "$REPO/tests/runs.bash"

# OUT: the binaries and outputs of this run's own (the release and ASan
# suites run this file side by side, from the same tree).
setup_file() {
	OUT=$(imx_run_dir fuzz) || return 1
	export OUT
}
teardown_file() {
	[ -z "${OUT:-}" ] || [ "${IMX_KEEP:-0}" = 1 ] || rm -rf "$OUT"
	imx_run_end
}

# replay TARGET: build fuzz_TARGET with the standalone driver
# and run it on its seeds and its merged corpus.
replay() {
	local t=$1 cc=${CC:-cc}
	cd "$REPO"
	local seeds=tests/fuzz/seeds/$t merged=build/fuzz/corpus/$t
	[ -d "$seeds" ]
	[ -n "$(ls "$seeds")" ]
	local dirs=("$seeds")
	[ ! -d "$merged" ] || [ -z "$(ls "$merged")" ] || dirs+=("$merged")
	# shellcheck disable=SC2046 # pkg-config output is a word list
	"$cc" -std=c11 -D_GNU_SOURCE -DVERSION='"replay"' \
		-DCONFIG_FILE='"/nonexistent"' -Wall -Wextra -Werror -Isrc \
		-Itests/fuzz -O1 -g -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=all \
		-o "$OUT/fuzz_$t" "tests/fuzz/fuzz_$t.c" tests/fuzz/standalone.c \
		$(fuzz_sources "$t") $(pkg-config --cflags --libs libbsd-overlay libconfig zlib)
	local rc=0
	LSAN_OPTIONS=suppressions=$REPO/tests/fuzz/lsan.supp \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$OUT/fuzz_$t" "${dirs[@]}" >"$OUT/$t.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$OUT/$t.out" >&2
		return 1
	fi
	echo "# ${dirs[*]}:" >&3
	sed 's/^/# /' "$OUT/$t.out" >&3
}

@test "fuzz corpus replay: scan_client (both directions, split invariants)" {
	replay scan_client
}

@test "fuzz corpus replay: scan_server" {
	replay scan_server
}

@test "fuzz corpus replay: probe (failing closed against a backend that parses less)" {
	replay probe
}

@test "fuzz corpus replay: xcmd (EXECUTE arguments)" {
	replay xcmd
}

@test "fuzz corpus replay: xinput (interactive input)" {
	replay xinput
}

@test "fuzz corpus replay: config" {
	replay config
}

@test "fuzz corpus replay: resp (imapexec-run's response reader)" {
	replay resp
}

@test "fuzz corpus replay: inflate (COMPRESS: inflate -> scanner, deflate -> client)" {
	replay inflate
}

@test "fuzz: every seed directory belongs to a target, every target has seeds" {
	cd "$REPO"
	local d t
	for d in tests/fuzz/seeds/*/; do
		t=$(basename "$d")
		[ -f "tests/fuzz/fuzz_$t.c" ] || { echo "# no target for $d" >&2; return 1; }
	done
	for t in tests/fuzz/fuzz_*.c; do
		t=${t#tests/fuzz/fuzz_}
		t=${t%.c}
		[ -n "$(ls "tests/fuzz/seeds/$t" 2>/dev/null)" ] ||
			{ echo "# no seeds for $t" >&2; return 1; }
	done
	[ ! -e tests/fuzz/corpus ]
}

@test "make fuzz never changes the tracked seeds, even when it minimises the corpus" {
	command -v clang >/dev/null 2>&1 || skip "no clang"
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
		'{ (void)d; (void)n; return 0; }' >"$OUT/probe.c"
	clang -fsanitize=fuzzer -o "$OUT/probe" "$OUT/probe.c" 2>/dev/null ||
		skip "no libFuzzer"
	cd "$REPO"
	before=$(find tests/fuzz/seeds/config -type f -exec sha256sum {} + | sort)
	# its own output directory (the developer's merged corpus stays); a
	# cap far below the number of seeds forces the minimisation
	rm -rf "$OUT/fuzzrun"
	# a merged corpus over the cap from the start (copies of the seeds):
	# the minimisation runs however few inputs a busy machine finds in
	# the 3 s, and keeps some
	mkdir -p "$OUT/fuzzrun/corpus"
	cp -R tests/fuzz/seeds/config "$OUT/fuzzrun/corpus/config"
	[ "$(find "$OUT/fuzzrun/corpus/config" -type f | wc -l)" -gt 3 ]
	FUZZ_OUT=$OUT/fuzzrun FUZZ_SECONDS=3 FUZZ_CORPUS_MAX=3 DIFF_STREAMS=0 \
		timeout 600 sh scripts/fuzz.sh config >"$OUT/fuzzrun.log" 2>&1 ||
		{ tail -n 30 "$OUT/fuzzrun.log" >&2; return 1; }
	grep -q '^fuzz: OK' "$OUT/fuzzrun.log"
	[ "$(find tests/fuzz/seeds/config -type f -exec sha256sum {} + | sort)" = "$before" ]
	n=$(find "$OUT/fuzzrun/corpus/config" -type f | wc -l)
	[ "$n" -ge 1 ]
	[ "$n" -le 3 ]
}
