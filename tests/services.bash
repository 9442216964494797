# tests/services.bash - helpers for tests/50-services.bats: the services
# of scripts/services driven through imapexec and the real Dovecot backend
# (load after helper).
#
#   svc_setup_file      imx_setup_file for a test user whose home exists (as
#                       root: imxt-ID-s, see below), the services
#                       copied to $IMX_RUN/services-bin
#   svc_setup           per test: a home $H (template Maildir) that every
#                       service gets as HOME, a Dovecot config with Sieve
#                       for dovecot-lda, and $T/imapexec.conf made from
#                       conf/imapexec.conf (the example) with test paths
#   svc_run [opts]      run the driver script on stdin through imapexec
#                       (HOME=$H); the client's bytes are in $T/filtered.out
#   svc_list TAG        the responses of TAG, one a line
#   svc_out TAG [opts]  the reassembled OUT octets of TAG (execute_reassemble)
#   svc_as CMD...       run CMD as the test user with HOME=$H, clean env
#   svc_deliver FROM SUBJECT [HEADER]  deliver a message with dovecot-lda
#
# As root, imapexec runs services in the account's home directory (from
# the password database), and helper.bash's user has /nonexistent, where
# every service is refused.  So as root these tests use an account of
# their own, imxt-ID-s, whose home $IMX_RUN/svchome exists (it is only the
# working directory; the data goes to the per-test $H).

SVC_EXR=$REPO/tests/execute_reassemble.py
SVC_PY=/usr/bin/python3        # Debian's, with python3-aiosmtpd

if [ "$EUID" -eq 0 ]; then
	imx_ensure_user() {
		local home=$IMX_RUN/svchome
		mkdir -p "$home"
		IMX_USER=$(imx_account s --home-dir "$home") || return 1
		chown "$IMX_USER:$IMX_USER" "$home"
		chmod 700 "$home"
		export IMX_USER
	}
fi

svc_setup_file() {
	imx_setup_file
	export SVC_BIN=$IMX_RUN/services-bin
	cp -a "$REPO/scripts/services" "$SVC_BIN"
	chmod -R a+rX "$SVC_BIN"
}

# svc_config [PORT]: $T/imapexec.conf from the example configuration, with
# the services of $SVC_BIN, HOME=$H for each, no group restriction, and the
# SMTP service as shipped (scripts/services/smtp: Postfix's sendmail -bs
# once local_login_sender_maps is set), given the test's own
# Postfix config directory $SVC_PFX/etc if one runs; with PORT, the SMTP
# service is a socket service on 127.0.0.1:PORT instead.
svc_config() {
	"$PYTHON" - "$REPO/conf/imapexec.conf" "$T/imapexec.conf" "$SVC_BIN" \
		"$H" "${1:-}" "${SVC_PFX:-}" <<-'EOF'
		import re, sys
		src, dst, bindir, home, port, pfx = sys.argv[1:]
		text = open(src).read()
		text = text.replace("/usr/local/libexec/imapexec", bindir)
		smtp = 'exec = [ "%s/smtp" ];' % bindir
		assert smtp in text, "the smtp service is not scripts/services/smtp"
		if port:
		    text = text.replace(smtp,
		                        'connect = "tcp:127.0.0.1:%s";' % port)
		elif pfx:
		    text = text.replace(smtp, 'exec = [ "%s/smtp",'
		                        ' "--config=%s/etc" ];' % (bindir, pfx))
		text = text.replace("/var/spool/imapexec/voicemail",
		                    home + "/../vmspool")
		text = re.sub(r'\n\s*groups = \[ "voicemail" \];', "", text)
		text = re.sub(r'\n\s*env = \[ "TZ=Europe/Berlin" \];', "", text)
		text = re.sub(r'(\n(\s*)name = "[^"]+";)',
		              r'\1\n\2env = [ "HOME=%s", "TZ=Europe/Berlin" ];' % home,
		              text)
		open(dst, "w").write(text)
	EOF
	chmod 644 "$T/imapexec.conf"
	"$IMAPEXEC" -t -c "$T/imapexec.conf" >/dev/null 2>&1 || {
		cat -n "$T/imapexec.conf" >&2
		"$IMAPEXEC" -t -c "$T/imapexec.conf" >&2
		return 1
	}
}

