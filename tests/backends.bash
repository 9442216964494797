# tests/backends.bash - more preauthenticated backends than Dovecot (issue
# 26): GNU Mailutils' imap4d and Courier's imapd.  Load after helper and
# execute.
#
#   BACKENDS              the backends to test (default all three:
#                         "dovecot courier mailutils"); a test of another
#                         one is skipped, saying so
#   bk_want NAME          skip the test unless NAME is in BACKENDS and runs
#                         here (Courier: scripts/courier.sh unpacked it)
#   bk_lacks NAME WHY     skip the test: backend NAME lacks a feature
#   bk_setup_file         the run's templates, one per backend (call after
#                         ex_setup_file)
#   bk_home NAME MODE     a fresh home $T/home.MODE from NAME's template
#   bk_argv NAME HOME     BK_ARGV: NAME's command line for the mail in HOME;
#                         BK_ENV: the environment it needs (NAME=value ...)
#   bk_command NAME MODE HOME  IMX_CMD: MODE (direct|filtered) as the test
#                         user; filtered, imapexec runs NAME as configured
#                         in $T/imapexec.conf (bk_config)
#   bk_config NAME HOME   the backend and backend_env lines of
#                         $T/imapexec.conf for NAME (replacing Dovecot's)
#   bk_session NAME MODE SCRIPT [driver opts]  like imx_session
#   bk_script NAME SCRIPT a session script as NAME can run it, on stdout
#                         (Courier names folders INBOX.Archive)

BACKENDS=${BACKENDS:-dovecot courier mailutils}
COURIER_DIR=${COURIER_DIR:-$REPO/build/courier}
MAILUTILS_IMAP4D=${MAILUTILS_IMAP4D:-/usr/sbin/imap4d}
# Courier's settings that matter to a preauthenticated imapd, as Debian's
# /etc/courier/imapd has them (imapd reads them from its environment).
BK_COURIER_ENV=("IMAP_CAPABILITY=IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"
	"IMAP_KEYWORDS=1" "IMAP_IDLE_TIMEOUT=60" "IMAP_USELOCKS=1")

# bk_want NAME: skip unless NAME is one of BACKENDS and can run here.
bk_want() {
	[[ " $BACKENDS " == *" $1 "* ]] || skip "$1: not in BACKENDS ($BACKENDS)"
	case $1 in
	dovecot) [ -x "$DOVECOT_IMAP" ] || skip "dovecot: no $DOVECOT_IMAP" ;;
	courier)
		[ -x "$COURIER_DIR/imapd" ] ||
			skip "courier: not unpacked (run sh scripts/courier.sh)"
		;;
	mailutils)
		[ -x "$MAILUTILS_IMAP4D" ] ||
			skip "mailutils: no $MAILUTILS_IMAP4D (apt-get install mailutils-imap4d)"
		;;
	*) skip "$1: unknown backend" ;;
	esac
	imx_require_binary
}

# bk_lacks NAME WHY: skip, naming the backend and what it lacks.
bk_lacks() {
	skip "$1: $2"
}

# bk_setup_file: $IMX_RUN/template.NAME for each backend of BACKENDS,
# made from the Dovecot template (the same messages and flags), opened
# once by that backend so that its own indexes (UIDVALIDITY, UIDs) exist
# and every copy starts alike.
bk_setup_file() {
	local b tpl
	for b in $BACKENDS; do
		tpl=$IMX_RUN/template.$b
		case $b in
		dovecot) ln -s template "$tpl" ;;
		courier)
			[ -x "$COURIER_DIR/imapd" ] || continue
			cp -a "$IMX_RUN/template" "$tpl"
			find "$tpl/Maildir" -name 'dovecot*' -exec rm -rf {} +
			;;
		mailutils)
			[ -x "$MAILUTILS_IMAP4D" ] || continue
			mkdir -p "$tpl/mail"
			cp -a "$IMX_RUN/template/Maildir" "$tpl/mail/INBOX"
			mv "$tpl/mail/INBOX/.Archive" "$tpl/mail/Archive"
			find "$tpl/mail" -name 'dovecot*' -exec rm -rf {} +
			find "$tpl/mail" -maxdepth 2 -name '.*' -type d \
				-exec rm -rf {} + 2>/dev/null || true
			imx_own "$tpl"
			;;
		esac
		[ "$b" = dovecot ] && continue
		bk_argv "$b" "$tpl"
		imx_own "$tpl"
		# opened once: the backend's own state is in the template
		printf '%s\n' "> a SELECT $(bk_folder "$b")" 'wait a OK' \
			'> b SELECT INBOX' 'wait b OK' '> c LOGOUT' 'wait c OK' \
			>"$IMX_RUN/open.$b.txt"
		T=$IMX_RUN bk_command "$b" direct "$tpl"
		"$PYTHON" "$DRIVER" --out "$IMX_RUN/template.$b.out" \
			--log "$IMX_RUN/template.$b.log" "$IMX_RUN/open.$b.txt" -- \
			"${IMX_CMD[@]}" 2>"$IMX_RUN/template.$b.err" || {
			echo "# opening the $b template failed:" >&2
			cat "$IMX_RUN/template.$b.err" "$IMX_RUN/template.$b.out" >&2
			return 1
		}
	done
}

# bk_folder NAME: the template's second folder as NAME names it.
bk_folder() {
	case $1 in
	courier) echo INBOX.Archive ;;
	*) echo Archive ;;
	esac
}

# bk_home NAME MODE: a fresh copy of NAME's template as $T/home.MODE
# (Mailutils gets its config file there: the paths are the home's).
bk_home() {
	local home=$T/home.$2
	rm -rf "$home"
	cp -a "$IMX_RUN/template.$1/." "$home"
	imx_own "$home"
}

