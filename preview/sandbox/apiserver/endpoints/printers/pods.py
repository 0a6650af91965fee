"""Cells of Pods and Nodes, computed as upstream's `printPod` and `printNode` compute them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preview.sandbox.apiserver.endpoints.printers.formats import Obj, since
from preview.sandbox.machinery.objects import dig, parse_time

_NODE_UNREACHABLE = "NodeLost"  # node.NodeUnreachablePodReason
_ROLE_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"


@dataclass(frozen=True)
class PodSummary:
    ready: int
    total: int
    reason: str
    restarts: int
    last_restart: str | None  # finishedAt of the latest restart, if any


def _later(a: str | None, b: str | None) -> str | None:
    if not b:
        return a
    return b if a is None or parse_time(b) > parse_time(a) else a


def _last_finished(status: dict[str, Any]) -> str | None:
    terminated = (status.get("lastState") or {}).get("terminated")
    return (terminated or {}).get("finishedAt") if terminated else None


def _condition_true(pod: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in dig(pod, "status", "conditions") or [])


def _terminated_reason(terminated: dict[str, Any], prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def summarize(pod: Obj) -> PodSummary:
    """READY, STATUS and RESTARTS of a pod: `printPod`, init and sidecar containers included."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    sidecars = {n for n, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last: str | None = None
    sidecar_last: str | None = None

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        last = _later(last, _last_finished(cs))
        sidecar = cs.get("name") in sidecars
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            sidecar_last = _later(sidecar_last, _last_finished(cs))
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts, last = sidecar_restarts, sidecar_last
        running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last = _later(last, _last_finished(cs))
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

    deleting = bool(dig(pod, "metadata", "deletionTimestamp"))
    if deleting and status.get("reason") == _NODE_UNREACHABLE:
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return PodSummary(ready, total, reason, restarts, last)


def pod_ready(o: Obj) -> str:
    s = summarize(o)
    return f"{s.ready}/{s.total}"


def pod_status(o: Obj) -> str:
    return summarize(o).reason


def pod_restarts(o: Obj) -> str:
    """`3 (2m ago)`: the count, and how long ago the latest restart ended."""
    s = summarize(o)
    if s.restarts and s.last_restart:
        return f"{s.restarts} ({since(s.last_restart)} ago)"
    return str(s.restarts)


def pod_ip(o: Obj) -> str:
    ips = dig(o, "status", "podIPs") or []
    return str(ips[0].get("ip") or "<none>") if ips else "<none>"


def pod_node(o: Obj) -> str:
    return str(dig(o, "spec", "nodeName") or "<none>")


def pod_nominated_node(o: Obj) -> str:
    return str(dig(o, "status", "nominatedNodeName") or "<none>")


def pod_readiness_gates(o: Obj) -> str:
    gates = dig(o, "spec", "readinessGates") or []
    if not gates:
        return "<none>"
    conditions: dict[str, str] = {}
    for c in dig(o, "status", "conditions") or []:
        conditions.setdefault(str(c.get("type")), str(c.get("status")))
    true = sum(1 for g in gates if conditions.get(str(g.get("conditionType"))) == "True")
    return f"{true}/{len(gates)}"


# -- nodes ----------------------------------------------------------------------------------------
def node_status(o: Obj) -> str:
    """`Ready`, `NotReady` or `Unknown`, then `SchedulingDisabled` when cordoned."""
    ready = [c for c in dig(o, "status", "conditions") or [] if c.get("type") == "Ready"]
    words = [("Ready" if ready[-1].get("status") == "True" else "NotReady")
             if ready else "Unknown"]
    if dig(o, "spec", "unschedulable"):
        words.append("SchedulingDisabled")
    return ",".join(words)


def node_roles(o: Obj) -> str:
    """`findNodeRoles`: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role` values."""
    roles: set[str] = set()
    for key, value in (dig(o, "metadata", "labels") or {}).items():
        if key.startswith(_ROLE_PREFIX) and key[len(_ROLE_PREFIX):]:
            roles.add(key[len(_ROLE_PREFIX):])
        elif key == _ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _address(o: Obj, kind: str) -> str:
    for a in dig(o, "status", "addresses") or []:
        if a.get("type") == kind:
            return str(a.get("address", ""))
    return "<none>"


def node_internal_ip(o: Obj) -> str:
    return _address(o, "InternalIP")


def node_external_ip(o: Obj) -> str:
    return _address(o, "ExternalIP")


def node_info(field: str) -> Any:
    """A `status.nodeInfo` field, `<unknown>` when the kubelet has not reported it."""
    return lambda o: str(dig(o, "status", "nodeInfo", field) or "<unknown>")


def kubelet_version(o: Obj) -> str:
    return str(dig(o, "status", "nodeInfo", "kubeletVersion") or "")
