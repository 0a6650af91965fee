"""The three patch formats of PATCH requests (server-side apply lives in `apply`).

JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes strategic merge patch
(`apimachinery/pkg/util/strategicpatch`), with merge keys of built-in types from the table
below — the `patchMergeKey`/`patchStrategy` struct tags of `k8s.io/api`.
"""

from __future__ import annotations

import json
from typing import Any

from preview.sandbox.machinery.objects import clone


class PatchError(Exception):
    """A patch that cannot be applied; the server answers 422 (or 400) with this message."""


# -- JSON merge patch ----------------------------------------------------------------------
def json_merge_patch(target: Any, patch: Any, patch_owned: bool = False) -> Any:
    """`target` with `patch` merged in, as a new value: neither argument is changed. With
    `patch_owned` (the caller drops `patch` after, as a request body) the result may hold
    parts of `patch` instead of copies."""
    if not isinstance(patch, dict):
        return patch if patch_owned else clone(patch)
    return _merge_into(clone(target) if isinstance(target, dict) else {}, patch, patch_owned)


def _merge_into(out: dict[str, Any], patch: dict[str, Any], owned: bool) -> dict[str, Any]:
    """Merge `patch` into `out` in place (`out` is a copy of ours: cloned once, at the top,
    not again at every level)."""
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            current = out.get(key)
            out[key] = _merge_into(current if isinstance(current, dict) else {}, value, owned)
        else:
            out[key] = value if owned else clone(value)
    return out


# -- JSON patch --------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer must start with "/": "{path}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, path: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    try:
        i = int(token)
    except ValueError:
        raise PatchError(f"invalid index in path: {path}") from None
    if i < 0 or i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"index out of bounds: {path}")
    return i


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for tok in tokens[:-1]:
        if isinstance(node, dict):
            if tok not in node:
                raise PatchError(f'doc is missing path: "{path}": missing value')
            node = node[tok]
        elif isinstance(node, list):
            node = node[_index(node, tok, path, False)]
        else:
            raise PatchError(f'doc is missing path: "{path}": missing value')
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f'doc is missing path: "{path}": missing value')
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path, False)]
    raise PatchError(f'doc is missing path: "{path}": missing value')


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, True), value)
    else:
        raise PatchError(f'doc is missing path: "{path}": missing value')
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f'Unable to remove nonexistent key: {last}: missing value')
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, path, False))
    raise PatchError(f'doc is missing path: "{path}": missing value')


