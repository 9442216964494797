#!/usr/bin/env bats
# The services of scripts/services (blacklist, whitelist, calendar, smtp,
# voicemail), configured as in conf/imapexec.conf and driven through
# imapexec with the real Dovecot backend; their effects are checked outside
# the session (Maildir after dovecot-lda with Sieve, the .ics file, the
# SMTP server's maildir, the audio bytes).  Helpers: tests/services.bash.

load helper
load services
# hooks of the libraries loaded above: setup_file and setup:
# services.bash's; teardown_file: helper.bash's

teardown() {
	svc_smtpd_stop
	svc_postfix_stop
}

# sha256 of a file
sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- discovery ----------------------------------------------------------

@test "discovery lists the five services with their usage lines" {
	svc_run <<-'EOF2'
		> a EXECUTE
		wait a OK
	EOF2
	svc_list a >"$T/list"
	grep -qF '* EXECUTE SERVICE blacklist () "blacklist add ADDRESS... | remove ADDRESS... | list: ' "$T/filtered.out"
	grep -qF '* EXECUTE SERVICE whitelist () "whitelist add ADDRESS... | remove ADDRESS... | list: ' "$T/filtered.out"
	grep -qF '* EXECUTE SERVICE calendar (INTERACTIVE) "calendar, then: list [schedule] [DAY [FROM [TO]]] | add DAY TIME [TIME] TEXT | delete ID | help | quit"' "$T/filtered.out"
	grep -qF '* EXECUTE SERVICE voicemail () "voicemail list | fetch ID | delete ID: ' "$T/filtered.out"
	grep -qF '* EXECUTE SERVICE smtp (INTERACTIVE CRLF) "smtp, then an SMTP session ' "$T/filtered.out"
	[ "$(grep -c '^\* EXECUTE SERVICE ' "$T/filtered.out")" -eq 5 ]
	imx_assert_no_leftovers
}

# --- blacklist / whitelist ----------------------------------------------

@test "blacklist: seed add joe@smith.com; dovecot-lda files joe into Junk, others reach INBOX" {
	svc_run <<-'EOF2'
		> 100 execute blacklist add joe@smith.com
		wait 100 OK
		> 101 EXECUTE blacklist list
		wait 101 OK
		> 102 LOGOUT
		wait 102 OK
	EOF2
	svc_expect 100 <<-'EOF2'
		* EXECUTE (TAG "100") EXIT 0
		100 OK blacklist completed
	EOF2
	svc_expect 101 <<-'EOF2'
		* EXECUTE (TAG "101") OUT "joe@smith.com"
		* EXECUTE (TAG "101") EXIT 0
		101 OK blacklist completed
	EOF2
	[ "$(cat "$H/.imapexec/blacklist")" = joe@smith.com ]
	grep -qF '"joe@smith.com"' "$H/.imapexec/lists.sieve"
	before=$(svc_subjects INBOX | wc -l)
	svc_deliver joe@smith.com "from joe"
	svc_deliver alice@example.org "from alice"
	svc_deliver JOE@Smith.COM "from joe, shouting"
	[ "$(svc_subjects Junk)" = "$(printf 'from joe\nfrom joe, shouting')" ]
	svc_subjects INBOX | grep -qx "from alice"
	! svc_subjects INBOX | grep -q "from joe" || false
	[ "$(svc_subjects INBOX | wc -l)" -eq $((before + 1)) ]
	imx_assert_log_clean "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "whitelist: kept out of Junk (spam flag, blacklisted domain); remove undoes it" {
	svc_run <<-'EOF2'
		> 1 EXECUTE whitelist add friend@example.org
		> 2 EXECUTE blacklist add @example.org other@spam.test
		wait 1 OK
		wait 2 OK
	EOF2
	[ "$(cat "$H/.imapexec/whitelist")" = friend@example.org ]
	[ "$(cat "$H/.imapexec/blacklist")" = "$(printf '@example.org\nother@spam.test')" ]
	svc_deliver friend@example.org "friend, flagged" "X-Spam-Flag: YES"
	svc_deliver foe@example.org "foe from the domain"
	svc_deliver stranger@else.test "stranger, flagged" "X-Spam-Flag: YES"
	svc_deliver nice@else.test "stranger, clean"
	svc_subjects INBOX | grep -qx "friend, flagged"
	svc_subjects INBOX | grep -qx "stranger, clean"
	[ "$(svc_subjects Junk)" = "$(printf 'foe from the domain\nstranger, flagged')" ]

	svc_run <<-'EOF2'
		> 3 EXECUTE whitelist remove friend@example.org
		wait 3 OK
		> 4 EXECUTE whitelist list
		wait 4 OK
	EOF2
	svc_expect 4 <<-'EOF2'
		* EXECUTE (TAG "4") EXIT 0
		4 OK whitelist completed
	EOF2
	[ ! -s "$H/.imapexec/whitelist" ]
	svc_deliver friend@example.org "friend again"
	svc_subjects Junk | grep -qx "friend again"
	imx_assert_no_leftovers
}

@test "blacklist: malformed addresses give an error line, exit 2, nothing changes" {
	svc_run <<-'EOF2'
		> 1 EXECUTE blacklist add keep@example.org
		wait 1 OK
	EOF2
	sums=$(sha256sum "$H/.imapexec/blacklist" "$H/.imapexec/lists.sieve")
	svc_run <<-'EOF2'
		> 2 EXECUTE blacklist add new@example.org joe@@smith.com
		wait 2 NO
		> 3 EXECUTE blacklist add "joe@smith..com"
		wait 3 NO
		> 4 EXECUTE blacklist add "\"x\"@smith.com"
		wait 4 NO
		> 5 EXECUTE blacklist add "joe smith@example.org"
		wait 5 NO
		> 6 EXECUTE blacklist frobnicate
		wait 6 NO
		> 7 EXECUTE blacklist add
		wait 7 NO
		> 8 EXECUTE blacklist remove "a@b;c"
		wait 8 NO
	EOF2
	svc_expect 2 <<-'EOF2'
		* EXECUTE (TAG "2") ERR "error: invalid address \"joe@@smith.com\": want local@domain or @domain; nothing changed"
		* EXECUTE (TAG "2") EXIT 2
		2 NO [EXITCODE 2] blacklist exited with status 2
	EOF2
	svc_expect 3 <<-'EOF2'
		* EXECUTE (TAG "3") ERR "error: invalid address \"joe@smith..com\": bad domain; nothing changed"
		* EXECUTE (TAG "3") EXIT 2
		3 NO [EXITCODE 2] blacklist exited with status 2
	EOF2
	svc_list 4 | grep -qF 'ERR "error: invalid address \"?x?@smith.com\": bad local part; nothing changed"'
	# a blank is refused by the configured pattern before anything runs
	svc_list 5 | grep -qx '5 NO \[CANNOT\].*'
	svc_list 6 | grep -qF 'ERR "usage: blacklist add ADDRESS... | remove ADDRESS... | list"'
	svc_list 7 | grep -qF 'ERR "error: add needs at least one address"'
	svc_list 8 | grep -qF 'ERR "error: invalid address \"a@b;c\": bad domain; nothing changed"'
	[ "$(sha256sum "$H/.imapexec/blacklist" "$H/.imapexec/lists.sieve")" = "$sums" ]
	[ "$(ls -A "$H/.imapexec")" = "$(printf 'blacklist\nlists.lock\nlists.sieve')" ]
	imx_assert_no_leftovers
}

