"""The fake itself, through PyGithub: the endpoints other suites (GC, the CLI) rely on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github import Auth, BadCredentialsException, Github, GithubException

from tests.fakegithub import FakeGitHub


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.add_token("pat", login="alice")
        server.add_token("ro", login="bob", write=False)
        server.add_repo("octo/app", owner_type="Organization")
        server.add_repo("octo/web", owner_type="Organization", private=True)
        server.add_repo("alice/tool")
        for n in range(1, 41):
            server.add_pull("octo/app", n, state="open" if n % 4 else "closed", merged=n == 8)
        yield server


def client(fake: FakeGitHub, token: str = "pat") -> Github:
    return Github(auth=Auth.Token(token), base_url=fake.url, retry=None, lazy=True,
                  seconds_between_requests=None, seconds_between_writes=None)


def test_pulls_are_listed_by_state_across_pages(fake: FakeGitHub) -> None:
    repo = client(fake).get_repo("octo/app")
    assert len(list(repo.get_pulls(state="open"))) == 30
    closed = list(repo.get_pulls(state="closed"))
    assert sorted(p.number for p in closed) == [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
    assert len(list(repo.get_pulls(state="all"))) == 40
    assert fake.count("GET /repos/{owner}/{repo}/pulls") >= 4  # 30 per page: pages were followed
    pull = repo.get_pull(8)
    assert (pull.state, pull.merged, pull.head.sha) == ("closed", True, "a" * 40)


def test_owner_repositories(fake: FakeGitHub) -> None:
    gh = client(fake)
    assert [r.full_name for r in gh.get_organization("octo").get_repos()] == [
        "octo/app", "octo/web"]
    assert [r.full_name for r in gh.get_user("alice").get_repos()] == ["alice/tool"]
    assert fake.count("GET /orgs/{owner}/repos") == 1
    assert fake.count("GET /users/{owner}/repos") == 1


def test_bad_token_and_unknown_things(fake: FakeGitHub) -> None:
    with pytest.raises(BadCredentialsException):
        _ = client(fake, "nope").get_repo("octo/app").get_pull(1).state
    with pytest.raises(GithubException) as e:
        _ = client(fake).get_repo("octo/nothing").get_pull(1).state
    assert e.value.status == 404
    assert e.value.data["message"] == "Not Found"


def test_a_read_only_token_cannot_write(fake: FakeGitHub) -> None:
    with pytest.raises(GithubException) as e:
        client(fake, "ro").get_repo("octo/app").get_issue(1).create_comment("hi")
    assert e.value.status == 403
    assert fake.comments("octo/app", 1) == []


def test_rate_limit_headers(fake: FakeGitHub) -> None:
    gh = client(fake)
    _ = gh.get_repo("octo/app").get_pull(1).state
    remaining, limit = gh.rate_limiting
    assert (remaining, limit) == (4999, 5000)
