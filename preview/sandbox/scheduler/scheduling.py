"""The scheduling decision: filter and score nodes for one pod, as kube-scheduler's default profile.

Pure: nodes come in as `NodeInfo` (a Node plus what the pods bound to it take), the pod as
a dict; the result is the chosen node or the `FitError` message the real scheduler writes
into the pod's PodScheduled condition and its FailedScheduling event. Filters run in the
order of the default profile (pkg/scheduler/apis/config/v1/default_plugins.go) and a node
fails at the first filter that rejects it; reason strings are the plugins' own.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from preview.sandbox.controllers.podutil import controller_of
from preview.sandbox.machinery import quantity
from preview.sandbox.scheduler.nodeaffinity import (
    matches_required_affinity,
    preferred_affinity_weight,
)
from preview.sandbox.scheduler.taints import (
    effective_taints,
    tolerates_all,
    untolerated_prefer_no_schedule,
)

# pkg/scheduler/util: what a container without requests counts for in scoring (not filtering).
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024

REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_TAINTS = "node(s) had untolerated taint(s)"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_TOO_MANY_PODS = "Too many pods"
NO_NODES = "no nodes available to schedule pods"
# DefaultPreemption's verdicts: rejections that removing pods cannot cure, and those it could
# cure were there lower-priority pods to evict (the sandbox never preempts).
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
_UNRESOLVABLE = {REASON_UNSCHEDULABLE, REASON_TAINTS, REASON_AFFINITY}
# Score plugin weights of the default profile.
_WEIGHTS = {"taints": 3, "affinity": 2, "spread": 2, "least": 1, "balanced": 1}


@dataclass
class Resources:
    """Amounts as the scheduler counts them: milli-CPU, bytes, and extended resources."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    scalars: dict[str, int] = field(default_factory=dict)

    def add(self, other: Resources, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        for name, value in other.scalars.items():
            self.scalars[name] = self.scalars.get(name, 0) + sign * value

    def fold_max(self, other: Resources) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for name, value in other.scalars.items():
            self.scalars[name] = max(self.scalars.get(name, 0), value)


def resources_of(amounts: dict[str, Any] | None) -> Resources:
    """A ResourceList (`{"cpu": "500m", ...}`) as scheduler amounts; unparsable values count 0."""
    out = Resources()
    for name, raw in (amounts or {}).items():
        try:
            q = quantity.parse(raw)
        except ValueError:
            continue
        if name == "cpu":
            out.milli_cpu = q.milli
        elif name == "memory":
            out.memory = math.ceil(q.value)
        elif name == "ephemeral-storage":
            out.ephemeral_storage = math.ceil(q.value)
        elif name != "pods" and ("/" in name or name.startswith("hugepages-")):
            out.scalars[name] = math.ceil(q.value)
    return out


def _container_requests(c: dict[str, Any], nonzero: bool) -> Resources:
    res = c.get("resources") or {}
    # The API server defaults a missing request to the limit (SetDefaults_Pod); count it so
    # even where that defaulting did not run.
    amounts = {**(res.get("limits") or {}), **(res.get("requests") or {})}
    out = resources_of(amounts)
    if nonzero:
        if "cpu" not in amounts:
            out.milli_cpu = DEFAULT_MILLI_CPU
        if "memory" not in amounts:
            out.memory = DEFAULT_MEMORY
    return out


def pod_requests(pod: dict[str, Any], nonzero: bool = False) -> Resources:
    """What a pod asks of a node (`resource.PodRequests`): containers and sidecars summed,
    the largest init container if larger, pod-level requests if set, plus overhead.

    `nonzero` counts containers without cpu/memory requests as 100m/200Mi, as scoring does.
    """
    spec = pod.get("spec") or {}
    total = Resources()
    for c in spec.get("containers") or []:
        total.add(_container_requests(c, nonzero))
    init_max = Resources()
    sidecars = Resources()
    for c in spec.get("initContainers") or []:
        req = _container_requests(c, nonzero)
        if c.get("restartPolicy") == "Always":
            # A sidecar runs alongside everything started after it.
            sidecars.add(req)
            total.add(req)
            init_max.fold_max(sidecars)
        else:
            during = Resources()
            during.add(sidecars)
            during.add(req)
            init_max.fold_max(during)
    total.fold_max(init_max)
    pod_level = (spec.get("resources") or {}).get("requests") or {}
    if pod_level:
        level = resources_of(pod_level)
        if "cpu" in pod_level:
            total.milli_cpu = level.milli_cpu
        if "memory" in pod_level:
            total.memory = level.memory
    total.add(resources_of(spec.get("overhead")))
    return total


HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


def host_ports(pod: dict[str, Any]) -> list[HostPort]:
    spec = pod.get("spec") or {}
    out: list[HostPort] = []
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP",
                            int(p["hostPort"])))
    return out


