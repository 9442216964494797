# tests/difftest.bash - running tests/difftest.py in jobs side by side and
# adding up their summaries (tests/71-differential.bats, and per backend
# tests/75-backends.bats).  Load after helper; the file defines
#   diff_job DIR START COUNT SEED [difftest opts]
# which runs streams START .. START+COUNT-1 in DIR and writes difftest's
# summary to DIR/summary.

# diff_total: read difftest summaries on stdin and print them, then one
# line that adds up their counts field by field (when there are several).
diff_total() {
	awk '
	{ print }
	/^difftest: seed/ {
		rows++
		s = $0
		sub(/^difftest: seed [0-9]+: /, "", s)
		sub(/ \([0-9.]+s\)$/, "", s)
		n = 0
		body = ""
		while (match(s, /[0-9]+/)) {
			tot[++n] += substr(s, RSTART, RLENGTH)
			body = body substr(s, 1, RSTART - 1) "%d"
			s = substr(s, RSTART + RLENGTH)
		}
		fmt = body s
		nf = n
	}
	END {
		if (rows < 2)
			exit
		line = fmt
		for (i = 1; i <= nf; i++)
			sub(/%d/, tot[i], line)
		printf "difftest total: %d jobs: %s\n", rows, line
	}'
}

# diff_run COUNT SEED [difftest opts]: run difftest.py on streams 0 ..
# COUNT-1, split over DIFF_JOBS jobs side by side (default 4: a stream
# mostly waits, on the 1 s probe timeout or for Dovecot, so jobs cost
# little CPU).  The summaries, a total and any mismatch go to stderr
# (shown by bats on failure) and to $T/summary.  Fails when a job fails
# or reports no summary line, and when COUNT or DIFF_JOBS is not > 0.
diff_run() {
	local count=$1 seed=$2 jobs=${DIFF_JOBS:-4} j start n rc=0
	shift 2
	imx_require_binary
	# nothing to compare must fail, never pass vacuously
	if ! [[ $jobs =~ ^[1-9][0-9]*$ && $count =~ ^[1-9][0-9]*$ ]]; then
		echo "# DIFF_JOBS=<$jobs>, streams=<$count>: want numbers > 0" >&2
		return 1
	fi
	[ "$jobs" -le "$count" ] || jobs=$count
	local pids=()
	for ((j = 0; j < jobs; j++)); do
		start=$((count * j / jobs))
		n=$((count * (j + 1) / jobs - start))
		diff_job "$T/job$j" "$start" "$n" "$seed" "$@" &
		pids+=($!)
	done
	for ((j = 0; j < jobs; j++)); do
		wait "${pids[$j]}" || rc=1
	done
	for ((j = 0; j < jobs; j++)); do
		cat "$T/job$j/summary"
	done | diff_total >"$T/summary"
	sed 's/^/# /' "$T/summary" >&3
	# every job must have reported (its summary line)
	[ "$(grep -c '^difftest: seed' "$T/summary")" -eq "$jobs" ] || rc=1
	if [ "$rc" -ne 0 ]; then
		cat "$T/summary" >&2
		return 1
	fi
	imx_assert_no_leftovers
}
