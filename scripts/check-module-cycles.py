#!/usr/bin/env python3
"""Fails when modules depend on each other in a cycle.

For each module tree given as ROOT=DIR (the crate root `crate`, or a module such as
`crate::engine`), the children of ROOT are the nodes; an edge A -> B is a path in A's code
(outside its tests) that names B: `crate::b::…`, or `super::b::…` resolved from where it is
written. Tests are left out (`#[cfg(test)] mod …` to the end of a file, `*tests.rs` files):
a test may use fixtures from anywhere. Any strongly connected component larger than one module
is a cycle; the script prints the paths that make it and exits 1.

Usage: scripts/check-module-cycles.py [ROOT=DIR ...]   (defaults: this repository's crates)
"""

import re
import sys
from pathlib import Path

DEFAULT_TREES = [
    ("crate", "src"),
    ("crate", "crates/ekas-core/src"),
    ("crate::engine", "crates/ekas-core/src/engine"),
    ("crate::engine::scale_in", "crates/ekas-core/src/engine/scale_in"),
    ("crate::engine::scale_up", "crates/ekas-core/src/engine/scale_up"),
    ("crate::engine::capacity", "crates/ekas-core/src/engine/capacity"),
    ("crate", "crates/fake-kube/src"),
]

PATH = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)(::\{)?")
TEST_START = re.compile(r"#\[cfg\(test\)\]\s*(pub(\(\w+\))?\s+)?mod\s+\w+", re.M)


def module_path(root_dir: Path, crate_dir: Path, file: Path) -> list[str]:
    """The module path of FILE within its crate, e.g. ['engine', 'scale_in', 'drain']."""
    rel = file.relative_to(crate_dir).with_suffix("")
    parts = list(rel.parts)
    if parts and parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def code_of(file: Path) -> str:
    text = file.read_text()
    found = TEST_START.search(text)
    if found:
        text = text[: found.start()]
    # Comments and doc links name modules without depending on them.
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def resolve(path: str, here: list[str], is_mod_file: bool) -> list[str]:
    """An absolute module path (without `crate`) for a `crate::`/`super::`/`self::` path."""
    segments = path.split("::")
    if segments[0] == "crate":
        return segments[1:]
    # `super` in a.rs or a/mod.rs is a's parent.
    base = list(here)
    while segments and segments[0] in ("self", "super"):
        if segments[0] == "super":
            base = base[:-1]
        segments = segments[1:]
    return base + segments


def crate_dir_of(tree_dir: Path) -> Path:
    """The crate's src/ above TREE_DIR."""
    for parent in [tree_dir, *tree_dir.parents]:
        if parent.name == "src":
            return parent
    raise SystemExit(f"{tree_dir} is not inside a crate's src/")


def children(tree_dir: Path) -> set[str]:
    names = set()
    for entry in tree_dir.iterdir():
        if entry.is_dir():
            names.add(entry.name)
        elif entry.suffix == ".rs" and entry.stem not in ("mod", "lib", "main"):
            if not entry.stem.endswith("tests"):
                names.add(entry.stem)
    return names


def edges_of(root: str, tree_dir: Path) -> dict[tuple[str, str], list[str]]:
    crate_dir = crate_dir_of(tree_dir)
    root_path = [p for p in root.split("::")[1:]]
    nodes = children(tree_dir)
    edges: dict[tuple[str, str], list[str]] = {}
    for file in sorted(tree_dir.rglob("*.rs")):
        if file.stem.endswith("tests"):
            continue
        here = module_path(tree_dir, crate_dir, file)
        if here[: len(root_path)] != root_path or len(here) <= len(root_path):
            continue
        source = here[len(root_path)]
        is_mod_file = file.stem in ("mod", "lib")
        code = code_of(file)
        for match in PATH.finditer(code):
            number = code.count("\n", 0, match.start()) + 1
            paths = [match.group(1)]
            if match.group(2):
                paths = [f"{match.group(1)}::{p}" for p in group_heads(code, match.end())]
            for found in paths:
                target = resolve(found, here, is_mod_file)
                if target[: len(root_path)] != root_path or len(target) <= len(root_path):
                    continue
                other = target[len(root_path)]
                if other != source and other in nodes:
                    where = f"{file}:{number}: {found}"
                    edges.setdefault((source, other), []).append(where)
    return edges


def group_heads(code: str, start: int) -> list[str]:
    """The first segment of each path in a `use …::{a::b, c, d::{e}}` group opened at START."""
    top, depth = "", 1
    for ch in code[start:]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1:
            top += ch
    heads = []
    for item in top.split(","):
        head = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", item)
        if head and head.group(1) not in heads:
            heads.append(head.group(1))
    return heads


def cycles(edges) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    trees = [tuple(arg.split("=", 1)) for arg in sys.argv[1:]] or DEFAULT_TREES
    failed = False
    for root, directory in trees:
        tree_dir = Path(directory)
        if not tree_dir.is_dir():
            continue
        edges = edges_of(root, tree_dir)
        for component in cycles(edges):
            failed = True
            print(f"cycle among {root}::{{{', '.join(component)}}} ({directory}):")
            for (a, b), places in sorted(edges.items()):
                if a in component and b in component:
                    print(f"  {a} -> {b}: {places[0]}" + (f" (+{len(places) - 1})" if len(places) > 1 else ""))
        checked = len(children(tree_dir))
        print(f"{root} in {directory}: {checked} modules, {len(edges)} dependencies", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
