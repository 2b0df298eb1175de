#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
"""A branch's tree as one line per entry, for Tests/stress/convert-crash.sh.

  convert-manifest.py tree BRANCH [--inodes]     every entry under BRANCH (not .aufsctl-convert at
                                                 its root): type, mode, owner, mtime (ns), size,
                                                 content digest, link target, device, xattrs, and
                                                 the hard-link group (its first path); --inodes adds
                                                 st_ino (byte-identical: the same inodes back)
  convert-manifest.py sides BRANCH               checks each top-level entry the journal names is its
                                                 old or its new inode; prints the journal's state
Names are bytes (a name may be invalid UTF-8 or hold a newline); they are printed hex-escaped.
"""
import hashlib
import json
import os
import stat
import sys

CONTAINER = b".aufsctl-convert"


def esc(b):
    return b.decode("ascii", "backslashreplace") if all(32 < c < 127 and c != 92 for c in b) else b.hex()


def xattrs(p):
    try:
        names = sorted(os.listxattr(p, follow_symlinks=False))
    except OSError:
        return ""
    return ",".join("%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex()) for n in names)


def tree(root, inodes):
    paths = [b""]
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root:
            dirnames[:] = [d for d in dirnames if d != CONTAINER]
            filenames = [f for f in filenames if f != CONTAINER]
        rel = os.path.relpath(dirpath, root)
        rel = b"" if rel == b"." else rel
        paths += [os.path.join(rel, n) for n in dirnames + filenames]
    rows = [(p, os.lstat(os.path.join(root, p) if p else root)) for p in paths]
    groups = {}
    rows.sort(key=lambda r: r[0])
    for rel, st in rows:
        if not stat.S_ISDIR(st.st_mode):
            groups.setdefault(st.st_ino, []).append(rel)
    out = []
    for rel, st in rows:
        p = os.path.join(root, rel) if rel else root
        kind = stat.S_IFMT(st.st_mode)
        extra = ""
        if stat.S_ISREG(kind):
            with open(p, "rb") as f:
                extra = hashlib.sha256(f.read()).hexdigest()
        elif stat.S_ISLNK(kind):
            extra = os.readlink(p).hex()
        elif stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
            extra = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        link = ""
        if not stat.S_ISDIR(kind) and len(groups[st.st_ino]) > 1:
            link = " link=" + esc(groups[st.st_ino][0])
        ino = " ino=%d" % st.st_ino if inodes else ""
        out.append(
            "%s %o %o %d:%d %d %d %s [%s]%s%s"
            % (esc(rel), kind >> 12, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns,
               st.st_size if not stat.S_ISDIR(kind) else 0, extra, xattrs(p), link, ino))
    sys.stdout.write("\n".join(out) + "\n")


def sides(root):
    """Every top-level entry the journal names is either its old or its new inode."""
    jpath = os.path.join(root, CONTAINER, b"journal.json")
    if not os.path.exists(jpath):
        print("none" if not os.path.exists(os.path.join(root, CONTAINER)) else "empty")
        return 0
    with open(jpath) as f:
        j = json.load(f)
    bad = []
    for e in j["entries"]:
        name = bytes.fromhex(e["name"])
        try:
            st = os.lstat(os.path.join(root, name))
            cur = "%d:%d" % (st.st_dev, st.st_ino)
        except FileNotFoundError:
            cur = None
        if cur != e.get("old") and cur != e.get("new"):
            bad.append("%s is %s: neither old %s nor new %s" % (esc(name), cur, e.get("old"), e.get("new")))
    print(j["state"])
    for b in bad:
        print("BAD " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "tree":
        tree(os.fsencode(sys.argv[2]), "--inodes" in sys.argv)
    else:
        sys.exit(sides(os.fsencode(sys.argv[2])))
