"""The pod status a kubelet reports, rendered from the sandbox kubelet's `PodState`.

Pure. Field shapes, condition types and reasons are those of the real kubelet
(`pkg/kubelet/kubelet_pods.go` `generateAPIPodStatus`, `pkg/kubelet/status/generate.go`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from preview.sandbox.kubelet.behaviour import image_id, normalize_image, pull_error
from preview.sandbox.kubelet.lifecycle import Container, PodState, ready_at, started_at
from preview.sandbox.kubelet.timings import KubeletTimings

# Conditions the kubelet owns; others (PodScheduled, readiness gates) are kept as they are.
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


def stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_status(pod: dict[str, Any], state: PodState, host_ip: str, now: float,
               timings: KubeletTimings, ready_override: bool | None = None) -> dict[str, Any]:
    """The full `status` to write; `ready_override` is a runtime hook's readiness, if any."""
    old = pod.get("status") or {}
    status: dict[str, Any] = {"phase": phase(state), "qosClass": qos_class(pod.get("spec") or {})}
    if host_ip:
        status["hostIP"], status["hostIPs"] = host_ip, [{"ip": host_ip}]
    if state.sandbox_ready and state.ip:
        status["podIP"], status["podIPs"] = state.ip, [{"ip": state.ip}]
    if state.start_time:
        status["startTime"] = stamp(state.start_time)
    statuses = {c.name: container_status(c, state, now, timings, ready_override)
                for c in state.containers}
    inits = [statuses[c.name] for c in state.inits]
    if inits:
        status["initContainerStatuses"] = inits
    status["containerStatuses"] = [statuses[c.name] for c in state.regular]
    status["conditions"] = _conditions(old, state, statuses, status["phase"], now)
    return status


def phase(state: PodState) -> str:
    """`getPhase` of the real kubelet, over the sandbox's container states."""
    policy = state.restart_policy
    for c in state.inits:
        if c.done():
            continue
        run = c.current
        if policy == "Never" and c.state == "terminated" and run is not None \
                and run.exit_code != 0:
            return "Failed"
        return "Pending"
    waiting = running = stopped = succeeded = 0
    for c in state.regular:
        run = c.current
        if _lost(c, state):
            stopped += 1  # ContainerStatusUnknown, exit code 137
        elif c.state == "running":
            running += 1
        elif c.state == "terminated":
            stopped += 1
            succeeded += run is not None and run.exit_code == 0
        elif run is not None:  # waiting to restart: counts as stopped, as lastState is set
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if state.deleted:  # podIsTerminal: no restart, whatever the policy
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def container_status(c: Container, state: PodState, now: float, timings: KubeletTimings,
                     ready_override: bool | None = None) -> dict[str, Any]:
    run = c.current
    out: dict[str, Any] = {"name": c.name, "image": normalize_image(c.image),
                           "imageID": "", "ready": False, "restartCount": c.restarts,
                           "started": False}
    if run is not None:
        out["imageID"] = image_id(c.image)
        out["containerID"] = f"containerd://{run.container_id}"
    if c.state == "running" and run is not None:
        out["state"] = {"running": {"startedAt": stamp(run.started)}}
        out["started"] = now >= started_at(c, run, timings)
        if c.init and not c.sidecar:
            out["ready"] = False
        elif ready_override is not None and state.runtime_mode and not c.init:
            out["ready"] = ready_override
        else:
            out["ready"] = now >= ready_at(c, run, timings)
        if len(c.runs) > 1:
            out["lastState"] = {"terminated": _terminated(c.runs[-2])}
    elif c.state == "terminated" and run is not None:
        out["state"] = {"terminated": _terminated(run)}
        if c.init and not c.sidecar and run.exit_code == 0:
            out["ready"] = True  # completed init containers report ready, as the real kubelet
        if len(c.runs) > 1:
            out["lastState"] = {"terminated": _terminated(c.runs[-2])}
    elif _lost(c, state):
        # The status manager's TerminatePod: once a pod has initialized, a container with
        # no terminated state is reported failed (`pkg/kubelet/status/status_manager.go`).
        out["state"] = {"terminated": {
            "exitCode": 137, "reason": "ContainerStatusUnknown",
            "message": "The container could not be located when the pod was terminated"}}
        if run is not None:
            out["lastState"] = {"terminated": _terminated(run)}
    elif c.state == "crashloop" and run is not None:
        out["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": (
            f"back-off {_duration(c.backoff)} restarting failed container={c.name} "
            f"pod={state.name}_{state.namespace}({state.uid})")}}
        out["lastState"] = {"terminated": _terminated(run)}
    elif c.state in ("creating", "new") and run is not None and run.finished is not None:
        out["state"] = {"terminated": _terminated(run)}  # restarting right away
        if len(c.runs) > 1:
            out["lastState"] = {"terminated": _terminated(c.runs[-2])}
    else:
        out["state"] = {"waiting": _waiting(c, state)}
        out["lastState"] = {}
    out.setdefault("lastState", {})
    return out


