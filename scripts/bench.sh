#!/bin/sh
# bench.sh - imapexec benchmarks against real baselines (make bench).
#
# Builds the release binary (make), prepares a bench directory with its own
# deterministic data (scripts/bench/gendata.py), configs, an ssh host key
# and user key, and three tiny C helpers, then runs scripts/bench/run.py as
# an unprivileged user with a clean environment.  R1..R10 are described in
# run.py and in the report.  Prints the table; writes build/bench/report.md
# (and build/bench/chart.png when gnuplot is installed).  R11 is COMPRESS:
# imapexec terminating it against Dovecot's own imap_zlib.
#
# Knobs: BENCH_QUICK=1 (a ~2 minute smoke run with less data and fewer
# rounds), BENCH_ONLY="R2 R5" (a subset), BENCH_DIR (default
# /var/tmp/imapexec-bench), BENCH_SHM (the mbsync destination, default
# /dev/shm/imapexec-bench).  As root, everything runs as the system user
# imapexec-bench (created if missing, home $BENCH_DIR/home, shell /bin/sh
# so that the loopback sshd can run commands for it).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_DIR:-/var/tmp/imapexec-bench}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SHM=${BENCH_SHM:-/dev/shm/imapexec-bench}
else
	SHM=${BENCH_SHM:-$W/dst}
fi
QUICK=${BENCH_QUICK:-0}
OUT=$REPO/build/bench
PY=/usr/bin/python3
BU=imapexec-bench

if [ "$QUICK" = 1 ]; then
	NMSG=600 BIGMIB=32
else
	NMSG=3000 BIGMIB=128
fi

say() { printf 'bench: %s\n' "$*" >&2; }

