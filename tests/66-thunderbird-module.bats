#!/usr/bin/env bats
# The Thunderbird add-on's protocol module (src/thunderbird/addon/modules/
# execute-client.mjs) under node --test: against the real imapexec -P
# behind a `dovecot -F` of the file's own (tests/postlogin.bash: TLS,
# STARTTLS, LOGIN, AUTHENTICATE PLAIN, a daemon without the script), and
# its response reader against scripted servers (split reads, literals
# across reads, an unasked "+", a server that never answers).

load helper
load dovecotd
load postlogin
# hooks of the libraries loaded above: setup_file and teardown_file:
# postlogin.bash's; setup: helper.bash's

TB_TESTS=$BATS_TEST_DIRNAME/thunderbird

# tb_module_conf: the services the node tests expect, as the post daemon's
# imapexec config (read anew by every connection).
tb_module_conf() {
	cat >"$PL_DIR/imapexec.conf" <<-'CONF'
		services = (
		  { name = "echo"; description = "print the arguments";
		    exec = [ "/bin/sh", "-c", "for a; do printf '[%s]' \"$a\"; done; echo", "sh" ];
		    args = { max = 16; }; },
		  { name = "fail"; description = "copies stdin, complains, exits 3";
		    exec = [ "/bin/sh", "-c", "cat; echo oops >&2; exit 3" ];
		    stderr = "client"; },
		  { name = "sig"; description = "killed by SIGTERM";
		    exec = [ "/bin/sh", "-c", "kill -TERM $$" ]; },
		  { name = "cat"; description = "echoes its input";
		    exec = [ "/bin/cat" ]; interactive = true; },
		  { name = "bin"; description = "binary output";
		    exec = [ "/usr/bin/printf", "a\\000b\\377\\nc" ]; },
		  { name = "crlfcat"; description = "echoes with CRLF";
		    exec = [ "/bin/cat" ]; interactive = true; eol = "crlf"; },
		  { name = "gruss"; description = "sagt Grüße «hallo»";
		    exec = [ "/bin/true" ]; },
		  { name = "deaf"; description = "reads nothing";
		    exec = [ "/bin/sleep", "3599" ]; interactive = true;
		    idle_timeout = 4; }
		);
	CONF
	"$IMAPEXEC" -t -c "$PL_DIR/imapexec.conf" >&2
}

# tb_node FILE: node --test FILE with the daemons' coordinates.
tb_node() {
	TB_USER=$DD_USER TB_PASSFILE=$PL_DIR/pass1 TB_CA=$DD_CA \
		TB_OTHER_CA=$PL_DIR/direct/other-ca.crt \
		TB_POST_IMAP=$PL_P_IMAP TB_POST_IMAPS=$PL_P_IMAPS \
		TB_DIRECT_IMAPS=$PL_D_IMAPS \
		timeout 120 node --test --test-reporter=tap "$TB_TESTS/$1"
}

@test "module: the protocol module against imapexec -P and Dovecot" {
	pl_skip
	command -v node >/dev/null || skip "no node"
	pl_fresh
	tb_module_conf
	run tb_node client.test.mjs
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"# fail 0"* ]]
	# the sessions are over: no imapexec of theirs is left, and no
	# service ("deaf": sleep 3599, canceled by closing the connection;
	# imapexec, which holds the client's input while the service reads
	# none, sees the hang-up only at its next write: at the latest its
	# idle_timeout ends it)
	imx_wait_for pl_gone
	imx_wait_for tb_no_deaf
}

# tb_no_deaf: no "deaf" service (sleep 3599) of the user runs.
tb_no_deaf() {
	! pgrep -u "$DD_USER" -fx '/bin/sleep 3599' >/dev/null
}

# tb_node_test FILE SECONDS: node --test FILE, no daemons; every test passes.
tb_node_test() {
	command -v node >/dev/null || skip "no node"
	run timeout "$2" node --test --test-reporter=tap "$TB_TESTS/$1"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"# fail 0"* ]]
	[[ "$output" != *"# todo "[1-9]* ]]
}

@test "module: the response reader and the client against scripted servers" {
	tb_node_test reader.test.mjs 120
}

@test "module: the services page's output pane: bounded, cut whole characters, few elements" {
	tb_node_test services-pane.test.mjs 60
	[[ "$output" == *"# pass 5"* ]]
}
