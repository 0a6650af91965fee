"""DaemonSet controller: one pod per eligible node, as `pkg/controller/daemon`.

A node is eligible when the pod template's nodeSelector and required node affinity match it
and the pod (with the tolerations the controller adds) tolerates its NoSchedule/NoExecute
taints. The controller does not bind: each pod gets a required node affinity on
`metadata.name` for its node and the scheduler places it. Rolling updates replace
old-template pods at most `maxUnavailable` at a time; the status is what kstatus reads.
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
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.expectations import Expectations
from preview.sandbox.controllers.podutil import controller_of, is_ready, is_terminating
from preview.sandbox.controllers.rollout import scaled_value
from preview.sandbox.controllers.workload import (
    is_available,
    next_available_check,
    omit_zero,
    pod_from_template,
    status_patch,
)
from preview.sandbox.machinery import selectors
from preview.sandbox.machinery.objects import clone

if TYPE_CHECKING:
    from preview.sandbox.controllers import ControllerContext

log = logging.getLogger(__name__)
# `util.AddOrUpdateDaemonPodTolerations`: daemons survive node trouble and cordons.
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


# -- pure ------------------------------------------------------------------------------------
def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        if t.get("operator", "Equal") == "Exists":
            if not t.get("key") or t["key"] == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def _term_matches(term: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in term.get("matchExpressions") or []:
        op = expr.get("operator")
        if op in ("Gt", "Lt"):
            value = labels.get(expr.get("key", ""))
            try:
                bound, actual = int((expr.get("values") or ["0"])[0]), int(value or "")
            except ValueError:
                return False
            if not (actual > bound if op == "Gt" else actual < bound):
                return False
        elif not selectors.Requirement(expr.get("key", ""), ops.get(op, "in"),
                                       tuple(expr.get("values") or ())).matches(labels):
            return False
    for expr in term.get("matchFields") or []:
        if not selectors.Requirement(expr.get("key", ""), ops.get(expr.get("operator"), "in"),
                                     tuple(expr.get("values") or ())).matches(fields):
            return False
    return True


def should_run(template: dict[str, Any], node: dict[str, Any]) -> bool:
    """`NodeShouldRunDaemonPod`: selector, required affinity, taints against tolerations."""
    spec = template.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if not all(labels.get(k) == v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(_term_matches(t, node) for t in terms):
        return False
    tolerations = [*(spec.get("tolerations") or []), *DAEMON_TOLERATIONS]
    return all(tolerates(tolerations, taint) for taint in (node.get("spec") or {}).get("taints")
               or [] if taint.get("effect") in ("NoSchedule", "NoExecute"))


def target_node(pod: dict[str, Any]) -> str:
    """`GetTargetNodeName`: spec.nodeName, or the node its affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for expr in term.get("matchFields") or []:
            if expr.get("key") == "metadata.name" and expr.get("values"):
                return str(expr["values"][0])
    return ""


def daemon_pod(ds: dict[str, Any], node: str, pod_hash: str) -> dict[str, Any]:
    """`CreatePodTemplate` + `ReplaceDaemonSetPodNodeNameNodeAffinity`."""
    template = clone(ds["spec"]["template"])
    spec = template.setdefault("spec", {})
    have = {(t.get("key"), t.get("effect")) for t in spec.get("tolerations") or []}
    spec["tolerations"] = [*(spec.get("tolerations") or []),
                           *(t for t in DAEMON_TOLERATIONS if (t["key"], t["effect"]) not in have)]
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    return pod_from_template(template, ds, {
        "controller-revision-hash": pod_hash,
        "pod-template-generation": str(ds["metadata"].get("generation", 1))})


