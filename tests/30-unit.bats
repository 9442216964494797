#!/usr/bin/env bats
# Unit tests of the pure IMAP scanner (tests/unit/test_scan.c), built with
# AddressSanitizer and UBSan by "make unit".

@test "scanner unit tests pass" {
	top="$BATS_TEST_DIRNAME/.."
	make -C "$top" -s unit >&2
	run "$top/build/unit/test_scan"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^test_scan:\ [0-9]+\ passed,\ 0\ failed$ ]]
}

@test "interactive input, service names and log escaping unit tests pass" {
	top="$BATS_TEST_DIRNAME/.."
	make -C "$top" -s unit >&2
	run "$top/build/unit/test_xin"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^test_xin:\ [0-9]+\ passed,\ 0\ failed$ ]]
}
