#!/usr/bin/python3
# A fake preauthenticated IMAP backend for fault tests: greets, answers
# NOOP and CAPABILITY, and misbehaves as argv[1] says:
#   fetch-die    on FETCH: start "* 1 FETCH (BODY[] {1000000}" and die
#                after 5000 octets of it (SIGKILL to itself)
#   line-die     on FETCH: send half a response line and exit
#   exit-on-noop on the second NOOP: exit without a word
#   deaf         on DEAF: read and write nothing more, ever
#   longok       on FETCH: a literal, then a tagged OK of 300 KB of text
#   mute         on MUTE: close stdout, then run on, deaf to its input's end
#   okgreet      greet "* OK" (not PREAUTH), answer LOGIN with NO
#   okgreet-in   greet "* OK", answer LOGIN with OK
#   okpreauth, byegreet, capgreet, taggreet, spacegreet, lowergreet
#                greet as GREETINGS says (PREAUTH not on the first line,
#                or a first line that is not quite it), answer as usual
# It reads line by line and parses no arguments (literals included).
import os
import signal
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else ""
GREETINGS = {
    "okpreauth": b"* OK hello\r\n* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n",
    "byegreet": b"* BYE go away\r\n",
    "capgreet": b"* CAPABILITY IMAP4rev1\r\n* PREAUTH ready\r\n",
    "taggreet": b"a PREAUTH ready\r\n",
    "spacegreet": b"*  PREAUTH ready\r\n",
    "lowergreet": b"* preauth ready\r\n",
}
out = os.fdopen(1, "wb", buffering=0)
if mode in GREETINGS:
    out.write(GREETINGS[mode])
elif mode.startswith("okgreet"):
    out.write(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] fake ready\r\n")
else:
    out.write(b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ IDLE] fake ready\r\n")
noops = 0
for line in sys.stdin.buffer:
    w = line.split()
    if len(w) < 2:
        continue
    tag, cmd = w[0], w[1].upper()
    if cmd == b"FETCH" and mode == "fetch-die":
        out.write(b"* 1 FETCH (BODY[] {1000000}\r\n" + b"x" * 5000)
        os.kill(os.getpid(), signal.SIGKILL)
    if cmd == b"FETCH" and mode == "line-die":
        out.write(b"* 1 FETCH (FLAGS (\\Se")
        sys.exit(3)
    if cmd == b"FETCH" and mode == "longok":
        out.write(b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n" + tag + b" OK " +
                  b"y" * 300000 + b"\r\n")
        continue
    if cmd == b"MUTE" and mode == "mute":
        out.close()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    if cmd == b"DEAF" and mode == "deaf":
        while True:
            time.sleep(3600)
    if cmd == b"NOOP":
        noops += 1
        if noops == 2 and mode == "exit-on-noop":
            sys.exit(0)
    if cmd == b"LOGIN" and mode == "okgreet":
        out.write(tag + b" NO [AUTHENTICATIONFAILED] no\r\n")
        continue
    if cmd == b"LOGOUT":
        out.write(b"* BYE bye\r\n" + tag + b" OK LOGOUT completed\r\n")
        break
    out.write(tag + b" OK " + cmd + b" completed\r\n")
