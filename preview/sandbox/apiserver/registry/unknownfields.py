"""Fields the real server does not know, found and dropped as its decoder does.

A built-in kind is decoded into Go structs, a custom resource pruned by its CRD's
structural schema: either way a field the schema does not declare never reaches storage.
What the client hears of it depends on the request (`fieldValidation`): nothing (Ignore), a
warning per field (Warn, the default) or a 400 naming them all (Strict); server-side apply
always fails, as the typed patch cannot be built (the registry decides, this module finds).

Pure: a schema, an object, and a `resolve` for `$ref`s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from preview.sandbox.apiserver.apply.patch import merge_key_for

Schema = dict[str, Any]
Resolve = Callable[[str], Schema | None]
# One step of a path: a field name, or a list element's index and the element itself.
Step = str | tuple[int, Any]
Path = tuple[Step, ...]
_EMBEDDED = ("apiVersion", "kind", "metadata")


def prune(obj: dict[str, Any], schema: Schema, resolve: Resolve) -> list[Path]:
    """Drop from `obj`, in place, every field `schema` does not declare; return their paths
    in the order they appear."""
    found: list[Path] = []
    _prune(obj, schema, resolve, (), found)
    return found


def _prune(value: Any, schema: Schema, resolve: Resolve, path: Path,
           found: list[Path]) -> None:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved = resolve(ref)
        if resolved is None:
            return
        schema = resolved
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune(item, items, resolve, (*path, (i, item)), found)
        return
    if not isinstance(value, dict):
        return
    properties = schema.get("properties")
    additional = schema.get("additionalProperties")
    if properties is None and additional is None and schema.get("type") != "object":
        return  # not an object's schema: a type mismatch is another check's business
    keep_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or additional is True
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    for key in list(value):
        sub = (properties or {}).get(key)
        if sub is None and isinstance(additional, dict):
            sub = additional
        if isinstance(sub, dict):
            _prune(value[key], sub, resolve, (*path, key), found)
        elif not keep_unknown and not (embedded and key in _EMBEDDED):
            found.append((*path, key))
            del value[key]


def decoder_path(path: Path) -> str:
    """As the strict JSON decoder names a field: `spec.containers[0].foo`."""
    out = ""
    for step in path:
        if isinstance(step, tuple):
            out += f"[{step[0]}]"
        else:
            out += f".{step}" if out else step
    return out


def typed_path(path: Path) -> str:
    """As structured-merge-diff names a field: `.spec.containers[name="web"].foo` (a list
    element by its merge key where the list has one)."""
    out = ""
    fields: list[str] = []
    for step in path:
        if isinstance(step, tuple):
            index, item = step
            key = merge_key_for(tuple(fields))
            if key and isinstance(item, dict) and key in item:
                out += f"[{key}={json.dumps(item[key])}]"
            else:
                out += f"[{index}]"
        else:
            fields.append(step)
            out += f".{step}"
    return out
