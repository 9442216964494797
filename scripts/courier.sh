#!/bin/sh
# courier.sh [DIR] - Courier's imapd unpacked into DIR (default
# build/courier of the repository), for the tests against more than one backend (issue 26).
#
# courier-imap conflicts with dovecot-imapd (Conflicts: imap-server), so
# it is never installed: apt-get download fetches it and the libraries it
# needs, dpkg -x unpacks them into DIR, and DIR/imapd is a wrapper that
# runs the binary with LD_LIBRARY_PATH set to the unpacked libraries.
# Gamin's server (package gamin, installed by deps.sh) makes its greeting
# a plain "* PREAUTH"; without it Courier sends "* OK [ALERT] Filesystem
# notification initialization error" first.
#
# Idempotent (nothing is done when DIR/imapd runs), and safe when two
# runs start at once: the work is done under flock on DIR.lock, in a
# temporary directory renamed into place when complete.
set -eu

dir=${1:-$(dirname "$0")/../build/courier}
pkgs="courier-imap courier-base courier-authlib libcourier-unicode4 libgamin0"

# ready: the unpacked imapd runs and greets PREAUTH (in the probe's home:
# imapd refuses a sticky current directory, such as /tmp).
ready() {
	[ -x "$dir/imapd" ] &&
		(cd "$dir/probe" && printf 'a LOGOUT\r\n' |
			timeout 10 "$dir/imapd" "$dir/probe/Maildir" 2>/dev/null) |
		grep -q '^\* PREAUTH'
}

mkdir -p "$(dirname "$dir")"
# absolute: ready runs imapd from the probe's directory
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
exec 9>"$dir.lock"
flock -w 600 9
ready && exit 0

tmp=$dir.tmp.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debs" "$tmp/root"
# apt's sandbox user (_apt) downloads: the directory is its own, and no
# one else's to write (what is unpacked here runs as root in ready).
if id _apt >/dev/null 2>&1; then
	chown _apt "$tmp/debs"
fi
chmod 700 "$tmp/debs"
# shellcheck disable=SC2086 # pkgs is a word list
(cd "$tmp/debs" && apt-get download -q $pkgs </dev/null) >&2
# the packages asked for, one file each, nothing else
for p in $pkgs; do
	set -- "$tmp"/debs/"${p}"_*.deb
	if [ $# -ne 1 ] || [ ! -f "$1" ]; then
		echo "$0: apt-get download gave no single $p" >&2
		exit 1
	fi
	dpkg -x "$1" "$tmp/root"
done
rm -rf "$tmp/debs"
# The wrappers find the tree where they are (it may be copied: make check
# tests a copy of a checkout the test accounts cannot reach).
cat >"$tmp/imapd" <<'EOF'
#!/bin/sh
# Courier's imapd, unpacked by scripts/courier.sh: imapd MAILDIR
here=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH=$here/root/usr/lib:$here/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
exec "$here/root/usr/bin/imapd" "$@"
EOF
cat >"$tmp/maildirmake" <<'EOF'
#!/bin/sh
# Courier's maildirmake, unpacked by scripts/courier.sh
here=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH=$here/root/usr/lib:$here/root/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH
exec "$here/root/usr/bin/maildirmake.courier" "$@"
EOF
chmod 755 "$tmp/imapd" "$tmp/maildirmake" "$tmp" "$tmp/root"
mkdir -p "$tmp/probe/Maildir/cur" "$tmp/probe/Maildir/new" \
	"$tmp/probe/Maildir/tmp"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
# check the tree where it now is
ready || {
	echo "$0: the unpacked Courier imapd does not greet PREAUTH" >&2
	exit 1
}
