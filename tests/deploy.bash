# tests/deploy.bash - helpers for the deployment suites (6x-*.bats): real
# launchers (xinetd, systemd-socket-activate, sshd) and real mail clients
# in front of imapexec and Dovecot's preauthenticated imap.
#
# Load with `load deploy` (it loads helper for REPO, IMAPEXEC, PYTHON,
# DOVECOT_IMAP).  These suites need root: sshd and xinetd switch users.
# The deploy user has a real shell and home (sshd runs commands with the
# user's shell, and nologin refuses them); its home only holds ~/.ssh,
# the mail of each test lives in $T.

load helper

DEP_USER=${DEP_USER:-}
DEP_HOME=${DEP_HOME:-}
DEP_DIR=$REPO/tests/deploy

dep_require_root() {
	[ "$EUID" -eq 0 ] || skip "the deployment tests need root"
}

# dep_require CMD...: fail (not skip: make check installs them) if missing.
dep_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || {
			echo "# $c is missing (scripts/deps.sh test installs it)" >&2
			return 1
		}
	done
}

# dep_ensure_user: the deploy account of this run's own, imxt-ID-d, with
# a shell and the home $DEP_RUN/home (DEP_RUN must exist).
dep_ensure_user() {
	DEP_HOME=$DEP_RUN/home
	mkdir -p "$DEP_HOME/.ssh"
	DEP_USER=$(imx_account d --home-dir "$DEP_HOME" --shell /bin/sh) ||
		return 1
	# sshd (UsePAM no) refuses accounts whose password is locked ("!")
	imx_retry usermod -p '*' "$DEP_USER"
	chown "$DEP_USER:$DEP_USER" "$DEP_HOME" "$DEP_HOME/.ssh"
	chmod 755 "$DEP_HOME"
	chmod 700 "$DEP_HOME/.ssh"
	export DEP_USER DEP_HOME
}

# setup_file: a run directory, the user and copies of the test services
# (the checkout may not be readable by the deploy user).
dep_setup_file() {
	[ "$EUID" -eq 0 ] || return 0
	DEP_RUN=$(imx_run_dir deploy) || return 1
	export DEP_RUN
	dep_ensure_user
	mkdir -p "$DEP_RUN/bin"
	cp "$DEP_DIR/whereami.sh" "$DEP_DIR/echo.sh" "$DEP_RUN/bin/"
	chmod -R a+rX "$DEP_RUN/bin"
}

# teardown_file: the run's accounts and processes, then its directory.
dep_teardown_file() {
	imx_drop_accounts
	[ -z "${DEP_RUN:-}" ] || [ "${IMX_KEEP:-0}" = 1 ] || rm -rf "$DEP_RUN"
	imx_run_end
}

# setup: $T with a Maildir of a few small messages, a Dovecot config for
# it and an imapexec config with two services (whereami, echo).
dep_setup() {
	dep_require_root
	imx_require_binary
	T=$(mktemp -d "$DEP_RUN/test.XXXXXX")
	chmod 755 "$T"
	"$PYTHON" "$DEP_DIR/mkmaildir.py" "$T/Maildir" 30 --small >/dev/null
	dep_dovecot_conf "$T/dovecot.conf" "$T/Maildir"
	dep_imapexec_conf "$T/imapexec.conf" "$T/dovecot.conf"
	chown -R "$DEP_USER:$DEP_USER" "$T"
}

# dep_dovecot_conf FILE MAILDIR
dep_dovecot_conf() {
	{
		echo "mail_location = maildir:$2"
		echo 'ssl = no'
		echo "log_path = $T/dovecot.log"
		echo "info_log_path = $T/dovecot.log"
	} >"$1"
	chmod 644 "$1"
}

# dep_imapexec_conf FILE DOVECOT_CONF
dep_imapexec_conf() {
	cat >"$1" <<-CONF
		backend = [ "$DOVECOT_IMAP", "-c", "$2" ];
		user = "$DEP_USER";
		services = (
			{
				name = "whereami";
				description = "Where the client connects from";
				exec = [ "$DEP_RUN/bin/whereami.sh" ];
				args = { max = 0; };
			},
			{
				name = "echo";
				description = "Print the arguments";
				exec = [ "$DEP_RUN/bin/echo.sh" ];
				args = { max = 4; };
			}
		);
	CONF
	chmod 644 "$1"
}

# The sanitizer settings of the run, as NAME=value words (for env, SetEnv).
dep_san_env() {
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -z "${!v:-}" ] || printf '%s=%s\n' "$v" "${!v}"
	done
}

# dep_wait_listen PORT: poll (at most 15 s) until the daemon started last
# with dep_daemon listens on TCP PORT (IPv4 or IPv6) itself, without
# connecting to it: a suite beside ours may have bound the port first.
dep_wait_listen() {
	imx_listens "$DEP_LAST_PID" "$1" 15 && return 0
	echo "# the daemon (pid $DEP_LAST_PID) does not listen on port $1" >&2
	return 1
}

# dep_daemon NAME CMD...: start a foreground daemon in the background, its
# output in $T/NAME.log, its pid in $T/NAME.pid (killed by dep_teardown)
# and DEP_LAST_PID.
dep_daemon() {
	local name=$1
	shift
	"$@" </dev/null >"$T/$name.log" 2>&1 3>&- &
	DEP_LAST_PID=$!
	echo "$DEP_LAST_PID" >"$T/$name.pid"
}

