#!/usr/bin/env bats
# The Debian packages (make deb, scripts/debian/; README, "Debian
# package"): built from a clean clone of the committed tree, lintian clean,
# reproducible, then installed on this machine with apt-get, used (the
# README's quick start, an EXECUTE session through the installed socket
# unit, the xinetd entry), upgraded with a changed conffile, removed and
# purged, leaving nothing.
#
# The packages go into the real system (/usr/sbin/imapexec,
# /usr/bin/imapexec-run, /usr/libexec/imapexec, /etc/imapexec.conf,
# /etc/xinetd.d/imapexec, /lib/systemd/system/imapexec*).  No other test
# file uses those paths: they run src/imapexec, build/asan/imapexec or a
# make install under a DESTDIR or PREFIX of their own, with the config
# given by -c, and IMX_PATH has no /usr/sbin; so files running beside this
# one are not disturbed.  Two runs of this file at once would install the
# same packages: setup_file takes a lock on /var/lib/dpkg (root's
# directory; flock(1), which dpkg itself does not use) and holds it until
# teardown_file has purged them, whether the tests passed or not.
# scripts/check.sh runs this file in the release suite only (ONCE): the
# packages build their own binaries, the sanitizer suite would only repeat
# it, waiting for the lock.

load deploy
# hooks: setup_file, teardown_file, setup and teardown of this file's own
# (below), using deploy.bash's

PKGS=(imapexec imapexec-run)

# deb_apt ARGS...: apt-get without questions or stdin; it waits for a
# dpkg lock another program holds (at most 10 min).
deb_apt() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q \
		-o DPkg::Lock::Timeout=600 "$@" </dev/null
}

# deb_dpkg ARGS...: dpkg without stdin, retried (every 5 s, at most
# 10 min) while another program holds dpkg's lock.  Returns dpkg's status.
deb_dpkg() {
	local rc err=$DEP_RUN/dpkg.err
	for _ in $(seq 120); do
		rc=0
		DEBIAN_FRONTEND=noninteractive dpkg "$@" </dev/null 2>"$err" || rc=$?
		cat "$err" >&2
		[ "$rc" -ne 0 ] && grep -q -i lock "$err" || return "$rc"
		sleep 5
	done
	return "$rc"
}

# deb_status PKG: dpkg's state of PKG (installed, config-files, ...), or
# nothing when dpkg does not know it.
deb_status() {
	local s
	s=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || s=
	[ "$s" = not-installed ] || echo "$s"
}

# deb_snapshot: every path named *imapexec* under /etc, /lib, /usr and
# /var (but the tests' run directories in /var/tmp), sorted.
deb_snapshot() {
	find /etc /lib /usr /var -xdev -path /var/tmp -prune -o \
		-name '*imapexec*' -print 2>/dev/null | LC_ALL=C sort
}

# deb_accounts: the passwd and group entries that mention imapexec (name,
# comment or home), but the tests' own (imxt-*): other files, and other
# programs on the machine, make and remove accounts meanwhile.
deb_accounts() {
	{ getent passwd; getent group; } | grep -i imapexec |
		grep -v '^imxt-' | LC_ALL=C sort || true
}

# deb_build DIR [make args]: clone the committed tree into DIR, make deb
# there; the packages are in DIR/build/deb.  Every build is of the commit
# setup_file saw ($DEB_COMMIT): a commit meanwhile (a merge while make
# check runs) changes the version date, and the builds would differ.
deb_build() {
	local dir=$1
	shift
	git clone -q "$REPO" "$dir"
	git -C "$dir" checkout -q --detach "$DEB_COMMIT"
	make -s -C "$dir" deb "$@" >"$dir.log" 2>&1 || {
		tail -n 40 "$dir.log" >&2
		return 1
	}
}

# deb_files DEB: the files and links of the package DEB, sorted.
deb_files() {
	dpkg-deb -c "$1" | awk '/^[-l]/ { print $6 }' | LC_ALL=C sort
}

