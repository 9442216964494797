# tests/vusers.bash - Dovecot virtual users that share one "vmail" uid and
# gid, behind imapexec -P (issue 21, rule 4): two daemons of
# tests/dovecotd.bash, each with its own passwd-file passdb and userdb of
# the users alice, bob and daemon (a login named like the system account
# "daemon"), all with the uid and gid of a system account of this file's
# own.  Load after helper and dovecotd; as root.
#
#   vu_setup_file        create the vmail account, start both daemons;
#                        exports VU_* below
#   vu_teardown_file     stop both, remove the accounts
#   vu_skip              skip unless the daemons run
#   vu_fresh             fresh mail for every user of both daemons, no
#                        ~/.imapexec anywhere, the vmail account's own home
#                        empty, empty Dovecot logs
#   vu_client MODE USER [plclient options]
#                        tests/plclient.py over imaps as USER against
#                        daemon MODE (nohome|home|mailhome); output in
#                        $T/USER.out,
#                        stderr in $T/USER.err
#   vu_log MODE          the daemon's log (imapexec runs with -d: its log
#                        lines go to Dovecot's log, fd 2)
#
# The daemons:
#   nohome   userdb without any home: mail_location comes from a userdb
#            default field, mail=maildir:$VU_DIR/nohome/mail/%u/Maildir
#   home     userdb default_fields = home=$VU_DIR/home/vhome/%u (mail in
#            ~/Maildir, the global default)
#   mailhome no userdb home, but the global mail_home =
#            $VU_DIR/mailhome/vhome/%u (imap has a home; the post-login
#            script gets none: mail_home is no userdb field)
# VU_VMAIL is the vmail account and its group (its own home, $VU_DIR/vmail,
# exists and is its own: the fallback of the old code would write there);
# VU_XGROUP a group of its own given to the users by mail_access_groups
# (a supplementary group of the processes, not of the vmail account).
# $VU_DIR/imapexec.conf has the shipped blacklist service (its block of
# conf/imapexec.conf, with the program copied to $VU_DIR/services) and:
#   whoami      prints uid, gid, groups, HOME, IMAPEXEC_USER and pwd
#   grpdaemon   groups = [ "daemon" ]
#   grpvmail    groups = [ VU_VMAIL ]
#   grpextra    groups = [ VU_XGROUP ]
#   mark        touches $VU_DIR/spool/ran

VU_USERS=(alice bob daemon)

