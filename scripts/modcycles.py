#!/usr/bin/env python3
"""Report module-level dependency cycles inside one Rust crate's src/ tree (issue 22).

Usage: python3 scripts/modcycles.py CRATE/src [--depth 1|2] [--allow a<->b | a->b ...] [--parents]
Nodes: file modules cut to --depth (1: `foo` for foo.rs or foo/mod.rs; 2: also `foo::bar`);
lib.rs/main.rs are the root, not a node; src/bin/ (other crates) is skipped. A file counts for
its deepest enclosing module at that depth. Edge a -> b: code in a names b by `crate::b::...`
(use lines, expressions, grouped `use crate::{b::x, c::{y, z}}` over lines), `super::`/`self::`
paths, or `child::` paths to its own submodule. Names re-exported by `pub use` are followed to
their defining module; a `pub use` of one's own submodule is a facade, not an edge. Dropped:
self edges, edges to the root, and (depth 2, unless --parents) edges between a module and its
own submodules (mod.rs hubs, `use super::*`). Test code is skipped: files whose name contains
"test" or under tests/, and the item after `#[cfg(test)]` (`mod tests;` or a whole
`mod tests { ... }`, by braces). Comments, strings and char literals are blanked first.
`--allow a<->b` drops the edges between a and b, `a->b` just one. Tarjan's SCCs with more than
one module are printed with the shortest cycle through each member and a file:line per cycle
edge, exit 1; else `no module cycles (N modules, M edges)`, exit 0.
"""
import argparse, bisect, os, re, sys
from collections import defaultdict, deque

TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|::|\S")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
LEXEME = re.compile(r'//[^\n]*|/\*.*?\*/|\bb?r(#*)".*?"\1|"(?:\\.|[^"\\])*"'
                    r"|'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", re.S)
ITEMS = set("mod use fn impl const static struct enum type trait unsafe async extern".split())


def clean(src):
    """Blank comments, strings and char literals (not lifetimes), keeping every newline."""
    return LEXEME.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), src)


def past(t, j):
    """Index just past the bracket group that opens at t[j]."""
    depth = 0
    while t[j]:
        depth += (t[j] in "([{") - (t[j] in ")]}")
        j += 1
        if depth == 0:
            break
    return j


def tokens(text):
    """(token, line) pairs with #[cfg(test)] items cut out, and sentinels at the end."""
    starts = [m.end() for m in re.finditer("\n", text)]
    toks = [(m.group(), bisect.bisect_right(starts, m.start()) + 1) for m in TOKEN.finditer(text)]
    t, out, k = [x for x, _ in toks] + [""] * 8, [], 0
    while k < len(toks):
        if t[k:k + 7] == ["#", "[", "cfg", "(", "test", ")", "]"]:
            j = k + 7
            while t[j] in ("#", "pub"):  # more attributes, visibility
                j = past(t, j + 1) if t[j + 1] in ("[", "(") else j + 1
            if t[j] in ITEMS:
                while t[j] not in (";", "{", ""):
                    j += 1
                k = past(t, j) if t[j] == "{" else j + 1
                continue
        out.append(toks[k])
        k += 1
    return out + [("", 0)] * 8


def parse_tree(toks, k, segs):
    """Parse a path or use tree at toks[k]: ([(segments, bound name, line)], next k)."""
    res = []
    while True:
        t, line = toks[k]
        if t == "{":
            k += 1
            while toks[k][0] not in ("}", ""):
                sub, k = parse_tree(toks, k, segs)
                res, k = res + sub, k + (toks[k][0] == ",")
            return res, k + 1
        if t == "*" or not IDENT.match(t):
            return [(segs, t if t == "*" else segs[-1], toks[k - 1][1])], k + (t == "*")
        segs, k = segs + [t], k + 1
        if toks[k][0] == "as":
            return [(segs, toks[k + 1][0], line)], k + 2
        if toks[k][0] != "::":
            return [(segs, t, line)], k
        k += 1


def absolute(segs, cur):
    """The crate-absolute path that `segs`, written in module `cur`, names."""
    base, rest = ([], segs[1:]) if segs[0] == "crate" else (list(cur), segs[1:])
    while segs[0] == "super" and rest[:1] == ["super"]:
        base, rest = base[:-1], rest[1:]
    base = base[:-1] if segs[0] == "super" else base
    rest = segs if segs[0] not in ("crate", "self", "super") else rest
    return tuple(base + [s for s in rest if s != "self"])


