#!/bin/bash
# reap-runs.sh - clean up after bats file runs that were killed.
#
# Each run of a test file keeps a record in /var/lib/imapexec-tests/runs/ID
# (tests/runs.bash) naming its owner, the bats process of the file, and
# the directories and accounts it made; teardown_file removes all of it.
# A run that was killed (a ^C, a CI job or a session that ended) never got
# there.  For each record whose owner no longer runs (same PID and start
# time), this kills the processes of the run's accounts and those working
# in its directories, removes the accounts, the directories, its lines in
# /etc/hosts and its Postfix instance in /etc/postfix/main.cf, purges the
# Debian packages it installed (tests/69-deb.bats), then the record.
# Records of runs still going are left alone, so a suite running beside
# this one is never touched; so are the records of runs that a test of a
# run still going killed on purpose (an "under" line), but for that run's
# own reaper, IMX_REAP_UNDER=ID.  scripts/check.sh runs it first.
#
# Root only (the records are root's); prints a line for each run reaped.
set -u

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
runs=/var/lib/imapexec-tests/runs
[ "$(id -u)" -eq 0 ] || exit 0
# root's own, a directory, not a link, and nobody else may write in it
[ -d "$runs" ] && [ ! -L "$runs" ] && [ "$(stat -c %u "$runs")" = 0 ] &&
    [ $((0$(stat -c %a "$runs") & 022)) -eq 0 ] || exit 0
. "$(dirname "$0")/runs.bash"
# Not in a directory it may remove, and never a process of its own line
# (this one, the shell that ran it, ...): procs_in matches working
# directories.
cd / || exit 1
mine=" $$ "
p=$PPID
while [ "${p:-0}" -gt 1 ]; do
	mine="$mine$p "
	p=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null)
done

# alive PID START: process PID runs and started at START.
alive() {
	[ "$(imx_start_time "$1" 2>/dev/null)" = "$2" ]
}

