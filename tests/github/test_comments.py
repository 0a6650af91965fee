"""The sticky comment over HTTP against the fake GitHub: found by marker + author, never doubled."""

from __future__ import annotations

import threading
from collections.abc import Callable

from preview.github import GitHubSession
from preview.github.client import RetryPolicy
from preview.github.comments import Found, compose, is_ours, marker, plan, sections
from tests.fakegithub import FakeGitHub
from tests.github.conftest import (
    ACTIONS_TOKEN,
    PAT,
    PR,
    PR_NUMBER,
    REPO,
    Env,
    failed_result,
    ready_result,
)

MARKER = marker(REPO, PR_NUMBER)
LEGACY = f"<!-- preview-vcluster:v1 repo={REPO} pr={PR_NUMBER} env=pr-12 -->"  # one per env
COMMENTS = "GET /repos/{owner}/{repo}/issues/{number}/comments"
CREATE = "POST /repos/{owner}/{repo}/issues/{number}/comments"
EDIT = "PATCH /repos/{owner}/{repo}/issues/comments/{id}"
DELETE = "DELETE /repos/{owner}/{repo}/issues/comments/{id}"


def test_marker_is_exact_and_per_pull_request() -> None:
    assert MARKER == "<!-- preview-vcluster:v1 repo=octo/app pr=12 -->"
    bot = "github-actions[bot]"
    assert is_ours(Found(1, bot, "t", f"{MARKER}\nbody"), MARKER, bot)
    assert not is_ours(Found(1, "mallory", "t", f"{MARKER}\nbody"), MARKER, bot)
    assert not is_ours(Found(1, bot, "t", f"quoting {MARKER}"), MARKER, bot)
    assert not is_ours(Found(1, bot, "t", f"hello\n{MARKER}"), MARKER, bot)
    assert not is_ours(Found(1, bot, "t", marker(REPO, 1)), MARKER, bot)
    # A comment of one environment from before environments shared one is still ours…
    assert is_ours(Found(1, bot, "t", f"{LEGACY}\nold"), MARKER, bot)
    # …but not another pull request's (pr=1 is not pr=12).
    assert not is_ours(Found(1, bot, "t", f"{LEGACY.replace('pr=12', 'pr=1')}\nx"), MARKER,
                       bot)


def test_sections_round_trip_and_a_legacy_comment_is_one_section() -> None:
    body = compose(MARKER, {"pr-12-web": "web\ntext", "pr-12-api": "api text"})
    assert body.splitlines()[0] == MARKER
    assert body.index("api text") < body.index("web\ntext")  # in name order
    assert sections(body, MARKER) == {"pr-12-api": "api text", "pr-12-web": "web\ntext"}
    assert sections(f"{LEGACY}\n### old\n", MARKER) == {"pr-12": "### old"}
    assert sections("unrelated", MARKER) == {}


def test_plan_keeps_oldest_and_ignores_others() -> None:
    bot = "github-actions[bot]"
    newer = Found(5, bot, "2026-01-01T00:00:02Z", MARKER)
    older = Found(9, bot, "2026-01-01T00:00:01Z", MARKER)
    foreign = Found(1, "mallory", "2025-01-01T00:00:00Z", MARKER)
    assert plan([newer, foreign, older], MARKER, bot) == (older, [newer])
    assert plan([foreign], MARKER, bot) == (None, [])


