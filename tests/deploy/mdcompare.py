#!/usr/bin/env python3
"""mdcompare.py - compare and change Maildirs by message content.

  mdcompare.py list DIR          one line per message: folder, sha256, flags
  mdcompare.py count DIR         the number of messages
  mdcompare.py same DIR1 DIR2    exit 1 (and show the differences) unless
                                 both hold the same messages (content and
                                 flags) in the same folders, ignoring file
                                 names, UIDs and the local/remote layout
  mdcompare.py change DIR SEED   delete 3% of the messages, toggle \\Flagged
                                 on 5%, clear \\Seen on 3% (chosen by
                                 Message-ID with SEED, so the same on two
                                 copies) and add 4 new 8-bit messages to
                                 INBOX; prints what it did

Folders: a directory with cur/ is a folder, named by its path below DIR
with Maildir++ dots stripped ("." and "INBOX" are both INBOX).  Flags come
from ":2,FLAGS"; a message in new/ has none.  X-TUID header lines (which
mbsync may add to uploads) are left out of the content hash."""

import hashlib
import os
import random
import re
import sys
from collections import Counter

TUID = re.compile(rb"^X-TUID: [^\n]*\n", re.M | re.I)
MSGID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]*>)", re.M | re.I)


def folders(root):
    for d, subs, _ in os.walk(root):
        if "cur" in subs and os.path.isdir(os.path.join(d, "new")):
            rel = os.path.relpath(d, root)
            name = rel.lstrip(".") or "INBOX"
            yield name, d


def messages(root):
    """Yield (folder, path, flags) for every message below root."""
    for name, d in folders(root):
        for sub in ("cur", "new"):
            for f in os.listdir(os.path.join(d, sub)):
                if f.startswith("."):
                    continue
                flags = f.split(":2,", 1)[1] if ":2," in f else ""
                yield name, os.path.join(d, sub, f), "".join(sorted(flags))


def digest(path):
    with open(path, "rb") as fh:
        data = fh.read()
    return hashlib.sha256(TUID.sub(b"", data)).hexdigest()


def listing(root):
    return sorted("%s %s %s" % (f, digest(p), fl or "-")
                  for f, p, fl in messages(root))


def msgid(path):
    with open(path, "rb") as fh:
        m = MSGID.search(fh.read(4096))
    return m.group(1).decode("latin-1") if m else None


def change(root, seed):
    rng = random.Random(seed)
    msgs = {}
    for f, p, fl in messages(root):
        msgs[(f, msgid(p))] = (p, fl)
    keys = sorted(msgs)
    pick = lambda frac: set(rng.sample(keys, max(1, int(len(keys) * frac))))
    dele, flag, unseen = pick(0.03), pick(0.05), pick(0.03)
    done = Counter()
    for k in keys:
        p, fl = msgs[k]
        if k in dele:
            os.unlink(p)
            done["deleted"] += 1
            continue
        new = set(fl)
        if k in flag:
            new ^= {"F"}
            done["flag toggled"] += 1
        if k in unseen and "S" in new:
            new.discard("S")
            done["unseen"] += 1
        if new != set(fl):
            d = os.path.dirname(os.path.dirname(p))
            base = os.path.basename(p).split(":2,", 1)[0]
            os.rename(p, os.path.join(d, "cur", base + ":2," + "".join(sorted(new))))
    inbox = dict(folders(root))["INBOX"]
    for i in range(4):
        body = ("Grüße %d from seed %d\n" % (i, seed)).encode() * (50 * (i + 1))
        msg = (b"From: new@example.org\nTo: deploy@example.org\n"
               b"Subject: new %d.%d\nMessage-ID: <new.%d.%d@deploy.imapexec.test>\n"
               b"Content-Type: text/plain; charset=utf-8\n"
               b"Content-Transfer-Encoding: 8bit\n\n" % (seed, i, seed, i)) + body
        with open(os.path.join(inbox, "new", "%d.new%d_%d.deploy" % (1800000000 + i, seed, i)), "wb") as fh:
            fh.write(msg)
        done["added"] += 1
    print(", ".join("%s %d" % kv for kv in sorted(done.items())))


def main(argv):
    if len(argv) == 3 and argv[1] == "list":
        print("\n".join(listing(argv[2])))
    elif len(argv) == 3 and argv[1] == "count":
        print(sum(1 for _ in messages(argv[2])))
    elif len(argv) == 4 and argv[1] == "same":
        a, b = Counter(listing(argv[2])), Counter(listing(argv[3]))
        if a == b:
            print("same: %d messages" % sum(a.values()))
            return 0
        only_a, only_b = sorted((a - b).elements()), sorted((b - a).elements())
        print("differ: %d only in %s, %d only in %s" % (len(only_a), argv[2], len(only_b), argv[3]))
        for x in only_a[:10]:
            print("  < " + x)
        for x in only_b[:10]:
            print("  > " + x)
        return 1
    elif len(argv) == 4 and argv[1] == "change":
        change(argv[2], int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
