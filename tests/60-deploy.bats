#!/usr/bin/env bats
# Deployment: make install/uninstall, and the shipped launcher configs
# (conf/) with the real launchers - xinetd, systemd-socket-activate,
# sshd - each serving imapexec in front of Dovecot's preauth imap to a
# Python imaplib client that also runs EXECUTE services.  Every service
# checks IMAPEXEC_REMOTE_ADDR: clients connect from 127.0.0.2 so the
# address is really the peer's.

load deploy
# hooks of the libraries loaded above: setup_file, teardown_file, setup and
# teardown: deploy.bash's

SESSION=$BATS_TEST_DIRNAME/deploy/imaplib_session.py

# The files make install puts under DESTDIR $1 (relative, sorted).
installed_files() { (cd "$1" && find . ! -type d | sort); }

@test "make install/uninstall: PREFIX and DESTDIR, file list, nothing left" {
	local d=$T/destdir
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" DESTDIR="$d" >"$T/make.log"
	installed_files "$d" >"$T/files"
	diff -u - "$T/files" <<-'EOF'
		./usr/local/bin/imapexec-run
		./usr/local/etc/imapexec.conf
		./usr/local/lib/systemd/system/imapexec.socket
		./usr/local/lib/systemd/system/imapexec@.service
		./usr/local/libexec/imapexec/blacklist
		./usr/local/libexec/imapexec/calendar
		./usr/local/libexec/imapexec/smtp
		./usr/local/libexec/imapexec/voicemail
		./usr/local/libexec/imapexec/whitelist
		./usr/local/sbin/imapexec
		./usr/local/share/doc/imapexec/examples/dovecot/90-imapexec-postlogin.conf
		./usr/local/share/doc/imapexec/examples/imapexec.conf
		./usr/local/share/doc/imapexec/examples/ssh/authorized_keys
		./usr/local/share/doc/imapexec/examples/ssh/mbsyncrc
		./usr/local/share/doc/imapexec/examples/ssh/muttrc
		./usr/local/share/doc/imapexec/examples/ssh/offlineimaprc
		./usr/local/share/doc/imapexec/examples/ssh/sshd_config
		./usr/local/share/doc/imapexec/examples/xinetd.imapexec
		./usr/local/share/imapexec/imapexec-thunderbird.xpi
		./usr/local/share/imapexec/roundcube/imapexec/config.inc.php.dist
		./usr/local/share/imapexec/roundcube/imapexec/imapexec.php
		./usr/local/share/imapexec/roundcube/imapexec/imapexec_client.php
		./usr/local/share/imapexec/roundcube/imapexec/localization/en_US.inc
		./usr/local/share/imapexec/roundcube/imapexec/markasjunk/imapexec.php
		./usr/local/share/man/man1/imapexec-run.1
		./usr/local/share/man/man5/imapexec.conf.5
		./usr/local/share/man/man8/imapexec.8
	EOF
	[ -x "$d/usr/local/sbin/imapexec" ]
	[ "$(stat -c %a "$d/usr/local/lib/systemd/system/imapexec@.service")" = 644 ]
	cmp "$REPO/conf/imapexec@.service" "$d/usr/local/lib/systemd/system/imapexec@.service"
	make -s -C "$REPO" uninstall INSTALL_BUILD="$T/install-build" DESTDIR="$d" >>"$T/make.log"
	[ -z "$(installed_files "$d")" ] || { installed_files "$d" >&2; false; }

	# PREFIX=/usr: units in /lib/systemd/system, config in /etc, and the
	# installed examples name /usr/sbin/imapexec
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" PREFIX=/usr DESTDIR="$d" >>"$T/make.log"
	installed_files "$d" >"$T/files"
	diff -u - "$T/files" <<-'EOF'
		./etc/imapexec.conf
		./lib/systemd/system/imapexec.socket
		./lib/systemd/system/imapexec@.service
		./usr/bin/imapexec-run
		./usr/libexec/imapexec/blacklist
		./usr/libexec/imapexec/calendar
		./usr/libexec/imapexec/smtp
		./usr/libexec/imapexec/voicemail
		./usr/libexec/imapexec/whitelist
		./usr/sbin/imapexec
		./usr/share/doc/imapexec/examples/dovecot/90-imapexec-postlogin.conf
		./usr/share/doc/imapexec/examples/imapexec.conf
		./usr/share/doc/imapexec/examples/ssh/authorized_keys
		./usr/share/doc/imapexec/examples/ssh/mbsyncrc
		./usr/share/doc/imapexec/examples/ssh/muttrc
		./usr/share/doc/imapexec/examples/ssh/offlineimaprc
		./usr/share/doc/imapexec/examples/ssh/sshd_config
		./usr/share/doc/imapexec/examples/xinetd.imapexec
		./usr/share/imapexec/imapexec-thunderbird.xpi
		./usr/share/imapexec/roundcube/imapexec/config.inc.php.dist
		./usr/share/imapexec/roundcube/imapexec/imapexec.php
		./usr/share/imapexec/roundcube/imapexec/imapexec_client.php
		./usr/share/imapexec/roundcube/imapexec/localization/en_US.inc
		./usr/share/imapexec/roundcube/imapexec/markasjunk/imapexec.php
		./usr/share/man/man1/imapexec-run.1
		./usr/share/man/man5/imapexec.conf.5
		./usr/share/man/man8/imapexec.8
	EOF
	grep -qx 'ExecStart=/usr/sbin/imapexec' "$d/lib/systemd/system/imapexec@.service"
	grep -q 'server.*= /usr/sbin/imapexec$' "$d/usr/share/doc/imapexec/examples/xinetd.imapexec"
	grep -q 'server_args.*= -c /etc/imapexec.conf$' "$d/usr/share/doc/imapexec/examples/xinetd.imapexec"
	! grep -r -q /usr/local "$d/lib" "$d/usr/share/doc/imapexec/examples/ssh" \
		"$d/usr/share/doc/imapexec/examples/xinetd.imapexec" ||
		{ grep -r -n /usr/local "$d" >&2; false; }
	# an edited config survives uninstall (and a reinstall), nothing else
	echo '# edited' >>"$d/etc/imapexec.conf"
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" PREFIX=/usr DESTDIR="$d" >>"$T/make.log"
	tail -n 1 "$d/etc/imapexec.conf" | grep -qx '# edited'
	make -s -C "$REPO" uninstall INSTALL_BUILD="$T/install-build" PREFIX=/usr DESTDIR="$d" >>"$T/make.log"
	[ "$(installed_files "$d")" = ./etc/imapexec.conf ]
	[ ! -e "$d/usr/share/doc/imapexec" ]
}

