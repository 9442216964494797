#!/usr/bin/env bats
# Option injection into the shipped services (issue 12, item 6): the
# services themselves end option parsing where the client's arguments
# begin, so even an administrator who sets dash_args and loosens the
# pattern cannot let "blacklist --list=whitelist" reach the whitelist.

load helper
load services
# hooks of the libraries loaded above: setup_file and setup:
# services.bash's; teardown_file: helper.bash's

@test "shipped blacklist: with dash_args and no pattern, --list=whitelist from a client is no option" {
	# whitelist for another user only; blacklist takes any argument
	"$PYTHON" - "$T/imapexec.conf" <<-'PY'
		import re, sys
		p = sys.argv[1]
		t = open(p).read()
		t, n = re.subn(r'(\n(\s*)name = "whitelist";)', r'\1\n\2users = [ "root" ];', t)
		assert n == 1
		t, n = re.subn(r'(\n(\s*)name = "blacklist";)', r'\1\n\2dash_args = true;', t)
		assert n == 1
		t, n = re.subn(r'\n\s*pattern = "[^\n]*";', '', t, count=1)
		assert n == 1
		open(p, "w").write(t)
	PY
	"$IMAPEXEC" -t -c "$T/imapexec.conf"
	svc_run <<-'EOF2'
		> a EXECUTE blacklist --list=whitelist add evil@spam.example
		wait a
		> b EXECUTE blacklist add ok@ham.example
		wait b OK
	EOF2
	imx_refute_grep '^a OK' "$T/filtered.out"
	[ ! -e "$H/.imapexec/whitelist" ] || ! grep -q evil "$H/.imapexec/whitelist"
	grep -qx ok@ham.example "$H/.imapexec/blacklist"
}

@test "shipped blacklist: --list=NAME before -- still picks the list (the admin's exec)" {
	svc_as "$SVC_BIN/blacklist" --list=whitelist -- add friend@ham.example
	grep -qx friend@ham.example "$H/.imapexec/whitelist"
	run svc_as "$SVC_BIN/blacklist" -- --list=whitelist add evil@spam.example
	[ "$status" -ne 0 ]
	! grep -q evil "$H/.imapexec/whitelist" || false
}
