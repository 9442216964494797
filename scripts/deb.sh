#!/bin/sh
# deb.sh VERSION [REVISION] - the Debian packages of this tree, in build/deb/
# (what `make deb` runs; README, "Debian package").
#
# Copies the sources (Makefile README LICENSE src conf scripts: the files
# git tracks, as they are in the work tree; without git, all but build
# products) to build/deb/imapexec-VERSION/, scripts/debian/ as its debian/,
# writes debian/changelog for VERSION-REVISION (REVISION default 1), and
# runs dpkg-buildpackage -b there.  build/deb/ gets imapexec_*.deb,
# imapexec-run_*.deb, their -dbgsym packages, .buildinfo and .changes; the
# build's output is in build/deb/build.log.
#
# Reproducible: the changelog's date, and so SOURCE_DATE_EPOCH and every
# mtime in the packages, is $SOURCE_DATE_EPOCH, else the last commit's,
# else the Makefile's mtime; so two builds of one commit are the same bytes.
set -eu

version=${1:?usage: deb.sh VERSION [REVISION]}
revision=${2:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deb
src=$out/imapexec-$version
paths="Makefile README LICENSE src conf scripts"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null) ||
		SOURCE_DATE_EPOCH=$(stat -c %Y "$top/Makefile")
fi
export SOURCE_DATE_EPOCH

rm -rf "$out"
mkdir -p "$src"
# shellcheck disable=SC2086 # paths is a word list
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z -- $paths) |
		(cd "$top" && tar --null -T - -cf -) | tar -C "$src" -xf -
else
	(cd "$top" && tar --exclude='*.o' --exclude=./src/imapexec \
		--exclude=./src/imapexec-run --exclude=__pycache__ \
		-cf - $paths) | tar -C "$src" -xf -
fi
cp -R "$top/scripts/debian" "$src/debian"
cat >"$src/debian/changelog" <<-EOF
	imapexec ($version-$revision) unstable; urgency=medium

	  * imapexec $version, packaged from its tree by make deb.

	 -- imapexec authors <dev@imapexec.invalid>  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
	EOF
# every source file as old as the changelog: nothing of the checkout's
# times reaches the packages
find "$src" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "$0: dpkg-buildpackage failed; the whole log: $out/build.log" >&2
	exit 1
fi
rm -rf "$src"
ls "$out"/*.deb
