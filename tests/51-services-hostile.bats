#!/usr/bin/env bats
# Break-it cases of the shipped services (issue 17 review): hostile and
# real-world calendar files, run directly as the test user (svc_as, as in
# tests/50-services.bats).  Helpers: tests/services.bash.

load helper
load services
# hooks of the libraries loaded above: setup_file and setup:
# services.bash's; teardown_file: helper.bash's

# cal_file: stdin (printf escapes already expanded) as the calendar.ics
cal_file() {
	mkdir -p "$H/.imapexec"
	cat >"$H/.imapexec/calendar.ics"
	chmod 700 "$H/.imapexec"
	imx_own "$H/.imapexec"
}

# cal CMD...: each argument one command line to the calendar; answers on
# stdout, and stderr must stay empty and no traceback may appear
cal() {
	printf '%s\n' "$@" | svc_as timeout 300 "$SVC_BIN/calendar" >"$T/cal.out" 2>"$T/cal.err"
	cat "$T/cal.out"
	! grep -q 'Traceback\|File "' "$T/cal.out" "$T/cal.err"
	[ ! -s "$T/cal.err" ]
}

ev() {	# UID DTSTART-line SUMMARY [more lines]
	printf 'BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n%s\r\nSUMMARY:%b\r\n%bEND:VEVENT\r\n' "$@"
}

@test "calendar: line breaks and control characters in a SUMMARY cannot forge answer lines" {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
		ev a 'DTSTART:20260105T090000Z' 'lunch\\nerror: your calendar is corrupt\\, call 555\r\n \x1b[2J\x07 x'
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	cal 'list 2026-01-05' >"$T/out"
	cat -A "$T/out" >&2
	# one event, one line, no terminal escapes
	[ "$(wc -l <"$T/out")" -eq 1 ]
	grep -q '^calendar> 10:00 lunch error: your calendar is corrupt, call 555?\[2J? x \[[0-9a-f]\{8\}\]$' "$T/out"
	# and so through imapexec: one OUT line for the event
	svc_run <<-'EOF2'
		> 1 EXECUTE calendar
		wait +
		> list 2026-01-05
		> quit
		match \* EXECUTE \(TAG "1"\) EXIT 0
		> DONE
		wait 1 OK
	EOF2
	svc_out 1 >"$T/conv"
	cat -A "$T/conv" >&2
	[ "$(grep -c 'error' "$T/conv")" -eq 1 ]
	grep -q '^calendar> 10:00 lunch error: your calendar is corrupt, call 555?\[2J? x \[[0-9a-f]\{8\}\]$' "$T/conv"
	imx_assert_no_leftovers
}

@test "calendar: an ID as shown deletes its event, never another whose UID looks like that ID" {
	local x
	x=$(printf %s victim | sha256sum | cut -c1-8)
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
		ev victim 'DTSTART:20260105T090000Z' important
		ev "$x" 'DTSTART:20260105T110000Z' 'UID like an ID'
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	cal 'list 2026-01-05' >"$T/out"
	cat "$T/out" >&2
	# the IDs shown are not the other event's UID
	! grep -q "\[$x\]" "$T/out"
	id=$(sed -n 's/^calendar> 10:00 important \[\([0-9a-f]*\)\]$/\1/p' "$T/out")
	[ -n "$id" ]
	cal "delete $id" 'list 2026-01-05' >"$T/out"
	cat "$T/out" >&2
	grep -q "^calendar> deleted $id\$" "$T/out"
	grep -q '^calendar> 12:00 UID like an ID \[' "$T/out"
	! grep -q important "$T/out"
	# the full UID still names its event
	cal "delete $x" 'list 2026-01-05' >"$T/out"
	grep -qx 'calendar> no events' "$T/out"
}

