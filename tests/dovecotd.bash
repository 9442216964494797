# tests/dovecotd.bash - a Dovecot daemon of the tests' own: imap-login on
# loopback with TLS (a CA and a server certificate made with openssl at
# test time), a passwd-file user, Maildir homes.  Load after helper (for
# IMX_USER, imx_own and imx_wait_for); as root.  Reusable: the post-login
# mode of imapexec can put its settings in DD_EXTRA.
#
#   dd_certs DIR         DIR/ca.crt (a test CA), DIR/server.crt and
#                        DIR/server.key (for 127.0.0.1 and localhost, signed
#                        by the CA), DIR/other-ca.crt (an unrelated CA)
#   dd_start DIR         start `dovecot -F` with everything under DIR:
#                        base_dir DIR/run, config DIR/dovecot.conf, log
#                        DIR/dovecot.log, the user DD_USER (password
#                        DD_PASS) in DIR/passwd with home DIR/home/DD_USER,
#                        owned by IMX_USER; listens on 127.0.0.1 and
#                        127.0.0.2 (not in the certificate): imap
#                        (STARTTLS) on DD_IMAP_PORT, imaps on DD_IMAPS_PORT;
#                        waits until both ports accept.  DD_EXTRA=(lines)
#                        are added to the config.  With DD_USER2 set (a
#                        system account), a second user DD_USER2 (password
#                        DD_PASS2) with that account's uid and gid and home
#                        DIR/home/DD_USER2.
#   dd_postlogin_conf IMAPEXEC CONF
#                        print DD_EXTRA lines that put `IMAPEXEC -P -c CONF`
#                        after login as a post-login script (script-login -d);
#                        DD_PL_IMAP (words after imap, e.g. "-t 2", imap's
#                        post-login timeout), DD_PL_CHAIN (words after
#                        imapexec's, a program of the chain before
#                        script-login) and DD_PL_LINES=(lines in the service
#                        block) change it
#   dd_postlogin_shipped IMAPEXEC CONF
#                        print DD_EXTRA lines: the shipped
#                        conf/dovecot/90-imapexec-postlogin.conf with the
#                        paths of IMAPEXEC and CONF, as installed
#   dd_stop              stop it (SIGTERM, then SIGKILL) and wait
#
# DD_DIR, DD_PID, DD_CA are set by dd_start.

