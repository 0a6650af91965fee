"""Pieces every translator shares: copying and the host copy's metadata."""

from __future__ import annotations

from typing import Any

from preview import naming
from preview.kube.objects import clone
from preview.syncer import policy
from preview.syncer.context import SyncContext
from preview.syncer.policy import Refused, Violation

__all__ = ["Refused", "clone", "host_metadata", "reserved_violations"]

# Virtual metadata that means nothing on the host (or that the host server owns).
_SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                  "ownerReferences", "finalizers", "selfLink", "generateName")
# Keys the syncer itself sets on virtual objects (not the tenant's doing).
SYNCER_SET_KEYS = (f"{naming.PREFIX}bound",)


def host_metadata(virtual: dict[str, Any], ctx: SyncContext,
                  limit: int = naming.DNS_SUBDOMAIN_MAX) -> dict[str, Any]:
    """Metadata of the host copy: translated name, ownership labels, virtual identity, the
    owner reference. The tenant's keys under our reserved prefix never reach the host."""
    meta = virtual["metadata"]
    namespace = meta.get("namespace", "")
    out: dict[str, Any] = {k: clone(v) for k, v in meta.items() if k not in _SERVER_FIELDS}
    policy.strip_reserved(out)
    out["name"] = naming.host_name(meta["name"], namespace, ctx.vcluster, limit)
    out["namespace"] = ctx.host_namespace
    out["labels"] = {**(out.get("labels") or {}),
                     **naming.ownership_labels(ctx.vcluster, namespace)}
    out["annotations"] = {**(out.get("annotations") or {}),
                          naming.VIRTUAL_NAME_ANNOTATION: meta["name"],
                          naming.VIRTUAL_NAMESPACE_ANNOTATION: namespace,
                          naming.VIRTUAL_UID_ANNOTATION: meta.get("uid", "")}
    # kubectl's last-applied copy names virtual objects; on the host it only misleads.
    out["annotations"].pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if ctx.owner is not None:
        out["ownerReferences"] = [ctx.owner.reference()]
    return out


def reserved_violations(virtual: dict[str, Any]) -> list[Violation]:
    """The tenant's labels/annotations under our prefix (stripped by host_metadata)."""
    meta = {k: clone(virtual["metadata"].get(k) or {}) for k in ("labels", "annotations")}
    return policy.strip_reserved(meta, silent=SYNCER_SET_KEYS)
