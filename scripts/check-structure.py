#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
"""The shape `make lint` keeps: no function over 80 lines in Sources (generated tables aside), and
no loop between the rooms of a target (a room is a target's top directory: AufsKit/Install,
AufsMount/System; files at a target's top form a room of their own). Targets cannot loop (SwiftPM
refuses that); rooms can, so this reads them: a room uses another when a file of it names a type
declared at the top level of a file there.

Exceptions live in scripts/structure-allowlist.txt, one a line with its reason:
    length PATH NAME        REASON      a function allowed to be longer, for now
    uses ROOM ROOM          REASON      an edge of the room graph left out of the loop check
Hand-written because swift-format has no such rule and no Swift syntax library is pinned here.

    scripts/check-structure.py [--list]     (--list prints every function's length and the graph)
"""
import os
import re
import sys

LIMIT = 80
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = os.path.join(ROOT, "Sources")
ALLOWLIST = os.path.join(ROOT, "scripts", "structure-allowlist.txt")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TYPE_KEYWORDS = {"struct", "enum", "class", "protocol", "actor", "typealias"}
FUNC_KEYWORDS = {"func", "init", "deinit", "subscript"}
# Keywords that start a new declaration: a function without a body (a protocol requirement) ends there.
DECL_KEYWORDS = FUNC_KEYWORDS | TYPE_KEYWORDS | {"var", "let", "case", "extension", "import"}


def tokens(text):
    """(kind, value, line) for the code of a Swift file: identifiers and punctuation; comments
    dropped, string literals dropped but their interpolations kept (they are code)."""
    out = []
    i, n, line = 0, len(text), 1
    # The string literals open at this point: (closing delimiter, raw hashes, paren depth at entry).
    def string_end(i, delim, hashes):
        """Scans a string body from i; returns the index after its end, emitting interpolations."""
        nonlocal line
        while i < n:
            c = text[i]
            if c == "\n":
                line += 1
            if c == "\\" and text.startswith("#" * hashes, i + 1):
                j = i + 1 + hashes
                if j < n and text[j] == "(":
                    i = code(j + 1, stop_at_paren=True)
                    continue
                i = j + 1
                continue
            if text.startswith(delim + "#" * hashes, i):
                return i + len(delim) + hashes
            i += 1
        return i

    def code(i, stop_at_paren=False):
        nonlocal line
        depth = 0
        while i < n:
            c = text[i]
            if c == "\n":
                line += 1
                i += 1
            elif text.startswith("//", i):
                while i < n and text[i] != "\n":
                    i += 1
            elif text.startswith("/*", i):
                level, i = 1, i + 2
                while i < n and level:
                    if text.startswith("/*", i):
                        level, i = level + 1, i + 2
                    elif text.startswith("*/", i):
                        level, i = level - 1, i + 2
                    else:
                        line += text[i] == "\n"
                        i += 1
            elif c == '"' or (c == "#" and re.match(r'#+"', text[i:])):
                hashes = 0
                while text[i] == "#":
                    hashes, i = hashes + 1, i + 1
                delim = '"""' if text.startswith('"""', i) else '"'
                out.append(("str", "", line))
                i = string_end(i + len(delim), delim, hashes)
            elif c.isalpha() or c == "_":
                m = IDENT.match(text, i)
                out.append(("id", m.group(0), line))
                i = m.end()
            elif c in "(":
                depth += 1
                out.append(("p", c, line))
                i += 1
            elif c == ")":
                if stop_at_paren and depth == 0:
                    return i + 1
                depth -= 1
                out.append(("p", c, line))
                i += 1
            elif c.isspace():
                i += 1
            else:
                out.append(("p", c, line))
                i += 1
        return i

    code(0)
    return out


def functions(toks):
    """(name, first line, last line) of every function, initializer, subscript and computed property."""
    found = []
    for k, (kind, value, line) in enumerate(toks):
        if kind != "id" or value not in FUNC_KEYWORDS | {"var"}:
            continue
        if k > 0 and toks[k - 1][1] in (".", "@"):
            continue  # .init(...), self.init
        name = value
        if value in ("func", "var") and k + 1 < len(toks):
            name = toks[k + 1][1]
        depth, j = 0, k + 1
        body = None
        while j < len(toks):
            kd, v, ln = toks[j]
            if kd == "p" and v in "([":
                depth += 1
            elif kd == "p" and v in ")]":
                depth -= 1
            elif depth == 0 and kd == "p" and v == "{":
                body = j
                break
            elif depth == 0 and kd == "p" and v in "}=" and value == "var":
                break  # a stored property (with a value or an observer-less declaration)
            elif depth == 0 and kd == "p" and v == "}":
                break
            elif depth == 0 and kd == "id" and v in DECL_KEYWORDS and j > k + 1:
                break
            elif value == "var" and ln != line:
                break  # a getter starts on the declaration's line
            j += 1
        if body is None:
            continue
        level, j = 0, body
        while j < len(toks):
            if toks[j][0] == "p" and toks[j][1] == "{":
                level += 1
            elif toks[j][0] == "p" and toks[j][1] == "}":
                level -= 1
                if level == 0:
                    break
            j += 1
        last = toks[min(j, len(toks) - 1)][2]
        found.append((name, line, last))
    return found


