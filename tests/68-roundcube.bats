#!/usr/bin/env bats
# The Roundcube plugin (src/roundcube/imapexec, issue 24): Debian's
# Roundcube 1.6 served by `php -S`, Debian's Chromium driven by
# puppeteer-core as a person would use it, Dovecot with imapexec in
# post-login mode and two users (tests/postlogin.bash), the blacklist and
# whitelist services of scripts/services.  Screenshots: build/roundcube-*.png.

bats_require_minimum_version 1.5.0

load helper
load dovecotd
load postlogin
load roundcube
# hooks: setup: helper.bash's

setup_file() { rc_setup_file; }
teardown_file() { rc_teardown_file; }

SHOTS=$REPO/build

@test "roundcube plugin: php -l, phpcs, and the unit tests of the argument quoting" {
	command -v php >/dev/null || skip "no php"
	local f
	for f in "$REPO"/src/roundcube/imapexec/*.php \
		"$REPO"/src/roundcube/imapexec/markasjunk/*.php \
		"$REPO"/src/roundcube/imapexec/config.inc.php.dist \
		"$REPO"/src/roundcube/imapexec/localization/*.inc \
		"$REPO"/tests/roundcube/*.php; do
		php -l "$f" >/dev/null
	done
	if command -v phpcs >/dev/null; then
		(cd "$REPO/src/roundcube" && phpcs --standard=phpcs.xml imapexec)
	fi
	[ -f /usr/share/roundcube/program/lib/Roundcube/rcube_imap_generic.php ] ||
		skip "no roundcube-core"
	run php "$REPO/tests/roundcube/arg_test.php"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "ok: "* ]]
}

@test "roundcube plugin: every value reaches the service as one argument, exactly (real imapexec -P)" {
	rc_skip
	rc_fresh
	# the octets of each argument, as the service got them, in hex
	rc_exec 1 args '"a\"b"@x' 'a\\b' '{5}' '-x@y' '--list=whitelist' \
		'a\x0d\x0ab EXECUTE mark' '{5}\x0d\x0ahello' 'j\xc3\xbcrgen' '' \
		"$(printf '%01200d' 0)"
	[ "$status" -eq 0 ]
	local want
	want=$(for v in '"a\"b"@x' 'a\\b' '{5}' '-x@y' '--list=whitelist' \
		$'a\r\nb EXECUTE mark' $'{5}\r\nhello' $'j\xc3\xbcrgen' '' \
		"$(printf '%01200d' 0)"; do
		printf %s "$v" | od -An -tx1 -v | tr -d ' \n'
		echo
	done)
	[ "$(printf '%s' "$output" | php -r 'echo json_decode(stream_get_contents(STDIN))->out;')" = "$want" ]
	[[ $output == *'"code":0'* ]]
	[ ! -e "$PL_DIR/spool/ran" ]
	# NUL: refused before anything is sent
	rc_exec 1 args 'a\x00b'
	[[ $output == *'NUL'* ]]
}

@test "roundcube: Junk on a message from spam@example.net puts the sender in user 1's blacklist and the message in Junk" {
	rc_skip
	rc_fresh
	mkdir -p "$SHOTS"
	rc_browser junk "$DD_USER" "$PL_DIR/pass1" 'Cheap pills' "$SHOTS/roundcube-junk.png"
	[ "$status" -eq 0 ]
	[[ $output == *"message confirmation Successfully reported as junk"* ]]
	[[ $output != *"message warning"* ]]
	[ "$(rc_list 1 blacklist)" = spam@example.net ]
	[ -z "$(rc_list 1 whitelist)" ]
	[ -z "$(rc_list 2 blacklist)" ]
	rc_subjects 1 Junk | grep -qx 'Cheap pills'
	! rc_subjects 1 INBOX | grep -qx 'Cheap pills'
}

@test "roundcube: Not junk in the Junk folder whitelists the sender, takes it off the blacklist, moves the message to the Inbox" {
	rc_skip
	rc_fresh
	rc_exec 1 blacklist add friend@example.org other@example.org
	[ "$(rc_list 1 blacklist)" = "$(printf '%s\n' friend@example.org other@example.org)" ]
	rc_browser notjunk "$DD_USER" "$PL_DIR/pass1" Newsletter "$SHOTS/roundcube-notjunk.png"
	[ "$status" -eq 0 ]
	[[ $output == *"message confirmation Successfully reported as not junk"* ]]
	[[ $output != *"message warning"* ]]
	[ "$(rc_list 1 whitelist)" = friend@example.org ]
	[ "$(rc_list 1 blacklist)" = other@example.org ]
	rc_subjects 1 INBOX | grep -qx Newsletter
	! rc_subjects 1 Junk | grep -qx Newsletter
}

@test "roundcube: Settings, Blocked and allowed senders: the lists are the server's; add and remove, saved, reloaded" {
	rc_skip
	rc_fresh
	# o'neil&{co}: quote, ampersand and braces, as text and as the value
	# of its Remove switch (HTML-escaped, sent back exactly)
	rc_exec 1 blacklist add a@example.com b@example.com "o'neil&{co}@example.com"
	rc_exec 1 whitelist add w@example.org
	rc_browser lists "$DD_USER" "$PL_DIR/pass1" "$SHOTS/roundcube-settings.png" \
		add blocked new@example.net remove blocked a@example.com \
		remove blocked "o'neil&{co}@example.com" add allowed @friends.example
	[ "$status" -eq 0 ]
	# before: what the server had
	[ "$(sed -n 's/^blocked //p' <<<"$output")" = "$(printf '%s\n' a@example.com b@example.com "o'neil&{co}@example.com")" ]
	[ "$(sed -n 's/^allowed //p' <<<"$output")" = w@example.org ]
	[[ $output == *"message confirmation Successfully saved"* ]]
	# after Save and a reload: what the server has now
	[ "$(rc_list 1 blacklist)" = "$(printf '%s\n' b@example.com new@example.net)" ]
	[ "$(rc_list 1 whitelist)" = "$(printf '%s\n' @friends.example w@example.org)" ]
	[ "$(sed -n 's/^after blocked //p' <<<"$output")" = "$(rc_list 1 blacklist)" ]
	[ "$(sed -n 's/^after allowed //p' <<<"$output")" = "$(rc_list 1 whitelist)" ]
	# an address the service refuses: Roundcube's error message, the
	# server's text, nothing changed
	rc_browser lists "$DD_USER" "$PL_DIR/pass1" "$SHOTS/roundcube-settings-refused.png" \
		add blocked 'no-at-sign'
	[ "$status" -eq 0 ]
	[[ $output == *'message error Could not save "blacklist add no-at-sign": error: invalid address'* ]]
	[ "$(rc_list 1 blacklist)" = "$(printf '%s\n' b@example.com new@example.net)" ]
}

@test "roundcube: Settings' save needs Roundcube's request token (CSRF): a forged POST or a GET changes nothing" {
	rc_skip
	rc_fresh
	rc_browser csrf "$DD_USER" "$PL_DIR/pass1" forged@example.com get@example.com real@example.com
	[ "$status" -eq 0 ]
	[[ $output == *"csrf post-with-token 200"* ]]
	# only the request with the token did anything
	[ "$(rc_list 1 blacklist)" = real@example.com ]
}

@test "roundcube plugin: a service that never answers: the plugin gives up after its timeout with a clear text; the service is ended" {
	rc_skip
	rc_fresh
	RC_TIMEOUT=3 rc_exec 1 stall
	[ "$status" -eq 0 ]
	[[ $output == *'"code":'* ]]
	[[ $output != *'"code":0'* ]]
	[[ $output == *'"text":"no answer from the mail server (timeout or connection closed)"'* ]]
	# the client is gone: imapexec ends the service
	imx_wait_for rc_no_stall
}

@test "roundcube: the plugin logs in as Roundcube does: a password from the storage_connect hook (single sign-on) works" {
	rc_skip
	rc_fresh
	# user 2 types a ticket; the test plugin imapexec_sso gives the password
	echo sso-ticket >"$PL_DIR/sso-ticket"
	rc_browser sections "$PL_USER2" "$PL_DIR/sso-ticket" "$SHOTS/roundcube-settings-sso.png"
	[ "$status" -eq 0 ]
	[[ $output == *"section imapexec"* ]]
	! rc_errors | grep 'imapexec: login failed'
}

@test "roundcube: user 2 sees only their own lists" {
	rc_skip
	rc_fresh
	rc_exec 1 blacklist add one@example.com
	rc_exec 2 blacklist add two@example.com
	rc_exec 2 whitelist add friend-of-two@example.com
	rc_browser lists "$PL_USER2" "$PL_DIR/pass2" "$SHOTS/roundcube-settings-user2.png"
	[ "$status" -eq 0 ]
	[ "$(sed -n 's/^blocked //p' <<<"$output")" = two@example.com ]
	[ "$(sed -n 's/^allowed //p' <<<"$output")" = friend-of-two@example.com ]
	[[ $output != *one@example.com* ]]
	# and Junk as user 2 changes user 2's list only
	rc_browser junk "$PL_USER2" "$PL_DIR/pass2" 'For two' "$SHOTS/roundcube-junk-user2.png"
	[ "$status" -eq 0 ]
	[ "$(rc_list 2 blacklist)" = "$(printf '%s\n' other-spam@example.com two@example.com)" ]
	[ "$(rc_list 1 blacklist)" = one@example.com ]
}

@test "roundcube: hostile From addresses are one argument or a clear refusal; the messages are moved all the same" {
	rc_skip
	rc_fresh
	# "a\"b"@x: one argument, refused by the service with its text
	rc_browser junk "$DD_USER" "$PL_DIR/pass1" Quote "$SHOTS/roundcube-hostile-quote.png"
	[ "$status" -eq 0 ]
	[[ $output == *'message warning Could not update your sender lists for "a\"b"@x (blacklist add): error: invalid address'* ]]
	[[ $output == *"message confirmation Successfully reported as junk"* ]]
	# -x@y: refused by imapexec (no argument may start with "-"), never an option
	rc_browser junk "$DD_USER" "$PL_DIR/pass1" Dash "$SHOTS/roundcube-hostile-dash.png"
	[ "$status" -eq 0 ]
	[[ $output == *'message warning Could not update your sender lists for -x@y (blacklist add): '* ]]
	# CR LF in an encoded word: Roundcube does not decode encoded words in
	# an address, so the sender is the header's text, one argument, which
	# the service refuses (no second command: the service "mark" never ran)
	rc_browser junk "$DD_USER" "$PL_DIR/pass1" CRLF "$SHOTS/roundcube-hostile-crlf.png"
	[ "$status" -eq 0 ]
	[[ $output == *'message warning Could not update your sender lists for =?utf-8?Q?evil=0D=0AX_EXECUTE_mark_-v@example.net?= (blacklist add): error: invalid address'* ]]
	# CR LF in a B encoded word: Roundcube decodes it, so the sender holds
	# CR LF: sent as one literal, refused; shown on one line
	rc_browser junk "$DD_USER" "$PL_DIR/pass1" Encoded "$SHOTS/roundcube-hostile-encoded.png"
	[ "$status" -eq 0 ]
	[[ $output == *'message warning Could not update your sender lists for evil@example.net??X EXECUTE mark -v (blacklist add): '* ]]
	# HTML in the address: shown as text in the warning, never markup
	rc_browser junk "$DD_USER" "$PL_DIR/pass1" Html "$SHOTS/roundcube-hostile-html.png"
	[ "$status" -eq 0 ]
	[[ $output == *'message warning Could not update your sender lists for "<img src=x onerror=alert(1)>"@x.example (blacklist add): '* ]]
	[[ $output != *dialog* ]]
	[[ $output != *injected* ]]
	[ -z "$(rc_list 1 blacklist)" ]
	[ ! -e "$PL_DIR/spool/ran" ]
	[ -z "$(rc_list 1 whitelist)" ]
	local s
	for s in Quote Dash CRLF Encoded Html; do
		rc_subjects 1 Junk | grep -qx "$s"
	done
	pl_log_clean
}

@test "roundcube: without the services for the user (discovery), the section is not shown" {
	rc_skip
	rc_fresh
	rc_browser sections "$DD_USER" "$PL_DIR/pass1" "$SHOTS/roundcube-settings-without.png"
	[ "$status" -eq 0 ]
	[[ $output == *"section imapexec"* ]]
	rc_services_conf "$PL_DIR/imapexec.conf"
	rc_browser sections "$DD_USER" "$PL_DIR/pass1" "$SHOTS/roundcube-settings-without.png"
	[ "$status" -eq 0 ]
	[[ $output == *"section general"* ]]
	[[ $output != *"section imapexec"* ]]
	rc_services_conf "$PL_DIR/imapexec.conf" full
}
