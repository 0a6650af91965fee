"""The action's triggers end to end: `preview action` driven by synthetic event payloads
(labels, drafts, `/preview` comments, `workflow_dispatch` with `pr-number`, a fork) against the
host sandbox and the fake GitHub over HTTP, which answers the permission, reaction and pull
request calls as GitHub does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from preview import naming
from preview.sandbox.runner import Sandbox
from tests.e2e.runner import ROOT, Step, pull_request_event
from tests.fakegithub import FakeGitHub

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
CONFIG = "examples/app/preview.yaml"
TOKEN = "ghs_actions_token"
SHA = "3c4d5e6f" * 5
COMMENTS = "/repos/{owner}/{repo}/issues/{number}/comments"


def action(sb: Sandbox, fake: FakeGitHub, step: Step, repo: str, event_name: str = "pull_request",
           **inputs: str) -> subprocess.CompletedProcess[str]:
    """`preview action` as action.yml's last step runs it, for any event."""
    environ = step.environ(fake.url, repo, event_name=event_name)
    environ.update({"INPUT_KUBECONFIG": Path(sb.kubeconfig).read_text(),
                    "INPUT_GITHUB_TOKEN": TOKEN, "INPUT_CONFIG": CONFIG})
    environ.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    result = subprocess.run([sys.executable, "-m", "preview", "action"], env=environ, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def event(tmp_path: Path, name: str, payload: dict[str, Any]) -> Step:
    return Step.create(tmp_path / name, payload)


def pr_event(action_name: str, repo: str, number: int, *, labels: tuple[str, ...] = (),
             draft: bool = False, label: str | None = None, **kw: Any) -> dict[str, Any]:
    payload = pull_request_event(action_name, repo, number, SHA, **kw)
    payload["pull_request"]["draft"] = draft
    payload["pull_request"]["labels"] = [{"name": n} for n in labels]
    if label is not None:
        payload["label"] = {"name": label}
    return payload


def comment_event(repo: str, number: int, body: str, login: str, comment_id: int
                  ) -> dict[str, Any]:
    owner, name = repo.split("/")
    return {"action": "created",
            "issue": {"number": number, "title": "Add login", "state": "open",
                      "pull_request": {"url": f"https://api.github.example/repos/{repo}/pulls/"
                                              f"{number}"}},
            "comment": {"id": comment_id, "body": body, "user": {"login": login},
                        # Never trusted: GitHub is asked for the commenter's permission.
                        "author_association": "OWNER"},
            "repository": {"full_name": repo, "name": name, "owner": {"login": owner}}}


def exists(core: client.CoreV1Api, namespace: str) -> bool:
    return any(ns.metadata.name == namespace for ns in core.list_namespace().items)


@contextmanager
def torn_down_after(sb: Sandbox, repo: str, number: int) -> Iterator[None]:
    try:
        yield
    finally:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
        subprocess.run([sys.executable, "-m", "preview", "down", "--repo", repo, "--pr",
                        str(number), "--kubeconfig", str(sb.kubeconfig)], env=environ,
                       capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(600)  # six runs of the action, one of them a deploy
def test_trigger_label_brings_up_on_labeled_and_down_on_unlabeled(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    repo, number = "octo/labels", 31
    env = naming.environment_for("octo", "labels", number)
    with FakeGitHub() as fake, torn_down_after(sandbox, repo, number):
        fake.add_token(TOKEN)
        fake.add_repo(repo)
        fake.add_pull(repo, number, head_sha=SHA)
        # Opened without the label: nothing is created, a notice says how to get one.
        step = event(tmp_path, "opened", pr_event("opened", repo, number))
        result = action(sandbox, fake, step, repo, trigger="label")
        assert result.returncode == 0, explain(result)
        assert "::notice title=preview-vcluster::pull request #31 does not carry the label " \
               "'preview'" in result.stdout
        assert step.outputs() == {"status": "skipped"}
        assert not exists(core, env.namespace) and fake.comments(repo, number) == []

        # Another label: still nothing.
        step = event(tmp_path, "bug", pr_event("labeled", repo, number, labels=("bug",),
                                               label="bug"))
        assert action(sandbox, fake, step, repo, trigger="label").returncode == 0
        assert step.outputs() == {"status": "skipped"}

        # The label: up.
        fake.set_labels(repo, number, "bug", "preview")
        step = event(tmp_path, "labeled", pr_event("labeled", repo, number,
                                                   labels=("bug", "preview"), label="preview"))
        result = action(sandbox, fake, step, repo, trigger="label")
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "ready"
        assert exists(core, env.namespace)
        [comment] = fake.comments(repo, number)
        assert "is ready" in comment["body"]

        # Unlabelled: down, and the comment says so.
        fake.set_labels(repo, number, "bug")
        step = event(tmp_path, "unlabeled", pr_event("unlabeled", repo, number, labels=("bug",),
                                                     label="preview"))
        result = action(sandbox, fake, step, repo, trigger="label")
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "torn-down"
        assert not exists(core, env.namespace)
        [comment] = fake.comments(repo, number)
        assert "was removed" in comment["body"]
        assert "Removed because the label preview was removed" in comment["body"]

        # A push while unlabelled redeploys nothing.
        step = event(tmp_path, "push", pr_event("synchronize", repo, number, labels=("bug",)))
        assert action(sandbox, fake, step, repo, trigger="label").returncode == 0
        assert step.outputs() == {"status": "skipped"} and not exists(core, env.namespace)


@pytest.mark.timeout(900)  # eight runs of the action, two of them deploys
def test_drafts_comments_and_dispatch(sandbox: Sandbox, api_client: client.ApiClient,
                                      tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    repo, number = "octo/drafts", 32
    env = naming.environment_for("octo", "drafts", number)
    with FakeGitHub() as fake, torn_down_after(sandbox, repo, number):
        fake.add_token(TOKEN)
        fake.add_repo(repo)
        fake.add_pull(repo, number, head_sha=SHA, draft=True, branch="feature/login")
        fake.set_permission(repo, "maintainer", "write")
        fake.set_permission(repo, "visitor", "read")
        fake.add_comment(repo, number, "/preview", "visitor")
        fake.add_comment(repo, number, "/preview", "maintainer")
        visitor_comment, maintainer_comment = [c["id"] for c in fake.comments(repo, number)]

        # A draft is skipped.
        step = event(tmp_path, "draft", pr_event("opened", repo, number, draft=True))
        result = action(sandbox, fake, step, repo)
        assert result.returncode == 0, explain(result)
        assert "is a draft" in result.stdout and step.outputs() == {"status": "skipped"}
        assert not exists(core, env.namespace)

        # /preview from someone with read permission (the payload's OWNER is not believed):
        # a reply, no reaction, nothing deployed, a neutral run.
        step = event(tmp_path, "read", comment_event(repo, number, "/preview", "visitor",
                                                     visitor_comment))
        result = action(sandbox, fake, step, repo, event_name="issue_comment")
        assert result.returncode == 0, explain(result)
        assert step.outputs() == {"status": "refused"}
        assert "::notice title=preview-vcluster refused this run::" in result.stdout
        assert fake.count("GET /repos/{owner}/{repo}/collaborators/{username}/permission") == 1
        reply = fake.comments(repo, number)[-1]
        assert reply["body"].startswith("@visitor `/preview` needs write permission on "
                                        "octo/drafts; yours is read.")
        assert fake.reactions(repo, visitor_comment) == []
        assert not exists(core, env.namespace)

        # /preview from a writer: a reaction, and the draft comes up (a person asked).
        step = event(tmp_path, "write", comment_event(repo, number, "/preview", "maintainer",
                                                      maintainer_comment))
        result = action(sandbox, fake, step, repo, event_name="issue_comment")
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "ready"
        assert [r["content"] for r in fake.reactions(repo, maintainer_comment)] == ["rocket"]
        assert exists(core, env.namespace)
        [deployment] = fake.deployments(repo)
        assert deployment["sha"] == SHA  # the head GitHub reported, not the default branch's
        sticky = [c for c in fake.comments(repo, number) if "is ready" in c["body"]]
        assert len(sticky) == 1 and "feature/login" in sticky[0]["body"]

        # Converted to a draft: down (the default), or kept.
        step = event(tmp_path, "keep", pr_event("converted_to_draft", repo, number, draft=True))
        result = action(sandbox, fake, step, repo, **{"converted-to-draft": "keep"})
        assert result.returncode == 0 and step.outputs() == {"status": "skipped"}
        assert exists(core, env.namespace)
        step = event(tmp_path, "converted", pr_event("converted_to_draft", repo, number,
                                                     draft=True))
        result = action(sandbox, fake, step, repo)
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "torn-down" and not exists(core, env.namespace)

        # workflow_dispatch with pr-number: the pull request is read from GitHub and deployed
        # (its payload names no pull request at all).
        fake.repos[repo].pulls[number]["draft"] = False
        step = event(tmp_path, "dispatch", {"inputs": {"pr": str(number)},
                                            "ref": "refs/heads/main"})
        result = action(sandbox, fake, step, repo, event_name="workflow_dispatch",
                        **{"pr-number": str(number)})
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "ready" and exists(core, env.namespace)
        assert fake.count("GET /repos/{owner}/{repo}/pulls/{number}") >= 1

        # /preview down from a writer: down.
        fake.add_comment(repo, number, "/preview down", "maintainer")
        down_comment = fake.comments(repo, number)[-1]["id"]
        step = event(tmp_path, "down", comment_event(repo, number, "/preview down", "maintainer",
                                                     down_comment))
        result = action(sandbox, fake, step, repo, event_name="issue_comment")
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "torn-down" and not exists(core, env.namespace)
        assert [r["content"] for r in fake.reactions(repo, down_comment)] == ["rocket"]


def test_ready_for_review_brings_a_draft_up(sandbox: Sandbox, api_client: client.ApiClient,
                                            tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    repo, number = "octo/ready", 33
    env = naming.environment_for("octo", "ready", number)
    with FakeGitHub() as fake, torn_down_after(sandbox, repo, number):
        fake.add_token(TOKEN)
        fake.add_repo(repo)
        fake.add_pull(repo, number, head_sha=SHA)
        step = event(tmp_path, "ready", pr_event("ready_for_review", repo, number))
        result = action(sandbox, fake, step, repo)
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "ready" and exists(core, env.namespace)


def test_a_fork_ends_neutral_and_the_comment_says_why(sandbox: Sandbox, tmp_path: Path) -> None:
    # A /preview on a fork's pull request runs with the base repository's secrets (unlike
    # pull_request): refused even from a maintainer, and the comment says what to do.
    repo, number = "octo/forks", 34
    with FakeGitHub() as fake:
        fake.add_token(TOKEN)
        fake.add_repo(repo)
        fake.add_pull(repo, number, head_sha=SHA, head_repo="mallory/forks")
        fake.set_permission(repo, "maintainer", "admin")
        fake.add_comment(repo, number, "/preview", "maintainer")
        [asked] = fake.comments(repo, number)
        step = event(tmp_path, "comment", comment_event(repo, number, "/preview", "maintainer",
                                                        asked["id"]))
        result = action(sandbox, fake, step, repo, event_name="issue_comment",
                        **{"allow-forks": "true"})
        assert result.returncode == 0, explain(result)
        assert step.outputs() == {"status": "refused"}
        assert "::notice title=preview-vcluster refused this run::pull request #34 comes from " \
               "the fork mallory/forks and this run is on the issue_comment event" in result.stdout
        sticky = fake.comments(repo, number)[-1]
        assert "gets no preview environment" in sticky["body"]
        assert "What a maintainer can do:" in sticky["body"]
        assert "push its branch to the base repository" in sticky["body"]
        assert fake.deployments(repo) == []