# deb_imap PORT CMD...: one connection to 127.0.0.1:PORT; after the
# greeting each CMD is sent (tagged a, b, ...) once the previous one has
# its tagged response.  Prints every line received; fails without a
# tagged OK for each.
deb_imap() {
	"$PYTHON" - "$@" <<-'EOF'
		import socket, sys
		s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 20)
		f = s.makefile("rb")
		def line():
		    l = f.readline()
		    if not l:
		        sys.exit("connection closed")
		    sys.stdout.write(l.decode("utf-8", "replace"))
		    return l
		line()
		for i, cmd in enumerate(sys.argv[2:]):
		    tag = chr(ord("a") + i)
		    s.sendall(("%s %s\r\n" % (tag, cmd)).encode())
		    while True:
		        l = line()
		        if l.startswith((tag + " ").encode()):
		            break
		    if not l.startswith((tag + " OK").encode()):
		        sys.exit("not OK: " + l.decode("utf-8", "replace"))
	EOF
}

# deb_daemon NAME CMD...: dep_daemon in $T (so that tests/reap-runs.sh
# finds it by its working directory if the run is killed), without the
# lock on /var/lib/dpkg (a daemon left must not hold it).
deb_daemon() {
	cd "$T" && dep_daemon "$@" {DEB_LOCK}<&-
}

# deb_unit KEY FILE: the values of KEY= in the unit FILE, one a line.
deb_unit() {
	sed -n "s/^$1=//p" "$2"
}

setup_file() {
	dep_require_root
	if ! git -C "$REPO" rev-parse HEAD >/dev/null 2>&1; then
		skip "not a git checkout: make deb is tested from a clone"
	fi
	DEB_COMMIT=$(git -C "$REPO" rev-parse HEAD)
	export DEB_COMMIT
	exec {DEB_LOCK}</var/lib/dpkg
	flock -w 1800 "$DEB_LOCK"
	export DEB_LOCK
	local p
	for p in "${PKGS[@]}"; do
		[ -z "$(deb_status "$p")" ] || {
			echo "# $p is known to dpkg here already ($(deb_status "$p")):" \
				"these tests would replace it; dpkg -P it if a test left it" >&2
			return 1
		}
	done
	export DEB_OURS=1
	# a run killed before its teardown_file: tests/reap-runs.sh purges them
	for p in "${PKGS[@]}"; do
		imx_record "dpkg $p"
	done
	dep_setup_file
	deb_snapshot >"$DEP_RUN/before"
	deb_accounts >"$DEP_RUN/accounts-before"
	VERSION=$(sed -n 's/^VERSION =[[:space:]]*//p' "$REPO/Makefile")
	ARCH=$(dpkg --print-architecture)
	export VERSION ARCH DEBS=$DEP_RUN/debs
	mkdir -p "$DEBS"
	chmod 755 "$DEBS"
}

# teardown_file: the packages purged (whatever the tests did), the lock
# released, the run's accounts and directory removed.
teardown_file() {
	if [ "${DEB_OURS:-}" = 1 ]; then
		local p left=
		for p in "${PKGS[@]}"; do
			[ -z "$(deb_status "$p")" ] || left="$left $p"
		done
		# shellcheck disable=SC2086 # one package a word
		[ -z "$left" ] || deb_dpkg -P $left >&2 || true
	fi
	[ -z "${DEB_LOCK:-}" ] || flock -u "$DEB_LOCK"
	dep_teardown_file
}

setup() {
	T=$(mktemp -d "$DEP_RUN/test.XXXXXX")
	chmod 755 "$T"
}

teardown() { dep_teardown; }

