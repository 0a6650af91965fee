"""PersistentVolumeClaims: claimed on the host (storage class mapped), phase mirrored back.

A claim may only get a fresh volume from the host's provisioner: `volumeName`, a `selector`
or a cross-namespace data source would bind or copy a host volume the tenant does not own
(stripped by the `volume-name` rule). Data sources naming a claim point at its host copy.
"""

from __future__ import annotations

from typing import Any

from preview import naming
from preview.syncer import policy
from preview.syncer.context import SyncContext
from preview.syncer.engine.kind import Kind, Obj, Translation
from preview.syncer.engine.reconcile import host_status
from preview.syncer.objects import clone, host_metadata, reserved_violations
from preview.syncer.resources import PVCS

_SPEC_FIELDS = ("accessModes", "resources", "volumeMode", "dataSource", "dataSourceRef",
                "volumeAttributesClassName", "volumeName", "selector")
# Annotations the virtual control plane's volume controller set about virtual volumes.
_VIRTUAL_VOLUME_ANNOTATIONS = (
    "pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node")


def translate(virtual_pvc: Obj, ctx: SyncContext, _facts: Any = None) -> Translation:
    """The host claim: same size and modes; the storage class mapped to a host class."""
    spec = virtual_pvc.get("spec") or {}
    namespace = virtual_pvc["metadata"]["namespace"]
    out_spec = {k: clone(spec[k]) for k in _SPEC_FIELDS if k in spec}
    stripped = [*reserved_violations(virtual_pvc), *policy.pvc(out_spec, ctx.isolation)]
    for key in ("dataSource", "dataSourceRef"):
        source = out_spec.get(key) or {}
        if source.get("name") and not source.get("namespace"):
            source["name"] = naming.host_name(source["name"], namespace, ctx.vcluster)
    mapping = dict(ctx.storage_classes)
    virtual_class = spec.get("storageClassName")
    host_class = mapping.get(virtual_class or "", virtual_class)
    if host_class:
        out_spec["storageClassName"] = host_class
    meta = host_metadata(virtual_pvc, ctx)
    for key in _VIRTUAL_VOLUME_ANNOTATIONS:
        meta["annotations"].pop(key, None)
    return Translation({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                        "spec": out_spec}, tuple(stripped))


def virtual_status(host_pvc: Obj) -> Obj:
    return host_status(("phase", "capacity", "accessModes", "conditions"))(host_pvc) or {}


# A claim's spec is immutable but for its size: only that follows the virtual claim.
PVC_KIND = Kind("persistentvolumeclaims", PVCS, naming.DNS_SUBDOMAIN_MAX, translate,
                (("spec", "resources"),),
                status=host_status(("phase", "capacity", "accessModes", "conditions")),
                events=True)
