#!/usr/bin/env bats
# The relay never stalls (issue 10): a deterministic closed-world test of
# the relay loop (tests/unit/test_relay.c), and backpressure sessions
# through the real Dovecot with fast, slow and uneven, and stop-and-go
# readers (tests/backpressure.py).

load helper

@test "relay loop: no lost wake-up, no unseen hang-up (closed-world unit test)" {
	top="$BATS_TEST_DIRNAME/.."
	make -C "$top" -s unit >&2
	seed=${IMX_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	run timeout 120 "$top/build/unit/test_relay" "$seed"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^test_relay:\ [0-9]+\ passed,\ 0\ failed$ ]]
}
