"""Pure helpers shared by the workload controllers: hashes, pod templates, availability, claims.

Facts from `pkg/controller/controller_utils.go` and `k8s.io/kubectl/pkg/util/podutils`:
template hashes are FNV-32a encoded with `rand.SafeEncodeString`, pods are made from a
template with the owner's controller reference, a pod is *available* once it has been Ready
for `minReadySeconds`, and scale-down deletes the least valuable pods first.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from preview.sandbox.controllers.podutil import (
    condition,
    controller_of,
    is_ready,
    is_terminating,
    owner_reference,
)
from preview.sandbox.machinery import selectors
from preview.sandbox.machinery.objects import clone, parse_time

# `k8s.io/apimachinery/pkg/util/rand`: no vowels, no look-alike digits, so hashes never spell words.
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def compute_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    """`controller.ComputeHash`: a stable short hash of a pod template (plus collision count)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += collision_count.to_bytes(4, "little")
    return safe_encode(str(fnv32a(data)))


def pod_from_template(template: dict[str, Any], owner: dict[str, Any],
                      extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """`controller.GetPodFromTemplate`: labels, annotations, finalizers, spec, controllerRef."""
    tmeta = template.get("metadata") or {}
    meta: dict[str, Any] = {
        "generateName": f"{owner['metadata']['name']}-",
        "namespace": owner["metadata"].get("namespace", ""),
        "labels": {**(tmeta.get("labels") or {}), **(extra_labels or {})},
        "ownerReferences": [owner_reference(owner)],
    }
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": clone(template.get("spec") or {})}


def ready_since(pod: dict[str, Any]) -> dt.datetime | None:
    c = condition(pod, "Ready")
    if c is None or c.get("status") != "True":
        return None
    stamp = c.get("lastTransitionTime")
    return parse_time(stamp) if stamp else dt.datetime.min.replace(tzinfo=dt.UTC)


def available_in(pod: dict[str, Any], min_ready_seconds: int, now: dt.datetime) -> float | None:
    """Seconds until the pod counts as available: 0 when it is, None when it is not Ready."""
    if min_ready_seconds <= 0:  # no need to parse the Ready condition's time
        return 0.0 if is_ready(pod) else None
    since = ready_since(pod)
    if since is None:
        return None
    left = (since + dt.timedelta(seconds=min_ready_seconds) - now).total_seconds()
    return max(0.0, left)


def is_available(pod: dict[str, Any], min_ready_seconds: int, now: dt.datetime) -> bool:
    return available_in(pod, min_ready_seconds, now) == 0.0


def next_available_check(pods: Iterable[dict[str, Any]], min_ready_seconds: int,
                         now: dt.datetime) -> float | None:
    """When to look again for pods that are Ready but not yet available (minReadySeconds)."""
    if min_ready_seconds <= 0:  # a Ready pod is available at once: never
        return None
    waits = [w for w in (available_in(p, min_ready_seconds, now) for p in pods)
             if w is not None and w > 0]
    return min(waits) + 0.05 if waits else None


def is_running_and_ready(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pod: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key of `controller.ActivePods`: the pod to delete first sorts first.

    Unscheduled before scheduled, Pending before Unknown before Running, not-ready before
    ready, ready for less time before longer, more restarts before fewer, newer before older.
    """
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    since = ready_since(pod)
    restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
    created = pod["metadata"].get("creationTimestamp") or ""
    return (
        1 if spec.get("nodeName") else 0,
        _PHASE_RANK.get(status.get("phase", "Pending"), 0),
        1 if since is not None else 0,
        -(since.timestamp() if since is not None else 0.0),
        -restarts,
        _Reversed(created),
    )


class _Reversed:
    """Orders strings descending inside an ascending sort key (newest first)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def pods_to_delete(pods: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return sorted(pods, key=deletion_rank)[:max(0, count)]


def selector_of(obj: dict[str, Any]) -> selectors.LabelSelector:
    return selectors.from_label_selector_object((obj.get("spec") or {}).get("selector"))


def matches(obj: dict[str, Any], candidate: dict[str, Any]) -> bool:
    labels = candidate["metadata"].get("labels") or {}
    return selector_of(obj).matches(labels)


def claim(owner: dict[str, Any], candidates: Iterable[dict[str, Any]]
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """`ControllerRefManager.Claim*`: (owned and matching, orphans to adopt, owned to release).

    Orphans are adopted only while the owner is not being deleted; owned objects that no
    longer match the selector are released unless they are themselves being deleted.
    """
    uid = owner["metadata"]["uid"]
    owned, adopt, release = [], [], []
    owner_deleting = is_terminating(owner)
    selector = selector_of(owner)  # once, not per candidate: a sync visits every pod
    for obj in candidates:
        ref = controller_of(obj)
        fits = selector.matches(obj["metadata"].get("labels") or {})
        if ref is not None and ref.get("uid") == uid:
            if fits or is_terminating(obj):
                owned.append(obj)
            else:
                release.append(obj)
        elif ref is None and fits and not owner_deleting and not is_terminating(obj):
            adopt.append(obj)
    return owned, adopt, release


def status_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """A merge patch turning status `old` into `new` (None when nothing changed).

    Zero-valued counters are omitted, as the real controllers' `omitempty` fields are.
    """
    if old == new:
        return None
    patch: dict[str, Any] = {k: v for k, v in new.items() if old.get(k) != v}
    for key in old:
        if key not in new:
            patch[key] = None
    return patch or None


def omit_zero(status: dict[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
    kept = set(keep)
    return {k: v for k, v in status.items()
            if k in kept or v not in (0, None, "", [], {})}


def go_round(value: float) -> int:
    """`math.Round`: halves away from zero (Python's round() is banker's rounding)."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)
