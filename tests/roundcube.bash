# tests/roundcube.bash - Debian's Roundcube 1.6 with the imapexec plugin,
# served by `php -S` on a port of the run's own, in front of the post-login
# Dovecot of tests/postlogin.bash (load after helper, dovecotd, postlogin).
#
#   rc_skip              skip unless root, Dovecot, Roundcube, php, chromium
#   rc_setup_file        pl_setup_file, the services (blacklist, whitelist,
#                        args), Roundcube's config, database and document
#                        root under $RC, `php -S` (RC_PID, RC_URL)
#   rc_teardown_file     stop php -S and its workers (its process group,
#                        by PID), pl_teardown_file
#   rc_fresh             fresh Maildirs (pl_fresh), the test messages, no
#                        lists, the config with the services
#   rc_errors            Roundcube's errors.log since rc_fresh
#   rc_browser CMD ...   tests/rcnode/browser.mjs CMD (as a person in
#                        Chromium): output in $output, status in $status
#   rc_list N LIST       user N's LIST (blacklist|whitelist) as the service
#                        keeps it on the server, one address a line
#   rc_subjects N FOLDER the Subject lines of user N's FOLDER (INBOX, Junk)
#
# The messages (rc_fresh) in user 1's INBOX: "Cheap pills" from
# spam@example.net, the hostile ones "Quote" ("a\"b"@x), "CRLF" (the
# address an encoded word with CR LF in it), "Dash" (-x@y) and "Html"
# (an <img onerror> in the address's quoted local part), "Encoded" (a
# B encoded word that Roundcube decodes to an address with CR LF); in Junk:
# "Newsletter" from friend@example.org.  User 2's INBOX: "For two" from
# other-spam@example.com.

RC_SHARE=/usr/share/roundcube
RC_NODE=$REPO/tests/rcnode

# rc_skip: skip unless the daemons and php -S run.
rc_skip() {
	pl_skip
	[ -n "${RC_PID:-}" ] || skip "needs roundcube-core, php-cli and chromium"
}

# rc_services_conf FILE [full]: the imapexec config of the post daemon:
# the services of postlogin.bash, with "full" also blacklist and whitelist
# (scripts/services, as conf/imapexec.conf runs them) and "args" (prints
# each argument's octets in hex, one a line; dash_args, so that only the
# plugin's quoting stands between a value and an option) and "stall"
# (sleep 86399: never answers).
rc_services_conf() {
	local pat='^(add|remove|del|list|[^-[:space:][:cntrl:]][^[:space:][:cntrl:]]{0,253})$' l
	sed '$d' "$PL_DIR/imapexec.conf.base" >"$1"
	if [ "${2:-}" = full ]; then
		for l in blacklist whitelist; do
			cat <<-CONF
				  ,
				  { name = "$l"; description = "$l add|remove ADDRESS... | list";
				    exec = [ "$IMX_RUN/services-bin/blacklist", "--list=$l", "--" ];
				    args = { min = 1; max = 64; pattern = "$pat"; };
				    stderr = "client"; timeout = 30; }
			CONF
		done >>"$1"
		cat >>"$1" <<-'CONF'
			  ,
			  { name = "stall"; description = "never answers";
			    exec = [ "/bin/sleep", "86399" ]; }
			  ,
			  { name = "args"; description = "its arguments in hex";
			    dash_args = true;
			    exec = [ "/bin/sh", "-c",
			      "for a; do printf %s \"$a\" | od -An -tx1 -v | tr -d ' \\n'; echo; done",
			      "args" ]; }
		CONF
	fi
	echo ');' >>"$1"
	chmod 644 "$1"
	"$IMAPEXEC" -t -c "$1" >/dev/null
}

