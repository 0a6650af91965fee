"""Deployment controller: rolls ReplicaSets, as `pkg/controller/deployment` does.

Each sync claims the Deployment's ReplicaSets, finds (or creates) the one whose template
equals the Deployment's — named `<deployment>-<pod-template-hash>` — keeps revision
annotations in step (a rollback is a template copy from an old ReplicaSet, which bumps its
revision), then either resizes proportionally (a scaling event or a paused Deployment),
recreates, or rolls (`rollout.py` decides sizes), and writes status (`deployment_status.py`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import Conflict
from preview.kube.events import EventRecorder
from preview.sandbox.controllers import deployment_status as ds
from preview.sandbox.controllers import rollout
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.podutil import controller_of, owner_reference
from preview.sandbox.controllers.rollout import RS, replicas
from preview.sandbox.controllers.workload import claim, compute_hash, matches, status_patch
from preview.sandbox.machinery.objects import clone

if TYPE_CHECKING:
    from preview.sandbox.controllers import ControllerContext

log = logging.getLogger(__name__)


class DeploymentController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.deployments = ctx.informers.informer("apps", "v1", "deployments")
        self.sets = ctx.informers.informer("apps", "v1", "replicasets")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.queue: WorkQueue[Key] = WorkQueue()
        self.events = EventRecorder(ctx.client, "deployment-controller")
        # ReplicaSets as this sync last wrote them: newer than the informer until it catches up.
        self._fresh: dict[str, RS] = {}
        self.deployments.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.sets.add_handler(self.on_replica_set)
        self.pods.add_handler(self.on_pod)

    def on_replica_set(self, kind: str, rs: RS, old: RS | None) -> None:
        ns = rs["metadata"].get("namespace", "")
        for version in (rs, old):
            if version is None:
                continue
            ref = controller_of(version)
            if ref is not None and ref.get("kind") == "Deployment":
                self.queue.add((ns, ref["name"]))
            elif ref is None and version is rs:
                for d in self.deployments.list(ns):
                    if matches(d, rs):
                        self.queue.add(key_of(d))

    def on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Recreate waits for old pods to be gone: wake it when one goes."""
        if kind != "DELETED":
            return
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        ns = pod["metadata"].get("namespace", "")
        rs = self.sets.get(ns, ref["name"])
        owner = controller_of(rs) if rs is not None else None
        if owner is not None and owner.get("kind") == "Deployment":
            self.queue.add((ns, owner["name"]))

    async def run(self) -> None:
        await asyncio.gather(self.deployments.synced.wait(), self.sets.synced.wait(),
                             self.pods.synced.wait())
        await self.queue.run(self.sync)

    # -- the sync --------------------------------------------------------------------------------
    async def sync(self, key: Key) -> float | None:
        cached = self.deployments.get(*key)
        if cached is None:
            return None
        d = clone(cached)
        sets = await self._claim(d)
        at = dt.datetime.now(dt.UTC)
        if d["metadata"].get("deletionTimestamp"):
            new, old = rollout.split_new_old(d, sets)
            await self._write_status(d, ds.finish(ds.calculate_status(d, sets, new, at)))
            return None
        paused = bool(d["spec"].get("paused"))
        cond = ds.paused_condition(d, at)
        if cond is not None:
            status = clone(d.get("status") or {})
            ds.set_condition(status, cond)
            d = await self._write_status(d, status)
        if paused or rollout.is_scaling_event(d, sets):
            new, old = await self._new_and_old(d, sets, create=False)
            await self._resize(d, new, old)
            return await self._finish(d, key, at, rollout_status=False)
        new, old = await self._new_and_old(d, sets, create=d["spec"].get("strategy", {}).get(
            "type") != "Recreate")
        if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            return await self._recreate(d, key, new, old, at)
        return await self._rolling(d, key, new, old, at)

    async def _rolling(self, d: dict[str, Any], key: Key, new: RS | None, old: list[RS],
                       at: dt.datetime) -> float | None:
        assert new is not None
        all_sets = [*old, new]
        target = rollout.reconcile_new(d, all_sets, new)
        if target is not None:
            await self._scale(d, new, target)
            return await self._finish(d, key, at)
        downs = rollout.scale_down_old(d, old, new)
        for rs in old:
            if rs["metadata"]["name"] in downs:
                await self._scale(d, rs, downs[rs["metadata"]["name"]])
        if downs:
            return await self._finish(d, key, at)
        if ds.is_complete(d, d.get("status") or {}):
            await self._clean_up(d, old)
        return await self._finish(d, key, at)

    async def _recreate(self, d: dict[str, Any], key: Key, new: RS | None, old: list[RS],
                        at: dt.datetime) -> float | None:
        scaled = False
        for rs in rollout.active(old):
            await self._scale(d, rs, 0)
            scaled = True
        if scaled or self._old_pods_running(old):
            return await self._finish(d, key, at)
        if new is None:
            new, old = await self._new_and_old(d, await self._claim(d), create=True)
        if new is not None and replicas(new) != replicas(d):
            await self._scale(d, new, replicas(d))
        if ds.is_complete(d, d.get("status") or {}):
            await self._clean_up(d, old)
        return await self._finish(d, key, at)

    def _old_pods_running(self, old: list[RS]) -> bool:
        uids = {rs["metadata"]["uid"] for rs in old}
        for pod in self.pods.list(old[0]["metadata"].get("namespace", "") if old else None):
            ref = controller_of(pod)
            if ref is not None and ref.get("uid") in uids and \
                    (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
        return False

    async def _finish(self, d: dict[str, Any], key: Key, at: dt.datetime,
                      rollout_status: bool = True) -> float | None:
        """Write the status from the ReplicaSets as they are now; maybe wake for the deadline."""
        sets = [rs for rs in self.sets.list(key[0])
                if (controller_of(rs) or {}).get("uid") == d["metadata"]["uid"]]
        sets = [_newer(rs, self._fresh.get(rs["metadata"]["name"])) for rs in sets]
        new, _ = rollout.split_new_old(d, sets)
        if rollout_status:
            status = ds.rollout_status(d, sets, new, at)
        else:
            status = ds.finish(ds.calculate_status(d, sets, new, at))
        await self._write_status(d, status)
        return ds.requeue_after(d, status, at) if rollout_status else None

    # -- ReplicaSets -------------------------------------------------------------------------------
    async def _claim(self, d: dict[str, Any]) -> list[RS]:
        self._fresh = {}
        ns = d["metadata"]["namespace"]
        owned, adopt, release = claim(d, self.sets.list(ns))
        for rs in adopt:
            refs = [*(rs["metadata"].get("ownerReferences") or []), owner_reference(d)]
            if await self._patch_rs(rs, {"metadata": {
                    "ownerReferences": refs, "resourceVersion": rs["metadata"]["resourceVersion"]}}):
                owned.append(rs)
        for rs in release:
            refs = [r for r in rs["metadata"].get("ownerReferences") or []
                    if r.get("uid") != d["metadata"]["uid"]]
            await self._patch_rs(rs, {"metadata": {"ownerReferences": refs or None}})
        return owned

    async def _new_and_old(self, d: dict[str, Any], sets: list[RS],
                           create: bool) -> tuple[RS | None, list[RS]]:
        """`getAllReplicaSetsAndSyncRevision`: the new ReplicaSet, its annotations, revision."""
        new, old = rollout.split_new_old(d, sets)
        new_revision = rollout.max_revision(old) + 1
        status = clone(d.get("status") or {})
        if new is not None:
            changes = rollout.rs_annotation_changes(d, new, new_revision)
            spec_patch: dict[str, Any] = {}
            if (new["spec"].get("minReadySeconds") or 0) != (d["spec"].get("minReadySeconds")
                                                             or 0):
                spec_patch["minReadySeconds"] = d["spec"].get("minReadySeconds") or 0
            if changes or spec_patch:
                body: dict[str, Any] = {"metadata": {"annotations": changes}}
                if spec_patch:
                    body["spec"] = spec_patch
                new = await self._patch_rs(new, body) or new
            if ds.has_deadline(d) and ds.get_condition(status, ds.PROGRESSING) is None:
                ds.set_condition(status, ds.new_condition(
                    ds.PROGRESSING, "True", ds.FOUND_NEW_RS,
                    f'Found new replica set "{new["metadata"]["name"]}"', _now()))
        elif create:
            new = await self._create_rs(d, old, new_revision, status)
            if new is None:
                return None, old
        if new is not None:
            await self._sync_revision(d, rollout.revision(new))
        if status != (d.get("status") or {}):
            await self._write_status(d, status)
        return new, old

    async def _create_rs(self, d: dict[str, Any], old: list[RS], new_revision: int,
                         status: dict[str, Any]) -> RS | None:
        collisions = int((d.get("status") or {}).get("collisionCount") or 0)
        template = clone(d["spec"]["template"])
        pod_hash = compute_hash(template, collisions or None)
        template.setdefault("metadata", {}).setdefault("labels", {})[rollout.HASH_LABEL] = pod_hash
        selector = clone(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[rollout.HASH_LABEL] = pod_hash
        name = f"{d['metadata']['name']}-{pod_hash}"
        size = rollout.new_rs_replicas(d, old, None)
        annotations = {k: v for k, v in (d["metadata"].get("annotations") or {}).items()
                       if k not in rollout.SKIPPED_ANNOTATIONS}
        annotations.update({rollout.REVISION: str(new_revision),
                            **rollout.replica_annotations(d)})
        body = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
            "name": name, "namespace": d["metadata"]["namespace"],
            "labels": dict(template["metadata"]["labels"]), "annotations": annotations,
            "ownerReferences": [owner_reference(d)]},
            "spec": {"replicas": size, "minReadySeconds": d["spec"].get("minReadySeconds") or 0,
                     "selector": selector, "template": template}}
        try:
            created: RS = await self.client.request(
                "POST", path_for(self.sets.rt, d["metadata"]["namespace"]), body)
        except Conflict:
            existing = await self.client.get(self.sets.rt, d["metadata"]["namespace"], name)
            if existing is not None and (controller_of(existing) or {}).get("uid") == \
                    d["metadata"]["uid"] and rollout.equal_ignore_hash(
                        existing["spec"]["template"], d["spec"]["template"]):
                return existing  # ours: the informer has not seen it yet
            status["collisionCount"] = collisions + 1  # a hash collision: try the next name
            await self._write_status(d, status)
            return None
        self._fresh[name] = created
        if size > 0:
            await self.events.record(d, "Normal", "ScalingReplicaSet",
                                     f"Scaled up replica set {name} from 0 to {size}")
        if ds.has_deadline(d):
            ds.set_condition(status, ds.new_condition(
                ds.PROGRESSING, "True", ds.NEW_RS_CREATED, f'Created new replica set "{name}"',
                _now()))
        return created

    async def _sync_revision(self, d: dict[str, Any], revision: int) -> None:
        current = (d["metadata"].get("annotations") or {}).get(rollout.REVISION)
        if revision and current != str(revision):
            updated = await self.client.merge_patch(
                self.deployments.rt, d["metadata"]["namespace"], d["metadata"]["name"],
                {"metadata": {"annotations": {rollout.REVISION: str(revision)}}})
            if updated is not None:
                d["metadata"] = updated["metadata"]

    async def _resize(self, d: dict[str, Any], new: RS | None, old: list[RS]) -> None:
        sizes = rollout.proportional_sizes(d, new, old)
        for rs in [*([new] if new is not None else []), *old]:
            if rs["metadata"]["name"] in sizes:
                await self._scale(d, rs, sizes[rs["metadata"]["name"]])

    async def _scale(self, d: dict[str, Any], rs: RS, size: int) -> RS:
        annotations = rollout.replica_annotations(d)
        current = rs["metadata"].get("annotations") or {}
        if replicas(rs) == size and all(current.get(k) == v for k, v in annotations.items()):
            return rs
        updated = await self._patch_rs(rs, {"metadata": {"annotations": annotations},
                                            "spec": {"replicas": size}})
        if replicas(rs) != size:
            verb = "up" if size > replicas(rs) else "down"
            await self.events.record(d, "Normal", "ScalingReplicaSet",
                                     f"Scaled {verb} replica set {rs['metadata']['name']} "
                                     f"from {replicas(rs)} to {size}")
        return updated or rs

    async def _clean_up(self, d: dict[str, Any], old: list[RS]) -> None:
        for rs in rollout.to_clean_up(d, old):
            await self.client.delete(self.sets.rt, rs["metadata"]["namespace"],
                                     rs["metadata"]["name"],
                                     {"preconditions": {"uid": rs["metadata"]["uid"]}})

    async def _patch_rs(self, rs: RS, body: dict[str, Any]) -> RS | None:
        try:
            updated = await self.client.merge_patch(
                self.sets.rt, rs["metadata"]["namespace"], rs["metadata"]["name"], body)
        except Conflict:
            return None
        if updated is not None:
            self._fresh[rs["metadata"]["name"]] = updated
        return updated

    async def _write_status(self, d: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        patch = status_patch(d.get("status") or {}, status)
        if patch is None:
            return d
        updated = await self.client.merge_patch(
            self.deployments.rt, d["metadata"]["namespace"], d["metadata"]["name"],
            {"status": patch}, "status")
        if updated is not None:
            d["status"] = updated.get("status") or {}
            d["metadata"] = updated["metadata"]
        return d


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _newer(cached: RS, written: RS | None) -> RS:
    if written is None or written["metadata"]["uid"] != cached["metadata"]["uid"]:
        return cached
    rv = int(cached["metadata"].get("resourceVersion") or 0)
    return written if int(written["metadata"].get("resourceVersion") or 0) > rv else cached
