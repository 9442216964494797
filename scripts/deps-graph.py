#!/usr/bin/env python3
"""deps-graph.py [DIR...] - the call and include graph among C files.

For each DIR (default: src and src/run, from the repository root) it reads
every DIR/*.c, finds the functions each file defines (static ones count
only inside that file) and the identifiers it calls or takes the address
of, and draws an edge A -> B when A uses a non-static function that B
defines.  A second graph does the same for includes: A -> B when A.c
includes a header whose name matches B.c.  For both it prints the edges
(with the functions behind each call edge) and the strongly connected
components of more than one file: the circles.  The exit status is 1 if
there is a call circle, else 0.

A sketch for finding circles, not a C parser: comments, strings and
preprocessor lines are stripped, a definition is a name followed by a
parenthesised list and a '{' at brace depth 0, and a use is a name inside
a function body.  Macros that expand to calls are not seen.

    python3 scripts/deps-graph.py            # src and src/run
    python3 scripts/deps-graph.py -v src     # with the functions per edge
"""
import os
import re
import sys

KEYWORDS = {
    "if", "while", "for", "switch", "return", "sizeof", "do", "else",
    "case", "goto", "_Alignof", "_Static_assert", "__attribute__",
    "defined", "offsetof", "va_arg", "va_start", "va_end",
}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def strip(text):
    """Return text without comments, string and char literals, and
    preprocessor lines (newlines are kept)."""
    out = []
    i, n = 0, len(text)
    at_bol = True
    while i < n:
        ch = text[i]
        if at_bol and ch == "#":
            # a preprocessor line, with its continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    i += 1
                    out.append("\n")
                i += 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j) or " ")
            i = j
            continue
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            out.append(ch + ch)
            i = j + 1
            at_bol = False
            continue
        out.append(ch)
        if ch == "\n":
            at_bol = True
        elif not ch.isspace():
            at_bol = False
        i += 1
    return "".join(out)


def scan(path):
    """Return (defined, static, used) for the C file at path: the
    functions it defines, those of them that are static, and the
    identifiers used inside function bodies."""
    text = strip(open(path, encoding="utf-8", errors="replace").read())
    defined, static, used = set(), set(), set()
    depth = 0
    i, n = 0, len(text)
    stmt = 0  # start of the current top-level declaration
    while i < n:
        ch = text[i]
        if ch == "{":
            if depth == 0:
                head = text[stmt:i]
                m = re.search(r"([A-Za-z_]\w*)\s*\(([^()]|\([^()]*\))*\)"
                              r"\s*$", head)
                if m and "=" not in head and m.group(1) not in KEYWORDS:
                    defined.add(m.group(1))
                    if re.search(r"\bstatic\b", head[:m.start()]):
                        static.add(m.group(1))
                    body = True
                else:
                    body = False  # struct, enum, initialiser
            depth += 1
            if depth == 1:
                in_body = body
                body_start = i
        elif ch == "}":
            depth -= 1
            if depth == 0:
                if in_body:
                    for w in IDENT.findall(text[body_start:i]):
                        if w not in KEYWORDS:
                            used.add(w)
                stmt = i + 1
        elif ch == ";" and depth == 0:
            # a top-level declaration: a static table may name functions
            decl = text[stmt:i]
            if "=" in decl:
                used.update(IDENT.findall(decl.split("=", 1)[1]))
            stmt = i + 1
        i += 1
    return defined, static, used


def tarjan(nodes, edges):
    """Return the strongly connected components of the graph."""
    index, low, onstack, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onstack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in onstack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                onstack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def report(d, verbose):
    """Print both graphs of directory d; return the number of call
    circles."""
    files = sorted(f for f in os.listdir(d) if f.endswith(".c"))
    info = {f: scan(os.path.join(d, f)) for f in files}
    exported = {}
    for f, (defined, static, _) in info.items():
        for fn in defined - static:
            exported.setdefault(fn, []).append(f)
    calls = {}
    for f, (defined, _, used) in info.items():
        for fn in used - defined:
            for g in exported.get(fn, ()):
                if g != f:
                    calls.setdefault(f, {}).setdefault(g, set()).add(fn)
    incs = {}
    for f in files:
        text = open(os.path.join(d, f), encoding="utf-8",
                    errors="replace").read()
        for h in INCLUDE.findall(text):
            g = os.path.basename(h)[:-2] + ".c" if h.endswith(".h") else ""
            if g in info and g != f:
                incs.setdefault(f, set()).add(g)

    ncirc = 0
    print("== %s: calls (A -> B: A calls what B defines)" % d)
    for f in files:
        for g in sorted(calls.get(f, {})):
            fns = sorted(calls[f][g])
            print("  %s -> %s%s" % (f, g, ": " + " ".join(fns)
                                    if verbose else " (%d)" % len(fns)))
    for c in tarjan(files, {f: set(calls.get(f, {})) for f in files}):
        if len(c) > 1:
            ncirc += 1
            print("  CIRCLE (calls): " + " ".join(c))
            for f in c:
                for g in sorted(calls.get(f, {})):
                    if g in c:
                        print("    %s -> %s: %s" % (
                            f, g, " ".join(sorted(calls[f][g]))))
    print("== %s: includes (A -> B: A.c includes B.h)" % d)
    if verbose:
        for f in files:
            for g in sorted(incs.get(f, ())):
                print("  %s -> %s" % (f, g))
    for c in tarjan(files, incs):
        if len(c) > 1:
            print("  CIRCLE (includes): " + " ".join(c))
    print("== %s: %d call circle(s)" % (d, ncirc))
    return ncirc


def main(argv):
    verbose = "-v" in argv
    dirs = [a for a in argv if a != "-v"] or ["src", "src/run"]
    total = 0
    for d in dirs:
        total += report(d, verbose)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
