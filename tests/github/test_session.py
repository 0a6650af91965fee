"""The facade `up`/`down` call: console without a token, warnings instead of exceptions."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace

from preview.github import GitHubSession
from preview.github.client import RetryPolicy
from tests.fakegithub import FakeGitHub
from tests.github.conftest import ACTIONS_TOKEN, PR, PR_NUMBER, REPO, Env, ready_result


def test_without_a_token_the_comment_goes_to_the_terminal(fake: FakeGitHub) -> None:
    out = io.StringIO()
    session = GitHubSession.from_env({"GITHUB_API_URL": fake.url}, None, out=out)
    assert session is not None

    assert session.report_result(PR(), Env(), ready_result()) == []

    text = out.getvalue()
    assert "is ready" in text and "https://pr-12-app.preview.example.com" in text
    assert "<!-- preview-vcluster" not in text
    assert fake.log == []  # no API call at all


def test_without_a_token_or_a_terminal_there_is_nothing_to_report_to() -> None:
    assert GitHubSession.from_env({}, None) is None


def test_the_token_comes_from_github_token_and_the_url_from_github_api_url(
        fake: FakeGitHub) -> None:
    session = GitHubSession.from_env(
        {"GITHUB_API_URL": fake.url + "/", "GITHUB_TOKEN": ACTIONS_TOKEN}, None,
        out=io.StringIO(), policy=RetryPolicy(sleep=lambda s: None), pace_writes=False)
    assert session is not None

    assert session.report_building(PR(), Env()) == []
    assert len(fake.comments(REPO, PR_NUMBER)) == 1  # served under /api/v3, like GHES


def test_a_repository_the_token_cannot_see_is_a_warning(
        make_session: Callable[..., GitHubSession]) -> None:
    warnings = make_session().report_building(PR(owner="octo", repo="secret"), Env())
    assert [w.split(":")[0] for w in warnings] == ["could not update the GitHub comment",
                                                    "could not update the GitHub deployment"]
    assert "404" in warnings[0]


def test_an_explicit_author_is_used_without_asking_github(fake: FakeGitHub) -> None:
    # e.g. an app installation token, whose comments are by "<app-slug>[bot]"
    fake.add_comment(REPO, PR_NUMBER, "<!-- preview-vcluster:v1 repo=octo/app pr=12 env=pr-12 -->"
                     "\nold", "github-actions[bot]")
    session = GitHubSession.from_env({"GITHUB_API_URL": fake.url}, ACTIONS_TOKEN,
                                     out=io.StringIO(), author="github-actions[bot]",
                                     policy=RetryPolicy(sleep=lambda s: None), pace_writes=False)
    assert session is not None
    session.report_building(PR(), Env())
    assert fake.count("GET /user") == 0
    assert len(fake.comments(REPO, PR_NUMBER)) == 1


def test_a_failure_inside_the_layer_itself_is_a_warning(
        make_session: Callable[..., GitHubSession]) -> None:
    # A result the templates cannot render (a bug, say) still never raises into `up`.
    broken = replace(ready_result(), phases={"deploy": "not a number"})  # type: ignore[dict-item]
    warnings = make_session().report_result(PR(), Env(), broken)
    assert len(warnings) == 1 and warnings[0].startswith("could not update the GitHub report")


def test_the_pull_request_state_is_read_again_from_github(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    session = make_session()
    assert session.pull_request_state(PR()) == "open"
    fake.repos[REPO].pulls[PR_NUMBER]["state"] = "closed"
    assert session.pull_request_state(PR()) == "closed"
    # Unknown (no such PR, or GitHub failing) is None and a warning, never an exception.
    assert session.pull_request_state(PR(number=404)) is None


def test_without_a_token_the_pull_request_state_is_unknown(fake: FakeGitHub) -> None:
    session = GitHubSession.from_env({"GITHUB_API_URL": fake.url}, None, out=io.StringIO())
    assert session is not None and session.pull_request_state(PR()) is None
    assert fake.log == []
