# tests/helper.bash - shared helpers for the imapexec bats suites.
#
# Load with `load helper`, call imx_setup_file from setup_file and
# imx_setup from setup.  Main entry points:
#   run_direct SCRIPT [driver opts]    session straight against Dovecot
#   run_filtered SCRIPT [driver opts]  the same session through imapexec
# Both run tests/imapdrive.py on a fresh copy of the template Maildir, as
# the unprivileged test user with a clean environment, and leave:
#   $T/MODE.out   every byte the client received
#   $T/MODE.log   the server's stderr (imapexec -d diagnostics + Dovecot log)
#   $T/MODE.err   the driver's own stderr
# where MODE is direct or filtered.
#
# Environment knobs: IMAPEXEC (binary under test, e.g. an ASan build),
# PYTHON (default python3), IMX_KEEP=1 (keep the run directory).

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
IMAPEXEC=${IMAPEXEC:-$REPO/src/imapexec}
PYTHON=${PYTHON:-python3}
DRIVER=$REPO/tests/imapdrive.py
NORM=$REPO/tests/imapnorm.py
SESSIONS=$REPO/tests/sessions
DOVECOT_IMAP=${DOVECOT_IMAP:-/usr/lib/dovecot/imap}
IMX_PATH=/usr/local/bin:/usr/bin:/bin

# The unprivileged user that runs imapexec and Dovecot: a dedicated system
# user when we are root, else ourselves.
if [ "$(id -u)" -eq 0 ]; then
	IMX_USER=imapexec-test
else
	IMX_USER=$(id -un)
fi

# Create the test user (root only; idempotent, tolerant of a parallel run).
imx_ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	id -u "$IMX_USER" >/dev/null 2>&1 ||
		useradd --system --user-group --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin \
			"$IMX_USER" 2>/dev/null ||
		id -u "$IMX_USER" >/dev/null
}

# Give a file or directory to the test user (no-op when not root).
imx_own() {
	[ "$(id -u)" -ne 0 ] || chown -R "$IMX_USER:$IMX_USER" "$@"
}

# imx_write_dovecot_conf FILE MAILDIR [EXTRA LINE...]: a standalone config
# for /usr/lib/dovecot/imap -c FILE.  The Maildir path is absolute because
# imapexec gives the backend HOME from the passwd entry, not ours.
imx_write_dovecot_conf() {
	local f=$1 maildir=$2
	shift 2
	{
		echo "mail_location = maildir:$maildir"
		echo 'ssl = no'
		echo 'log_path = /dev/stderr'
		echo 'info_log_path = /dev/stderr'
		printf '%s\n' "$@"
	} >"$f"
	chmod 644 "$f"
}

# A big (about 300 KB) message, so FETCH and APPEND cross pipe buffers.
imx_make_big_message() {
	"$PYTHON" - "$1" <<-'EOF'
		import sys
		lines = [b"From: Big Sender <big@example.org>",
		         b"To: imapexec-test@example.org",
		         b"Subject: a big message",
		         b"Date: Thu, 04 Jan 2024 07:00:00 +0000",
		         b"Message-ID: <big@example.org>", b""]
		lines += [b"%05d the quick brown fox jumps over the lazy dog {12} a OK * BYE"
		          % i for i in range(4500)]
		open(sys.argv[1], "wb").write(b"\r\n".join(lines) + b"\r\n")
	EOF
}

# setup_file: per-run directory under /var/tmp (BATS_*TMPDIR may sit under
# a mode-700 directory the test user cannot enter) and the template Maildir.
imx_setup_file() {
	imx_ensure_user
	IMX_RUN=$(mktemp -d /var/tmp/imapexec-test.XXXXXX)
	chmod 755 "$IMX_RUN"
	export IMX_RUN IMX_DATA=$IMX_RUN/data
	mkdir -p "$IMX_DATA"
	imx_make_big_message "$IMX_DATA/big.eml"
	chmod -R a+rX "$IMX_DATA"
	imx_build_template
}

imx_teardown_file() {
	[ -z "${IMX_RUN:-}" ] || [ "${IMX_KEEP:-0}" = 1 ] || rm -rf "$IMX_RUN"
}

