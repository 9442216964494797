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

# --- accounts and processes of this file's own -----------------------------
#
# Each run of a bats file (the release and the ASan suites run the same
# files side by side, with bats --jobs) makes its own system accounts,
# named imxt-ID-ROLE with an ID unique to the run, and removes them in
# teardown_file, after killing whatever they still run (pkill -u is safe
# on an account nobody else has).  tests/final/99-nothing-left.bats checks
# that no imxt-* account and no process of a test is left.  Accounts are
# recorded in $BATS_FILE_TMPDIR/accounts as "user NAME" or "group NAME".

# This run's ID, directories and record of them (imx_new_id, imx_name,
# imx_run_dir, imx_run_end).
. "$REPO/tests/runs.bash"

# The tests of a file share its accounts, daemons and homes: they run one
# after another even under bats --jobs.
BATS_NO_PARALLELIZE_WITHIN_FILE=true

# imx_retry CMD...: run CMD; on failure retry (the shadow tools fail while
# another run holds the lock on /etc/passwd), at most 50 times in 10 s.
imx_retry() {
	local i
	for i in $(seq 50); do
		"$@" 2>/dev/null && return 0
		sleep 0.2
	done
	"$@"
}

# imx_account ROLE [useradd options]: create the system account (and its
# group) imxt-ID-ROLE, record it, print its name.  Default: no home
# (/nonexistent), shell nologin; later options override.
imx_account() {
	local role=$1 name
	shift
	name=$(imx_name "$role")
	echo "user $name" >>"$BATS_FILE_TMPDIR/accounts"
	imx_record "user $name" || return 1
	imx_retry useradd --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin "$@" \
		"$name" >&2 || return 1
	echo "$name"
}

# imx_group ROLE: create the group imxt-ID-ROLE (in the range of regular
# groups: a test may make hundreds, the system range is small), record
# it, print its name.
imx_group() {
	local name
	name=$(imx_name "$1")
	echo "group $name" >>"$BATS_FILE_TMPDIR/accounts"
	imx_record "group $name" || return 1
	imx_retry groupadd "$name" >&2 || return 1
	echo "$name"
}

# imx_drop_accounts: kill every process of this run's accounts, wait until
# they are gone (at most 10 s), then remove the accounts and groups.
imx_drop_accounts() {
	local f=$BATS_FILE_TMPDIR/accounts kind name
	[ -f "$f" ] || return 0
	while read -r kind name; do
		[ "$kind" = user ] && id -u "$name" >/dev/null 2>&1 || continue
		pkill -KILL -u "$name" 2>/dev/null || true
		imx_wait_for imx_no_process_of "$name" || true
		imx_retry userdel "$name" >/dev/null 2>&1 || true
	done <"$f"
	while read -r kind name; do
		getent group "$name" >/dev/null || continue
		imx_retry groupdel "$name" >/dev/null 2>&1 || true
	done <"$f"
	rm -f "$f"
}

# imx_no_process_of USER: USER runs nothing (again: it may fork).
imx_no_process_of() {
	pkill -KILL -u "$1" 2>/dev/null || true
	! pgrep -u "$1" >/dev/null
}

# The unprivileged user that runs imapexec and Dovecot: an account of this
# run's own when we are root (made by imx_ensure_user in setup_file and
# exported to the tests), else ourselves.
if [ "$EUID" -eq 0 ]; then
	IMX_USER=${IMX_USER:-}
else
	IMX_USER=$(id -un)
fi

# Create the test user (root only): imxt-ID-t, no home.  A suite that
# needs another kind of account redefines this function.
imx_ensure_user() {
	[ "$EUID" -eq 0 ] || return 0
	IMX_USER=$(imx_account t) || return 1
	export IMX_USER
}

# Give a file or directory to the test user (no-op when not root).
imx_own() {
	[ "$EUID" -ne 0 ] || chown -R "$IMX_USER:$IMX_USER" "$@"
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
	IMX_RUN=$(imx_run_dir test) || return 1
	export IMX_RUN IMX_DATA=$IMX_RUN/data
	imx_ensure_user
	mkdir -p "$IMX_DATA"
	imx_make_big_message "$IMX_DATA/big.eml"
	chmod -R a+rX "$IMX_DATA"
	imx_build_template
}