@test "make install PREFIX=...: the installed binary reads \$(SYSCONFDIR)/imapexec.conf" {
	local p=$T/prefix
	# src/imapexec was built for PREFIX=/usr/local; install must not ship it
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" PREFIX="$p" >"$T/make.log"
	"$p/sbin/imapexec" -t >"$T/t.out" 2>&1
	echo 'backend = [ "relative/imap" ];' >"$p/etc/imapexec.conf"
	run "$p/sbin/imapexec" -t
	[ "$status" -eq 1 ]
	[[ $output == *"$p/etc/imapexec.conf"* ]] || { echo "$output" >&2; false; }
	make -s -C "$REPO" uninstall INSTALL_BUILD="$T/install-build" PREFIX="$p" >>"$T/make.log"
}

@test "systemd-analyze verify accepts the installed units (and catches a bad one)" {
	dep_require systemd-analyze
	local p=$T/prefix
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" PREFIX="$p" >"$T/make.log"
	grep -qx "ExecStart=$p/sbin/imapexec" "$p/lib/systemd/system/imapexec@.service"
	# MANPATH: the units' Documentation= must name installed manuals
	MANPATH=$p/share/man systemd-analyze verify \
		"$p/lib/systemd/system/imapexec.socket" \
		"$p/lib/systemd/system/imapexec@.service" 2>"$T/verify.log" || {
		cat "$T/verify.log" >&2
		false
	}
	[ ! -s "$T/verify.log" ] || { cat "$T/verify.log" >&2; false; }
	# the check can fail: a missing binary is reported
	rm "$p/sbin/imapexec"
	! MANPATH=$p/share/man systemd-analyze verify \
		"$p/lib/systemd/system/imapexec.socket" \
		"$p/lib/systemd/system/imapexec@.service" 2>"$T/verify.log"
	grep -q 'is not executable' "$T/verify.log"
}

# shipped_execstart: the shipped unit's ExecStart command line, with this
# build's binary and this test's config.
shipped_execstart() {
	local cmd
	cmd=$(sed -n 's/^ExecStart=//p' "$REPO/conf/imapexec@.service")
	[ "$cmd" = /usr/local/sbin/imapexec ]
	echo "$IMAPEXEC -c $T/imapexec.conf"
}

# socket_activate ADDR: systemd-socket-activate --inetd on ADDR:PORT with
# the shipped unit's command, as root (imapexec drops to `user`), with the
# clean environment systemd gives a service.  Sets PORT.
socket_activate() {
	dep_require systemd-socket-activate
	PORT=$(imx_free_port)
	local -a envs
	mapfile -t envs < <(dep_san_env)
	# shellcheck disable=SC2046 # the command line is split as systemd does
	dep_daemon socket-activate env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		"${envs[@]}" systemd-socket-activate --inetd -a -l "$1:$PORT" \
		$(shipped_execstart)
	dep_wait_listen "$PORT"
}

