"""Pure helpers over pods and owner references, shared by the emulator's controllers."""

from __future__ import annotations

from typing import Any


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def is_ready(pod: dict[str, Any]) -> bool:
    """The pod's Ready condition is True (what endpoints and ReplicaSets count)."""
    c = condition(pod, "Ready")
    return c is not None and c.get("status") == "True"


def is_terminating(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def is_active(pod: dict[str, Any]) -> bool:
    """Not finished and not being deleted: counts towards a controller's replicas."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The ownerReference with `controller: true`, if any."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_reference(owner: dict[str, Any], block: bool = True) -> dict[str, Any]:
    """A controller ownerReference pointing at `owner` (as controllers set on dependents)."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": block}
