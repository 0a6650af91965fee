"""Pieces every translator shares: copying, host metadata, and the refusal error."""

from __future__ import annotations

from typing import Any

from preview import naming
from preview.kube.objects import clone
from preview.syncer.context import SyncContext

__all__ = ["Refused", "clone", "host_metadata"]

# Virtual metadata that means nothing on the host (or that the host server owns).
_SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                  "ownerReferences", "finalizers", "selfLink", "generateName")


class Refused(Exception):
    """The virtual object asks for something this virtual cluster does not allow.

    `reason` is a CamelCase Event reason; the message says which field and why.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def host_metadata(virtual: dict[str, Any], ctx: SyncContext,
                  limit: int = naming.DNS_SUBDOMAIN_MAX) -> dict[str, Any]:
    """Metadata of the host copy: translated name, ownership labels, virtual identity."""
    meta = virtual["metadata"]
    namespace = meta.get("namespace", "")
    out: dict[str, Any] = {k: clone(v) for k, v in meta.items() if k not in _SERVER_FIELDS}
    out["name"] = naming.host_name(meta["name"], namespace, ctx.vcluster, limit)
    out["namespace"] = ctx.host_namespace
    out["labels"] = {**(meta.get("labels") or {}),
                     **naming.ownership_labels(ctx.vcluster, namespace)}
    out["annotations"] = {**(meta.get("annotations") or {}),
                          naming.VIRTUAL_NAME_ANNOTATION: meta["name"],
                          naming.VIRTUAL_NAMESPACE_ANNOTATION: namespace,
                          naming.VIRTUAL_UID_ANNOTATION: meta.get("uid", "")}
    # kubectl's last-applied copy names virtual objects; on the host it only misleads.
    out["annotations"].pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return out
