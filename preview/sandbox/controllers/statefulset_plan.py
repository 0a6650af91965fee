"""What a StatefulSet needs next, and its status: pure, no I/O.

From `pkg/controller/statefulset/stateful_set_control.go` and `stateful_set_utils.go`:
pods are `<set>-<ordinal>`; with `OrderedReady` the set creates, replaces and deletes one pod
at a time and waits for each to be Running and Ready, with `Parallel` it does not wait;
surplus ordinals go highest first; a rolling update replaces pods from the highest ordinal
down to the partition, one at a time, each only once the others are healthy.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from preview.sandbox.controllers.podutil import is_terminating, owner_reference
from preview.sandbox.controllers.workload import (
    is_available,
    is_running_and_ready,
    omit_zero,
    pod_from_template,
)
from preview.sandbox.machinery.objects import clone

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-(\d+)$")


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    m = _ORDINAL.match(pod_name)
    if m is None or m.group(1) != set_name:
        return None
    return int(m.group(2))


def claim_name(template: dict[str, Any], set_name: str, ordinal: int) -> str:
    return f"{template['metadata']['name']}-{set_name}-{ordinal}"


def partition(sts: dict[str, Any]) -> int:
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    return int((strategy.get("rollingUpdate") or {}).get("partition") or 0)


def revision_of(pod: dict[str, Any]) -> str:
    return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL, "")


def new_pod(sts: dict[str, Any], template: dict[str, Any], revision: str,
            ordinal: int) -> dict[str, Any]:
    """`newVersionedStatefulSetPod`: identity (name, hostname, labels) and storage."""
    name = f"{sts['metadata']['name']}-{ordinal}"
    pod = pod_from_template(template, sts, {REVISION_LABEL: revision, POD_NAME_LABEL: name,
                                            POD_INDEX_LABEL: str(ordinal)})
    meta = pod["metadata"]
    meta.pop("generateName", None)
    meta["name"] = name
    spec = pod["spec"]
    spec["hostname"] = name
    if (sts.get("spec") or {}).get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    claims = (sts.get("spec") or {}).get("volumeClaimTemplates") or []
    if claims:
        names = {c["metadata"]["name"] for c in claims}
        volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in names]
        for c in claims:
            volumes.append({"name": c["metadata"]["name"], "persistentVolumeClaim": {
                "claimName": claim_name(c, sts["metadata"]["name"], ordinal)}})
        spec["volumes"] = volumes
    return pod


def new_claims(sts: dict[str, Any], ordinal: int) -> list[dict[str, Any]]:
    """`getPersistentVolumeClaims`: one claim per template, labelled with the set's selector."""
    selector = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    out = []
    for template in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
        tmeta = template.get("metadata") or {}
        meta: dict[str, Any] = {
            "name": claim_name(template, sts["metadata"]["name"], ordinal),
            "namespace": sts["metadata"].get("namespace", ""),
            "labels": {**(tmeta.get("labels") or {}), **selector}}
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        if policy.get("whenDeleted") == "Delete":
            meta["ownerReferences"] = [owner_reference(sts)]
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                    "spec": clone(template.get("spec") or {})})
    return out


@dataclass
class Plan:
    create: list[int] = field(default_factory=list)
    delete: list[dict[str, Any]] = field(default_factory=list)


def _healthy(pod: dict[str, Any], min_ready: int, at: dt.datetime) -> bool:
    return (not is_terminating(pod) and is_running_and_ready(pod)
            and is_available(pod, min_ready, at))


def plan(sts: dict[str, Any], pods: list[dict[str, Any]], update_revision: str,
         at: dt.datetime) -> Plan:
    """The creates and deletes of one pass of `updateStatefulSet`."""
    spec = sts.get("spec") or {}
    name = sts["metadata"]["name"]
    want = int(spec.get("replicas", 1))
    min_ready = int(spec.get("minReadySeconds") or 0)
    monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    replicas: list[dict[str, Any] | None] = [None] * want
    condemned: list[tuple[int, dict[str, Any]]] = []
    for pod in pods:
        ordinal = ordinal_of(name, pod["metadata"]["name"])
        if ordinal is None:
            continue
        if ordinal < want:
            replicas[ordinal] = pod
        else:
            condemned.append((ordinal, pod))
    condemned.sort(key=lambda x: -x[0])
    unhealthy = sorted([(o, p) for o, p in [*enumerate(replicas), *condemned]
                        if p is not None and not _healthy(p, min_ready, at)],
                       key=lambda x: x[0])
    first_unhealthy = unhealthy[0][1] if unhealthy else None
    out = Plan()
    for ordinal, slot in enumerate(replicas):
        if slot is None:
            out.create.append(ordinal)
            if monotonic:
                return out
            continue
        phase = (slot.get("status") or {}).get("phase")
        if phase in ("Failed", "Succeeded") and not is_terminating(slot):
            out.delete.append(slot)  # recreated on the next pass, once it is gone
            if monotonic:
                return out
            continue
        if monotonic and not _healthy(slot, min_ready, at):
            return out
    for _, doomed in condemned:
        pod = doomed
        if is_terminating(pod):
            if monotonic:
                return out
            continue
        if monotonic and not _healthy(pod, min_ready, at) and pod is not first_unhealthy:
            return out
        out.delete.append(pod)
        if monotonic:
            return out
    if out.create or out.delete:
        return out
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return out
    for ordinal in range(want - 1, partition(sts) - 1, -1):
        current = replicas[ordinal]
        assert current is not None
        pod = current
        if revision_of(pod) != update_revision and not is_terminating(pod):
            out.delete.append(pod)
            return out
        if not _healthy(pod, min_ready, at):
            return out
    return out


def set_status(sts: dict[str, Any], pods: list[dict[str, Any]], current_revision: str,
               update_revision: str, at: dt.datetime) -> dict[str, Any]:
    """Counts over the set's pods; a finished rolling update makes the update revision current."""
    spec = sts.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    created = [p for p in pods if (p.get("status") or {}).get("phase")]
    live = [p for p in created if not is_terminating(p)]
    status: dict[str, Any] = {
        "observedGeneration": sts["metadata"].get("generation", 0),
        "replicas": len(created),
        "readyReplicas": sum(1 for p in created if is_running_and_ready(p)),
        "availableReplicas": sum(1 for p in created
                                 if is_running_and_ready(p) and is_available(p, min_ready, at)),
        "currentReplicas": sum(1 for p in live if revision_of(p) == current_revision),
        "updatedReplicas": sum(1 for p in live if revision_of(p) == update_revision),
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": int((sts.get("status") or {}).get("collisionCount") or 0),
    }
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate" and \
            status["updatedReplicas"] == status["replicas"] == status["readyReplicas"]:
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = update_revision
    return omit_zero(status, keep=("replicas", "availableReplicas", "collisionCount"))
