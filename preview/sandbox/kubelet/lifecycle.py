"""The per-pod state machine of the sandbox kubelet: pull, create, start, run, exit, restart.

Pure: `advance(pod_state, now, ...)` moves every container along as far as the clock
allows and returns the Events a real kubelet would record on the way; `next_due` says when
to look again. The controller keeps one `PodState` per pod uid (the kubelet's "runtime")
and renders the API status from it (`status.py`).

Order follows the real kubelet (`pkg/kubelet/kuberuntime/kuberuntime_manager.go`): the pod
sandbox first (IP, PodReadyToStartContainers), init containers one at a time (a sidecar —
an init container with `restartPolicy: Always` — only has to be started), then every
regular container. Back-off follows `backOffPeriod` doubling up to a cap: immediate first
restart, then `backoff`, `2*backoff`, ... (`KubeletTimings`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from preview.sandbox.kubelet.behaviour import (
    Behaviour,
    always_pull,
    behaviour,
    pre_stop_seconds,
    pull_error,
)
from preview.sandbox.kubelet.timings import KubeletTimings

# Container states: "new" (not started yet), "pulling", "pull-failed" (ErrImagePull),
# "pull-backoff" (ImagePullBackOff), "creating", "running", "crashloop", "terminated".
WAITING_STATES = ("new", "pulling", "pull-failed", "pull-backoff", "creating", "crashloop")


@dataclass
class Run:
    """One instance of a container: what `containerID`, `startedAt`, the logs belong to."""

    container_id: str
    started: float
    finished: float | None = None
    exit_code: int | None = None
    logs: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Container:
    name: str
    spec: dict[str, Any]
    init: bool
    sidecar: bool
    behaviour: Behaviour
    state: str = "new"
    due: float | None = None
    restarts: int = 0
    failures: int = 0  # consecutive failures, for back-off
    backoff: float = 0.0
    runs: list[Run] = field(default_factory=list)

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    @property
    def current(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    def done(self) -> bool:
        """An init container that lets the next one start: completed, or a started sidecar."""
        if self.sidecar:
            return self.state == "running" or self.restarts > 0
        return self.state == "terminated" and self.current is not None and \
            self.current.exit_code == 0


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass
class PodState:
    """What the kubelet knows of one pod beyond its API object."""

    uid: str
    namespace: str
    name: str
    node: str
    restart_policy: str
    containers: list[Container]
    created: float
    sandbox_ready: bool = False
    ip: str = ""
    start_time: float = 0.0
    runtime_mode: bool = False  # a runtime hook runs the regular containers
    runtime_started: bool = False
    runtime_exit: int | None = None
    stopped: bool = False
    # Deleted while running: the pod is terminal whatever its restartPolicy (the real
    # kubelet's `podIsTerminal`), and its final status is written before it goes.
    deleted: bool = False
    stopping_at: float | None = None  # when the preStop hooks are done and SIGTERM is sent

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)

    @property
    def regular(self) -> list[Container]:
        return [c for c in self.containers if not c.init]

    @property
    def inits(self) -> list[Container]:
        return [c for c in self.containers if c.init]

    @property
    def wants_runtime(self) -> bool:
        """The regular containers are due to start: time to start the runtime hook."""
        return self.runtime_mode and all(c.done() for c in self.inits) and self.sandbox_ready


def new_pod_state(pod: dict[str, Any], now: float, timings: KubeletTimings,
                  runtime_mode: bool = False) -> PodState:
    spec, meta = pod.get("spec") or {}, pod["metadata"]
    policy = spec.get("restartPolicy") or "Always"
    containers = [
        Container(c["name"], c, True, c.get("restartPolicy") == "Always",
                  behaviour(c, policy, True, timings))
        for c in spec.get("initContainers") or []
    ] + [Container(c["name"], c, False, False, behaviour(c, policy, False, timings))
         for c in spec.get("containers") or []]
    return PodState(meta.get("uid", ""), meta.get("namespace", ""), meta["name"],
                    spec.get("nodeName", ""), policy, containers, now,
                    runtime_mode=runtime_mode)


def advance(pod: PodState, now: float, node_images: set[str],
            timings: KubeletTimings) -> list[Event]:
    """Move the pod's containers along up to `now`; the Events recorded on the way."""
    events: list[Event] = []
    if pod.stopped:
        return events
    if not pod.sandbox_ready:
        if now < pod.created + timings.sandbox:
            return events
        pod.sandbox_ready = True
        pod.start_time = pod.start_time or now
    for c in pod.inits:
        _step(pod, c, now, node_images, timings, events)
        if not c.done():
            return events  # the next init container waits for this one
    for c in pod.regular:
        _step(pod, c, now, node_images, timings, events)
    return events


