"""Server-side apply: merge an applied configuration and track field ownership.

Semantics of the "Server-Side Apply" documentation: the applied fields are merged into
the live object; a field last applied by this manager and now omitted is removed (unless
another manager owns it too); changing a field another manager owns is a conflict unless
forced, which takes ownership. Non-apply writes record `Update` ownership of what they
changed (`record_update`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preview.sandbox.apiserver.apply import fieldpaths
from preview.sandbox.apiserver.apply.fieldpaths import Path
from preview.sandbox.apiserver.apply.patch import apply_keys_for, is_set_list, key_values
from preview.sandbox.machinery.objects import clone


@dataclass
class ApplyConflict(Exception):
    conflicts: list[tuple[str, str]]  # (manager, field path)
    api_versions: dict[str, str]

    def message(self, kind: str, name: str) -> str:
        n = len(self.conflicts)
        head = f"Apply failed with {n} conflict{'s' if n != 1 else ''}: "
        parts = [f'conflict with "{m}"' + (f" using {self.api_versions[m]}"
                                           if self.api_versions.get(m) else "") + f": {p}"
                 for m, p in self.conflicts]
        return head + "\n".join(parts)


def _entries(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not obj:
        return []
    return [dict(e) for e in (obj.get("metadata") or {}).get("managedFields") or []]


def _paths(entry: dict[str, Any]) -> set[Path]:
    return fieldpaths.from_fields_v1(entry.get("fieldsV1") or {})


def apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str, force: bool,
          now: str) -> dict[str, Any]:
    applied_paths = fieldpaths.leaves(applied)
    entries = _entries(live)
    mine = next((e for e in entries if e.get("manager") == manager
                 and e.get("operation") == "Apply" and not e.get("subresource")), None)
    previous = _paths(mine) if mine else set()
    others = [e for e in entries if e is not mine]

    base = clone(live) if live is not None else {}
    conflicts: list[tuple[str, str]] = []
    versions: dict[str, str] = {}
    if live is not None and not force:
        for path in sorted(applied_paths):
            if path[-1] == "." or path in previous:
                continue
            found_live, live_value = fieldpaths.lookup(live, path)
            _, new_value = fieldpaths.lookup(applied, path)
            if not found_live or live_value == new_value:
                continue
            for e in others:
                if path in _paths(e):
                    conflicts.append((e.get("manager", ""), fieldpaths.render(path)))
                    versions[e.get("manager", "")] = e.get("apiVersion", "")
        if conflicts:
            raise ApplyConflict(conflicts, versions)

    owned_by_others: set[Path] = set()
    for e in others:
        owned_by_others |= _paths(e)
    result = _merge(base, applied, ())
    kept = applied_paths | owned_by_others
    for path in sorted(previous - kept, key=len, reverse=True):
        # A field that is now the parent of a kept one (`data: {}` applied, then
        # `data: {k: v}`) still exists: only the fields no one holds any more go.
        if not any(k[:len(path)] == path for k in kept):
            fieldpaths.remove(result, path)

    new_entries = []
    for e in others:
        paths = _paths(e)
        if force or e.get("operation") == "Update":
            # Forced applies take fields; updates lose fields whose value an apply changed.
            taken = {p for p in applied_paths & paths
                     if force or fieldpaths.lookup(live or {}, p)
                     != fieldpaths.lookup(applied, p)}
            paths -= taken
        if paths:
            e["fieldsV1"] = fieldpaths.to_fields_v1(paths)
            new_entries.append(e)
    new_entries.append({"manager": manager, "operation": "Apply",
                        "apiVersion": applied.get("apiVersion", ""), "time": now,
                        "fieldsType": "FieldsV1",
                        "fieldsV1": fieldpaths.to_fields_v1(applied_paths)})
    result.setdefault("metadata", {})["managedFields"] = new_entries
    result["apiVersion"] = applied.get("apiVersion", result.get("apiVersion"))
    result["kind"] = applied.get("kind", result.get("kind"))
    return result


def _merge(live: Any, applied: Any, path: tuple[str, ...]) -> Any:
    if isinstance(applied, dict) and isinstance(live, dict):
        out = dict(live)
        for k, v in applied.items():
            out[k] = _merge(live.get(k), v, (*path, k))
        return out
    if isinstance(applied, list) and isinstance(live, list):
        keys = apply_keys_for(path)
        if keys and all(isinstance(i, dict) and keys[0] in i for i in applied + live):
            out_list = [clone(i) for i in live]
            for item in applied:
                wanted = key_values(item, keys)
                idx = next((n for n, o in enumerate(out_list)
                            if key_values(o, keys) == wanted), None)
                if idx is None:
                    out_list.append(clone(item))
                else:
                    out_list[idx] = _merge(out_list[idx], item, path)
            return out_list
        if is_set_list(path):
            merged = list(live)
            merged += [v for v in applied if v not in merged]
            return merged
    return clone(applied)


def record_update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str,
                  subresource: str = "") -> list[dict[str, Any]]:
    """managedFields after a create/update/patch by `manager` (operation Update)."""
    # A top-level field both versions hold as the same object (a status write shares the
    # stored spec, `Registry._replace`) has neither changed nor removed leaves: not walked.
    shared = () if old is None else [k for k, v in new.items()
                                     if k != "metadata" and k in old and old[k] is v]
    new_values = fieldpaths.leaf_values(new, shared)
    new_paths = set(new_values)
    if old is None:
        changed = new_paths
        removed: set[Path] = set()
    else:
        # One walk of each object, not a lookup from the root per leaf. A leaf the walk of
        # `old` does not reach (a list walked as a whole there) is looked up as before.
        old_values = fieldpaths.leaf_values(old, shared)
        changed = {p for p, v in new_values.items()
                   if (old_values[p] != v if p in old_values
                       else fieldpaths.lookup(old, p) != (True, v))}
        removed = set(old_values) - new_paths
    entries = _entries(new) if old is None else _entries(old)
    if old is None:
        entries = [e for e in entries if e.get("operation") == "Apply"]
    out = []
    mine_paths: set[Path] = set()
    lost = changed | removed
    for e in entries:
        mine = (e.get("manager") == manager and e.get("operation") == "Update"
                and e.get("subresource", "") == subresource)
        if old is not None and not mine and not fieldpaths.owns_any(e.get("fieldsV1"), lost):
            # Another manager's entry the write leaves alone is kept as stored (the stored
            # one was written by this function or `apply`, in the same form), not parsed
            # and written again: most writes change what one manager owns.
            if e.get("fieldsV1"):
                out.append(e)
            continue
        paths = _paths(e)
        if mine:
            mine_paths = paths - removed
            continue
        paths = paths - lost
        if paths:
            e["fieldsV1"] = fieldpaths.to_fields_v1(paths)
            out.append(e)
    mine_paths |= changed
    if mine_paths:
        entry = {"manager": manager, "operation": "Update", "apiVersion": new.get("apiVersion", ""),
                 "time": now, "fieldsType": "FieldsV1",
                 "fieldsV1": fieldpaths.to_fields_v1(mine_paths)}
        if subresource:
            entry["subresource"] = subresource
        out.append(entry)
    return out
