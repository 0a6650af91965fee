"""Reading workload and pod status: ready or not, and what is wrong (pure, no I/O).

The rules follow `kubectl rollout status` (and kstatus, which helm v4 waits with): a rollout
is done when the controller has observed the latest spec and enough *updated* replicas are
available. Pod symptoms are read from container states as the kubelet reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Waiting reasons that mean a container is not going to start by itself.
PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                          "ErrImageNeverPull"})
CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError",
                            "RunContainerError"})
CRASH_REASONS = frozenset({"CrashLoopBackOff"})
CRASH_RESTARTS = 3  # a crash loop this long is not a slow start


@dataclass(frozen=True)
class WorkloadState:
    """One workload's rollout: `text` is the progress line ("deployment/web 1/2 ready")."""

    ref: str  # kind/name, lower-case kind as kubectl spells it
    ready: bool
    text: str
    failed: str = ""  # why it will not become ready by itself (a failed Job), else ""


@dataclass(frozen=True)
class Symptom:
    """Something wrong with one container of a pod (container "" for the pod itself)."""

    pod: str
    container: str
    reason: str
    message: str
    restarts: int = 0
    ran: bool = False  # the container ran at least once, so it has logs
    previous: bool = False  # its logs of interest are the previous run's (crash loop)
    restarted: bool = False  # the kubelet restarts it when it exits (restartPolicy)

    @property
    def fatal(self) -> str:
        """The kind of failure that will not heal by waiting ("" when it may): the key under
        which `wait_ready` times its persistence (ErrImagePull and ImagePullBackOff alternate,
        so they share one)."""
        if self.reason in PULL_REASONS:
            return "image"
        if self.reason in CONFIG_REASONS:
            return "config"
        if self.reason == "Unschedulable":
            return "unschedulable"
        # A crash loop shows as CrashLoopBackOff while backing off and as terminated between
        # runs: both are one ongoing problem.
        crashing = self.reason in CRASH_REASONS or (self.restarted and self.reason != "NotReady")
        if crashing and self.restarts >= CRASH_RESTARTS:
            return "crash"
        return ""


def _int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) else default


def _observed(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return _int(status.get("observedGeneration"), -1) >= _int(obj["metadata"].get("generation"))


def workload_state(obj: dict[str, Any]) -> WorkloadState:
    """Whether a Deployment, StatefulSet, DaemonSet or Job is ready, as a progress line."""
    kind = obj.get("kind", "")
    ref = f"{kind.lower()}/{obj['metadata']['name']}"
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Job":
        return _job_state(ref, spec, status)
    if kind == "DaemonSet":
        want = _int(status.get("desiredNumberScheduled"))
        updated = _int(status.get("updatedNumberScheduled"))
        have = min(_int(status.get("numberAvailable")), updated)
    else:
        want = _int(spec.get("replicas"), 1)
        updated = _int(status.get("updatedReplicas"))
        counted = "availableReplicas" if kind == "Deployment" else "readyReplicas"
        have = min(_int(status.get(counted)), updated)
    text = f"{ref} {have}/{want} ready"
    if not _observed(obj):
        return WorkloadState(ref, False, f"{ref} waiting for the controller")
    if kind == "Deployment":
        for cond in status.get("conditions") or []:
            if cond.get("reason") == "ProgressDeadlineExceeded":
                return WorkloadState(ref, False, text, f"{ref}: {cond.get('message', '')}")
        # old replicas still running means the rollout is not over
        ready = have >= want and _int(status.get("replicas")) <= updated
    elif kind == "StatefulSet":
        revisions = status.get("currentRevision"), status.get("updateRevision")
        rolled = None in revisions or revisions[0] == revisions[1] or \
            (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
        ready = have >= want and rolled
    else:
        ready = have >= want
    return WorkloadState(ref, ready, text)


def _job_state(ref: str, spec: dict[str, Any], status: dict[str, Any]) -> WorkloadState:
    completions = _int(spec.get("completions"), 1)
    text = f"{ref} {_int(status.get('succeeded'))}/{completions} complete"
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            return WorkloadState(ref, True, f"{ref} complete")
        if cond.get("type") == "Failed":
            why = cond.get("message") or cond.get("reason") or "failed"
            return WorkloadState(ref, False, text, f"{ref} failed: {why}")
    return WorkloadState(ref, False, text)


def pod_symptoms(pod: dict[str, Any]) -> list[Symptom]:
    """What is wrong with a pod, container by container ([] for a healthy or finished pod)."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    name = meta["name"]
    if meta.get("deletionTimestamp") or status.get("phase") == "Succeeded":
        return []  # going away (an old replica) or done
    found: list[Symptom] = []
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False" and \
                cond.get("reason") == "Unschedulable":
            found.append(Symptom(name, "", "Unschedulable", cond.get("message", "")))
    always = spec.get("restartPolicy", "Always") != "Never"
    statuses = [*(status.get("initContainerStatuses") or []),
                *(status.get("containerStatuses") or [])]
    for cs in statuses:
        symptom = _container_symptom(name, cs, always)
        if symptom:
            found.append(symptom)
    if not found and status.get("phase") == "Failed":
        found.append(Symptom(name, "", status.get("reason") or "Failed",
                             status.get("message", "")))
    return found


def _container_symptom(pod: str, cs: dict[str, Any], always: bool) -> Symptom | None:
    state = cs.get("state") or {}
    restarts = _int(cs.get("restartCount"))
    ran = restarts > 0 or "running" in state or "terminated" in state
    waiting, terminated = state.get("waiting"), state.get("terminated")
    if waiting and waiting.get("reason") in PULL_REASONS | CONFIG_REASONS | CRASH_REASONS:
        return Symptom(pod, cs["name"], waiting["reason"], waiting.get("message", ""),
                       restarts, ran, previous=restarts > 0, restarted=always)
    if terminated and _int(terminated.get("exitCode")) != 0:
        message = f"exit code {terminated.get('exitCode')}"
        if terminated.get("message"):
            message += f": {terminated['message']}"
        return Symptom(pod, cs["name"], terminated.get("reason") or "Error", message,
                       restarts, True, restarted=always)
    if "running" in state and not cs.get("ready"):
        return Symptom(pod, cs["name"], "NotReady", "running, but not ready (readiness probe)",
                       restarts, True, restarted=always)
    return None


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as a `labelSelector` query ("" selects nothing we can use)."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


class Persistence:
    """Which problems have lasted `grace` seconds without interruption (time passed in)."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.since: dict[tuple[str, str, str], float] = {}

    def observe(self, symptoms: list[Symptom], now: float) -> list[Symptom]:
        current = {(s.pod, s.container, s.fatal): s for s in symptoms if s.fatal}
        self.since = {key: self.since.get(key, now) for key in current}
        return [s for key, s in current.items() if now - self.since[key] >= self.grace]
