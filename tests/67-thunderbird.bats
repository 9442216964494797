#!/usr/bin/env bats
# The Thunderbird add-on in the real Thunderbird (headless, Marionette in
# chrome context, tests/thunderbird/tbtest.py): a fresh profile with two
# IMAP accounts, one against a `dovecot -F` with imapexec -P as its
# post-login script and one against the same Dovecot without it
# (tests/postlogin.bash); clicks on the add-on's menu entries; every result
# is checked on the server (the user's ~/.imapexec lists).
#
# The accounts use plain IMAP on 127.0.0.1 (socketType 0): the TLS path
# of the protocol module is tested under node (tests/66).

load helper
load dovecotd
load postlogin
# hooks: setup_file and teardown_file are this file's (below), around
# postlogin.bash's; setup: helper.bash's

TBT=$BATS_TEST_DIRNAME/thunderbird
# THUNDERBIRD: the program to test (another version unpacked elsewhere)
THUNDERBIRD=${THUNDERBIRD:-thunderbird}
TB_PY=/usr/bin/python3

# tb_services_conf: the post daemon's imapexec config: the shipped
# blacklist, whitelist and calendar services (copies in the run directory).
tb_services_conf() {
	local bin=$IMX_RUN/services-bin
	cp -a "$REPO/scripts/services" "$bin"
	chmod -R a+rX "$bin"
	cat >"$PL_DIR/imapexec.conf" <<-CONF
		services = (
		  { name = "blacklist";
		    description = "blacklist add ADDRESS... | remove ADDRESS... | list: file mail from these senders into Junk";
		    exec = [ "$bin/blacklist", "--list=blacklist", "--" ];
		    args = { min = 1; max = 64; }; stderr = "client"; timeout = 30; },
		  { name = "whitelist";
		    description = "whitelist add ADDRESS... | remove ADDRESS... | list: keep mail from these senders out of Junk";
		    exec = [ "$bin/blacklist", "--list=whitelist", "--" ];
		    args = { min = 1; max = 64; }; stderr = "client"; timeout = 30; },
		  { name = "calendar";
		    description = "calendar, then: list [schedule] [DAY [FROM [TO]]] | add DAY TIME [TIME] TEXT | delete ID | help | quit";
		    exec = [ "$bin/calendar" ]; interactive = true; args = { max = 0; };
		    env = [ "TZ=Europe/Berlin" ]; }
		);
	CONF
	chmod 644 "$PL_DIR/imapexec.conf"
	"$IMAPEXEC" -t -c "$PL_DIR/imapexec.conf" >&2
}

