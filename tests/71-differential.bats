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
# streams, DIFF_JOBS (default 4) how many run side by side; scripts/fuzz.sh
# runs many more with a new seed each time.

load helper
load execute
load difftest
# hooks of the libraries loaded above: setup_file and setup: execute.bash's;
# teardown_file: helper.bash's

# diff_job DIR START COUNT SEED [difftest opts]: run streams START ..
# START+COUNT-1 in DIR, a directory of its own (homes, Dovecot configs, an
# imapexec config whose marker file is DIR/marker, log), so that jobs run
# side by side.  difftest.py's summary goes to DIR/summary; returns its
# exit status.
diff_job() {
	local dir=$1 start=$2 count=$3 seed=$4 mode direct filtered
	shift 4
	mkdir -p "$dir"
	# a probe that became data fails closed after 1 s, within difftest's
	# 3 s wait for an answer
	{
		sed "s|$T/marker|$dir/marker|g" "$T/imapexec.conf"
		echo 'probe_timeout = 1;'
	} >"$dir/imapexec.conf"
	for mode in direct filtered; do
		rm -rf "$dir/home.$mode"
		cp -a "$IMX_RUN/template" "$dir/home.$mode"
		imx_write_dovecot_conf "$dir/dovecot.$mode.conf" \
			"$dir/home.$mode/Maildir"
	done
	: >"$dir/diff.log"
	imx_own "$dir"
	# imx_command takes the imapexec config from $T
	T=$dir imx_command direct "$dir/home.direct" "$dir/dovecot.direct.conf"
	direct=("${IMX_CMD[@]}")
	T=$dir imx_command filtered "$dir/home.filtered" \
		"$dir/dovecot.filtered.conf"
	filtered=("${IMX_CMD[@]}")
	"$PYTHON" "$REPO/tests/difftest.py" --start "$start" --count "$count" \
		--seed "$seed" --mark "$dir/marker" --log "$dir/diff.log" \
		${DIFF_ARGS:-} "$@" -- "${direct[@]}" --- "${filtered[@]}" \
		>"$dir/summary" 2>&1
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

# The total line: each count of the jobs' summary lines, added up.  An
# independent sum (python) of the job lines must equal the awk total.
@test "differential: the total line adds up the jobs' counts field by field" {
	DIFF_JOBS=3 diff_run 12 7
	[ "$(grep -c '^difftest: seed' "$T/summary")" -eq 3 ]
	local want got
	want=$(grep '^difftest: seed' "$T/summary" | "$PYTHON" -c '
import re, sys
rows = [re.sub(r" \([0-9.]+s\)$", "", l.split(": ", 2)[2].rstrip("\n"))
        for l in sys.stdin]
nums = [[int(n) for n in re.findall(r"[0-9]+", r)] for r in rows]
tot = [sum(c) for c in zip(*nums)]
it = iter(tot)
print("difftest total: %d jobs: %s" % (len(rows),
      re.sub(r"[0-9]+", lambda m: str(next(it)), rows[0])))')
	got=$(grep '^difftest total:' "$T/summary")
	echo "# want: $want" >&3
	[ "$got" = "$want" ]
	grep -q '^difftest total: 3 jobs: 12 streams, ' "$T/summary"
}

# One job failing must fail the run, whatever the others did: job 0 runs
# for real, job 1 fails as difftest.py does on a mismatch, or ends well
# without its summary line.
@test "differential: a failing job fails the run" {
	eval "real_$(declare -f diff_job)"
	diff_job() {
		if [ "$2" -eq 0 ]; then
			real_diff_job "$@"
		else
			echo 'MISMATCH in stream 1 (stub)' >"$1/summary"
			return 1
		fi
	}
	mkdir -p "$T/job1"
	DIFF_JOBS=2 run diff_run 4 7
	[ "$status" -ne 0 ]
	grep -q 'MISMATCH in stream 1 (stub)' "$T/summary"
	# a job that ends well but reports nothing fails the run too
	diff_job() {
		if [ "$2" -eq 0 ]; then
			real_diff_job "$@"
		else
			: >"$1/summary"
		fi
	}
	DIFF_JOBS=2 run diff_run 4 7
	[ "$status" -ne 0 ]
}

# Nothing compared is a failure, never a vacuous pass: no streams, no
# jobs, or a DIFF_JOBS that is not a positive number.
@test "differential: DIFF_JOBS 0, -1 or x, and 0 streams, fail instead of comparing nothing" {
	local j
	for j in 0 -1 x; do
		DIFF_JOBS=$j run diff_run 4 7
		echo "# DIFF_JOBS=$j: status $status" >&3
		[ "$status" -ne 0 ]
	done
	run diff_run 0 7
	echo "# 0 streams: status $status" >&3
	[ "$status" -ne 0 ]
}
