# tests/fuzz/sources.sh - which src/ files each fuzz target links with (no
# main.c).  Sourced by scripts/fuzz.sh and tests/70-fuzz-corpus.bats, so a
# new dependency is named once.

FUZZ_SCAN="src/lex.c src/tags.c src/scan_client.c src/scan_server.c"

# fuzz_sources TARGET: the src/ files TARGET links with.
fuzz_sources() {
	case $1 in
	scan_client | scan_server | probe) echo "$FUZZ_SCAN" ;;
	xcmd) echo "$FUZZ_SCAN src/xcmd.c" ;;
	xinput) echo "src/lex.c src/xinput.c" ;;
	config) echo "src/config.c src/sock.c src/util.c" ;;
	resp) echo "src/lex.c src/run/resp.c" ;;
	inflate) echo "$FUZZ_SCAN src/buf.c src/zio.c" ;;
	esac
}
