"""The kubelet of every node of a host sandbox: runs the pods bound to those nodes.

One `Kubelet` object plays the kubelets of all the cluster's nodes (one pod informer,
one queue, a few workers), each pod handled as its node's kubelet would: status written
through `pods/status`, Events from `kubelet` with the node as host. Pods bound to a name
that is no Node of this cluster are left alone, as no kubelet would claim them.

- Simulated pods follow `kubelet/lifecycle.py` (failure injection in `kubelet/behaviour.py`).
- Pods a runtime hook matches (`ServerConfig.runtimes`, see `preview/sandbox/kubelet/runtime.py`)
  are started by it; their status follows the hook's readiness and exit.
- A deleted pod gets its containers stopped (`Killing`), its final status written
  (containers terminated, `Ready=False`, phase `Succeeded`/`Failed`), then the kubelet
  finishes the deletion with `gracePeriodSeconds=0`, as the real kubelet's status manager does.
- The pod subresources `log`, `portforward`, `proxy` and `services/proxy` are served from
  here (the server's `pod_handlers`/`service_handlers`, handed in the `ControllerContext`:
  the one bridge to the HTTP server).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import Conflict
from preview.kube.events import EventRecorder
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.kubelet import handlers
from preview.sandbox.kubelet.ipam import PodAddresses, fallback_cidr
from preview.sandbox.kubelet.lifecycle import (
    Event,
    PodState,
    advance,
    new_pod_state,
    next_due,
    stop,
    stop_at,
)
from preview.sandbox.kubelet.runtime import PodRuntime, RunningPod, RuntimeContext
from preview.sandbox.kubelet.status import pod_status

log = logging.getLogger(__name__)
WORKERS = 4


class Kubelet:
    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.timings = ctx.config.kubelet
        self.runtimes: list[PodRuntime] = list(ctx.config.runtimes)
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.nodes = ctx.informers.informer("", "v1", "nodes")
        self.pod_rt = self.pods.rt
        self.queue: WorkQueue[Key] = WorkQueue()
        self.states: dict[str, PodState] = {}
        self.uids: dict[Key, str] = {}
        self.running: dict[str, RunningPod] = {}
        self.starting: set[str] = set()
        self.addresses = PodAddresses()
        self.images: dict[str, set[str]] = {}
        self.written: dict[str, dict[str, Any]] = {}
        self._recorders: dict[str, EventRecorder] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.pods.add_handler(self._on_pod)
        self.nodes.add_handler(self._on_node)
        handlers.register(ctx.pod_handlers, ctx.service_handlers, self)

    async def run(self) -> None:
        try:
            await asyncio.gather(*(self.queue.run(self.sync) for _ in range(WORKERS)))
        finally:
            for running in list(self.running.values()):
                await running.stop()

    # -- events ----------------------------------------------------------------------------------
    def _on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        if (pod.get("spec") or {}).get("nodeName") or key_of(pod) in self.uids:
            self.queue.add(key_of(pod))

    def _on_node(self, kind: str, node: dict[str, Any], old: dict[str, Any] | None) -> None:
        if kind == "ADDED":
            name = node["metadata"]["name"]
            for pod in self.pods.list():
                if (pod.get("spec") or {}).get("nodeName") == name:
                    self.queue.add(key_of(pod))

    # -- reads for the HTTP handlers -------------------------------------------------------------
    def state_of(self, pod: dict[str, Any]) -> PodState | None:
        return self.states.get(pod["metadata"].get("uid", ""))

    def runtime_of(self, pod: dict[str, Any]) -> RunningPod | None:
        return self.running.get(pod["metadata"].get("uid", ""))

    def pods_in(self, namespace: str) -> list[dict[str, Any]]:
        return self.pods.list(namespace)

    # -- the sync --------------------------------------------------------------------------------
    async def sync(self, key: Key) -> float | None:
        pod = self.pods.get(*key)
        known = self.uids.get(key)
        if known is not None and (pod is None or pod["metadata"].get("uid") != known):
            await self._forget(key, known)
        if pod is None:
            return None
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        node = self.nodes.get("", node_name) if node_name else None
        if node is None:
            return None
        uid = pod["metadata"]["uid"]
        if pod["metadata"].get("deletionTimestamp"):
            return await self._terminate(pod)
        state = self.states.get(uid)
        now = time.time()
        if state is None:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return None  # finished before this kubelet knew it
            runtime_mode = any(r.matches(pod) for r in self.runtimes)
            state = new_pod_state(pod, now, self.timings, runtime_mode)
            state.ip = self._pod_ip(pod, node, uid)
            self.states[uid], self.uids[key] = state, uid
        if state.stopped:
            return None
        events = advance(state, now, self.images.setdefault(node_name, set()), self.timings)
        if state.wants_runtime and uid not in self.running and uid not in self.starting:
            self._spawn(self._start_runtime(pod, state))
        running = self.running.get(uid)
        status = pod_status(pod, state, _internal_ip(node), now, self.timings,
                            running.ready if running is not None else None)
        if events:
            self._spawn(self._record(pod, node_name, events))
        if status != self.written.get(uid):
            if await self._write_status(pod, status) is None:
                return None
            self.written[uid] = status
        if status["phase"] in ("Succeeded", "Failed"):
            state.stopped = True
            if running is not None:
                self._spawn(running.stop())
            self.addresses.release(uid)
            return None
        due = next_due(state, now, self.timings)
        return max(due - time.time(), 0.0) if due is not None else None

    async def _write_status(self, pod: dict[str, Any], status: dict[str, Any]) -> Any:
        meta = pod["metadata"]
        try:
            return await self.client.merge_patch(self.pod_rt, meta["namespace"], meta["name"],
                                                 {"status": status}, "status")
        except Conflict:
            return None

    async def _terminate(self, pod: dict[str, Any]) -> float | None:
        """Stop the containers, then remove the pod for good (grace period 0, uid-checked)."""
        meta = pod["metadata"]
        uid = meta["uid"]
        state = self.states.get(uid)
        if state is not None and not state.stopped:
            grace = float(meta.get("deletionGracePeriodSeconds") or 0)
            wait = stop_at(state, time.time(), grace) - time.time()
            if wait > 0:
                return wait  # preStop hooks still running; the containers serve meanwhile
            events = stop(state, time.time())
            if events:
                self._spawn(self._record(pod, state.node, events))
            running = self.running.pop(uid, None)
            if running is not None:
                await running.stop()
            return self.timings.kill
        running = self.running.pop(uid, None)
        if running is not None:
            await running.stop()
        if state is not None and state.deleted:
            # The final status (containers terminated, Ready=False, a terminal phase) is
            # written before the pod goes, as the real kubelet's status manager does.
            node = self.nodes.get("", state.node)
            status = pod_status(pod, state, _internal_ip(node) if node else "", time.time(),
                                self.timings)
            state.deleted = False
            if status != self.written.get(uid):
                if await self._write_status(pod, status) is None:
                    return None
                self.written[uid] = status
                return 0.0
        await self.client.delete(self.pod_rt, meta["namespace"], meta["name"], {
            "apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid}})
        return None

    async def _forget(self, key: Key, uid: str) -> None:
        self.uids.pop(key, None)
        self.states.pop(uid, None)
        self.written.pop(uid, None)
        self.addresses.release(uid)
        running = self.running.pop(uid, None)
        if running is not None:
            await running.stop()

    def _pod_ip(self, pod: dict[str, Any], node: dict[str, Any], uid: str) -> str:
        if (pod.get("spec") or {}).get("hostNetwork"):
            return _internal_ip(node)
        cidr = (node.get("spec") or {}).get("podCIDR") or fallback_cidr(node["metadata"]["name"])
        return self.addresses.allocate(uid, cidr)

    # -- runtime hooks ---------------------------------------------------------------------------
    async def _start_runtime(self, pod: dict[str, Any], state: PodState) -> None:
        uid, key = state.uid, key_of(pod)
        hook = next((r for r in self.runtimes if r.matches(pod)), None)
        if hook is None:
            return
        self.starting.add(uid)
        try:
            running = await hook.start(pod, RuntimeContext(
                state.node, state.ip, self.client.url, self.ctx.ca_pem,
                self.client))
        except Exception as e:
            # What a pod gets wrong (a missing ConfigMap, a bad probe, a command that does not
            # exist) is its Event and one line; anything else is our bug, with its traceback.
            if isinstance(e, (RuntimeError, ValueError, OSError)):
                log.warning("runtime hook failed to start pod %s/%s: %s", *key, e)
            else:
                log.exception("runtime hook failed to start pod %s/%s", *key)
            state.runtime_started, state.runtime_exit = True, 128
            self._spawn(self._record(pod, state.node, [Event(
                "Warning", "Failed", f"Error: runtime hook failed to start the pod: {e}")]))
            self.queue.add(key)
            return
        finally:
            self.starting.discard(uid)
        if self.states.get(uid) is not state or state.stopped:
            await running.stop()  # deleted while starting
            return
        self.running[uid] = running
        state.runtime_started = True
        running.on_change(self._runtime_changed(state, running, key))
        self.queue.add(key)

    def _runtime_changed(self, state: PodState, running: RunningPod, key: Key) -> Any:
        def changed() -> None:
            state.runtime_exit = running.exit_code
            self.queue.add(key)
        return changed

    # -- helpers ---------------------------------------------------------------------------------
    async def _record(self, pod: dict[str, Any], node: str, events: list[Event]) -> None:
        recorder = self._recorders.get(node)
        if recorder is None:
            recorder = self._recorders[node] = EventRecorder(self.client, "kubelet", node)
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"]}
        for event in events:
            await recorder.record(obj, event.type, event.reason, event.message)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _internal_ip(node: dict[str, Any]) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address", ""))
    return ""


__all__ = ["Kubelet"]
