"""A Deployment's status and conditions from its ReplicaSets: pure, no I/O.

From `pkg/controller/deployment/sync.go` (`calculateStatus`), `progress.go`
(`syncRolloutStatus`) and `util/deployment_util.go`: `Available` compares available pods
with `replicas - maxUnavailable`; `Progressing` says NewReplicaSetCreated / FoundNewReplicaSet
/ ReplicaSetUpdated while it moves, NewReplicaSetAvailable once complete, and
ProgressDeadlineExceeded when nothing moved for `progressDeadlineSeconds`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from preview.sandbox.controllers.rollout import RS, max_unavailable, replicas, status_of
from preview.sandbox.controllers.workload import omit_zero
from preview.sandbox.machinery.objects import parse_time

AVAILABLE, PROGRESSING = "Available", "Progressing"
NEW_RS_CREATED, FOUND_NEW_RS = "NewReplicaSetCreated", "FoundNewReplicaSet"
RS_UPDATED, NEW_RS_AVAILABLE = "ReplicaSetUpdated", "NewReplicaSetAvailable"
TIMED_OUT, PAUSED, RESUMED = "ProgressDeadlineExceeded", "DeploymentPaused", "DeploymentResumed"
# `math.MaxInt32` progressDeadlineSeconds means "no deadline" (`HasProgressDeadline`).
NO_DEADLINE = 2**31 - 1


def stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def get_condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def new_condition(kind: str, status: str, reason: str, message: str,
                  at: dt.datetime) -> dict[str, Any]:
    return {"type": kind, "status": status, "lastUpdateTime": stamp(at),
            "lastTransitionTime": stamp(at), "reason": reason, "message": message}


def set_condition(status: dict[str, Any], cond: dict[str, Any]) -> None:
    """`SetDeploymentCondition`: same status and reason is no change; else replace at the end."""
    current = get_condition(status, cond["type"])
    if current is not None and current["status"] == cond["status"] and \
            current.get("reason") == cond["reason"]:
        return
    if current is not None and current["status"] == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    others = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]]
    status["conditions"] = [*others, cond]


def remove_condition(status: dict[str, Any], kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind]


def has_deadline(d: dict[str, Any]) -> bool:
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != NO_DEADLINE


def calculate_status(d: dict[str, Any], all_sets: list[RS], new: RS | None,
                     at: dt.datetime) -> dict[str, Any]:
    """`calculateStatus`: counts summed over ReplicaSets, and the Available condition."""
    available = sum(status_of(rs, "availableReplicas") for rs in all_sets)
    total = sum(replicas(rs) for rs in all_sets)
    old = d.get("status") or {}
    status: dict[str, Any] = {
        "observedGeneration": d["metadata"].get("generation", 0),
        "replicas": sum(status_of(rs, "replicas") for rs in all_sets),
        "updatedReplicas": status_of(new, "replicas") if new is not None else 0,
        "readyReplicas": sum(status_of(rs, "readyReplicas") for rs in all_sets),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total - available),
        "collisionCount": old.get("collisionCount"),
        "conditions": [dict(c) for c in old.get("conditions") or []],
    }
    if available >= replicas(d) - max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", "MinimumReplicasAvailable",
                                             "Deployment has minimum availability.", at))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.",
                                            at))
    return status


def is_complete(d: dict[str, Any], status: dict[str, Any]) -> bool:
    """`DeploymentComplete`: every replica updated and available, latest spec observed."""
    want = replicas(d)
    return (int(status.get("updatedReplicas") or 0) == want
            and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0) >= d["metadata"].get("generation", 0))


def is_progressing(d: dict[str, Any], new_status: dict[str, Any]) -> bool:
    """`DeploymentProgressing`: more updated/ready/available pods, or fewer old ones."""
    old = d.get("status") or {}

    def n(s: dict[str, Any], f: str) -> int:
        return int(s.get(f) or 0)

    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(new_status, "replicas") - n(new_status, "updatedReplicas")
    return (n(new_status, "updatedReplicas") > n(old, "updatedReplicas") or new_old < old_old
            or n(new_status, "readyReplicas") > n(old, "readyReplicas")
            or n(new_status, "availableReplicas") > n(old, "availableReplicas"))


def is_timed_out(d: dict[str, Any], status: dict[str, Any], at: dt.datetime) -> bool:
    if not has_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime") or stamp(at))
    return since + dt.timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) < at


def rollout_status(d: dict[str, Any], all_sets: list[RS], new: RS | None,
                   at: dt.datetime) -> dict[str, Any]:
    """`syncRolloutStatus`: the status to write, with the Progressing condition moved on."""
    status = calculate_status(d, all_sets, new, at)
    if not has_deadline(d):
        remove_condition(status, PROGRESSING)
    current = get_condition(status, PROGRESSING)
    if has_deadline(d) and not (current is not None and current.get("reason") == TIMED_OUT):
        if is_complete(d, status):
            what = f'ReplicaSet "{new["metadata"]["name"]}"' if new is not None else \
                f'Deployment "{d["metadata"]["name"]}"'
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                                f"{what} has successfully progressed.", at))
        elif is_progressing(d, status):
            what = f'ReplicaSet "{new["metadata"]["name"]}"' if new is not None else \
                f'Deployment "{d["metadata"]["name"]}"'
            cond = new_condition(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.", at)
            if current is not None:
                # Same reason, new lastUpdateTime: progress restarts the deadline clock.
                if current["status"] == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif is_timed_out(d, status, at):
            what = f'ReplicaSet "{new["metadata"]["name"]}"' if new is not None else \
                f'Deployment "{d["metadata"]["name"]}"'
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{what} has timed out progressing.", at))
    return finish(status)


def finish(status: dict[str, Any]) -> dict[str, Any]:
    """Drop zero counters and empty fields, as the API's `omitempty` does."""
    return omit_zero(status, keep=("observedGeneration",))


def requeue_after(d: dict[str, Any], status: dict[str, Any], at: dt.datetime) -> float | None:
    """`requeueStuckDeployment`: when the progress deadline would pass, if still moving."""
    cond = get_condition(status, PROGRESSING)
    if not has_deadline(d) or cond is None or cond.get("reason") in (NEW_RS_AVAILABLE,
                                                                      TIMED_OUT):
        return None
    if is_complete(d, status):
        return None
    since = parse_time(cond.get("lastUpdateTime") or stamp(at))
    deadline = since + dt.timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"]))
    return max(0.0, (deadline - at).total_seconds()) + 1.0


def paused_condition(d: dict[str, Any], at: dt.datetime) -> dict[str, Any] | None:
    """`checkPausedConditions`: the Progressing condition to set on pause/resume, if any."""
    if not has_deadline(d):
        return None
    cond = get_condition(d.get("status") or {}, PROGRESSING)
    if cond is not None and cond.get("reason") == TIMED_OUT:
        return None
    paused_now = cond is not None and cond.get("reason") == PAUSED
    if (d.get("spec") or {}).get("paused") and not paused_now:
        return new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", at)
    if not (d.get("spec") or {}).get("paused") and paused_now:
        return new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", at)
    return None