# procs_in DIR...: PIDs of processes whose working directory or command
# line names a path in one of DIRs.
procs_in() {
	local d
	for d in "$@"; do
		grep -laF -- "$d/" /proc/[0-9]*/cmdline 2>/dev/null
		find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$d" -o \
		    -lname "$d/*" \) 2>/dev/null
	done | cut -d/ -f3 | sort -u | while read -r p; do
		[[ "$mine" == *" $p "* ]] || echo "$p"
	done
}

# hosts_drop TAG: take the lines holding TAG out of /etc/hosts, in place
# (it may be a bind mount) and never empty (others read it: the lines that
# stay are written over the old ones, then the file is cut to their
# length), under a lock on the file itself (tests/63-safe-defaults.bats).
hosts_drop() {
	(
		flock -w 60 9 || exit 1
		python3 -c 'import sys
with open("/etc/hosts", "r+b") as f:
    old = f.read()
    new = b"".join(l for l in old.splitlines(True)
                   if sys.argv[1].encode() not in l)
    f.seek(0)
    f.write(new)
    f.truncate(len(new))' "$1"
	) 9</etc/hosts
}

# reap ID FILE: remove what the record FILE of the killed run ID names.
reap() {
	local id=$1 f=$2 kind name dirs=() users=() groups=() pkgs=() u i
	while read -r kind name; do
		# only what runs.bash and helper.bash write: a record that names
		# anything else (/, a path with ..) does not get it killed
		case $kind in
		dir) [[ "$name" =~ ^/var/tmp/imapexec-[a-z]+\.[A-Za-z0-9]{6}$ ]] &&
			dirs+=("$name") ;;
		user) [[ "$name" =~ ^imxt-$id-[A-Za-z0-9_-]+$ ]] &&
			users+=("$name") ;;
		group) [[ "$name" =~ ^imxt-$id-[A-Za-z0-9_-]+$ ]] &&
			groups+=("$name") ;;
		dpkg) [[ "$name" =~ ^imapexec(-run)?$ ]] && pkgs+=("$name") ;;
		esac
	done <"$f"
	for i in $(seq 50); do
		for u in "${users[@]}"; do
			pkill -KILL -u "$u" 2>/dev/null
		done
		# shellcheck disable=SC2046 # a PID a word
		[ ${#dirs[@]} -eq 0 ] || kill -KILL $(procs_in "${dirs[@]}") \
		    2>/dev/null
		[ -z "$( { for u in "${users[@]}"; do pgrep -u "$u"; done
		    [ ${#dirs[@]} -eq 0 ] || procs_in "${dirs[@]}"; } \
		    2>/dev/null)" ] && break
		sleep 0.2
	done
	for u in "${users[@]}"; do
		! id -u "$u" >/dev/null 2>&1 || userdel "$u" 2>/dev/null
	done
	for u in "${groups[@]}" "${users[@]}"; do
		! getent group "$u" >/dev/null || groupdel "$u" 2>/dev/null
	done
	for u in "${dirs[@]}"; do
		rm -rf "$u"
	done
	# unless a run going on holds 69-deb's lock on /var/lib/dpkg: then the
	# packages are that run's (it starts only where dpkg knows none)
	[ ${#pkgs[@]} -eq 0 ] || flock -n /var/lib/dpkg \
	    env DEBIAN_FRONTEND=noninteractive dpkg -P "${pkgs[@]}" \
	    </dev/null >/dev/null 2>&1
	if grep -qF "imapexec-63-safe-defaults $id" /etc/hosts 2>/dev/null; then
		hosts_drop "imapexec-63-safe-defaults $id"
	fi
	rm -f "$f"
	echo "== reaped the killed test run $id: ${dirs[*]} ${users[*]}"
}

# ended FILE: the run of record FILE has ended (its owner no longer runs);
# fails for a record without its owner line (a run killed as it wrote it,
# a full disk), which cannot say whether its run still goes.
ended() {
	local kind pid start
	read -r kind pid start <"$1" && [ "$kind" = owner ] &&
		[[ "$pid$start" =~ ^[0-9]+$ ]] && [ -n "$start" ] &&
		! alive "$pid" "$start"
}

# parent_going FILE: the record FILE is of a run started by a test of
# another run (its "under ID" line) that still goes and is not the one
# this reaper works for (IMX_REAP_UNDER): that run's tests reap it, and a
# reaper beside them must not (tests/31-reap-runs.bats).
parent_going() {
	local under
	under=$(sed -n 's/^under \([a-z0-9]\{6\}\)$/\1/p' "$1" | head -n 1)
	[ -n "$under" ] && [ "$under" != "${IMX_REAP_UNDER:-}" ] &&
		[ -f "$runs/$under" ] && ! ended "$runs/$under"
}

for f in "$runs"/*; do
	[ -f "$f" ] || continue
	id=$(basename "$f")
	if ! read -r kind pid start <"$f" || [ "$kind" != owner ] ||
		[[ ! "$pid$start" =~ ^[0-9]+$ ]] || [ -z "$start" ] ||
		[[ ! "$id" =~ ^[a-z0-9]{6}$ ]]; then
		echo "== $f: not a record of a run (no owner line); remove by hand" \
		    "what it names" >&2
		continue
	fi
	ended "$f" && ! parent_going "$f" && reap "$id" "$f"
done

# The Postfix instances of tests/services.bash whose directory is gone.
mc=/etc/postfix/main.cf
if grep -qF 'written by the imapexec test suite' "$mc" 2>/dev/null; then
	(
		flock -w 60 9 || exit 1
		keep=
		for d in $(sed -n 's/^alternate_config_directories = //p' "$mc"); do
			[ ! -d "$d" ] || keep="$keep $d"
		done
		if [ -z "$keep" ]; then
			rm -f "$mc"
		else
			sed "s|^alternate_config_directories = .*|alternate_config_directories =$keep|" \
			    "$mc" >"$mc.reap" && mv "$mc.reap" "$mc"
		fi
	) 9</etc/postfix
fi
exit 0