# rc_setup_file: the daemons, services, Roundcube and php -S (see above).
rc_setup_file() {
	pl_setup_file
	[ -n "${PL_P_PID:-}" ] || return 0
	[ -f "$RC_SHARE/index.php" ] && command -v php >/dev/null &&
		[ -x /usr/bin/chromium ] || return 0
	cp -a "$REPO/scripts/services" "$IMX_RUN/services-bin"
	chmod -R a+rX "$IMX_RUN/services-bin"
	cp "$PL_DIR/imapexec.conf" "$PL_DIR/imapexec.conf.base"
	rc_services_conf "$PL_DIR/imapexec.conf" full
	imx_node_modules "$RC_NODE" puppeteer-core

	RC=$IMX_RUN/rc
	export RC
	mkdir -p "$RC/config" "$RC/db" "$RC/root/plugins" "$RC/root/temp" \
		"$RC/root/logs"
	# Debian's /etc/roundcube points at PostgreSQL after a noninteractive
	# install: a config directory of our own (ROUNDCUBE_CONFIG_DIR, read
	# by Debian's iniset.php) with Debian's defaults and mimetypes
	cp /etc/roundcube/defaults.inc.php /etc/roundcube/mimetypes.php \
		"$RC/config/"
	sqlite3 "$RC/db/roundcube.sqlite" <"$RC_SHARE/SQL/sqlite.initial.sql"
	cat >"$RC/config/config.inc.php" <<-EOF
		<?php
		\$config = [];
		\$config['db_dsnw'] = 'sqlite:///$RC/db/roundcube.sqlite?mode=0600';
		\$config['imap_host'] = 'ssl://127.0.0.1:$PL_P_IMAPS';
		\$config['imap_conn_options'] = ['ssl' => ['cafile' => '$DD_CA',
		    'verify_peer' => true, 'verify_peer_name' => true]];
		\$config['imap_timeout'] = 30;
		\$config['smtp_host'] = 'localhost:25';
		\$config['des_key'] = '$(LC_ALL=C tr -dc A-Za-z0-9 </dev/urandom | head -c 24)';
		\$config['product_name'] = 'Webmail';
		\$config['skin'] = 'elastic';
		\$config['plugins'] = ['imapexec', 'markasjunk', 'imapexec_sso'];
		\$config['imapexec_sso_user'] = '$PL_USER2';
		\$config['imapexec_sso_passfile'] = '$PL_DIR/pass2';
		\$config['markasjunk_learning_driver'] = 'imapexec';
		\$config['junk_mbox'] = 'Junk';
		\$config['create_default_folders'] = true;
		\$config['log_dir'] = '$RC/root/logs/';
		\$config['temp_dir'] = '$RC/root/temp/';
		\$config['enable_installer'] = false;
		\$config['support_url'] = '';
		\$config['language'] = 'en_US';
		\$config['message_show_email'] = true;
	EOF
	rc_docroot
	RC_PORT=$(imx_free_port)
	# a few workers: the page loads frames and polls while it waits; in a
	# session (process group) of its own, so that teardown ends the
	# workers too (they outlive a killed parent).  OPcache on, as under
	# any web server: without it every request compiles Roundcube anew,
	# seconds of CPU a page on a machine busy with the rest of the suite
	PHP_CLI_SERVER_WORKERS=4 ROUNDCUBE_CONFIG_DIR=$RC/config RC_ROOT=$RC/root \
		setsid php -d opcache.enable_cli=1 \
		-S "127.0.0.1:$RC_PORT" -t "$RC/root" "$REPO/tests/roundcube/router.php" \
		>"$RC/php.log" 2>&1 </dev/null 3>&- &
	RC_PID=$!
	imx_listens "$RC_PID" "$RC_PORT" 10 || {
		cat "$RC/php.log" >&2
		return 1
	}
	RC_URL=http://127.0.0.1:$RC_PORT/
	export RC_PID RC_PORT RC_URL
}

