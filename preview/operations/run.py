"""`up` and `down` with their whole story, one call each: what the reporter is told, and every
ending as an outcome (the CLI renders it; nothing here raises past the caller).

`up_environment`: a fork's pull request refused first (unless allowed); preview.yaml and the
policy loaded; the environment built by the backend (the host cluster, or the platform's API);
"building" told once this run holds the environment; the result told whatever happened — an
exception becomes a failed result, so the comment never stays "building"; and when the pull
request was closed meanwhile, its teardown done by this run (its `down` may have run while
the deploy was still going). `down_environment`: the teardown, then "torn down" told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from preview import config, lease, policy, pullrequest
from preview.config_overrides import ConfigOverrides
from preview.errors import BadInput, PreviewError
from preview.kube.host import HostCluster
from preview.naming import Environment
from preview.operations import down, exclusive, up
from preview.operations.reporter import Reporter
from preview.pullrequest import PullRequest
from preview.results import Diagnostics, DownResult, UpResult
from preview.vcluster.model import Progress

T = TypeVar("T")
TEARDOWN_TIMEOUT = 300.0  # the teardown of a pull request closed while it deployed


class Backend(Protocol):
    """Where environments are built: the host cluster (`HostBackend`) or the platform's API
    (`preview.serve.client.ApiBackend`)."""

    async def up(self, pr: PullRequest, env: Environment, loaded: config.PreviewConfig,
                 rules: policy.Policy, progress: Progress, on_locked: Callable[[], None],
                 phase_started: Callable[[str], None] | None) -> UpResult: ...

    async def down(self, env: Environment, progress: Progress, timeout: float,
                   wait: bool) -> DownResult: ...


@dataclass(frozen=True)
class HostBackend:
    """The host cluster, through its kubeconfig; each run holds the environment's Lease as
    `holder`: `up` waits for another run unless `no_wait`; `down` as its caller says."""

    host: HostCluster
    holder: lease.Holder
    no_wait: bool = False

    async def up(self, pr: PullRequest, env: Environment, loaded: config.PreviewConfig,
                 rules: policy.Policy, progress: Progress, on_locked: Callable[[], None],
                 phase_started: Callable[[str], None] | None) -> UpResult:
        rendered = _bad_input(lambda: config.render(loaded, pr, env, rules))
        timeouts = rendered.timeouts
        # Another run may need all of its phases: wait as long as ours may take.
        lock = exclusive.Lock(self.holder, wait=not self.no_wait,
                              timeout=timeouts.vcluster + timeouts.deploy + timeouts.health)
        return await up.up(self.host, pr, rendered, env, progress, phase_started=phase_started,
                           lock=lock, on_locked=on_locked)

    async def down(self, env: Environment, progress: Progress, timeout: float,
                   wait: bool) -> DownResult:
        # `wait` is the caller's: a pull request closed while it deployed is torn down by
        # the same run even with --no-wait, after any run that holds it now.
        lock = exclusive.Lock(self.holder, wait=wait, timeout=timeout)
        return await down.down(self.host, env, progress, timeout, lock=lock)


@dataclass(frozen=True)
class UpRequest:
    """What `preview up` was asked: preview.yaml and its flags, the policy, and whether a
    fork's pull request may be deployed on this event."""

    config_path: Path | None = None
    overrides: ConfigOverrides = field(default_factory=ConfigOverrides)
    policy_path: Path | None = None
    allow_forks: bool = False
    event_name: str = ""


@dataclass(frozen=True)
class UpOutcome:
    """How `up` ended: its result (a failed one when it raised), the teardown when the pull
    request was closed meanwhile, and the error that stopped it, if any."""

    result: UpResult
    down: DownResult | None = None  # closed meanwhile: torn down by this run
    error: Exception | None = None  # refused, bad input, busy, the cluster…

    @property
    def exit_code(self) -> int:
        """0 ready (or torn down after a close), 1 failed, else the error's (2 bad input,
        4 busy…)."""
        if self.error is not None:
            return self.error.exit_code if isinstance(self.error, PreviewError) else 1
        return 0 if self.down is not None or self.result.status == "ready" else 1


@dataclass(frozen=True)
class DownOutcome:
    """How `down` ended: its result, or the error that stopped it (3 something left, 4 busy)."""

    result: DownResult | None
    error: Exception | None = None

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return self.error.exit_code if isinstance(self.error, PreviewError) else 1
        return 0


