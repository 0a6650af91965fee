"""The sandbox's folders are its architecture (docs/sandbox.md, "Layout"), and `preview` has no
import cycles: a module that needs its importer names a smaller module both can import.

The import-linter contracts in pyproject.toml keep the arrows between the parts; these checks
keep the shape they rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import grimp

import preview.sandbox

SANDBOX = Path(preview.sandbox.__file__).parent


def test_sandbox_top_level_holds_only_its_parts_and_the_runner() -> None:
    """A new module goes into the part whose idea it holds, not beside them."""
    modules = sorted(p.name for p in SANDBOX.glob("*.py"))
    assert modules == ["__init__.py", "runner.py"]
    files = sorted(p.name for p in SANDBOX.iterdir() if p.is_file() and p.suffix != ".py")
    assert files == []
    folders = sorted(p.name for p in SANDBOX.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert [f for f in folders if not (SANDBOX / f / "__init__.py").exists()] == []


def test_preview_has_no_import_cycles() -> None:
    graph = grimp.build_graph("preview")
    cycles = strongly_connected(sorted(graph.modules), graph.find_modules_directly_imported_by)
    assert cycles == []


def test_strongly_connected_finds_cycles() -> None:
    """The checker itself: a 2-cycle and a 3-cycle are found, a chain is not."""
    edges = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    found = strongly_connected(sorted(edges), lambda m: edges.get(m, set()))
    assert found == [["a", "b"], ["c", "d", "e"]]


def strongly_connected(nodes: Iterable[str],
                       successors: Callable[[str], Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted.

    Iterative, so that a deep import chain does not hit the recursion limit.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    work: list[tuple[str, list[str]]] = []  # the depth-first path, with successors to visit

    def enter(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        work.append((node, sorted(successors(node))))

    for root in nodes:
        if root in index:
            continue
        enter(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    enter(nxt)
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(found)