@test "blacklist: concurrent writers leave a well-formed file with every address" {
	# 12 sessions through imapexec at once, 4 addresses each, and 24 direct
	# runs of the program, all adding to the same list
	local i j
	# the writers take turns under one lock, each compiling the Sieve
	# script: on a machine as busy as a full parallel suite the last one
	# waits longer than the shipped 30 s the program may run
	sed -i '/name = "blacklist"/,/timeout = 30;/ s/timeout = 30;/timeout = 240;/' \
		"$T/imapexec.conf"
	grep -q 'timeout = 240;' "$T/imapexec.conf"
	"$IMAPEXEC" -t -c "$T/imapexec.conf" >/dev/null
	for i in $(seq 12); do
		{
			printf '> a EXECUTE blacklist add'
			for j in 1 2 3 4; do printf ' s%d.%d@example.org' "$i" "$j"; done
			printf '\nwait a OK\n'
		} >"$T/c$i.txt"
		imx_command filtered "$H" "$T/dovecot.conf"
		# (and far longer than the driver's usual 10 s)
		"$PYTHON" "$DRIVER" --timeout 240 --out "$T/c$i.out" \
			--log "$T/c$i.log" "$T/c$i.txt" -- "${IMX_CMD[@]}" \
			2>"$T/c$i.err" &
	done
	for i in $(seq 24); do
		svc_as "$SVC_BIN/blacklist" add "d$i@example.org" "@d$i.example.net" &
	done
	local rc=0
	wait || rc=$?
	for i in $(seq 12); do
		grep -q '^a OK blacklist completed' "$T/c$i.out" ||
			{ cat "$T/c$i.err" "$T/c$i.log" >&2; rc=1; }
	done
	[ "$rc" -eq 0 ]
	{
		for i in $(seq 12); do for j in 1 2 3 4; do echo "s$i.$j@example.org"; done; done
		for i in $(seq 24); do echo "d$i@example.org"; echo "@d$i.example.net"; done
	} | LC_ALL=C sort >"$T/want"
	LC_ALL=C sort -c -u "$H/.imapexec/blacklist"
	diff -u "$T/want" "$H/.imapexec/blacklist"
	[ "$(wc -l <"$H/.imapexec/blacklist")" -eq 96 ]
	# no temporary file left, and the Sieve script has every address
	[ "$(ls -A "$H/.imapexec")" = "$(printf 'blacklist\nlists.lock\nlists.sieve')" ]
	for a in s12.4@example.org d24@example.org '"d24.example.net"'; do
		grep -qF "$a" "$H/.imapexec/lists.sieve"
	done
	svc_as sievec "$H/.imapexec/lists.sieve" "$T/lists.svbin"
	svc_deliver s7.3@example.org "concurrent check"
	svc_subjects Junk | grep -qx "concurrent check"
	imx_assert_no_leftovers
}

@test "lists: a client's --list=whitelist is an argument, never an option" {
	svc_as "$SVC_BIN/whitelist" add keep@example.org
	sums=$(sha256sum "$H/.imapexec/whitelist" "$H/.imapexec/lists.sieve")
	# as imapexec.conf runs it: fixed options, "--", the client's words
	run svc_as "$SVC_BIN/blacklist" --list=blacklist -- --list=whitelist add x@y.example
	[ "$status" -eq 2 ]
	[ "$output" = "usage: blacklist add ADDRESS... | remove ADDRESS... | list" ]
	run svc_as "$SVC_BIN/blacklist" --list=blacklist -- --list=whitelist remove keep@example.org
	[ "$status" -eq 2 ]
	run svc_as "$SVC_BIN/blacklist" --list=blacklist -- add --list=whitelist
	[ "$status" -eq 2 ]
	[ "$(sha256sum "$H/.imapexec/whitelist" "$H/.imapexec/lists.sieve")" = "$sums" ]
	[ ! -e "$H/.imapexec/blacklist" ]
	# and through imapexec with the shipped configuration
	svc_run <<-'EOF2'
		> 1 EXECUTE blacklist --list=whitelist add x@y.example
		wait 1 NO
		> 2 EXECUTE whitelist --list=blacklist list
		wait 2 NO
		> 3 EXECUTE whitelist list
		wait 3 OK
	EOF2
	svc_expect 3 <<-'EOF2'
		* EXECUTE (TAG "3") OUT "keep@example.org"
		* EXECUTE (TAG "3") EXIT 0
		3 OK whitelist completed
	EOF2
	[ "$(sha256sum "$H/.imapexec/whitelist" "$H/.imapexec/lists.sieve")" = "$sums" ]
	[ ! -e "$H/.imapexec/blacklist" ]
	imx_assert_no_leftovers
}

# svc_long_addresses N: N distinct valid addresses of 254 octets (the most)
svc_long_addresses() {
	"$PYTHON" -c 'import sys
for i in range(int(sys.argv[1])):
    local = ("u%05d" % i) + "x" * 57
    dom = ".".join(["d" * 60] * 3) + ".example"
    print(local + "@" + dom)' "$1"
}

