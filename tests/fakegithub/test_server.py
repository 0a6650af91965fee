"""The fake itself, through our transport: the endpoints other suites (GC, the CLI) rely on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from preview.github.client import Forbidden, GitHub, NotFound, RetryPolicy, Unauthorized
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


def client(fake: FakeGitHub, token: str = "pat") -> GitHub:
    return GitHub(token, fake.url, RetryPolicy(attempts=1), pace_writes=False)


def test_pulls_are_listed_by_state_across_pages(fake: FakeGitHub) -> None:
    gh = client(fake)
    pages = gh.pages("/repos/octo/app/pulls", {"state": "open", "per_page": "7"})
    assert len(pages) == 5 and sum(map(len, pages)) == 30  # 7 per page: links were followed
    closed = gh.items("/repos/octo/app/pulls", {"state": "closed"})
    assert sorted(p["number"] for p in closed) == [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
    assert len(gh.items("/repos/octo/app/pulls", {"state": "all"})) == 40
    assert fake.count("GET /repos/{owner}/{repo}/pulls") == 5 + 1 + 1
    pull = gh.get("/repos/octo/app/pulls/8")
    assert (pull["state"], pull["merged"], pull["head"]["sha"]) == ("closed", True, "a" * 40)


def test_owner_repositories(fake: FakeGitHub) -> None:
    gh = client(fake)
    assert [r["full_name"] for r in gh.items("/orgs/octo/repos")] == ["octo/app", "octo/web"]
    assert [r["full_name"] for r in gh.items("/users/alice/repos")] == ["alice/tool"]
    assert fake.count("GET /orgs/{owner}/repos") == 1
    assert fake.count("GET /users/{owner}/repos") == 1


def test_bad_token_and_unknown_things(fake: FakeGitHub) -> None:
    with pytest.raises(Unauthorized):
        client(fake, "nope").get("/repos/octo/app/pulls/1")
    with pytest.raises(NotFound) as e:
        client(fake).get("/repos/octo/nothing/pulls/1")
    assert e.value.status == 404
    assert "Not Found" in e.value.message


def test_a_read_only_token_cannot_write(fake: FakeGitHub) -> None:
    with pytest.raises(Forbidden) as e:
        client(fake, "ro").create("/repos/octo/app/issues/1/comments", {"body": "hi"},
                                  refind=lambda: None, what="comment")
    assert e.value.status == 403
    assert fake.comments("octo/app", 1) == []


def test_rate_limit_headers(fake: FakeGitHub) -> None:
    gh = client(fake)
    gh.get("/repos/octo/app/pulls/1")
    assert gh.remaining == 4999
    assert gh.reset is not None
