#!/usr/bin/env bats
# A Node client with imapflow (from npm, tests/node/package-lock.json)
# discovers and runs EXECUTE services through imapexec, served by
# systemd-socket-activate --inetd with the shipped unit's command line.
# tests/node/execute.mjs doubles as the example for add-on authors.

load deploy
# hooks of the libraries loaded above: teardown_file and teardown:
# deploy.bash's

NODE_DIR=$BATS_TEST_DIRNAME/node

setup_file() {
	dep_setup_file
	[ "$EUID" -eq 0 ] || return 0
	command -v node >/dev/null && command -v npm >/dev/null || return 0
	imx_node_modules "$NODE_DIR"
}
setup() {
	dep_setup
	dep_require node npm systemd-socket-activate
	[ -d "$NODE_DIR/node_modules/imapflow" ] || {
		echo "# npm ci in $NODE_DIR failed" >&2
		return 1
	}
	PORT=$(imx_free_port)
	local cmd
	cmd=$(sed -n 's/^ExecStart=//p' "$REPO/conf/imapexec@.service")
	cmd=${cmd/\/usr\/local\/sbin\/imapexec/$IMAPEXEC -c $T/imapexec.conf}
	local -a envs
	mapfile -t envs < <(dep_san_env)
	# shellcheck disable=SC2086 # the command line is split as systemd does
	dep_daemon socket-activate env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		"${envs[@]}" systemd-socket-activate --inetd -a -l "127.0.0.1:$PORT" $cmd
	dep_wait_listen "$PORT"
}

@test "node + imapflow: discover the EXECUTE services" {
	run node "$NODE_DIR/execute.mjs" 127.0.0.1 "$PORT"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(printf 'whereami\t()\tWhere the client connects from')" ]
	[ "${lines[1]}" = "$(printf 'echo\t()\tPrint the arguments')" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "node + imapflow, compression on (its default): COMPRESS=DEFLATE negotiated, discover and run a service" {
	EXECUTE_MJS_SHOW_COMPRESSION=1 node "$NODE_DIR/execute.mjs" 127.0.0.1 "$PORT" \
		>"$T/list.out" 2>"$T/list.err" || { cat "$T/list.out" "$T/list.err" >&2; false; }
	grep -qx 'compression on' "$T/list.err"
	grep -q "$(printf '^echo\t')" "$T/list.out"
	EXECUTE_MJS_SHOW_COMPRESSION=1 node "$NODE_DIR/execute.mjs" 127.0.0.1 "$PORT" \
		echo one 'two words' >"$T/run.out" 2>"$T/run.err" || { cat "$T/run.out" "$T/run.err" >&2; false; }
	grep -qx 'compression on' "$T/run.err"
	[ "$(cat "$T/run.out")" = "$(printf 'one\ntwo words')" ]
	dep_assert_no_leftovers
}

@test "node + imapflow: run a service with arguments, and one that reports the peer" {
	run node "$NODE_DIR/execute.mjs" 127.0.0.1 "$PORT" echo one 'two words' 'Grüße'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'one\ntwo words\nGrüße')" ]
	run node "$NODE_DIR/execute.mjs" 127.0.0.1 "$PORT" whereami
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = addr=127.0.0.1 ]
	[ "${lines[1]}" = "user=$DEP_USER" ]
	# an unknown service is an error
	run node "$NODE_DIR/execute.mjs" 127.0.0.1 "$PORT" nosuch
	[ "$status" -eq 1 ]
	dep_assert_no_leftovers
}
