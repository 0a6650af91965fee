"""Field sets: which fields of an object a manager owns, in the `FieldsV1` form of managedFields.

A field set is a set of leaf paths. Path elements are `f:<field>` (map key), `k:<json>`
(an item of an associative list, by its merge key), `v:<json>` (a value of a set list)
and `.` (the list item itself). `to_fields_v1`/`from_fields_v1` convert to the nested
JSON the API serves (`sigs.k8s.io/structured-merge-diff/fieldpath`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from preview.sandbox.apiserver.apply.patch import apply_keys_for, is_set_list, key_values

Path = tuple[str, ...]
_SKIP_META = frozenset({"name", "namespace", "uid", "resourceVersion", "generation",
                        "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generateName"})


def _names(path: Path) -> tuple[str, ...]:
    return tuple(p[2:] for p in path if p.startswith("f:"))


def item_key(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    """`k:{...}` naming a list item by its list-map keys, as managedFields spell it."""
    return "k:" + json.dumps(key_values(item, keys), separators=(",", ":"))


def leaves(obj: dict[str, Any]) -> set[Path]:
    """Every owned leaf of an object (identity and server-managed metadata excluded)."""
    return set(leaf_values(obj))


def leaf_values(obj: dict[str, Any], skip: Collection[str] = ()) -> dict[Path, Any]:
    """`leaves`, each with what `lookup` finds there, in one walk of the object (less the
    top-level fields named in `skip`)."""
    out: dict[Path, Any] = {}
    for k, v in obj.items():
        if k in ("apiVersion", "kind") or k in skip:
            continue
        if k == "metadata" and isinstance(v, dict):
            meta = {mk: mv for mk, mv in v.items() if mk not in _SKIP_META}
            _walk(meta, ("f:metadata",), out)
            continue
        _walk_value(v, ("f:" + k,), out)
    return out


def _walk(value: dict[str, Any], path: Path, out: dict[Path, Any]) -> None:
    for k, v in value.items():
        _walk_value(v, (*path, "f:" + k), out)


def _walk_value(value: Any, path: Path, out: dict[Path, Any]) -> None:
    if isinstance(value, dict) and value:
        _walk(value, path, out)
    elif isinstance(value, list):
        names = _names(path)
        keys = apply_keys_for(names)
        if keys and value and all(isinstance(i, dict) and keys[0] in i for i in value):
            for item in value:
                item_path = (*path, item_key(item, keys))
                out[(*item_path, ".")] = None
                _walk(item, item_path, out)
        elif is_set_list(names) and all(not isinstance(i, (dict, list)) for i in value):
            for item in value:
                out.setdefault((*path, "v:" + json.dumps(item, separators=(",", ":"))), item)
        else:
            out.setdefault(path, value)  # atomic list
    else:
        # The first value wins, as `lookup` finds the first of items with the same key.
        out.setdefault(path, value)


def lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    """The value at `path` in `obj`, and whether it is there."""
    node = obj
    parent_list: list[Any] | None = None
    for el in path:
        if el == ".":
            return True, None
        if el.startswith("f:"):
            if not isinstance(node, dict) or el[2:] not in node:
                return False, None
            node = node[el[2:]]
        elif el.startswith("k:"):
            if not isinstance(node, list):
                return False, None
            want = json.loads(el[2:])
            match = next((i for i in node if isinstance(i, dict) and
                          key_values(i, tuple(want)) == want), None)
            if match is None:
                return False, None
            parent_list, node = node, match
        elif el.startswith("v:"):
            value = json.loads(el[2:])
            if not isinstance(node, list) or value not in node:
                return False, None
            return True, value
    del parent_list
    return True, node


def remove(obj: dict[str, Any], path: Path) -> None:
    """Remove the field (or list item, for a path ending in `.`) at `path`, in place."""
    if not path:
        return
    if path[-1] == ".":
        path, whole_item = path[:-1], True
    else:
        whole_item = False
    found, parent = lookup(obj, path[:-1])
    if not found:
        return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list) and whole_item:
        want = json.loads(last[2:])
        parent[:] = [i for i in parent if not (isinstance(i, dict) and
                                               all(i.get(k) == v for k, v in want.items()))]
    elif last.startswith("v:") and isinstance(parent, list):
        value = json.loads(last[2:])
        parent[:] = [i for i in parent if i != value]


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for el in path:
            node = node.setdefault(el, {})
    return root


def owns_any(fields: Any, paths: Iterable[Path]) -> bool:
    """Whether any of `paths` is in the field set `fields` (FieldsV1 form): whether
    `from_fields_v1(fields) & set(paths)` is not empty, without building the set."""
    if not isinstance(fields, dict) or not fields:
        return False
    for path in paths:
        node: Any = fields
        for el in path:
            if not isinstance(node, dict) or el not in node:
                break
            node = node[el]
        else:
            if not (isinstance(node, dict) and node):
                return True
    return False


def from_fields_v1(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for k, v in fields.items():
        path = (*prefix, k)
        if isinstance(v, dict) and v:
            out |= from_fields_v1(v, path)
        else:
            out.add(path)
    return out


def render(path: Path) -> str:
    """`.spec.replicas`, `.spec.containers[name="web"].image`: conflict messages' form."""
    out = ""
    for el in path:
        if el.startswith("f:"):
            out += "." + el[2:]
        elif el.startswith("k:"):
            key = json.loads(el[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]"
        elif el.startswith("v:"):
            out += f"[{el[2:]}]"
    return out
