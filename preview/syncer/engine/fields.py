"""What a patch of a host copy must contain. Pure.

Three things make up a host copy the syncer keeps current: its labels, its annotations and
the kind's synced fields. Keys the host added itself (a cloud controller's annotations, a
defaulted field) must survive, so the syncer remembers which label and annotation keys it
set (as vCluster's managed-labels bookkeeping does) and removes only those, and it records a
hash of the synced fields it last wrote, so a field the tenant removed is removed on the
host too while fields the host defaulted are not fought over.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from preview import naming

MANAGED_LABELS = f"{naming.PREFIX}managed-labels"
MANAGED_ANNOTATIONS = f"{naming.PREFIX}managed-annotations"
SYNCED_HASH = f"{naming.PREFIX}synced-hash"
_BOOKKEEPING = (MANAGED_LABELS, MANAGED_ANNOTATIONS, SYNCED_HASH)
Path = tuple[str, ...]


def get_path(obj: dict[str, Any], path: Path) -> Any:
    value: Any = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def synced_hash(obj: dict[str, Any], paths: tuple[Path, ...]) -> str:
    body = json.dumps([get_path(obj, p) for p in paths], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def with_bookkeeping(wanted: dict[str, Any], paths: tuple[Path, ...]) -> dict[str, Any]:
    """`wanted` (a fresh translation, modified in place) recording the keys it manages and
    the hash of its synced fields."""
    meta = wanted["metadata"]
    labels = meta.setdefault("labels", {})
    annotations = meta.setdefault("annotations", {})
    annotations[MANAGED_LABELS] = ",".join(sorted(labels))
    annotations[MANAGED_ANNOTATIONS] = ",".join(sorted(k for k in annotations
                                                       if k not in _BOOKKEEPING))
    annotations[SYNCED_HASH] = synced_hash(wanted, paths)
    return wanted


def managed_keys(host: dict[str, Any], field: str) -> set[str]:
    """The label or annotation keys the syncer set on this host copy last time."""
    annotations = host["metadata"].get("annotations") or {}
    recorded = annotations.get(MANAGED_LABELS if field == "labels" else MANAGED_ANNOTATIONS)
    return {k for k in (recorded or "").split(",") if k}


def map_patch(current: dict[str, Any], wanted: dict[str, Any],
              managed: set[str]) -> dict[str, Any]:
    """A merge patch for a label/annotation map: wanted keys set, keys we set before and no
    longer want removed, everything else (the host's own) left alone."""
    patch: dict[str, Any] = {k: v for k, v in wanted.items() if current.get(k) != v}
    patch.update({k: None for k in managed if k in current and k not in wanted})
    return patch


def contains(current: Any, wanted: Any) -> bool:
    """Whether `current` already has everything `wanted` has (extra keys are the host's)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(contains(current.get(k), v)
                                                 for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(current, list) and len(current) == len(wanted) and \
            all(contains(c, w) for c, w in zip(current, wanted, strict=True))
    return bool(current == wanted)


def merge_diff(current: Any, wanted: Any) -> Any:
    """A JSON merge patch (RFC 7386) value turning `current` into `wanted`."""
    if not isinstance(wanted, dict) or not isinstance(current, dict):
        return wanted
    out: dict[str, Any] = {}
    for key, value in wanted.items():
        if key not in current:
            out[key] = value
        elif current[key] != value:
            out[key] = merge_diff(current[key], value)
    out.update({k: None for k in current if k not in wanted})
    return out


def copy_patch(host: dict[str, Any], wanted: dict[str, Any],
               paths: tuple[Path, ...]) -> dict[str, Any] | None:
    """One merge patch over labels, annotations and synced fields, or None when in sync."""
    patch: dict[str, Any] = {}
    for field in ("labels", "annotations"):
        current = host["metadata"].get(field) or {}
        changes = map_patch(current, wanted["metadata"].get(field) or {},
                            managed_keys(host, field))
        if changes:
            patch.setdefault("metadata", {})[field] = changes
    recorded = (host["metadata"].get("annotations") or {}).get(SYNCED_HASH)
    wanted_hash = (wanted["metadata"].get("annotations") or {}).get(SYNCED_HASH)
    for path in paths:
        want, have = get_path(wanted, path), get_path(host, path)
        if recorded == wanted_hash and contains(have, want):
            continue  # as we left it (what the host added or defaulted stays)
        if want is None and have is None:
            continue
        value = merge_diff(have, want) if recorded is not None else want
        if want is not None and value == {}:
            continue
        target = patch
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return patch or None
