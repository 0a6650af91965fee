"""Reading the files a pull request controls: YAML with line numbers, paths kept in the repo.

`preview.yaml` and the values files it names come from the pull request. YAML is parsed safely
(and duplicate keys refused: PyYAML would silently keep the last), and every path the file
names must resolve, symlinks included, inside the repository that holds it.
"""

from __future__ import annotations

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