# tb_profile DIR: a profile with two IMAP accounts (post, direct) and the
# Marionette port $TB_MPORT.
tb_profile() {
	local d=$1 n port user
	mkdir -p "$d"
	{
		echo "user_pref(\"marionette.port\", $TB_MPORT);"
		echo 'user_pref("mail.accountmanager.accounts", "account1,account2");'
		echo 'user_pref("mail.accountmanager.defaultaccount", "account1");'
		for n in 1 2; do
			# two servers on one host need two logins: Thunderbird's
			# folder URIs have no port
			port=$PL_P_IMAP user=$DD_USER
			[ "$n" = 1 ] || port=$PL_D_IMAP user=$PL_USER2
			echo "user_pref(\"mail.account.account$n.server\", \"server$n\");"
			echo "user_pref(\"mail.account.account$n.identities\", \"id$n\");"
			echo "user_pref(\"mail.identity.id$n.useremail\", \"$DD_USER@example.org\");"
			echo "user_pref(\"mail.identity.id$n.fullName\", \"Test User $n\");"
			echo "user_pref(\"mail.server.server$n.type\", \"imap\");"
			echo "user_pref(\"mail.server.server$n.hostname\", \"127.0.0.1\");"
			echo "user_pref(\"mail.server.server$n.port\", $port);"
			echo "user_pref(\"mail.server.server$n.userName\", \"$user\");"
			echo "user_pref(\"mail.server.server$n.socketType\", 0);"
			echo "user_pref(\"mail.server.server$n.authMethod\", 3);"
			echo "user_pref(\"mail.server.server$n.check_new_mail\", false);"
			echo "user_pref(\"mail.server.server$n.login_at_startup\", false);"
		done
		# account3: TLS to the post daemon by the name localhost (another
		# host for Thunderbird's folder URIs), its CA not trusted at first
		echo 'user_pref("mail.accountmanager.accounts", "account1,account2,account3,account4");'
		echo 'user_pref("mail.account.account3.server", "server3");'
		echo 'user_pref("mail.account.account3.identities", "id1");'
		echo 'user_pref("mail.server.server3.type", "imap");'
		echo 'user_pref("mail.server.server3.hostname", "localhost");'
		echo "user_pref(\"mail.server.server3.port\", $PL_P_IMAPS);"
		echo "user_pref(\"mail.server.server3.userName\", \"$DD_USER\");"
		echo 'user_pref("mail.server.server3.socketType", 3);'
		echo 'user_pref("mail.server.server3.authMethod", 3);'
		echo 'user_pref("mail.server.server3.check_new_mail", false);'
		echo 'user_pref("mail.server.server3.login_at_startup", false);'
		echo 'user_pref("mail.server.server3.name", "Mail over TLS");'
		# account4: the second user over STARTTLS, same CA
		echo 'user_pref("mail.account.account4.server", "server4");'
		echo 'user_pref("mail.account.account4.identities", "id2");'
		echo 'user_pref("mail.server.server4.type", "imap");'
		echo 'user_pref("mail.server.server4.hostname", "localhost");'
		echo "user_pref(\"mail.server.server4.port\", $PL_P_IMAP);"
		echo "user_pref(\"mail.server.server4.userName\", \"$PL_USER2\");"
		echo 'user_pref("mail.server.server4.socketType", 2);'
		echo 'user_pref("mail.server.server4.authMethod", 3);'
		echo 'user_pref("mail.server.server4.check_new_mail", false);'
		echo 'user_pref("mail.server.server4.login_at_startup", false);'
		echo 'user_pref("mail.server.server4.name", "Mail over STARTTLS");'
		echo 'user_pref("mail.server.server1.name", "Mail with EXECUTE");'
		echo 'user_pref("mail.server.server2.name", "Mail without EXECUTE");'
		cat <<-'PREFS'
			user_pref("mail.shell.checkDefaultClient", false);
			user_pref("mail.provider.suppress_dialog_on_startup", true);
			user_pref("mail.spotlight.firstRunDone", true);
			user_pref("mail.winsearch.firstRunDone", true);
			user_pref("mailnews.start_page.enabled", false);
			user_pref("mail.rights.version", 1);
			user_pref("mail.uidensity", 1);
			user_pref("datareporting.policy.dataSubmissionEnabled", false);
			user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
			user_pref("app.update.disabledForTesting", true);
			user_pref("extensions.autoDisableScopes", 0);
			user_pref("signon.rememberSignons", true);
			user_pref("browser.tabs.remote.autostart", false);
			user_pref("devtools.console.stdout.chrome", true);
			user_pref("devtools.console.stdout.content", true);
		PREFS
	} >"$d/user.js"
}

setup_file() {
	pl_setup_file
	[ -n "${PL_P_PID:-}" ] && command -v "$THUNDERBIRD" >/dev/null || return 0
	pl_fresh
	tb_services_conf
	TB_DIR=$IMX_RUN/tb
	mkdir -p "$TB_DIR/home"
	chmod 755 "$TB_DIR"
	TB_USER=$(imx_account tb --home-dir "$TB_DIR/home") || return 1
	TB_MPORT=$(imx_free_port)
	tb_profile "$TB_DIR/profile"
	chown -R "$TB_USER:" "$TB_DIR/home" "$TB_DIR/profile"
	# make xpi into the run's directory (two suites run this file at once)
	make -C "$REPO" -s xpi XPI="$TB_DIR/addon.xpi" >&2
	chmod 644 "$TB_DIR/addon.xpi"
	# An Xvfb of the run's own (its display number from -displayfd), so
	# that screenshots show the menus; headless without Xvfb.
	local how=(--headless) disp= envs=(MOZ_HEADLESS=1)
	if command -v Xvfb >/dev/null && command -v xwd >/dev/null; then
		setsid runuser -u "$TB_USER" -- Xvfb -displayfd 1 -screen 0 1280x800x24 \
			-nolisten tcp >"$TB_DIR/display" 2>"$TB_DIR/xvfb.log" 3>&- &
		TB_XPID=$!
		export TB_XPID
		imx_wait_for test -s "$TB_DIR/display" || return 1
		disp=:$(head -1 "$TB_DIR/display")
		how=() envs=(DISPLAY="$disp")
	fi
	export TB_DISPLAY=$disp
	setsid runuser -u "$TB_USER" -- env -i PATH=/usr/bin:/bin \
		HOME="$TB_DIR/home" LANG=C.UTF-8 "${envs[@]}" \
		"$THUNDERBIRD" "${how[@]}" --marionette -remote-allow-system-access \
		--no-remote --profile "$TB_DIR/profile" \
		>"$TB_DIR/thunderbird.log" 2>&1 3>&- &
	TB_PID=$!
	export TB_DIR TB_USER TB_MPORT TB_PID
	imx_listens "$TB_PID" "$TB_MPORT" 90 || {
		tail -20 "$TB_DIR/thunderbird.log" >&2
		return 1
	}
	tb setup "$TB_DIR/addon.xpi" "account1=$PL_DIR/pass1" \
		"account2=$PL_DIR/pass2" "account3=$PL_DIR/pass1" \
		"account4=$PL_DIR/pass2"
}

