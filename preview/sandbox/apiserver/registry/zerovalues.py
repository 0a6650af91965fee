"""Zero values the real server always serialises: Go fields without `omitempty`.

encoding/json writes a non-pointer field whose tag has no `omitempty` even when it is zero
(`replicas: 0`, `imageID: ""`), and a non-pointer struct always (`status: {}`, even with
`omitempty`, which does not apply to structs); a zero `metav1.Time` is written as `null`.
A client that decodes into typed models (the official Python client's required fields)
depends on them. Protobuf cannot tell "" from absent, so a protobuf write needs them
filled in too. Pure: `fill` is applied to every object the registry stores.

The table covers the kinds and fields clients read; the OpenAPI `required` lists and the Go
types of `k8s.io/api` are its source.
"""

from __future__ import annotations

from typing import Any

_STATUS_STRUCT = frozenset({
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
    ("apps", "DaemonSet"), ("batch", "Job"), ("batch", "CronJob"),
    ("", "ReplicationController"), ("networking.k8s.io", "Ingress"), ("", "ResourceQuota"),
    ("policy", "PodDisruptionBudget"), ("autoscaling", "HorizontalPodAutoscaler"),
    ("", "Pod"), ("", "Service"), ("", "Namespace"), ("", "PersistentVolumeClaim"),
    ("", "PersistentVolume"), ("", "Node"), ("certificates.k8s.io", "CertificateSigningRequest"),
    ("apiregistration.k8s.io", "APIService"), ("storage.k8s.io", "VolumeAttachment"),
})

# (group, kind) → [(path, zero value)]; `[]` in a path walks every item of a list.
_FIELDS: dict[tuple[str, str], list[tuple[str, Any]]] = {
    ("apps", "StatefulSet"): [("status.replicas", 0), ("status.availableReplicas", 0)],
    ("apps", "ReplicaSet"): [("status.replicas", 0)],
    ("", "ReplicationController"): [("status.replicas", 0)],
    ("apps", "DaemonSet"): [("status.currentNumberScheduled", 0),
                            ("status.numberMisscheduled", 0),
                            ("status.desiredNumberScheduled", 0), ("status.numberReady", 0)],
    ("policy", "PodDisruptionBudget"): [("status.disruptionsAllowed", 0),
                                        ("status.currentHealthy", 0),
                                        ("status.desiredHealthy", 0), ("status.expectedPods", 0)],
    ("autoscaling", "HorizontalPodAutoscaler"): [("status.desiredReplicas", 0)],
    ("", "Service"): [("status.loadBalancer", {})],
    ("storage.k8s.io", "VolumeAttachment"): [("status.attached", False)],
    ("", "Event"): [("eventTime", None), ("reportingComponent", ""),
                    ("reportingInstance", ""), ("source", {}), ("involvedObject", {})],
}
_CONTAINER_STATUS = [("name", ""), ("state", {}), ("lastState", {}), ("ready", False),
                     ("restartCount", 0), ("image", ""), ("imageID", "")]
_POD_CONDITION = [("lastProbeTime", None), ("lastTransitionTime", None)]
for _list in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
    _FIELDS.setdefault(("", "Pod"), []).extend(
        (f"status.{_list}[].{name}", zero) for name, zero in _CONTAINER_STATUS)
_FIELDS[("", "Pod")].extend((f"status.conditions[].{name}", zero) for name, zero in _POD_CONDITION)
for _list in ("initContainers", "containers"):
    _FIELDS[("", "Pod")].append((f"spec.{_list}[].resources", {}))


def fill(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with the always-serialised zero values of its kind added where missing."""
    if (group, kind) in _STATUS_STRUCT and not isinstance(obj.get("status"), dict):
        obj["status"] = {}
    for path, zero in _FIELDS.get((group, kind), ()):
        _set_default(obj, path.split("."), zero)
    return obj


def _set_default(node: Any, parts: list[str], zero: Any) -> None:
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(node, dict):
        return
    if not rest:
        if key not in node:
            node[key] = zero if not isinstance(zero, dict) else {}
        return
    child = node.get(key)
    if many:
        for item in child if isinstance(child, list) else []:
            _set_default(item, rest, zero)
    elif isinstance(child, dict):
        _set_default(child, rest, zero)
