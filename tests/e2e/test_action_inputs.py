"""The action's own inputs through `preview action` (the fake GitHub; the sandbox where a
command runs): input errors are `::error` annotations with a title, a base64 kubeconfig is
decoded, and a broken kubeconfig or policy is the platform's configuration error (exit 2, no
temporary paths), about which the comment says only that the platform team has been told."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from preview.sandbox.runner import Sandbox
from tests.e2e.test_triggers import SHA, TOKEN, action, event, explain, pr_event
from tests.fakegithub import FakeGitHub

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
MISCONFIGURED = "The preview system is misconfigured; the platform team has been told in the " \
                "run log"


def fake_for(repo: str, number: int) -> FakeGitHub:
    fake = FakeGitHub()
    fake.add_token(TOKEN)
    fake.add_repo(repo)
    fake.add_pull(repo, number, head_sha=SHA)
    return fake


def test_an_input_error_is_an_error_annotation_with_a_title(sandbox: Sandbox,
                                                            tmp_path: Path) -> None:
    repo = "octo/inputs"
    with fake_for(repo, 51) as fake:
        step = event(tmp_path, "bad", pr_event("opened", repo, 51))
        result = action(sandbox, fake, step, repo, command="deploy")
        assert result.returncode == 2, explain(result)
        assert "::error title=preview-vcluster input error::input command: 'deploy' is not a " \
               "command; use one of up, down, gc" in result.stdout


def test_a_base64_kubeconfig_is_decoded(sandbox: Sandbox, tmp_path: Path) -> None:
    repo = "octo/inputs"
    encoded = base64.b64encode(Path(sandbox.kubeconfig).read_bytes()).decode()
    with fake_for(repo, 52) as fake:
        # Closed: `down` reaches the cluster with the decoded kubeconfig (nothing to remove).
        step = event(tmp_path, "closed", pr_event("closed", repo, 52, state="closed"))
        result = action(sandbox, fake, step, repo, kubeconfig=encoded)
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "torn-down"
        assert f"::add-mask::{encoded}" in result.stdout  # the secret as given, masked too
        assert list((step.directory / "runner-temp").iterdir()) == []


@pytest.mark.parametrize(("inputs", "words"), [
    ({"kubeconfig": base64.b64encode(b"hello: world\n" * 3).decode()},
     "input kubeconfig: it is base64-encoded but what it encodes is not a kubeconfig"),
    ({"kubeconfig": "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"},
     "input kubeconfig: it has no current-context"),
    ({"policy": "caps: {ttl: forever}\n"}, "input policy"),
], ids=["base64-not-a-kubeconfig", "no-current-context", "policy"])
def test_a_platform_configuration_error_names_the_input_and_the_comment_does_not_blame_the_pr(
        sandbox: Sandbox, tmp_path: Path, inputs: dict[str, str], words: str) -> None:
    repo, number = "octo/inputs", 53
    with fake_for(repo, number) as fake:
        step = event(tmp_path, "opened", pr_event("opened", repo, number))
        result = action(sandbox, fake, step, repo, **inputs)
        assert result.returncode == 2, explain(result)
        assert "::error title=preview-vcluster platform configuration error::" in result.stdout
        assert words in result.stdout
        output = result.stdout + result.stderr
        assert "preview-kubeconfig-" not in output and "preview-policy-" not in output
        assert str(step.directory) not in output
        assert step.outputs()["status"] == "failed"
        [comment] = fake.comments(repo, number)
        assert MISCONFIGURED in comment["body"] and "failed to deploy" not in comment["body"]
        assert fake.deployments(repo) == []  # nothing was started
