/*
 * Unit tests of the interactive input parser (xinput.c), the EXECUTE line
 * parser's service name (xcmd.c), name_ok() (util.c) and log_esc()
 * (log.c).  The sources are compiled in here, so that the unit build needs
 * nothing but the scanner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/log.c"
#include "../../src/util.c"
#include "../../src/xcmd.c"
#include "../../src/xinput.c"

static int passed, failed;

/*
 * check(ok, what):
 * Count the result ${ok} of the check described by ${what}.
 */
static void
check(int ok, const char *what)
{
	if (ok)
		passed++;
	else {
		failed++;
		printf("FAIL: %s\n", what);
	}
}

/*
 * long_line(room):
 * Feed a 300,000-byte line, then "DONE", through xin_scan() offering
 * ${room} bytes at a time; check that every piece fits ${room} and that
 * the pieces make the line, then its end of line.
 */
static void
long_line(size_t room)
{
	static uint8_t in[300000 + 8], out[300000 + 8];
	struct xinput x;
	struct xin_act act;
	size_t i, pos = 0, o = 0, n = 300000;
	int fits = 1, eols = 0, done = 0;

	for (i = 0; i < n; i++)
		in[i] = (uint8_t)('a' + i % 26);
	memcpy(in + n, "\r\nDONE\r\n", 8);
	xin_init(&x);
	while (pos < n + 8 && !done) {
		xin_scan(&x, in + pos, n + 8 - pos, room, &act);
		if (act.op == XIN_MORE)
			break;
		if (act.op == XIN_BYTES) {
			if (act.len > room)
				fits = 0;
			memcpy(out + o, act.data, act.len);
			o += act.len;
			eols += act.eol;
		}
		done = act.op == XIN_DONE;
		pos += act.n;
	}
	check(fits, "long line: every piece fits the room offered");
	check(o == n && memcmp(in, out, n) == 0, "long line: delivered whole");
	check(eols == 1, "long line: one end of line");
	check(done, "long line: DONE after it");
}

/*
 * nul_name():
 * "{6+}" then "args\0z": the service name holds NUL, and name_ok()
 * refuses it though its C string would be "args".
 */
static void
nul_name(void)
{
	static struct xcmd x;

	xcmd_init(&x);
	xcmd_text(&x, (const uint8_t *)" {6+}\r\n", 7);
	check(xcmd_literal(&x, 6) == 0, "nul name: literal kept");
	xcmd_data(&x, (const uint8_t *)"args\0z", 6);
	xcmd_text(&x, (const uint8_t *)" hello\r\n", 8);
	check(xcmd_end(&x) == 0, "nul name: line parses");
	check(x.servicelen == 6, "nul name: length 6");
	check(!name_ok(x.service, x.servicelen), "nul name: refused");
	check(name_ok("args", 4) && !name_ok("../x", 4) && !name_ok("-x", 2) &&
	    !name_ok("a\x7f", 2) && !name_ok("", 0), "name_ok");
}

/*
 * esc():
 * log_esc() escapes controls, DEL, 8-bit and '\', and cuts with "...".
 */
static void
esc(void)
{
	char buf[64];

	check(strcmp(log_esc(buf, sizeof(buf), "a\rb\033c\0d\177e\\f\377g", 13),
	    "a\\x0db\\x1bc\\x00d\\x7fe\\x5cf\\xffg") == 0, "log_esc escapes");
	check(strcmp(log_esc(buf, 8, "abcdefghij", 10), "abcd...") == 0,
	    "log_esc cuts");
	check(strcmp(log_esc(buf, 8, "abcdefg", 7), "abcdefg") == 0,
	    "log_esc: exactly fits");
	check(strcmp(log_esc(buf, 8, "ab\001cdefg", 8), "ab...") == 0,
	    "log_esc: no half escape");
}

int
main(void)
{
	long_line(XIN_LINE_MAX);
	long_line(65534);
	long_line(10000);
	nul_name();
	esc();
	printf("test_xin: %d passed, %d failed\n", passed, failed);
	return (failed != 0);
}
