#!/usr/bin/env python3
"""Check the shape STYLE.md asks for, in every workspace crate:

- no module uses a module that uses it back, directly or through others;
- no source file of the product (controller, data plane, snapshot) is over 500 lines of
  non-test code (a `#[cfg(test)] mod tests` block at the end of a file does not count; test
  files under `tests/` are not checked). The conformance tooling is held to cycles only.

Edges come from `crate::`, `super::` and `self::` paths in each module's non-test code (its
`#[cfg(test)] mod tests` block is left out: tests may use anything). A path names the
deepest module of the crate it reaches; `mod` declarations are not uses.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = ["snapshot", "controller", "controller/translate", "dataplane", "dataplane/router",
          "bench", "conformance/nodeagent"]
PATH = re.compile(r"\b(crate|super|self)((?:::[a-z_][a-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super|self)::((?:[a-z_][a-z0-9_]*::)*)\{([^}]*)\}")


def module_of(src: pathlib.Path, file: pathlib.Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def non_test(text: str) -> str:
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)
    code = text[: cut.start()] if cut else text
    # Comments (doc links included) are not uses.
    return re.sub(r"//[^\n]*", "", code)


def resolve(module: tuple, root: str, rest: list, modules: set) -> tuple:
    if root == "crate":
        base = ()
    elif root == "super":
        base = module[:-1]
    else:
        base = module
    target = base
    for name in rest:
        if base + (name,) in modules or target + (name,) in modules:
            target = target + (name,)
        else:
            break
    return target


def edges_of(src: pathlib.Path):
    files = [f for f in src.rglob("*.rs")]
    modules = {module_of(src, f) for f in files}
    # An exported macro is reached as `crate::name!` but lives in the module defining it.
    macros = {}
    for file in files:
        for name in re.findall(r"#\[macro_export\]\s*macro_rules!\s*([a-z_][a-z0-9_]*)", file.read_text()):
            macros[name] = module_of(src, file)
    edges = {}
    for file in files:
        module = module_of(src, file)
        text = non_test(file.read_text())
        uses = set()
        for name in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)!", text):
            if name in macros:
                uses.add(macros[name])
        text = re.sub(r"\bcrate::[a-z_][a-z0-9_]*!", "", text)
        for root, rest in PATH.findall(text):
            names = [n for n in rest.split("::") if n]
            uses.add(resolve(module, root, names, modules))
        for root, prefix, group in GROUP.findall(text):
            base = [n for n in prefix.split("::") if n]
            for item in group.split(","):
                item = item.strip().split(" as ")[0].split("::")
                uses.add(resolve(module, root, base + [item[0]], modules))
        # `use child::...` in a module that declares `mod child;`.
        for child in re.findall(r"\buse ([a-z_][a-z0-9_]*)::", text):
            if module + (child,) in modules:
                uses.add(module + (child,))
        uses.discard(module)
        edges[module] = {u for u in uses if u in modules}
    return edges


def cycles(edges):
    found = []
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def name(crate: str, module: tuple) -> str:
    return "::".join((crate,) + module) if module else f"{crate} (crate root)"


MAX_LINES = 500
SIZED = ("snapshot", "controller", "dataplane")

failed = False
for crate in CRATES:
    src = ROOT / crate / "src"
    edges = edges_of(src)
    for cycle in cycles(edges):
        failed = True
        print(f"{crate}: module cycle: " + " -> ".join(name(crate, m) for m in cycle))
    sized = crate.split("/")[0] in SIZED
    for file in sorted(src.rglob("*.rs")) if sized else []:
        text = file.read_text()
        cut = re.search(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)
        lines = (text[: cut.start()] if cut else text).count("\n")
        if lines > MAX_LINES:
            failed = True
            print(f"{file.relative_to(ROOT)}: {lines} lines of non-test code (at most {MAX_LINES})")
if failed:
    sys.exit(1)
print(f"no module cycles; no source file over {MAX_LINES} lines")