def top_level_types(toks):
    """Type names declared at brace depth 0, and extended type names (`extension X`)."""
    declared, extended = set(), set()
    level = 0
    for k, (kind, value, _) in enumerate(toks):
        if kind == "p" and value == "{":
            level += 1
        elif kind == "p" and value == "}":
            level -= 1
        elif level == 0 and kind == "id" and k + 1 < len(toks):
            if value in TYPE_KEYWORDS and toks[k + 1][0] == "id":
                declared.add(toks[k + 1][1])
            elif value == "extension" and toks[k + 1][0] == "id":
                extended.add(toks[k + 1][1])
    return declared, extended


def room_of(path):
    rel = os.path.relpath(path, SOURCES).split(os.sep)
    return rel[0] + "/" + (rel[1] if len(rel) > 2 else ".")


def load_allowlist():
    lengths, edges = {}, {}
    if not os.path.exists(ALLOWLIST):
        return lengths, edges
    for raw in open(ALLOWLIST, encoding="utf-8"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 4:
            sys.exit(f"{ALLOWLIST}: '{line}': expected KIND A B REASON")
        kind, a, b, reason = parts
        if kind == "length":
            lengths[(a, b)] = reason
        elif kind == "uses":
            edges[(a, b)] = reason
        else:
            sys.exit(f"{ALLOWLIST}: '{line}': KIND is length or uses")
    return lengths, edges


def cycles(graph):
    """Strongly connected components with more than one room (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    listing = "--list" in sys.argv
    allowed_lengths, allowed_edges = load_allowlist()
    files = []
    for d, _, names in os.walk(SOURCES):
        files += [os.path.join(d, f) for f in names if f.endswith(".swift")]
    files.sort()
    parsed = {}
    problems = []
    used_allowances = set()
    for f in files:
        text = open(f, encoding="utf-8").read()
        rel = os.path.relpath(f, ROOT)
        toks = tokens(text)
        parsed[f] = toks
        if text.startswith("// Generated by"):
            continue
        for name, first, last in functions(toks):
            length = last - first + 1
            if listing:
                print(f"{length:5d} {rel}:{first} {name}")
            if length > LIMIT:
                if (rel, name) in allowed_lengths:
                    used_allowances.add(("length", rel, name))
                    continue
                problems.append(f"{rel}:{first}: {name} is {length} lines (limit {LIMIT})")
    # The room graph, per target.
    owner = {}
    for f, toks in parsed.items():
        declared, _ = top_level_types(toks)
        for t in declared:
            owner.setdefault((f.split(os.sep)[len(SOURCES.split(os.sep))], t), set()).add(room_of(f))
    graph, why = {}, {}
    for f, toks in parsed.items():
        room = room_of(f)
        target = room.split("/")[0]
        for kind, value, line in toks:
            if kind != "id":
                continue
            rooms = owner.get((target, value))
            if not rooms or room in rooms or len(rooms) > 1:
                continue
            other = next(iter(rooms))
            if (room, other) in allowed_edges:
                used_allowances.add(("uses", room, other))
                continue
            graph.setdefault(room, set()).add(other)
            why.setdefault((room, other), f"{os.path.relpath(f, ROOT)}:{line} names {value}")
    if listing:
        for a in sorted(graph):
            for b in sorted(graph[a]):
                print(f"uses {a} -> {b}   ({why[(a, b)]})")
    for comp in cycles(graph):
        edges = [f"  {a} -> {b}: {why[(a, b)]}" for a in comp for b in sorted(graph.get(a, ())) if b in comp]
        problems.append("rooms that use each other in a loop: " + ", ".join(comp) + "\n" + "\n".join(edges))
    for (rel, name), reason in allowed_lengths.items():
        if ("length", rel, name) not in used_allowances:
            problems.append(f"{ALLOWLIST}: length {rel} {name} is no longer needed: remove the line")
    for (a, b), reason in allowed_edges.items():
        if ("uses", a, b) not in used_allowances:
            problems.append(f"{ALLOWLIST}: uses {a} {b} is no longer needed: remove the line")
    for p in problems:
        print(p)
    if problems:
        print(f"check-structure: {len(problems)} problem(s)")
        return 1
    print(f"check-structure: {len(files)} files, no function over {LIMIT} lines, no loop between rooms "
          f"({len(allowed_lengths)} lengths and {len(allowed_edges)} uses allowed for now, see {os.path.relpath(ALLOWLIST, ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
