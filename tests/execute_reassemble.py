#!/usr/bin/env python3
"""execute_reassemble.py - pick EXECUTE output out of a server transcript.

Usage:
  execute_reassemble.py [--tag T] [--stream OUT|ERR] [--eol lf|crlf] FILE
      write the concatenated octets of every "* EXECUTE (TAG "T") OUT ..."
      (or ERR) response to stdout: a quoted string is its contents plus the
      service's end of line, a literal {n} or literal8 ~{n} is its octets.
  execute_reassemble.py --list [--tag T] [--plus] FILE
      print the responses of tag T (its untagged EXECUTE responses and its
      tagged completion; with --plus also every continuation request), one
      per line, with CRLF after a literal header and at the end shown as LF.
  execute_reassemble.py --strip T1,T2,... [--plus] FILE
      write FILE without the responses of those tags (and without
      continuation requests, with --plus).

FILE is every byte the client received.  Responses are split the way an
IMAP client does: a line ending in {n} (or ~{n}) continues after n octets.
An EXECUTE output response that is not well formed is an error (exit 2).
"""

import argparse
import re
import sys

LIT = re.compile(rb"(~?)\{(\d+)\}\r\n$")
EXEC = re.compile(rb'\* EXECUTE \(TAG "([^"\\]*)"\) (OUT|ERR|EXIT|SIGNAL) ')


class Bad(Exception):
    pass


def responses(data):
    """Yield (raw bytes, list of parts) per response; parts alternate
    between text (header lines, with CRLF) and literal octets."""
    i, n = 0, len(data)
    while i < n:
        start, parts = i, []
        while True:
            nl = data.find(b"\n", i)
            if nl < 0:
                raise Bad("incomplete response at offset %d: %r"
                          % (start, data[start:start + 80]))
            text = data[i:nl + 1]
            parts.append(text)
            i = nl + 1
            m = LIT.search(text)
            if not m:
                break
            size = int(m.group(2))
            if i + size > n:
                raise Bad("truncated literal at offset %d" % i)
            parts.append(data[i:i + size])
            i += size
        yield data[start:i], parts


def unquote(s):
    """Contents of the quoted string s (with its quotes)."""
    if len(s) < 2 or s[:1] != b'"' or s[-1:] != b'"':
        raise Bad("not a quoted string: %r" % s)
    out, k = bytearray(), 1
    while k < len(s) - 1:
        c = s[k:k + 1]
        if c == b"\\":
            k += 1
            if s[k:k + 1] not in (b'"', b"\\") or k == len(s) - 1:
                raise Bad("bad escape in %r" % s)
            out += s[k:k + 1]
        elif c == b'"' or c in (b"\r", b"\n", b"\0"):
            raise Bad("bad character in quoted string %r" % s)
        else:
            out += c
        k += 1
    return bytes(out)


def chunk(parts, eol):
    """The octets an OUT/ERR response carries."""
    head = parts[0]
    m = EXEC.match(head)
    rest = head[m.end():]
    if len(parts) == 1:
        if not rest.endswith(b"\r\n"):
            raise Bad("response without CRLF: %r" % head)
        return unquote(rest[:-2]) + eol
    lm = LIT.fullmatch(rest)
    if not lm or len(parts) != 3 or parts[2] != b"\r\n":
        raise Bad("malformed literal response: %r" % b"".join(parts)[:200])
    data = parts[1]
    if int(lm.group(2)) != len(data):
        raise Bad("literal size mismatch")
    if b"\0" in data and not lm.group(1):
        raise Bad("NUL in a literal that is not a literal8")
    return data


def belongs(raw, tags):
    m = EXEC.match(raw)
    if m:
        return m.group(1) in tags
    tag = raw.split(b" ", 1)[0]
    return tag in tags and re.match(rb"\S+ (OK|NO|BAD)\b", raw) is not None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tag")
    ap.add_argument("--stream", default="OUT", choices=("OUT", "ERR"))
    ap.add_argument("--eol", default="lf", choices=("lf", "crlf"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--plus", action="store_true")
    ap.add_argument("--strip")
    ap.add_argument("file")
    a = ap.parse_args()
    data = open(a.file, "rb").read()
    eol = b"\r\n" if a.eol == "crlf" else b"\n"
    out = sys.stdout.buffer
    try:
        if a.strip is not None:
            tags = set(t.encode() for t in a.strip.split(","))
            for raw, parts in responses(data):
                if belongs(raw, tags) or (a.plus and raw.startswith(b"+ ")):
                    continue
                out.write(raw)
            return 0
        tags = None if a.tag is None else {a.tag.encode()}
        for raw, parts in responses(data):
            if a.list:
                if (a.plus and raw.startswith(b"+ ")) or \
                   (belongs(raw, tags) if tags else EXEC.match(raw)):
                    shown = bytearray()
                    for k, p in enumerate(parts):
                        if k % 2 == 0 and p.endswith(b"\r\n"):
                            p = p[:-2] + b"\n"
                        shown += p
                    out.write(bytes(shown))
                continue
            m = EXEC.match(raw)
            if not m or m.group(2).decode() != a.stream:
                continue
            if tags and m.group(1) not in tags:
                continue
            out.write(chunk(parts, eol))
    except Bad as e:
        print("execute_reassemble: %s: %s" % (a.file, e), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