@test "make deb from a clean clone: imapexec and imapexec-run, the Makefile's version, their files" {
	deb_build "$DEP_RUN/a"
	local d=$DEP_RUN/a/build/deb p
	for p in "${PKGS[@]}"; do
		cp "$d/${p}_$VERSION-1_$ARCH.deb" "$DEBS/"
		[ "$(dpkg-deb -f "$DEBS/${p}_$VERSION-1_$ARCH.deb" Version)" = "$VERSION-1" ]
	done
	cp "$d/imapexec_$VERSION-1_${ARCH}.changes" "$d"/*dbgsym* "$d"/*.buildinfo \
		"$d"/*_all.deb "$DEBS/"
	local deb=$DEBS/imapexec_$VERSION-1_$ARCH.deb
	# Depends from the binaries (dpkg-shlibdeps), python3 for the services
	dpkg-deb -f "$deb" Depends | grep -q 'libconfig9.*zlib1g'
	dpkg-deb -f "$deb" Depends | grep -q 'python3'
	[ "$(dpkg-deb -f "$deb" Suggests)" = "dovecot-imapd, dovecot-sieve, postfix" ]
	dpkg-deb -f "$DEBS/imapexec-run_$VERSION-1_$ARCH.deb" Depends | grep -q libtls
	# the conffiles
	dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles >"$T/conffiles"
	diff -u - "$T/conffiles" <<-'EOF'
		/etc/imapexec.conf
		/etc/xinetd.d/imapexec
	EOF
	deb_files "$deb" >"$T/files"
	diff -u - "$T/files" <<-'EOF'
		./etc/imapexec.conf
		./etc/xinetd.d/imapexec
		./lib/systemd/system/imapexec.socket
		./lib/systemd/system/imapexec@.service
		./usr/libexec/imapexec/blacklist
		./usr/libexec/imapexec/calendar
		./usr/libexec/imapexec/smtp
		./usr/libexec/imapexec/voicemail
		./usr/libexec/imapexec/whitelist
		./usr/sbin/imapexec
		./usr/share/doc/imapexec/README.gz
		./usr/share/doc/imapexec/changelog.Debian.gz
		./usr/share/doc/imapexec/copyright
		./usr/share/doc/imapexec/examples/demo.sh
		./usr/share/doc/imapexec/examples/dovecot/90-imapexec-postlogin.conf
		./usr/share/doc/imapexec/examples/imapexec.conf
		./usr/share/doc/imapexec/examples/ssh/authorized_keys
		./usr/share/doc/imapexec/examples/ssh/mbsyncrc
		./usr/share/doc/imapexec/examples/ssh/muttrc
		./usr/share/doc/imapexec/examples/ssh/offlineimaprc
		./usr/share/doc/imapexec/examples/ssh/sshd_config
		./usr/share/doc/imapexec/examples/xinetd.imapexec
		./usr/share/lintian/overrides/imapexec
		./usr/share/man/man5/imapexec.conf.5.gz
		./usr/share/man/man8/imapexec.8.gz
	EOF
	deb_files "$DEBS/imapexec-run_$VERSION-1_$ARCH.deb" >"$T/files"
	diff -u - "$T/files" <<-'EOF'
		./usr/bin/imapexec-run
		./usr/share/doc/imapexec-run/changelog.Debian.gz
		./usr/share/doc/imapexec-run/copyright
		./usr/share/lintian/overrides/imapexec-run
		./usr/share/man/man1/imapexec-run.1.gz
	EOF
	# the client add-ons: packages of their own, for any architecture
	local tb=$d/imapexec-thunderbird_$VERSION-1_all.deb
	local rc=$d/roundcube-plugin-imapexec_$VERSION-1_all.deb
	[ "$(dpkg-deb -f "$tb" Architecture)" = all ]
	[ "$(dpkg-deb -f "$rc" Architecture)" = all ]
	deb_files "$tb" >"$T/files"
	diff -u - "$T/files" <<-'EOF'
		./usr/share/doc/imapexec-thunderbird/changelog.Debian.gz
		./usr/share/doc/imapexec-thunderbird/copyright
		./usr/share/imapexec/imapexec-thunderbird.xpi
		./usr/share/lintian/overrides/imapexec-thunderbird
	EOF
	# the add-on is the tree's, a zip Thunderbird can read
	dpkg-deb -x "$tb" "$T/tb"
	unzip -l "$T/tb/usr/share/imapexec/imapexec-thunderbird.xpi" |
		grep -q ' manifest.json$'
	deb_files "$rc" >"$T/files"
	(cd "$REPO/src/roundcube/imapexec" && find . -type f | LC_ALL=C sort |
		sed 's|^\.|./usr/share/imapexec/roundcube/imapexec|') >"$T/rc-want"
	grep '^./usr/share/imapexec/' "$T/files" | diff -u "$T/rc-want" -
	! grep -v -e '^./usr/share/imapexec/roundcube/imapexec/' \
		-e '^./usr/share/doc/roundcube-plugin-imapexec/' \
		-e '^./usr/share/lintian/overrides/roundcube-plugin-imapexec$' \
		"$T/files"
}

@test "lintian: no error and no warning; each override has its reason" {
	dep_require lintian
	local changes=$DEBS/imapexec_$VERSION-1_$ARCH.changes
	[ -f "$changes" ]
	# as an unprivileged account (lintian warns about root); an error
	# fails it (its status), so does a warning (the E:/W: lines: with
	# --show-overrides, --fail-on warning counts the overridden ones too)
	setpriv --reuid="$DEP_USER" --regid="$DEP_USER" --init-groups \
		env -i HOME="$DEP_HOME" PATH="$IMX_PATH" \
		lintian --fail-on error --show-overrides "$changes" \
		>"$T/lintian.out" 2>&1 || {
		cat "$T/lintian.out" >&2
		false
	}
	cat "$T/lintian.out" >&2
	! grep -E '^[EW]: ' "$T/lintian.out" || false
	# every override shown (O:) comes after its reason (N:)
	! grep -B1 '^O: ' "$T/lintian.out" | grep -v -E '^(N|O): |^--$' || false
}

@test "reproducible: a build in another clone at another path gives the same bytes" {
	deb_build "$DEP_RUN/elsewhere/b"
	local f n=0
	for f in "$DEP_RUN"/elsewhere/b/build/deb/*.deb; do
		cmp "$f" "$DEBS/${f##*/}" || {
			echo "# $f differs" >&2
			false
		}
		n=$((n + 1))
	done
	# imapexec, imapexec-run, their -dbgsym packages, and the add-ons'
	[ "$n" -eq 6 ]
}

