"""preview/cli/reporting.py and the story of operations/run.py: the pure parts (the real
flow: tests/e2e/test_github_flow.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from preview import naming, pullrequest
from preview.cli.reporting import Reporter
from preview.errors import PreviewError
from preview.operations.run import failed_result, fork_refusal
from preview.results import DownResult
from tests.e2e.runner import Step, pull_request_event
from tests.fakegithub import FakeGitHub

ENV = naming.environment_for("octo", "shop", 7)


def test_an_exception_becomes_a_failed_result_with_its_message_and_hint() -> None:
    result = failed_result(ENV, "a" * 40, PreviewError("the cluster said no", "ask it nicely"))
    assert result.status == "failed" and result.namespace == ENV.namespace
    assert result.diagnostics is not None
    assert result.diagnostics.summary == "the cluster said no\nhint: ask it nicely"
    other = failed_result(ENV, "", OSError("boom")).diagnostics
    assert other is not None and other.summary == "OSError: boom"


def test_a_fork_refusal_names_the_fork_and_the_way_out() -> None:
    error = fork_refusal(7, "mallory/shop")
    assert "#7 comes from the fork mallory/shop" in error.message
    assert "--allow-forks" in (error.hint or "") and error.exit_code == 2


def test_down_reports_on_the_event_pull_request_when_it_is_this_environment(
        tmp_path: Path) -> None:
    step = Step.create(tmp_path, pull_request_event("closed", "octo/shop", 7, "b" * 40,
                                                    state="closed"))
    environ = step.environ("http://127.0.0.1:9", "octo/shop")
    pr = pullrequest.of_environment(None, None, environ)
    assert (pr.number, pr.head_sha, pr.branch) == (7, "b" * 40, "feature/login")
    other = pullrequest.of_environment("octo/shop", 8, environ)
    assert (other.number, other.head_sha, other.full_name) == (8, "", "octo/shop")


def test_no_token_and_no_actions_means_no_reporting(tmp_path: Path) -> None:
    assert Reporter.create({}, None, "text").session is None
    reporter = Reporter.create({"GITHUB_ACTIONS": "true"}, None, "json")
    assert reporter.session is not None and reporter.in_actions
    assert not reporter.closed(pullrequest.of_environment("octo/shop", 7, {}))  # cannot tell: not closed


def test_a_refusal_is_an_annotation_and_the_refused_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    step = Step.create(tmp_path, {})
    reporter = Reporter.create(step.environ("http://127.0.0.1:9", "octo/shop"), None, "text")
    reporter.refused(fork_refusal(7, "mallory/shop"))
    assert step.outputs() == {"status": "refused"}
    assert capsys.readouterr().out.startswith(
        "::error title=preview-vcluster refused this run::pull request #7 comes from the fork "
        "mallory/shop")


def test_nothing_torn_down_writes_no_comment_only_the_outputs(tmp_path: Path) -> None:
    step = Step.create(tmp_path, {})
    with FakeGitHub() as fake:
        fake.add_token("a-token")
        fake.add_repo("octo/shop")
        reporter = Reporter.create(step.environ(fake.url, "octo/shop"), "a-token", "text")
        reporter.torn_down(pullrequest.of_environment("octo/shop", 7, {}), ENV,
                           DownResult(ENV.name, ENV.namespace, existed=False, seconds=0.1))
        assert fake.log == []
    assert step.outputs() == {"namespace": ENV.namespace, "vcluster": ENV.vcluster,
                              "status": "torn-down"}


def test_each_phase_of_up_is_a_group_of_its_own_in_actions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    step = Step.create(tmp_path, {})
    reporter = Reporter.create(step.environ("http://127.0.0.1:9", "octo/shop"), None, "text")
    with reporter.phases("preview up pr-7") as started:
        started("check")
        print("checking")
        started("deploy")
    assert capsys.readouterr().out == (
        "::group::preview up pr-7: check\nchecking\n::endgroup::\n"
        "::group::preview up pr-7: deploy\n::endgroup::\n")
    with Reporter.create({}, None, "text").phases("outside Actions") as started:
        started("check")
    assert capsys.readouterr().out == ""
