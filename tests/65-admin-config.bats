#!/usr/bin/env bats
# Break-it pass as the administrator who reads only the man pages: config
# mistakes that used to pass "imapexec -t" and then ran with less than the
# admin wrote.
#  - a misspelt setting (rlimts, pattrn, usr, timout) is refused, at every
#    level, by -t and by the loader, instead of being ignored: a typo never
#    drops a limit, a pattern or the account;
#  - a relative or empty PATH entry (path, a service's env, backend_env)
#    is refused: services run in the user's home;
#  - a config that is not a regular file (a directory, a FIFO) is one
#    clear error: no hang, and nothing on fd 2 (the client's socket under
#    xinetd) at run time;
#  - user = "root" (any account with uid 0) is refused;
#  - the shipped launchers never run as root, the unit lets the shipped
#    services write, loopback is said to be open to every local account;
#  - every shipped service runs with the shipped defaults' rlimits;
#  - log lines are key=<value>, as imapexec(8) says;
#  - a relative @include is read next to the config, not in the home;
#  - make install replaces a symlink at a unit or example, never writes
#    through it.

load helper
load execute
# hooks of the libraries loaded above: setup_file: execute.bash's;
# teardown_file: helper.bash's

setup() { imx_setup; }

# adm_conf FILE TEXT: a config whose backend, on line 1, records that it
# was started in $T/started; TEXT begins on line 2.
adm_conf() {
	printf 'backend = [ "/bin/sh", "-c", "touch %s/started" ];\n%s\n' \
		"$T" "$2" >"$1"
}

# adm_refused FILE LINE REGEX: imapexec -t -c FILE fails with
# "imapexec: FILE:LINE: ..." matching REGEX ("imapexec: FILE: ..." if LINE
# is empty; FILE may be a regex, "a|b" for either); the
# loader at run time fails as well, without starting the backend and
# without a byte on stdout or stderr (either may be the client).
adm_refused() {
	local rc=0
	rm -f "$T/started"
	"$IMAPEXEC" -t -c "${1%%|*}" >"$T/t.out" 2>"$T/t.err" || rc=$?
	cat "$T/t.out" "$T/t.err" >&3
	local f=${1%%|*} want="^imapexec: ($1):$2: $3"
	[ -n "$2" ] || want="^imapexec: ($1): $3"
	[ "$rc" -eq 1 ] || { echo "# -t exit status $rc" >&2; return 1; }
	[ ! -s "$T/t.out" ]
	grep -q -E "$want" "$T/t.err" || {
		echo "# want: $want" >&2
		return 1
	}
	rc=0
	timeout 10 "$IMAPEXEC" -c "$f" </dev/null >"$T/r.out" 2>"$T/r.err" || rc=$?
	[ "$rc" -eq 1 ] || { echo "# run exit status $rc" >&2; return 1; }
	[ ! -s "$T/r.out" ]
	[ ! -s "$T/r.err" ]
	[ ! -e "$T/started" ]
}

@test "a misspelt setting is refused at every level, by -t and the loader (a typo never drops a limit)" {
	local c=$T/c.conf
	adm_conf "$c" 'usr = "vmail";'
	adm_refused "$c" 2 'unknown setting "usr"'
	adm_conf "$c" 'defaults = {
	timout = 5; };'
	adm_refused "$c" 3 'defaults: unknown setting "timout"'
	adm_conf "$c" 'defaults = { rlimits = {
	cpus = 5; }; };'
	adm_refused "$c" 3 'defaults: rlimits: unknown setting "cpus"'
	adm_conf "$c" 'services = ( { name = "s"; exec = [ "/bin/true" ];
	rlimts = { cpu = 1; }; } );'
	adm_refused "$c" 3 'service s: unknown setting "rlimts"'
	adm_conf "$c" 'services = ( { name = "s"; exec = [ "/bin/true" ];
	args = { max = 1;
	pattrn = "^a$"; }; } );'
	adm_refused "$c" 4 'service s: args: unknown setting "pattrn"'
	adm_conf "$c" 'services = ( { name = "s"; exec = [ "/bin/true" ];
	users = [ "a" ]; }, { name = "t"; exec = [ "/bin/true" ];
	user = [ "b" ]; } );'
	adm_refused "$c" 4 'service t: unknown setting "user"'
	# every documented setting, at its level, is still accepted
	adm_conf "$c" 'backend_env = [ "A=b" ]; path = "/usr/bin:/bin";