def _ports_conflict(wanted: HostPort, used: Iterable[HostPort]) -> bool:
    ip, proto, port = wanted
    for u_ip, u_proto, u_port in used:
        if u_port == port and u_proto == proto and \
                (ip == u_ip or "0.0.0.0" in (ip, u_ip)):
            return True
    return False


@dataclass(frozen=True)
class PodUsage:
    """What a pod bound to a node takes from it, computed once per pod."""

    requests: Resources
    nonzero: Resources
    ports: tuple[HostPort, ...]
    owner: str  # uid of the controller owner, "" when none


def usage_of(pod: dict[str, Any]) -> PodUsage:
    owner = controller_of(pod)
    return PodUsage(pod_requests(pod), pod_requests(pod, nonzero=True),
                    tuple(host_ports(pod)), owner.get("uid", "") if owner else "")


class NodeInfo:
    """A node and the running totals of the pods bound (or being bound) to it."""

    def __init__(self, node: dict[str, Any]) -> None:
        self.requested = Resources()
        self.nonzero = Resources()
        self.pods = 0
        self.ports: Counter[HostPort] = Counter()
        self.owners: Counter[str] = Counter()
        self.set_node(node)

    def set_node(self, node: dict[str, Any]) -> None:
        self.node = node
        self.name: str = node["metadata"]["name"]
        self.labels: dict[str, str] = node["metadata"].get("labels") or {}
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        self.allocatable = resources_of(allocatable)
        try:
            self.allowed_pods = int(quantity.parse(allocatable.get("pods", 0)).value)
        except ValueError:
            self.allowed_pods = 0
        self.taints = effective_taints(node)
        self.zone = self.labels.get("topology.kubernetes.io/zone", "")

    def add(self, usage: PodUsage, sign: int = 1) -> None:
        self.requested.add(usage.requests, sign)
        self.nonzero.add(usage.nonzero, sign)
        self.pods += sign
        for p in usage.ports:
            self.ports[p] += sign
            if self.ports[p] <= 0:
                del self.ports[p]
        if usage.owner:
            self.owners[usage.owner] += sign
            if self.owners[usage.owner] <= 0:
                del self.owners[usage.owner]


# -- filters: [] passes, otherwise the plugin's reasons -----------------------------------------
def node_unschedulable(pod: dict[str, Any], info: NodeInfo) -> list[str]:
    if not (info.node.get("spec") or {}).get("unschedulable"):
        return []
    taint = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    if tolerates_all((pod.get("spec") or {}).get("tolerations") or [], [taint]):
        return []
    return [REASON_UNSCHEDULABLE]


def taint_toleration(pod: dict[str, Any], info: NodeInfo) -> list[str]:
    blocking = [t for t in info.taints if t.get("effect") in ("NoSchedule", "NoExecute")]
    if tolerates_all((pod.get("spec") or {}).get("tolerations") or [], blocking):
        return []
    return [REASON_TAINTS]


def node_affinity(pod: dict[str, Any], info: NodeInfo) -> list[str]:
    spec = pod.get("spec") or {}
    selector = spec.get("nodeSelector") or {}
    if any(info.labels.get(k) != v for k, v in selector.items()):
        return [REASON_AFFINITY]
    if not matches_required_affinity(spec.get("affinity"), info.node):
        return [REASON_AFFINITY]
    return []


def node_ports(usage: PodUsage, info: NodeInfo) -> list[str]:
    if any(_ports_conflict(p, info.ports) for p in usage.ports):
        return [REASON_PORTS]
    return []


def resources_fit(usage: PodUsage, info: NodeInfo) -> list[str]:
    """NodeResourcesFit: every reason at once, pods first, then cpu, memory, the rest."""
    reasons = []
    if info.pods + 1 > info.allowed_pods:
        reasons.append(REASON_TOO_MANY_PODS)
    want, have, used = usage.requests, info.allocatable, info.requested
    if want.milli_cpu and want.milli_cpu > have.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if want.memory and want.memory > have.memory - used.memory:
        reasons.append("Insufficient memory")
    if want.ephemeral_storage and \
            want.ephemeral_storage > have.ephemeral_storage - used.ephemeral_storage:
        reasons.append("Insufficient ephemeral-storage")
    for name, amount in sorted(want.scalars.items()):
        if amount and amount > have.scalars.get(name, 0) - used.scalars.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def filter_node(pod: dict[str, Any], usage: PodUsage, info: NodeInfo) -> list[str]:
    """The reasons the first rejecting filter gives, or [] when the pod fits the node."""
    return (node_unschedulable(pod, info) or taint_toleration(pod, info)
            or node_affinity(pod, info) or node_ports(usage, info)
            or resources_fit(usage, info))


