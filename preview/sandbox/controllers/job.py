"""Job controller: runs pods to completion, as `pkg/controller/job` (and the TTL-after-finished one).

Pods carry the Job's labels (`batch.kubernetes.io/job-name`, `.../controller-uid` and the
legacy `job-name`, `controller-uid`) and its controllerRef; `job_step.job_step` decides
creates, deletes and the status. A finished Job with `ttlSecondsAfterFinished` is deleted
(foreground, so its pods go first) once that time has passed.
Not done: Indexed completion mode, pod failure and success policies, and the
`batch.kubernetes.io/job-tracking` finalizer (counts are kept from the pods instead).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import ApiError
from preview.kube.events import EventRecorder
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.expectations import Expectations
from preview.sandbox.controllers.job_step import finished, job_step, ttl_left
from preview.sandbox.controllers.podutil import controller_of
from preview.sandbox.controllers.workload import pod_from_template, status_patch

if TYPE_CHECKING:
    from preview.sandbox.controllers import ControllerContext

log = logging.getLogger(__name__)


def job_labels(job: dict[str, Any]) -> dict[str, str]:
    name, uid = job["metadata"]["name"], job["metadata"]["uid"]
    return {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
            "controller-uid": uid, "job-name": name}


class JobController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.jobs = ctx.informers.informer("batch", "v1", "jobs")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.queue: WorkQueue[Key] = WorkQueue()
        self.expectations = Expectations()
        self.events = EventRecorder(ctx.client, "job-controller")
        self.jobs.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.pods.add_handler(self.on_pod)

    def on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "Job":
            return
        key = (pod["metadata"].get("namespace", ""), ref["name"])
        self.expectations.observe(key, kind, pod)
        self.queue.add(key)

    async def run(self) -> None:
        await asyncio.gather(self.jobs.synced.wait(), self.pods.synced.wait())
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        job = self.jobs.get(*key)
        if job is None:
            self.expectations.forget(key)
            return None
        at = dt.datetime.now(dt.UTC)
        if finished(job):
            return await self._expire(job, at)
        if job["metadata"].get("deletionTimestamp"):
            return None
        if not self.expectations.satisfied(key):
            return 1.0
        uid = job["metadata"]["uid"]
        pods = [p for p in self.pods.list(key[0]) if (controller_of(p) or {}).get("uid") == uid]
        step = job_step(job, pods, at)
        if step.create:
            await self._create(key, job, step.create)
        if step.delete:
            self.expectations.expect_deletions(key, [p["metadata"]["name"] for p in step.delete])
            await asyncio.gather(*(self._delete(key, job, p) for p in step.delete))
        patch = status_patch(job.get("status") or {}, step.status)
        if patch is not None:
            await self.client.merge_patch(self.jobs.rt, key[0], key[1], {"status": patch},
                                          "status")
        for event_type, reason, message in step.events:
            await self.events.record(job, event_type, reason, message)
        return step.requeue

    async def _expire(self, job: dict[str, Any], at: dt.datetime) -> float | None:
        left = ttl_left(job, at)
        if left is None:
            return None
        if left > 0:
            return left + 0.05
        meta = job["metadata"]
        await self.client.delete(self.jobs.rt, meta["namespace"], meta["name"], {
            "propagationPolicy": "Foreground", "preconditions": {"uid": meta["uid"]}})
        return None

    async def _create(self, key: Key, job: dict[str, Any], count: int) -> None:
        self.expectations.expect_creations(key, count)
        template = job["spec"]["template"]
        results = await asyncio.gather(*(self._create_one(key, job, template)
                                         for _ in range(count)))
        log.debug("job %s/%s: created %d of %d pods", *key, sum(results), count)

    async def _create_one(self, key: Key, job: dict[str, Any], template: dict[str, Any]) -> bool:
        pod = pod_from_template(template, job, job_labels(job))
        try:
            created = await self.client.request("POST", path_for(self.pods.rt, key[0]), pod)
        except ApiError as e:
            self.expectations.creation_observed(key)
            await self.events.record(job, "Warning", "FailedCreate", f"Error creating: {e}")
            return False
        await self.events.record(job, "Normal", "SuccessfulCreate",
                                 f"Created pod: {created['metadata']['name']}")
        return True

    async def _delete(self, key: Key, job: dict[str, Any], pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        if await self.client.delete(self.pods.rt, key[0], name,
                                    {"preconditions": {"uid": pod["metadata"]["uid"]}}):
            await self.events.record(job, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        else:
            self.expectations.deletion_observed(key, name)
