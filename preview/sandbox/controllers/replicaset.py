"""ReplicaSet controller: keeps `spec.replicas` pods alive, as `pkg/controller/replicaset`.

Pods are claimed through the selector and controllerRef (orphans adopted, non-matching
released), missing ones created in slow-start batches (1, 2, 4, ...) and surplus ones
deleted least-valuable first; the status counts replicas, fully labeled, ready and available
(Ready for `minReadySeconds`) pods, and a `ReplicaFailure` condition reports failed creates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import ApiError, Conflict
from preview.kube.events import EventRecorder
from preview.sandbox.controllers.expectations import Expectations
from preview.sandbox.controllers.podutil import (
    controller_of,
    is_active,
    is_ready,
    owner_reference,
)
from preview.sandbox.controllers.workload import (
    claim,
    is_available,
    matches,
    next_available_check,
    omit_zero,
    pod_from_template,
    pods_to_delete,
    status_patch,
)
from preview.sandbox.machinery.objects import now

if TYPE_CHECKING:
    from preview.sandbox.controllers import ControllerContext

log = logging.getLogger(__name__)
# `burstReplicas`: at most this many creates or deletes per sync.
BURST_REPLICAS = 500
# A pod's change reaches its set's sync this much later, so that the changes of a burst
# (hundreds of pods created, bound and started at once) share syncs: each sync visits every
# pod of the namespace, as the real one does, and syncing on every event, as fast as the
# loop allowed, made the controller about a tenth of a 500-pod scale-up's CPU (BENCHMARKS.md).
# A busy kube-controller-manager's queue merges such events too; the status lags by at most
# this. The same for the set's own status writes (`on_set`).
POD_EVENT_DELAY = 0.05


def replicaset_status(rs: dict[str, Any], pods: list[dict[str, Any]], at: dt.datetime,
                      failure: str | None) -> dict[str, Any]:
    """`calculateStatus` of the replica set controller, over its active claimed pods."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully = sum(1 for p in pods
                if template_labels.items() <= (p["metadata"].get("labels") or {}).items())
    ready = sum(1 for p in pods if is_ready(p))
    status: dict[str, Any] = {
        "replicas": len(pods),
        "fullyLabeledReplicas": fully,
        "readyReplicas": ready,
        # Without minReadySeconds available is Ready: not counted twice (a sync visits
        # every pod of the set).
        "availableReplicas": ready if min_ready <= 0 else sum(
            1 for p in pods if is_available(p, min_ready, at)),
        "observedGeneration": rs["metadata"].get("generation", 0),
    }
    old_conditions = (rs.get("status") or {}).get("conditions") or []
    conditions = [c for c in old_conditions if c.get("type") != "ReplicaFailure"]
    if failure is not None:
        old = next((c for c in old_conditions if c.get("type") == "ReplicaFailure"), None)
        conditions.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                           "message": failure,
                           "lastTransitionTime": (old or {}).get("lastTransitionTime") or now()})
    if conditions:
        status["conditions"] = conditions
    return omit_zero(status, keep=("replicas",))