# teardown_file: the run's accounts and processes, then its directory.
imx_teardown_file() {
	imx_drop_accounts
	[ -z "${IMX_RUN:-}" ] || [ "${IMX_KEEP:-0}" = 1 ] || rm -rf "$IMX_RUN"
	imx_run_end
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
	if [ "$EUID" -eq 0 ]; then
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
	ps -u "$IMX_USER" -o pid=,ppid=,stat=,args= 2>/dev/null |
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

# imx_free_port [ADDR]: a TCP port the kernel gives for ADDR (127.0.0.1)
# right now (bind to port 0).  The daemon binds it a moment later: a
# suite running beside ours may take it first, so a test starting a
# daemon on it checks with imx_listens that the listener is its own.
imx_free_port() {
	"$PYTHON" -c 'import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])' "${1:-127.0.0.1}"
}

# imx_closed_port: a port of 127.0.0.1 where nothing listens, kept so:
# a process of ours holds it bound (without listen), so no other suite can
# listen there while the test runs.  Sets IMX_CLOSED_PORT and
# IMX_CLOSED_PID (kill it when done; it ends by itself after 300 s).
imx_closed_port() {
	local f=$BATS_TEST_TMPDIR/closed-port
	rm -f "$f"
	"$PYTHON" -c 'import os, signal, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
signal.alarm(300)
signal.pause()' "$f" </dev/null >/dev/null 2>&1 3>&- &
	IMX_CLOSED_PID=$!
	imx_wait_for test -s "$f"
	IMX_CLOSED_PORT=$(cat "$f")
}

# imx_listens PID PORT [SECS]: process PID (or a child of it) has a
# listening TCP socket on PORT (IPv4 or IPv6): the port is its own, not
# another suite's.  With SECS, poll (in one process) until it does, PID
# is gone, or SECS have passed.
imx_listens() {
	"$PYTHON" - "$1" "$2" "${3:-0}" <<-'EOF'
		import os, sys, time
		top, port, end = int(sys.argv[1]), int(sys.argv[2]), \
		    time.monotonic() + float(sys.argv[3])
		def tree():
		    pids, kids = {top}, {}
		    for p in os.listdir("/proc"):
		        if p.isdigit():
		            try:
		                st = open("/proc/%s/stat" % p).read()
		            except OSError:
		                continue
		            ppid = int(st.rsplit(")", 1)[1].split()[1])
		            kids.setdefault(ppid, []).append(int(p))
		    todo = [top]
		    while todo:
		        for k in kids.get(todo.pop(), []):
		            if k not in pids:
		                pids.add(k)
		                todo.append(k)
		    return pids
		def listens():
		    inodes = set()
		    for p in tree():
		        try:
		            for fd in os.listdir("/proc/%d/fd" % p):
		                t = os.readlink("/proc/%d/fd/%s" % (p, fd))
		                if t.startswith("socket:["):
		                    inodes.add(t[8:-1])
		        except OSError:
		            pass
		    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
		        try:
		            rows = open(f).read().splitlines()[1:]
		        except OSError:
		            continue
		        for r in rows:
		            w = r.split()
		            if w[3] == "0A" and w[9] in inodes and \
		                    int(w[1].rsplit(":", 1)[1], 16) == port:
		                return True
		    return False
		while True:
		    if listens():
		        sys.exit(0)
		    if time.monotonic() >= end or not os.path.exists("/proc/%d" % top):
		        sys.exit(1)
		    time.sleep(0.05)
	EOF
}

# imx_node_modules DIR [MODULE]: npm ci in DIR when its node_modules has
# no MODULE (imapflow by default) or is older than its lock file, under a
# lock on DIR: files of both builds' suites use tests/node at once, and
# must not read a half-written tree.  No browser download (puppeteer).
imx_node_modules() {
	(
		flock -w 600 9
		if [ ! -d "$1/node_modules/${2:-imapflow}" ] ||
			[ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
			cd "$1" && PUPPETEER_SKIP_DOWNLOAD=1 \
				npm ci --no-audit --no-fund --loglevel=error >&2
		fi
	) 9<"$1"
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
	grep -a -q -i -E '^[a-z][0-9]+ OK .*completed' "$T/direct.norm"
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

# The hooks of a file that loads helper (a library loaded later, or the
# file itself, may define its own): the run's account, directory and
# template (setup_file), a fresh $T a test (setup).
setup_file() { imx_setup_file; }
teardown_file() { imx_teardown_file; }
setup() { imx_setup; }
