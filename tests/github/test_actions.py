"""Actions plumbing as a runner reads it: outputs and summary files, commands on stdout."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from preview.github import GitHubSession
from preview.github.actions import (
    Actions,
    command,
    escape_data,
    escape_property,
    mask_lines,
    output_block,
)
from preview.github.comments import marker, sections
from tests.fakegithub import FakeGitHub
from tests.github.conftest import (
    ACTIONS_TOKEN,
    PR,
    PR_NUMBER,
    REPO,
    Env,
    failed_result,
    ready_result,
)

KUBECONFIG = "apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: s3cr3t-token-value\n"


def read_outputs(path: Path) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT the way the runner does (`name=value` or `name<<DELIM` blocks)."""
    values: dict[str, str] = {}
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1:end])
            i = end + 1
        elif line:
            name, value = line.split("=", 1)
            values[name] = value
            i += 1
        else:
            i += 1
    return values


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a: b, c\n") == "a%3A b%2C c%0A"
    assert command("error", "pod failed:\nImagePullBackOff", title="Deploy: pr-12") == (
        "::error title=Deploy%3A pr-12::pod failed:%0AImagePullBackOff")
    assert command("warning", "plain") == "::warning::plain"


def test_every_line_of_a_secret_is_masked() -> None:
    assert mask_lines("line one\n  token: abc%\n\n") == [
        "::add-mask::line one", "::add-mask::token: abc%25"]


def test_an_output_value_cannot_inject_another_output(tmp_path: Path) -> None:
    path = tmp_path / "output"
    evil = "x\nEOF\nstatus<<EOF\nready\nEOF"
    Actions(io.StringIO(), True, output_path=path).set_outputs({"url": evil, "status": "failed"})
    assert read_outputs(path) == {"url": evil, "status": "failed"}


def test_output_names_are_validated() -> None:
    with pytest.raises(ValueError):
        output_block("bad name", "v")
    with pytest.raises(ValueError):
        output_block("ok", "contains D", delimiter="D")


def test_commands_are_written_only_in_actions() -> None:
    out = io.StringIO()
    local = Actions(out, enabled=False)
    local.mask("secret")
    with local.group("deploy"):
        local.warning("w")
    assert out.getvalue() == ""

    ci = Actions(out, enabled=True)
    with ci.group("Install the virtual cluster"):
        ci.notice("hello")
    assert out.getvalue().splitlines() == [
        "::group::Install the virtual cluster", "::notice::hello", "::endgroup::"]


def runner_env(fake: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "out").touch()
    (tmp_path / "summary").touch()
    return {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "out"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}


def test_a_ready_environment_sets_outputs_summary_and_masks(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], tmp_path: Path) -> None:
    stdout = io.StringIO()
    session = make_session(out=stdout, **runner_env(fake, tmp_path))

    assert session.report_result(PR(), Env(), ready_result(), kubeconfig=KUBECONFIG) == []

    assert read_outputs(tmp_path / "out") == {
        "url": "https://pr-12-app.preview.example.com", "namespace": Env().namespace,
        "vcluster": "vc", "kubeconfig": KUBECONFIG,
        "status": "ready"}
    [comment] = fake.comments(REPO, PR_NUMBER)
    # The summary shows the environment's section of the comment.
    [section] = sections(comment["body"], marker(REPO, PR_NUMBER)).values()
    assert (tmp_path / "summary").read_text() == section + "\n"
    commands = stdout.getvalue().splitlines()
    assert f"::add-mask::{ACTIONS_TOKEN}" in commands
    assert "::add-mask::token: s3cr3t-token-value" in commands
    assert commands.index(f"::add-mask::{ACTIONS_TOKEN}") == 0  # before anything else
    assert "s3cr3t" not in "".join(c for c in commands if not c.startswith("::add-mask::"))


def test_a_failed_environment_is_an_error_annotation(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], tmp_path: Path) -> None:
    stdout = io.StringIO()
    session = make_session(out=stdout, **runner_env(fake, tmp_path))

    session.report_result(PR(), Env(), failed_result())

    assert ("::error title=Preview environment pr-12 failed::Deployment app is not ready: "
            "1 pod failing") in stdout.getvalue().splitlines()
    assert read_outputs(tmp_path / "out")["status"] == "failed"
    assert "ImagePullBackOff" in (tmp_path / "summary").read_text()


def test_outputs_by_default_and_after_teardown(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], tmp_path: Path) -> None:
    session = make_session(**runner_env(fake, tmp_path))
    session.report_result(PR(), Env(), ready_result())
    # Not credentials: the command that prints a kubeconfig (docs/action.md).
    assert read_outputs(tmp_path / "out")["kubeconfig"] == (
        "preview kubeconfig --repo octo/app --pr 12")

    (tmp_path / "out").write_text("")
    session.report_torn_down(PR(), Env())
    assert read_outputs(tmp_path / "out") == {
        "namespace": Env().namespace, "vcluster": "vc", "status": "torn-down"}
