"""Container logs as the kubelet serves them: which container and run, which lines, what format.

Pure. Options and error texts follow the API server's `PodLogOptions` handling
(`pkg/registry/core/pod/strategy.go` `LogLocation`) and the kubelet's
(`pkg/kubelet/kubelet_pods.go` `validateContainerLogStatus`); all errors are 400s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preview.sandbox.kubelet.lifecycle import Container, PodState, Run
from preview.sandbox.kubelet.timings import KubeletTimings
from preview.sandbox.machinery.objects import parse_time
from preview.sandbox.machinery.status import StatusError, bad_request

LogLine = tuple[float, str]
_PULL_STATES = ("pulling", "pull-failed", "pull-backoff")


@dataclass(frozen=True)
class LogOptions:
    container: str = ""
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since: float | None = None  # epoch seconds: lines at or after
    limit_bytes: int | None = None


def parse_options(query: Mapping[str, str], now: float) -> LogOptions:
    def flag(name: str) -> bool:
        return query.get(name, "").lower() in ("true", "1")

    def number(name: str) -> int | None:
        raw = query.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"{name}: Invalid value: \"{raw}\": must be an integer") from None
        if value < (0 if name == "tailLines" else 1):
            raise StatusError(422, "Invalid", f'PodLogOptions "" is invalid: {name}: Invalid '
                           f"value: {value}: must be greater than "
                           f"{'or equal to 0' if name == 'tailLines' else '0'}")
        return value

    since_seconds = number("sinceSeconds")
    since: float | None = now - since_seconds if since_seconds is not None else None
    if query.get("sinceTime"):
        if since is not None:
            raise StatusError(422, "Invalid", 'PodLogOptions "" is invalid: sinceSeconds: '
                           "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be "
                           "specified")
        try:
            since = parse_time(query["sinceTime"]).timestamp()
        except ValueError:
            raise bad_request(f"sinceTime: Invalid value: \"{query['sinceTime']}\"") from None
    return LogOptions(query.get("container", ""), flag("follow"), flag("previous"),
                      flag("timestamps"), number("tailLines"), since, number("limitBytes"))


def choose_container(pod: dict[str, Any], requested: str) -> str:
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    containers = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        message = (f"a container name must be specified for pod {name}, "
                   f"choose one of: [{' '.join(containers)}]")
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise bad_request(message)
    if requested not in containers + inits:
        raise bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def choose_run(state: PodState, container: Container, previous: bool) -> Run:
    """The container instance whose logs are asked for, or the kubelet's 400."""
    pod = state.name
    if previous:
        if len(container.runs) < 2 and not (container.runs and container.state != "running"):
            raise bad_request(f'previous terminated container "{container.name}" in pod '
                              f'"{pod}" not found')
        return container.runs[-2] if container.state == "running" else container.runs[-1]
    run = container.current
    if run is None:
        if container.state in _PULL_STATES and container.behaviour.pull_fails:
            why = "trying and failing to pull image"
        elif not container.init and not all(i.done() for i in state.inits):
            why = "PodInitializing"
        else:
            why = "ContainerCreating"
        raise bad_request(f'container "{container.name}" in pod "{pod}" is waiting to start: '
                          f"{why}")
    return run


def simulated_lines(container: Container, run: Run, now: float,
                    timings: KubeletTimings) -> list[LogLine]:
    """What a simulated container printed: its start-up lines, a heartbeat, its exit."""
    end = run.finished if run.finished is not None else now
    beats: list[LogLine] = []
    t = run.started + timings.log_interval
    while t <= end and len(beats) < 10000:
        uptime = t - run.started
        beats.append((t, f"[sandbox] {container.name} is running (uptime {uptime:.0f}s)"))
        t += timings.log_interval
    return sorted(run.logs + beats, key=lambda line: line[0])


def select(lines: list[LogLine], opts: LogOptions) -> list[LogLine]:
    if opts.since is not None:
        since = opts.since
        lines = [line for line in lines if line[0] >= since]
    if opts.tail_lines is not None:
        lines = lines[-opts.tail_lines:] if opts.tail_lines else []
    return lines


def render(lines: list[LogLine], timestamps: bool) -> bytes:
    return b"".join(render_line(line, timestamps) for line in lines)


def render_line(line: LogLine, timestamps: bool) -> bytes:
    text = line[1] + "\n"
    if timestamps:
        when = dt.datetime.fromtimestamp(line[0], dt.UTC)
        text = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z " + text  # RFC 3339 nano
    return text.encode()
