"""A collected environment is told to GitHub through preview.github (the fake over HTTP):
its deployments become inactive and its sticky comment says it was removed."""

from __future__ import annotations

import asyncio
import io

from preview import naming, triggers
from preview.gc.model import DELETE, Decision, HostEnvironment
from preview.github import GitHubSession, markdown
from preview.github.client import RetryPolicy
from preview.operations.gc import github_notifier, removal_reason
from tests.fakegithub import FakeGitHub
from tests.github.conftest import PR as Pull

REPO, PR, SHA, TOKEN = "octo/app", 12, "0123456789abcdef0123456789abcdef01234567", "ghp_t"


def decision(rule: str = "pr-closed", repo: str = REPO, pr_state: str = "closed") -> Decision:
    env = naming.environment_for("octo", "app", PR)
    record = naming.EnvironmentRecord(
        namespace=env.namespace, repo=repo, pr=PR, environment=env.name, vcluster=env.vcluster,
        head_sha=SHA, url="", run_url="", created_at="2026-11-01T00:00:00Z", expires_at="",
        terminating=False, labels={})
    return Decision(HostEnvironment(record, "uid", "ready"), DELETE, rule, "closed", 3600,
                    pr_state)


def session(fake: FakeGitHub) -> GitHubSession:
    made = GitHubSession.from_env({"GITHUB_API_URL": fake.url}, TOKEN, out=io.StringIO(),
                                  policy=RetryPolicy(sleep=lambda s: None), pace_writes=False)
    assert made is not None
    return made


def test_deployments_inactive_and_comment_removed() -> None:
    with FakeGitHub() as fake:
        fake.add_token(TOKEN, login="bot")
        fake.add_repo(REPO)
        fake.add_pull(REPO, PR, head_sha=SHA, state="closed")
        gh = session(fake)
        env = naming.environment_for("octo", "app", PR)

        assert gh.report_building(Pull(), env) == []  # what `up` left behind
        before = len(fake.log)
        warnings = asyncio.run(github_notifier(gh)(decision()))
        assert warnings == []
        # Find + update + check the comment, list deployments, read + write each one's status.
        assert [f"{e.method} {e.route.rsplit('/', 1)[-1]}" for e in fake.log[before:]] == [
            "GET comments", "PATCH {id}", "GET comments", "GET deployments", "GET statuses",
            "POST statuses"]
        (comment,) = fake.comments(REPO, PR)
        assert "was removed" in comment["body"]
        assert "Removed because the pull request was closed; reopening it brings the " \
               "environment back." in comment["body"]
        (deployment,) = fake.deployments(REPO)
        assert deployment["_statuses"][-1]["state"] == "inactive"


def test_a_gone_repository_is_not_told() -> None:
    with FakeGitHub() as fake:
        fake.add_token(TOKEN, login="bot")
        assert asyncio.run(github_notifier(session(fake))(decision("repo-gone"))) == []
        assert fake.log == []


def test_each_removal_says_why_and_how_to_bring_it_back_in_the_comment() -> None:
    with FakeGitHub() as fake:
        fake.add_token(TOKEN, login="bot")
        fake.add_repo(REPO)
        fake.add_pull(REPO, PR, head_sha=SHA, state="closed")
        gh = session(fake)
        said = {}
        for rule, pr_state in (("pr-closed", "merged"), ("ttl-expired", ""), ("broken", ""),
                               ("stuck-terminating", "")):
            assert asyncio.run(github_notifier(gh)(decision(rule, pr_state=pr_state))) == []
            (comment,) = fake.comments(REPO, PR)
            body = comment["body"]
            said[rule] = body[body.index("was removed"):].split("\n\n")[1]
    assert said["pr-closed"] == "Removed because the pull request was merged."
    assert said["ttl-expired"] == markdown.inline(
        "Removed because it expired (no push before its TTL ran out); a push, running the "
        "workflow again or a comment /preview brings it back, and the label preview:keep keeps "
        "an environment", 600) + "."
    assert said["broken"].startswith("Removed because its virtual cluster never became ready")
    assert "/preview" in said["broken"]
    assert "Removed because" not in said["stuck-terminating"]  # a retried deletion: nothing new


def test_the_gc_says_a_removal_in_the_words_of_down_reason() -> None:
    # The action's `down --reason` for a closed pull request, and the GC's, are one text.
    closed = {"action": "closed", "pull_request": {"merged": False}}
    assert removal_reason(decision()) == triggers.removal_reason("pull_request", closed)
    merged = {"action": "closed", "pull_request": {"merged": True}}
    assert removal_reason(decision(pr_state="merged")) == \
        triggers.removal_reason("pull_request", merged)
    assert removal_reason(decision(pr_state="missing")) == ""
    # GitHub's open list alone (the usual lookup) does not tell merged from closed.
    assert removal_reason(decision(pr_state="")) == triggers.NOT_OPEN
    assert removal_reason(decision("repo-gone")) == ""
