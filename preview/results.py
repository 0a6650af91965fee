"""What `up` and `down` report: plain data that the CLI, the GitHub layer and `gc` render.

No I/O and no logic here: operations fill these, services (`github/`, `gc`) read them, so a
service never needs to import an operation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PodProblem:
    """One container that keeps the environment from becoming ready, with the evidence."""

    pod: str
    container: str
    reason: str  # e.g. ImagePullBackOff, CrashLoopBackOff, OOMKilled
    message: str
    events: tuple[str, ...]  # event messages about the pod, oldest first
    logs: tuple[str, ...]  # last log lines of the container


@dataclass(frozen=True)
class Diagnostics:
    """Why a deploy failed: a short text of each distinct problem (`summary`), the failing
    pods and helm's own status, and `headline`, one sentence under 200 characters that a
    person reads first (the first failing pod and its reason)."""

    summary: str
    pods: tuple[PodProblem, ...]
    helm_status: str
    headline: str = ""

    @property
    def sentence(self) -> str:
        """The headline, or the summary's first line for diagnostics made without one."""
        text = self.headline or (self.summary.strip().splitlines() or [""])[0]
        return text if len(text) < 200 else text[:198] + "…"


@dataclass(frozen=True)
class UpResult:
    """The outcome of `preview up` for one environment."""

    environment: str  # pr-<n>
    namespace: str  # host namespace
    vcluster: str
    url: str
    head_sha: str
    status: str  # "ready" | "failed"
    phases: dict[str, float]  # phase name -> seconds, in execution order
    expires_at: str  # RFC 3339
    diagnostics: Diagnostics | None
    kubeconfig_hint: str  # the command that gets a kubeconfig for this environment
    waited_for: str = ""  # the run that held the environment's lock first, if any
    other_urls: tuple[str, ...] = ()  # the other Ingress hosts' URLs, when the deploy saw them
    cost: str = ""  # "1.23 USD so far (0.41 USD a day)"; "" when the policy has no rates


@dataclass(frozen=True)
class DownResult:
    """The outcome of `preview down` for one environment."""

    environment: str
    namespace: str
    existed: bool
    seconds: float
    waited_for: str = ""  # the run that held the environment's lock first, if any


def up_result(data: dict[str, object]) -> UpResult:
    """An UpResult from its JSON form (what `preview serve` answers) (pure)."""
    raw = dict(data)
    diagnostics = raw.pop("diagnostics", None)
    if isinstance(diagnostics, dict):
        pods = tuple(PodProblem(**{**p, "events": tuple(p.get("events") or ()),
                                   "logs": tuple(p.get("logs") or ())})
                     for p in diagnostics.get("pods") or ())
        diagnostics = Diagnostics(str(diagnostics.get("summary", "")), pods,
                                  str(diagnostics.get("helm_status", "")),
                                  str(diagnostics.get("headline", "")))
    return UpResult(**raw, diagnostics=diagnostics)  # type: ignore[arg-type]


def down_result(data: dict[str, object]) -> DownResult:
    """A DownResult from its JSON form (pure)."""
    return DownResult(**data)  # type: ignore[arg-type]
