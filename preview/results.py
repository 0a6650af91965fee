"""What the operations report: plain data the CLI prints and the GitHub layer renders.

No I/O and no logic here, so `github/` and `gc` can import it without importing operations.
Text that comes from a pull request (pod names, event messages, logs) stays plain data; the
layer that renders it (CLI, GitHub comment) escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PodProblem:
    """One failing container (or an unschedulable pod, `container` ""): what went wrong."""

    pod: str
    container: str
    reason: str  # ImagePullBackOff, CrashLoopBackOff, Unschedulable, …
    message: str
    events: tuple[str, ...]  # "Warning Failed: Error: ImagePullBackOff", oldest first
    logs: tuple[str, ...]  # the last lines of the container's log (previous run when crashing)


@dataclass(frozen=True)
class Diagnostics:
    """Why a deploy failed: a short summary for people, the details as data."""

    summary: str
    pods: tuple[PodProblem, ...]
    helm_status: str


@dataclass(frozen=True)
class UpResult:
    """The outcome of `preview up`."""

    environment: str
    namespace: str
    vcluster: str
    url: str
    head_sha: str
    status: str  # "ready" | "failed"
    phases: dict[str, float]  # phase name -> seconds
    expires_at: str
    diagnostics: Diagnostics | None
    kubeconfig_hint: str


@dataclass(frozen=True)
class DownResult:
    """The outcome of `preview down`."""

    environment: str
    namespace: str
    existed: bool
    seconds: float