async def up_environment(pr: PullRequest, env: Environment, request: UpRequest,
                         backend: Backend, reporter: Reporter, progress: Progress,
                         phase_started: Callable[[str], None] | None = None) -> UpOutcome:
    """The environment of `pr` created or upgraded, the story told to `reporter`."""
    if pullrequest.refuses_fork(pr.is_fork, request.event_name, request.allow_forks):
        refusal = fork_refusal(pr.number, pr.head_repo, request.event_name)
        reporter.refused(refusal)
        return UpOutcome(failed_result(env, pr.head_sha, refusal), error=refusal)
    locked: list[bool] = []

    def on_locked() -> None:
        # Only once this run holds the environment: a run that waits or yields must not
        # say "being built" over the comment of the run that works.
        locked.append(True)
        reporter.building(pr, env)

    try:
        rules = policy.load(request.policy_path)
        loaded = _bad_input(lambda: config.load(request.config_path, request.overrides,
                                                budget=config.template_budget(rules)))
        result = await backend.up(pr, env, loaded, rules, progress, on_locked, phase_started)
    except lease.Busy as e:
        return UpOutcome(failed_result(env, pr.head_sha, e), error=e)
    except Exception as e:  # every ending is an outcome; the CLI says it and exits
        failed = failed_result(env, pr.head_sha, e)
        if locked or isinstance(e, BadInput):
            reporter.result(pr, env, failed)  # the comment must not stay "being built"
        return UpOutcome(failed, error=e)
    if reporter.closed(pr):
        progress(f"pull request #{pr.number} was closed meanwhile: tearing {env.name} down")
        gone = await down_environment(
            pr, env, backend, reporter, progress, TEARDOWN_TIMEOUT, wait=True,
            reason="the pull request was closed while it was being deployed; reopening it "
                   "brings the environment back")
        return UpOutcome(result, down=gone.result, error=gone.error)
    reporter.result(pr, env, result)
    return UpOutcome(result)


async def down_environment(pr: PullRequest, env: Environment, backend: Backend,
                           reporter: Reporter, progress: Progress, timeout: float,
                           wait: bool = True, reason: str = "") -> DownOutcome:
    """The environment of `pr` torn down and verified gone, the story told to `reporter`
    (with `reason`: why it was removed and how to bring it back)."""
    try:
        result = await backend.down(env, progress, timeout, wait)
    except Exception as e:  # Incomplete (3), Busy (4), the cluster…
        return DownOutcome(None, e)
    reporter.torn_down(pr, env, result, reason)
    return DownOutcome(result)


def failed_result(env: Environment, head_sha: str, error: Exception) -> UpResult:
    """An `up` that raised, as a failed result (pure)."""
    summary = str(error) if isinstance(error, PreviewError) else \
        f"{type(error).__name__}: {error}"
    return UpResult(environment=env.name, namespace=env.namespace, vcluster=env.vcluster,
                    url="", head_sha=head_sha, status="failed", phases={}, expires_at="",
                    diagnostics=Diagnostics(summary=summary, pods=(), helm_status=""),
                    kubeconfig_hint="")


class Refused(BadInput):
    """A run the workflow may not act on (a fork, a commenter without write permission).
    The action ends it neutral, with `status=refused`; `preview up` exits 2."""


class ForkRefused(Refused):
    """A pull request from a fork, refused before anything touched the cluster."""

def fork_refusal(number: int, head_repo: str, event_name: str = "") -> ForkRefused:
    """Why a fork's pull request is not deployed, and what a maintainer can do (pure)."""
    if event_name not in pullrequest.WITHOUT_SECRETS:
        return ForkRefused(
            f"pull request #{number} comes from the fork {head_repo} and this run is on the "
            f"{event_name} event, which hands the base repository's secrets to the "
            "fork's chart, values and images: it is never deployed, even with allow-forks",
            "a maintainer can review the change and push its branch to the base "
            "repository, whose pull requests are previewed; keep the preview workflow on "
            "pull_request (docs/action.md, 'Forks and pull_request_target')")
    return ForkRefused(
        f"pull request #{number} comes from the fork {head_repo}: its chart, values and "
        f"images would run with the host cluster's credentials, so it is not deployed",
        "a maintainer can review the change and push its branch to the base repository, "
        "whose pull requests are previewed; or pass --allow-forks (action input "
        "allow-forks: true) after reading docs/action.md")


def _bad_input(fn: Callable[[], T]) -> T:
    """A ValueError (a name GitHub could not have) is the user's input being wrong."""
    try:
        return fn()
    except ValueError as e:
        raise BadInput(str(e)) from e