# Build $IMX_RUN/template (a home with Maildir) by APPENDing the messages of
# tests/data/template.imap with fixed dates, and let Dovecot index it once.
# Each run copies it with cp -a, so UIDVALIDITY etc. are identical.
imx_build_template() {
	local tpl=$IMX_RUN/template
	mkdir -p "$tpl"
	imx_own "$tpl"
	imx_write_dovecot_conf "$IMX_RUN/dovecot.conf" "$tpl/Maildir"
	imx_command direct "$tpl" "$IMX_RUN/dovecot.conf"
	"$PYTHON" "$DRIVER" --out "$IMX_RUN/template.out" \
		--log "$IMX_RUN/template.log" "$REPO/tests/data/template.imap" -- \
		"${IMX_CMD[@]}" 2>"$IMX_RUN/template.err" || {
		echo "# building the template Maildir failed:" >&2
		cat "$IMX_RUN/template.err" "$IMX_RUN/template.log" >&2
		return 1
	}
}

# setup: per-test directory $T (owned by the test user) with an imapexec
# config.  A test may set IMX_DOVECOT_EXTRA=(lines) for the Dovecot config.
imx_setup() {
	T=$(mktemp -d "$IMX_RUN/test.XXXXXX")
	chmod 755 "$T"
	IMX_DOVECOT_EXTRA=()
	printf 'backend = [ "%s" ];\n' "$DOVECOT_IMAP" >"$T/imapexec.conf"
	chmod 644 "$T/imapexec.conf"
	imx_own "$T"
}

# imx_command MODE HOME DOVECOT_CONF: set the array IMX_CMD to the command
# that runs MODE (direct|filtered) as the test user, clean environment.
imx_command() {
	local mode=$1 home=$2 conf=$3
	IMX_CMD=(env -i "HOME=$home" "USER=$IMX_USER" "LOGNAME=$IMX_USER"
		"PATH=$IMX_PATH")
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -z "${!v:-}" ] || IMX_CMD+=("$v=${!v}")
	done
	if [ "$(id -u)" -eq 0 ]; then
		IMX_CMD=(setpriv --reuid="$IMX_USER" --regid="$IMX_USER"
			--init-groups "${IMX_CMD[@]}")
	fi
	if [ "$mode" = filtered ]; then
		IMX_CMD+=("$IMAPEXEC" -d -c "$T/imapexec.conf" --)
	fi
	IMX_CMD+=("$DOVECOT_IMAP" -c "$conf")
}

