"""The API verbs over the store: what create, update, patch and delete mean.

This is the emulator's generic registry (`k8s.io/apiserver/pkg/registry/generic/registry`):
metadata bookkeeping (uid, resourceVersion, generation, managedFields), optimistic
concurrency, status/spec separation, dry-run, finalizers and graceful deletion. What differs
per kind lives in `strategies`; conversion between served versions in `conversion`; reading
a request body (identity, types, unknown fields) in `decoding`; deletion in `deletion`.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from preview.sandbox.apiserver.apply import apply as ssa
from preview.sandbox.apiserver.apply import patch
from preview.sandbox.apiserver.registry import (
    conversion,
    crdvalidation,
    defaults,
    platform_kinds,
    validation,
    zerovalues,
)
from preview.sandbox.apiserver.registry.decoding import Decoder, require_object
from preview.sandbox.apiserver.registry.deletion import Deletions
from preview.sandbox.apiserver.registry.options import ListOptions, WriteOptions
from preview.sandbox.apiserver.registry.strategies import Strategies
from preview.sandbox.apiserver.storage.pagination import decode_continue, encode_continue, item_key
from preview.sandbox.apiserver.storage.store import Event, Store
from preview.sandbox.machinery import selectors
from preview.sandbox.machinery.objects import clone, now
from preview.sandbox.machinery.resources import Catalog, ResourceType
from preview.sandbox.machinery.status import (
    StatusError,
    already_exists,
    bad_request,
    conflict,
    forbidden,
    invalid,
    not_found,
    unsupported_media_type,
)

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}
_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apiserver/pkg/storage/names
_NO_GENERATION = frozenset({"Namespace", "Node", "Service", "PersistentVolumeClaim",
                            "PersistentVolume", "ResourceQuota", "CustomResourceDefinition"})
_CONFLICT = "the object has been modified; please apply your changes to the latest version and try again"


class Registry(Deletions):
    def __init__(self, store: Store, catalog: Catalog, strategies: Strategies) -> None:
        self.store = store
        self.catalog = catalog
        self.strategies = strategies
        self.decoder = Decoder(store)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.storage, namespace if rt.namespaced else "", name)
        if obj is None:
            raise not_found(rt.resource, rt.group, name)
        return conversion.from_storage(rt, obj)

    def list(self, rt: ResourceType, namespace: str | None, opts: ListOptions) -> dict[str, Any]:
        matcher = self.matcher(rt, opts.label_selector, opts.field_selector)
        items = self.store.list(rt.storage, namespace if rt.namespaced else None)
        list_rv = self.store.rv
        start = ""
        if opts.continue_token:
            list_rv, start = decode_continue(opts.continue_token)
        selected: list[dict[str, Any]] = []
        remaining = 0
        next_token = ""
        for obj in items:
            key = item_key(obj)
            if start and key <= start:
                continue
            if not matcher(obj):
                continue
            if opts.limit and len(selected) >= opts.limit:
                remaining += 1
                continue
            selected.append(conversion.from_storage(rt, obj))
        if remaining:
            next_token = encode_continue(list_rv, item_key(selected[-1]))
        meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if next_token:
            meta["continue"] = next_token
            meta["remainingItemCount"] = remaining
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta,
                "items": selected}

    def matcher(self, rt: ResourceType, label_selector: str, field_selector: str) -> Any:
        """A predicate over stored objects for a list or watch's selectors."""
        labels = selectors.parse_label_selector(label_selector) if label_selector else None
        fields = (selectors.parse_field_selector(field_selector, selectors.supported_fields(rt.kind))
                  if field_selector else None)

        def match(obj: dict[str, Any]) -> bool:
            if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
                return False
            return fields is None or fields.matches(selectors.object_fields(rt.kind, obj))

        return match

    # -- create --------------------------------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str, body: dict[str, Any],
               opts: WriteOptions) -> dict[str, Any]:
        obj = self.decoder.decode(rt, namespace, body, opts)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choices(_GENERATE_CHARS, k=5))
        self._check_namespace(rt, namespace, meta.get("name", ""))
        obj = self._prepare_new(rt, obj, opts)
        if opts.field_manager:
            meta = obj["metadata"]
            meta["managedFields"] = ssa.record_update(None, obj, opts.field_manager, now())
        return self._insert(rt, obj, opts)

    def _prepare_new(self, rt: ResourceType, obj: dict[str, Any],
                     opts: WriteOptions) -> dict[str, Any]:
        obj = conversion.to_storage(rt, obj)
        obj = defaults.apply_defaults(rt.group, rt.kind, obj)
        obj = defaults.reset_status_on_create(rt.group, rt.kind, obj)
        for key in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                    "deletionGracePeriodSeconds", "generation", "selfLink"):
            obj["metadata"].pop(key, None)
        # The real server fills system fields before the strategy runs (Jobs use the uid).
        obj["metadata"]["uid"] = str(uuid.uuid4())
        obj = self.strategies.prepare_create(rt, obj)
        obj = zerovalues.fill(rt.storage[0], rt.kind, obj)
        self._validate(rt, obj, None)
        return obj

    def _insert(self, rt: ResourceType, obj: dict[str, Any], opts: WriteOptions) -> dict[str, Any]:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        if self.store.get(rt.storage, ns, meta["name"]) is not None:
            raise already_exists(rt.resource, rt.group, meta["name"])
        self.strategies.admit_create(rt, obj, dry_run=opts.dry_run)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta["creationTimestamp"] = now()
        if rt.custom or (rt.has_status and rt.kind not in _NO_GENERATION):
            meta["generation"] = 1
        if opts.dry_run:
            meta["resourceVersion"] = ""
            return conversion.from_storage(rt, obj)
        meta["resourceVersion"] = str(self.store.next_rv())
        self.store.put(rt.storage, obj, "ADDED")
        self.strategies.after_create(rt, obj)
        return conversion.from_storage(rt, obj)

    # -- update / patch ------------------------------------------------------------------------
    def update(self, rt: ResourceType, namespace: str, name: str, body: dict[str, Any],
               opts: WriteOptions, subresource: str = "") -> tuple[dict[str, Any], bool]:
        """PUT: replace the object (or its status). Returns (object, created)."""
        new = self.decoder.decode(rt, namespace, body, opts)
        if new["metadata"].get("name", name) != name:
            raise bad_request(f"the name of the object ({new['metadata'].get('name')}) does not "
                              f"match the name on the URL ({name})")
        new["metadata"]["name"] = name
        old = self.store.get(rt.storage, namespace if rt.namespaced else "", name)
        if old is None:
            if subresource or not self.strategies.allow_create_on_update(rt):
                raise not_found(rt.resource, rt.group, name)
            return self.create(rt, namespace, new, opts), True
        new = conversion.to_storage(rt, new)
        rv = new["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(rt.resource, rt.group, name, _CONFLICT)
        return self._replace(rt, old, new, opts, subresource), False

    def patch(self, rt: ResourceType, namespace: str, name: str, content_type: str, body: Any,
              opts: WriteOptions, subresource: str = "") -> tuple[dict[str, Any], bool]:
        """PATCH in any of the four patch types. Returns (object, created)."""
        kind = PATCH_TYPES.get(content_type)
        if kind is None:
            raise unsupported_media_type(
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(PATCH_TYPES)}")
        if kind == "strategic" and rt.custom:
            raise unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml")
        ns = namespace if rt.namespaced else ""
        stored = self.store.get(rt.storage, ns, name)
        if kind == "apply":
            return self._apply(rt, namespace, name, stored, body, opts, subresource)
        if stored is None:
            raise not_found(rt.resource, rt.group, name)
        current = conversion.from_storage(rt, stored)
        if subresource == "status" and kind != "json":
            # Of a status patch's result only the status and the resourceVersion precondition
            # are kept (`_replace`): the spec is not copied to be patched and thrown away. (A
            # JSON patch may name spec paths, which must exist to be patched.)
            # Nor are its managedFields, which the stored object keeps (`_replace`): not
            # copied to be checked and thrown away either.
            current = {k: v if k != "metadata" else
                       {mk: mv for mk, mv in v.items() if mk != "managedFields"}
                       for k, v in current.items()
                       if k in ("apiVersion", "kind", "metadata", "status")}
        try:
            if kind == "json":
                if not isinstance(body, list):
                    raise bad_request("json: cannot unmarshal object into Go value of type "
                                      "[]handlers.jsonPatchOp")
                patched = patch.json_patch(current, body)
            elif kind == "merge":
                patched = patch.json_merge_patch(current, require_object(body), patch_owned=True)
            else:
                patched = patch.strategic_merge_patch(current, require_object(body))
        except patch.PatchError as e:
            raise StatusError(422, "Invalid", str(e)) from e
        if not isinstance(patched, dict):
            raise bad_request("the patch produced a value that is not an object")
        # A merge or strategic patch's result is a fresh copy (the stored object is never
        # shared with it): decoded without another deep copy. A JSON patch's may alias itself
        # (`copy`), so it is copied as any other body.
        new = conversion.to_storage(rt, self.decoder.decode(rt, namespace, patched, opts,
                                                            owned=kind != "json"))
        if new["metadata"].get("name") != name:
            raise bad_request("metadata.name: Invalid value: the name of a patched object cannot "
                              "change")
        rv = new["metadata"].get("resourceVersion")
        if rv and rv != stored["metadata"]["resourceVersion"]:
            raise conflict(rt.resource, rt.group, name, _CONFLICT)
        return self._replace(rt, stored, new, opts, subresource), False

    def _apply(self, rt: ResourceType, namespace: str, name: str, stored: dict[str, Any] | None,
               body: Any, opts: WriteOptions, subresource: str) -> tuple[dict[str, Any], bool]:
        if not opts.field_manager:
            raise bad_request("PATCH, field manager is required for apply requests")
        applied = self.decoder.decode(rt, namespace, require_object(body), opts, applying=True)
        if applied["metadata"].get("name", name) != name:
            raise bad_request(f"the name of the object ({applied['metadata'].get('name')}) does "
                              f"not match the name on the URL ({name})")
        applied["metadata"]["name"] = name
        if rt.has_status and subresource != "status":
            applied.pop("status", None)
        live = conversion.from_storage(rt, stored) if stored is not None else None
        try:
            result = ssa.apply(live, applied, opts.field_manager, opts.force, now())
        except ssa.ApplyConflict as e:
            raise StatusError(409, "Conflict", e.message(rt.kind, name), kind=rt.resource,
                           name=name, group=rt.group) from e
        result = conversion.to_storage(rt, result)
        if stored is None:
            if subresource:
                raise not_found(rt.resource, rt.group, name)
            self._check_namespace(rt, namespace, name)
            managed = result["metadata"].get("managedFields")
            result = self._prepare_new(rt, result, opts)
            if managed:
                result["metadata"]["managedFields"] = managed
            return self._insert(rt, result, opts), True
        rv = applied["metadata"].get("resourceVersion")
        if rv and rv != stored["metadata"]["resourceVersion"]:
            raise conflict(rt.resource, rt.group, name, _CONFLICT)
        return self._replace(rt, stored, result, WriteOptions(opts.dry_run), subresource), False

    def _replace(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any],
                 opts: WriteOptions, subresource: str) -> dict[str, Any]:
        old_meta = old["metadata"]
        if subresource == "status":
            status = new.get("status")
            # The stored object less its status (replaced: not worth copying). Its spec and
            # managedFields are shared, not copied: a status write cannot change the spec,
            # managedFields are replaced whole (`record_update`), and stored objects are never
            # changed in place (each write stores a new one), so the old version in the watch
            # history and the new one may hold the same parts. A pod's spec is most of it,
            # and the kubelet writes a pod's status several times.
            merged = {k: _status_write_base(k, v) for k, v in old.items() if k != "status"}
            if status is not None:
                merged["status"] = status
            new = merged
        elif subresource == "approval":
            new = platform_kinds.approval_update(old, new, now())
        elif subresource and subresource not in ("finalize", "ephemeralcontainers"):
            raise StatusError(405, "MethodNotAllowed", f"{subresource} cannot be updated this way")
        else:
            if rt.has_status:
                if "status" in old:
                    new["status"] = clone(old["status"])
                else:
                    new.pop("status", None)
            new = defaults.apply_defaults(rt.group, rt.kind, new)
        meta = new["metadata"]
        for key in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp",
                    "deletionGracePeriodSeconds", "generation"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if old_meta.get("deletionTimestamp") and not subresource:
            _refuse_new_finalizers(rt, old, new)
        new = self.strategies.prepare_update(rt, old, new, subresource)
        new = zerovalues.fill(rt.storage[0], rt.kind, new)
        meta = new["metadata"]
        self._validate(rt, new, old)
        if "generation" in old_meta and _spec_changed(old, new):
            meta["generation"] = old_meta["generation"] + 1
        if opts.field_manager:
            meta["managedFields"] = ssa.record_update(old, new, opts.field_manager, now(),
                                                      subresource=subresource)
        elif "managedFields" in old_meta and "managedFields" not in meta:
            meta["managedFields"] = old_meta["managedFields"]
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if _same(old, new):
            return conversion.from_storage(rt, old)  # a no-op write keeps its resourceVersion
        if opts.dry_run:
            return conversion.from_storage(rt, new)
        self.strategies.admit_update(rt, old, new)
        meta["resourceVersion"] = str(self.store.next_rv())
        if meta.get("deletionTimestamp") and self.strategies.ready_to_remove(rt, new):
            self.store.remove(rt.storage, new)
            self.strategies.after_delete(rt, new)
            return conversion.from_storage(rt, new)
        self.store.put(rt.storage, new, "MODIFIED", old)
        self.strategies.after_update(rt, new)
        return conversion.from_storage(rt, new)

    def force_write(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Store a server-computed change (bindings, finalize) without the update checks."""
        new["metadata"]["resourceVersion"] = str(self.store.next_rv())
        stored = zerovalues.fill(rt.storage[0], rt.kind, conversion.to_storage(rt, new))
        self.store.put(rt.storage, stored, "MODIFIED", old)

    # -- helpers -------------------------------------------------------------------------------
    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get(("", "namespaces"), "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise forbidden(f'{rt.resource} "{name}" is forbidden: unable to create new content in '
                            f"namespace {namespace} because it is being terminated",
                            rt.resource, rt.group, name)

    def _validate(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        causes = validation.validate_object_meta(rt.kind, rt.group, obj, rt.namespaced,
                                                 validation.name_rule_for(rt.resource))
        causes += self.strategies.validate(rt, obj, old)
        if rt.custom:
            schema = self.decoder.crd_schema(rt)
            if schema is not None:
                causes += crdvalidation.causes(obj, schema)
        if causes:
            raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), causes)

    def events_for(self, rt: ResourceType, event: Event) -> dict[str, Any]:
        return conversion.from_storage(rt, event.obj)


def _status_write_base(key: str, value: Any) -> Any:
    """A top-level field of the stored object as a status write starts from (see `_replace`)."""
    if key == "spec":
        return value
    if key == "metadata":
        return {k: v if k == "managedFields" else clone(v) for k, v in value.items()}
    return clone(value)


def _spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = (set(old) | set(new)) - {"metadata", "status", "apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    if old.keys() != new.keys():
        return False
    for k in old:
        if k == "metadata":
            a = {x: y for x, y in old["metadata"].items() if x != "managedFields"}
            b = {x: y for x, y in new["metadata"].items() if x != "managedFields"}
            if a != b:
                return False
        elif old[k] != new[k]:
            return False
    return True


def _refuse_new_finalizers(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """A terminating object may lose finalizers but not gain them (as the real server)."""
    before = set(old["metadata"].get("finalizers") or [])
    after = set(new["metadata"].get("finalizers") or [])
    if after - before:
        from preview.sandbox.machinery.status import Cause
        raise invalid(rt.kind, rt.group, old["metadata"]["name"], [Cause(
            "FieldValueForbidden",
            "Forbidden: no new finalizers can be added if the object is being deleted, "
            f"found new finalizers []string{{{', '.join(repr(f) for f in sorted(after - before))}}}",
            "metadata.finalizers")])