DD_USER=${DD_USER:-runuser}
DD_PASS=${DD_PASS:-s3cret pa\$\$ \"q\"}
DD_PASS2=${DD_PASS2:-other s3cret}

dd_certs() {
	local d=$1
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj "/CN=imapexec test CA" -keyout ca.key -out ca.crt
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj "/CN=unrelated test CA" -keyout other-ca.key \
			-out other-ca.crt
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
			-keyout server.key -out server.csr
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
			-CAcreateserial -days 2 -extfile ext.cnf -out server.crt
	) >"$d/openssl.log" 2>&1 || {
		cat "$d/openssl.log" >&2
		return 1
	}
	chmod 644 "$d"/*.crt
	chmod 600 "$d"/*.key
}

dd_start() {
	DD_DIR=$1
	[ "$EUID" -eq 0 ] || skip "dovecot -F needs root"
	command -v dovecot >/dev/null || skip "no dovecot"
	mkdir -p "$DD_DIR/run" "$DD_DIR/home/$DD_USER"
	[ -f "$DD_DIR/server.crt" ] || dd_certs "$DD_DIR"
	DD_CA=$DD_DIR/ca.crt
	imx_own "$DD_DIR/home"
	printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$DD_USER" "$DD_PASS" \
		"$(id -u "$IMX_USER")" "$(id -g "$IMX_USER")" \
		"$DD_DIR/home/$DD_USER" >"$DD_DIR/passwd"
	if [ -n "${DD_USER2:-}" ]; then
		mkdir -p "$DD_DIR/home/$DD_USER2"
		chown "$DD_USER2:" "$DD_DIR/home/$DD_USER2"
		printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$DD_USER2" "$DD_PASS2" \
			"$(id -u "$DD_USER2")" "$(id -g "$DD_USER2")" \
			"$DD_DIR/home/$DD_USER2" >>"$DD_DIR/passwd"
	fi
	chmod 644 "$DD_DIR/passwd"
	{
		echo "base_dir = $DD_DIR/run"
		echo "state_dir = $DD_DIR/run/state"
		echo "instance_name = imapexec-test-$$"
		echo 'protocols = imap'
		echo 'listen = 127.0.0.1, 127.0.0.2'
		echo "log_path = $DD_DIR/dovecot.log"
		echo 'ssl = yes'
		echo "ssl_cert = <$DD_DIR/server.crt"
		echo "ssl_key = <$DD_DIR/server.key"
		echo 'auth_mechanisms = plain login'
		echo 'mail_location = maildir:~/Maildir'
		echo "passdb {"
		echo "  driver = passwd-file"
		echo "  args = scheme=PLAIN $DD_DIR/passwd"
		echo "}"
		echo "userdb {"
		echo "  driver = passwd-file"
		echo "  args = $DD_DIR/passwd"
		echo "}"
		echo "service imap-login {"
		echo "  inet_listener imap {"
		echo "    port = @IMAP_PORT@"
		echo "  }"
		echo "  inet_listener imaps {"
		echo "    port = @IMAPS_PORT@"
		echo "    ssl = yes"
		echo "  }"
		echo "}"
		printf '%s\n' "${DD_EXTRA[@]}"
	} >"$DD_DIR/dovecot.conf.in"
	# Ports from the kernel; a suite beside ours may bind one first: then
	# our daemon does not listen there, and starts again on others.
	local try
	for try in 1 2 3; do
		DD_IMAP_PORT=$(imx_free_port)
		DD_IMAPS_PORT=$(imx_free_port)
		sed -e "s/@IMAP_PORT@/$DD_IMAP_PORT/" \
			-e "s/@IMAPS_PORT@/$DD_IMAPS_PORT/" \
			"$DD_DIR/dovecot.conf.in" >"$DD_DIR/dovecot.conf"
		dovecot -F -c "$DD_DIR/dovecot.conf" >>"$DD_DIR/dovecot.out" 2>&1 &
		DD_PID=$!
		imx_listens "$DD_PID" "$DD_IMAP_PORT" 10 &&
			imx_listens "$DD_PID" "$DD_IMAPS_PORT" 10 && return 0
		dd_stop
	done
	cat "$DD_DIR/dovecot.out" "$DD_DIR/dovecot.log" >&2
	return 1
}


# dd_sanitizer_env: the sanitizer build's settings reach imapexec
# through Dovecot.
dd_sanitizer_env() {
	[ -z "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] ||
		echo "import_environment = TZ CORE_OUTOFMEM CORE_ERROR" \
			"LISTEN_PID LISTEN_FDS ASAN_OPTIONS UBSAN_OPTIONS"
}

dd_postlogin_conf() {
	dd_sanitizer_env
	echo "service imap {"
	echo "  executable = imap ${DD_PL_IMAP:+$DD_PL_IMAP }imapexec-postlogin"
	echo "}"
	echo "service imapexec-postlogin {"
	echo "  executable = script-login -d $1 -P -c $2${DD_PL_CHAIN:+ $DD_PL_CHAIN}"
	# The sanitizer build maps terabytes of shadow memory.
	echo "  vsz_limit = 0"
	[ -z "${DD_PL_LINES+x}" ] || printf '  %s\n' "${DD_PL_LINES[@]}"
	echo "  unix_listener imapexec-postlogin {"
	echo "  }"
	echo "}"
}

dd_postlogin_shipped() {
	dd_sanitizer_env
	sed -e "s|/usr/local/sbin/imapexec|$1|" \
		-e "s|/usr/local/etc/imapexec.conf|$2|" \
		"$REPO/conf/dovecot/90-imapexec-postlogin.conf"
}

# dd_gone: the daemon has exited.
dd_gone() {
	! kill -0 "$DD_PID" 2>/dev/null
}

dd_stop() {
	[ -n "${DD_PID:-}" ] || return 0
	kill "$DD_PID" 2>/dev/null || true
	imx_wait_for dd_gone || kill -KILL "$DD_PID" 2>/dev/null || true
	wait "$DD_PID" 2>/dev/null || true
	DD_PID=
}