# imx_session MODE SCRIPT [driver opts]: run one session on a fresh copy of
# the template; returns the driver's exit status (its stderr is shown).
imx_session() {
	local mode=$1 script=$2
	shift 2
	case $script in /*) ;; *) script=$SESSIONS/$script ;; esac
	local home=$T/home.$mode
	rm -rf "$home"
	cp -a "$IMX_RUN/template" "$home"
	imx_write_dovecot_conf "$T/dovecot.$mode.conf" "$home/Maildir" \
		"${IMX_DOVECOT_EXTRA[@]}"
	: >"$T/$mode.log"
	imx_own "$T/$mode.log"   # Dovecot reopens /dev/stderr as the test user
	imx_command "$mode" "$home" "$T/dovecot.$mode.conf"
	local rc=0
	"$PYTHON" "$DRIVER" "$@" --out "$T/$mode.out" --log "$T/$mode.log" \
		"$script" -- "${IMX_CMD[@]}" 2>"$T/$mode.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "# $mode session $script failed (driver status $rc):" >&2
		sed 's/^/#   /' "$T/$mode.err" "$T/$mode.log" >&2
	fi
	return "$rc"
}

run_direct() { imx_session direct "$@"; }

run_filtered() {
	imx_require_binary
	imx_session filtered "$@"
}

# Skip the test (only) when the imapexec binary has not been built.
imx_require_binary() {
	[ -x "$IMAPEXEC" ] || skip "$IMAPEXEC not built (run make)"
}

# imx_normalize FILE: the bytes of FILE with Dovecot's timing suffix
# "(0.001 + 0.000 secs)." replaced by "(T secs).", on stdout.
imx_normalize() {
	"$PYTHON" "$NORM" "$1"
}

# imx_normalize_filtered FILE: like imx_normalize, and also checks that
# every capability list has EXECUTE exactly once and no COMPRESS=/STARTTLS,
# then removes that one " EXECUTE" (fails loudly otherwise).
imx_normalize_filtered() {
	"$PYTHON" "$NORM" --filtered "$1"
}

# imx_literal FILE N: the bytes of the N-th literal in server output FILE.
imx_literal() {
	"$PYTHON" "$NORM" --literal "$2" "$1"
}

# imx_refute_grep ERE FILE: fail if FILE has a line matching ERE.
imx_refute_grep() {
	if grep -a -n -E "$1" "$2" >&2; then
		echo "# unexpected match of /$1/ in $2 (above)" >&2
		return 1
	fi
}

# Fail if FILE has lines at error level (containing "error" or "fatal").
imx_assert_log_clean() {
	if grep -a -i -n -E 'error|fatal' "$1" >&2; then
		echo "# error-level lines in $1 (above)" >&2
		return 1
	fi
}

# List processes left behind by this test: processes of the test user that
# mention this test's directory (imapexec and Dovecot carry $T in their
# argv), and zombies whose parent is one of them.  Other runs of the suite
# (and other tests, with bats -j) are not ours to judge.
imx_leftovers() {
	ps -u "$(id -u "$IMX_USER")" -o pid=,ppid=,stat=,args= 2>/dev/null |
		IMX_T="$T/" awk '
			{ line[NR] = $0; pid[NR] = $1; ppid[NR] = $2; st[NR] = $3
			  if (index($0, ENVIRON["IMX_T"])) mine[$1] = 1 }
			END { for (i = 1; i <= NR; i++)
				if (mine[pid[i]] || (st[i] ~ /^Z/ && mine[ppid[i]]))
					print line[i] }'
}

# Assert no leftover or zombie processes, polling up to 5 s (a backend may
# take a moment to exit after its parent).
imx_assert_no_leftovers() {
	local left
	for _ in $(seq 50); do
		left=$(imx_leftovers)
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	echo "# leftover processes:" >&2
	echo "$left" >&2
	return 1
}

# imx_rss PID [FIELD]: FIELD (VmRSS by default, or VmHWM) of PID in kB.
imx_rss() {
	awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status"
}

# imx_wait_for CMD...: poll (every 0.1 s, at most 10 s) until CMD succeeds.
imx_wait_for() {
	local i
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	echo "# gave up waiting (10 s) for: $*" >&2
	return 1
}

# imx_compare_norm: $T/direct.norm and $T/filtered.norm, the normalised
# transcripts of one session, must be equal (as sorted lines with
# SORTED=1), the session must have done something, the filtered log must
# be clean and no process left.
imx_compare_norm() {
	if [ "${SORTED:-0}" = 1 ]; then
		# Dovecot runs some pipelined commands (FETCH, SEARCH) side by
		# side, and how their output interleaves depends on when their
		# bytes arrived: compare the lines, not their order.
		LC_ALL=C sort -o "$T/direct.norm" "$T/direct.norm"
		LC_ALL=C sort -o "$T/filtered.norm" "$T/filtered.norm"
	fi
	# the session must have done something: its last command completed
	grep -a -q -E '^[a-z][0-9]+ OK .*completed' "$T/direct.norm"
	if ! cmp -s "$T/direct.norm" "$T/filtered.norm"; then
		diff -a -u "$T/direct.norm" "$T/filtered.norm" | head -n 60 >&2
		return 1
	fi
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

# imx_each_chunk FN ARGS...: run FN ARGS --chunk MODE for every way of
# splitting the client's writes: whole, a byte a write, random (two seeds).
# FN runs as a plain command, not under ||, so that every failing check in
# it fails the test (errexit); the line naming the mode is shown then.
imx_each_chunk() {
	local fn=$1 chunk
	shift
	for chunk in whole byte "random --seed 1" "random --seed 2"; do
		echo "# with: $* --chunk $chunk" >&2
		# shellcheck disable=SC2086 # chunk holds an option and its value
		"$fn" "$@" --chunk $chunk
	done
}