# dep_stop_daemons: TERM every daemon started with dep_daemon (and any
# pidfile a daemon wrote itself), KILL after 5 s.
dep_stop_daemons() {
	local f pid
	for f in "$T"/*.pid; do
		[ -s "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# Processes of the deploy user left behind (imapexec, Dovecot, services).
dep_assert_no_leftovers() {
	local left
	for _ in $(seq 50); do
		left=$(ps -u "$DEP_USER" -o pid=,stat=,args= 2>/dev/null || true)
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	echo "# leftover processes of $DEP_USER:" >&2
	echo "$left" >&2
	return 1
}

# teardown: stop the daemons, show their logs if the test failed, and
# kill whatever the deploy user (this run's own) still runs.
dep_teardown() {
	[ -n "${T:-}" ] || return 0
	dep_stop_daemons
	if [ -n "${BATS_TEST_COMPLETED:-}" ] && [ "${BATS_TEST_COMPLETED}" = 1 ]; then
		:
	else
		local f
		for f in "$T"/*.log; do
			[ -s "$f" ] || continue
			echo "# --- $f" >&2
			tail -n 30 "$f" | sed 's/^/#   /' >&2
		done
	fi
	pkill -KILL -u "$DEP_USER" 2>/dev/null || true
}

# --- sshd -----------------------------------------------------------------

# dep_sshd [EXTRA_CONFIG_FILE]: keys, known_hosts and a client config
# ($T/ssh_config, host alias mail.example.org), then sshd -D on a free
# loopback port.  Sets SSH_PORT.  ~/.ssh/authorized_keys is up to the test.
dep_sshd() {
	mkdir -p /run/sshd && chmod 755 /run/sshd
	mkdir -p "$T/ssh"
	ssh-keygen -q -t ed25519 -N '' -C host -f "$T/ssh/host_key"
	ssh-keygen -q -t ed25519 -N '' -C client -f "$T/ssh/id_client"
	SSH_PORT=$(imx_free_port)
	cat >"$T/ssh/sshd_config" <<-CONF
		Port $SSH_PORT
		ListenAddress 127.0.0.1
		HostKey $T/ssh/host_key
		PidFile $T/sshd.pid
		AuthorizedKeysFile .ssh/authorized_keys
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes yes
		PermitRootLogin no
		AllowUsers $DEP_USER
		AcceptEnv ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
		LogLevel VERBOSE
	CONF
	[ -z "${1:-}" ] || cat "$1" >>"$T/ssh/sshd_config"
	echo "[127.0.0.1]:$SSH_PORT $(cat "$T/ssh/host_key.pub")" \
		>"$T/ssh/known_hosts"
	{
		echo "Host mail.example.org"
		echo "	HostName 127.0.0.1"
		echo "	Port $SSH_PORT"
		echo "	IdentityFile $T/ssh/id_client"
		echo "	IdentitiesOnly yes"
		echo "	UserKnownHostsFile $T/ssh/known_hosts"
		echo "	GlobalKnownHostsFile /dev/null"
		echo "	StrictHostKeyChecking yes"
		echo "	HostKeyAlias [127.0.0.1]:$SSH_PORT"
		echo "	BatchMode yes"
		echo "	LogLevel ERROR"
		local e
		while read -r e; do
			[ -z "$e" ] || echo "	SetEnv $e"
		done < <(dep_san_env)
	} >"$T/ssh_config"
	/usr/sbin/sshd -t -f "$T/ssh/sshd_config"
	dep_daemon sshd /usr/sbin/sshd -D -e -f "$T/ssh/sshd_config"
	dep_wait_listen "$SSH_PORT"
}

# dep_authorized_keys [OPTIONS]: the client key, with OPTIONS in front
# (e.g. restrict,command="...").
dep_authorized_keys() {
	local opts=${1:+$1 }
	echo "$opts$(cat "$T/ssh/id_client.pub")" >"$DEP_HOME/.ssh/authorized_keys"
	chown "$DEP_USER:$DEP_USER" "$DEP_HOME/.ssh/authorized_keys"
	chmod 600 "$DEP_HOME/.ssh/authorized_keys"
}

# dep_shipped_authorized_keys: conf/ssh/authorized_keys with this test's
# imapexec command line and the client key.
dep_shipped_authorized_keys() {
	local line
	line=$(grep -v '^#' "$REPO/conf/ssh/authorized_keys" | grep .)
	line=${line%% ssh-ed25519 *}
	line=${line//\/usr\/local\/sbin\/imapexec/$IMAPEXEC -c $T/imapexec.conf}
	dep_authorized_keys "$line"
}

# dep_client_conf FILE: a shipped client example (conf/ssh/FILE) pointed at
# the test sshd (user, host alias, ssh -F); written to $T/client/FILE.
dep_client_conf() {
	mkdir -p "$T/client/Mail"
	sed -e "s|vmail@mail.example.org|$DEP_USER@mail.example.org|" \
		-e "s|ssh -q |ssh -F $T/ssh_config -q |" \
		-e "s|/usr/local/sbin/imapexec|$IMAPEXEC|" \
		"$REPO/conf/ssh/$1" >"$T/client/$1"
}

# The hooks of a file that loads deploy: the account and run directory;
# a Maildir and configs a test, its daemons stopped after it.
setup_file() { dep_setup_file; }
teardown_file() { dep_teardown_file; }
setup() { dep_setup; }
teardown() { dep_teardown; }
