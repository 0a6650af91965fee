"""Taints and tolerations (`k8s.io/api/core/v1` helpers), shared by the scheduler and DaemonSets."""

from __future__ import annotations

from typing import Any

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """`Toleration.ToleratesTaint`: an empty effect matches all effects; an empty key with
    `Exists` matches every taint; `Equal` (the default operator) compares values."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerates_all(tolerations: list[dict[str, Any]], taints: list[dict[str, Any]]) -> bool:
    return all(any(tolerates(t, taint) for t in tolerations) for taint in taints)


def untolerated_prefer_no_schedule(tolerations: list[dict[str, Any]],
                                   taints: list[dict[str, Any]]) -> int:
    """How many PreferNoSchedule taints no toleration (with that or no effect) covers."""
    relevant = [t for t in tolerations if (t.get("effect") or "") in ("", "PreferNoSchedule")]
    return sum(1 for taint in taints if taint.get("effect") == "PreferNoSchedule"
               and not any(tolerates(t, taint) for t in relevant))


def ready_status(node: dict[str, Any]) -> str:
    """The status of the node's Ready condition: "True", "False" or "Unknown" (also if absent)."""
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status") or "Unknown")
    return "Unknown"


def effective_taints(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's taints, plus the NoSchedule taint the node lifecycle controller would add
    for a node that is not Ready (TaintNodesByCondition): not-ready when Ready=False,
    unreachable when it is Unknown. The sandbox has no lifecycle controller writing them."""
    taints = list((node.get("spec") or {}).get("taints") or [])
    status = ready_status(node)
    if status != "True":
        key = NOT_READY if status == "False" else UNREACHABLE
        if not any(t.get("key") == key and t.get("effect") == "NoSchedule" for t in taints):
            taints.append({"key": key, "effect": "NoSchedule"})
    return taints