@test "systemd-socket-activate --inetd with the shipped unit's command: imaplib over TCP with EXECUTE" {
	socket_activate 127.0.0.1
	"$PYTHON" "$SESSION" 127.0.0.1 "$PORT" --source 127.0.0.2 \
		--expect-addr 127.0.0.2 --expect-user "$DEP_USER" >"$T/session.log" || {
		cat "$T/session.log" >&2
		false
	}
	# a second connection gets its own imapexec
	"$PYTHON" "$SESSION" 127.0.0.1 "$PORT" --source 127.0.0.3 \
		--expect-addr 127.0.0.3 >>"$T/session.log"
	dep_assert_no_leftovers
}

@test "systemd-socket-activate --inetd on IPv6 loopback: the peer address is ::1" {
	"$PYTHON" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
		skip "no IPv6 loopback"
	socket_activate '[::1]'
	"$PYTHON" "$SESSION" ::1 "$PORT" --ipv6 --expect-addr ::1 >"$T/session.log" || {
		cat "$T/session.log" >&2
		false
	}
}

@test "xinetd -dontfork with the shipped entry: imaplib over TCP with EXECUTE" {
	dep_require xinetd
	PORT=$(imx_free_port)
	# the shipped (IPv4) entry as it is, bind included, with this test's
	# port, user, binary and config; up to its closing brace
	grep -q '^\s*bind\s*= 127\.0\.0\.1$' "$REPO/conf/xinetd.imapexec"
	sed -e "s|^\(\s*port\s*=\).*|\1 $PORT|" \
		-e "s|^\(\s*user\s*=\).*|\1 $DEP_USER|" \
		-e "s|/usr/local/sbin/imapexec|$IMAPEXEC|" \
		-e "s|^#\(\s*server_args\s*=\).*|\1 -c $T/imapexec.conf|" \
		-e '/^}/,$d' "$REPO/conf/xinetd.imapexec" >"$T/xinetd.conf"
	{
		echo "	log_type	= FILE $T/xinetd-service.log"
		local e
		while read -r e; do
			[ -z "$e" ] || echo "	env		+= $e"
		done < <(dep_san_env)
		echo "}"
	} >>"$T/xinetd.conf"
	grep -q "^\s*server_args\s*= -c $T/imapexec.conf" "$T/xinetd.conf"
	dep_daemon xinetd xinetd -dontfork -f "$T/xinetd.conf" \
		-pidfile "$T/xinetd-own.pid"
	dep_wait_listen "$PORT"
	"$PYTHON" "$SESSION" 127.0.0.1 "$PORT" --source 127.0.0.2 \
		--expect-addr 127.0.0.2 --expect-user "$DEP_USER" >"$T/session.log" || {
		cat "$T/session.log" >&2
		false
	}
	[ "$(cat "$T/xinetd-own.pid")" = "$(cat "$T/xinetd.pid")" ]
	dep_assert_no_leftovers
}

# ssh_session CMD...: the imaplib session over `ssh -b 127.0.0.2 CMD` as
# the tunnel.
ssh_session() {
	"$PYTHON" "$SESSION" - 0 --expect-addr 127.0.0.2 --expect-user "$DEP_USER" \
		--stream "ssh -F $T/ssh_config -b 127.0.0.2 $DEP_USER@mail.example.org $*" \
		>"$T/session.log" || {
		cat "$T/session.log" >&2
		false
	}
}

@test "sshd, shipped authorized_keys (command=, restrict): ssh ... imapexec as the tunnel" {
	dep_require ssh ssh-keygen /usr/sbin/sshd
	dep_sshd
	dep_shipped_authorized_keys
	grep -q "^restrict,command=\"$IMAPEXEC -c $T/imapexec.conf\" ssh-ed25519 " \
		"$DEP_HOME/.ssh/authorized_keys"
	ssh_session imapexec
	dep_assert_no_leftovers
}

@test "sshd, shipped sshd_config (Match User, ForceCommand): ssh ... imapexec as the tunnel" {
	dep_require ssh ssh-keygen /usr/sbin/sshd
	sed -e "s|^Match User vmail|Match User $DEP_USER|" \
		-e "s|/usr/local/sbin/imapexec|$IMAPEXEC -c $T/imapexec.conf|" \
		"$REPO/conf/ssh/sshd_config" >"$T/sshd_imapexec.conf"
	dep_sshd "$T/sshd_imapexec.conf"
	dep_authorized_keys
	ssh_session imapexec
	# a client asking for something else gets imapexec all the same
	ssh_session /bin/true
	dep_assert_no_leftovers
}

@test "sshd, plain key: ssh host exec /path/imapexec (the c-client /etc/rimapd way)" {
	dep_require ssh ssh-keygen /usr/sbin/sshd
	dep_sshd
	dep_authorized_keys
	ssh_session exec "$IMAPEXEC" -c "$T/imapexec.conf"
	dep_assert_no_leftovers
}
