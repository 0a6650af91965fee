"""kube-scheduler for the host sandbox: binds pending pods to nodes through `pods/binding`.

Like the real one (pkg/scheduler): a cache of nodes with the requests of the pods bound to
them, kept incrementally from the pod and node informers; pods are *assumed* on their node
the moment they are chosen, so the next decision sees them before the binding lands; a
pod that fits nowhere gets PodScheduled=False/Unschedulable and a FailedScheduling event,
and waits among the unschedulable pods until a node or an assigned pod changes, then
retries after a per-pod backoff (1s doubling to 10s). Pods of other schedulers, pods with a
nodeName and pods being deleted are not its business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import ApiError, Conflict, NotFound
from preview.kube.events import EventRecorder
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.machinery.objects import now
from preview.sandbox.scheduler.scheduling import NodeInfo, PodUsage, schedule, usage_of
from preview.sandbox.scheduler.taints import ready_status
from preview.sandbox.scheduler.volumebinding import prefilter_error, volume_prefilter

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"
WORKERS = 4
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
# podMaxInUnschedulablePodsDuration: an unschedulable pod is retried at least this often.
UNSCHEDULABLE_FLUSH = 300.0


def responsible(pod: dict[str, Any]) -> bool:
    """An unbound, live pod for the default scheduler."""
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase")
    return (not spec.get("nodeName") and not pod["metadata"].get("deletionTimestamp")
            and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
            and phase not in ("Succeeded", "Failed") and not spec.get("schedulingGates"))


def occupies_node(pod: dict[str, Any]) -> bool:
    """Bound and not finished: counts against its node (terminating pods still do)."""
    phase = (pod.get("status") or {}).get("phase")
    return bool((pod.get("spec") or {}).get("nodeName")) and phase not in ("Succeeded",
                                                                           "Failed")


def schedulability_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether a node update can make a pod fit (not a mere heartbeat)."""
    if old is None:
        return True
    o_status, n_status = old.get("status") or {}, new.get("status") or {}
    return (old["metadata"].get("labels") != new["metadata"].get("labels")
            or old.get("spec") != new.get("spec")
            or o_status.get("allocatable") != n_status.get("allocatable")
            or ready_status(old) != ready_status(new))


