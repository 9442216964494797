#!/usr/bin/env bats
# Break-it review of issue 16 (safe by default): the shipped smtp service
# against forged envelope senders of every shape, with a real Postfix that
# binds the sender to the login; what make install writes for each PREFIX.
# Helpers: tests/services.bash.

load helper
load services
# hooks of the libraries loaded above: setup_file and setup:
# services.bash's; teardown_file: helper.bash's

teardown() { svc_postfix_stop; }

# b16_try SENDER [PRE]: one EXECUTE smtp session, sent blind (whatever
# Postfix answers): PRE commands, then one transaction from SENDER to the
# user, then QUIT.  The conversation is in $T/conv.N.
b16_try() {
	local me=$IMX_USER@$SVC_PFX_DOMAIN
	{
		echo '> 1 EXECUTE smtp'
		echo 'wait +'
		echo 'match \* EXECUTE \(TAG "1"\) OUT "(220|421) '
		echo '> ehlo client.example.org'
		[ -z "${2:-}" ] || printf '> %s\n' "$2"
		printf '> mail from:%s\n' "$1"
		printf '> rcpt to:<%s>\n' "$me"
		echo '> data'
		printf '> Subject: sender %s\n' "$1"
		echo '>'
		echo '> body'
		echo '> .'
		echo '> quit'
		printf 'match \\* EXECUTE \\(TAG "1"\\) EXIT %s\n' "${B16_EXIT:-0}"
		echo '> DONE'
		echo 'wait 1'
	} | svc_run
	B16_N=$((${B16_N:-0} + 1))
	svc_out 1 >"$T/conv.$B16_N"
	{ echo "# --- $1 ${2:-}"; sed 's/^/#   /' "$T/conv.$B16_N"; } >&3
}

@test "smtp (shipped, real Postfix): no forged envelope sender gets through, in any spelling" {
	svc_postfix_start
	svc_config
	local u=$IMX_USER d=$SVC_PFX_DOMAIN s
	local forged=(
		'<ceo@example.com>' '<CEO@EXAMPLE.COM>' '<"ceo"@example.com>'
		'<>' '<@evil.example:ceo@example.com>' '<ceo@example.com.>'
		"<$u@example.com>" "<\"$u@$d\"@example.com>" 'ceo@example.com'
		"<root@$d>" '<root>' '<postmaster>' "<$u%example.com@$d>"
		"<$u@example.com> BODY=8BITMIME" '<ceo@example.com> SMTPUTF8'
		"<\"$u\"@example.com>" "<$u@$d@example.com>" "<root@$d.>"
	)
	for s in "${forged[@]}"; do
		b16_try "$s"
	done
	b16_try '<ceo@example.com>' 'XCLIENT LOGIN=root NAME=localhost'
	b16_try '<ceo@example.com>' 'XFORWARD NAME=spike.porcupine.org ADDR=168.100.189.2'
	b16_try '<ceo@example.com>' 'mail from:<'"$u@$d"'>'
	local i
	for ((i = 1; i < B16_N; i++)); do
		! grep -q '^250 2\.0\.0' "$T/conv.$i" || false
		grep -q '^451 4\.3\.0 ' "$T/conv.$i"
	done
	# the last: the first MAIL FROM (the user's own) holds
	grep -q '^503 5\.5\.1 Error: nested MAIL command' "$T/conv.$B16_N"
	grep -q '^250 2\.0\.0' "$T/conv.$B16_N"
	imx_wait_for svc_postfix_mail "$u"
	local f
	f=$(svc_postfix_mail "$u")
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	grep -qx "Return-Path: <$u@$d>" "$f"
	postqueue -c "$SVC_PFX/etc" -p | grep -qx 'Mail queue is empty'
	imx_assert_no_leftovers
}

# b16_execs CONF: the programs the services of CONF run, one a line.
b16_execs() {
	sed -n -E 's/^[[:space:]]*exec = \[ "([^"]+)".*/\1/p' "$1"
}

@test "make install PREFIX=/usr and /usr/local: the live config runs the services it installed, nothing under another prefix" {
	local p d conf x n
	for p in /usr /usr/local; do
		d=$T/dest$p
		make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" PREFIX="$p" DESTDIR="$d" >"$T/make.log"
		conf=$d$p/etc/imapexec.conf
		[ "$p" != /usr ] || conf=$d/etc/imapexec.conf
		cmp "$conf" "$d$p/share/doc/imapexec/examples/imapexec.conf"
		n=0
		for x in $(b16_execs "$conf"); do
			echo "# $p: $x" >&3
			case $x in
			/usr/sbin/sendmail) ;;
			*) [ -x "$d$x" ] || { echo "# $p: $x not installed" >&2; return 1; } ;;
			esac
			n=$((n + 1))
		done
		[ "$n" -ge 5 ]
		[ "$p" = /usr/local ] || ! grep -n /usr/local/libexec "$conf"
		# the shipped config still goes with uninstall
		make -s -C "$REPO" uninstall INSTALL_BUILD="$T/install-build" PREFIX="$p" DESTDIR="$d" >>"$T/make.log"
		[ ! -e "$conf" ]
	done
}

@test "smtp (shipped) with Postfix's default local_login_sender_maps (static:*): refused before any SMTP, nothing is sent" {
	SVC_PFX_DEFAULT_SENDERS=1 svc_postfix_start
	[ "$(postconf -c "$SVC_PFX/etc" -h local_login_sender_maps)" = 'static:*' ]
	svc_config
	B16_EXIT=1 b16_try '<ceo@example.com>'
	! grep -q '^250 2.0.0' "$T/conv.1" || false
	grep -q '^421 4.7.0 ' "$T/conv.1"
	svc_list 1 | grep -q '^\* EXECUTE (TAG "1") EXIT 1$'
	grep -q 'error: .*local_login_sender_maps' "$T/filtered.log"
	! grep -q 'ceo@example.com' "$SVC_PFX/maillog" || false
	postqueue -c "$SVC_PFX/etc" -p | grep -qx 'Mail queue is empty'
	imx_assert_no_leftovers
}