def json_patch(target: Any, ops: list[dict[str, Any]]) -> Any:
    doc = clone(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("unexpected kind of patch operation: missing 'op'")
        kind, path = op["op"], op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"operation {kind} is missing 'path'")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {kind} is missing 'value'")
        if kind == "add":
            doc = _add(doc, path, clone(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            if _pointer(path):
                doc, _ = _remove(doc, path)
            doc = _add(doc, path, clone(op["value"]))
        elif kind == "move":
            doc, value = _remove(doc, str(op.get("from", "")))
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, clone(_get(doc, str(op.get("from", "")))))
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


# -- strategic merge patch ---------------------------------------------------------------------
# List field -> merge key. A list's identity is its field name, qualified by its parent
# field where the same name means different things (container vs service ports).
_MERGE_KEYS: dict[tuple[str, ...], str] = {
    ("containers",): "name",
    ("initContainers",): "name",
    ("ephemeralContainers",): "name",
    ("volumes",): "name",
    ("volumeMounts",): "mountPath",
    ("volumeDevices",): "devicePath",
    ("env",): "name",
    ("imagePullSecrets",): "name",
    ("tolerations",): "key",
    ("ownerReferences",): "uid",
    ("conditions",): "type",
    ("hostAliases",): "ip",
    ("topologySpreadConstraints",): "topologyKey",
    ("resourceClaims",): "name",
    ("containers", "ports"): "containerPort",
    ("initContainers", "ports"): "containerPort",
    ("ephemeralContainers", "ports"): "containerPort",
    ("spec", "ports"): "port",
    ("addresses",): "type",
    ("taints",): "key",
}
_SET_LISTS = {("finalizers",)}


def merge_key_for(path: tuple[str, ...]) -> str | None:
    """Merge key of the list at `path` (field names from the root, list indices skipped)."""
    if not path:
        return None
    if len(path) >= 2 and (path[-2], path[-1]) in _MERGE_KEYS:
        if path[-1] == "ports" and path[-2] == "spec" and "template" in path:
            return None  # a pod template's spec has no "ports" list
        return _MERGE_KEYS[(path[-2], path[-1])]
    if path[-1] == "ports":
        return None
    if path[-1] == "addresses" and "status" not in path:
        return None
    if path[-1] == "conditions" and "status" not in path:
        return None
    return _MERGE_KEYS.get((path[-1],))


# Server-side apply identifies some list items by more than the strategic merge key: the
# `+listMapKey` markers of k8s.io/api (a container may open a port for UDP and for TCP).
_APPLY_KEYS: dict[str, tuple[str, ...]] = {"containerPort": ("containerPort", "protocol"),
                                           "port": ("port", "protocol")}
_KEY_DEFAULTS = {"protocol": "TCP"}


def apply_keys_for(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The list-map keys server-side apply uses for the list at `path`."""
    key = merge_key_for(path)
    if key is None:
        return None
    return _APPLY_KEYS.get(key, (key,)) if path[-1] == "ports" else (key,)


def key_values(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """An item's identity under `keys`, with the API's defaults for absent key fields."""
    return {k: item.get(k, _KEY_DEFAULTS.get(k)) for k in keys}


def is_set_list(path: tuple[str, ...]) -> bool:
    return bool(path) and (path[-1],) in _SET_LISTS


def strategic_merge_patch(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    result = _merge_map(clone(original), patch, ())
    if not isinstance(result, dict):
        raise PatchError("strategic merge patch must produce an object")
    return result


def _merge_map(original: Any, patch: dict[str, Any], path: tuple[str, ...]) -> Any:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = original if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(value, list):
                out[field] = [v for v in out[field] if v not in value]
            continue
        if value is None:
            out.pop(key, None)
            continue
        child = (*path, key)
        if isinstance(value, dict):
            merged = _merge_map(out.get(key), value, child)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _merge_list(out.get(key), value, child)
        else:
            out[key] = value
    for key, order in patch.items():
        if key.startswith("$setElementOrder/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(order, list):
                out[field] = _reorder(out[field], order, merge_key_for((*path, field)))
    if isinstance(retain, list):
        for key in list(out):
            if key not in retain:
                out.pop(key)
    return out


def _merge_list(original: Any, patch: list[Any], path: tuple[str, ...]) -> list[Any]:
    current = original if isinstance(original, list) else []
    if is_set_list(path):
        merged = list(current)
        for v in patch:
            if v not in merged:
                merged.append(v)
        return merged
    key = merge_key_for(path)
    if key is None or not all(isinstance(i, dict) for i in patch):
        if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
            return [clone(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
        return clone(patch)
    if any(i.get("$patch") == "replace" for i in patch):
        return [clone(i) for i in patch if "$patch" not in i]
    out = list(current)
    for item in patch:
        if key not in item:
            raise PatchError(f"map: {json.dumps(item)} does not contain declared merge key: "
                             f"{key}")
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict)
                    and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append({k: clone(v) for k, v in item.items() if k != "$patch"})
        else:
            out[idx] = _merge_map(out[idx], item, path)
    return out


def _reorder(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def ident(x: Any) -> Any:
        return json.dumps(x.get(key) if key and isinstance(x, dict) else x, sort_keys=True)

    wanted = [ident(o) for o in order]
    ranked = {w: i for i, w in enumerate(wanted)}
    in_order = sorted((x for x in items if ident(x) in ranked), key=lambda x: ranked[ident(x)])
    rest = [x for x in items if ident(x) not in ranked]
    return in_order + rest
