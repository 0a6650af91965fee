"""The one reconcile every declared kind goes through: the decision table, written once.

For the virtual object `(namespace, name)` of a kind and its host copy (from the
ownership-filtered host cache):

| virtual object                          | host copy            | decision                       |
|-----------------------------------------|----------------------|--------------------------------|
| gone (confirmed with the API), deleting, or not wanted | ours  | delete it (uid precondition)   |
| live, wanted                            | ours, other uid      | delete it; recreated next pass |
| live, refused by the isolation policy   | any / none           | Event; delete ours if any      |
| live, wanted                            | none                 | create                         |
|                                         | name taken, ours     | adopt (then as below)          |
|                                         | name taken, foreign  | Event `SyncConflict`, no write |
| live, wanted                            | ours                 | one patch: labels, annotations |
|                                         |                      | and synced fields; keys the    |
|                                         |                      | host added stay                |
| then                                    |                      | the kind's status comes back   |

A host object is only ever modified or deleted when it carries this virtual cluster's
ownership labels. Transient failures raise to the work queue (back-off per key); what
retrying cannot fix raises `TerminalError` after telling the tenant with an Event.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from preview import naming
from preview.kube.client import AlreadyExists, Conflict, Forbidden, Invalid, NotFound, Resource
from preview.syncer.engine import fields
from preview.syncer.engine.errors import TerminalError
from preview.syncer.engine.kind import Kind, Obj
from preview.syncer.engine.state import State
from preview.syncer.policy import Refused, Violation

log = logging.getLogger(__name__)
CONFLICT_REASON = "SyncConflict"
FAILED_REASON = "SyncFailed"


def who(kind: str, namespace: str, name: str, host_name: str) -> str:
    """How every log line names the objects: kind, virtual and host."""
    return f"{kind} {namespace}/{name} (host {host_name})"


async def reconcile(st: State, kind: Kind, namespace: str, name: str) -> None:
    """Bring the host copy of one virtual object in line (see the table above)."""
    virtual = st.virtual_informers[kind.name].get(namespace, name)
    host_name = naming.host_name(name, namespace, st.ctx.vcluster, kind.name_limit)
    host = st.host_informers[kind.name].get(st.ctx.host_namespace, host_name)
    if host is not None and naming.VIRTUAL_NAME_ANNOTATION not in \
            (host["metadata"].get("annotations") or {}):
        # Carries our labels but is no copy: the host's endpoints controller copies a
        # Service's labels onto the Endpoints it makes. Not ours to delete.
        host = None
    label = who(kind.name, namespace, name, host_name)
    live = virtual is not None and not virtual["metadata"].get("deletionTimestamp")
    if virtual is None or not live or (kind.wanted is not None and not kind.wanted(st, virtual)):
        if host is not None and await confirmed_unwanted(st, kind.resource, namespace, name,
                                                         virtual):
            await delete_owned(st, kind.resource, host, label)
        return
    recorded_uid = (host or {}).get("metadata", {}).get("annotations", {}).get(
        naming.VIRTUAL_UID_ANNOTATION)
    if kind.replace_on_new_uid and host is not None and recorded_uid and \
            recorded_uid != virtual["metadata"].get("uid"):
        log.info("%s: copy of an earlier object of the same name; replacing it", label)
        await delete_owned(st, kind.resource, host, label)
        return  # the delete's watch event brings the key back
    try:
        facts = kind.facts(st, virtual) if kind.facts is not None else None
        translation = kind.translate(virtual, st.ctx, facts)
    except Refused as e:
        await tell(st, virtual, e.violation, label)
        if host is not None:
            await delete_owned(st, kind.resource, host, label)
        return
    wanted = fields.with_bookkeeping(translation.obj, kind.synced_fields)
    wrote = False
    if host is None:
        host, wrote = await create_or_adopt(st, kind.resource, virtual, wanted, label)
        if host is None:
            return
    if not wrote:
        if kind.keep is not None:
            kind.keep(wanted, host)
        patch = fields.copy_patch(host, wanted, kind.synced_fields)
        if patch is not None:
            if kind.recreate_when is not None and kind.recreate_when(host, patch):
                log.info("%s: immutable fields changed; recreating the copy", label)
                await delete_owned(st, kind.resource, host, label)
                return
            host = await _patch(st, kind.resource, virtual, host_name, patch, label)
            wrote = True
    if wrote:
        for violation in translation.stripped:
            await tell(st, virtual, violation, label)
    if kind.after is not None and await kind.after(st, virtual, host):
        return
    if kind.status is not None:
        await status_back(st, kind.resource, virtual, kind.status(host), label)


async def _patch(st: State, res: Resource, virtual: Obj, host_name: str, patch: Obj,
                 label: str) -> Obj:
    try:
        patched: Obj = await st.host.patch(res, st.ctx.host_namespace, host_name, patch)
    except Invalid as e:
        await st.recorder.record(virtual, "Warning", FAILED_REASON,
                                 f"the host cluster refused this change: {e.message}")
        raise TerminalError("invalid", f"{label}: host refused the patch: {e.message}") from e
    log.info("%s: host copy updated (%s)", label, ", ".join(_changed(patch)))
    return patched


def _changed(patch: Obj) -> list[str]:
    meta = patch.get("metadata") or {}
    return [*(f"metadata.{k}" for k in meta), *(k for k in patch if k != "metadata")]


async def create_or_adopt(st: State, res: Resource, virtual: Obj, wanted: Obj,
                          label: str) -> tuple[Obj | None, bool]:
    """Create the host copy: (copy, True); an owned object already there: (it, False);
    a foreign one: (None, False) and a conflict Event."""
    try:
        created: Obj = await st.host.create(res, st.ctx.host_namespace, wanted)
        log.info("%s: host copy created", label)
        return created, True
    except AlreadyExists:
        pass
    except Invalid as e:
        await st.recorder.record(virtual, "Warning", FAILED_REASON,
                                 f"the host cluster refused this {res.kind}: {e.message}")
        raise TerminalError("invalid", f"{label}: host refused the copy: {e.message}") from e
    except Forbidden as e:
        # Quota or admission: say why in the virtual cluster; the queue retries with back-off.
        await st.recorder.record(virtual, "Warning", FAILED_REASON,
                                 f"the host cluster refused this {res.kind}: {e.message}")
        raise
    host_name = wanted["metadata"]["name"]
    existing = await st.host.get(res, st.ctx.host_namespace, host_name)
    if existing is None:
        raise Conflict(409, {"reason": "Conflict", "message": "host object vanished; retrying"})
    if naming.is_owned(existing, st.ctx.vcluster):
        log.info("%s: adopted the existing host copy", label)
        return existing, False
    await report_conflict(st, res, virtual, host_name, label)
    return None, False


async def report_conflict(st: State, res: Resource, virtual: Obj, host_name: str,
                          label: str) -> None:
    log.warning("%s: host object exists and is not ours; leaving it alone", label)
    await st.recorder.record(
        virtual, "Warning", CONFLICT_REASON,
        f"host {res.kind} {st.ctx.host_namespace}/{host_name} already exists and does not "
        f"belong to virtual cluster {st.ctx.vcluster}; it was not modified. Rename this "
        f"{res.kind} or remove the host object.")


async def delete_owned(st: State, res: Resource, host_obj: Obj | None, label: str = "",
                       grace_period: int | None = None) -> bool:
    """Delete a host object if (and only if) it is ours; True when a delete was sent."""
    if host_obj is None or not naming.is_owned(host_obj, st.ctx.vcluster):
        return False
    meta = host_obj["metadata"]
    deleted = await st.host.delete(res, st.ctx.host_namespace, meta["name"],
                                   uid=meta.get("uid"), grace_period=grace_period)
    if deleted:
        log.info("%s: host copy deleted", label or f"{res.kind} (host {meta['name']})")
    return deleted


async def confirmed_unwanted(st: State, res: Resource, namespace: str, name: str,
                             cached: Obj | None) -> bool:
    """Whether the copy of a virtual object that looks gone may be deleted: asked of the
    virtual API server, as the cache may lag a delete-and-recreate."""
    if cached is not None:
        return True  # present but no longer wanted (terminating, unreferenced)
    return await st.virtual.get(res, namespace, name) is None


async def tell(st: State, virtual: Obj, violation: Violation, label: str) -> None:
    """An isolation rule refused or stripped something: an Event naming the rule."""
    action = "refused" if violation.refused else "stripped"
    st.metrics.refusals.labels(violation.rule, action).inc()
    log.warning("%s: %s by isolation rule %s: %s", label, action, violation.rule,
                violation.message)
    await st.recorder.record(virtual, "Warning", violation.reason, violation.event_message())


async def status_back(st: State, res: Resource, virtual: Obj, status: Obj | None,
                      label: str) -> None:
    """Give the virtual object the status its host copy reports."""
    if not status or fields.contains(virtual.get("status") or {}, status):
        return
    meta = virtual["metadata"]
    with contextlib.suppress(NotFound):
        await st.virtual.patch(res, meta["namespace"], meta["name"], {"status": status},
                               subresource="status")
        log.debug("%s: status copied back", label)


def host_status(keys: tuple[str, ...]) -> Any:
    """A `Kind.status` copying these keys of the host copy's status."""
    def status(host: Obj) -> Obj | None:
        current = host.get("status") or {}
        return {k: current[k] for k in keys if k in current} or None
    return status