teardown_file() {
	local p
	for p in "${TB_PID:-}" "${TB_XPID:-}"; do
		[ -n "$p" ] || continue
		# Thunderbird (or Xvfb) and its children: its own process group
		kill -TERM -- "-$p" 2>/dev/null || true
		imx_wait_for tb_gone "$p" || kill -KILL -- "-$p" 2>/dev/null || true
	done
	pl_teardown_file
}

# tb_gone PGID: no process of that group is left.
tb_gone() {
	! pgrep -g "$1" >/dev/null
}

# tb_no_imapexec: no imapexec runs as the post daemon's users.
tb_no_imapexec() {
	! pl_pgrep imapexec >/dev/null
}

# tb STEP ARGS...: tests/thunderbird/tbtest.py against this Thunderbird.
tb() {
	timeout 120 "$TB_PY" "$TBT/tbtest.py" "$TB_MPORT" "$@"
}

# tb_skip: skip unless Thunderbird runs.
tb_skip() {
	[ -n "${TB_PID:-}" ] || skip "needs root, dovecot and thunderbird"
}

# tb_list NAME: the user's list NAME on the post daemon (blacklist, ...).
tb_list() {
	cat "$PL_DIR/post/home/$DD_USER/.imapexec/$1" 2>/dev/null
}

# tb_listed NAME ADDRESS...: every ADDRESS is in list NAME.
tb_listed() {
	local l=$1 a
	shift
	for a in "$@"; do
		tb_list "$l" | grep -qxF "$a" || return 1
	done
}

@test "thunderbird: Block sender from the message list's context menu puts the sender in the blacklist on the server" {
	tb_skip
	run tb menu account1 alice@example.org --shot "$REPO/build/thunderbird-context-menu.png" --click block
	echo "$output" >&2
	[ "$status" -eq 0 ]
	# the entries were there and enabled
	[[ "$output" == *"$(printf 'block\tBlock sender\tTrue\tTrue')"* ]]
	[[ "$output" == *"$(printf 'allow\tAllow sender\tTrue\tTrue')"* ]]
	imx_wait_for tb_listed blacklist alice@example.org
	[ "$(tb_list blacklist)" = alice@example.org ]
}


@test "thunderbird: three messages selected, Block sender puts all three senders in the blacklist" {
	tb_skip
	run tb menu account1 bob@example.org big@example.org juergen@example.org --click block
	echo "$output" >&2
	[ "$status" -eq 0 ]
	imx_wait_for tb_listed blacklist bob@example.org big@example.org juergen@example.org
	[ "$(tb_list blacklist)" = "$(printf '%s\n' alice@example.org big@example.org bob@example.org juergen@example.org)" ]
}

@test "thunderbird: Allow sender from the message display action puts the sender in the whitelist" {
	tb_skip
	run tb display account1 trap@example.org --click display-allow --shot "$REPO/build/thunderbird-display-action.png"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"$(printf 'display-allow\tAllow sender\tTrue\tTrue')"* ]]
	imx_wait_for tb_listed whitelist trap@example.org
	[ "$(tb_list whitelist)" = trap@example.org ]
}

@test "thunderbird: an account whose server has no EXECUTE: the entries are hidden, nothing runs" {
	tb_skip
	run tb menu "account2" alice@example.org
	echo "$output" >&2
	[ "$status" -eq 0 ]
	# hidden: Thunderbird leaves hidden entries out of the menu
	[[ "$output" != *"$(printf 'Block sender\tTrue')"* ]]
	[[ "$output" != *"$(printf 'Allow sender\tTrue')"* ]]
	[ ! -e "$PL_DIR/direct/home/$PL_USER2/.imapexec" ]
}