def stop_at(pod: PodState, now: float, grace: float) -> float:
    """When to stop the containers of a deleted pod: after the running containers' preStop
    hooks, which the grace period bounds (`pkg/kubelet/kuberuntime/kuberuntime_container.go`)."""
    if pod.stopping_at is None:
        hooks = [pre_stop_seconds(c.spec) for c in pod.containers if c.state == "running"]
        pod.stopping_at = now + min(max(hooks, default=0.0), max(grace, 0.0))
    return pod.stopping_at


def stop(pod: PodState, now: float) -> list[Event]:
    """Kill every running container (pod deletion): `Killing` events, runs finished."""
    events = []
    for c in pod.containers:
        run = c.current
        if c.state == "running" and run is not None:
            events.append(Event("Normal", "Killing", f"Stopping container {c.name}"))
            run.finished, run.exit_code = now, 0
            c.state, c.due = "terminated", None
    pod.stopped = pod.deleted = True
    return events


def next_due(pod: PodState, now: float, timings: KubeletTimings) -> float | None:
    """When `advance` (or readiness) next has something to do; None: nothing scheduled."""
    if pod.stopped:
        return None
    if not pod.sandbox_ready:
        return pod.created + timings.sandbox
    times = [c.due for c in pod.containers if c.due is not None]
    for c in pod.containers:
        run = c.current
        if c.state == "running" and run is not None:
            times += [ready_at(c, run, timings), started_at(c, run, timings)]
    return min((t for t in times if t > now), default=None)


def ready_at(c: Container, run: Run, timings: KubeletTimings) -> float:
    """When a running container first passes its readiness (and startup) probe.

    The first probe runs after `initialDelaySeconds` (`pkg/kubelet/prober/worker.go`);
    the sandbox's probes always succeed, so that is when the container turns Ready.
    """
    delay = 0.0
    for probe in ("startupProbe", "readinessProbe"):
        p = c.spec.get(probe)
        if p:
            delay += float(p.get("initialDelaySeconds") or 0) * timings.probe_scale
    return run.started + delay


def started_at(c: Container, run: Run, timings: KubeletTimings) -> float:
    p = c.spec.get("startupProbe")
    delay = float(p.get("initialDelaySeconds") or 0) * timings.probe_scale if p else 0.0
    return run.started + delay


def _step(pod: PodState, c: Container, now: float, node_images: set[str],
          timings: KubeletTimings, events: list[Event]) -> None:
    for _ in range(16):  # several transitions may fall due in one sync
        if c.state == "new":
            _begin(pod, c, now, node_images, timings, events)
        elif c.due is not None and c.due <= now:
            _finish(pod, c, c.due, node_images, timings, events)
        elif c.state == "creating" and pod.runtime_mode and not c.init and pod.runtime_started:
            _start(pod, c, now, events)
        elif c.state == "running" and pod.runtime_mode and not c.init and \
                pod.runtime_exit is not None:
            _exit(pod, c, now, pod.runtime_exit, timings, events)
        else:
            return


def _begin(pod: PodState, c: Container, now: float, node_images: set[str],
           timings: KubeletTimings, events: list[Event]) -> None:
    if c.behaviour.pull_fails or always_pull(c.spec) or c.image not in node_images:
        events.append(Event("Normal", "Pulling", f'Pulling image "{c.image}"'))
        c.state, c.due = "pulling", now + timings.pull
        return
    events.append(Event("Normal", "Pulled",
                        f'Container image "{c.image}" already present on machine'))
    _create(pod, c, now, timings)


def _create(pod: PodState, c: Container, now: float, timings: KubeletTimings) -> None:
    c.state = "creating"
    # A runtime hook's containers start when the hook reports it has started them.
    c.due = None if pod.runtime_mode and not c.init else now + timings.start