class ReplicaSetController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.sets = ctx.informers.informer("apps", "v1", "replicasets")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.queue: WorkQueue[Key] = WorkQueue()
        self.expectations = Expectations()
        self.events = EventRecorder(ctx.client, "replicaset-controller")
        self.failures: dict[Key, str] = {}
        self.sets.add_handler(self.on_set)
        self.pods.add_handler(self.on_pod)

    def on_set(self, kind: str, rs: dict[str, Any], old: dict[str, Any] | None) -> None:
        # A set's own status write (each sync of a burst makes one) is merged as pod events
        # are: synced at once, it would sync again for every status write of the burst.
        status_only = (kind == "MODIFIED" and old is not None
                       and rs.get("spec") == old.get("spec")
                       and rs["metadata"].get("deletionTimestamp")
                       == old["metadata"].get("deletionTimestamp"))
        self.queue.add_after(key_of(rs), POD_EVENT_DELAY if status_only else 0)

    def on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        ns = pod["metadata"].get("namespace", "")
        for version in (pod, old):
            if version is None:
                continue
            ref = controller_of(version)
            if ref is not None and ref.get("kind") == "ReplicaSet":
                key = (ns, ref["name"])
                if version is pod:
                    if kind == "ADDED":
                        self.expectations.creation_observed(key)
                    if kind == "DELETED" or pod["metadata"].get("deletionTimestamp"):
                        self.expectations.deletion_observed(key, pod["metadata"]["name"])
                self.queue.add_after(key, POD_EVENT_DELAY)
            elif ref is None and version is pod:
                for rs in self.sets.list(ns):
                    if matches(rs, pod):
                        self.queue.add(key_of(rs))

    async def run(self) -> None:
        await asyncio.gather(self.sets.synced.wait(), self.pods.synced.wait())
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        rs = self.sets.get(*key)
        if rs is None:
            self.expectations.forget(key)
            self.failures.pop(key, None)
            return None
        candidates = [p for p in self.pods.list(key[0]) if is_active(p)]
        owned, adopt, release = claim(rs, candidates)
        for pod in adopt:
            if await self._set_owner(pod, rs):
                owned.append(pod)
        for pod in release:
            await self._set_owner(pod, None)
        settled = self.expectations.satisfied(key)
        if settled and not rs["metadata"].get("deletionTimestamp"):
            await self._manage(key, rs, owned)
        at = dt.datetime.now(dt.UTC)
        status = replicaset_status(rs, owned, at, self.failures.get(key))
        patch = status_patch(rs.get("status") or {}, status)
        if patch is not None:
            await self.client.merge_patch(self.sets.rt, key[0], key[1], {"status": patch},
                                          "status")
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if not settled:
            return 1.0  # in case the awaited events never come: expectations expire
        return next_available_check(owned, min_ready, at)

    async def _manage(self, key: Key, rs: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        diff = len(pods) - int((rs.get("spec") or {}).get("replicas", 1))
        if diff < 0:
            await self._create(key, rs, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            doomed = pods_to_delete(pods, min(diff, BURST_REPLICAS))
            self.expectations.expect_deletions(key, [p["metadata"]["name"] for p in doomed])
            await asyncio.gather(*(self._delete(key, rs, p) for p in doomed))

    async def _create(self, key: Key, rs: dict[str, Any], count: int) -> None:
        """Slow start: batches of 1, 2, 4... stop at the first batch with a failure."""
        template = (rs.get("spec") or {}).get("template") or {}
        self.expectations.expect_creations(key, count)
        batch, left = 1, count
        while left > 0:
            size = min(batch, left)
            results = await asyncio.gather(*(self._create_one(key, rs, template)
                                             for _ in range(size)))
            left -= size
            if not all(results):
                for _ in range(left):
                    self.expectations.creation_observed(key)
                return
            batch *= 2
        self.failures.pop(key, None)

    async def _create_one(self, key: Key, rs: dict[str, Any], template: dict[str, Any]) -> bool:
        pod = pod_from_template(template, rs)
        try:
            created = await self.client.request(
                "POST", f"/api/v1/namespaces/{key[0]}/pods", pod)
        except ApiError as e:
            self.expectations.creation_observed(key)
            message = str(e.body.get("message") if isinstance(e.body, dict) else e.body)
            self.failures[key] = message
            await self.events.record(rs, "Warning", "FailedCreate",
                                     f"Error creating: {message}")
            return False
        await self.events.record(rs, "Normal", "SuccessfulCreate",
                                 f"Created pod: {created['metadata']['name']}")
        return True

    async def _delete(self, key: Key, rs: dict[str, Any], pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        try:
            deleted = await self.client.delete(self.pods.rt, key[0], name, {
                "preconditions": {"uid": pod["metadata"]["uid"]}})
        except ApiError as e:
            self.expectations.deletion_observed(key, name)
            await self.events.record(rs, "Warning", "FailedDelete",
                                     f"Error deleting: {e}")
            return
        if not deleted:
            self.expectations.deletion_observed(key, name)
            return
        await self.events.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")

    async def _set_owner(self, pod: dict[str, Any], rs: dict[str, Any] | None) -> bool:
        """Adopt (rs given) or release a pod by rewriting its ownerReferences."""
        refs = [r for r in pod["metadata"].get("ownerReferences") or []
                if not r.get("controller")]
        if rs is not None:
            refs.append(owner_reference(rs))
        meta = pod["metadata"]
        try:
            result = await self.client.merge_patch(self.pods.rt, meta["namespace"], meta["name"], {
                "metadata": {"ownerReferences": refs or None,
                             "resourceVersion": meta["resourceVersion"]}})
        except Conflict:
            return False
        return result is not None