@test "calendar: concatenated VCALENDARs (cat a.ics b.ics) are not nested by a change" {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:a\r\n'
		ev one 'DTSTART:20260105T090000Z' one
		printf 'END:VCALENDAR\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:b\r\n'
		ev two 'DTSTART:20260105T100000Z' two
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	cp "$H/.imapexec/calendar.ics" "$T/orig"
	cal 'add 2026-01-05 12:00 three' 'list 2026-01-05' >"$T/out"
	grep -q '^calendar> 10:00 one \[' "$T/out"
	grep -q '^12:00 three \[' "$T/out"
	f=$H/.imapexec/calendar.ics
	cat "$f" >&2
	# the old text is a prefix up to the last END:VCALENDAR: nothing moved
	head -c $(($(stat -c %s "$T/orig") - 15)) "$T/orig" | cmp - <(head -c $(($(stat -c %s "$T/orig") - 15)) "$f")
	# never two BEGIN:VCALENDAR without an END between them
	awk '/^BEGIN:VCALENDAR/ { if (open) bad = 1; open = 1 } /^END:VCALENDAR/ { open = 0 } END { exit bad }' "$f"
	tail -c 15 "$f" | cmp - <(printf 'END:VCALENDAR\r\n')
}

@test "calendar: a file with a UTF-8 byte order mark is read and keeps its mark" {
	{
		printf '\xef\xbb\xbfBEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
		ev bom 'DTSTART:20260105T090000Z' 'with BOM'
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	cal 'list 2026-01-05' 'add 2026-01-05 12:00 more' 'list 2026-01-05' >"$T/out"
	cat "$T/out" >&2
	! grep -q error "$T/out"
	grep -q '^calendar> 10:00 with BOM \[' "$T/out"
	grep -q '^12:00 more \[' "$T/out"
	head -c 18 "$H/.imapexec/calendar.ics" | cmp - <(printf '\xef\xbb\xbfBEGIN:VCALENDAR')
}

@test "calendar: a UTF-8 character split by a fold is read as the character" {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
		ev split 'DTSTART:20260105T090000Z' 'M\xc3\r\n \xa4rz'
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	cal 'list 2026-01-05' >"$T/out"
	grep -q '^calendar> 10:00 März \[' "$T/out"
}

@test "calendar: cancelled events and cancelled occurrences are marked cancelled" {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n'
		ev g1 'DTSTART;TZID=Europe/Berlin:20260105T090000' standup 'DTEND;TZID=Europe/Berlin:20260105T100000\r\nRRULE:FREQ=DAILY;COUNT=5\r\n'
		ev g1 'DTSTART;TZID=Europe/Berlin:20260106T090000' standup 'RECURRENCE-ID;TZID=Europe/Berlin:20260106T090000\r\nSTATUS:CANCELLED\r\n'
		ev c1 'DTSTART:20260106T140000Z' 'called off' 'STATUS:CANCELLED\r\n'
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	cal 'list 2026-01-05' 'list 2026-01-06' >"$T/out"
	cat "$T/out" >&2
	grep -q '^calendar> 9:00 standup \[' "$T/out"
	grep -q '^calendar> 9:00 standup (cancelled) \[' "$T/out"
	grep -q '^15:00 called off (cancelled) \[' "$T/out"
}

@test "calendar: many slow rules: list answers with one time budget for all, not one each" {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
		for i in $(seq 1 100); do
			ev "slow$i" 'DTSTART:16010101T000000Z' slow 'DURATION:PT1M\r\nRRULE:FREQ=HOURLY\r\n'
		done
		ev plain 'DTSTART:99991230T090000Z' plain
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	# a budget each would take 100 x 10 s; cal's timeout is 300 s
	cal 'list 9999-12-30' >"$T/out"
	grep -q '^calendar> 10:00 plain \[' "$T/out"
	# every slow event is listed or unreadable, none is lost
	[ "$(grep -o '\[[0-9a-f]*\]$' "$T/out" | sort -u | wc -l)" -eq 101 ]
}

@test "calendar: RDATE;VALUE=PERIOD (start/end, start/duration) repeats the event, not unreadable" {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
		ev period 'DTSTART:20260105T090000Z' 'with periods' 'DTEND:20260105T100000Z\r\nRDATE;VALUE=PERIOD:20260107T090000Z/20260107T100000Z,20260108T130000Z/PT2H\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM\r\n'
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	cal 'list 2026-01-05' 'list 2026-01-06' 'list 2026-01-07' 'list 2026-01-08' >"$T/out"
	cat "$T/out" >&2
	sed 's/ \[[0-9a-f]*\]$//' "$T/out" >"$T/got"
	printf 'calendar> 10:00 with periods\ncalendar> no events\ncalendar> 10:00 with periods\ncalendar> 14:00 with periods\ncalendar> ' |
		diff -u - "$T/got"
}

@test "calendar: a line over 4096 octets is one error, its tail never a second command" {
	mkdir -p "$H/.imapexec" && imx_own "$H/.imapexec"
	{
		printf 'list %5000s' ''
		printf 'add 2026-01-01 9:00 injected\n'
		printf 'add 2026-01-01 10:00 %s\n' "$(head -c 6000 /dev/zero | tr '\0' x)"
		printf 'list 2026-01-01\n'
	} | svc_as timeout 60 "$SVC_BIN/calendar" >"$T/out" 2>"$T/err"
	cut -c1-100 "$T/out" >&2
	[ ! -s "$T/err" ]
	[ "$(grep -c '^calendar> error: the line is too long' "$T/out")" -eq 2 ]
	grep -qx 'calendar> no events' "$T/out"
	! grep -q injected "$T/out"
	[ "$(grep -o "calendar> " "$T/out" | wc -l)" -eq 4 ]
}

@test "calendar: a VTIMEZONE whose rules repeat every second or minute does not hang every command" {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
		printf 'BEGIN:VTIMEZONE\r\nTZID:Evil\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=SECONDLY\r\nEND:STANDARD\r\n'
		printf 'BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=MINUTELY\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n'
		ev evil 'DTSTART;TZID=Evil:20260105T090000' 'evil zone'
		ev ok 'DTSTART:20260105T090000Z' fine
		printf 'END:VCALENDAR\r\n'
	} | cal_file
	# without a bound, loading the file alone took hours (cal: 300 s)
	cal 'list 2026-01-05' 'add 2026-01-05 12:00 still' 'list 2026-01-05' >"$T/out"
	cat "$T/out" >&2
	grep -q '^\(calendar> \)\?10:00 fine \[' "$T/out"
	grep -q '^12:00 still \[' "$T/out"
	grep -q 'VTIMEZONE' "$H/.imapexec/calendar.ics"
}

@test "lists: a symlinked list or lists.sieve is changed at its target, the link stays" {
	mkdir -p "$H/.imapexec" "$H/sync"
	printf 'old@example.org\n' >"$H/sync/blacklist"
	ln -s ../sync/blacklist "$H/.imapexec/blacklist"
	: >"$H/sync/lists.sieve"
	ln -s ../sync/lists.sieve "$H/.imapexec/lists.sieve"
	imx_own "$H/.imapexec" "$H/sync"
	run svc_as "$SVC_BIN/blacklist" --list=blacklist -- add joe@smith.com
	[ "$status" -eq 0 ]
	[ -L "$H/.imapexec/blacklist" ]
	[ -L "$H/.imapexec/lists.sieve" ]
	[ "$(cat "$H/sync/blacklist")" = "$(printf 'joe@smith.com\nold@example.org')" ]
	grep -qF '"joe@smith.com", "old@example.org"' "$H/sync/lists.sieve"
	[ "$(ls -A "$H/sync")" = "$(printf 'blacklist\nlists.sieve')" ]
	# and the real LDA applies it through the link
	svc_deliver joe@smith.com "from joe"
	[ "$(svc_subjects Junk)" = "from joe" ]
}