svc_setup() {
	H=$T/home
	cp -a "$IMX_RUN/template" "$H"
	# our own Dovecot config (for the backend and for dovecot-lda); the
	# Maildir is absolute, since the backend's HOME is the passwd one
	cat >"$T/dovecot.conf" <<-EOF
		mail_location = maildir:$H/Maildir
		ssl = no
		log_path = /dev/stderr
		info_log_path = /dev/stderr
		postmaster_address = postmaster@example.org
		protocol lda {
		  mail_plugins = \$mail_plugins sieve
		}
		plugin {
		  sieve = file:~/sieve;active=~/.dovecot.sieve
		  sieve_before = ~/.imapexec/lists.sieve
		}
	EOF
	chmod 644 "$T/dovecot.conf"
	: >"$T/filtered.log"
	imx_own "$H" "$T/filtered.log"
	svc_config
	SVC_N=0
}

svc_run() {
	imx_require_binary
	SVC_N=$((SVC_N + 1))
	cat >"$T/s$SVC_N.txt"
	imx_command filtered "$H" "$T/dovecot.conf"
	local rc=0
	"$PYTHON" "$DRIVER" "$@" --out "$T/filtered.out" \
		--log "$T/filtered.log" "$T/s$SVC_N.txt" -- "${IMX_CMD[@]}" \
		2>"$T/filtered.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "# session $T/s$SVC_N.txt failed (driver status $rc):" >&2
		sed 's/^/#   /' "$T/s$SVC_N.txt" "$T/filtered.err" \
			"$T/filtered.log" >&2
		echo "# client received:" >&2
		tail -c 3000 "$T/filtered.out" | sed 's/^/#   /' >&2
	fi
	return "$rc"
}

svc_list() {
	"$PYTHON" "$SVC_EXR" --list --tag "$1" "${@:2}" "$T/filtered.out"
}

svc_out() {
	"$PYTHON" "$SVC_EXR" --tag "$1" "${@:2}" "$T/filtered.out"
}

# svc_expect TAG [opts]: the responses of TAG must be exactly stdin.
svc_expect() {
	local want got
	want=$(cat)
	got=$(svc_list "$@")
	if [ "$got" != "$want" ]; then
		echo "# responses of tag $1 differ (- expected, + received):" >&2
		diff -u <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
			sed 's/^/#   /' >&2
		return 1
	fi
}

svc_as() {
	local cmd=(env -i "HOME=$H" "USER=$IMX_USER" "LOGNAME=$IMX_USER"
		"PATH=$IMX_PATH" "TZ=Europe/Berlin" "$@")
	if [ "$EUID" -eq 0 ]; then
		setpriv --reuid="$IMX_USER" --regid="$IMX_USER" --init-groups \
			"${cmd[@]}"
	else
		"${cmd[@]}"
	fi
}

# svc_deliver FROM SUBJECT [HEADER]: deliver a small message from FROM to
# the test user's INBOX with dovecot-lda and the Sieve plugin.
svc_deliver() {
	{
		printf 'From: Someone <%s>\n' "$1"
		printf 'To: %s@example.org\nSubject: %s\n' "$IMX_USER" "$2"
		printf 'Message-ID: <%s.%s@example.org>\n' "$RANDOM" "$RANDOM"
		[ -z "${3:-}" ] || printf '%s\n' "$3"
		printf '\nHello.\n'
	} | svc_as /usr/lib/dovecot/dovecot-lda -c "$T/dovecot.conf" -f "$1" \
		2>>"$T/lda.log"
}