def _finish(pod: PodState, c: Container, now: float, node_images: set[str],
            timings: KubeletTimings, events: list[Event]) -> None:
    """The step that was due at `now` happens."""
    if c.state == "pulling":
        if c.behaviour.pull_fails:
            c.failures += 1
            error = pull_error(c.image)
            events += [Event("Warning", "Failed", f'Failed to pull image "{c.image}": {error}'),
                       Event("Warning", "Failed", "Error: ErrImagePull")]
            c.backoff = _backoff(c.failures, timings, first_immediate=False)
            c.state, c.due = "pull-failed", now + min(timings.backoff / 2, c.backoff)
            return
        node_images.add(c.image)
        size = 10_000_000 + int.from_bytes(c.image.encode()[:3].ljust(3, b"x"), "big") % 90_000_000
        events.append(Event("Normal", "Pulled", (
            f'Successfully pulled image "{c.image}" in {timings.pull:.3f}s '
            f"({timings.pull:.3f}s including waiting). Image size: {size} bytes.")))
        _create(pod, c, now, timings)
    elif c.state == "pull-failed":
        events += [Event("Normal", "BackOff", f'Back-off pulling image "{c.image}"'),
                   Event("Warning", "Failed", "Error: ImagePullBackOff")]
        c.state, c.due = "pull-backoff", now + max(c.backoff - timings.backoff / 2, 0.0)
    elif c.state == "pull-backoff":
        events.append(Event("Normal", "Pulling", f'Pulling image "{c.image}"'))
        c.state, c.due = "pulling", now + timings.pull
    elif c.state == "creating":
        _start(pod, c, now, events)
    elif c.state == "running":
        _exit(pod, c, now, c.behaviour.exit_code, timings, events)
    elif c.state == "crashloop":
        c.restarts += 1
        c.state = "new"
        c.due = None
        _begin(pod, c, now, node_images, timings, events)


def _start(pod: PodState, c: Container, now: float, events: list[Event]) -> None:
    run = Run(secrets.token_hex(32), now)
    c.runs = [*c.runs[-1:], run]  # the previous run stays as lastState
    events += [Event("Normal", "Created", f"Created container: {c.name}"),
               Event("Normal", "Started", f"Started container {c.name}")]
    run_for = c.behaviour.run_for
    c.state = "running"
    c.due = None if run_for is None or (pod.runtime_mode and not c.init) else now + run_for
    words = [str(w) for w in (c.spec.get("command") or []) + (c.spec.get("args") or [])]
    lines = [f"[sandbox] container {c.name} started from image {c.image} "
             f"in pod {pod.namespace}/{pod.name} on node {pod.node}"]
    if words:
        lines.append(f"[sandbox] running: {' '.join(words)}")
    for port in c.spec.get("ports") or []:
        lines.append(f"[sandbox] listening on 0.0.0.0:{port.get('containerPort')}/"
                     f"{port.get('protocol', 'TCP')}")
    run.logs += [(now, line) for line in lines]


def _exit(pod: PodState, c: Container, now: float, code: int, timings: KubeletTimings,
          events: list[Event]) -> None:
    run = c.current
    assert run is not None
    run.finished, run.exit_code = now, code
    run.logs.append((now, f"[sandbox] process exited with code {code}" if code else
                     "[sandbox] process completed"))
    c.state, c.due = "terminated", None
    if pod.runtime_mode and not c.init:
        return  # a runtime hook's processes are not restarted by the sandbox
    if c.sidecar or pod.restart_policy == "Always":
        restart = not c.init or c.sidecar or code != 0
    else:
        restart = pod.restart_policy == "OnFailure" and code != 0
    if not restart:
        return
    c.failures += 1
    delay = _backoff(c.failures, timings, first_immediate=True)
    c.backoff = delay
    if delay > 0:
        events.append(Event("Warning", "BackOff", (
            f"Back-off restarting failed container {c.name} in pod "
            f"{pod.name}_{pod.namespace}({pod.uid})")))
    c.state, c.due = "crashloop", now + delay


def _backoff(failures: int, timings: KubeletTimings, first_immediate: bool) -> float:
    n = failures - 1 if first_immediate else failures
    if n <= 0:
        return 0.0
    return float(min(timings.backoff * 2 ** (n - 1), timings.backoff_cap))
