"""Pods' reconcile: the syncer is the virtual pods' kubelet, and their `Kind`.

A virtual pod and its host pod are created, bound, mirrored and deleted together: the
translation is pods.py's (pure); here is what happens on both API servers — the host pod
created from it (with the pod's token Secret first, tokens.py), the virtual pod bound to the
node the host scheduler chose, its status mirrored, its deletion finished once the host pod
is gone, and `kubectl debug`'s ephemeral containers added to the running host pod.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.kube.client import Conflict
from preview.syncer import policy
from preview.syncer.engine.kind import WRITE, HostRule, Kind
from preview.syncer.engine.reconcile import (
    confirmed_unwanted,
    create_or_adopt,
    delete_owned,
    tell,
    who,
)
from preview.syncer.kinds import nodes, tokens
from preview.syncer.kinds.pods import (
    ephemeral_containers,
    mutable_changes,
    references,
    status_changed,
    translate,
    virtual_status,
)
from preview.syncer.objects import Refused, clone
from preview.syncer.resources import PODS, SECRETS

if TYPE_CHECKING:
    from preview.syncer.engine.state import State

log = logging.getLogger(__name__)


async def reconcile(st: State, namespace: str, name: str) -> float | None:
    """One virtual pod and its host pod: create, bind, mirror status, delete together."""

    virtual = st.virtual_informers["pods"].get(namespace, name)
    host_name = naming.host_name(name, namespace, st.ctx.vcluster, naming.DNS_LABEL_MAX)
    host = st.host_informers["pods"].get(st.ctx.host_namespace, host_name)
    label = who("pods", namespace, name, host_name)

    if virtual is None:
        if await confirmed_unwanted(st, PODS, namespace, name, None):
            await delete_owned(st, PODS, host, label, grace_period=0)
            secrets = st.host_informers.get("secrets")
            if secrets is not None:
                token = secrets.get(st.ctx.host_namespace, naming.host_name(
                    f"{name}-token", namespace, st.ctx.vcluster))
                await delete_owned(st, SECRETS, token, label)
        return None
    if virtual["metadata"].get("deletionTimestamp"):
        return await _terminate(st, virtual, host, label)
    if host is None:
        if (virtual.get("spec") or {}).get("nodeName") and \
                virtual["metadata"].get("annotations", {}).get(_BOUND_BY_SYNCER):
            # Its host pod was deleted by someone else: let the virtual controller replace it.
            await st.virtual.delete(PODS, namespace, name, uid=virtual["metadata"].get("uid"),
                                    grace_period=0)
            return None
        if (virtual.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return None  # finished before; nothing to run again
        return await _create(st, virtual, label)
    if host["metadata"].get("annotations", {}).get(naming.VIRTUAL_UID_ANNOTATION) != \
            virtual["metadata"].get("uid"):
        # A previous pod of the same name (StatefulSets reuse names): replace it.
        await delete_owned(st, PODS, host, label, grace_period=0)
        return None
    try:
        policy.running_pod(virtual.get("spec") or {}, virtual["metadata"].get("annotations")
                           or {}, st.ctx.isolation)
    except Refused as e:  # the host must not keep running what the policy now refuses
        if not host["metadata"].get("deletionTimestamp"):
            await tell(st, virtual, e.violation, label)
            await delete_owned(st, PODS, host, label)
        return None
    await _bind(st, virtual, host)
    await _add_ephemeral_containers(st, virtual, host, label)
    patch = mutable_changes(virtual, host, st.ctx)
    if patch is not None:
        await st.host.patch(PODS, st.ctx.host_namespace, host_name, patch,
                            "application/strategic-merge-patch+json")
    if status_changed(virtual, host):
        await st.virtual.replace(PODS, namespace, name,
                                 {**virtual, "status": virtual_status(host)}, "status")
    return await tokens.refresh(st, virtual)


_BOUND_BY_SYNCER = f"{naming.PREFIX}bound"


async def _create(st: State, virtual: dict[str, Any], label: str) -> float | None:
    try:
        translation = translate(virtual, st.ctx)
    except Refused as e:
        await tell(st, virtual, e.violation, label)
        return None
    spec = virtual.get("spec") or {}
    if spec.get("automountServiceAccountToken", True) is not False:
        await tokens.ensure(st, virtual)
    # Refused by the host (quota, limit ranges, validation): create_or_adopt says why in
    # the virtual cluster; quota is retried by the queue with back-off, invalid is terminal.
    _, created = await create_or_adopt(st, PODS, virtual, translation.obj, label)
    if created:
        for violation in translation.stripped:
            await tell(st, virtual, violation, label)
    return None


async def _add_ephemeral_containers(st: State, virtual: dict[str, Any], host: dict[str, Any],
                                    label: str) -> None:
    """`kubectl debug` in the virtual cluster: the same containers in the host pod."""
    try:
        wanted = ephemeral_containers(virtual, host, st.ctx)
    except Refused as e:
        await tell(st, virtual, e.violation, label)
        return
    if wanted is None:
        return
    body = clone(host)
    body["spec"]["ephemeralContainers"] = wanted
    # PUT with the informer's resourceVersion: a 409 is re-read and retried by the queue.
    await st.host.replace(PODS, st.ctx.host_namespace, host["metadata"]["name"], body,
                          "ephemeralcontainers")
    log.info("%s: ephemeral containers %s added to the host pod", label,
             [c["name"] for c in wanted[len(host["spec"].get("ephemeralContainers") or []):]])


async def _bind(st: State, virtual: dict[str, Any], host: dict[str, Any]) -> None:
    """Mirror the host scheduler's decision: bind the virtual pod to the same node."""
    node = (host.get("spec") or {}).get("nodeName")
    if not node or (virtual.get("spec") or {}).get("nodeName"):
        return
    await nodes.ensure(st, node)
    meta = virtual["metadata"]
    # Mark first: a bound pod whose host pod disappears is deleted, not re-created.
    await st.virtual.patch(PODS, meta["namespace"], meta["name"],
                           {"metadata": {"annotations": {_BOUND_BY_SYNCER: node}}})
    with contextlib.suppress(Conflict):  # already bound
        await st.virtual.request(
            "POST", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding",
            {"apiVersion": "v1", "kind": "Binding",
             "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
             "target": {"apiVersion": "v1", "kind": "Node", "name": node}})


