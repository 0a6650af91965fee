"""PersistentVolumeClaims: claimed on the host (storage class mapped), phase mirrored back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preview import naming
from preview.syncer.context import SyncContext
from preview.syncer.kinds import copies
from preview.syncer.objects import clone, host_metadata
from preview.syncer.resources import PVCS

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer

_SPEC_FIELDS = ("accessModes", "resources", "volumeMode", "dataSource", "dataSourceRef",
                "volumeAttributesClassName")


def translate(virtual_pvc: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    """The host claim: same size and modes; the storage class mapped to a host class."""
    spec = virtual_pvc.get("spec") or {}
    out_spec = {k: clone(spec[k]) for k in _SPEC_FIELDS if k in spec}
    mapping = dict(ctx.storage_classes)
    virtual_class = spec.get("storageClassName")
    host_class = mapping.get(virtual_class or "", virtual_class)
    if host_class:
        out_spec["storageClassName"] = host_class
    meta = host_metadata(virtual_pvc, ctx)
    # Annotations the virtual control plane's volume controller set about virtual volumes.
    for key in ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
                "volume.beta.kubernetes.io/storage-provisioner",
                "volume.kubernetes.io/storage-provisioner", "volume.kubernetes.io/selected-node"):
        meta["annotations"].pop(key, None)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
            "spec": out_spec}


def virtual_status(host_pvc: dict[str, Any]) -> dict[str, Any]:
    status = host_pvc.get("status") or {}
    return {k: clone(status[k]) for k in ("phase", "capacity", "accessModes", "conditions")
            if k in status}


async def reconcile(s: Syncer, namespace: str, name: str) -> float | None:
    virtual = s.virtual_informers["persistentvolumeclaims"].get(namespace, name)
    host_name = naming.host_name(name, namespace, s.ctx.vcluster)
    host = copies.host_copy(s, "persistentvolumeclaims", host_name)
    if virtual is None or virtual["metadata"].get("deletionTimestamp"):
        if host is not None and await copies.virtual_gone_or_unwanted(s, PVCS, namespace, name,
                                                                      virtual):
            await copies.delete_owned(s, PVCS, host)
        if virtual is not None and host is None and virtual["metadata"].get("finalizers"):
            return None  # the virtual control plane finishes its own claim
        return None
    if host is None:
        await copies.create(s, PVCS, virtual, translate(virtual, s.ctx))
        return None
    status = virtual_status(host)
    current = {k: v for k, v in (virtual.get("status") or {}).items() if k in status}
    if status and current != status:
        await s.virtual.replace(PVCS, namespace, name,
                                {**virtual, "status": {**(virtual.get("status") or {}),
                                                       **status}}, "status")
    return None
