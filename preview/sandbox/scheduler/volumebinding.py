"""The scheduler's VolumeBinding PreFilter, reduced: may the pod's claims be scheduled yet?

A pod waits while a claim it mounts is missing, being deleted, or unbound in a class that
binds `Immediate`ly (pkg/scheduler/framework/plugins/volumebinding). Claims of
`WaitForFirstConsumer` classes pass: the sandbox's volume binder provisions them once the
pod has a node (where the real scheduler would first annotate the claim with the node).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Lookup = Callable[[str], dict[str, Any] | None]
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


def pod_claims(pod: dict[str, Any]) -> list[tuple[str, bool]]:
    """(claim name, is an ephemeral volume's claim) for every claim the pod mounts."""
    name = pod["metadata"]["name"]
    out: list[tuple[str, bool]] = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        claim = v.get("persistentVolumeClaim")
        if isinstance(claim, dict) and claim.get("claimName"):
            out.append((str(claim["claimName"]), False))
        elif isinstance(v.get("ephemeral"), dict):
            out.append((f"{name}-{v.get('name', '')}", True))
    return out


def volume_prefilter(pod: dict[str, Any], claim: Lookup, storage_class: Lookup) -> str | None:
    """Why the pod cannot be scheduled yet because of its claims, or None."""
    unbound_immediate = False
    for name, ephemeral in pod_claims(pod):
        pvc = claim(name)
        if pvc is None:
            if ephemeral:
                return ("waiting for ephemeral volume controller to create the "
                        f'persistentvolumeclaim "{name}"')
            return f'persistentvolumeclaim "{name}" not found'
        if pvc["metadata"].get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        if (pvc.get("spec") or {}).get("volumeName"):
            continue
        class_name = (pvc.get("spec") or {}).get("storageClassName") or ""
        sc = storage_class(class_name) if class_name else None
        if not (sc and sc.get("volumeBindingMode") == "WaitForFirstConsumer"):
            unbound_immediate = True
    return UNBOUND_IMMEDIATE if unbound_immediate else None


def prefilter_error(nodes: int, message: str) -> str:
    """The FitError of a PreFilter rejection as 1.34 words it: the PreFilter message, then
    the PostFilter's, which is DynamicResources' "not found" for pods its PreFilter never saw."""
    return f"0/{nodes} nodes are available: {message}. not found"
