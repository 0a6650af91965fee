"""The I/O every kind shares: create, update or delete the host copy of a virtual object.

Ownership rules live here, once: a host object is only ever modified or deleted when it
carries this virtual cluster's ownership labels; a foreign object with the translated name
is left alone and the conflict is reported as a Warning Event on the virtual object.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.kube.client import AlreadyExists, Conflict, Resource

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer

log = logging.getLogger(__name__)
CONFLICT_REASON = "SyncConflict"


async def create(s: Syncer, res: Resource, virtual: dict[str, Any],
                 host_obj: dict[str, Any]) -> dict[str, Any] | None:
    """Create the host copy; None (and an Event) when a foreign object holds the name."""
    try:
        created = await s.host.create(res, s.ctx.host_namespace, host_obj)
        log.info("%s %s/%s -> host %s created", res.kind, virtual["metadata"]["namespace"],
                 virtual["metadata"]["name"], host_obj["metadata"]["name"])
        return created
    except AlreadyExists:
        pass
    existing = await s.host.get(res, s.ctx.host_namespace, host_obj["metadata"]["name"])
    if existing is None:
        raise Conflict(409, {"reason": "Conflict", "message": "host object vanished; retrying"})
    if naming.is_owned(existing, s.ctx.vcluster):
        return existing  # ours already (informer lag): adopt
    await report_conflict(s, res, virtual, host_obj["metadata"]["name"])
    return None


async def report_conflict(s: Syncer, res: Resource, virtual: dict[str, Any],
                          host_name: str) -> None:
    log.warning("%s %s/%s: host %s/%s exists and is not ours; leaving it alone", res.kind,
                virtual["metadata"].get("namespace", ""), virtual["metadata"]["name"],
                s.ctx.host_namespace, host_name)
    await s.recorder.record(
        virtual, "Warning", CONFLICT_REASON,
        f"host {res.kind} {s.ctx.host_namespace}/{host_name} already exists and does not "
        f"belong to virtual cluster {s.ctx.vcluster}; it was not modified. Rename this "
        f"{res.kind} or remove the host object.")


async def delete_owned(s: Syncer, res: Resource, host_obj: dict[str, Any] | None,
                       grace_period: int | None = None) -> bool:
    """Delete a host object if (and only if) it is ours; True when a delete was sent."""
    if host_obj is None or not naming.is_owned(host_obj, s.ctx.vcluster):
        return False
    meta = host_obj["metadata"]
    deleted = await s.host.delete(res, s.ctx.host_namespace, meta["name"], uid=meta.get("uid"),
                                  grace_period=grace_period)
    if deleted:
        log.info("host %s %s/%s deleted", res.kind, s.ctx.host_namespace, meta["name"])
    return deleted


def host_copy(s: Syncer, kind: str, host_name: str) -> dict[str, Any] | None:
    """The owned host copy from the (ownership-filtered) informer cache."""
    return s.host_informers[kind].get(s.ctx.host_namespace, host_name)


async def virtual_gone_or_unwanted(s: Syncer, res: Resource, namespace: str, name: str,
                                   cached: dict[str, Any] | None) -> bool:
    """Confirm with the virtual API server before deleting a copy because the virtual
    object looks gone: the cache may lag a delete-and-recreate."""
    if cached is not None:
        return True  # present but no longer wanted (terminating, unreferenced)
    return await s.virtual.get(res, namespace, name) is None
