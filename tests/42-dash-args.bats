#!/usr/bin/env bats
# Option injection (issue 12, item 6) with the shipped configuration
# (conf/imapexec.conf, test paths substituted by tests/services.bash): a
# client argument starting with '-' never reaches a shipped service, so
# "blacklist --list=whitelist" cannot get round a per-user restriction
# of whitelist.

load helper
load services
# hooks of the libraries loaded above: setup_file and setup:
# services.bash's; teardown_file: helper.bash's

@test "shipped config: blacklist --list=whitelist cannot whitelist for a user denied whitelist" {
	# whitelist is for another user only
	"$PYTHON" - "$T/imapexec.conf" <<-'PY'
		import re, sys
		p = sys.argv[1]
		t = open(p).read()
		t, n = re.subn(r'(\n(\s*)name = "whitelist";)', r'\1\n\2users = [ "root" ];', t)
		assert n == 1
		open(p, "w").write(t)
	PY
	"$IMAPEXEC" -t -c "$T/imapexec.conf"
	svc_run <<-'EOF2'
		> a EXECUTE whitelist add x@y.example
		wait a NO
		> b EXECUTE blacklist --list=whitelist add evil@spam.example
		wait b
		> c EXECUTE blacklist -- add evil@spam.example
		wait c
		> d NOOP
		wait d OK
	EOF2
	grep -a -q '^a NO \[NONEXISTENT\]' "$T/filtered.out"
	grep -a -q '^b NO \[CANNOT\]' "$T/filtered.out"
	grep -a -q '^c NO \[CANNOT\]' "$T/filtered.out"
	imx_refute_grep '^\* EXECUTE \(TAG "[bc]"\)' "$T/filtered.out"
	[ ! -e "$H/.imapexec/whitelist" ] || ! grep -q evil "$H/.imapexec/whitelist"
	[ ! -e "$H/.imapexec/blacklist" ] || ! grep -q evil "$H/.imapexec/blacklist"
	imx_assert_no_leftovers
}

@test "shipped config: every service's pattern refuses a leading '-'" {
	"$PYTHON" - "$REPO/conf/imapexec.conf" <<-'PY'
		import re, sys
		t = open(sys.argv[1]).read()
		pats = re.findall(r'pattern = "((?:[^"\\]|\\.)*)";', t)
		assert pats, "no patterns"
		import subprocess
		for p in pats:
		    p = p.encode().decode("unicode_escape")
		    for arg in ("-x", "--list=whitelist", "-"):
		        r = subprocess.run(["grep", "-qE", "--", p], input=arg.encode())
		        assert r.returncode != 0, "pattern %r accepts %r" % (p, arg)
	PY
}