def unschedulable_condition(message: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """PodScheduled=False; the transition time only moves when the status does."""
    same = previous is not None and previous.get("status") == "False"
    return {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
            "lastTransitionTime": previous.get("lastTransitionTime") if same and previous
            else now(), "reason": "Unschedulable", "message": message}


class Scheduler:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.nodes = ctx.informers.informer("", "v1", "nodes")
        self.claims = ctx.informers.informer("", "v1", "persistentvolumeclaims")
        self.classes = ctx.informers.informer("storage.k8s.io", "v1", "storageclasses")
        self.recorder = EventRecorder(ctx.client, SCHEDULER_NAME)
        self.queue: WorkQueue[Key] = WorkQueue()
        self.infos: dict[str, NodeInfo] = {}
        # Every pod counted on a node: bound ones from the informer, assumed ones from us.
        self.placed: dict[Key, tuple[str, str, PodUsage]] = {}  # key -> (node, uid, usage)
        self.unschedulable: dict[Key, float] = {}  # key -> monotonic time it may retry
        self.attempts: dict[Key, int] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.pods.add_handler(self.on_pod)
        self.nodes.add_handler(self.on_node)
        # A claim created or bound may unblock pods that mount it.
        self.claims.add_handler(lambda kind, obj, old: self.retry_unschedulable())

    # -- informer handlers (sync: they only update the cache and enqueue) -----------------------
    def on_node(self, kind: str, node: dict[str, Any], old: dict[str, Any] | None) -> None:
        name = node["metadata"]["name"]
        if kind == "DELETED":
            self.infos.pop(name, None)
            return
        info = self.infos.get(name)
        if info is None:
            info = self.infos[name] = NodeInfo(node)
            for node_name, _, usage in self.placed.values():
                if node_name == name:
                    info.add(usage)
        else:
            info.set_node(node)
        if schedulability_changed(old, node):
            self.retry_unschedulable()

    def on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        key, uid = key_of(pod), pod["metadata"].get("uid", "")
        if kind == "DELETED" or (pod["spec"].get("nodeName") and not occupies_node(pod)):
            # Gone or finished: its node has room again.
            if self._unplace(key, uid):
                self.retry_unschedulable()
            self._forget(key)
            return
        if occupies_node(pod):
            self._forget(key)
            entry = self.placed.get(key)
            if not (entry and entry[:2] == (pod["spec"]["nodeName"], uid) and old is not None
                    and old.get("spec") == pod.get("spec")):
                self._place(key, pod["spec"]["nodeName"], uid, usage_of(pod))
            return
        if not responsible(pod):
            self._forget(key)
            return
        if key in self.unschedulable:
            # Our own status write comes back as an update: only a changed pod retries now.
            if old is not None and (old.get("spec") != pod.get("spec") or
                                    old["metadata"].get("labels") !=
                                    pod["metadata"].get("labels")):
                self._requeue(key)
            return
        self.queue.add(key)

    # -- the cache -----------------------------------------------------------------------------
    def _place(self, key: Key, node: str, uid: str, usage: PodUsage) -> None:
        self._unplace(key, None)
        self.placed[key] = (node, uid, usage)
        info = self.infos.get(node)
        if info is not None:
            info.add(usage)

    def _unplace(self, key: Key, uid: str | None) -> bool:
        """Drop a pod's usage (only that incarnation's, when `uid` is given)."""
        entry = self.placed.get(key)
        if entry is None or (uid is not None and entry[1] != uid):
            return False
        del self.placed[key]
        info = self.infos.get(entry[0])
        if info is not None:
            info.add(entry[2], sign=-1)
        return True

    def _forget(self, key: Key) -> None:
        self.unschedulable.pop(key, None)
        self.attempts.pop(key, None)

    # -- retries -------------------------------------------------------------------------------
    def retry_unschedulable(self) -> None:
        """A cluster change: every unschedulable pod goes back once its backoff is over."""
        for key in list(self.unschedulable):
            self._requeue(key)

    def _requeue(self, key: Key) -> None:
        ready_at = self.unschedulable.pop(key, 0.0)
        delay = ready_at - time.monotonic()
        if delay > 0:
            self.queue.add_after(key, delay)
        else:
            self.queue.add(key)

    def _park(self, key: Key) -> None:
        attempts = self.attempts.get(key, 0) + 1
        self.attempts[key] = attempts
        backoff = min(MAX_BACKOFF, INITIAL_BACKOFF * 2 ** (attempts - 1))
        self.unschedulable[key] = time.monotonic() + backoff

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(UNSCHEDULABLE_FLUSH / 10)
            cutoff = time.monotonic() - UNSCHEDULABLE_FLUSH
            for key, ready_at in list(self.unschedulable.items()):
                if ready_at - MAX_BACKOFF < cutoff:
                    self._requeue(key)

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        await asyncio.gather(self.pods.synced.wait(), self.nodes.synced.wait(),
                             self.claims.synced.wait(), self.classes.synced.wait())
        workers = [asyncio.create_task(self.queue.run(self.sync)) for _ in range(WORKERS)]
        workers.append(asyncio.create_task(self._flush_periodically()))
        try:
            await asyncio.gather(*workers)
        finally:
            for task in [*workers, *self._background]:
                task.cancel()

    async def sync(self, key: Key) -> float | None:
        pod = self.pods.get(*key)
        if pod is None or not responsible(pod):
            return None
        entry = self.placed.get(key)
        if entry is not None and entry[1] == pod["metadata"]["uid"]:
            return None  # assumed: its binding is in flight

        namespace = key[0]
        blocked = volume_prefilter(pod, lambda name: self.claims.get(namespace, name),
                                   lambda name: self.classes.get("", name))
        if blocked is not None and self.infos:
            self._park(key)
            await self._record_failure(pod, prefilter_error(len(self.infos), blocked))
            return None
        usage = usage_of(pod)
        decision = schedule(pod, self.infos.values(), usage)
        if decision.node is None:
            self._park(key)
            await self._record_failure(pod, decision.message)
            return None
        uid = pod["metadata"]["uid"]
        self._place(key, decision.node, uid, usage)  # assume
        try:
            await self.client.request(
                "POST", f"/api/v1/namespaces/{key[0]}/pods/{key[1]}/binding",
                {"apiVersion": "v1", "kind": "Binding",
                 "metadata": {"name": key[1], "namespace": key[0], "uid": uid},
                 "target": {"apiVersion": "v1", "kind": "Node", "name": decision.node}})
        except ApiError as e:
            current = self.pods.get(*key)
            if not (current and occupies_node(current)):
                self._unplace(key, uid)
            if isinstance(e, NotFound | Conflict):
                return None  # gone, replaced, or bound by someone else: the informer knows
            log.warning("binding %s/%s to %s failed: %s", *key, decision.node, e)
            return INITIAL_BACKOFF
        self._forget(key)
        self._in_background(self.recorder.record(
            pod, "Normal", "Scheduled",
            f"Successfully assigned {key[0]}/{key[1]} to {decision.node}"))
        return None

    async def _record_failure(self, pod: dict[str, Any], message: str) -> None:
        previous = None
        for c in (pod.get("status") or {}).get("conditions") or []:
            if c.get("type") == "PodScheduled":
                previous = c
        if not (previous and previous.get("status") == "False"
                and previous.get("reason") == "Unschedulable"
                and previous.get("message") == message):
            meta = pod["metadata"]
            with contextlib.suppress(NotFound, Conflict):
                await self.client.request(
                    "PATCH", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                    {"status": {"conditions": [unschedulable_condition(message, previous)]}},
                    "application/strategic-merge-patch+json")
        self._in_background(self.recorder.record(pod, "Warning", "FailedScheduling", message))

    def _in_background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("recording an event failed: %r", task.exception())
