"""GitHub deployments over HTTP against the fake: one per head sha, statuses as it moves."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from preview.github import GitHubSession
from preview.github.client import Conflict, GitHub, Invalid, RetryPolicy
from preview.github.deployments import Deployments
from preview.github.markdown import inline
from tests.fakegithub import FakeGitHub
from tests.github.conftest import (
    ACTIONS_TOKEN,
    PR,
    PR_NUMBER,
    REPO,
    SHA,
    Env,
    failed_result,
    ready_result,
)

RUN = PR().run_url


def states(deployment: dict) -> list[str]:
    return [s["state"] for s in deployment["_statuses"]]


def test_building_creates_a_transient_deployment_in_progress(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    # A failing commit status (the very workflow that deploys, say) must not block it.
    fake.set_commit_statuses(REPO, SHA, {"ci/tests": "pending"})

    assert make_session().report_building(PR(), Env()) == []

    [d] = fake.deployments(REPO)
    assert (d["sha"], d["environment"], d["task"]) == (SHA, "pr-12", "deploy")
    assert d["transient_environment"] is True
    assert d["production_environment"] is False
    assert d["_auto_merge"] is False
    assert d["_required_contexts"] == []
    assert d["_statuses"][-1]["state"] == "in_progress"
    assert d["_statuses"][-1]["log_url"] == RUN


def test_the_fake_refuses_a_deployment_without_required_contexts(fake: FakeGitHub) -> None:
    # Why we send required_contexts=[]: omitted, GitHub checks every commit status (409).
    fake.set_commit_statuses(REPO, SHA, {"ci/tests": "failure"})
    gh = GitHub(ACTIONS_TOKEN, fake.url, RetryPolicy(), pace_writes=False)
    with pytest.raises(Conflict) as e:
        gh.create(f"/repos/{REPO}/deployments", {"ref": SHA, "environment": "pr-12"},
                  refind=lambda: None, what="create deployment")
    assert e.value.status == 409
    assert "Commit status checks failed" in e.value.message
    [logged] = [e for e in fake.log if e.method == "POST"]
    assert logged.body["errors"][0]["contexts"] == [{"context": "ci/tests", "state": "failure"}]
    assert fake.deployments(REPO) == []


def test_ready_sets_success_with_the_url_and_the_run(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    session = make_session()
    session.report_building(PR(), Env())
    assert session.report_result(PR(), Env(), ready_result()) == []

    [d] = fake.deployments(REPO)
    assert states(d) == ["in_progress", "success"]
    success = d["_statuses"][-1]
    assert success["environment_url"] == "https://pr-12-app.preview.example.com"
    assert success["log_url"] == RUN


def test_unpullable_image_fails_the_deployment_and_explains_in_the_comment(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    session = make_session()
    session.report_building(PR(), Env())
    assert session.report_result(PR(), Env(), failed_result()) == []

    [d] = fake.deployments(REPO)
    assert states(d) == ["in_progress", "failure"]
    [comment] = fake.comments(REPO, PR_NUMBER)
    body = comment["body"]
    assert "<code>app-5d9c7b-xk2lp</code>" in body
    assert "**ImagePullBackOff**" in body
    assert 'Failed to pull image "ghcr.io/octo/app:nope": not found' in body  # in a code block


def test_a_rerun_of_the_same_sha_reuses_its_deployment(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    for _ in range(2):
        session = make_session()
        session.report_building(PR(), Env())
        session.report_result(PR(), Env(), ready_result())

    [d] = fake.deployments(REPO)
    assert states(d) == ["in_progress", "success", "in_progress", "success"]


def test_a_new_sha_makes_the_previous_deployment_inactive(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    new_sha = "f" * 40
    for sha in (SHA, new_sha):
        session = make_session()
        session.report_building(PR(head_sha=sha), Env())
        session.report_result(PR(head_sha=sha), Env(), ready_result(head_sha=sha))

    old, new = fake.deployments(REPO)
    assert states(old) == ["in_progress", "success", "inactive"]
    assert states(new) == ["in_progress", "success"]


def test_teardown_makes_every_deployment_of_the_environment_inactive(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    for sha in (SHA, "e" * 40):
        make_session().report_building(PR(head_sha=sha), Env())
    make_session().report_building(PR(number=12), Env(name="staging"))

    assert make_session().report_torn_down(PR(), Env()) == []
    assert make_session().report_torn_down(PR(), Env()) == []  # again: nothing more to do

    ours = [d for d in fake.deployments(REPO) if d["environment"] == "pr-12"]
    [staging] = [d for d in fake.deployments(REPO) if d["environment"] == "staging"]
    assert [states(d)[-1] for d in ours] == ["inactive", "inactive"]
    assert all(states(d).count("inactive") == 1 for d in ours)
    assert states(staging) == ["in_progress"]


def test_an_unknown_state_is_refused(fake: FakeGitHub) -> None:
    gh = GitHub(ACTIONS_TOKEN, fake.url, RetryPolicy(), pace_writes=False)
    deployments = Deployments(gh, REPO)
    deployment = deployments.start(SHA, "pr-12", "test")
    with pytest.raises(Invalid) as e:
        deployments.set_status(deployment, "done")
    assert e.value.status == 422
    assert fake.count("POST /repos/{owner}/{repo}/deployments/{id}/statuses") == 1


def test_with_deployments_off_the_comment_tells_the_whole_life_and_no_deployment_is_made(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    session = make_session(deployments=False)
    assert session.report_building(PR(), Env()) == []
    assert "being built" in fake.comments(REPO, PR_NUMBER)[0]["body"]
    assert session.report_result(PR(), Env(), ready_result()) == []
    assert "is ready" in fake.comments(REPO, PR_NUMBER)[0]["body"]
    assert make_session(deployments=False).report_result(PR(), Env(), failed_result()) == []
    assert "failed to deploy" in fake.comments(REPO, PR_NUMBER)[0]["body"]
    assert make_session(deployments=False).report_torn_down(PR(), Env()) == []
    assert "was removed" in fake.comments(REPO, PR_NUMBER)[0]["body"]

    assert fake.deployments(REPO) == []
    assert not [e for e in fake.log if "/deployments" in e.route]
    assert len(fake.comments(REPO, PR_NUMBER)) == 1


# -- sleep and wake ------------------------------------------------------------------------------

WAKE = "preview wake --repo octo/app --pr 12"
SINCE = "2026-12-06T09:00:00Z"


def test_asleep_describes_the_live_deployment_and_the_comment_says_how_to_wake_it(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    """GitHub has no "asleep" state, and `inactive` shows a transient deployment as
    destroyed: a new `success` status says asleep, with the URL kept; waking says ready."""
    session = make_session()
    session.report_building(PR(), Env())
    session.report_result(PR(), Env(), ready_result())
    url = ready_result().url
    assert session.report_asleep(PR(), Env(), url=url, since=SINCE, wake_command=WAKE,
                                 cost="0.25 USD so far (0.05 USD a day)") == []
    [d] = fake.deployments(REPO)
    assert states(d) == ["in_progress", "success", "success"]
    asleep = d["_statuses"][-1]
    assert asleep["description"].startswith("asleep since 2026-12-06T09:00:00Z")
    assert WAKE in asleep["description"] and asleep["environment_url"] == url
    [comment] = fake.comments(REPO, PR_NUMBER)
    body = comment["body"]
    assert "is asleep" in body and f"```sh\n{WAKE}\n```" in body
    # Shown as written; Markdown's punctuation is escaped as in every other line of ours.
    assert f"since {inline('Sun 06 Dec, 09:00 UTC')};" in body and f"]({url})" in body
    assert f"Cost: {inline('0.25 USD so far (0.05 USD a day)')}." in body

    assert session.report_awake(PR(), Env(), ready_result(phases={}),
                                cost="0.30 USD so far (0.06 USD a day)") == []
    [d] = fake.deployments(REPO)
    assert states(d) == ["in_progress", "success", "success", "success"]
    assert d["_statuses"][-1]["description"] == "preview environment ready (woken up)"
    [comment] = fake.comments(REPO, PR_NUMBER)
    assert "is ready" in comment["body"] and "is asleep" not in comment["body"]
    assert f"| Cost | {inline('0.30 USD so far (0.06 USD a day)')} |" in comment["body"]


def test_asleep_creates_no_deployment_and_leaves_a_removed_one_alone(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    session = make_session()
    assert session.report_asleep(PR(), Env(), url="", since=SINCE, wake_command=WAKE) == []
    assert fake.deployments(REPO) == []  # none made: a repository without deployments
    body = fake.comments(REPO, PR_NUMBER)[0]["body"]
    assert "is asleep" in body and "Cost" not in body and "****" not in body
    session.report_building(PR(), Env())
    session.report_torn_down(PR(), Env())
    session.report_asleep(PR(), Env(), url="", since=SINCE, wake_command=WAKE)
    [d] = fake.deployments(REPO)
    assert states(d) == ["in_progress", "inactive"]


def test_with_the_wake_page_the_comment_says_the_url_wakes_it(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    session = make_session()
    url = ready_result().url
    session.report_asleep(PR(), Env(), url=url, since=SINCE, wake_command=WAKE)
    assert "A push to this pull request wakes it" in fake.comments(REPO, PR_NUMBER)[0]["body"]
    session.report_asleep(PR(), Env(), url=url, since=SINCE, wake_command=WAKE, url_wakes=True)
    body = fake.comments(REPO, PR_NUMBER)[0]["body"]
    assert "Opening its URL wakes it" in body and f"```sh\n{WAKE}\n```" in body