# svc_subjects MAILBOX: the Subject lines of the messages in MAILBOX
# ("INBOX" or a folder name) of $H/Maildir, sorted.
svc_subjects() {
	local d=$H/Maildir
	[ "$1" = INBOX ] || d=$d/.$1
	local f
	for f in "$d"/new/* "$d"/cur/*; do
		[ -f "$f" ] || continue
		sed -n 's/^Subject: //p' "$f"
	done | sort
}


# svc_smtpd_start: an aiosmtpd server on a free port, storing messages in
# the maildir $T/smtp-maildir; sets SVC_SMTP_PORT and SVC_SMTP_PID.
svc_smtpd_start() {
	SVC_SMTP_PORT=$(imx_free_port)
	"$SVC_PY" -m aiosmtpd -n -l "127.0.0.1:$SVC_SMTP_PORT" \
		-c aiosmtpd.handlers.Mailbox "$T/smtp-maildir" \
		>"$T/smtpd.log" 2>&1 &
	SVC_SMTP_PID=$!
	imx_listens "$SVC_SMTP_PID" "$SVC_SMTP_PORT" 10
}

svc_port_open() {
	"$PYTHON" -c 'import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0)' "$1"
}

# --- a Postfix of the test's own -----------------------------------------
#
# svc_postfix_start: as root, a Postfix instance with its own config
# directory, queue and data directories under $T/postfix ($SVC_PFX): no
# listener on any network (master_service_disable = inet, loopback only
# anyway), local delivery only (Maildir under $SVC_PFX/mail/USER, every
# other destination an error: no relay anywhere), and the envelope sender
# of a local submission bound to the login by local_login_sender_maps:
# USER may send as USER and USER@$SVC_PFX_DOMAIN only.  sendmail and the
# setgid postdrop accept a non-default config directory only if the
# default /etc/postfix/main.cf lists it (alternate_config_directories):
# svc_postfix_start writes that file if there is none (a minimal one, no
# listener either, listing the instances of every suite running now) and
# svc_postfix_stop takes its instance out again (svc_postfix_allow); a
# system Postfix that is configured already is left alone and the test
# skipped.
SVC_PFX_DOMAIN=mx.imapexec.test
SVC_PFX_MAINCF=/etc/postfix/main.cf
SVC_PFX_MARK='# written by the imapexec test suite (tests/services.bash)'

svc_postfix_start() {
	[ "$EUID" -eq 0 ] || skip "a Postfix of our own needs root"
	command -v postfix >/dev/null || skip "postfix is not installed"
	if [ -e "$SVC_PFX_MAINCF" ] &&
		! grep -qxF "$SVC_PFX_MARK" "$SVC_PFX_MAINCF"; then
		skip "$SVC_PFX_MAINCF exists: not touching a configured Postfix"
	fi
	SVC_PFX=$T/postfix
	local d=$SVC_PFX
	mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/mail"
	chmod 755 "$d" "$d/etc"
	chmod 1777 "$d/mail"
	chown postfix "$d/data"
	cat >"$d/etc/main.cf" <<-EOF
		compatibility_level = 3.6
		queue_directory = $d/spool
		data_directory = $d/data
		myhostname = $SVC_PFX_DOMAIN
		mydomain = imapexec.test
		myorigin = \$myhostname
		mydestination = \$myhostname
		inet_interfaces = loopback-only
		inet_protocols = ipv4
		master_service_disable = inet
		mynetworks_style = host
		relayhost =
		default_transport = error:5.7.1 local delivery only
		relay_transport = error:5.7.1 local delivery only
		alias_maps =
		alias_database =
		local_recipient_maps = unix:passwd.byname
		mail_spool_directory = $d/mail/
		biff = no
		maillog_file = $d/maillog
	EOF
	# SVC_PFX_DEFAULT_SENDERS=1: Postfix's default (static:*, anyone)
	[ -n "${SVC_PFX_DEFAULT_SENDERS:-}" ] ||
		printf '%s\n' 'local_login_sender_maps = inline:{ { root = * } },' \
			"    regexp:$d/etc/login_senders" >>"$d/etc/main.cf"
	printf '/^(.+)$/ $1 $1@%s\n' "$SVC_PFX_DOMAIN" >"$d/etc/login_senders"
	# no inet services at all, nothing chrooted
	cat >"$d/etc/master.cf" <<-'EOF'
		pickup    unix  n       -       n       60      1       pickup
		cleanup   unix  n       -       n       -       0       cleanup
		qmgr      unix  n       -       n       300     1       qmgr
		rewrite   unix  -       -       n       -       -       trivial-rewrite
		bounce    unix  -       -       n       -       0       bounce
		defer     unix  -       -       n       -       0       bounce
		trace     unix  -       -       n       -       0       bounce
		flush     unix  n       -       n       1000?   0       flush
		proxymap  unix  -       -       n       -       -       proxymap
		showq     unix  n       -       n       -       -       showq
		error     unix  -       -       n       -       -       error
		retry     unix  -       -       n       -       -       error
		local     unix  -       n       n       -       -       local
		anvil     unix  -       -       n       -       1       anvil
		scache    unix  -       -       n       -       1       scache
		postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	svc_postfix_allow add "$d/etc"
	postfix -c "$d/etc" check
	postfix -c "$d/etc" start 2>"$T/postfix-start.log" || {
		cat "$T/postfix-start.log" >&2
		return 1
	}
}

# svc_postfix_stop: stop our Postfix, remove the main.cf we wrote.
svc_postfix_stop() {
	if [ -n "${SVC_PFX:-}" ]; then
		postfix -c "$SVC_PFX/etc" stop 2>/dev/null || true
		imx_wait_for svc_postfix_gone
	fi
	[ -z "${SVC_PFX:-}" ] || svc_postfix_allow del "$SVC_PFX/etc"
	SVC_PFX=
}

# svc_postfix_allow add|del DIR: add DIR to (or take it from) the
# alternate_config_directories of the main.cf we write, under a lock on
# /etc/postfix (the file itself is replaced):
# every suite running now has its own instance there.  The file goes when
# the list is empty.
svc_postfix_allow() {
	(
		flock -w 60 9
		local dirs d keep=
		dirs=$(sed -n 's/^alternate_config_directories = //p' \
			"$SVC_PFX_MAINCF" 2>/dev/null) || dirs=
		for d in $dirs; do
			# not ours, and of a suite still running (not killed)
			[ "$d" != "$2" ] && [ -d "$d" ] && keep="$keep $d"
		done
		[ "$1" = del ] || keep="$keep $2"
		if [ -z "$keep" ]; then
			rm -f "$SVC_PFX_MAINCF"
		else
			{
				echo "$SVC_PFX_MARK"
				echo 'inet_interfaces = loopback-only'
				echo 'master_service_disable = inet'
				echo "alternate_config_directories =$keep"
			} >"$SVC_PFX_MAINCF.imapexec-new"
			mv "$SVC_PFX_MAINCF.imapexec-new" "$SVC_PFX_MAINCF"
		fi
	) 9</etc/postfix
}

svc_postfix_gone() {
	! postfix -c "$SVC_PFX/etc" status 2>/dev/null
}

# svc_postfix_mail USER: the files delivered to USER, one a line.
svc_postfix_mail() {
	compgen -G "$SVC_PFX/mail/$1/new/*"
}

svc_smtpd_stop() {
	[ -z "${SVC_SMTP_PID:-}" ] || kill "$SVC_SMTP_PID" 2>/dev/null || true
	[ -z "${SVC_SMTP_PID:-}" ] || wait "$SVC_SMTP_PID" 2>/dev/null || true
	SVC_SMTP_PID=
}

# --- calendar -------------------------------------------------------------

# svc_cal_days DAY...: run the calendar program directly (as the test
# user, HOME=$H, TZ=Europe/Berlin) with "list DAY" for each DAY, and print
# its events as "DAY H:MM SUMMARY" or "DAY all day SUMMARY" (IDs dropped),
# in the program's order; the raw answers go to $T/cal-days.raw.
svc_cal_days() {
	local d
	for d in "$@"; do printf 'list %s\n' "$d"; done |
		svc_as timeout 120 "$SVC_BIN/calendar" >"$T/cal-days.raw"
	"$PYTHON" - "$T/cal-days.raw" "$@" <<-'EOF2'
		import re, sys
		raw = open(sys.argv[1], encoding="utf-8").read()
		answers = raw.split("calendar> ")[1:]
		days = sys.argv[2:]
		assert len(answers) == len(days) + 1, (len(answers), raw[-500:])
		for d, a in zip(days, answers):
		    for line in a.splitlines():
		        if line != "no events":
		            print(d, re.sub(r" \[[0-9a-f]+\]$", "", line))
	EOF2
}

# svc_days FROM TO: the days FROM..TO (YYYY-MM-DD), blank-separated.
svc_days() {
	"$PYTHON" -c 'import datetime as dt, sys
a, b = (dt.date.fromisoformat(x) for x in sys.argv[1:])
out = []
while a <= b:
    out.append(a.isoformat())
    a += dt.timedelta(days=1)
print(" ".join(out))' "$1" "$2"
}

# svc_cal_crosscheck DAY...: the program's events of each DAY must be
# those of the independent reader tests/services/ical_reader.py
svc_cal_crosscheck() {
	svc_cal_days "$@" | LC_ALL=C sort >"$T/cal-svc"
	/usr/bin/python3 "$REPO/tests/services/ical_reader.py" \
		"$H/.imapexec/calendar.ics" Europe/Berlin "$@" |
		LC_ALL=C sort >"$T/cal-ref"
	diff -u "$T/cal-ref" "$T/cal-svc" | sed 's/^/# /' >&2
	[ -s "$T/cal-ref" ] && cmp -s "$T/cal-ref" "$T/cal-svc"
}

# svc_cal_fixture NAME: tests/data/calendars/NAME.ics as the test user's
# calendar.ics
svc_cal_fixture() {
	mkdir -p "$H/.imapexec"
	cp "$REPO/tests/data/calendars/$1.ics" "$H/.imapexec/calendar.ics"
	chmod 700 "$H/.imapexec"
	imx_own "$H/.imapexec"
}

# The hooks of a file that loads services: the account and services of
# the run; a fresh $T, home $H and config a test.
setup_file() { svc_setup_file; }
setup() {
	imx_setup
	svc_setup
}