@test "lists: a change that would make lists.sieve too large is refused; the old script stays live (dovecot-lda)" {
	svc_run <<-'EOF2'
		> 1 EXECUTE blacklist add joe@smith.com
		wait 1 OK
		> 2 EXECUTE whitelist add friend@example.org
		wait 2 OK
	EOF2
	# the list grew (by hand, or by many changes) past what fits
	svc_long_addresses 4500 >>"$H/.imapexec/blacklist"
	imx_own "$H/.imapexec"
	sums=$(sha256sum "$H"/.imapexec/*)
	svc_run <<-'EOF2'
		> 3 EXECUTE blacklist add more@spam.example
		wait 3 NO
		> 4 EXECUTE whitelist add other@example.org
		wait 4 NO
	EOF2
	svc_list 3 | grep -q '^\* EXECUTE (TAG "3") ERR "error: the lists would make lists.sieve too large ([0-9]* octets, at most 1048576); remove some addresses or use @domain entries; nothing changed"$'
	svc_list 3 | grep -qx '3 NO \[EXITCODE 1\] blacklist exited with status 1'
	svc_list 4 | grep -qx '4 NO \[EXITCODE 1\] whitelist exited with status 1'
	[ "$(sha256sum "$H"/.imapexec/*)" = "$sums" ]
	[ "$(ls -A "$H/.imapexec")" = "$(printf 'blacklist\nlists.lock\nlists.sieve\nwhitelist')" ]
	# filtering still works with the script in use
	svc_deliver joe@smith.com "from joe" "X-Spam-Flag: YES"
	svc_deliver stranger@else.test "flagged" "X-Spam-Flag: YES"
	svc_deliver friend@example.org "friend, flagged" "X-Spam-Flag: YES"
	[ "$(svc_subjects Junk)" = "$(printf 'flagged\nfrom joe')" ]
	svc_subjects INBOX | grep -qx "friend, flagged"
	# removing addresses is allowed again once it fits
	svc_long_addresses 4500 >"$T/many"
	grep -vxF -f "$T/many" "$H/.imapexec/blacklist" >"$T/few"
	cp "$T/few" "$H/.imapexec/blacklist"
	svc_as "$SVC_BIN/blacklist" add more@spam.example
	grep -qF '"more@spam.example"' "$H/.imapexec/lists.sieve"
	imx_assert_no_leftovers
}

@test "lists: a script sievec does not compile is refused, nothing changes" {
	svc_as "$SVC_BIN/blacklist" add joe@smith.com
	sums=$(sha256sum "$H"/.imapexec/*)
	mkdir -p "$T/fakebin"
	printf '#!/bin/sh\necho "lists.sieve: line 1: error: fake compile failure"\nexit 1\n' >"$T/fakebin/sievec"
	chmod 755 "$T/fakebin" "$T/fakebin/sievec"
	run svc_as env PATH="$T/fakebin:$IMX_PATH" "$SVC_BIN/blacklist" add new@example.org
	[ "$status" -eq 1 ]
	[ "$output" = "error: the new lists.sieve does not compile (lists.sieve: line 1: error: fake compile failure); nothing changed" ]
	[ "$(sha256sum "$H"/.imapexec/*)" = "$sums" ]
	[ "$(ls -A "$H/.imapexec")" = "$(printf 'blacklist\nlists.lock\nlists.sieve')" ]
}

@test "lists: a read-only ~/.imapexec gives one error line, exit 1" {
	svc_as "$SVC_BIN/blacklist" add joe@smith.com
	chmod 500 "$H/.imapexec"
	run svc_as "$SVC_BIN/blacklist" add new@example.org
	chmod 700 "$H/.imapexec"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "error: Permission denied: $H/.imapexec/"* ]] ||
		[[ "$output" == "error: Read-only file system"* ]]
	[ "$(cat "$H/.imapexec/blacklist")" = joe@smith.com ]
	# unreadable: the same
	chmod 000 "$H/.imapexec"
	run svc_as "$SVC_BIN/blacklist" list
	chmod 700 "$H/.imapexec"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "error: Permission denied: "* ]]
}

@test "imapexec.conf(5): the example blacklist works as shipped (list, add, remove, @domain, several, bad ones)" {
	awk '/^\.Sh EXAMPLES/ { f = 1; next }
		f && /^\.Bd -literal/ { g = 1; next }
		g && /^\.Ed/ { exit }
		g' "$REPO/src/imapexec.conf.5" >"$T/example.conf"
	grep -q 'name = "blacklist"' "$T/example.conf"
	run "$IMAPEXEC" -t -c "$T/example.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	# run it: our programs, HOME=$H, no account switch
	"$PYTHON" - "$T/example.conf" "$T/imapexec.conf" "$SVC_BIN" "$H" <<-'EOF2'
		import re, sys
		src, dst, bindir, home = sys.argv[1:]
		text = open(src).read()
		text = text.replace("/usr/local/libexec/imapexec", bindir)
		text = re.sub(r'\nuser = "vmail";', "", text)
		text = re.sub(r'\n\s*groups = \[ "staff" \];', "", text)
		text = re.sub(r'(\n(\s*)name = "[^"]+";)',
		              r'\1\n\2env = [ "HOME=%s" ];' % home, text)
		open(dst, "w").write(text)
	EOF2
	"$IMAPEXEC" -t -c "$T/imapexec.conf"
	svc_run <<-'EOF2'
		> 1 EXECUTE blacklist add joe@smith.com @spam.example x@y.example
		wait 1 OK
		> 2 EXECUTE blacklist remove x@y.example
		wait 2 OK
		> 3 EXECUTE blacklist del @nowhere.example
		wait 3 OK
		> 4 EXECUTE blacklist list
		wait 4 OK
		> 5 EXECUTE blacklist add bad@@address
		wait 5 NO
		> 6 EXECUTE blacklist --list=whitelist add y@z.example
		wait 6 NO
	EOF2
	svc_expect 4 <<-'EOF2'
		* EXECUTE (TAG "4") OUT "@spam.example"
		* EXECUTE (TAG "4") OUT "joe@smith.com"
		* EXECUTE (TAG "4") EXIT 0
		4 OK blacklist completed
	EOF2
	svc_list 5 | grep -qF 'ERR "error: invalid address \"bad@@address\": want local@domain or @domain; nothing changed"'
	svc_list 6 | grep -qx '6 NO \[CANNOT\].*'
	[ ! -e "$H/.imapexec/whitelist" ]
	svc_deliver someone@spam.example "from the domain"
	svc_subjects Junk | grep -qx "from the domain"
	imx_assert_no_leftovers
}

# --- calendar -----------------------------------------------------------

@test "calendar: seed conversation: list schedule today 8:00 10:00" {
	svc_run <<-'EOF2'
		> 100 EXECUTE calendar
		wait +
		match \* EXECUTE \(TAG "100"\) OUT \{10\}
		> add today 8:00 make coffee
		> add today 9:00 9:15 standup
		> add today 12:00 lunch
		> add tomorrow 8:30 dentist
		> list schedule today 8:00 10:00
		match \* EXECUTE \(TAG "100"\) OUT "9:00 standup
		> quit
		match \* EXECUTE \(TAG "100"\) EXIT 0
		> DONE
		wait 100 OK
	EOF2
	svc_out 100 >"$T/conv"
	grep -q '^calendar> 8:00 make coffee \[[0-9a-f]\{8\}\]$' "$T/conv"
	grep -q '^9:00 standup \[[0-9a-f]\{8\}\]$' "$T/conv"
	! grep -q 'lunch \[\|dentist \[' "$T/conv" || false
	[ "$(grep -c '^calendar> added [0-9a-f]\{8\}$' "$T/conv")" -eq 4 ]
	svc_list 100 | head -1 | grep -qx '\* EXECUTE (TAG "100") OUT {10}'
	svc_list 100 | tail -1 | grep -qx '100 OK calendar completed'
	# the file has four events; today's list in another session agrees
	[ "$(grep -c '^BEGIN:VEVENT' "$H/.imapexec/calendar.ics")" -eq 4 ]
	svc_run <<-'EOF2'
		> 101 EXECUTE calendar
		wait +
		> list
		> list schedule tomorrow
		> quit
		match \* EXECUTE \(TAG "101"\) EXIT 0
		> DONE
		wait 101 OK
	EOF2
	svc_out 101 | grep -q '^calendar> 8:00 make coffee \['
	svc_out 101 | grep -q '^12:00 lunch \['
	svc_out 101 | grep -q '^calendar> 8:30 dentist \['
	imx_assert_no_leftovers
}

@test "calendar: the .ics file is RFC 5545 (independent check), delete by ID" {
	svc_run <<-'EOF2'
		> 1 EXECUTE calendar
		wait +
		> add 2026-12-01 8:00 8:45 make coffee
		> add 2026-07-01 9:00 standup, daily; with \\ a backslash
		> add 2026-12-24 18:00 23:30 a very long evening with the whole family and the neighbours, Grüße an alle
		> quit
		match \* EXECUTE \(TAG "1"\) EXIT 0
		> DONE
		wait 1 OK
	EOF2
	"$PYTHON" - "$H/.imapexec/calendar.ics" <<-'EOF2'
		import re, sys
		raw = open(sys.argv[1], "rb").read()
		assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b""), "CRLF"
		phys = raw.split(b"\r\n")[:-1]
		assert all(len(l) <= 75 for l in phys), "folding"
		assert any(l.startswith(b" ") for l in phys), "a folded line"
		lines = []
		for l in raw.decode("utf-8").split("\r\n")[:-1]:
		    if l.startswith((" ", "\t")):
		        lines[-1] += l[1:]
		    else:
		        lines.append(l)
		assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
		assert "VERSION:2.0" in lines and any(l.startswith("PRODID:") for l in lines)
		events, ev = [], None
		for l in lines:
		    if l == "BEGIN:VEVENT":
		        ev = {}
		    elif l == "END:VEVENT":
		        events.append(ev); ev = None
		    elif ev is not None:
		        k, v = l.split(":", 1)
		        ev[k] = v
		assert len(events) == 3, events
		for e in events:
		    for k in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
		        assert k in e, (k, e)
		    assert re.fullmatch(r"\d{8}T\d{6}Z", e["DTSTAMP"])
		by = {e["DTSTART"]: e for e in events}
		# Europe/Berlin: UTC+1 in winter, UTC+2 in summer
		assert by["20261201T070000Z"]["DTEND"] == "20261201T074500Z"
		assert by["20261201T070000Z"]["SUMMARY"] == "make coffee"
		assert by["20260701T070000Z"]["DTEND"] == "20260701T073000Z"
		assert by["20260701T070000Z"]["SUMMARY"] == r"standup\, daily\; with \\ a backslash"
		x = by["20261224T170000Z"]
		assert x["DTEND"] == "20261224T223000Z"
		assert x["SUMMARY"] == "a very long evening with the whole family and the neighbours\\, Grüße an alle"
		assert len({e["UID"] for e in events}) == 3
	EOF2
	id=$(svc_out 1 | sed -n 's/^calendar> added \([0-9a-f]*\)$/\1/p' | head -1)
	[ "${#id}" -ge 8 ]
	cat >"$T/del.txt" <<-EOF2
		> 2 EXECUTE calendar
		wait +
		> delete $id
		> delete $id
		> list 2026-12-01
		> list 2026-07-01 8:00 9:30
		> quit
		match \* EXECUTE \(TAG "2"\) EXIT 0
		> DONE
		wait 2 OK
	EOF2
	svc_run <"$T/del.txt"
	svc_out 2 >"$T/conv"
	grep -qx "calendar> deleted $id" "$T/conv"
	grep -qx "calendar> error: no event \"$id\"" "$T/conv"
	grep -qx 'calendar> no events' "$T/conv"
	grep -q '^calendar> 9:00 standup, daily; with \\ a backslash \[' "$T/conv"
	[ "$(grep -c '^BEGIN:VEVENT' "$H/.imapexec/calendar.ics")" -eq 2 ]
	! grep -q "^SUMMARY:make coffee" "$H/.imapexec/calendar.ics" || false
	imx_assert_no_leftovers
}

@test "calendar: unknown command and bad input give error lines, the file is untouched" {
	svc_run <<-'EOF2'
		> 1 EXECUTE calendar
		wait +
		> add 2026-12-01 8:00 make coffee
		> quit
		match \* EXECUTE \(TAG "1"\) EXIT 0
		> DONE
		wait 1 OK
	EOF2
	sum=$(sha "$H/.imapexec/calendar.ics")
	svc_run <<-'EOF2'
		> 2 EXECUTE calendar
		wait +
		> foo bar
		> add today 25:00 breakfast
		> add 2026-02-30 8:00 nothing
		> add today 9:00 8:00 backwards
		> add today 9:00
		> delete
		> delete abc
		> list schedule someday
		> list today 10:00 9:00
		> help
		> quit
		match \* EXECUTE \(TAG "2"\) EXIT 0
		> DONE
		wait 2 OK
	EOF2
	svc_out 2 >"$T/conv"
	cat >"$T/want" <<-'EOF2'
		calendar> error: unknown command "foo" (try help)
		calendar> error: bad time "25:00" (want H:MM)
		calendar> error: bad day "2026-02-30" (want today, tomorrow or YYYY-MM-DD)
		calendar> error: the end must be after the start
		calendar> error: usage: add DAY TIME [TIME] TEXT
		calendar> error: usage: delete ID
		calendar> error: ID "abc" is too short
		calendar> error: bad day "someday" (want today, tomorrow or YYYY-MM-DD)
		calendar> error: the end of the range must be after its start
		calendar> commands:
		  list [schedule] [DAY [FROM [TO]]]   events of DAY overlapping FROM..TO
		  add DAY TIME [TIME] TEXT            new event (30 minutes by default)
		  delete ID                           remove an event
		  help                                this text
		  quit                                leave
		DAY is today, tomorrow or YYYY-MM-DD; TIME is H:MM (24 h)
		calendar> 
	EOF2
	printf '%s' "$(cat "$T/want")" | diff -u - "$T/conv"
	[ "$(sha "$H/.imapexec/calendar.ics")" = "$sum" ]
	imx_assert_no_leftovers
}

@test "calendar: Thunderbird file: RRULE, EXDATE (UTC), moved occurrence, all-day, DST both ways" {
	svc_cal_fixture thunderbird
	svc_cal_days 2026-03-03 2026-03-17 2026-03-24 2026-03-31 2026-07-14 \
		2026-07-15 2026-07-16 2026-10-21 2026-10-25 2026-10-26 \
		2026-10-28 2026-10-29 2026-11-03 >"$T/got"
	cat >"$T/want" <<-'EOF2'
		2026-03-03 9:00 standup
		2026-03-24 11:00 standup (moved)
		2026-03-31 9:00 standup
		2026-07-14 9:00 standup
		2026-07-15 all day summer party
		2026-10-25 7:00 early call
		2026-10-26 7:00 early call
		2026-10-28 7:00 early call
		2026-11-03 9:00 standup
	EOF2
	diff -u "$T/want" "$T/got"
	! grep -q Traceback "$T/cal-days.raw" || false
	svc_cal_crosscheck $(svc_days 2026-03-01 2026-04-15) \
		$(svc_days 2026-07-10 2026-07-20) $(svc_days 2026-10-18 2026-11-10)
}

@test "calendar: Evolution file: DURATION, floating time, all-day without DTEND, UNTIL across DST" {
	svc_cal_fixture evolution
	svc_cal_days 2026-03-26 2026-03-27 2026-03-29 2026-03-30 2026-03-31 \
		2026-04-01 2026-07-15 2026-10-25 2026-11-23 2026-11-24 \
		2026-11-25 >"$T/got"
	cat >"$T/want" <<-'EOF2'
		2026-03-27 7:00 run in the park
		2026-03-29 7:00 run in the park
		2026-03-30 7:00 run in the park
		2026-03-31 7:00 run in the park
		2026-07-15 9:00 breakfast (floating)
		2026-10-25 10:00 workshop
		2026-11-24 all day Grüße an Oma, 90 Jahre
	EOF2
	diff -u "$T/want" "$T/got"
	# DURATION:PT2H: the workshop overlaps 11:00-12:00, not 12:00-13:00
	printf 'list 2026-10-25 11:00 12:00\nlist 2026-10-25 12:00 13:00\nlist 2026-07-15 9:30 9:45\n' |
		svc_as "$SVC_BIN/calendar" >"$T/out"
	[ "$(grep -c 'workshop' "$T/out")" -eq 1 ]
	grep -q '^calendar> 10:00 workshop \[' "$T/out"
	grep -q '^calendar> 9:00 breakfast (floating) \[' "$T/out"
	svc_cal_crosscheck $(svc_days 2026-03-20 2026-04-05) 2026-07-15 \
		$(svc_days 2026-10-20 2026-11-30)
}

@test "calendar: Outlook export: unique IDs for 040000008200E000... UIDs, override, full UID, DST night" {
	svc_cal_fixture outlook
	svc_cal_days 2026-03-30 2026-04-06 2026-04-13 2026-04-20 2026-05-04 \
		2026-05-11 2026-10-24 2026-10-25 >"$T/got"
	cat >"$T/want" <<-'EOF2'
		2026-03-30 14:00 Jour fixe
		2026-04-06 14:00 Jour fixe
		2026-04-13 16:30 Jour fixe (später)
		2026-04-20 14:00 Jour fixe
		2026-05-04 14:00 Jour fixe
		2026-10-25 all day Zeitumstellung
		2026-10-25 1:30 Nachtschicht
	EOF2
	diff -u "$T/want" "$T/got"
	svc_cal_crosscheck $(svc_days 2026-03-25 2026-05-15) \
		$(svc_days 2026-10-20 2026-10-30)
	# the night shift spans the repeated hour: 2:00-2:30 overlaps it
	printf 'list 2026-10-25 2:00 2:30\nlist 2026-10-25 3:00 4:00\n' |
		svc_as "$SVC_BIN/calendar" >"$T/out"
	sed 's/ \[[0-9a-f]*\]$//' "$T/out" >"$T/got"
	printf 'calendar> all day Zeitumstellung\n1:30 Nachtschicht\ncalendar> all day Zeitumstellung\ncalendar> ' |
		diff -u - "$T/got"
	# three UIDs, three distinct IDs of at least 8 digits
	ids=$(grep -o '\[[0-9a-f]*\]' "$T/cal-days.raw" "$T/out" -h | sort -u)
	[ "$(echo "$ids" | wc -l)" -eq 3 ]
	! echo "$ids" | grep -qv '^\[[0-9a-f]\{8,\}\]$' || false
	# delete by ID: the series with its moved occurrence; by the full UID
	jf=$(sed -n 's/^calendar> 16:30 Jour fixe (später) \[\(.*\)\]$/\1/p' "$T/cal-days.raw")
	[ -n "$jf" ]
	uid=040000008200E00074C5B7101A82E0080000000070A1B2C3D4E5D80100000000000000001000000099887766554433221100FFEEDDCCBBAA
	printf 'delete %s\ndelete %s\nlist 2026-04-13\nlist 2026-10-25\n' "$jf" "$uid" |
		svc_as "$SVC_BIN/calendar" >"$T/out"
	grep -qx "calendar> deleted $jf" "$T/out"
	grep -q '^calendar> deleted [0-9a-f]\{8,\}$' "$T/out"
	grep -qx 'calendar> no events' "$T/out"
	grep -q '^calendar> all day Zeitumstellung \[' "$T/out"
	[ "$(grep -c '^BEGIN:VEVENT' "$H/.imapexec/calendar.ics")" -eq 1 ]
	! grep -q Traceback "$T/out" || false
}

@test "calendar: untouched components stay byte-identical after add and delete" {
	local f
	for f in thunderbird evolution outlook; do
		svc_cal_fixture "$f"
		orig=$T/$f.orig
		cp "$H/.imapexec/calendar.ics" "$orig"
		printf 'add 2026-12-01 8:00 new one\nlist 2026-12-01\n' |
			svc_as "$SVC_BIN/calendar" >"$T/out"
		id=$(sed -n 's/^calendar> added \([0-9a-f]*\)$/\1/p' "$T/out")
		[ -n "$id" ]
		# delete one foreign event (the first VEVENT's UID)
		uid=$(/usr/bin/python3 -c 'import icalendar, sys
c = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
print(c.walk("VEVENT")[-1]["UID"])' "$orig")
		printf 'delete %s\n' "$uid" | svc_as "$SVC_BIN/calendar" >"$T/out"
		grep -q '^calendar> deleted ' "$T/out"
		"$PYTHON" - "$orig" "$H/.imapexec/calendar.ics" "$uid" <<-'EOF2'
			import re, sys
			old = open(sys.argv[1], "rb").read()
			new = open(sys.argv[2], "rb").read()
			uid = sys.argv[3]
			# the deleted event's text (with its folds) is gone, the rest is
			# the same bytes, and one VEVENT was added before END:VCALENDAR
			blocks = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", old, re.S)
			gone = [b for b in blocks
			        if uid.encode() in re.sub(rb"\r\n[ \t]", b"", b)]
			assert len(gone) == 1, len(gone)
			rest = old.replace(gone[0], b"")
			end = b"END:VCALENDAR\r\n"
			assert new.startswith(rest[:-len(end)]), "prefix differs"
			added = new[len(rest) - len(end):-len(end)]
			assert new.endswith(end)
			assert added.startswith(b"BEGIN:VEVENT\r\nUID:") and \
			    added.endswith(b"END:VEVENT\r\n") and \
			    added.count(b"BEGIN:") == 1, added
			assert b"SUMMARY:new one\r\n" in added
		EOF2
	done
}

@test "calendar: a symlinked calendar.ics: the target is changed in place, mode kept, link kept" {
	mkdir -p "$H/.imapexec" "$H/sync/sub"
	cp "$REPO/tests/data/calendars/thunderbird.ics" "$H/sync/sub/cal.ics"
	chmod 640 "$H/sync/sub/cal.ics"
	ln -s ../sync/link.ics "$H/.imapexec/calendar.ics"
	ln -s sub/cal.ics "$H/sync/link.ics"
	imx_own "$H/.imapexec" "$H/sync"
	printf 'add 2026-12-01 8:00 synced\n' | svc_as "$SVC_BIN/calendar" >"$T/out"
	grep -q '^calendar> added ' "$T/out"
	[ -L "$H/.imapexec/calendar.ics" ]
	[ -L "$H/sync/link.ics" ]
	grep -q '^SUMMARY:synced' "$H/sync/sub/cal.ics"
	[ "$(stat -c %a "$H/sync/sub/cal.ics")" = 640 ]
	# no temporary file left anywhere
	[ "$(ls -A "$H/sync/sub")" = cal.ics ]
	[ "$(ls -A "$H/.imapexec")" = "$(printf 'calendar.ics\ncalendar.lock')" ]
	printf 'list 2026-12-01\n' | svc_as "$SVC_BIN/calendar" |
		grep -q '^calendar> 8:00 synced \['
}

@test "calendar: ends of time and broken files give answers or one error line, never a traceback" {
	mkdir -p "$H/.imapexec"
	printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:end\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:99991231\r\nSUMMARY:last day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' \
		>"$H/.imapexec/calendar.ics"
	imx_own "$H/.imapexec"
	svc_run <<-'EOF2'
		> 1 EXECUTE calendar
		wait +
		> list 2026-12-01
		> list 9999-12-31
		> add 9999-12-31 23:50 x
		> add 0001-01-01 0:10 x
		> add 0001-01-01 2:00 first
		> list 0001-01-01
		> add 2026-12-01 8:00 still works
		> list 2026-12-01
		> quit
		match \* EXECUTE \(TAG "1"\) EXIT 0
		> DONE
		wait 1 OK
	EOF2
	svc_out 1 >"$T/conv"
	cat "$T/conv" >&2
	! grep -q 'Traceback\|File "' "$T/conv" || false
	grep -qx 'calendar> no events' "$T/conv"
	grep -q '^calendar> all day last day \[[0-9a-f]\{8\}\]$' "$T/conv"
	[ "$(grep -c '^calendar> error: the time is out of range$' "$T/conv")" -eq 2 ]
	grep -q '^calendar> 2:00 first \[' "$T/conv"
	grep -q '^calendar> 8:00 still works \[' "$T/conv"
	grep -q '^DTSTART:00010101T' "$H/.imapexec/calendar.ics"

	# files no client should write: each command answers one line
	local i=0
	for body in 'BEGIN:VEVENT\r\nUID:x\r\nDTSTART:2026XX01T000000Z\r\nSUMMARY:bad\r\nEND:VEVENT\r\n' \
		'BEGIN:VEVENT\r\nUID:y\r\nDTSTART;TZID=Mars/Olympus:20261201T080000\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\n' \
		'BEGIN:VEVENT\r\nUID:z\r\nDTSTART:20261201T080000Z\r\nDTEND:20261201T070000Z\r\nEND:VEVENT\r\n' \
		'BEGIN:VEVENT\r\nUID:w\r\nDTSTART:20261201T080000Z\r\nDURATION:banana\r\nEND:VEVENT\r\n' \
		'BEGIN:VEVENT\r\nUID:v\r\n\xff\xfe\x00:\r\nEND:VEVENT\r\n' \
		'BEGIN:VEVENT\r\nUID:u\r\nDTSTART;VALUE=DATE:20261201\r\nRRULE:FREQ=DAILY;UNTIL=99991231\r\nEND:VEVENT\r\n' \
		'BEGIN:VEVENT\r\nUID:t\r\nDTSTART:20200101T000000Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n'; do
		i=$((i + 1))
		printf "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n$body""END:VCALENDAR\r\n" \
			>"$H/.imapexec/calendar.ics"
		printf 'list 2026-12-01\nadd 2026-12-01 9:00 ok\nlist 2026-12-01\nquit\n' |
			svc_as "$SVC_BIN/calendar" >"$T/o$i" 2>"$T/e$i"
		! grep -q 'Traceback\|File "' "$T/o$i" "$T/e$i" || false
		[ ! -s "$T/e$i" ]
		grep -q '^\(calendar> \)\?9:00 ok \[' "$T/o$i"
	done
	for body in 'not a calendar\r\n' 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n'; do
		printf "$body" >"$H/.imapexec/calendar.ics"
		printf 'list\nadd 2026-12-01 9:00 x\n' |
			svc_as "$SVC_BIN/calendar" >"$T/o" 2>"$T/e"
		[ "$(grep -c '^calendar> error: calendar.ics is not an iCalendar file' "$T/o")" -eq 2 ]
		[ ! -s "$T/e" ]
	done
	# unreadable file: one error line
	printf 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n' >"$H/.imapexec/calendar.ics"
	chmod 000 "$H/.imapexec/calendar.ics"
	if [ "$EUID" -eq 0 ] || ! [ -r "$H/.imapexec/calendar.ics" ]; then
		printf 'list\n' | svc_as "$SVC_BIN/calendar" >"$T/o" 2>"$T/e"
		grep -q '^calendar> error: Permission denied' "$T/o"
		[ ! -s "$T/e" ]
	fi
}

@test "calendar: mutated client files (edge dates, bad values, wild rules) never give an internal error" {
	mkdir -p "$H/.imapexec"
	imx_own "$H"
	run svc_as timeout 600 /usr/bin/python3 "$REPO/tests/services/cal_mutate.py" \
		"$SVC_BIN/calendar" "$H" 15 "$REPO"/tests/data/calendars/*.ics
	echo "$output" | sed 's/^/# /' >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *" commands, no internal error" ]]
}

# --- smtp ---------------------------------------------------------------

# The shipped service: Postfix's sendmail -bs, run as the user, with a
# Postfix of the test's own (svc_postfix_start) that binds the envelope
# sender to the login (local_login_sender_maps).

@test "smtp (shipped: sendmail -bs, real Postfix): the user's own address is accepted and the mail delivered" {
	svc_postfix_start
	svc_config
	grep -q "\"$SVC_BIN/smtp\", \"--config=$SVC_PFX/etc\"" "$T/imapexec.conf"
	local me=$IMX_USER@$SVC_PFX_DOMAIN
	svc_run <<-EOF2
		> 100 EXECUTE smtp
		wait +
		match \* EXECUTE \(TAG "100"\) OUT "220 $SVC_PFX_DOMAIN ESMTP Postfix
		> helo client.example.org
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> mail from:<$me>
		match \* EXECUTE \(TAG "100"\) OUT "250 2.1.0 Ok"
		> rcpt to:<$me>
		match \* EXECUTE \(TAG "100"\) OUT "250 2.1.5 Ok"
		> data
		match \* EXECUTE \(TAG "100"\) OUT "354 
		> From: <$me>
		> To: <$me>
		> Subject: sent over IMAP through Postfix
		>
		> Hello from the EXECUTE smtp service.
		> ..a line that starts with a dot
		> .
		match \* EXECUTE \(TAG "100"\) OUT "250 2.0.0 Ok: queued as 
		> quit
		match \* EXECUTE \(TAG "100"\) OUT "221 
		match \* EXECUTE \(TAG "100"\) EXIT 0
		> DONE
		wait 100 OK
	EOF2
	svc_list 100 | tail -1 | grep -qx '100 OK smtp completed'
	imx_wait_for svc_postfix_mail "$IMX_USER"
	f=$(svc_postfix_mail "$IMX_USER")
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	grep -qx "Return-Path: <$me>" "$f"
	grep -qx 'Subject: sent over IMAP through Postfix' "$f"
	grep -qx 'Hello from the EXECUTE smtp service.' "$f"
	grep -qx '.a line that starts with a dot' "$f"
	# Postfix saw the local user submit it, as that user
	grep -q "pickup.*: uid=$(id -u "$IMX_USER") from=<$me>" "$SVC_PFX/maillog"
	imx_assert_no_leftovers
}

@test "smtp (shipped: sendmail -bs, real Postfix): a forged envelope sender is refused by Postfix, nothing is sent" {
	svc_postfix_start
	svc_config
	local me=$IMX_USER@$SVC_PFX_DOMAIN
	svc_run <<-EOF2
		> 100 EXECUTE smtp
		wait +
		match \* EXECUTE \(TAG "100"\) OUT "220 
		> helo client.example.org
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> mail from:<ceo@example.com>
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> rcpt to:<$me>
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> data
		match \* EXECUTE \(TAG "100"\) OUT "354 
		> From: <ceo@example.com>
		> Subject: forged
		>
		> Pay this invoice.
		> .
		match \* EXECUTE \(TAG "100"\) OUT "451 4.3.0 Error: internal error 512"
		> mail from:<$me>
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> rcpt to:<$me>
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> data
		match \* EXECUTE \(TAG "100"\) OUT "354 
		> Subject: genuine
		>
		> Sent as myself.
		> .
		match \* EXECUTE \(TAG "100"\) OUT "250 2.0.0 Ok: queued as 
		> quit
		match \* EXECUTE \(TAG "100"\) OUT "221 
		match \* EXECUTE \(TAG "100"\) EXIT 0
		> DONE
		wait 100 OK
	EOF2
	# the genuine message arrives; it is the only one, and Postfix never
	# queued the forged one
	imx_wait_for svc_postfix_mail "$IMX_USER"
	f=$(svc_postfix_mail "$IMX_USER")
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	grep -qx 'Subject: genuine' "$f"
	! grep -q 'ceo@example.com' "$SVC_PFX/maillog" || false
	postqueue -c "$SVC_PFX/etc" -p | grep -qx 'Mail queue is empty'
	imx_assert_no_leftovers
}

# The same session with a socket service (connect =): imapexec relays an
# SMTP server's socket.

@test "smtp as a socket service: seed session through imapexec to a real SMTP server; the message arrives" {
	svc_smtpd_start
	svc_config "$SVC_SMTP_PORT"
	svc_run <<-'EOF2'
		> 100 EXECUTE smtp
		wait +
		match \* EXECUTE \(TAG "100"\) OUT "220 
		> helo client.example.org
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> mail from:<user@example.org>
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> rcpt to:<friend@example.net>
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> data
		match \* EXECUTE \(TAG "100"\) OUT "354 
		> From: User <user@example.org>
		> To: Friend <friend@example.net>
		> Subject: sent over IMAP
		>
		> Hello from the EXECUTE smtp service.
		> ..a line that starts with a dot
		> .
		match \* EXECUTE \(TAG "100"\) OUT "250 
		> quit
		match \* EXECUTE \(TAG "100"\) OUT "221 
		match \* EXECUTE \(TAG "100"\) EXIT 0
		> DONE
		wait 100 OK
	EOF2
	svc_list 100 | tail -1 | grep -qx '100 OK smtp completed'
	imx_wait_for compgen -G "$T/smtp-maildir/new/*"
	f=$(ls "$T"/smtp-maildir/new/*)
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	grep -qx 'Subject: sent over IMAP' "$f"
	grep -qx 'X-MailFrom: user@example.org' "$f"
	grep -qx 'X-RcptTo: friend@example.net' "$f"
	grep -qx 'Hello from the EXECUTE smtp service.' "$f"
	grep -qx '.a line that starts with a dot' "$f"
	grep -q 'execute: user=<[^>]*>, service=<smtp>, tag=<100>, status=<OK>' "$T/filtered.log"
	imx_assert_no_leftovers
}

@test "smtp as a socket service: server down gives NO [UNAVAILABLE]; DONE ends a session early" {
	imx_closed_port
	svc_config "$IMX_CLOSED_PORT"
	svc_run <<-'EOF2'
		> 1 EXECUTE smtp
		wait 1 NO
		> 2 NOOP
		wait 2 OK
	EOF2
	kill "$IMX_CLOSED_PID"
	svc_list 1 | grep -qx '1 NO \[UNAVAILABLE\] The service is not available now'
	! grep -q '^+ ' "$T/filtered.out" || false
	svc_smtpd_start
	svc_config "$SVC_SMTP_PORT"
	svc_run <<-'EOF2'
		> 3 EXECUTE smtp
		wait +
		match \* EXECUTE \(TAG "3"\) OUT "220 
		> helo x
		match \* EXECUTE \(TAG "3"\) OUT "250 
		> DONE
		match \* EXECUTE \(TAG "3"\) EXIT 0
		wait 3 OK
	EOF2
	[ -z "$(ls -A "$T/smtp-maildir/new")" ]
	imx_assert_no_leftovers
}

# --- voicemail ----------------------------------------------------------

# vm_spooldir: $T/vmspool/USER (the configured --spool, see svc_config) as
# README, "Services" says: owned by the PBX's account (as root: nobody),
# group the user's own group, mode 2770
vm_spooldir() {
	local d=$T/vmspool/$IMX_USER
	mkdir -p "$d"
	chmod 755 "$T/vmspool"
	chmod 2770 "$d"
	[ "$EUID" -ne 0 ] || chown "nobody:$(id -gn "$IMX_USER")" "$d"
	VM=$d
}

# vm_put NAME: a message arriving as the PBX writes it (".NAME", 0640,
# renamed into place), from stdin
vm_put() {
	local pbx=()
	[ "$EUID" -ne 0 ] || pbx=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	"${pbx[@]}" sh -c 'umask 027 && cat >"$1/.$2" && mv "$1/.$2" "$1/$2"' \
		sh "$VM" "$1"
}

# a spool with two messages; the first holds every byte value (NUL, CR, LF
# and 8-bit included) and is bigger than the output buffers
vm_spool() {
	vm_spooldir
	"$PYTHON" -c 'import sys, random
r = random.Random(4)
sys.stdout.buffer.write(b"RIFF\0\0\0\0WAVE" + bytes(range(256)) + b"\r\n.\r\n" +
    bytes(r.randrange(256) for _ in range(150000)) + b"\n")' |
		vm_put 20261127-1200-from-5551234.wav
	printf 'RIFF short\n' | vm_put 20261128-0930-from-anonymous.wav
	ln -s /etc/passwd "$VM/link.wav"
}

# vm_sums DIR: the spool's messages, a line each: the sha256 of a file,
# the target of a link (link.wav names /etc/passwd, which other suites
# running beside this one change as they add and remove accounts)
vm_sums() {
	local f
	for f in "$1"/*.wav; do
		if [ -L "$f" ]; then
			echo "link ${f##*/} -> $(readlink "$f")"
		else
			sha256sum "$f"
		fi
	done
}

