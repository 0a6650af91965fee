"""operations/run.py: the story of `up` and `down` — what the reporter hears and the outcome,
whatever happened — on the host sandbox (GitHub is the recording reporter). The full flows,
closed-meanwhile included, run in tests/e2e/test_github_flow.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from preview import lease, naming
from preview.config import ConfigError
from preview.kube.host import HostCluster
from preview.operations import run
from preview.pullrequest import PullRequest
from preview.sandbox.runner import Sandbox

pytestmark = pytest.mark.sandbox

PR = PullRequest(owner="octo-org", repo="story", number=5, head_sha="c" * 40, branch="b",
                 author="mona")
ENV = naming.environment_for("octo-org", "story", 5)


@dataclass
class Recorder:
    """The reporter: what the pull request would have been told, in order."""

    heard: list[tuple[str, Any]] = field(default_factory=list)
    closed_now: bool = False

    def building(self, pr: PullRequest, env: naming.Environment) -> None:
        self.heard.append(("building", env.name))

    def result(self, pr: PullRequest, env: naming.Environment, result: Any) -> None:
        self.heard.append(("result", result))

    def torn_down(self, pr: PullRequest, env: naming.Environment, result: Any,
                  reason: str = "") -> None:
        self.heard.append(("torn down", result))

    def refused(self, error: Any) -> None:
        self.heard.append(("refused", error))

    def closed(self, pr: PullRequest) -> bool:
        return self.closed_now


def backend(sandbox: Sandbox) -> run.HostBackend:
    holder = lease.Holder.of_process({}, "tester", "test-host", 1)
    return run.HostBackend(HostCluster.from_kubeconfig(Path(sandbox.kubeconfig)), holder)


def test_a_fork_is_refused_before_anything_and_told_so(sandbox: Sandbox) -> None:
    fork = PullRequest(**{**PR.__dict__, "head_repo": "mallory/story"})
    heard = Recorder()
    outcome = asyncio.run(run.up_environment(fork, ENV, run.UpRequest(event_name="pull_request"),
                                             backend(sandbox), heard, lambda line: None))
    assert isinstance(outcome.error, run.ForkRefused) and outcome.exit_code == 2
    assert [what for what, _ in heard.heard] == ["refused"]
    assert outcome.result.status == "failed" and "mallory/story" in \
        (outcome.result.diagnostics.summary if outcome.result.diagnostics else "")


def test_a_bad_preview_yaml_is_a_failed_result_told_and_exit_2(sandbox: Sandbox,
                                                               tmp_path: Path) -> None:
    (tmp_path / "preview.yaml").write_text("tll: 1d\n")
    heard = Recorder()
    outcome = asyncio.run(run.up_environment(
        PR, ENV, run.UpRequest(config_path=tmp_path / "preview.yaml"), backend(sandbox), heard,
        lambda line: None))
    assert isinstance(outcome.error, ConfigError) and outcome.exit_code == 2
    # Never "building": the lock was not taken; the comment shows the failure instead.
    [(what, result)] = heard.heard
    assert what == "result" and result.status == "failed"
    assert "unknown key 'tll'" in result.diagnostics.summary


def test_down_of_nothing_is_a_result_told_as_torn_down(sandbox: Sandbox) -> None:
    heard = Recorder()
    outcome = asyncio.run(run.down_environment(PR, ENV, backend(sandbox), heard,
                                               lambda line: None, timeout=30.0))
    assert outcome.error is None and outcome.exit_code == 0
    assert outcome.result is not None and not outcome.result.existed
    assert heard.heard == [("torn down", outcome.result)]


def test_an_exit_code_for_every_ending() -> None:
    failed = run.failed_result(ENV, PR.head_sha, OSError("boom"))
    ready = failed.__class__(**{**failed.__dict__, "status": "ready"})
    busy = lease.Busy("another run", "someone", "up")
    assert [run.UpOutcome(ready).exit_code, run.UpOutcome(failed).exit_code,
            run.UpOutcome(failed, error=busy).exit_code,
            run.UpOutcome(failed, error=OSError("x")).exit_code] == [0, 1, 4, 1]
    assert run.DownOutcome(None, busy).exit_code == 4