@test "thunderbird: Server services… lists what discovery lists; the calendar runs interactively" {
	tb_skip
	run tb services account1 --shot "$REPO/build/thunderbird-services.png" \
		'add tomorrow 10:00 Standup with the team' 'list tomorrow'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	# the names listed equal a discovery by imapexec-run
	"$REPO/src/imapexec-run" -l -C "$DD_CA" -p "cat $PL_DIR/pass1" \
		"imaps://$DD_USER@127.0.0.1:$PL_P_IMAPS" >"$T/disc" 2>&1 || { cat "$T/disc" >&2; false; }
	[ "$(grep -P '^service\t' <<<"$output" | cut -f2)" = "$(cut -f1 "$T/disc")" ]
	# the session: the event added and listed, then DONE
	[[ "$output" == *"Standup with the team"* ]]
	grep -q 'Standup with the team' "$PL_DIR/post/home/$DD_USER/.imapexec/calendar.ics"
	grep -a 'output' <<<"$output" | grep -q 'exit 0'
}

@test "thunderbird: Server services… shows the blacklist; Add and Remove there change it on the server" {
	tb_skip
	run tb lists dave@example.org alice@example.org --shot "$REPO/build/thunderbird-lists.png"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"$(printf 'before\talice@example.org big@example.org bob@example.org juergen@example.org')"* ]]
	[ "$(tb_list blacklist)" = "$(printf '%s\n' big@example.org bob@example.org dave@example.org juergen@example.org)" ]
	[[ "$output" == *"$(printf 'after\tbig@example.org bob@example.org dave@example.org juergen@example.org')"* ]]
}

@test "thunderbird: the options page sets an account's block command; Block sender runs it" {
	tb_skip
	run tb options account1 'whitelist add' 'whitelist add'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	run tb menu account1 bob@example.org --click block
	echo "$output" >&2
	[ "$status" -eq 0 ]
	imx_wait_for tb_listed whitelist bob@example.org
	# back to the defaults
	run tb options account1 'blacklist add' 'whitelist add'
	[ "$status" -eq 0 ]
}

@test "thunderbird: TLS and STARTTLS with a certificate the profile does not trust are refused; once the test CA is trusted they work" {
	tb_skip
	local a
	for a in account3 account4; do
		run tb services-status $a
		echo "$output" >&2
		[ "$status" -eq 0 ]
		[[ "$output" == *"certificate is not trusted"* ]]
		[[ "$output" != *"$(printf 'service\t')"* ]]
	done
	# the profile trusts the test CA: the same account lists its services
	local ca
	ca=$(grep -v -- ----- "$DD_CA" | tr -d '\n')
	tb eval "Cc['@mozilla.org/security/x509certdb;1'].getService(Ci.nsIX509CertDB).addCertFromBase64('$ca', 'C,C,C'); resolve(true);"
	for a in account3 account4; do
		run tb services-status $a
		echo "$output" >&2
		[ "$status" -eq 0 ]
		[[ "$output" == *"$(printf 'service\tcalendar')"* ]]
	done
}

@test "thunderbird: a wrong password: Block sender says so, and nothing runs" {
	tb_skip
	tb eval 'MailServices.accounts.getAccount("account1").incomingServer.password = "wrong password"; resolve(true);'
	run tb menu account1 trap@example.org --click block
	echo "$output" >&2
	[ "$status" -eq 0 ]
	imx_wait_for grep -q 'imapexec: Mail with EXECUTE: The server did not accept the password' "$TB_DIR/thunderbird.log"
	! tb_listed blacklist trap@example.org
	tb eval "MailServices.accounts.getAccount('account1').incomingServer.password = $(cat "$PL_DIR/pass1" | "$PYTHON" -c 'import json,sys; print(json.dumps(sys.stdin.read().rstrip("\n")))'); resolve(true);"
}

@test "thunderbird: no imapexec of the add-on is left once Thunderbird's own connections are closed" {
	tb_skip
	tb eval 'for (const a of ["account1", "account2"]) MailServices.accounts.getAccount(a).incomingServer.closeCachedConnections(); resolve(true);'
	imx_wait_for tb_no_imapexec
}