@test "voicemail: list, fetch byte-exact (sha256), delete" {
	vm_spool
	local d=$VM
	svc_run <<-'EOF2'
		> 1 EXECUTE voicemail list
		wait 1 OK
		> 2 EXECUTE voicemail fetch 20261127-1200-from-5551234.wav
		wait 2 OK
		> 3 EXECUTE voicemail delete 20261128-0930-from-anonymous.wav
		wait 3 OK
		> 4 EXECUTE voicemail list
		wait 4 OK
	EOF2
	size=$(stat -c %s "$d/20261127-1200-from-5551234.wav")
	svc_expect 1 <<-EOF2
		* EXECUTE (TAG "1") OUT "20261127-1200-from-5551234.wav $size 2026-11-27 12:00 5551234"
		* EXECUTE (TAG "1") OUT "20261128-0930-from-anonymous.wav 11 2026-11-28 09:30 anonymous"
		* EXECUTE (TAG "1") EXIT 0
		1 OK voicemail completed
	EOF2
	svc_out 2 >"$T/audio"
	[ "$(sha "$T/audio")" = "$(sha "$d/20261127-1200-from-5551234.wav")" ]
	# binary data came as literals, NUL-holding ones as literal8
	grep -aq '^\* EXECUTE (TAG "2") OUT ~{[0-9]*}' "$T/filtered.out"
	[ ! -e "$d/20261128-0930-from-anonymous.wav" ]
	svc_list 4 | grep -c ' OUT "' | grep -qx 1
	imx_assert_no_leftovers
}

