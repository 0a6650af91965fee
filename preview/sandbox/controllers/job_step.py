"""What a Job needs next and its status: pure, no I/O.

From `pkg/controller/job/job_controller.go` as of 1.31+: pods run `parallelism` at a time
until `completions` succeed; more than `backoffLimit` failures (or `activeDeadlineSeconds`)
first sets `FailureTarget`, success first sets `SuccessCriteriaMet`; the terminal `Failed` /
`Complete` conditions (same reason and message) follow once no pod of the Job is still
running or terminating. Replacements after a failure wait 10s, doubling, at most 6 minutes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from preview.sandbox.controllers.podutil import condition, is_active, is_ready, is_terminating
from preview.sandbox.controllers.workload import pods_to_delete
from preview.sandbox.machinery.objects import clone, parse_time

BACKOFF_BASE, BACKOFF_MAX = 10.0, 360.0
REASONS = {
    "BackoffLimitExceeded": "Job has reached the specified backoff limit",
    "DeadlineExceeded": "Job was active longer than specified deadline",
    "CompletionsReached": "Reached expected number of succeeded pods",
}


@dataclass
class JobStep:
    status: dict[str, Any]
    create: int = 0
    delete: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # type, reason, message
    requeue: float | None = None


def stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_true(status: dict[str, Any], kind: str) -> bool:
    c = condition({"status": status}, kind)
    return c is not None and c.get("status") == "True"


def finished(job: dict[str, Any]) -> bool:
    status = job.get("status") or {}
    return is_true(status, "Complete") or is_true(status, "Failed")


def _set(status: dict[str, Any], kind: str, value: str, reason: str, message: str,
         at: dt.datetime) -> None:
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == kind:
            if c.get("status") != value:
                c["lastTransitionTime"] = stamp(at)
            c.update(status=value, reason=reason, message=message, lastProbeTime=stamp(at))
            return
    conds.append({"type": kind, "status": value, "lastProbeTime": stamp(at),
                  "lastTransitionTime": stamp(at), "reason": reason, "message": message})


def _finished_at(pod: dict[str, Any]) -> dt.datetime | None:
    times: list[str] = [
        str(t) for cs in (pod.get("status") or {}).get("containerStatuses") or []
        if (t := ((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))]
    if times:
        return parse_time(max(times))
    ready = condition(pod, "Ready")
    stamp_ = (ready or {}).get("lastTransitionTime") or pod["metadata"].get("creationTimestamp")
    return parse_time(stamp_) if stamp_ else None


def backoff_left(failed_pods: list[dict[str, Any]], failures: int, at: dt.datetime) -> float:
    """Seconds until a replacement may start after the latest failure."""
    if failures <= 0 or not failed_pods:
        return 0.0
    last = max((t for t in (_finished_at(p) for p in failed_pods) if t is not None),
               default=None)
    if last is None:
        return 0.0
    delay = min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_MAX)
    return max(0.0, (last + dt.timedelta(seconds=delay) - at).total_seconds())


def job_step(job: dict[str, Any], pods: list[dict[str, Any]], at: dt.datetime) -> JobStep:
    spec = job.get("spec") or {}
    status = clone(job.get("status") or {})
    step = JobStep(status)
    if finished(job):
        return step
    active = [p for p in pods if is_active(p)]
    terminating = [p for p in pods if is_terminating(p) and
                   (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    # A pod deleted while running ends with a terminal phase written by the kubelet on its
    # way out; it is no completion (the real controller counts what it saw finish first).
    counted = [p for p in pods if not is_terminating(p)]
    failed_pods = [p for p in counted if (p.get("status") or {}).get("phase") == "Failed"]
    succeeded = max(int(status.get("succeeded") or 0),
                    sum(1 for p in counted if (p.get("status") or {}).get("phase") == "Succeeded"))
    failed = max(int(status.get("failed") or 0), len(failed_pods))
    suspended = bool(spec.get("suspend"))
    if not status.get("startTime") and not suspended:
        status["startTime"] = stamp(at)
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1))
    ending = is_true(status, "FailureTarget") or is_true(status, "SuccessCriteriaMet")
    if not ending:
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_time(status["startTime"]) if status.get("startTime") else None
        if failed > int(spec.get("backoffLimit", 6)):
            _set(status, "FailureTarget", "True", "BackoffLimitExceeded",
                 REASONS["BackoffLimitExceeded"], at)
        elif deadline is not None and started is not None and not suspended and \
                (at - started).total_seconds() >= int(deadline):
            _set(status, "FailureTarget", "True", "DeadlineExceeded",
                 REASONS["DeadlineExceeded"], at)
        elif (completions is not None and succeeded >= int(completions)) or \
                (completions is None and succeeded > 0 and not active):
            _set(status, "SuccessCriteriaMet", "True", "CompletionsReached",
                 REASONS["CompletionsReached"], at)
        elif deadline is not None and started is not None and not suspended:
            step.requeue = int(deadline) - (at - started).total_seconds() + 0.05
    if is_true(status, "FailureTarget") or is_true(status, "SuccessCriteriaMet"):
        step.delete = active
        if not active and not terminating:
            _finish(status, step, at)
    elif suspended:
        step.delete = active
        if not is_true(status, "Suspended"):
            _set(status, "Suspended", "True", "JobSuspended", "Job suspended", at)
            step.events.append(("Normal", "Suspended", "Job suspended"))
    else:
        if is_true(status, "Suspended"):
            _set(status, "Suspended", "False", "JobResumed", "Job resumed", at)
            step.events.append(("Normal", "Resumed", "Job resumed"))
        want = parallelism if completions is None else min(parallelism,
                                                            int(completions) - succeeded)
        if want > len(active):
            wait = backoff_left(failed_pods, failed, at)
            if wait > 0:
                step.requeue = wait + 0.05
            else:
                step.create = want - len(active)
        elif want < len(active):
            step.delete = pods_to_delete(active, len(active) - want)
    status.update(active=len(active), succeeded=succeeded, failed=failed,
                  ready=sum(1 for p in active if is_ready(p)), terminating=len(terminating))
    status.setdefault("uncountedTerminatedPods", {})
    for key in ("active", "succeeded", "failed"):
        if not status[key]:
            del status[key]
    return step


def _finish(status: dict[str, Any], step: JobStep, at: dt.datetime) -> None:
    if is_true(status, "FailureTarget"):
        target = condition({"status": status}, "FailureTarget") or {}
        reason = target.get("reason", "BackoffLimitExceeded")
        _set(status, "Failed", "True", reason, target.get("message", REASONS.get(reason, "")), at)
        step.events.append(("Warning", reason, target.get("message", "")))
    else:
        _set(status, "Complete", "True", "CompletionsReached", REASONS["CompletionsReached"], at)
        status["completionTime"] = stamp(at)
        step.events.append(("Normal", "Completed", "Job completed"))


def ttl_left(job: dict[str, Any], at: dt.datetime) -> float | None:
    """`ttlSecondsAfterFinished`: seconds until a finished Job is to be deleted."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or not finished(job):
        return None
    status = job.get("status") or {}
    done = status.get("completionTime") or next(
        (c.get("lastTransitionTime") for c in status.get("conditions") or []
         if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"), None)
    if not done:
        return None
    return max(0.0, (parse_time(done) + dt.timedelta(seconds=int(ttl)) - at).total_seconds())