cleanup() {
	st=$?
	trap - EXIT INT TERM HUP
	# sshd and its ControlMaster, should run.py not have stopped them.
	if [ -f "$W/ssh/sshd.pid" ]; then
		pid=$(cat "$W/ssh/sshd.pid" 2>/dev/null || true)
		[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
		rm -f "$W/ssh/sshd.pid"
	fi
	for s in "$W"/ssh/cm-*; do
		[ -S "$s" ] || continue
		ssh -F /dev/null -o ControlPath="$s" -O exit 127.0.0.1 \
			>/dev/null 2>&1 || true
		rm -f "$s"
	done
	# Anything else still running as the bench user (only ever ours).
	if [ "$(id -u)" -eq 0 ] && id -u "$BU" >/dev/null 2>&1; then
		for pid in $(ps -u "$BU" -o pid= 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	fi
	rm -rf "$SHM"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- build (release flags: -O2, hardening) -----------------------------------
say "building src/imapexec and src/imapexec-run (release flags)"
make -C "$REPO" --no-print-directory all >&2
mkdir -p "$W/bin" "$W/etc" "$W/log" "$W/ssh" "$W/home" "$W/out" "$OUT"
cp "$REPO/src/imapexec" "$REPO/src/imapexec-run" "$W/bin/"
for c in cpuwrap spawnloop wirecount; do
	cc -O2 -Wall -o "$W/bin/$c" "$REPO/scripts/bench/$c.c"
done

# --- the unprivileged user ----------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
	if ! id -u "$BU" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home \
			--home-dir "$W/home" --shell /bin/sh "$BU"
	fi
	# sshd runs the commands with the login shell, in the home directory;
	# "*": no password, but not a locked account either.
	usermod -d "$W/home" -s /bin/sh -p '*' "$BU"
	mkdir -p /run/sshd
	RUN="setpriv --reuid=$BU --regid=$BU --init-groups"
	USERNAME=$BU
else
	RUN=
	USERNAME=$(id -un)
	W_HOME=$(getent passwd "$USERNAME" | cut -d: -f6)
	[ "$W_HOME" = "$W/home" ] ||
		say "note: not root; imapexec gives the backend HOME=$W_HOME"
fi

# --- data --------------------------------------------------------------------
DATA=$W/data-$NMSG-$BIGMIB
STAMP=$(cat "$REPO/scripts/bench/gendata.py" | cksum | cut -d' ' -f1)
if [ "$(cat "$DATA/stamp" 2>/dev/null)" != "$STAMP" ]; then
	say "generating data in $DATA ($NMSG messages, ${BIGMIB} MiB large-literal mailbox)"
	rm -rf "$DATA"
	mkdir -p "$DATA"
	$PY "$REPO/scripts/bench/gendata.py" "$DATA/Maildir" "$DATA/Big" \
		"$NMSG" "$BIGMIB" >&2
	echo "$STAMP" >"$DATA/stamp"
fi

# --- configs -------------------------------------------------------------------
for v in main big; do
	if [ $v = main ]; then f=$W/etc/dovecot.conf md=$DATA/Maildir; else
		f=$W/etc/dovecot-big.conf md=$DATA/Big; fi
	cat >"$f" <<-EOF
		mail_location = maildir:$md
		ssl = no
		log_path = $W/log/dovecot.log
		info_log_path = $W/log/dovecot.log
	EOF
done
# Dovecot doing COMPRESS itself (R11's baseline).
{
	cat "$W/etc/dovecot.conf"
	# shellcheck disable=SC2016 # $mail_plugins is Dovecot's
	printf '%s\n' 'mail_plugins = $mail_plugins zlib' 'protocol imap {' \
		'  mail_plugins = $mail_plugins imap_zlib' '}'
} >"$W/etc/dovecot-zlib.conf"
for v in main big; do
	if [ $v = main ]; then f=$W/etc/imapexec.conf dc=$W/etc/dovecot.conf
	else f=$W/etc/imapexec-big.conf dc=$W/etc/dovecot-big.conf; fi
	cat >"$f" <<-EOF
		backend = [ "/usr/lib/dovecot/imap", "-c", "$dc" ];
		services = (
			{ name = "true"; exec = [ "/bin/true" ]; args = { max = 0; }; },
			{ name = "cat"; exec = [ "/bin/cat" ]; interactive = true;
			  args = { max = 0; }; timeout = 0; idle_timeout = 0;
			  max_input = "64G"; max_output = "64G"; },
			{ name = "flood"; exec = [ "/usr/bin/yes",
			  "flood flood flood flood flood flood flood flood flood flood" ];
			  args = { max = 0; }; timeout = 0; idle_timeout = 0;
			  max_output = "64G"; }
		);
	EOF
	"$W/bin/imapexec" -t -c "$f" >&2
done
# R1 measures the relay: no COMPRESS, as with Dovecot alone (mbsync takes
# COMPRESS=DEFLATE wherever it is offered; R11 measures that).
{
	cat "$W/etc/imapexec.conf"
	echo 'compress = false;'
} >"$W/etc/imapexec-plain.conf"
"$W/bin/imapexec" -t -c "$W/etc/imapexec-plain.conf" >&2

# --- ssh keys ---------------------------------------------------------------------
[ -f "$W/ssh/host_ed25519" ] ||
	ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$W/ssh/host_ed25519"
[ -f "$W/ssh/id_ed25519" ] ||
	ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$W/ssh/id_ed25519"
cp "$W/ssh/id_ed25519.pub" "$W/ssh/authorized_keys"
rm -f "$W/ssh/known_hosts" "$W/ssh/sshd.pid" "$W"/ssh/cm-*

rm -rf "$SHM" "$W/out"
mkdir -p "$SHM" "$W/out"
: >"$W/log/stderr.log"
: >"$W/log/dovecot.log"
chmod 755 "$W"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$BU:$BU" "$W" "$SHM"
	chmod 600 "$W/ssh/host_ed25519" "$W/ssh/id_ed25519"
fi

# --- run ------------------------------------------------------------------------------
say "running as $USERNAME (quick=$QUICK); bench dir $W, sync destination $SHM"
# shellcheck disable=SC2086 # $RUN is a command prefix or empty
$RUN env -i HOME="$W/home" USER="$USERNAME" LOGNAME="$USERNAME" \
	PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin LANG=C.UTF-8 \
	BENCH_QUICK="$QUICK" BENCH_ONLY="${BENCH_ONLY:-}" BENCH_SHM="$SHM" \
	BENCH_TRUE=/bin/true \
	$PY "$REPO/scripts/bench/run.py" "$W"

# --- report -----------------------------------------------------------------------------
rm -f "$OUT/report.md" "$OUT/chart.png"
cp "$W/out/results.json" "$W/out/table.txt" "$W/out/chart.dat" "$OUT/"
if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "dat='$OUT/chart.dat'; png='$OUT/chart.png'" \
		"$REPO/scripts/bench/chart.gp" 2>>"$W/log/stderr.log" ||
		say "gnuplot failed (see $W/log/stderr.log)"
fi
$PY "$REPO/scripts/bench/report.py" "$OUT"
echo
cat "$OUT/table.txt"
echo
echo "report: $OUT/report.md$([ -f "$OUT/chart.png" ] && echo ", chart: $OUT/chart.png")"
