#!/usr/bin/env bats
# More backends than Dovecot (issue 26): imapexec in front of Courier's
# imapd (unpacked by scripts/courier.sh) and GNU Mailutils' imap4d, both
# started preauthenticated, and Dovecot's imap for reference.  For each
# backend of BACKENDS (default "dovecot courier mailutils"): the session
# scripts direct and through imapexec equal but for the capability
# edits, EXECUTE, literals holding EXECUTE lines in every form the
# backend accepts, the fail-closed cases, the differential generator and
# an mbsync full sync.  A feature a backend lacks is skipped by name.
#
# Parser differences found (README, "Other backends"):
# - Courier 5.0.13 has no LITERAL+: "{n+}" is answered NO and the
#   "literal" octets are read as command lines; imapexec takes them for
#   data (it errs towards a literal), so an EXECUTE line among them goes
#   to Courier, which answers NO.  Courier reads a NOOP's literal (it
#   sends "+ OK"), accepts "~{n}" syntax in APPEND (then answers NO), has
#   no MULTIAPPEND or CATENATE, names its folders INBOX.x, and hangs up
#   after a few protocol errors in a row.
# - Mailutils 3.15 answers "~{n}" with NO at once (no "+"), has no
#   BINARY, MULTIAPPEND or CATENATE.

load helper
load execute
load backends
# hooks of the libraries loaded above: teardown_file: helper.bash's

setup_file() {
	ex_setup_file
	bk_setup_file
}

setup() {
	imx_setup
	ex_setup
}

# compare NAME SCRIPT [driver opts]: SCRIPT direct and through imapexec
# against NAME: the same bytes but for the capability edits.
compare() {
	local name=$1 script
	script=$(bk_script "$1" "$2")
	shift 2
	bk_session "$name" direct "$script" "$@"
	bk_session "$name" filtered "$script" "$@"
	imx_normalize "$T/direct.out" >"$T/direct.norm"
	imx_normalize_filtered "$T/filtered.out" >"$T/filtered.norm"
	imx_compare_norm
}

# transparency NAME SCRIPT: compare in every chunk mode, and on a socket.
transparency() {
	bk_want "$1"
	imx_each_chunk compare "$@"
	compare "$@" --socket
}

@test "dovecot: transparency: basic" { transparency dovecot basic.txt; }
@test "courier: transparency: basic" { transparency courier basic.txt; }
@test "mailutils: transparency: basic" { transparency mailutils basic.txt; }
@test "dovecot: transparency: idle" { transparency dovecot idle.txt; }
@test "courier: transparency: idle" { transparency courier idle.txt; }
@test "mailutils: transparency: idle" { transparency mailutils idle.txt; }
@test "dovecot: transparency: rejected" { transparency dovecot rejected.txt; }
@test "courier: transparency: rejected" { transparency courier rejected.txt; }
# Mailutils answers "+" to an APPEND to a missing mailbox: only the
# literal8 it refuses at once is left of rejected.txt (bk_script).
@test "mailutils: transparency: rejected (literal8 only)" { transparency mailutils rejected.txt; }
@test "dovecot: transparency: append" { transparency dovecot append.txt; }
@test "courier: transparency: append" {
	bk_lacks courier "no BINARY (append.txt checks for it) and no LITERAL+"
}
@test "mailutils: transparency: append" {
	bk_lacks mailutils "no BINARY (append.txt checks for it; ~{n} is answered NO)"
}
@test "dovecot: transparency: bodylines" { transparency dovecot bodylines.txt; }
@test "courier: transparency: bodylines" {
	bk_lacks courier "no LITERAL+ (bodylines.txt sends {n+})"
}
@test "mailutils: transparency: bodylines" { transparency mailutils bodylines.txt; }
@test "dovecot: transparency: multiappend" { transparency dovecot multiappend.txt; }
@test "courier: transparency: multiappend" {
	bk_lacks courier "no MULTIAPPEND, CATENATE or LITERAL+"
}
@test "mailutils: transparency: multiappend" {
	bk_lacks mailutils "no MULTIAPPEND or CATENATE"
}
@test "dovecot: transparency: pipeline" { SORTED=1 transparency dovecot pipeline.txt; }
@test "courier: transparency: pipeline" {
	bk_lacks courier "no LITERAL+ (pipeline.txt sends {n+})"
}
@test "mailutils: transparency: pipeline" { SORTED=1 transparency mailutils pipeline.txt; }
