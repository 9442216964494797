#!/usr/bin/python3
"""cal_mutate.py PROGRAM HOME N FILE... - load the calendar program as a
module and run "list", "add" and "delete" on N mutations of each
iCalendar FILE (lines dropped, duplicated, truncated, bytes flipped,
values replaced by edge values), in HOME/.imapexec/calendar.ics.  Every
answer must be ordinary: no exception escapes, no "internal error"
answer (each failure is one planned "error: ..." line).  Prints the
number of runs and the answers seen; exits 1 on the first bad one."""

import importlib.machinery
import importlib.util
import os
import random
import sys

prog, home, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
loader = importlib.machinery.SourceFileLoader("calendar_service", prog)
spec = importlib.util.spec_from_loader("calendar_service", loader)
cal = importlib.util.module_from_spec(spec)
loader.exec_module(cal)

EDGE = [b"99991231", b"00010101", b"99991231T235959Z", b"00010101T000000",
        b"20261025T023000", b"20260329T023000", b"P9999999D", b"-PT1H",
        b"FREQ=SECONDLY", b"FREQ=YEARLY;UNTIL=00010101", b"", b";;;:",
        b"FREQ=DAILY;COUNT=999999999", b"\xff\xfe", b"Mars/Olympus",
        b"FREQ=MONTHLY;BYDAY=5FR;COUNT=3", b"20261301", b"20260230T250000"]


def mutate(r, data):
    lines = data.split(b"\r\n")
    for _ in range(r.randint(1, 4)):
        i = r.randrange(len(lines))
        op = r.randrange(6)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[r.randrange(len(lines))])
        elif op == 2:
            lines[i] = lines[i][:r.randrange(len(lines[i]) + 1)]
        elif op == 3 and b":" in lines[i]:
            lines[i] = lines[i].split(b":", 1)[0] + b":" + r.choice(EDGE)
        elif op == 4 and lines[i]:
            b = bytearray(lines[i])
            b[r.randrange(len(b))] = r.randrange(256)
            lines[i] = bytes(b)
        elif op == 5:
            lines[i] = lines[i].replace(b"TZID=", b"TZID=" + r.choice(EDGE))
        if not lines:
            lines = [b""]
    return b"\r\n".join(lines)


def main():
    os.makedirs(os.path.join(home, ".imapexec"), exist_ok=True)
    path = os.path.join(home, ".imapexec", "calendar.ics")
    store = cal.Store(home)
    r = random.Random(17)
    runs = 0
    for f in sys.argv[4:]:
        data = open(f, "rb").read()
        for _ in range(n):
            m = mutate(r, data)
            with open(path, "wb") as out:
                out.write(m)
            for cmd in (b"list 2026-03-24\n", b"list 9999-12-31\n",
                        b"list 0001-01-01\n", b"list 2026-10-25 2:00 2:30\n",
                        b"add 2026-12-01 8:00 x\n", b"list 2026-12-01\n"):
                answer = cal.answer(store, cmd)
                runs += 1
                if any("internal error" in a for a in answer):
                    sys.stderr.write("bad answer %r to %r on:\n%s\n" % (
                        answer, cmd, m.decode("utf-8", "replace")))
                    return 1
            # delete every event listed, by ID
            try:
                loaded = store.load()
            except cal.Error:
                continue
            for c in loaded.events():
                ident = store.load().ids().get(cal.key(c))
                if ident:
                    answer = cal.answer(store, b"delete " + ident.encode()
                                        + b"\n")
                    runs += 1
                    if any("internal error" in a for a in answer):
                        sys.stderr.write("bad answer %r to delete\n"
                                         % (answer,))
                        return 1
    print("%d commands, no internal error" % runs)
    return 0


sys.exit(main())