@test "apt-get install: the programs, the config, units and xinetd entry disabled, no account made" {
	local f
	# what of the packages' paths exists before (dirs as /usr/sbin)
	for f in "$DEBS"/imapexec_"$VERSION"-1_"$ARCH".deb "$DEBS"/imapexec-run_"$VERSION"-1_"$ARCH".deb; do
		dpkg-deb -c "$f" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | grep .
	done | LC_ALL=C sort -u >"$DEP_RUN/paths"
	while read -r f; do
		[ ! -e "$f" ] && [ ! -L "$f" ] || echo "$f"
	done <"$DEP_RUN/paths" >"$DEP_RUN/paths-before"
	deb_apt install "$DEBS/imapexec_$VERSION-1_$ARCH.deb" \
		"$DEBS/imapexec-run_$VERSION-1_$ARCH.deb" >"$T/apt.log" 2>&1 || {
		cat "$T/apt.log" >&2
		false
	}
	[ "$(deb_status imapexec)" = installed ]
	[ "$(deb_status imapexec-run)" = installed ]
	# nothing else installed (deps.sh has the dependencies and
	# Recommends): dpkg -P leaves the machine as it was
	grep -q ' 2 newly installed' "$T/apt.log" || {
		grep -A5 NEW "$T/apt.log" >&2
		false
	}
	# the version of the tree's Makefile
	[ "$(/usr/sbin/imapexec -V)" = "imapexec $VERSION" ]
	[ "$(/usr/bin/imapexec-run -V)" = "imapexec-run $VERSION" ]
	# the binary reads /etc/imapexec.conf, the shipped one, which is valid
	/usr/sbin/imapexec -t >"$T/t.out" 2>&1 || { cat "$T/t.out" >&2; false; }
	cmp /etc/imapexec.conf /usr/share/doc/imapexec/examples/imapexec.conf
	grep -q '"/usr/libexec/imapexec/blacklist"' /etc/imapexec.conf
	man -w 8 imapexec | grep -qx /usr/share/man/man8/imapexec.8.gz
	man -w 5 imapexec.conf | grep -qx /usr/share/man/man5/imapexec.conf.5.gz
	man -w 1 imapexec-run | grep -qx /usr/share/man/man1/imapexec-run.1.gz
	# the units: valid, with make install's safe defaults, not enabled;
	# their Documentation= found in a copy of the installed pages (man
	# formats the pages of /usr/share/man into /var/cache/man, which
	# dpkg -P leaves)
	mkdir -p "$T/man/man5" "$T/man/man8"
	cp /usr/share/man/man5/imapexec.conf.5.gz "$T/man/man5/"
	cp /usr/share/man/man8/imapexec.8.gz "$T/man/man8/"
	MANPATH=$T/man systemd-analyze verify \
		/lib/systemd/system/imapexec.socket \
		/lib/systemd/system/imapexec@.service >"$T/verify.log" 2>&1 || {
		cat "$T/verify.log" >&2
		false
	}
	# verify runs man for Documentation=: no page formatted into man-db's
	# cache, which dpkg -P would leave (ctime: man gives them the
	# page's mtime)
	[ -z "$(find /var/cache/man -name '*imapexec*' -cnewer "$DEP_RUN/before")" ]
	[ "$(deb_unit ListenStream /lib/systemd/system/imapexec.socket)" = "127.0.0.1:143
[::1]:143" ]
	[ "$(deb_unit User /lib/systemd/system/imapexec@.service)" = vmail ]
	# make install's units for PREFIX=/usr, byte for byte
	cmp "$REPO/conf/imapexec.socket" /lib/systemd/system/imapexec.socket
	sed 's|/usr/local/sbin/imapexec|/usr/sbin/imapexec|g' "$REPO/conf/imapexec@.service" |
		cmp - /lib/systemd/system/imapexec@.service
	[ -z "$(find /etc/systemd -name 'imapexec*')" ]
	run systemctl is-enabled imapexec.socket
	[ "$output" = disabled ]
	# the Dovecot snippet is an example only: no running mail server changes
	[ -f /usr/share/doc/imapexec/examples/dovecot/90-imapexec-postlogin.conf ]
	[ -z "$(find /etc/dovecot -name '*imapexec*' 2>/dev/null)" ]
	# no system account: none made, no maintainer script that would
	deb_accounts | diff -u "$DEP_RUN/accounts-before" -
	! cat /var/lib/dpkg/info/imapexec.[pr]* /var/lib/dpkg/info/imapexec-run.[pr]* \
		2>/dev/null | grep -E 'adduser|useradd|addgroup|groupadd' || false
	dpkg -L "${PKGS[@]}" >"$DEP_RUN/listed"
}

@test "xinetd: the installed entry is disabled; with disable = no it serves EXECUTE" {
	dep_require xinetd
	grep -q '^[[:space:]]*disable[[:space:]]*= yes$' /etc/xinetd.d/imapexec
	! grep -q '^[[:space:]]*disable[[:space:]]*= no' /etc/xinetd.d/imapexec || false
	PORT=$(imx_free_port)
	# the installed entry with this test's port and user; config and
	# Dovecot of this test's own
	"$PYTHON" "$DEP_DIR/mkmaildir.py" "$T/Maildir" 5 --small >/dev/null
	dep_dovecot_conf "$T/dovecot.conf" "$T/Maildir"
	printf 'backend = [ "%s", "-c", "%s" ];\n' "$DOVECOT_IMAP" "$T/dovecot.conf" >"$T/imapexec.conf"
	cat >>"$T/imapexec.conf" <<-'EOF'
		services = ( { name = "hello"; exec = [ "/bin/echo", "hello" ]; args = { max = 0; }; } );
	EOF
	chown -R "$DEP_USER:$DEP_USER" "$T"
	sed -e "s|^\(\s*port\s*=\).*|\1 $PORT|" -e "s|^\(\s*user\s*=\).*|\1 $DEP_USER|" \
		-e "s|^#\(\s*server_args\s*=\).*|\1 -c $T/imapexec.conf|" \
		/etc/xinetd.d/imapexec >"$T/xinetd.off"
	deb_daemon xinetd-off xinetd -dontfork -filelog "$T/xinetd-off.filelog" \
		-f "$T/xinetd.off" -pidfile "$T/xinetd-off-own.pid"
	imx_wait_for grep -q 'Started working: 0 available services' "$T/xinetd-off.filelog"
	! imx_listens "$DEP_LAST_PID" "$PORT" || false
	sed 's/^\(\s*disable\s*=\) yes$/\1 no/' "$T/xinetd.off" >"$T/xinetd.on"
	deb_daemon xinetd-on xinetd -dontfork -filelog "$T/xinetd-on.filelog" \
		-f "$T/xinetd.on" -pidfile "$T/xinetd-on-own.pid"
	dep_wait_listen "$PORT"
	run timeout 30 /usr/bin/imapexec-run -t "socat - TCP:127.0.0.1:$PORT" hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
}

@test "the README's quick start with the installed files (demo.sh, /usr/sbin/imapexec, /usr/libexec/imapexec)" {
	dep_require systemd-socket-activate
	PORT=$(imx_free_port)
	# as an unprivileged account: as root the demo makes a system account
	# of its own, which a test must not leave
	mkdir -p "$T/xdg"
	chown "$DEP_USER:$DEP_USER" "$T/xdg"
	deb_daemon demo setpriv --reuid="$DEP_USER" --regid="$DEP_USER" --init-groups \
		env -i HOME="$DEP_HOME" PATH="$IMX_PATH" XDG_RUNTIME_DIR="$T/xdg" PORT="$PORT" \
		sh /usr/share/doc/imapexec/examples/demo.sh /usr/sbin/imapexec
	dep_wait_listen "$PORT"
	# the demo's services are copies of the installed ones
	cmp /usr/libexec/imapexec/blacklist "$T/xdg/imapexec-demo-$DEP_USER/libexec/blacklist"
	# a to f; the services run in the account's home (from passwd)
	deb_imap "$PORT" CAPABILITY "SELECT INBOX" "FETCH 1 BODY[]" EXECUTE \
		"EXECUTE blacklist add joe@smith.com" "EXECUTE blacklist list" \
		LOGOUT >"$T/session.out" || {
		cat "$T/session.out" >&2
		false
	}
	grep -q '^\* CAPABILITY .* EXECUTE COMPRESS=DEFLATE' "$T/session.out"
	grep -q 'Subject: Welcome to the imapexec demo' "$T/session.out"
	grep -q '^\* EXECUTE SERVICE calendar (INTERACTIVE)' "$T/session.out"
	grep -A1 '^\* EXECUTE (TAG "f") OUT' "$T/session.out" | grep -q 'joe@smith\.com' || {
		cat "$T/session.out" >&2
		false
	}
}

# socket_unit: start the installed socket unit by hand as systemd would
# (its ExecStart, one instance per connection, a clean environment) on
# 127.0.0.1 and a free port instead of 143; sets PORT.  Without systemd
# as init, systemd-socket-activate does it, as root: the unit's User=
# (vmail) set empty in a drop-in, with `user` in /etc/imapexec.conf
# instead (README, "systemd").
socket_unit() {
	local sock=/lib/systemd/system/imapexec.socket
	local svc=/lib/systemd/system/imapexec@.service
	[ "$(deb_unit Accept "$sock")" = yes ]
	deb_unit StandardInput "$svc" | grep -qx socket
	local listen exec
	listen=$(deb_unit ListenStream "$sock" | grep '^127\.0\.0\.1:')
	exec=$(deb_unit ExecStart "$svc")
	[ "$exec" = /usr/sbin/imapexec ]
	PORT=$(imx_free_port)
	deb_daemon socket env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		systemd-socket-activate --inetd -a -l "${listen%:*}:$PORT" "$exec"
	dep_wait_listen "$PORT"
}

@test "the installed socket unit, started by hand, with /etc/imapexec.conf edited: one EXECUTE session" {
	dep_require systemd-socket-activate socat
	# the admin's edit of the conffile: the mail account and its Dovecot
	local m=$DEP_RUN/mail
	mkdir -p "$m"
	"$PYTHON" "$DEP_DIR/mkmaildir.py" "$m/Maildir" 5 --small >/dev/null
	T=$m dep_dovecot_conf "$m/dovecot.conf" "$m/Maildir"
	chown -R "$DEP_USER:$DEP_USER" "$m"
	sed -i -e "s|^backend = .*|backend = [ \"$DOVECOT_IMAP\", \"-c\", \"$m/dovecot.conf\" ];|" \
		-e "s|^#user = .*|user = \"$DEP_USER\";|" /etc/imapexec.conf
	grep -qx "user = \"$DEP_USER\";" /etc/imapexec.conf
	/usr/sbin/imapexec -t
	cp /etc/imapexec.conf "$DEP_RUN/imapexec.conf.edited"
	socket_unit
	# the installed client, the installed service
	run timeout 30 /usr/bin/imapexec-run -t "socat - TCP:127.0.0.1:$PORT" \
		blacklist add joe@smith.com
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
	run timeout 30 /usr/bin/imapexec-run -t "socat - TCP:127.0.0.1:$PORT" blacklist list
	[ "$status" -eq 0 ]
	[ "$output" = joe@smith.com ]
	# the service ran as the mail account, in its home
	[ "$(stat -c %U "$DEP_HOME/.imapexec/blacklist")" = "$DEP_USER" ]
}

@test "upgrade to a rebuilt package with a higher version: the edited conffile is kept, no prompt" {
	[ -f "$DEP_RUN/imapexec.conf.edited" ]
	deb_build "$DEP_RUN/c" DEB_REVISION=2
	local d=$DEP_RUN/c/build/deb
	deb_apt install "$d/imapexec_$VERSION-2_$ARCH.deb" \
		"$d/imapexec-run_$VERSION-2_$ARCH.deb" >"$T/apt.log" 2>&1 || {
		cat "$T/apt.log" >&2
		false
	}
	[ "$(dpkg-query -W -f='${Version}' imapexec)" = "$VERSION-2" ]
	[ "$(dpkg-query -W -f='${Version}' imapexec-run)" = "$VERSION-2" ]
	grep -q "Unpacking imapexec ($VERSION-2) over ($VERSION-1)" "$T/apt.log"
	! grep -i -E "configuration file|conffile|\\*\\*\\*" "$T/apt.log" || false
	cmp "$DEP_RUN/imapexec.conf.edited" /etc/imapexec.conf
	[ -z "$(find /etc -name 'imapexec*.dpkg-*')" ]
	# and the upgraded install still serves the session, with its data
	socket_unit
	run timeout 30 /usr/bin/imapexec-run -t "socat - TCP:127.0.0.1:$PORT" blacklist list
	[ "$status" -eq 0 ]
	[ "$output" = joe@smith.com ]
}

@test "dpkg -r keeps the config, dpkg -P removes it: nothing of the packages is left" {
	[ -s "$DEP_RUN/listed" ]
	deb_dpkg -r "${PKGS[@]}"
	[ "$(deb_status imapexec)" = config-files ]
	# imapexec-run has no conffile: removed is gone
	[ -z "$(deb_status imapexec-run)" ]
	[ ! -e /usr/sbin/imapexec ]
	[ ! -e /usr/bin/imapexec-run ]
	cmp "$DEP_RUN/imapexec.conf.edited" /etc/imapexec.conf
	[ -f /etc/xinetd.d/imapexec ]
	deb_dpkg -P "${PKGS[@]}"
	[ -z "$(deb_status imapexec)" ]
	[ -z "$(deb_status imapexec-run)" ]
	[ ! -e /etc/imapexec.conf ]
	[ ! -e /etc/xinetd.d/imapexec ]
	# every path of the packages is there again only if it was before
	local f
	while read -r f; do
		[ ! -e "$f" ] && [ ! -L "$f" ] || echo "$f"
	done <"$DEP_RUN/paths" | diff -u "$DEP_RUN/paths-before" -
	# and so is everything named *imapexec* (dpkg's and systemd's state)
	deb_snapshot | diff -u "$DEP_RUN/before" -
	deb_accounts | diff -u "$DEP_RUN/accounts-before" -
}