def scan(src_dir):
    files = {}
    for root, dirs, names in os.walk(src_dir):
        dirs[:] = sorted(d for d in dirs if d != "tests" and (root, d) != (src_dir, "bin"))
        for name in sorted(n for n in names if n.endswith(".rs") and "test" not in n):
            parts = os.path.relpath(os.path.join(root, name), src_dir)[:-3].split(os.sep)
            top = parts[-1] == "mod" or parts in (["lib"], ["main"])
            files[os.path.join(root, name)] = tuple(parts[:-1] if top else parts)
    modules = set(files.values()) | {()}
    refs, reexports = [], defaultdict(dict)
    for path, mod in files.items():
        with open(path, encoding="utf-8") as f:
            toks = tokens(clean(f.read()))
        children = {m[-1] for m in modules if m[:-1] == mod and len(m) == len(mod) + 1}
        depth, inline, use, pub, k = 0, [], False, False, 0
        while toks[k][0]:
            t, prev = toks[k][0], toks[k - 1][0] if k else ""
            if t == "{":
                depth += 1
                if toks[k - 2][0] == "mod":
                    inline.append((toks[k - 1][0], depth))
            elif t == "}":
                if inline and inline[-1][1] == depth:
                    inline.pop()
                depth -= 1
            elif t == "use":  # `pub use` and `pub(crate|super|self) use` re-export
                use, pub = True, prev == "pub" or (prev == ")" and toks[k - 4][0] == "pub")
            elif t == ";":
                use = pub = False
            if toks[k + 1][0] == "::" and prev not in ("::", ".") and (
                    t in ("crate", "super", "self") or (t in children and not inline)):
                paths, k = parse_tree(toks, k, [])
                for segs, name, line in paths:
                    target = absolute(segs, mod + tuple(n for n, _ in inline))
                    refs.append((mod, target, path, line, use and pub))
                    if use and pub and not inline and name != "*":
                        reexports[mod][name] = target
                continue
            k += 1
    return modules, refs, reexports


def owner(target, modules, reexports, hops=0):
    """The module that defines what `target` names, following re-exports."""
    i = max(i for i in range(len(target) + 1) if target[:i] in modules)
    mod, rest = target[:i], target[i:]
    if rest and hops < 8 and rest[0] in reexports.get(mod, {}):
        return owner(reexports[mod][rest[0]] + rest[1:], modules, reexports, hops + 1)
    return mod


def tarjan(graph):
    index, low, stack, sccs = {}, {}, [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
            low[v] = min(low[v], low[w] if w in stack else low[v])
        if low[v] == index[v]:
            sccs.append(sorted(stack[stack.index(v):]))
            del stack[stack.index(v):]
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sccs


def shortest_cycle(graph, start, scc):
    prev, queue = {start: None}, deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v] & scc):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return path[::-1] + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("--depth", type=int, choices=(1, 2), default=1)
    ap.add_argument("--allow", action="append", default=[], metavar="A<->B")
    ap.add_argument("--parents", action="store_true", help="keep module <-> own submodule edges")
    args = ap.parse_args()
    modules, refs, reexports = scan(os.path.normpath(args.src))
    name = lambda m: "::".join(m[:args.depth])
    nodes, where = {name(m) for m in modules if m}, defaultdict(set)
    for mod, target, path, line, reexport in refs:
        dst = owner(target, modules, reexports)
        a, b, down, up = name(mod), name(dst), dst[:len(mod)] == mod, mod[:len(dst)] == dst
        if a and b and a != b and not (reexport and down) and (args.parents or not (down or up)):
            where[a, b].add((path, line))
    for allow in args.allow:
        m = re.fullmatch(r"(.+?)(<->|->)(.+)", allow.replace(" ", ""))
        a, both, b = m.groups() if m else ap.error(f"--allow {allow}: want a<->b or a->b")
        if {a, b} - nodes:
            print(f"warning: --allow {allow}: no module {' '.join(sorted({a, b} - nodes))}")
        where.pop((a, b), None), where.pop((b, a), None) if both == "<->" else None
    graph = {n: set() for n in nodes}
    for a, b in where:
        graph[a].add(b)
    cyclic = [scc for scc in tarjan(graph) if len(scc) > 1]
    for i, scc in enumerate(sorted(cyclic), 1):
        print(f"cycle group {i}: {{{', '.join(scc)}}}")
        seen = set()
        for start in scc:
            cycle = shortest_cycle(graph, start, set(scc))
            key = min(tuple(cycle[j:-1] + cycle[:j]) for j in range(len(cycle) - 1))
            if key not in seen:
                seen.add(key)
                print("  " + " -> ".join(cycle))
                for a, b in zip(cycle, cycle[1:]):
                    (path, line), *more = sorted(where[a, b])
                    more = f" (+{len(more)} more)" if more else ""
                    print(f"    {a} -> {b}: {path}:{line}{more}")
    summary = f"({len(nodes)} modules, {len(where)} edges)"
    print(f"{len(cyclic)} cycle group(s) {summary}" if cyclic else f"no module cycles {summary}")
    return 1 if cyclic else 0


if __name__ == "__main__":
    sys.exit(main())