compress = true; probe_timeout = 10;
defaults = { interactive = false; dash_args = false; eol = "lf";
  stderr = "log"; timeout = 1; idle_timeout = 1; max_output = 1;
  max_input = 1; rlimits = { cpu = 1; memory = "1G"; nofile = 9;
  nproc = 9; fsize = "1M"; }; };
services = ( { name = "s"; description = "d"; exec = [ "/bin/true" ];
  env = [ "A=b" ]; users = [ "a" ]; groups = [ "g" ];
  args = { min = 0; max = 1; pattern = "^a$"; };
  interactive = true; dash_args = true; eol = "crlf"; stderr = "client";
  timeout = 1; idle_timeout = 1; max_output = 1; max_input = 1;
  rlimits = { cpu = 1; }; },
  { name = "c"; connect = "unix:/run/x.sock"; } );'
	run "$IMAPEXEC" -t -c "$c"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	# the shipped example too
	run "$IMAPEXEC" -t -c "$REPO/conf/imapexec.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "a relative or empty PATH entry is refused: in path, a service's env and backend_env" {
	local c=$T/c.conf p
	for p in '.:/usr/bin' '/usr/bin:' ':/usr/bin' '/usr/bin::/bin' 'bin:/usr/bin' ''; do
		adm_conf "$c" "path = \"$p\";"
		adm_refused "$c" 2 "path: \"$p\" has a relative or empty entry"
	done
	adm_conf "$c" 'services = ( { name = "s"; exec = [ "/bin/true" ];
	env = [ "A=b", "PATH=/bin:." ]; } );'
	adm_refused "$c" 3 'service s: env: "PATH=/bin:." has a relative or empty entry'
	adm_conf "$c" 'backend_env = [ "PATH=" ];'
	adm_refused "$c" 2 'backend_env: "PATH=" has a relative or empty entry'
	adm_conf "$c" 'path = "/usr/local/bin:/usr/bin:/bin";
