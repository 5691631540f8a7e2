"""Each layer only looks down (docs/architecture.md): no module of the server imports, even
lazily or only for type checking, a module that imports it back.

``tests/engine/test_engine_imports.py`` checks that every engine module can be imported first;
an import inside a function or under ``TYPE_CHECKING`` hides a cycle from that test, so this one
reads the imports from the source (every ``import`` statement, wherever it is) and looks for
cycles among the modules of ``webapp`` (the app factory, ``webapp/__init__.py``, which builds
the app out of every part, left out).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "webapp").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, source: str, package: str, known: set[str]) -> set[str]:
    """The ``known`` modules that module ``name`` (of ``package``) imports anywhere in its
    ``source``. ``from package import module`` counts as the module, not the package."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            subs = {f"{base}.{alias.name}" for alias in node.names} & known
            out |= subs or ({base} & known)
    return out - {name}


def graph() -> dict[str, set[str]]:
    known = modules()
    out = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        out[name] = imports(name, path.read_text(), package, set(known)) - {"webapp"}
    del out["webapp"]
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_of_the_server_imports_one_that_imports_it_back():
    assert cycles(graph()) == []


def test_an_import_in_a_function_or_for_type_checking_counts():
    source = """
from typing import TYPE_CHECKING
from . import sibling
if TYPE_CHECKING:
    from pkg.typed import Thing
def later():
    import pkg.lazy
    from pkg import other
"""
    known = {"pkg.sibling", "pkg.typed", "pkg.lazy", "pkg.other", "pkg.mod", "pkg"}
    assert imports("pkg.mod", source, "pkg", known) == \
        {"pkg.sibling", "pkg.typed", "pkg.lazy", "pkg.other"}


def test_the_cycle_finder_finds_every_cycle_and_only_those():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["d", "e"]]
