"""Deletion: preconditions, finalizers, propagation policies and graceful deletion.

The delete half of the generic registry: an object with finalizers, or a pod with a grace
period, gets a `deletionTimestamp` and stays until they are done; otherwise it goes now.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from preview.sandbox.apiserver.registry import conversion
from preview.sandbox.apiserver.registry.options import DeleteOptions, ListOptions
from preview.sandbox.machinery.objects import clone, now
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.machinery.status import StatusError, conflict, forbidden, not_found

if TYPE_CHECKING:
    from preview.sandbox.apiserver.registry.strategies import Strategies
    from preview.sandbox.apiserver.storage.store import Store

_IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


class Deletions:
    """Mixed into the Registry, whose store, strategies and matcher it uses."""

    store: Store
    strategies: Strategies

    def matcher(self, rt: ResourceType, label_selector: str, field_selector: str) -> Any:
        raise NotImplementedError

    def delete(self, rt: ResourceType, namespace: str, name: str,
               opts: DeleteOptions) -> tuple[dict[str, Any], bool]:
        """Returns (object, deleted_now). Pending when finalizers or a grace period remain."""
        ns = namespace if rt.namespaced else ""
        old = self.store.get(rt.storage, ns, name)
        if old is None:
            raise not_found(rt.resource, rt.group, name)
        old_meta = old["metadata"]
        if rt.group == "" and rt.kind == "Namespace" and name in _IMMORTAL_NAMESPACES:
            # The NamespaceLifecycle admission plugin keeps the system namespaces.
            raise forbidden(f'namespaces "{name}" is forbidden: this namespace may not be '
                            "deleted", rt.resource, rt.group, name)
        if opts.uid and opts.uid != old_meta["uid"]:
            raise conflict(rt.resource, rt.group, name,
                           f"Precondition failed: UID in precondition: {opts.uid}, "
                           f"UID in object meta: {old_meta['uid']}")
        if opts.resource_version and opts.resource_version != old_meta["resourceVersion"]:
            raise conflict(rt.resource, rt.group, name,
                           f"Precondition failed: ResourceVersion in precondition: "
                           f"{opts.resource_version}, ResourceVersion in object meta: "
                           f"{old_meta['resourceVersion']}")
        new = clone(old)
        meta = new["metadata"]
        finalizers: list[str] = list(meta.get("finalizers") or [])
        policy = opts.propagation or self.strategies.default_propagation(rt)
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        elif policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        grace = self.strategies.grace_period(rt, old, opts.grace_period)
        pending = bool(finalizers) or grace > 0 or not self.strategies.ready_to_remove(rt, new)
        if opts.dry_run:
            return conversion.from_storage(rt, old), not pending
        if not pending:
            meta["resourceVersion"] = str(self.store.next_rv())
            self.store.remove(rt.storage, new)
            self.strategies.after_delete(rt, new)
            return conversion.from_storage(rt, new), True
        if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or []) \
                and grace >= int(meta.get("deletionGracePeriodSeconds") or 0):
            return conversion.from_storage(rt, old), False  # already being deleted
        if finalizers:
            meta["finalizers"] = finalizers
        if not meta.get("deletionTimestamp") or grace < int(meta.get("deletionGracePeriodSeconds") or 0):
            meta["deletionTimestamp"] = now() if grace == 0 else _in_seconds(grace)
            meta["deletionGracePeriodSeconds"] = grace
            if "generation" in meta:
                meta["generation"] += 1
        new = self.strategies.prepare_delete(rt, new)
        meta["resourceVersion"] = str(self.store.next_rv())
        if not finalizers and self.strategies.ready_to_remove(rt, new):
            # A grace period shortened to zero (the kubelet's final DELETE once the
            # containers are gone) removes the object now, as the real server does.
            self.store.remove(rt.storage, new)
            self.strategies.after_delete(rt, new)
            return conversion.from_storage(rt, new), True
        self.store.put(rt.storage, new, "MODIFIED", old)
        return conversion.from_storage(rt, new), False

    def delete_collection(self, rt: ResourceType, namespace: str | None, list_opts: ListOptions,
                          opts: DeleteOptions) -> dict[str, Any]:
        matcher = self.matcher(rt, list_opts.label_selector, list_opts.field_selector)
        deleted = []
        for obj in self.store.list(rt.storage, namespace if rt.namespaced else None):
            if not matcher(obj):
                continue
            meta = obj["metadata"]
            try:
                out, _ = self.delete(rt, meta.get("namespace", ""), meta["name"], opts)
            except StatusError:
                continue
            deleted.append(out)
        return {"kind": rt.list_kind, "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)}, "items": deleted}


def _in_seconds(seconds: int) -> str:
    t = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