class DaemonSetController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.sets = ctx.informers.informer("apps", "v1", "daemonsets")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.nodes = ctx.informers.informer("", "v1", "nodes")
        self.revisions = ctx.informers.informer("apps", "v1", "controllerrevisions")
        self.queue: WorkQueue[Key] = WorkQueue()
        self.events = EventRecorder(ctx.client, "daemonset-controller")
        self.expectations = Expectations()
        self.sets.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.pods.add_handler(self.on_pod)
        self.nodes.add_handler(self.on_node)

    def on_node(self, kind: str, node: dict[str, Any], old: dict[str, Any] | None) -> None:
        for ds in self.sets.list():
            self.queue.add(key_of(ds))

    def on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") == "DaemonSet":
            key = (pod["metadata"].get("namespace", ""), ref["name"])
            self.expectations.observe(key, kind, pod)
            self.queue.add(key)

    async def run(self) -> None:
        await asyncio.gather(self.sets.synced.wait(), self.pods.synced.wait(),
                             self.nodes.synced.wait(), self.revisions.synced.wait())
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        ds = self.sets.get(*key)
        if ds is None:
            self.expectations.forget(key)
            return None
        uid = ds["metadata"]["uid"]
        pods = [p for p in self.pods.list(key[0]) if (controller_of(p) or {}).get("uid") == uid
                and not is_terminating(p)]
        history = revisions.owned(ds, self.revisions.list(key[0]))
        pod_hash = revisions.template_hash(ds)
        if not any(r["metadata"]["name"] == f"{key[1]}-{pod_hash}" for r in history):
            with contextlib.suppress(Conflict):
                await self.client.request("POST", path_for(self.revisions.rt, key[0]),
                                          revisions.new_revision(ds,
                                                                 revisions.next_number(history)))
        by_node: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            by_node.setdefault(target_node(pod), []).append(pod)
        eligible = [n["metadata"]["name"] for n in self.nodes.list()
                    if should_run(ds["spec"]["template"], n)]
        at = dt.datetime.now(dt.UTC)
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        settled = self.expectations.satisfied(key)
        if settled and not ds["metadata"].get("deletionTimestamp"):
            await self._manage(key, ds, eligible, by_node, pod_hash, min_ready, at)
        placed = [by_node[n][0] for n in eligible if by_node.get(n)]
        status = omit_zero({
            "observedGeneration": ds["metadata"].get("generation", 0),
            "desiredNumberScheduled": len(eligible),
            "currentNumberScheduled": len(placed),
            "numberMisscheduled": sum(1 for n in by_node if n not in eligible),
            "numberReady": sum(1 for p in placed if is_ready(p)),
            "numberAvailable": sum(1 for p in placed if is_available(p, min_ready, at)),
            "updatedNumberScheduled": sum(1 for p in placed if _hash(p) == pod_hash),
            "numberUnavailable": max(0, len(eligible) - sum(
                1 for p in placed if is_available(p, min_ready, at))),
        }, keep=("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
                 "numberReady", "observedGeneration"))
        patch = status_patch(ds.get("status") or {}, status)
        if patch is not None:
            await self.client.merge_patch(self.sets.rt, key[0], key[1], {"status": patch},
                                          "status")
        return next_available_check(placed, min_ready, at) if settled else 1.0

    async def _manage(self, key: Key, ds: dict[str, Any], eligible: list[str],
                      by_node: dict[str, list[dict[str, Any]]], pod_hash: str, min_ready: int,
                      at: dt.datetime) -> None:
        create = [n for n in eligible if not by_node.get(n)]
        delete = [p for n, ps in by_node.items() if n not in eligible for p in ps]
        for n in eligible:
            ps = sorted(by_node.get(n) or [], key=lambda p: p["metadata"].get(
                "creationTimestamp") or "")
            delete += ps[1:]  # one daemon per node: the oldest stays
            delete += [p for p in ps[:1] if (p.get("status") or {}).get("phase") == "Failed"]
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            budget = scaled_value((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1),
                                  len(eligible), True) or 1
            current = [by_node[n][0] for n in eligible if by_node.get(n)]
            unavailable = len(eligible) - sum(1 for p in current
                                              if is_available(p, min_ready, at))
            for pod in current:
                if _hash(pod) == pod_hash or pod in delete:
                    continue
                if not is_available(pod, min_ready, at):
                    delete.append(pod)  # already unavailable: replacing it costs nothing
                elif unavailable < budget:
                    delete.append(pod)
                    unavailable += 1
        ns = ds["metadata"]["namespace"]
        self.expectations.expect_creations(key, len(create))
        self.expectations.expect_deletions(key, [p["metadata"]["name"] for p in delete])
        for node in create:
            pod = daemon_pod(ds, node, pod_hash)
            try:
                created = await self.client.request("POST", path_for(self.pods.rt, ns), pod)
            except ApiError as e:
                self.expectations.creation_observed(key)
                await self.events.record(ds, "Warning", "FailedCreate", f"Error creating: {e}")
                continue
            await self.events.record(ds, "Normal", "SuccessfulCreate",
                                     f"Created pod: {created['metadata']['name']}")
        for pod in delete:
            name = pod["metadata"]["name"]
            if await self.client.delete(self.pods.rt, ns, name,
                                        {"preconditions": {"uid": pod["metadata"]["uid"]}}):
                await self.events.record(ds, "Normal", "SuccessfulDelete",
                                         f"Deleted pod: {name}")
            else:
                self.expectations.deletion_observed(key, name)


def _hash(pod: dict[str, Any]) -> str:
    return (pod["metadata"].get("labels") or {}).get("controller-revision-hash", "")
