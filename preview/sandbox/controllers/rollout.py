"""The Deployment controller's arithmetic over ReplicaSets: pure, no I/O.

Mirrors `pkg/controller/deployment/util/deployment_util.go`, `rolling.go`, `sync.go`:
maxSurge rounds up and maxUnavailable down (`ResolveFenceposts`, never both zero), the
new ReplicaSet grows within `replicas + maxSurge` pods, old ones shrink while at least
`replicas - maxUnavailable` pods stay available, mid-rollout scaling is proportional.
ReplicaSets are the API's dicts; functions return target sizes by ReplicaSet name.
"""

from __future__ import annotations

import math
from typing import Any

from preview.sandbox.controllers.workload import go_round

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
# Deployment annotations never copied onto its ReplicaSets (`annotationsToSkip`).
SKIPPED_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
    DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"})

RS = dict[str, Any]


def replicas(obj: dict[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_of(obj: dict[str, Any], field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def annotation_int(obj: dict[str, Any], name: str) -> int | None:
    value = (obj["metadata"].get("annotations") or {}).get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def revision(rs: RS) -> int:
    return annotation_int(rs, REVISION) or 0


# -- maxSurge / maxUnavailable -----------------------------------------------------------------
def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """`intstr.GetScaledValueFromIntOrPercent`."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        return int(value)
    scaled = int(value[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(surge: int | str | None, unavailable: int | str | None,
                       desired: int) -> tuple[int, int]:
    s = scaled_value(surge, desired, True)
    u = scaled_value(unavailable, desired, False)
    if s == 0 and u == 0:
        u = 1  # otherwise the rollout could never make progress
    return s, u


def _rolling(d: dict[str, Any]) -> dict[str, Any] | None:
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {"maxSurge": "25%", "maxUnavailable": "25%"}


def max_surge(d: dict[str, Any]) -> int:
    ru = _rolling(d)
    if ru is None:
        return 0
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas(d))[0]


def max_unavailable(d: dict[str, Any]) -> int:
    ru = _rolling(d)
    if ru is None or replicas(d) == 0:
        return 0
    unavailable = resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"),
                                     replicas(d))[1]
    return min(unavailable, replicas(d))


# -- which ReplicaSet is new -------------------------------------------------------------------
def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    meta["labels"] = labels or None
    return {**template, "metadata": {k: v for k, v in meta.items() if v is not None}}


def equal_ignore_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _without_hash(a) == _without_hash(b)


def split_new_old(d: dict[str, Any], sets: list[RS]) -> tuple[RS | None, list[RS]]:
    """`FindNewReplicaSet` (oldest equal template wins) and the others, oldest first."""
    ordered = sorted(sets, key=lambda rs: (rs["metadata"].get("creationTimestamp") or "",
                                           rs["metadata"]["name"]))
    template = (d.get("spec") or {}).get("template") or {}
    new = next((rs for rs in ordered
                if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template)),
               None)
    return new, [rs for rs in ordered if rs is not new]


def max_revision(sets: list[RS]) -> int:
    return max((revision(rs) for rs in sets), default=0)


def rs_annotation_changes(d: dict[str, Any], rs: RS, new_revision: int) -> dict[str, str]:
    """`SetNewReplicaSetAnnotations`: copy the Deployment's, bump revision, record history."""
    current = rs["metadata"].get("annotations") or {}
    changes = {k: v for k, v in (d["metadata"].get("annotations") or {}).items()
               if k not in SKIPPED_ANNOTATIONS and current.get(k) != v}
    old = revision(rs)
    if old < new_revision:
        changes[REVISION] = str(new_revision)
        if current.get(REVISION):
            history = [h for h in (current.get(REVISION_HISTORY) or "").split(",") if h]
            changes[REVISION_HISTORY] = ",".join([*history, current[REVISION]])
    return changes


def replica_annotations(d: dict[str, Any]) -> dict[str, str]:
    return {DESIRED_REPLICAS: str(replicas(d)), MAX_REPLICAS: str(replicas(d) + max_surge(d))}


# -- rolling update ----------------------------------------------------------------------------
def total_replicas(sets: list[RS]) -> int:
    return sum(replicas(rs) for rs in sets)


def new_rs_replicas(d: dict[str, Any], all_sets: list[RS], new: RS | None) -> int:
    """`NewRSNewReplicas`: how big the new ReplicaSet may be now."""
    current = replicas(new) if new is not None else 0
    if _rolling(d) is None:
        return replicas(d)
    allowed = replicas(d) + max_surge(d)
    existing = total_replicas(all_sets)
    if existing >= allowed:
        return current
    return current + min(allowed - existing, replicas(d) - current)


def reconcile_new(d: dict[str, Any], all_sets: list[RS], new: RS) -> int | None:
    """Target size of the new ReplicaSet, or None to leave it (`reconcileNewReplicaSet`)."""
    if replicas(new) == replicas(d):
        return None
    if replicas(new) > replicas(d):
        return replicas(d)
    target = new_rs_replicas(d, all_sets, new)
    return target if target != replicas(new) else None


def scale_down_old(d: dict[str, Any], old: list[RS], new: RS | None) -> dict[str, int]:
    """`reconcileOldReplicaSets`: unhealthy replicas first, then available ones, oldest first."""
    old_count = total_replicas(old)
    if old_count == 0:
        return {}
    all_sets = [*old, *([new] if new is not None else [])]
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = (replicas(new) - status_of(new, "availableReplicas")) if new else 0
    budget = total_replicas(all_sets) - min_available - new_unavailable
    if budget <= 0:
        return {}
    sizes = {rs["metadata"]["name"]: replicas(rs) for rs in old}
    cleaned = 0
    for rs in old:
        name = rs["metadata"]["name"]
        if cleaned >= budget:
            break
        unhealthy = sizes[name] - status_of(rs, "availableReplicas")
        if sizes[name] == 0 or unhealthy <= 0:
            continue
        step = min(budget - cleaned, unhealthy)
        sizes[name] -= step
        cleaned += step
    available = sum(status_of(rs, "availableReplicas") for rs in all_sets)
    if available > min_available:
        to_scale, scaled = available - min_available, 0
        for rs in old:
            name = rs["metadata"]["name"]
            if scaled >= to_scale:
                break
            if sizes[name] == 0:
                continue
            step = min(sizes[name], to_scale - scaled)
            sizes[name] -= step
            scaled += step
    return {name: size for name, size in sizes.items()
            if size != replicas(next(rs for rs in old if rs["metadata"]["name"] == name))}


# -- proportional scaling ----------------------------------------------------------------------
def active(sets: list[RS]) -> list[RS]:
    return [rs for rs in sets if replicas(rs) > 0]


def is_scaling_event(d: dict[str, Any], sets: list[RS]) -> bool:
    for rs in active(sets):
        desired = annotation_int(rs, DESIRED_REPLICAS)
        if desired is not None and desired != replicas(d):
            return True
    return False


def _saturated(d: dict[str, Any], rs: RS | None) -> bool:
    return (rs is not None and annotation_int(rs, DESIRED_REPLICAS) == replicas(d)
            and replicas(rs) == replicas(d) and status_of(rs, "availableReplicas") == replicas(d))


def proportional_sizes(d: dict[str, Any], new: RS | None, old: list[RS]) -> dict[str, int]:
    """`scale()` of sync.go: target sizes of ReplicaSets after the Deployment was resized."""
    newest_first = sorted(old, key=lambda rs: rs["metadata"].get("creationTimestamp") or "",
                          reverse=True)
    live = active([*([new] if new is not None else []), *newest_first])
    if len(live) <= 1:
        target = live[0] if live else (new if new is not None else
                                       (newest_first[0] if newest_first else None))
        if target is None or (replicas(target) == replicas(d) and
                              annotation_int(target, DESIRED_REPLICAS) == replicas(d)):
            return {}
        return {target["metadata"]["name"]: replicas(d)}
    if _saturated(d, new):
        return {rs["metadata"]["name"]: 0 for rs in active(old)}
    if _rolling(d) is None:
        return {}
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - total_replicas(live)
    if to_add > 0:  # largest first; ties: newer first
        live.sort(key=lambda rs: (-replicas(rs), _neg_time(rs)))
    else:  # largest first; ties: older first
        live.sort(key=lambda rs: (-replicas(rs), rs["metadata"].get("creationTimestamp") or ""))
    sizes: dict[str, int] = {}
    added = 0
    for rs in live:
        name = rs["metadata"]["name"]
        proportion = 0
        if to_add != 0 and to_add != added:
            fraction = _fraction(rs, d)
            allowed_left = to_add - added
            proportion = min(fraction, allowed_left) if to_add > 0 else max(fraction,
                                                                            allowed_left)
        sizes[name] = replicas(rs) + proportion
        added += proportion
    if live and to_add != added:
        first = live[0]["metadata"]["name"]
        sizes[first] = max(0, sizes[first] + to_add - added)
    return {name: size for name, size in sizes.items()
            if size != replicas(next(rs for rs in live if rs["metadata"]["name"] == name))
            or annotation_int(next(rs for rs in live if rs["metadata"]["name"] == name),
                              DESIRED_REPLICAS) != replicas(d)}


def _neg_time(rs: RS) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in rs["metadata"].get("creationTimestamp") or "")


def _fraction(rs: RS, d: dict[str, Any]) -> int:
    """`getReplicaSetFraction`: this ReplicaSet's share of the new Deployment size."""
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = annotation_int(rs, MAX_REPLICAS)
    if annotated is None or annotated == 0:
        annotated = status_of(d, "replicas") or 1
    return go_round(replicas(rs) * deployment_replicas / annotated) - replicas(rs)


# -- history -----------------------------------------------------------------------------------
def to_clean_up(d: dict[str, Any], old: list[RS]) -> list[RS]:
    """`cleanupDeployment`: old ReplicaSets beyond `revisionHistoryLimit`, lowest revision first."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [rs for rs in old if not rs["metadata"].get("deletionTimestamp")]
    excess = len(alive) - int(limit)
    if excess <= 0:
        return []
    alive.sort(key=lambda rs: (revision(rs), rs["metadata"].get("creationTimestamp") or ""))
    return [rs for rs in alive[:excess]
            if status_of(rs, "replicas") == 0 and replicas(rs) == 0
            and rs["metadata"].get("generation", 0) <= status_of(rs, "observedGeneration")]
