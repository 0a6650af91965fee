"""How fast the sandbox kubelet moves pods along: sub-second by default, configurable.

Set `ServerConfig.kubelet` to a `KubeletTimings` to slow things down for a demo or to
speed up a benchmark. Real kubelets take seconds to pull and start and back off from
10 s to 5 min (`pkg/kubelet/kubelet.go`: `backOffPeriod`, `MaxContainerBackOff`); the
sandbox keeps the shape of those curves with a much smaller scale.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KubeletTimings:
    sandbox: float = 0.02  # pod sandbox + IP, then the first container step
    pull: float = 0.05  # pulling an image not yet on the node
    start: float = 0.02  # create + start a container
    init_run: float = 0.05  # how long an init container without `sleep` runs
    job_run: float = 0.5  # how long a Never/OnFailure container without `sleep`/`exit` runs
    crash_run: float = 0.1  # how long a container with `exit N` runs before exiting
    backoff: float = 0.2  # first crash-loop / image-pull back-off, doubled per failure
    backoff_cap: float = 2.0  # the sandbox's MaxContainerBackOff
    kill: float = 0.02  # stopping containers of a deleted pod
    probe_scale: float = 1.0  # multiplies readinessProbe initialDelaySeconds/periodSeconds
    log_interval: float = 5.0  # a simulated container logs a heartbeat this often
