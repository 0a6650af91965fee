"""StatefulSet controller: ordered pods with stable names and storage, as `pkg/controller/statefulset`.

Each sync claims the set's pods, makes sure a ControllerRevision exists for the current
template (`updateRevision`), carries out what `statefulset_plan.plan` decides — claims
from `volumeClaimTemplates` are created before their pod and kept (Retain) when it goes —
and writes the status kstatus and `kubectl rollout status` read.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import ApiError, Conflict
from preview.kube.events import EventRecorder
from preview.sandbox.controllers import revisions
from preview.sandbox.controllers import statefulset_plan as sp
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.podutil import controller_of, is_terminating, owner_reference
from preview.sandbox.controllers.workload import (
    claim,
    matches,
    next_available_check,
    status_patch,
)

if TYPE_CHECKING:
    from preview.sandbox.controllers import ControllerContext

log = logging.getLogger(__name__)


class StatefulSetController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.sets = ctx.informers.informer("apps", "v1", "statefulsets")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.revisions = ctx.informers.informer("apps", "v1", "controllerrevisions")
        pvc_rt = ctx.catalog.find("", "v1", "persistentvolumeclaims")
        assert pvc_rt is not None
        self.pvc_rt = pvc_rt
        self.queue: WorkQueue[Key] = WorkQueue()
        self.events = EventRecorder(ctx.client, "statefulset-controller")
        self.sets.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.pods.add_handler(self.on_pod)

    def on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        ns = pod["metadata"].get("namespace", "")
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") == "StatefulSet":
            self.queue.add((ns, ref["name"]))
        elif ref is None:
            for sts in self.sets.list(ns):
                if matches(sts, pod):
                    self.queue.add(key_of(sts))

    async def run(self) -> None:
        await asyncio.gather(self.sets.synced.wait(), self.pods.synced.wait(),
                             self.revisions.synced.wait())
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        sts = self.sets.get(*key)
        if sts is None:
            return None
        owned, adopt, release = claim(sts, self.pods.list(key[0]))
        for pod in adopt:
            await self._set_owner(pod, [*(pod["metadata"].get("ownerReferences") or []),
                                        owner_reference(sts)])
            owned.append(pod)
        for pod in release:
            await self._set_owner(pod, [r for r in pod["metadata"].get("ownerReferences") or []
                                        if r.get("uid") != sts["metadata"]["uid"]])
        history = revisions.owned(sts, self.revisions.list(key[0]))
        update = await self._update_revision(sts, history)
        names = {r["metadata"]["name"] for r in history} | {update}
        current = (sts.get("status") or {}).get("currentRevision") or ""
        if current not in names:
            current = update
        at = dt.datetime.now(dt.UTC)
        if not sts["metadata"].get("deletionTimestamp"):
            todo = sp.plan(sts, owned, update, at)
            for ordinal in todo.create:
                revision = current if ordinal < sp.partition(sts) else update
                await self._create(sts, ordinal, revision, update, history)
            for pod in todo.delete:
                await self._delete(sts, pod)
        status = sp.set_status(sts, owned, current, update, at)
        patch = status_patch(sts.get("status") or {}, status)
        if patch is not None:
            await self.client.merge_patch(self.sets.rt, key[0], key[1], {"status": patch},
                                          "status")
        in_use = {sp.revision_of(p) for p in owned} | {status.get("currentRevision", ""), update}
        for old in revisions.to_prune(sts, history, in_use):
            await self.client.delete(self.revisions.rt, key[0], old["metadata"]["name"])
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        return next_available_check(owned, min_ready, at)

    async def _update_revision(self, sts: dict[str, Any], history: list[dict[str, Any]]) -> str:
        """The revision of the current template; created, or renumbered as the newest."""
        wanted = revisions.new_revision(sts, revisions.next_number(history))
        name = wanted["metadata"]["name"]
        existing = next((r for r in history if r["metadata"]["name"] == name), None)
        ns = sts["metadata"]["namespace"]
        if existing is None:
            with contextlib.suppress(Conflict):
                await self.client.request("POST", path_for(self.revisions.rt, ns), wanted)
        elif history and history[-1] is not existing:
            await self.client.merge_patch(self.revisions.rt, ns, name,
                                          {"revision": wanted["revision"]})
        return name

    async def _create(self, sts: dict[str, Any], ordinal: int, revision: str, update: str,
                      history: list[dict[str, Any]]) -> None:
        template = sts["spec"]["template"]
        if revision != update:
            old = next((r for r in history if r["metadata"]["name"] == revision), None)
            template = (revisions.template_of(old) if old else None) or template
        pod = sp.new_pod(sts, template, revision, ordinal)
        ns, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for pvc in sp.new_claims(sts, ordinal):
            existing = await self.client.get(self.pvc_rt, ns, pvc["metadata"]["name"])
            if existing is not None:
                if is_terminating(existing):
                    return  # wait until the old claim is gone, as the real controller does
                continue
            try:
                await self.client.request("POST", path_for(self.pvc_rt, ns), pvc)
            except Conflict:
                continue
            except ApiError as e:
                await self.events.record(sts, "Warning", "FailedCreate",
                                         f"create Claim {pvc['metadata']['name']} for Pod "
                                         f"{pod['metadata']['name']} in StatefulSet {set_name} "
                                         f"failed error: {e}")
                return
            await self.events.record(sts, "Normal", "SuccessfulCreate",
                                     f"create Claim {pvc['metadata']['name']} Pod "
                                     f"{pod['metadata']['name']} in StatefulSet {set_name} "
                                     "success")
        try:
            await self.client.request("POST", path_for(self.pods.rt, ns), pod)
        except Conflict:
            return
        except ApiError as e:
            await self.events.record(sts, "Warning", "FailedCreate",
                                     f"create Pod {pod['metadata']['name']} in StatefulSet "
                                     f"{set_name} failed error: {e}")
            return
        await self.events.record(sts, "Normal", "SuccessfulCreate",
                                 f"create Pod {pod['metadata']['name']} in StatefulSet "
                                 f"{set_name} successful")

    async def _delete(self, sts: dict[str, Any], pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        if await self.client.delete(self.pods.rt, sts["metadata"]["namespace"], name,
                                    {"preconditions": {"uid": pod["metadata"]["uid"]}}):
            await self.events.record(sts, "Normal", "SuccessfulDelete",
                                     f"delete Pod {name} in StatefulSet "
                                     f"{sts['metadata']['name']} successful")

    async def _set_owner(self, pod: dict[str, Any], refs: list[dict[str, Any]]) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(Conflict):
            await self.client.merge_patch(self.pods.rt, meta["namespace"], meta["name"], {
                "metadata": {"ownerReferences": refs or None,
                             "resourceVersion": meta["resourceVersion"]}})