def test_actions_token_finds_and_updates_its_comment(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    # GET /user answers 403 to an Actions token: the comment is still found (as
    # github-actions[bot]) and updated in place as the environment moves.
    assert make_session().report_building(PR(), Env()) == []
    assert make_session().report_result(PR(), Env(), ready_result()) == []
    assert make_session().report_torn_down(PR(), Env()) == []

    comments = fake.comments(REPO, PR_NUMBER)
    assert len(comments) == 1
    assert comments[0]["user"]["login"] == "github-actions[bot]"
    assert comments[0]["body"].splitlines()[0] == MARKER
    assert "was removed" in comments[0]["body"]
    assert fake.count("GET /user", 403) == 3
    assert fake.count(CREATE) == 1
    assert fake.count(EDIT) == 2


def test_personal_token_writes_as_its_user(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    # A comment with our marker by github-actions[bot] is not alice's: alice gets her own.
    bot_comment = fake.add_comment(REPO, PR_NUMBER, f"{MARKER}\nold", "github-actions[bot]")
    make_session(PAT).report_building(PR(), Env())
    make_session(PAT).report_result(PR(), Env(), ready_result())

    comments = fake.comments(REPO, PR_NUMBER)
    assert [c["user"]["login"] for c in comments] == ["github-actions[bot]", "alice"]
    assert comments[0]["body"] == bot_comment["body"]
    assert fake.count("GET /user", 200) == 2
    assert fake.count(CREATE) == 1


def test_comments_of_others_are_never_touched(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    quoted = fake.add_comment(REPO, PR_NUMBER, f"{MARKER}\nI copied your marker", "mallory")
    other_pr = fake.add_comment(REPO, PR_NUMBER, f"{marker(REPO, 1)}\nx",
                                "github-actions[bot]")
    make_session().report_building(PR(), Env())

    comments = {c["id"]: c for c in fake.comments(REPO, PR_NUMBER)}
    assert len(comments) == 3
    assert comments[quoted["id"]]["body"] == quoted["body"]
    assert comments[other_pr["id"]]["body"] == other_pr["body"]
    assert fake.count(EDIT) == 0
    assert fake.count(DELETE) == 0


def test_each_environment_has_a_section_of_the_one_comment(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    api, web = Env(name="pr-12-api"), Env(name="pr-12-web")
    make_session().report_building(PR(), api)
    make_session().report_result(PR(), web, failed_result())
    make_session().report_result(PR(), api, ready_result())

    [comment] = fake.comments(REPO, PR_NUMBER)
    found = sections(comment["body"], MARKER)
    assert set(found) == {"pr-12-api", "pr-12-web"}
    assert "is ready" in found["pr-12-api"] and "failed to deploy" in found["pr-12-web"]
    make_session().report_torn_down(PR(), web)
    found = sections(fake.comments(REPO, PR_NUMBER)[0]["body"], MARKER)
    assert "was removed" in found["pr-12-web"] and "is ready" in found["pr-12-api"]


def test_a_legacy_comment_becomes_its_environments_section(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    old = fake.add_comment(REPO, PR_NUMBER, f"{LEGACY}\nold text", "github-actions[bot]")
    make_session().report_building(PR(), Env(name="pr-12-api"))
    [comment] = fake.comments(REPO, PR_NUMBER)
    assert comment["id"] == old["id"] and comment["body"].splitlines()[0] == MARKER
    assert sections(comment["body"], MARKER)["pr-12"] == "old text"
    assert "being built" in sections(comment["body"], MARKER)["pr-12-api"]


def test_two_environments_written_at_once_both_stay(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    # Both runs read the comment before either writes: one write loses the other's section,
    # and the run whose section is gone writes again.
    make_session().report_building(PR(), Env(name="pr-12-api"))
    fake.synchronize(COMMENTS, parties=2)

    def report(name: str) -> None:
        # Real waits: each run looks at the comment again once the other's write has landed.
        session = GitHubSession.from_env({"GITHUB_API_URL": fake.url}, ACTIONS_TOKEN,
                                         policy=RetryPolicy(settle=1.0), pace_writes=False)
        assert session is not None
        assert session.report_result(PR(), Env(name=name), ready_result()) == []

    threads = [threading.Thread(target=report, args=(name,))
               for name in ("pr-12-api", "pr-12-web")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    [comment] = fake.comments(REPO, PR_NUMBER)
    found = sections(comment["body"], MARKER)
    assert set(found) == {"pr-12-api", "pr-12-web"}
    assert all("is ready" in text for text in found.values())


def test_duplicates_from_earlier_runs_collapse_to_the_oldest(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    oldest = fake.add_comment(REPO, PR_NUMBER, f"{MARKER}\nfirst", "github-actions[bot]")
    fake.add_comment(REPO, PR_NUMBER, f"{MARKER}\nsecond", "github-actions[bot]")
    fake.add_comment(REPO, PR_NUMBER, "LGTM @octo", "bob")

    make_session().report_result(PR(), Env(), failed_result())

    comments = fake.comments(REPO, PR_NUMBER)
    assert [c["id"] for c in comments if c["user"]["login"] == "github-actions[bot]"] == [
        oldest["id"]]
    assert "failed to deploy" in comments[0]["body"]
    assert any(c["body"] == "LGTM @octo" for c in comments)
    assert fake.count(DELETE) == 1


def test_marker_found_beyond_the_first_page(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    for i in range(230):
        fake.add_comment(REPO, PR_NUMBER, f"comment {i}", "bob")
    ours = fake.add_comment(REPO, PR_NUMBER, f"{MARKER}\nold", "github-actions[bot]")

    make_session().report_building(PR(), Env())

    assert fake.count(CREATE) == 0
    # 100 per page: three pages, followed by Link headers; listed to find the comment and
    # again to check the section after writing it.
    assert fake.count(COMMENTS) == 6
    assert "being built" in next(c for c in fake.comments(REPO, PR_NUMBER)
                             if c["id"] == ours["id"])["body"]


def test_two_runs_started_at_once_end_with_one_comment(
        fake: FakeGitHub, make_session: Callable[..., GitHubSession]) -> None:
    # Both runs list the comments before either has created one, so both create: the race
    # really happens, and both converge on the oldest comment.
    fake.synchronize(COMMENTS, parties=2)
    sessions = [make_session(), make_session()]
    warnings: list[list[str]] = []
    threads = [threading.Thread(target=lambda s=s: warnings.append(
        s.report_building(PR(), Env()))) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert warnings == [[], []]
    assert fake.count(CREATE) == 2
    comments = fake.comments(REPO, PR_NUMBER)
    assert len(comments) == 1
    assert "being built" in comments[0]["body"]
