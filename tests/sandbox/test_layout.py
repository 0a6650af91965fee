"""The sandbox's folders are its architecture (docs/sandbox.md, "Layout"), and `preview` has no
import cycles: a module that needs its importer names a smaller module both can import.

The import-linter contracts in pyproject.toml keep the arrows between the parts; these checks
keep the shape they rely on.
"""

from __future__ import annotations

import ast
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


def test_no_status_code_comparisons_on_api_errors() -> None:
    """The clients' API errors (Kubernetes and GitHub) are caught by type (`except NotFound:`),
    never by comparing `e.status` with a number (DESIGN.md, "Clients"; STYLE.md 4)."""
    package = SANDBOX.parent
    sources = {module_name(path, package): path.read_text()
               for path in sorted(package.rglob("*.py"))}
    found = status_comparisons(sources, exempt={"preview.kube.client", "preview.github.client"})
    assert found == []


def test_status_comparisons_finds_them_through_aliases() -> None:
    """The checker itself: a comparison on a caught `ApiError` (under any name it is
    re-exported as) is found; catching the type, or comparing another library's status, is
    not."""
    sources = {
        "preview.kube.client": "class ApiError(Exception): ...\n"
                               "class NotFound(ApiError): ...\n",
        "pkg.client": "from preview.kube.client import ApiError\nApiFailure = ApiError\n",
        "pkg.old": (
            "from pkg.client import ApiFailure\n"
            "from preview.kube import client\n"
            "from github import GithubException\n"
            "async def f():\n"
            "    try: pass\n"
            "    except ApiFailure as e:\n"
            "        if e.status == 409: pass\n"
            "    try: pass\n"
            "    except (OSError, client.NotFound) as err:\n"
            "        if err.status not in (403, 404): raise\n"
            "    try: pass\n"
            "    except GithubException as e:\n"
            "        if e.status == 404: pass\n"
            "    try: pass\n"
            "    except client.NotFound:\n"
            "        pass\n"),
        "preview.github.client": "class GitHubError(Exception): ...\n"
                                 "class Forbidden(GitHubError): ...\n",
        "pkg.gh": (
            "from preview.github.client import Forbidden\n"
            "def f():\n"
            "    try: pass\n"
            "    except Forbidden as e:\n"
            "        if e.status == 403: pass\n"),
    }
    assert sorted(status_comparisons(sources, exempt=set())) == [
        "pkg.gh:5", "pkg.old:10", "pkg.old:7"]


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


API_ERRORS = {("preview.kube.client", "ApiError"), ("preview.github.client", "GitHubError")}
Binding = tuple[str, str] | ast.expr  # (module, name) imported, or the value of `Alias = …`


def status_comparisons(sources: dict[str, str], exempt: set[str]) -> list[str]:
    """`module:line` of every `e.status == 404` / `e.status in (403, 404)` (or `!=`, `not in`)
    where `e` is bound by an `except` clause catching the kube client's `ApiError` family or
    the GitHub transport's `GitHubError` family.

    Names are followed through imports and module-level `Alias = Name` to the class they
    denote, so a re-exported alias is caught too.
    """
    trees = {name: ast.parse(text) for name, text in sources.items()}
    bindings = {name: _bindings(tree) for name, tree in trees.items()}
    bases = {(name, node.name): node.bases for name, tree in trees.items()
             for node in tree.body if isinstance(node, ast.ClassDef)}

    def resolve(module: str, expr: ast.expr, depth: int = 0) -> tuple[str, str] | None:
        """The (module, name) that a name or a `module.Name` expression denotes."""
        if depth > 20:
            return None
        if isinstance(expr, ast.Attribute):
            base = resolve(module, expr.value, depth + 1)
            return (".".join(p for p in base if p), expr.attr) if base else None
        if not isinstance(expr, ast.Name):
            return None
        target = bindings.get(module, {}).get(expr.id)
        if target is None:
            return (module, expr.id)  # defined here (or a builtin)
        if isinstance(target, ast.expr):
            return resolve(module, target, depth + 1)
        return resolve(target[0], ast.Name(target[1]), depth + 1)

    def is_api_error(module: str, expr: ast.expr, depth: int = 0) -> bool:
        where = resolve(module, expr)
        if where is None or depth > 20:
            return False
        return where in API_ERRORS or any(is_api_error(where[0], base, depth + 1)
                                         for base in bases.get(where, []))

    found = []
    for module, tree in trees.items():
        if module in exempt:
            continue
        for handler in ast.walk(tree):
            if not (isinstance(handler, ast.ExceptHandler) and handler.name and handler.type):
                continue
            caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else \
                [handler.type]
            if not any(is_api_error(module, c) for c in caught):
                continue
            found += [f"{module}:{node.lineno}" for stmt in handler.body
                      for node in ast.walk(stmt) if isinstance(node, ast.Compare)
                      and _compares_status(node, handler.name)]
    return found


