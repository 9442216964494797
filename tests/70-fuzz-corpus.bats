#!/usr/bin/env bats
# Replay of the checked-in fuzz corpora (tests/fuzz/corpus/<target>/): each
# libFuzzer target of tests/fuzz/ is linked with tests/fuzz/standalone.c
# (a main that runs every file once) by the C compiler of the build (gcc),
# with AddressSanitizer and UBSan, so `make check` needs no clang.  Every
# input must pass the target's invariants without a sanitizer report.
# `make fuzz` (scripts/fuzz.sh) is where the corpora grow.

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
OUT=$REPO/build/fuzz-replay
SCAN="src/lex.c src/tags.c src/scan_client.c src/scan_server.c"

setup_file() {
	mkdir -p "$OUT"
}

# replay TARGET SOURCES...: build fuzz_TARGET with the standalone driver
# and run it on its corpus.
replay() {
	local t=$1 cc=${CC:-cc}
	shift
	cd "$REPO"
	local corpus=tests/fuzz/corpus/$t
	[ -d "$corpus" ] && [ -n "$(ls "$corpus")" ]
	# shellcheck disable=SC2046 # pkg-config output is a word list
	"$cc" -std=c11 -D_GNU_SOURCE -DVERSION='"replay"' \
		-DCONFIG_FILE='"/nonexistent"' -Wall -Wextra -Werror -Isrc \
		-Itests/fuzz -O1 -g -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=all \
		-o "$OUT/fuzz_$t" "tests/fuzz/fuzz_$t.c" tests/fuzz/standalone.c \
		"$@" $(pkg-config --cflags --libs libconfig)
	local rc=0
	LSAN_OPTIONS=suppressions=$REPO/tests/fuzz/lsan.supp \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$OUT/fuzz_$t" "$corpus" >"$OUT/$t.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$OUT/$t.out" >&2
		return 1
	fi
	sed 's/^/# /' "$OUT/$t.out" >&3
}

@test "fuzz corpus replay: scan_client (both directions, split invariants)" {
	# shellcheck disable=SC2086
	replay scan_client $SCAN
}

@test "fuzz corpus replay: scan_server" {
	# shellcheck disable=SC2086
	replay scan_server $SCAN
}

@test "fuzz corpus replay: probe (failing closed against a backend that parses less)" {
	# shellcheck disable=SC2086
	replay probe $SCAN
}

@test "fuzz corpus replay: xcmd (EXECUTE arguments)" {
	# shellcheck disable=SC2086
	replay xcmd $SCAN src/xcmd.c
}

@test "fuzz corpus replay: xinput (interactive input)" {
	replay xinput src/lex.c src/xinput.c
}

@test "fuzz corpus replay: config" {
	replay config src/config.c
}
