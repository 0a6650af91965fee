"""Retries over HTTP: idempotent calls are retried, a POST is never blindly repeated."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from preview.github import GitHubSession
from preview.github.client import GitHub, RetryPolicy, rate_limit_wait
from preview.github.comments import StickyComment, marker
from tests.conftest import wait_for
from tests.fakegithub import FakeGitHub, Fault
from tests.github.conftest import ACTIONS_TOKEN, PR, PR_NUMBER, REPO, Env, Sleeps

COMMENTS = "GET /repos/{owner}/{repo}/issues/{number}/comments"
CREATE = "POST /repos/{owner}/{repo}/issues/{number}/comments"
DEPLOY = "POST /repos/{owner}/{repo}/deployments"


def test_post_answered_502_twice_then_201_leaves_one_comment(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], sleeps: Sleeps) -> None:
    fake.inject(CREATE, Fault(502), Fault(502))

    assert make_session().report_building(PR(), Env()) == []

    assert len(fake.comments(REPO, PR_NUMBER)) == 1
    assert fake.count(CREATE) == 3
    assert fake.count(CREATE, 502) == 2
    assert sleeps.calls[:2] == [1.0, 2.0]  # backoff between attempts, doubled


def test_post_created_but_answered_502_is_not_repeated(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    # The server created the comment and then failed: re-listing by marker finds it.
    fake.inject(CREATE, Fault(502, apply=True), Fault(502, apply=True))
    fake.inject(DEPLOY, Fault(502, apply=True))

    assert make_session().report_building(PR(), Env()) == []

    assert len(fake.comments(REPO, PR_NUMBER)) == 1
    assert fake.count(CREATE) == 1
    assert len(fake.deployments(REPO)) == 1
    assert fake.count(DEPLOY) == 1


def test_post_that_timed_out_after_creating_is_found_not_repeated(
        fake: FakeGitHub, sleeps: Sleeps) -> None:
    gh = GitHub(ACTIONS_TOKEN, fake.url, RetryPolicy(sleep=sleeps), timeout=1,
                pace_writes=False)
    comment = StickyComment(gh, REPO, PR_NUMBER, marker(REPO, PR_NUMBER),
                            "github-actions[bot]")
    fake.inject(CREATE, Fault(201, apply=True, delay=1.5))

    comment.upsert("pr-12", lambda limit: "hello")

    assert [c["body"].splitlines()[2] for c in fake.comments(REPO, PR_NUMBER)] == ["hello"]
    # The stalled request is logged when the server finally answers; no second POST came.
    wait_for(lambda: fake.count(CREATE) == 1, what="the stalled POST to be answered")
    assert fake.count(CREATE) == 1


def test_secondary_rate_limit_on_post_waits_retry_after(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], sleeps: Sleeps) -> None:
    fake.inject(CREATE, Fault(403, secondary_rate_limit=True, retry_after=1))

    assert make_session().report_building(PR(), Env()) == []

    assert sleeps.calls == [1.0]
    assert fake.count(CREATE) == 2  # rate limited = not processed: posting again is safe
    assert len(fake.comments(REPO, PR_NUMBER)) == 1


def test_secondary_rate_limit_on_get_waits_retry_after(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], sleeps: Sleeps) -> None:
    fake.inject(COMMENTS, Fault(403, secondary_rate_limit=True, retry_after=1),
                Fault(429, retry_after=2))

    assert make_session().report_building(PR(), Env()) == []

    assert sleeps.calls == [1.0, 2.0]
    assert fake.count(COMMENTS, 200) >= 1
    assert len(fake.comments(REPO, PR_NUMBER)) == 1


def test_primary_rate_limit_waits_until_the_reset(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], sleeps: Sleeps) -> None:
    fake.inject(COMMENTS, Fault(403, reset_in=5))
    fake.inject(CREATE, Fault(403, reset_in=5))

    assert make_session().report_building(PR(), Env()) == []

    # x-ratelimit-reset is whole seconds: about 5 s away, plus 1 s of slack, for GET and POST.
    assert len(sleeps.calls) == 2
    assert all(4.0 <= s <= 6.5 for s in sleeps.calls), sleeps.calls
    assert len(fake.comments(REPO, PR_NUMBER)) == 1


def test_get_5xx_is_retried_with_backoff(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], sleeps: Sleeps) -> None:
    fake.inject(COMMENTS, Fault(502), Fault(503), Fault(500))

    assert make_session().report_building(PR(), Env()) == []

    assert fake.count(COMMENTS) - fake.count(COMMENTS, 200) == 3
    assert sleeps.calls == [1.0, 2.0, 4.0]  # backoff between attempts, doubled
    assert len(fake.comments(REPO, PR_NUMBER)) == 1


def test_primary_rate_limit_far_away_gives_up_instead_of_waiting_an_hour(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession], sleeps: Sleeps) -> None:
    fake.set_rate_remaining(ACTIONS_TOKEN, 0)

    warnings = make_session().report_building(PR(), Env())

    assert warnings and "comment" in warnings[0]
    assert all(s <= RetryPolicy().max_wait for s in sleeps.calls)
    assert fake.comments(REPO, PR_NUMBER) == []


def test_bad_token_is_a_warning_not_a_failure(fake: FakeGitHub, sleeps: Sleeps) -> None:
    out = io.StringIO()
    session = GitHubSession.from_env(
        {"GITHUB_API_URL": fake.url, "GITHUB_ACTIONS": "true"}, "ghp_revoked", out=out,
        policy=RetryPolicy(sleep=sleeps), pace_writes=False)
    assert session is not None

    warnings = session.report_building(PR(), Env())

    assert len(warnings) == 2  # the comment and the deployment
    assert "401" in warnings[0] and "GITHUB_TOKEN" in warnings[0]
    assert "::warning title=preview-vcluster::could not update the GitHub comment" in (
        out.getvalue())
    assert sleeps.calls == []  # a 401 is not retried
    assert fake.count("GET /user", 401) == 1


def test_github_down_never_raises(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    fake.inject(COMMENTS, *[Fault(502)] * 50)

    warnings = make_session().report_building(PR(), Env())

    assert any("comment" in w for w in warnings)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "7"}, 7.0),
    ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}, 31.0),
    ({"x-ratelimit-remaining": "12", "x-ratelimit-reset": "1030"}, 60.0),
    ({}, 60.0),
])
def test_rate_limit_wait_follows_githubs_rules(headers: dict[str, str], expected: float) -> None:
    assert rate_limit_wait(headers, now=1000.0, default=60.0) == expected