def _bindings(tree: ast.Module) -> dict[str, Binding]:
    """A module's top-level names that come from elsewhere: `from m import a as b` and
    `import m.a as b` → ("m", "a"); `B = A` → the expression `A`. (preview has no relative
    imports.)"""
    out: dict[str, Binding] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and not node.level:
            for alias in node.names:
                out[alias.asname or alias.name] = (node.module or "", alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    module, _, name = alias.name.rpartition(".")
                    out[alias.asname] = (module, name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name | ast.Attribute):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value
    return out


def _compares_status(node: ast.Compare, name: str) -> bool:
    """`name.status` against an int, or (not) in a tuple/list/set of ints."""
    if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq | ast.NotEq | ast.In | ast.NotIn):
        return False
    left, right = node.left, node.comparators[0]
    if not (isinstance(left, ast.Attribute) and left.attr == "status"
            and isinstance(left.value, ast.Name) and left.value.id == name):
        return False
    values = right.elts if isinstance(right, ast.Tuple | ast.List | ast.Set) else [right]
    return all(isinstance(v, ast.Constant) and isinstance(v.value, int) for v in values)


def test_no_module_is_loaded_by_a_name_in_a_string() -> None:
    """Imports are statements, so the layer contracts and the cycle check above see every
    arrow: a module named in a string and loaded with importlib hides one (the sandbox's
    controllers once loaded the kubelet, scheduler and ingress controller that way, an
    upward arrow and a cycle nothing saw; cluster/controllers.py now imports them)."""
    package = SANDBOX.parent
    sources = {module_name(path, package): path.read_text()
               for path in sorted(package.rglob("*.py"))}
    assert dynamic_imports(sources) == []


def test_dynamic_imports_finds_importlib_under_any_name() -> None:
    """The checker itself: importlib's loaders and `__import__` are found however imported;
    importlib's metadata is not a loader."""
    sources = {
        "pkg.a": "import importlib\nm = importlib.import_module('pkg.b')\n",
        "pkg.b": "from importlib import import_module as load\n\nx = load(name)\n",
        "pkg.c": "y = __import__('os')\n",
        "pkg.d": ("from importlib.metadata import version\nv = version('x')\n"
                  "import importlib.util as u\ns = u.spec_from_file_location('m', 'm.py')\n"),
        "pkg.e": "import os\nos.getcwd()\n",
    }
    assert dynamic_imports(sources) == ["pkg.a:2", "pkg.b:3", "pkg.c:1", "pkg.d:4"]


_LOADERS = {"import_module", "spec_from_file_location", "module_from_spec", "__import__"}


def dynamic_imports(sources: dict[str, str]) -> list[str]:
    """`module:line` of every call that loads a module by name at run time."""
    found = []
    for module, source in sources.items():
        tree = ast.parse(source)
        aliases = {alias.asname or alias.name for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                       "importlib")
                   for alias in node.names if alias.name in _LOADERS}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (isinstance(func, ast.Name) and func.id in aliases | {"__import__"}) or \
                    (isinstance(func, ast.Attribute) and func.attr in _LOADERS):
                found.append(f"{module}:{node.lineno}")
    return sorted(found)