# bk_argv NAME HOME: BK_ARGV and BK_ENV for NAME with the mail in HOME.
bk_argv() {
	BK_ENV=()
	case $1 in
	dovecot)
		imx_write_dovecot_conf "$2/dovecot.conf" "$2/Maildir"
		BK_ARGV=("$DOVECOT_IMAP" -c "$2/dovecot.conf")
		;;
	courier)
		BK_ARGV=("$COURIER_DIR/imapd" "$2/Maildir")
		BK_ENV=("${BK_COURIER_ENV[@]}")
		;;
	mailutils)
		bk_mailutils_conf "$2"
		BK_ARGV=("$MAILUTILS_IMAP4D" --preauth "--config-file=$2/imap4d.conf")
		;;
	esac
}

# bk_mailutils_conf HOME: HOME/imap4d.conf: INBOX is HOME/mail/INBOX, the
# other folders are beside it (all Maildirs), no other namespaces, the
# log on stderr.
bk_mailutils_conf() {
	cat >"$1/imap4d.conf" <<-EOF
		logging { syslog false; };
		mailbox {
		  mailbox-type maildir;
		  mailbox-pattern "$1/mail/INBOX";
		};
		namespace personal {
		  prefix "" {
		    directory "$1/mail";
		    delimiter "/";
		    mailbox-type maildir;
		  };
		};
	EOF
	chmod 644 "$1/imap4d.conf"
}

# bk_config NAME HOME: $T/imapexec.conf runs NAME for HOME: its backend
# line replaced, and NAME's environment as backend_env.
bk_config() {
	local line e
	bk_argv "$1" "$2"
	line='backend = ['
	for e in "${BK_ARGV[@]}"; do
		line+=" \"$e\","
	done
	line="${line%,} ];"
	if [ "${#BK_ENV[@]}" -gt 0 ]; then
		line+=' backend_env = ['
		for e in "${BK_ENV[@]}"; do
			line+=" \"$e\","
		done
		line="${line%,} ];"
	fi
	grep -v '^backend = ' "$T/imapexec.conf" >"$T/imapexec.conf.new"
	{
		echo "$line"
		cat "$T/imapexec.conf.new"
	} >"$T/imapexec.conf"
	rm -f "$T/imapexec.conf.new"
	"$IMAPEXEC" -t -c "$T/imapexec.conf" >/dev/null 2>&1 ||
		"$IMAPEXEC" -t -c "$T/imapexec.conf" >&2
}

# bk_command NAME MODE HOME: IMX_CMD runs MODE for NAME as the test user
# with a clean environment: direct, NAME's command line with its
# environment; filtered, imapexec -d with $T/imapexec.conf, which names
# the backend (bk_config).
bk_command() {
	local name=$1 mode=$2 home=$3 v
	bk_argv "$name" "$home"
	IMX_CMD=(env -i "HOME=$home" "USER=$IMX_USER" "LOGNAME=$IMX_USER"
		"PATH=$IMX_PATH")
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -z "${!v:-}" ] || IMX_CMD+=("$v=${!v}")
	done
	if [ "$EUID" -eq 0 ]; then
		IMX_CMD=(setpriv --reuid="$IMX_USER" --regid="$IMX_USER"
			--init-groups "${IMX_CMD[@]}")
	fi
	if [ "$mode" = filtered ]; then
		bk_config "$name" "$home"
		IMX_CMD+=("$IMAPEXEC" -d -c "$T/imapexec.conf")
	else
		IMX_CMD+=("${BK_ENV[@]}" "${BK_ARGV[@]}")
	fi
}

# bk_script NAME SCRIPT: SCRIPT as NAME runs it, written to
# $T/NAME.SCRIPT; prints that path.  Courier's folders are below INBOX.
# Other backends than Dovecot answer some commands otherwise (Mailutils
# refuses the keyword $Important): a wait takes any status, as the
# comparison with the direct run checks them all.
bk_script() {
	local src=$2 out
	case $src in /*) ;; *) src=$SESSIONS/$src ;; esac
	out=$T/$1.$(basename "$src")
	case $1 in
	courier) sed -E 's/(^|[ "\/])Archive\b/\1INBOX.Archive/g' "$src" >"$out" ;;
	*) cp "$src" "$out" ;;
	esac
	# Mailutils reads an APPEND's literal before it looks for the mailbox
	# ("+" to a missing one); a literal8 it refuses at once.
	[ "$1:$(basename "$src")" != mailutils:rejected.txt ] ||
		sed -i '/ r[12] /d' "$out"
	[ "$1" = dovecot ] || sed -i -E 's/^wait ([^ +]+) (OK|NO|BAD)$/wait \1/' "$out"
	# data blocks read from files relative to the script's directory
	sed -i "s|< \.\./data/|< $REPO/tests/data/|" "$out"
	echo "$out"
}

# bk_session NAME MODE SCRIPT [driver opts]: run SCRIPT against NAME,
# direct or through imapexec, on a fresh home; like imx_session.
bk_session() {
	local name=$1 mode=$2 script=$3
	shift 3
	local home=$T/home.$mode
	bk_home "$name" "$mode"
	: >"$T/$mode.log"
	imx_own "$T/$mode.log"
	bk_command "$name" "$mode" "$home"
	local rc=0
	"$PYTHON" "$DRIVER" "$@" --out "$T/$mode.out" --log "$T/$mode.log" \
		"$script" -- "${IMX_CMD[@]}" 2>"$T/$mode.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "# $name $mode session $script failed (driver status $rc):" >&2
		sed 's/^/#   /' "$T/$mode.err" "$T/$mode.log" >&2
		tail -c 1500 "$T/$mode.out" | sed 's/^/#   > /' >&2
	fi
	return "$rc"
}