# rc_docroot: $RC/root, Roundcube's INSTALL_PATH (router.php defines it):
# Debian's program and skins, every plugin but markasjunk as symlinks;
# markasjunk a directory of symlinks whose drivers/ has the plugin's
# driver too (installed as the README says); the imapexec plugin is the
# source tree's; the test plugin imapexec_sso (user 2's password from
# the storage_connect hook, as a single sign-on plugin gives it).
rc_docroot() {
	local r=$RC/root p
	ln -s "$RC_SHARE/index.php" "$r/index.php"
	ln -s "$RC_SHARE/program" "$r/program"
	ln -s "$RC_SHARE/skins" "$r/skins"
	for p in "$RC_SHARE"/plugins/*; do
		[ "${p##*/}" = markasjunk ] || ln -s "$p" "$r/plugins/"
	done
	mkdir -p "$r/plugins/markasjunk/drivers"
	for p in "$RC_SHARE"/plugins/markasjunk/*; do
		case ${p##*/} in drivers | config.inc.php) continue ;; esac
		ln -s "$p" "$r/plugins/markasjunk/"
	done
	for p in "$RC_SHARE"/plugins/markasjunk/drivers/*; do
		ln -s "$p" "$r/plugins/markasjunk/drivers/"
	done
	ln -s "$REPO/src/roundcube/imapexec/markasjunk/imapexec.php" \
		"$r/plugins/markasjunk/drivers/imapexec.php"
	ln -s "$REPO/src/roundcube/imapexec" "$r/plugins/imapexec"
	ln -s "$REPO/tests/roundcube/imapexec_sso" "$r/plugins/imapexec_sso"
}

# rc_no_stall: no "stall" service (sleep 86399) of user 1 runs.
rc_no_stall() {
	! pgrep -u "$DD_USER" -fx '/bin/sleep 86399' >/dev/null
}

# rc_gone: nothing of php -S's process group is left.
rc_gone() {
	! pgrep -g "$RC_PID" >/dev/null
}

rc_teardown_file() {
	if [ -n "${RC_PID:-}" ]; then
		kill -- "-$RC_PID" 2>/dev/null || true
		wait "$RC_PID" 2>/dev/null || true
		imx_wait_for rc_gone || kill -KILL -- "-$RC_PID" 2>/dev/null || true
	fi
	pl_teardown_file
}

# rc_home N: user N's home on the post daemon.
rc_home() {
	local u=$DD_USER
	[ "$1" = 1 ] || u=$PL_USER2
	echo "$PL_DIR/post/home/$u"
}

# rc_message N FOLDER NAME FROM SUBJECT: a message in user N's FOLDER
# (INBOX or Junk), file NAME; FROM is the From header's value as is.
rc_message() {
	local d
	d=$(rc_home "$1")/Maildir
	[ "$2" = INBOX ] || d=$d/.$2
	mkdir -p "$d/new" "$d/cur" "$d/tmp"
	printf 'From: %s\r\nTo: user@example.org\r\nSubject: %s\r\nDate: Thu, 04 Jan 2024 08:00:00 +0000\r\nMessage-ID: <%s@example.org>\r\n\r\nHello.\r\n' \
		"$4" "$5" "$3" >"$d/new/$3"
}

# rc_fresh: fresh Maildirs with the test messages, no lists, full config;
# Roundcube's errors.log from here on is this test's (rc_errors).
rc_fresh() {
	RC_ERRORS_AT=$(stat -c %s "$RC/root/logs/errors.log" 2>/dev/null || echo 0)
	pl_fresh
	rc_services_conf "$PL_DIR/imapexec.conf" full
	local h
	for h in "$(rc_home 1)" "$(rc_home 2)"; do
		rm -rf "$h/.imapexec"
	done
	rc_message 1 INBOX m1 'Spammer <spam@example.net>' 'Cheap pills'
	rc_message 1 INBOX m2 '"a\"b"@x' 'Quote'
	rc_message 1 INBOX m3 '=?utf-8?Q?evil=0D=0AX_EXECUTE_mark_-v@example.net?=' 'CRLF'
	rc_message 1 INBOX m4 'Dash <-x@y>' 'Dash'
	rc_message 1 INBOX m7 '"<img src=x onerror=alert(1)>"@x.example' 'Html'
	rc_message 1 INBOX m8 "=?utf-8?B?$(printf 'evil@example.net\r\nX EXECUTE mark -v' | base64 -w0)?=" 'Encoded'
	rc_message 1 Junk m5 'Friend <friend@example.org>' 'Newsletter'
	rc_message 2 INBOX m6 'Other <other-spam@example.com>' 'For two'
	chown -R "$IMX_USER:" "$(rc_home 1)/Maildir"
	chown -R "$PL_USER2:" "$(rc_home 2)/Maildir"
}

# rc_exec N ARGS...: tests/roundcube/execute.php as user N against the
# post daemon (imapexec_client, the sync included); its JSON in $output.
rc_exec() {
	local n=$1 u=$DD_USER
	shift
	[ "$n" = 1 ] || u=$PL_USER2
	run --separate-stderr timeout 60 php "$REPO/tests/roundcube/execute.php" \
		"$PL_P_IMAPS" "$u" "$PL_DIR/pass$n" "$DD_CA" "$@"
	printf '%s\n' "$output" "# stderr: $stderr"
}

# rc_browser CMD ARGS...: browser.mjs as a person; $output, $status.
rc_browser() {
	run --separate-stderr timeout 240 node "$RC_NODE/browser.mjs" "$@"
	printf '%s\n' "$output"
	printf '# stderr: %s\n' "$stderr"
	# what Roundcube logged (shown only if the test fails): a status of
	# 0 with a message missing may have its cause there
	rc_errors | tail -n 20 | sed 's/^/# errors.log: /'
	if [ "$status" -ne 0 ]; then
		echo "# php -S's log:"
		{ grep -v "Accepted$\|Closing$\|GET /skins\|GET /plugins\|GET /program" "$RC/php.log" | tail -n 40; } 2>&1 | sed 's/^/#   /'
		echo "# the post daemon's log (Dovecot, imapexec):"
		tail -n 30 "$PL_DIR/post/dovecot.log" 2>&1 | sed 's/^/#   /'
		echo "# load: $(cat /proc/loadavg); free: $(df -h --output=avail /tmp /var/tmp | tail -n +2 | tr -s ' \n' ' ')"\
			"$(awk '/MemAvailable/ { print $2 " kB" }' /proc/meminfo)"
		# last: the browser's steps with their times, on one line, and
		# its own words of why (scripts/check.sh's summary takes the last
		# line that says an error)
		echo "# steps: $(sed -n 's/^step //p' <<<"$stderr" | tr '\n' ';')"
		echo "# browser: $(grep -E 'gave up|failed at|crashed' <<<"$stderr" | tail -n 1)"
	fi
}

# rc_errors: what Roundcube logged in errors.log since rc_fresh.
rc_errors() {
	tail -c "+$((${RC_ERRORS_AT:-0} + 1))" "$RC/root/logs/errors.log" 2>/dev/null || true
}

# rc_list N LIST: user N's LIST on the server, one address a line.
rc_list() {
	cat "$(rc_home "$1")/.imapexec/$2" 2>/dev/null || true
}

# rc_subjects N FOLDER: the sorted Subjects of user N's FOLDER.
rc_subjects() {
	local d f
	d=$(rc_home "$1")/Maildir
	[ "$2" = INBOX ] || d=$d/.$2
	for f in "$d"/new/* "$d"/cur/*; do
		[ -f "$f" ] || continue
		sed -n 's/^Subject: //p' "$f"
	done | tr -d '\r' | sort
}