# -- scores: each plugin 0..100 per node, weighted --------------------------------------------
def _least_allocated(usage: PodUsage, info: NodeInfo) -> float:
    scores = []
    for want, used, have in ((usage.nonzero.milli_cpu, info.nonzero.milli_cpu,
                              info.allocatable.milli_cpu),
                             (usage.nonzero.memory, info.nonzero.memory,
                              info.allocatable.memory)):
        scores.append(0.0 if have <= 0 or want + used > have else
                      (have - want - used) * 100 / have)
    return sum(scores) / len(scores)


def _balanced(usage: PodUsage, info: NodeInfo) -> float:
    fractions = []
    for want, used, have in ((usage.nonzero.milli_cpu, info.nonzero.milli_cpu,
                              info.allocatable.milli_cpu),
                             (usage.nonzero.memory, info.nonzero.memory,
                              info.allocatable.memory)):
        fractions.append(1.0 if have <= 0 else min(1.0, (want + used) / have))
    return (1 - abs(fractions[0] - fractions[1]) / 2) * 100


def _normalize(raw: dict[str, float], reverse: bool) -> dict[str, float]:
    """The framework's DefaultNormalizeScore: scale to 0..100, optionally reversed."""
    top = max(raw.values(), default=0)
    if top == 0:
        return {n: (100.0 if reverse else 0.0) for n in raw}
    return {n: (100 - v * 100 / top) if reverse else v * 100 / top for n, v in raw.items()}


def score_nodes(pod: dict[str, Any], usage: PodUsage,
                feasible: list[NodeInfo]) -> dict[str, float]:
    spec = pod.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    taints = _normalize({i.name: float(untolerated_prefer_no_schedule(tolerations, i.taints))
                         for i in feasible}, reverse=True)
    affinity = _normalize({i.name: float(preferred_affinity_weight(spec.get("affinity"), i.node))
                           for i in feasible}, reverse=False)
    # PodTopologySpread's system defaults (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway)
    # spread the pods of one controller; weights grow with the number of domains.
    zones: Counter[str] = Counter()
    if usage.owner:
        for i in feasible:
            zones[i.zone] += i.owners.get(usage.owner, 0)
    host_w = math.log(len(feasible) + 2)
    zone_w = math.log(len({i.zone for i in feasible}) + 2)
    spread = _normalize({i.name: (i.owners.get(usage.owner, 0) * host_w + zones[i.zone] * zone_w
                                  if usage.owner else 0.0) for i in feasible}, reverse=True)
    return {i.name: _WEIGHTS["taints"] * taints[i.name] + _WEIGHTS["affinity"] * affinity[i.name]
            + _WEIGHTS["spread"] * spread[i.name]
            + _WEIGHTS["least"] * _least_allocated(usage, i)
            + _WEIGHTS["balanced"] * _balanced(usage, i)
            for i in feasible}


# -- the decision ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """A node to bind to, or why none fits (the PodScheduled=False message)."""

    node: str | None
    message: str = ""


def fit_error(reasons_by_node: dict[str, list[str]]) -> str:
    """`FitError.Error()` with DynamicResources' and DefaultPreemption's PostFilter messages."""
    n = len(reasons_by_node)
    histogram: Counter[str] = Counter()
    preemption: Counter[str] = Counter()
    for reasons in reasons_by_node.values():
        histogram.update(reasons)
        unresolvable = any(r in _UNRESOLVABLE for r in reasons)
        preemption[PREEMPTION_NOT_HELPFUL if unresolvable else NO_VICTIMS] += 1

    def sorted_histogram(counts: Counter[str]) -> str:
        return ", ".join(sorted(f"{v} {k}" for k, v in counts.items()))

    return (f"0/{n} nodes are available: {sorted_histogram(histogram)}. "
            f"no new claims to deallocate, preemption: 0/{n} nodes are available: "
            f"{sorted_histogram(preemption)}.")


def schedule(pod: dict[str, Any], nodes: Iterable[NodeInfo],
             usage: PodUsage | None = None) -> Decision:
    """Pick the best node for `pod`; ties go to the node with fewer pods, then by name."""
    usage = usage or usage_of(pod)
    infos = list(nodes)
    if not infos:
        return Decision(None, NO_NODES)
    feasible: list[NodeInfo] = []
    rejected: dict[str, list[str]] = {}
    for info in infos:
        reasons = filter_node(pod, usage, info)
        if reasons:
            rejected[info.name] = reasons
        else:
            feasible.append(info)
    if not feasible:
        return Decision(None, fit_error(rejected))
    if len(feasible) == 1:
        return Decision(feasible[0].name)
    scores = score_nodes(pod, usage, feasible)
    best = min(feasible, key=lambda i: (-round(scores[i.name], 6), i.pods, i.name))
    return Decision(best.name)
