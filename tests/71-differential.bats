#!/usr/bin/env bats
# Differential test of the scanner against the real backend: seeded random
# client streams (tests/difftest.py explains the design) run straight
# against Dovecot and through imapexec, which runs the "mark" service for
# every EXECUTE it recognises.  The EXECUTE lines imapexec ran must be
# exactly those Dovecot parses as commands (or, where imapexec errs
# towards a literal on purpose, those it passed on to the backend), in
# order; every other tag must get the same status.
#
# DIFF_STREAMS (default 1000) and DIFF_SEED (default fixed) choose the
# streams; scripts/fuzz.sh runs many more with a new seed each time.

load helper
load execute

setup_file() { ex_setup_file; }
teardown_file() { imx_teardown_file; }
setup() {
	imx_setup
	ex_setup
}

# diff_run COUNT SEED [difftest opts]: run difftest.py; its summary and
# any mismatch go to stderr (shown by bats on failure) and to $T/summary.
diff_run() {
	local count=$1 seed=$2 mode direct filtered
	shift 2
	imx_require_binary
	# a probe that became data fails closed after 1 s, within difftest's
	# 3 s wait for an answer
	echo 'probe_timeout = 1;' >>"$T/imapexec.conf"
	for mode in direct filtered; do
		rm -rf "$T/home.$mode"
		cp -a "$IMX_RUN/template" "$T/home.$mode"
		imx_write_dovecot_conf "$T/dovecot.$mode.conf" \
			"$T/home.$mode/Maildir"
	done
	: >"$T/diff.log"
	imx_own "$T/diff.log"
	imx_command direct "$T/home.direct" "$T/dovecot.direct.conf"
	direct=("${IMX_CMD[@]}")
	imx_command filtered "$T/home.filtered" "$T/dovecot.filtered.conf"
	filtered=("${IMX_CMD[@]}")
	local rc=0
	"$PYTHON" "$REPO/tests/difftest.py" --count "$count" --seed "$seed" \
		--mark "$T/marker" --log "$T/diff.log" ${DIFF_ARGS:-} "$@" \
		-- "${direct[@]}" --- "${filtered[@]}" >"$T/summary" 2>&1 || rc=$?
	sed 's/^/# /' "$T/summary" >&3
	if [ "$rc" -ne 0 ]; then
		cat "$T/summary" >&2
		return 1
	fi
	imx_assert_no_leftovers
}

@test "differential: seeded client streams, imapexec vs Dovecot (${DIFF_STREAMS:-1000} streams)" {
	diff_run "${DIFF_STREAMS:-1000}" "${DIFF_SEED:-20260101}"
}

@test "differential: the marker service works and Dovecot rejects EXECUTE" {
	# guards against a vacuous comparison: both sides of the oracle work
	diff_run 40 7
	grep -q -E ' [1-9][0-9]* run by imapexec' "$T/summary"
	grep -q -E ' [1-9][0-9]* EXECUTE lines Dovecot parses' "$T/summary"
}
