"""What the operations report: plain data, no I/O.

`preview up` / `preview down` return these; the CLI renders them (text, `-o json`) and the
GitHub layer puts them in the PR comment. A service-layer module: `github/` and `gc` may
import it; nothing here imports the operations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PodProblem:
    """One failing pod of the user's release, as found in the virtual cluster."""

    pod: str
    container: str
    reason: str  # ImagePullBackOff, CrashLoopBackOff, Unschedulable, …
    message: str
    events: tuple[str, ...]  # the pod's Events, as text
    logs: tuple[str, ...]  # the container's last log lines


@dataclass(frozen=True)
class Diagnostics:
    """Why a deploy failed: a short readable summary plus the data behind it."""

    summary: str
    pods: tuple[PodProblem, ...]
    helm_status: str


@dataclass(frozen=True)
class UpResult:
    """The outcome of `preview up`."""

    environment: str  # pr-<n>
    namespace: str  # host namespace
    vcluster: str
    url: str
    head_sha: str
    status: str  # "ready" | "failed"
    phases: dict[str, float]  # phase name -> seconds
    expires_at: str  # RFC 3339
    diagnostics: Diagnostics | None
    kubeconfig_hint: str  # the command that gives a kubeconfig for the virtual cluster


@dataclass(frozen=True)
class DownResult:
    """The outcome of `preview down`."""

    environment: str
    namespace: str
    existed: bool
    seconds: float
