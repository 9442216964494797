#!/usr/bin/env bats
# The relay never stalls (issue 10): a deterministic closed-world test of
# the relay loop (tests/unit/test_relay.c), and backpressure sessions
# through the real Dovecot with fast, slow and uneven, and stop-and-go
# readers (tests/backpressure.py).

load helper
# hooks of the libraries loaded above: teardown_file and setup: helper.bash's

@test "relay loop: no lost wake-up, no unseen hang-up (closed-world unit test)" {
	top="$BATS_TEST_DIRNAME/.."
	make -C "$top" -s unit >&2
	seed=${IMX_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	run timeout 120 "$top/build/unit/test_relay" "$seed"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^test_relay:\ [0-9]+\ passed,\ 0\ failed$ ]]
}

setup_file() {
	IMX_RUN=$(imx_run_dir test) || return 1
	export IMX_RUN
	imx_ensure_user
}

# bp_maildir DIR: an INBOX of 7 messages from 2 KB to 4 MiB, in cur/.
bp_maildir() {
	"$PYTHON" - "$1" <<-'EOF'
		import os, random, sys
		rng = random.Random(10)
		cur = os.path.join(sys.argv[1], "cur")
		for d in ("cur", "new", "tmp"):
		    os.makedirs(os.path.join(sys.argv[1], d), exist_ok=True)
		words = [b"relay", b"{12}", b"a OK", b"* BYE", b"literal", b")",
		         b"backpressure", b"\xc3\xa9t\xc3\xa9", b"~{5}"]
		for i, size in enumerate([2 << 10, 30 << 10, 100 << 10, 300 << 10,
		                          700 << 10, 3 << 19, 4 << 20]):
		    hdr = (b"From: bp@example.org\nSubject: message %d\n"
		           b"Message-ID: <%d@bp.example.org>\n\n" % (i, i))
		    body, n = [], 0
		    while n < size:
		        line = b" ".join(rng.choice(words)
		                         for _ in range(rng.randint(1, 14)))
		        body.append(line)
		        n += len(line) + 1
		    name = "%d.M%dP1.bp:2,S" % (1700000000 + i, i)
		    with open(os.path.join(cur, name), "wb") as f:
		        f.write(hdr + b"\n".join(body) + b"\n")
	EOF
}

@test "backpressure through Dovecot: fast, uneven and stop-and-go readers, depth 1 and 50, pipes and socket" {
	imx_require_binary
	local home=$T/home
	mkdir -p "$home"
	bp_maildir "$home/Maildir"
	imx_write_dovecot_conf "$T/dovecot.conf" "$home/Maildir"
	imx_own "$home"
	imx_command direct "$home" "$T/dovecot.conf"
	local direct=("${IMX_CMD[@]}")
	# index the mailbox and take \Recent once, so that every session sees
	# the same mailbox state
	printf 'a SELECT INBOX\r\nz LOGOUT\r\n' | timeout 60 "${direct[@]}" >/dev/null 2>&1
	imx_command filtered "$home" "$T/dovecot.conf"
	local seed=${IMX_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	run timeout 900 "$PYTHON" "$REPO/tests/backpressure.py" --seed "$seed" \
		--logdir "$T" 7 "${direct[@]}" --- "${IMX_CMD[@]}"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ,\ 0\ failed$ ]]
	imx_assert_no_leftovers
}

# Issue 10: literal octets from the backend are spliced.  How many bytes
# go by splice(2) depends on how fast the client reads (bytes queued for
# it go first, through the buffers), so this only shows the count from
# strace; test_relay's "fast" schedule asserts it deterministically.
@test "splice: a 4 MiB literal through the splicing relay arrives byte for byte (strace shows the splice(2) calls)" {
	imx_require_binary
	command -v strace >/dev/null || skip "strace not installed"
	local home=$T/home
	mkdir -p "$home"
	bp_maildir "$home/Maildir"
	imx_write_dovecot_conf "$T/dovecot.conf" "$home/Maildir"
	imx_own "$home"
	printf '%s\n' '> a EXAMINE INBOX' 'wait a OK' '> f FETCH 7 (BODY.PEEK[])' \
		'wait f OK' '> z LOGOUT' 'wait z OK' 'eof' >"$T/s.txt"
	imx_command direct "$home" "$T/dovecot.conf"
	"$PYTHON" "$DRIVER" --timeout 120 --out "$T/direct.out" "$T/s.txt" -- "${IMX_CMD[@]}"
	imx_command filtered "$home" "$T/dovecot.conf"
	# strace runs as the test user, in front of imapexec (LeakSanitizer
	# cannot run under ptrace: no leak check in this one run)
	local i cmd=()
	for i in "${!IMX_CMD[@]}"; do
		[ "${IMX_CMD[$i]}" != "$IMAPEXEC" ] ||
			cmd+=(strace -qq -e trace=splice -o "$T/strace.out")
		case ${IMX_CMD[$i]} in
		ASAN_OPTIONS=*) cmd+=("${IMX_CMD[$i]}:detect_leaks=0") ;;
		*) cmd+=("${IMX_CMD[$i]}") ;;
		esac
	done
	: >"$T/strace.out"
	imx_own "$T/strace.out"
	"$PYTHON" "$DRIVER" --timeout 120 --out "$T/filtered.out" "$T/s.txt" -- "${cmd[@]}"
	cmp <(imx_literal "$T/direct.out" 1) <(imx_literal "$T/filtered.out" 1)
	[ "$(imx_literal "$T/filtered.out" 1 | wc -c)" -gt $((4 << 20)) ]
	local spliced
	spliced=$(awk '/^splice\(/ && $NF ~ /^[0-9]+$/ { s += $NF } END { print s + 0 }' \
		"$T/strace.out")
	echo "# splice(2) moved $spliced of $(imx_literal "$T/filtered.out" 1 | wc -c) literal bytes" >&3
	grep -q '^splice(' "$T/strace.out"
}
