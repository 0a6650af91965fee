"""Reading the files a pull request controls: YAML with line numbers, paths kept in the repo.

`preview.yaml` and the values files it names come from the pull request. YAML is parsed safely
(and duplicate keys refused: PyYAML would silently keep the last), and every path the file
names must resolve, symlinks included, inside the repository that holds it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from preview.errors import BadInput

DOCS_HINT = "every field is described in docs/config.md"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            continue  # construct_mapping explains unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path, label: str) -> dict[str, Any]:
    """A YAML mapping from `path` ({} when empty); errors name `label` and the line."""
    try:
        loaded = yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader subclass
    except OSError as e:
        raise BadInput(f"{label}: cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{label}: {path} is not UTF-8 text") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{label}:{mark.line + 1}" if mark else label
        raise BadInput(f"{where}: YAML syntax error: {e.problem or e.context}",
                           "fix the YAML at that line") from None
    except yaml.YAMLError as e:
        raise BadInput(f"{label}: YAML syntax error: {e}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise BadInput(f"{label}: the top level is a {type(loaded).__name__}, not a mapping",
                           DOCS_HINT)
    return loaded


def repository_root(start: Path) -> Path:
    """The git work tree holding `start`, or `start` itself outside one."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def inside_repository(path: Path, root: Path, where: str, shown: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise BadInput(f"{where}: {shown!r} is outside the repository ({root})",
                           "preview.yaml comes from the pull request, so it may only name "
                           "files of the repository; pass others as flags")
    return resolved


def confined(path: Path, where: str, shown: str) -> Path:
    """A path the workflow named (a flag): anywhere it likes, but when it lies inside a
    repository, what it resolves to must too — the file at that place is the pull
    request's, and a link there could point at the runner's credentials."""
    lexical = Path(os.path.abspath(path))
    root = repository_root(lexical.parent)
    if (root / ".git").exists() and lexical.is_relative_to(root):
        return inside_repository(path, root, where, shown)
    return path


def check_chart_tree(chart: Path, root: Path, where: str) -> None:
    """Every file helm would read from a local chart directory — its templates, files and
    `charts/` — resolves inside `root`: a link leaving it, or a special file (a FIFO would
    hang helm, a device would be read), is refused naming it, before helm runs.

    helm follows symbolic links when it loads a chart directory, so a chart holding
    `files/k -> ~/.kube/config` would otherwise put the runner's kubeconfig into a
    ConfigMap the pull request can read back. An archive (.tgz) is read member by member
    and is not walked here.
    """
    if not chart.is_dir():
        return
    seen: set[Path] = set()
    pending = [(chart.resolve(), Path("."))]
    while pending:
        directory, shown_dir = pending.pop()
        if directory in seen:
            continue  # a link loop back into the chart: helm refuses it itself
        seen.add(directory)
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            shown = shown_dir / entry.name
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                target = Path(entry.path).resolve()
                if not target.is_relative_to(root):
                    raise BadInput(
                        f"{where}: {shown} is a link to {target}, outside the repository "
                        f"({root})",
                        "a chart from a pull request may only hold files of its "
                        "repository: replace the link with the file itself")
                if target.is_dir():
                    pending.append((target, shown))
                    continue
                mode = target.stat().st_mode if target.exists() else stat.S_IFREG
            if stat.S_ISDIR(mode):
                pending.append((Path(entry.path), shown))
            elif not stat.S_ISREG(mode):
                raise BadInput(f"{where}: {shown} is not a regular file or directory",
                               "a chart holds only files and directories (no FIFOs, sockets "
                               "or devices)")