@test "voicemail: missing or bad IDs give an error line or NO, the spool is untouched" {
	vm_spool
	local d=$VM
	sums=$(vm_sums "$d")
	svc_run <<-'EOF2'
		> 1 EXECUTE voicemail fetch
		wait 1 NO
		> 2 EXECUTE voicemail fetch 20990101-0000-from-nobody.wav
		wait 2 NO
		> 3 EXECUTE voicemail fetch ../../../etc/passwd
		wait 3 NO
		> 4 EXECUTE voicemail delete .hidden
		wait 4 NO
		> 5 EXECUTE voicemail fetch link.wav
		wait 5 NO
		> 6 EXECUTE voicemail delete link.wav
		wait 6 NO
		> 7 EXECUTE voicemail play 20261127-1200-from-5551234.wav
		wait 7 NO
		> 9 EXECUTE voicemail fetch "a b"
		wait 9 NO
		> 8 EXECUTE voicemail delete
		wait 8 NO
	EOF2
	svc_expect 1 <<-'EOF2'
		* EXECUTE (TAG "1") ERR "error: fetch needs exactly one message ID"
		* EXECUTE (TAG "1") EXIT 2
		1 NO [EXITCODE 2] voicemail exited with status 2
	EOF2
	svc_expect 2 <<-'EOF2'
		* EXECUTE (TAG "2") ERR "error: no message \"20990101-0000-from-nobody.wav\""
		* EXECUTE (TAG "2") EXIT 1
		2 NO [EXITCODE 1] voicemail exited with status 1
	EOF2
	# refused by the configured pattern: nothing runs
	svc_list 3 | grep -qx '3 NO \[CANNOT\].*'
	svc_list 4 | grep -qx '4 NO \[CANNOT\].*'
	svc_list 5 | grep -qF 'ERR "error: no message \"link.wav\""'
	svc_list 6 | grep -qF 'ERR "error: no message \"link.wav\""'
	svc_list 7 | grep -qF 'ERR "usage: voicemail list | fetch ID | delete ID"'
	svc_list 9 | grep -qx '9 NO \[CANNOT\].*'
	svc_list 8 | grep -qF 'ERR "error: delete needs exactly one message ID"'
	! grep -aq 'root:' "$T/filtered.out" || false
	[ "$(vm_sums "$d")" = "$sums" ]
	[ -L "$d/link.wav" ]
	# the program itself refuses a path even without the pattern
	run svc_as "$SVC_BIN/voicemail" fetch ../../../etc/passwd
	[ "$status" -eq 2 ]
	[ "$output" = 'error: bad message ID "../../../etc/passwd"' ]
	imx_assert_no_leftovers
}