def _lost(c: Container, state: PodState) -> bool:
    """A regular container of a deleted, initialized pod that never reached terminated."""
    return state.deleted and not c.init and c.state != "terminated" \
        and all(i.done() for i in state.inits) and state.sandbox_ready


def _waiting(c: Container, state: PodState) -> dict[str, Any]:
    if c.state == "pull-failed":
        return {"reason": "ErrImagePull", "message": pull_error(c.image)}
    if c.state == "pull-backoff":
        return {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{c.image}"'}
    if not c.init and not all(i.done() for i in state.inits):
        return {"reason": "PodInitializing"}
    return {"reason": "ContainerCreating"}


def _terminated(run: Any) -> dict[str, Any]:
    code = run.exit_code or 0
    return {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
            "startedAt": stamp(run.started), "finishedAt": stamp(run.finished or run.started),
            "containerID": f"containerd://{run.container_id}"}


def _duration(seconds: float) -> str:
    """Go's time.Duration formatting for the back-off message ("10s", "1m20s", "200ms")."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs}s" if minutes else f"{seconds:g}s"


def _conditions(old: dict[str, Any], state: PodState, statuses: dict[str, dict[str, Any]],
                pod_phase: str, now: float) -> list[dict[str, Any]]:
    completed = pod_phase in ("Succeeded", "Failed")
    pending_inits = [c.name for c in state.inits if not c.done()]
    unready = [c.name for c in state.regular if not statuses[c.name]["ready"]]
    unready += [c.name for c in state.inits if c.sidecar and not statuses[c.name]["ready"]]
    wanted: dict[str, tuple[str, str, str]] = {
        "PodReadyToStartContainers": ("True" if state.sandbox_ready and not state.stopped
                                      else "False", "", ""),
    }
    if completed and not pending_inits:
        wanted["Initialized"] = ("True", "PodCompleted", "")
    elif pending_inits:
        wanted["Initialized"] = ("False", "ContainersNotInitialized",
                                 f"containers with incomplete status: [{' '.join(pending_inits)}]")
    else:
        wanted["Initialized"] = ("True", "", "")
    if completed:
        ready = ("False", "PodCompleted", "")
    elif unready:
        ready = ("False", "ContainersNotReady",
                 f"containers with unready status: [{' '.join(unready)}]")
    else:
        ready = ("True", "", "")
    wanted["Ready"] = wanted["ContainersReady"] = ready
    previous = {c.get("type"): c for c in old.get("conditions") or []}
    out = []
    for kind in KUBELET_CONDITIONS:
        value, reason, message = wanted[kind]
        before = previous.get(kind)
        since = before.get("lastTransitionTime") if before and before.get("status") == value \
            else stamp(now)
        cond: dict[str, Any] = {"type": kind, "status": value, "lastProbeTime": None,
                                "lastTransitionTime": since}
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        out.append(cond)
    out += [c for t, c in previous.items() if t not in KUBELET_CONDITIONS]
    if "PodScheduled" not in previous:
        out.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                    "lastTransitionTime": stamp(state.created)})
    return out


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, as `pkg/apis/core/v1/helper/qos` decides."""
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set, guaranteed = False, True
    for c in containers:
        res = c.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
