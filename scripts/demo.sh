#!/bin/sh
# demo.sh [IMAPEXEC] - serve a demo mailbox through imapexec on
# 127.0.0.1:${PORT:-1143} until Ctrl-C (what `make run` runs).
#
# As root: a system user imapexec-demo owns the demo (home
# /var/lib/imapexec-demo, configs in /var/lib/imapexec-demo/etc).
# Otherwise the current user does, with the data under
# ${XDG_RUNTIME_DIR:-/tmp}.  Each connection gets its own imapexec, started
# by systemd-socket-activate in inetd mode, in a clean environment.
# The binary is $1, else $IMAPEXEC, else src/imapexec of this repository.
# The services are $SERVICES, else those installed beside the binary
# (BINDIR/../libexec/imapexec: /usr/libexec/imapexec for the Debian
# package's /usr/sbin/imapexec), else scripts/services of this repository.
# DEMO_DEBUG=1 adds -d (imapexec diagnostics on this terminal, not syslog).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${IMAPEXEC:-$repo/src/imapexec}}
port=${PORT:-1143}
[ -x "$bin" ] || { echo "$0: $bin is not built (run make)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
services=${SERVICES:-$(dirname "$(dirname "$bin")")/libexec/imapexec}
[ -n "${SERVICES:-}" ] || [ -d "$services" ] || services=$repo/scripts/services

if [ "$(id -u)" -eq 0 ]; then
	user=imapexec-demo
	home=/var/lib/imapexec-demo
	etc=$home/etc
	if ! id -u "$user" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home --home-dir "$home" \
			--shell /usr/sbin/nologin "$user"
	fi
	mkdir -p "$home" "$etc"
	chown "$user:$user" "$home"
	chmod 750 "$home"
	chown root:"$user" "$etc"
	chmod 750 "$etc"
	# run as the demo user: setpriv with a clean environment
	asuser="setpriv --reuid=$user --regid=$user --init-groups"
else
	user=$(id -un)
	home=${XDG_RUNTIME_DIR:-/tmp}/imapexec-demo-$user
	etc=$home/etc
	mkdir -p "$home" "$etc"
	chmod 700 "$home"
	asuser=
fi

# A file in the demo Maildir: msg DIR NAME DATE, message text on stdin.
# The file's mtime becomes the INTERNALDATE.
msg() {
	cat >"$1/cur/$2"
	touch -d "$3" "$1/cur/$2"
}

maildir=$home/Maildir
if [ ! -d "$maildir" ]; then
	for d in "$maildir" "$maildir/.Archive"; do
		mkdir -p "$d/cur" "$d/new" "$d/tmp"
	done
	msg "$maildir" "1704099600.M1P1.demo:2,S" "2024-01-01 09:00 UTC" <<-'EOF'
		From: imapexec <postmaster@example.org>
		To: You <you@example.org>
		Subject: Welcome to the imapexec demo
		Date: Mon, 01 Jan 2024 09:00:00 +0000
		Message-ID: <welcome@demo.example.org>

		Hello!

		You are talking to Dovecot through imapexec. Try CAPABILITY: the
		list ends in EXECUTE, and COMPRESS or STARTTLS get a polite NO.

		Have fun.
	EOF
	msg "$maildir" "1704366000.M2P1.demo:2," "2024-01-04 11:00 UTC" <<-'EOF'
		From: Alice <alice@example.org>
		To: You <you@example.org>
		Subject: Lunch on Friday?
		Date: Thu, 04 Jan 2024 11:00:00 +0000
		Message-ID: <lunch@demo.example.org>

		The little place by the river has soup again. Noon?

		Alice
	EOF
	msg "$maildir" "1704452400.M3P1.demo:2,F" "2024-01-05 11:00 UTC" <<-'EOF'
		From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.org>
		To: You <you@example.org>
		Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=
		Date: Fri, 05 Jan 2024 11:00:00 +0000
		Message-ID: <koeln@demo.example.org>
		MIME-Version: 1.0
		Content-Type: text/plain; charset=utf-8
		Content-Transfer-Encoding: 8bit

		Schöne Grüße vom Rhein – the café still makes the best coffee.
	EOF
	msg "$maildir" "1704538800.M4P1.demo:2," "2024-01-06 11:00 UTC" <<-'EOF'
		From: Bob <bob@example.org>
		To: You <you@example.org>
		Subject: Garden report
		Date: Sat, 06 Jan 2024 11:00:00 +0000
		Message-ID: <garden@demo.example.org>

		The tulip bulbs are in, the robin is back, and the shed door no
		longer squeaks.
	EOF
	msg "$maildir/.Archive" "1701442800.M5P1.demo:2,S" "2023-12-01 15:00 UTC" <<-'EOF'
		From: Carol <carol@example.org>
		To: You <you@example.org>
		Subject: A postcard from the mountains
		Date: Fri, 01 Dec 2023 15:00:00 +0000
		Message-ID: <postcard@demo.example.org>

		Snow everywhere, hot chocolate in hand. Wish you were here.
	EOF
	[ -z "$asuser" ] || chown -R "$user:$user" "$maildir"
fi

cat >"$etc/dovecot.conf" <<EOF
# Dovecot config for the imapexec demo (written by scripts/demo.sh)
mail_location = maildir:$maildir
ssl = no
log_path = /dev/stderr
EOF
# The services of scripts/services (README, "Services"), from a copy the
# demo user can read, and a voice message to fetch.
svc=$home/libexec
rm -rf "$svc"
cp -R "$services" "$svc"
chmod -R a+rX "$svc"
mkdir -p "$home/.imapexec/voicemail"
printf 'RIFF\0\0\0\0WAVEdemo' >"$home/.imapexec/voicemail/20240105-1100-from-5551234.wav"
[ -z "$asuser" ] || chown -R "$user:$user" "$home/.imapexec"
addr='min = 1; max = 64; pattern = "^(add|remove|del|list|[^[:space:][:cntrl:]]{1,254})$";'
cat >"$etc/imapexec.conf" <<EOF
# imapexec config for the demo (written by scripts/demo.sh)
backend = [ "/usr/lib/dovecot/imap", "-c", "$etc/dovecot.conf" ];
services = (
  { name = "blacklist"; exec = [ "$svc/blacklist", "--list=blacklist", "--" ]; args = { $addr };
    stderr = "client"; description = "blacklist add ADDRESS... | remove ADDRESS... | list"; },
  { name = "whitelist"; exec = [ "$svc/whitelist", "--list=whitelist", "--" ]; args = { $addr };
    stderr = "client"; description = "whitelist add ADDRESS... | remove ADDRESS... | list"; },
  { name = "calendar"; exec = [ "$svc/calendar" ]; interactive = true;
    args = { max = 0; }; idle_timeout = 600;
    description = "calendar, then: list [schedule] [DAY [FROM [TO]]] | add DAY TIME [TIME] TEXT | delete ID | help | quit"; },
  { name = "voicemail"; exec = [ "$svc/voicemail" ]; args = { min = 1; max = 2; };
    stderr = "client"; description = "voicemail list | fetch ID | delete ID"; },
  { name = "smtp"; exec = [ "$svc/smtp" ]; interactive = true;
    eol = "crlf"; args = { max = 0; };
    description = "smtp, then an SMTP session: send mail as yourself through Postfix (sendmail -bs)"; }
);
EOF
chmod 644 "$etc/dovecot.conf" "$etc/imapexec.conf"

# The demo user must be able to run the binary (a repository under /root
# is not reachable for it): otherwise use a copy in the demo home.
if [ -n "$asuser" ] && ! $asuser test -x "$bin"; then
	mkdir -p "$home/bin"
	cp "$bin" "$home/bin/imapexec"
	chmod 755 "$home/bin" "$home/bin/imapexec"
	bin=$home/bin/imapexec
fi
debug=
[ "${DEMO_DEBUG:-0}" = 0 ] || debug=-d

cat <<EOF
imapexec demo: $user's mailbox in $maildir, on 127.0.0.1:$port
Connect with:   nc -C 127.0.0.1 $port
  then type:    a CAPABILITY
                b SELECT INBOX
                c FETCH 1 BODY[]
                d LOGOUT
A mail client:  mutt -f imap://$user@127.0.0.1:$port/
    (mbsync:    IMAPAccount demo / Host 127.0.0.1 / Port $port / SSLType None)
Logs: imapexec to syslog${debug:+ (here: -d)}, Dovecot here on stderr.
Stop with Ctrl-C.
EOF

path=/usr/local/bin:/usr/bin:/bin
# shellcheck disable=SC2086 # $asuser and $debug are word lists on purpose
exec $asuser env -i PATH="$path" \
	systemd-socket-activate -l "127.0.0.1:$port" -a --inetd \
	-E HOME="$home" -E USER="$user" -E LOGNAME="$user" -E PATH="$path" \
	"$bin" $debug -c "$etc/imapexec.conf"
