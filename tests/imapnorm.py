#!/usr/bin/env python3
"""imapnorm.py - normalise recorded IMAP server output for comparison.

  imapnorm.py FILE             timing suffixes "(0.001 + 0.000 secs)." of
                               Dovecot's tagged replies become "(T secs)."
  imapnorm.py --filtered FILE  also: each capability list (greeting/tagged
                               [CAPABILITY ...] code, "* CAPABILITY" line)
                               must hold EXECUTE exactly once and no
                               STARTTLS, and no COMPRESS=... but for
                               imapexec's own "COMPRESS=DEFLATE" right after
                               its EXECUTE; that " EXECUTE" and
                               " COMPRESS=DEFLATE" are removed so the result
                               equals direct output
  imapnorm.py --literal N FILE the bytes of the N-th literal (1-based)

Parsing is literal-aware (see imapdrive.split_responses): message bodies
that merely look like capability lines are left untouched and unchecked.
Output goes to stdout; problems to stderr with exit status 1.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapdrive import LITERAL_AT_EOL, split_responses  # noqa: E402

TIMING = re.compile(rb"\(\d+\.\d+(?: \+ \d+\.\d+)* secs\)")
# where a capability list can start, in the text of a response line
CAPLIST = re.compile(rb"^(?:\* CAPABILITY |(?:\*|[^ ]+) (?:OK|PREAUTH|NO|BAD|BYE) \[CAPABILITY )", re.I)


def segments(resp):
    """Split one response into (is_literal, bytes) pieces."""
    out, i = [], 0
    while i < len(resp):
        nl = resp.find(b"\n", i)
        nl = len(resp) - 1 if nl < 0 else nl
        m = LITERAL_AT_EOL.search(resp, i, nl)
        out.append((False, resp[i:nl + 1]))
        i = nl + 1
        if m:
            n = int(m.group(1))
            out.append((True, resp[i:i + n]))
            i += n
    return out


def fix_caps(line, errors):
    """Check and strip EXECUTE in the capability list of one text line."""
    m = CAPLIST.match(line)
    if not m:
        return line
    start = m.end()
    end = line.find(b"]", start) if line[m.start():m.end()].endswith(b"[CAPABILITY ") \
        else len(line.rstrip(b"\r\n"))
    caps = line[start:end].split(b" ")
    upper = [c.upper() for c in caps]
    if upper.count(b"EXECUTE") != 1:
        errors.append("EXECUTE %d times in %r" % (upper.count(b"EXECUTE"), line))
    if b"EXECUTE" in upper:
        i = upper.index(b"EXECUTE")
        own = upper[i + 1:i + 2] == [b"COMPRESS=DEFLATE"]
        del caps[i:i + 1 + own]
        del upper[i:i + 1 + own]
    bad = [c for c in upper if c.startswith(b"COMPRESS=") or c == b"STARTTLS"]
    if bad:
        errors.append("%s advertised in %r" % (b" ".join(bad).decode(), line))
    return line[:start] + b" ".join(caps) + line[end:]


def main(argv):
    filtered = literal = None
    if argv[:1] == ["--filtered"]:
        filtered, argv = True, argv[1:]
    elif argv[:1] == ["--literal"] and len(argv) == 3:
        literal, argv = int(argv[1]), argv[2:]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 1
    data = open(argv[0], "rb").read()
    spans, rest = split_responses(data)
    out, errors, nlit = [], [], 0
    for s, e in spans + [(rest, len(data))]:
        first = True
        for is_lit, seg in segments(data[s:e]):
            if is_lit:
                nlit += 1
                if nlit == literal:
                    sys.stdout.buffer.write(seg)
                    return 0
            else:
                if first and filtered:
                    seg = fix_caps(seg, errors)
                seg = TIMING.sub(b"(T secs)", seg)
            first = False
            out.append(seg)
    if literal:
        print("imapnorm: no literal #%d in %s" % (literal, argv[0]), file=sys.stderr)
        return 1
    if errors:
        for err in errors:
            print("imapnorm: %s: %s" % (argv[0], err), file=sys.stderr)
        return 1
    sys.stdout.buffer.write(b"".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