vu_setup_file() {
	imx_setup_file
	[ "$EUID" -eq 0 ] && command -v dovecot >/dev/null || return 0
	VU_DIR=$IMX_RUN/vu
	mkdir -p "$VU_DIR/spool" "$VU_DIR/vmail"
	chmod 755 "$VU_DIR"
	chmod 1777 "$VU_DIR/spool"
	VU_XGROUP=$(imx_group xgrp) || return 1
	VU_VMAIL=$(imx_account vmail --home-dir "$VU_DIR/vmail") || return 1
	chown "$VU_VMAIL:" "$VU_DIR/vmail"
	chmod 700 "$VU_DIR/vmail"
	cp -a "$REPO/scripts/services" "$VU_DIR/services"
	chmod -R a+rX "$VU_DIR/services"
	vu_config
	local u
	for u in "${VU_USERS[@]}"; do
		printf '%s pw 1\n' "$u" >"$VU_DIR/pass.$u"
	done
	chmod 644 "$VU_DIR"/pass.*
	dd_certs "$VU_DIR/nohome"
	mkdir -p "$VU_DIR/home"
	cp -p "$VU_DIR/nohome"/*.crt "$VU_DIR/nohome"/*.key "$VU_DIR/home/"
	mkdir -p "$VU_DIR/mailhome"
	cp -p "$VU_DIR/nohome"/*.crt "$VU_DIR/nohome"/*.key "$VU_DIR/mailhome/"
	vu_start nohome "mail=maildir:$VU_DIR/nohome/mail/%u/Maildir"
	VU_NOHOME_PID=$DD_PID VU_NOHOME_PORT=$DD_IMAPS_PORT
	vu_start home "home=$VU_DIR/home/vhome/%u"
	VU_HOME_PID=$DD_PID VU_HOME_PORT=$DD_IMAPS_PORT
	vu_start mailhome "" "mail_home = $VU_DIR/mailhome/vhome/%u"
	VU_MAILHOME_PID=$DD_PID VU_MAILHOME_PORT=$DD_IMAPS_PORT
	DD_PID=
	export VU_DIR VU_VMAIL VU_XGROUP VU_NOHOME_PID VU_NOHOME_PORT \
		VU_HOME_PID VU_HOME_PORT VU_MAILHOME_PID VU_MAILHOME_PORT DD_CA
}

# vu_config: $VU_DIR/imapexec.conf.
vu_config() {
	"$PYTHON" - "$REPO/conf/imapexec.conf" "$VU_DIR/imapexec.conf" \
		"$VU_DIR" "$VU_VMAIL" "$VU_XGROUP" <<-'EOF'
		import sys
		src, dst, d, vmail, xgroup = sys.argv[1:]
		text = open(src).read()
		# the shipped blacklist block: from its "{" to the matching "}"
		at = text.index('name = "blacklist";')
		start = text.rindex("{", 0, at)
		depth = 0
		for end in range(start, len(text)):
		    depth += {"{": 1, "}": -1}.get(text[end], 0)
		    if depth == 0:
		        break
		block = text[start:end + 1].replace("/usr/local/libexec/imapexec",
		                                    d + "/services")
		assert d + "/services/blacklist" in block
		def svc(name, exe, groups=None):
		    g = ' groups = [ "%s" ];' % groups if groups else ""
		    return ('{ name = "%s"; description = "%s";%s exec = [ %s ]; }'
		            % (name, name, g, ", ".join('"%s"' % a for a in exe)))
		who = ("echo uid=$(id -u) gid=$(id -g) groups=$(id -G)"
		       " home=$HOME user=$IMAPEXEC_USER pwd=$(pwd)")
		svcs = [block,
		        svc("whoami", ["/bin/sh", "-c", who]),
		        svc("grpdaemon", ["/bin/echo", "group daemon"], "daemon"),
		        svc("grpvmail", ["/bin/echo", "group vmail"], vmail),
		        svc("grpextra", ["/bin/echo", "group extra"], xgroup),
		        svc("mark", ["/usr/bin/touch", d + "/spool/ran"])]
		open(dst, "w").write("services = (\n" + ",\n".join(svcs) + "\n);\n")
	EOF
	chmod 644 "$VU_DIR/imapexec.conf"
	"$IMAPEXEC" -t -c "$VU_DIR/imapexec.conf" >/dev/null
}

# vu_start MODE FIELD [LINE...]: daemon MODE in $VU_DIR/MODE with imapexec
# -P (and -d) after login, and a passwd-file of the virtual users (no home
# column) whose userdb has default_fields = FIELD (none if empty); LINEs go
# into its config too.
vu_start() {
	local d=$VU_DIR/$1 f=$2 u
	shift 2
	mkdir -p "$d"
	: >"$d/vusers"
	for u in "${VU_USERS[@]}"; do
		printf '%s:{PLAIN}%s:%s:%s::::\n' "$u" "$(cat "$VU_DIR/pass.$u")" \
			"$(id -u "$VU_VMAIL")" "$(id -g "$VU_VMAIL")" >>"$d/vusers"
	done
	chmod 644 "$d/vusers"
	mapfile -t DD_EXTRA < <(dd_postlogin_conf "$IMAPEXEC -d" \
		"$VU_DIR/imapexec.conf")
	DD_EXTRA+=(
		"mail_access_groups = $VU_XGROUP"
		"passdb {"
		"  driver = passwd-file"
		"  args = scheme=PLAIN $d/vusers"
		"}"
		"userdb {"
		"  driver = passwd-file"
		"  args = $d/vusers"
		${f:+"  default_fields = $f"}
		"}"
		"$@"
	)
	dd_start "$d"
}

vu_teardown_file() {
	local p
	for p in "${VU_NOHOME_PID:-}" "${VU_HOME_PID:-}" \
	    "${VU_MAILHOME_PID:-}"; do
		DD_PID=$p
		dd_stop
	done
	imx_teardown_file
}

vu_skip() {
	[ -n "${VU_HOME_PID:-}" ] || skip "needs root and dovecot"
}

# vu_maildir DIR: DIR becomes a fresh copy of the template Maildir, the
# vmail account's, in a directory (its parent) of the vmail account's.
vu_maildir() {
	rm -rf "$1"
	mkdir -p "${1%/*}"
	cp -a "$IMX_RUN/template/Maildir" "$1"
	chown -R "$VU_VMAIL:" "${1%/*}"
	chmod 700 "${1%/*}"
}

vu_fresh() {
	local u
	for u in "${VU_USERS[@]}"; do
		rm -rf "$VU_DIR/home/vhome/$u" "$VU_DIR/nohome/mail/$u" \
			"$VU_DIR/mailhome/vhome/$u"
		vu_maildir "$VU_DIR/home/vhome/$u/Maildir"
		vu_maildir "$VU_DIR/nohome/mail/$u/Maildir"
		vu_maildir "$VU_DIR/mailhome/vhome/$u/Maildir"
	done
	find "$VU_DIR/vmail" -mindepth 1 -delete
	rm -f "$VU_DIR/spool/ran"
	: >"$VU_DIR/nohome/dovecot.log"
	: >"$VU_DIR/home/dovecot.log"
	: >"$VU_DIR/mailhome/dovecot.log"
}

# vu_port MODE: the daemon's imaps port.
vu_port() {
	case $1 in
	nohome) echo "$VU_NOHOME_PORT" ;;
	home) echo "$VU_HOME_PORT" ;;
	mailhome) echo "$VU_MAILHOME_PORT" ;;
	esac
}

vu_client() {
	local mode=$1 user=$2
	shift 2
	timeout 60 "$PYTHON" "$REPO/tests/plclient.py" --ssl "$@" \
		"$(vu_port "$mode")" "$user" "$VU_DIR/pass.$user" "$DD_CA" \
		>"$T/$user.out" 2>"$T/$user.err" || {
		cat "$T/$user.out" "$T/$user.err"
		return 1
	}
}

vu_log() {
	cat "$VU_DIR/$1/dovecot.log"
}

# vu_written: every ~/.imapexec, blacklist and lists.sieve under $VU_DIR
# (the daemons' users, the vmail account's home), one a line.
vu_written() {
	find "$VU_DIR" \( -name .imapexec -o -name blacklist -o \
		-name lists.sieve \) ! -path "$VU_DIR/services/*"
}

# The hooks of a file that loads vusers: its daemons and accounts.
setup_file() { vu_setup_file; }
teardown_file() { vu_teardown_file; }