services = ( { name = "s"; exec = [ "/bin/true" ]; env = [ "PATH=/x" ]; } );'
	run "$IMAPEXEC" -t -c "$c"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "a config that is a directory or a FIFO: one clear error, no hang, nothing on fd 2 at run time" {
	mkdir "$T/dir.conf"
	adm_refused "$T/dir.conf" '' 'not a regular file'
	mkfifo "$T/fifo.conf"
	adm_refused "$T/fifo.conf" '' 'not a regular file'
	# a symlink to a regular file is fine
	adm_conf "$T/real.conf" ''
	ln -s real.conf "$T/link.conf"
	run "$IMAPEXEC" -t -c "$T/link.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "user naming an account with uid 0 is refused; a real account passes" {
	local c=$T/c.conf
	adm_conf "$c" 'user = "root";'
	adm_refused "$c" 2 'user "root" has uid 0'
	adm_conf "$c" "user = \"$IMX_USER\";"
	run "$IMAPEXEC" -t -c "$c"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "@include: a mistake in an included file is reported at that file's line; an included directory writes nothing to fd 2 at run time" {
	local c=$T/c.conf inc=$T/inc.conf
	printf '\n\nservices = ( { name = "s"; exec = [ "/bin/true" ];\n\trlimts = { }; } );\n' >"$inc"
	adm_conf "$c" "@include \"$inc\""
	adm_refused "$c|$inc" '[0-9]+' ''
	grep -q -x "imapexec: $inc:4: service s: unknown setting \"rlimts\"" "$T/t.err"
	printf '\nx = ;\n' >"$inc"
	adm_refused "$c|$inc" '[0-9]+' ''
	grep -q -x "imapexec: $inc:2: syntax error" "$T/t.err"
	# libconfig 1.5's scanner prints to fd 2 and exits on a directory:
	# at run time fd 2 may be the client's socket
	mkdir "$T/incdir"
	adm_conf "$c" "@include \"$T/incdir\""
	rm -f "$T/started"
	run timeout 10 "$IMAPEXEC" -c "$c" </dev/null
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	[ ! -e "$T/started" ]
}

# --- the shipped launchers ---------------------------------------------

# adm_unit_rw DIR: DIR is under one of the ReadWritePaths= of the shipped
# service unit (ProtectSystem=strict makes everything else read-only).
adm_unit_rw() {
	local p
	for p in $(sed -n 's/^ReadWritePaths=//p' "$REPO/conf/imapexec@.service"); do
		p=${p#-}
		case $1/ in "${p%/}"/*) return 0 ;; esac
	done
	echo "# $1 is read-only under the shipped unit" >&2
	return 1
}

@test "shipped launchers never run imapexec as root, and the unit lets the shipped services write where they write" {
	local u=$REPO/conf/imapexec@.service x=$REPO/conf/xinetd.imapexec user
	# systemd: an active User= that is not root (without one, root)
	user=$(sed -n 's/^User=//p' "$u")
	echo "# unit User=$user" >&3
	[ -n "$user" ]
	[ "$user" != root ]
	[ "$user" != 0 ]
	# xinetd: every active entry names a user that is not root
	! awk '/^[ \t]*#/ { next } /^[ \t]*user[ \t]*=/ { print $3 }' "$x" | grep -qx -E 'root|0'
	[ "$(awk '/^[ \t]*#/ { next } /^[ \t]*user[ \t]*=/' "$x" | wc -l)" -ge 1 ]
	# the voicemail spool of the shipped config (delete writes there)
	local spool
	spool=$(grep -o -- '--spool=/[^"]*' "$REPO/conf/imapexec.conf")
	[ -n "$spool" ]
	adm_unit_rw "${spool#--spool=}"
	# the lists and the calendar live in the home: /home, /var/vmail
	adm_unit_rw /home/alice/.imapexec
	adm_unit_rw /var/vmail/.imapexec
}

# adm_flat FILE: the text of FILE on one line, comment marks and roff line
# breaks folded into single spaces.
adm_flat() { tr '\n#' '  ' <"$1" | tr -s ' \t' '  '; }

@test "every place that ships a loopback listener says loopback is open to every local account, and what to use instead" {
	local f
	for f in "$REPO/conf/imapexec.socket" "$REPO/conf/xinetd.imapexec" \
		"$REPO/README" "$REPO/src/imapexec.8"; do
		adm_flat "$f" | grep -q 'every account on the host' || {
			echo "# $f does not say that every local account can connect" >&2
			return 1
		}
		adm_flat "$f" | grep -q -i 'forced command' || {
			echo "# $f does not name the ssh forced command" >&2
			return 1
		}
	done
}

@test "log lines give every value as key=<value>, as imapexec(8) says" {
	printf 'backend = [ "/bin/sh", "-c", "exit 3" ];\n' >"$T/c.conf"
	local rc=0
	timeout 10 "$IMAPEXEC" -d -c "$T/c.conf" </dev/null >"$T/out" 2>"$T/err" || rc=$?
	cat "$T/err" >&3
	[ "$rc" -eq 3 ]
	[ ! -s "$T/out" ]
	grep -q -E '^imapexec: Debug: Connect: user=<[^>]+>, rip=<[^>]*>, backend=</bin/sh>, pid=<[0-9]+>$' "$T/err"
	grep -q -E '^imapexec: Debug: Disconnected: user=<[^>]+>, status=<3>$' "$T/err"
	# no key=value without the brackets anywhere
	! grep -E '[a-z]=[^<]' "$T/err" || false
	# the page documents the form
	adm_flat "$REPO/src/imapexec.8" | grep -q 'Connect: user=<..>, rip=<..>, backend=<..>, pid=<..>'
}

@test "the shipped imapexec.conf: every shipped service runs with the defaults' rlimits" {
	# each service's exec becomes a program that prints its limits; the
	# rest of each service (args, limits, overrides) stays as shipped
	printf '#!/bin/sh\ngrep -E "^Max (cpu time|address space|open files|file size) " /proc/self/limits\n' \
		>"$EX_SERVICES/shiplim.sh"
	chmod 755 "$EX_SERVICES/shiplim.sh"
	"$PYTHON" - "$REPO/conf/imapexec.conf" "$T/imapexec.conf" \
		"$EX_SERVICES/shiplim.sh" "$DOVECOT_IMAP" <<-'EOF2'
		import re, sys
		src, dst, prog, imap = sys.argv[1:]
		text = open(src).read()
		text = re.sub(r'exec = \[[^]]*\];', 'exec = [ "%s" ];' % prog, text)
		text = re.sub(r'\n\s*groups = \[[^]]*\];', '', text)
		text = text.replace('"/usr/lib/dovecot/imap"', '"%s"' % imap)
		open(dst, "w").write(text)
	EOF2
	"$IMAPEXEC" -t -c "$T/imapexec.conf"
	local names
	names=$(grep -o -E '^[[:space:]]*name = "[a-z]+"' "$REPO/conf/imapexec.conf" |
		sed -E 's/.*"(.*)"/\1/' | tr '\n' ' ')
	[ "$names" = "blacklist whitelist calendar voicemail smtp " ]
	{
		echo '> 1 EXECUTE blacklist list'
		echo 'wait 1 OK'
		echo '> 2 EXECUTE whitelist list'
		echo 'wait 2 OK'
		echo '> 3 EXECUTE voicemail list'
		echo 'wait 3 OK'
		echo '> 4 EXECUTE calendar'
		echo 'wait +'
		echo 'match \* EXECUTE \(TAG "4"\) EXIT 0'
		echo '> DONE'
		echo 'wait 4 OK'
		echo '> 5 EXECUTE smtp'
		echo 'wait +'
		echo 'match \* EXECUTE \(TAG "5"\) EXIT 0'
		echo '> DONE'
		echo 'wait 5 OK'
	} >"$T/s.txt"
	ex_run "$T/s.txt"
	local tag
	for tag in 1 2 3 4 5; do
		ex_out "$tag" | tr -s ' ' | sed 's/ *$//' >"$T/lim.$tag"
		sed "s/^/# $tag: /" "$T/lim.$tag" >&3
		grep -q -x 'Max cpu time 60 60 seconds' "$T/lim.$tag"
		grep -q -x 'Max address space 1073741824 1073741824 bytes' "$T/lim.$tag"
		grep -q -x 'Max open files 256 256 files' "$T/lim.$tag"
		grep -q -x 'Max file size 67108864 67108864 bytes' "$T/lim.$tag"
	done
	imx_assert_no_leftovers
}

@test "@include with a relative name reads the file next to the config, never one in the working directory (the user's home under ssh)" {
	mkdir "$T/etc" "$T/home"
	adm_conf "$T/etc/c.conf" '@include "services.conf"'
	printf 'services = ( { name = "good"; exec = [ "/bin/true" ]; } );\n' >"$T/etc/services.conf"
	printf 'services = ( { name = "evil"; exec = [ "/bin/true" ];\n\tbogus = 1; } );\n' >"$T/home/services.conf"
	run bash -c 'cd "$1" && "$2" -t -c "$3"' - "$T/home" "$IMAPEXEC" "$T/etc/c.conf"
	echo "$output" >&3
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	# and the file next to the config is the one checked
	printf 'services = ( { name = "good"; exec = [ "/bin/true" ];\n\tbogus = 1; } );\n' >"$T/etc/services.conf"
	run bash -c 'cd / && "$1" -t -c "$2"' - "$IMAPEXEC" "$T/etc/c.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "imapexec: $T/etc/services.conf:2: service good: unknown setting \"bogus\"" ]
}

@test "make install never writes through a symlink an admin put in place of an installed unit or example" {
	local d=$T/dest u=usr/local/lib/systemd/system/imapexec@.service
	local x=usr/local/share/doc/imapexec/examples/xinetd.imapexec
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" DESTDIR="$d" >"$T/make.log"
	mkdir "$T/admin"
	echo 'the admin'"'"'s own unit' >"$T/admin/unit"
	echo 'the admin'"'"'s own xinetd entry' >"$T/admin/xinetd"
	ln -sf "$T/admin/unit" "$d/$u"
	ln -sf "$T/admin/xinetd" "$d/$x"
	make -s -C "$REPO" install INSTALL_BUILD="$T/install-build" DESTDIR="$d" >>"$T/make.log"
	[ "$(cat "$T/admin/unit")" = "the admin's own unit" ]
	[ "$(cat "$T/admin/xinetd")" = "the admin's own xinetd entry" ]
	[ ! -L "$d/$u" ]
	cmp "$REPO/conf/imapexec@.service" "$d/$u"
	[ "$(stat -c %a "$d/$u")" = 644 ]
	[ "$(stat -c %a "$d/$x")" = 644 ]
	make -s -C "$REPO" uninstall INSTALL_BUILD="$T/install-build" DESTDIR="$d" >>"$T/make.log"
}
