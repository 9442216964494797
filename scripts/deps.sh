#!/bin/sh
# deps.sh [build|test|run|fuzz|bench|valgrind|deb|all] - install the Debian packages imapexec needs.
#
# Checks with dpkg-query which packages of the chosen set are missing
# (default: all).  Quiet when nothing is missing.  As root, missing
# packages are installed with apt-get (no stdin needed, fine for CI);
# otherwise the sudo command to run is printed and the exit status is 1.
set -eu

# One list per purpose; each issue's tests add their own line to "test".
build="gcc make pkg-config libbsd-dev libconfig-dev libtls-dev zlib1g-dev zip"
test_core="bats parallel dovecot-imapd python3 util-linux systemd socat procps openssl"
test_services="dovecot-sieve python3-aiosmtpd postfix python3-icalendar python3-recurring-ical-events"
test_deploy="xinetd openssh-server openssh-client isync offlineimap3 mutt tmux nodejs $(command -v npm >/dev/null 2>&1 || echo npm)"
test_relay="strace"
# More backends (issue 26): Mailutils' imap4d; Courier's imapd is unpacked
# by scripts/courier.sh (it conflicts with dovecot-imapd), Gamin's server
# makes its greeting a plain PREAUTH.
test_backends="mailutils-imap4d gamin"
# make deb, and tests/69-deb.bats (which builds, lints and installs it)
deb="$build dpkg-dev debhelper lintian git unzip"
# the Thunderbird add-on's tests (tests/66-*, 67-*): the real Thunderbird in Xvfb, xwd for screenshots with menus
test_thunderbird="thunderbird xvfb x11-apps zip"
# the Roundcube plugin (tests/68-roundcube.bats): Debian's Roundcube with
# SQLite, PHP's CLI server, phpcs, Chromium (driven by puppeteer-core)
test_roundcube="roundcube-core roundcube-sqlite3 roundcube-plugins php-cli php-sqlite3 php-codesniffer sqlite3 chromium"
test="$build $test_core $test_services $test_deploy $test_relay $test_backends $deb $test_thunderbird $test_roundcube"
run="$build dovecot-imapd systemd util-linux netcat-openbsd python3-icalendar python3-recurring-ical-events"
fuzz="$build clang libclang-rt-14-dev bats dovecot-imapd python3 util-linux procps"
valgrind="$test valgrind"
bench="$build dovecot-imapd isync socat openssh-server openssh-client procps systemd util-linux gnuplot-nox"

case ${1:-all} in
build) want=$build ;;
test) want=$test ;;
run) want=$run ;;
fuzz) want=$fuzz ;;
bench) want=$bench ;;
valgrind) want=$valgrind ;;
deb) want=$deb ;;
all) want="$test $run $fuzz $bench" ;;
*)
	echo "usage: $0 [build|test|run|fuzz|bench|valgrind|deb|all]" >&2
	exit 2
	;;
esac

# backends_unpacked SET: for the test sets, Courier's imapd unpacked into
# build/courier (scripts/courier.sh, idempotent, under a lock).
backends_unpacked() {
	case $1 in
	test | valgrind | all) sh "$(dirname "$0")/courier.sh" ;;
	esac
}

missing=
for pkg in $want; do
	case " $missing " in *" $pkg "*) continue ;; esac
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) || status=
	[ "$status" = installed ] || missing="$missing $pkg"
done
[ -n "$missing" ] || {
	backends_unpacked "${1:-all}"
	exit 0
}

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: missing packages; install them with:" >&2
	echo "  sudo apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

echo "$0: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix (for the smtp tests, which run an instance of their own) is
# installed unconfigured: no /etc/postfix/main.cf, so no system Postfix
# listens anywhere, even where package scripts may start services.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
apt-get update -q </dev/null
# Package scripts may try to start services (dovecot); a policy-rc.d that
# denies that is fine, so check the outcome with dpkg-query, not apt-get's
# exit status alone.
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing </dev/null ||
	echo "$0: apt-get install reported a failure; checking packages" >&2
failed=
for pkg in $missing; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) || status=
	[ "$status" = installed ] || failed="$failed $pkg"
done
if [ -n "$failed" ]; then
	echo "$0: could not install:$failed" >&2
	exit 1
fi
backends_unpacked "${1:-all}"