async def _terminate(st: State, virtual: dict[str, Any], host: dict[str, Any] | None,
                     label: str) -> float | None:
    """The syncer is the virtual pod's kubelet: stop the host pod, then finish the delete."""

    meta = virtual["metadata"]
    if host is not None:
        if not host["metadata"].get("deletionTimestamp"):
            grace = meta.get("deletionGracePeriodSeconds")
            await delete_owned(st, PODS, host, label, grace_period=grace)
        return None  # the host pod's deletion brings us back
    await st.virtual.delete(PODS, meta["namespace"], meta["name"], uid=meta.get("uid"),
                            grace_period=0)
    return None


POD_KIND = Kind(
    "pods", PODS, naming.DNS_LABEL_MAX, translate,
    (),  # its own reconcile: what may change on a running pod is mutable_changes
    references=references, events=True, reconcile=reconcile,
    host_rules=(
        HostRule("", ("pods/log",), ("get",)),  # kubectl logs, relayed by the kubelet endpoint
        # kubectl exec/attach/port-forward in the virtual cluster, relayed likewise
        HostRule("", ("pods/exec", "pods/attach", "pods/portforward"), ("get", "create")),
        # kubectl debug: its ephemeral containers added to the host pod
        HostRule("", ("pods/ephemeralcontainers",), ("update",)),
        # each pod's virtual ServiceAccount token (tokens.py), whether Secrets sync or not
        HostRule("", ("secrets",), WRITE),
    ))