@test "voicemail: the spool: PBX-owned setgid dir, the user reads and deletes, a message being written is not listed" {
	vm_spooldir
	printf 'RIFF one\n' | vm_put 20261201-0800-from-5550001.wav
	# a message the PBX is still writing
	if [ "$EUID" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			sh -c 'umask 027 && printf partial >"$1/.20261201-0801-from-5550002.wav"' sh "$VM"
		[ "$(stat -c '%U %G %a' "$VM/20261201-0800-from-5550001.wav")" = "nobody $(id -gn "$IMX_USER") 640" ]
	else
		printf partial >"$VM/.20261201-0801-from-5550002.wav"
	fi
	[ "$(stat -c %a "$VM")" = 2770 ]
	svc_run <<-'EOF2'
		> 1 EXECUTE voicemail list
		wait 1 OK
		> 2 EXECUTE voicemail fetch 20261201-0800-from-5550001.wav
		wait 2 OK
		> 3 EXECUTE voicemail delete 20261201-0800-from-5550001.wav
		wait 3 OK
		> 4 EXECUTE voicemail --spool=/ list
		wait 4 NO
	EOF2
	svc_expect 1 <<-'EOF2'
		* EXECUTE (TAG "1") OUT "20261201-0800-from-5550001.wav 9 2026-12-01 08:00 5550001"
		* EXECUTE (TAG "1") EXIT 0
		1 OK voicemail completed
	EOF2
	svc_list 2 | grep -qxF '* EXECUTE (TAG "2") OUT "RIFF one"'
	[ ! -e "$VM/20261201-0800-from-5550001.wav" ]
	[ -e "$VM/.20261201-0801-from-5550002.wav" ]
	# a client's --spool=... is an argument (refused), never an option
	! svc_list 4 | grep -q 'OK' || false
	# without --spool, the spool is ~/.imapexec/voicemail
	mkdir -p "$H/.imapexec/voicemail"
	printf x >"$H/.imapexec/voicemail/home.wav"
	imx_own "$H/.imapexec"
	run svc_as "$SVC_BIN/voicemail" list
	[ "$status" -eq 0 ]
	[ "$output" = "home.wav 1" ]
	imx_assert_no_leftovers
}

@test "voicemail: an unreadable spool gives one error line, exit 1" {
	vm_spool
	chmod 000 "$VM"
	svc_run <<-'EOF2'
		> 1 EXECUTE voicemail list
		wait 1 NO
		> 2 EXECUTE voicemail fetch 20261128-0930-from-anonymous.wav
		wait 2 NO
	EOF2
	chmod 2770 "$VM"
	for t in 1 2; do
		svc_list $t >"$T/r$t"
		[ "$(grep -c ' ERR ' "$T/r$t")" -eq 1 ]
		grep -q "^\* EXECUTE (TAG \"$t\") ERR \"error: Permission denied: .*/vmspool/$IMX_USER\"\$" "$T/r$t"
		grep -qx "$t NO \[EXITCODE 1\] voicemail exited with status 1" "$T/r$t"
	done
	# a message the user may not read: the same
	chmod 000 "$VM/20261128-0930-from-anonymous.wav"
	run svc_as "$SVC_BIN/voicemail" --spool="$T/vmspool" -- fetch 20261128-0930-from-anonymous.wav
	[ "$status" -eq 1 ]
	[ "$output" = "error: Permission denied" ]
	imx_assert_no_leftovers
}
