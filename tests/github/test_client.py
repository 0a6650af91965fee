"""preview/github/client.py, the one GitHub transport, against a `responses` GitHub: typed
errors, retries of what is safe to repeat, POST once, pagination, the rate-limit floor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import requests
import responses

import preview
from preview.github import client
from preview.github.client import (
    BudgetLow,
    Conflict,
    Forbidden,
    GitHub,
    GitHubError,
    Invalid,
    NotFound,
    RateLimited,
    RetryPolicy,
    Unauthorized,
    Unavailable,
)

API = "https://ghes.example/api/v3"  # a GHES base, with a path: every URL is joined onto it
# Blocking HTTP clients (aiohttp is the Kubernetes client's and `preview serve`'s), PyGithub.
HTTP_LIBRARIES = {"requests", "urllib.request", "http.client", "httpx", "urllib3", "github"}


def transport(sleeps: list[float] | None = None, **kw: object) -> GitHub:
    policy = RetryPolicy(sleep=sleeps.append if sleeps is not None else lambda s: None)
    return GitHub("t0ken", API, policy, pace_writes=False, **kw)  # type: ignore[arg-type]


def test_one_module_of_the_package_talks_http_to_github() -> None:
    """Every request to GitHub goes through preview/github/client.py: no other module of the
    package imports an HTTP client library, and PyGithub is not used at all."""
    package = Path(preview.__file__).parent
    importers: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        if "sandbox" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name in HTTP_LIBRARIES or name.startswith("github."):
                    importers.setdefault(str(path.relative_to(package)), set()).add(name)
    assert importers == {"github/client.py": {"requests"}}


def test_the_api_url_is_github_api_url_or_github_com() -> None:
    assert client.api_url({"GITHUB_API_URL": "https://ghes.example/api/v3/"}) == API
    assert client.api_url({}) == "https://api.github.com"
    assert GitHub.from_env("t", {}).base_url == "https://api.github.com"


@responses.activate
def test_every_request_carries_the_token_and_githubs_media_type() -> None:
    responses.get(f"{API}/user", json={"login": "alice"})
    assert transport().login() == "alice"
    headers = responses.calls[0].request.headers
    assert headers["Authorization"] == "Bearer t0ken"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"


@responses.activate
def test_user_forbidden_for_an_actions_token_means_the_actions_bot() -> None:
    responses.get(f"{API}/user", status=403,
                  json={"message": "Resource not accessible by integration"})
    assert transport().login() == "github-actions[bot]"
    assert len(responses.calls) == 1  # a 403 that is no rate limit is not retried


@responses.activate
def test_user_unauthorized_is_an_error_not_the_actions_bot() -> None:
    responses.get(f"{API}/user", status=401, json={"message": "Bad credentials"})
    with pytest.raises(Unauthorized) as e:
        transport().login()
    assert "answered 401 to GET /api/v3/user: Bad credentials" in str(e.value)
    assert "GITHUB_TOKEN" in str(e.value)
    assert "t0ken" not in str(e.value)


@pytest.mark.parametrize(("status", "kind"), [
    (401, Unauthorized), (403, Forbidden), (404, NotFound), (409, Conflict), (422, Invalid),
    (400, GitHubError)])
@responses.activate
def test_answers_become_typed_errors_once(status: int, kind: type[GitHubError]) -> None:
    responses.get(f"{API}/repos/o/r", status=status, json={"message": "nope"})
    sleeps: list[float] = []
    with pytest.raises(kind) as e:
        transport(sleeps).get("/repos/o/r")
    assert type(e.value) is kind and e.value.status == status
    assert e.value.message == f"GitHub answered {status} to GET /api/v3/repos/o/r: nope"
    assert len(responses.calls) == 1 and sleeps == []  # none of these gets better by retrying


@responses.activate
def test_idempotent_requests_are_retried_on_5xx_and_timeouts_with_backoff() -> None:
    url = f"{API}/repos/o/r/issues/comments/1"
    responses.patch(url, status=502)
    responses.patch(url, body=requests.ConnectionError("reset"))
    responses.patch(url, json={"id": 1})
    responses.delete(url, status=503)
    responses.delete(url, status=204)
    sleeps: list[float] = []
    gh = transport(sleeps)
    assert gh.patch("/repos/o/r/issues/comments/1", {"body": "x"}) == {"id": 1}
    gh.delete("/repos/o/r/issues/comments/1")
    assert sleeps == [1.0, 2.0, 1.0]
    assert gh.calls == 5


@responses.activate
def test_github_failing_every_time_is_unavailable_after_the_attempts() -> None:
    responses.get(f"{API}/repos/o/r", status=500)
    sleeps: list[float] = []
    with pytest.raises(Unavailable) as e:
        transport(sleeps).get("/repos/o/r")
    assert e.value.status == 500
    assert len(responses.calls) == RetryPolicy().attempts
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


@responses.activate
def test_a_rate_limit_is_waited_as_github_says_unless_too_long() -> None:
    responses.get(f"{API}/a", status=429, headers={"Retry-After": "3"})
    responses.get(f"{API}/a", json={})
    responses.get(f"{API}/b", status=403, headers={"Retry-After": "3600"},
                  json={"message": "You have exceeded a secondary rate limit"})
    sleeps: list[float] = []
    gh = transport(sleeps)
    assert gh.get("/a") == {}
    with pytest.raises(RateLimited) as e:
        gh.get("/b")
    assert e.value.wait == 3600.0 and "asked to wait 3600s" in e.value.message
    assert sleeps == [3.0]  # the hour is not waited


@responses.activate
def test_post_is_not_repeated_when_refind_finds_what_it_created() -> None:
    responses.post(f"{API}/repos/o/r/deployments", status=502)
    refinds: list[int] = []

    def refind() -> dict[str, int] | None:
        refinds.append(1)
        return {"id": 7}

    sleeps: list[float] = []
    assert transport(sleeps).create("/repos/o/r/deployments", {"ref": "a"}, refind,
                                    "create deployment") == {"id": 7}
    assert len(responses.calls) == 1 and refinds == [1] and sleeps == [1.0]


@responses.activate
def test_post_after_a_timeout_and_nothing_found_is_sent_again() -> None:
    url = f"{API}/repos/o/r/issues/1/comments"
    responses.post(url, body=requests.ReadTimeout("slow"))
    responses.post(url, status=201, json={"id": 9})
    created = transport().create("/repos/o/r/issues/1/comments", {"body": "x"},
                                 lambda: None, "create comment")
    assert created == {"id": 9} and len(responses.calls) == 2


@responses.activate
def test_a_rate_limited_post_was_not_processed_and_is_sent_again_without_refind() -> None:
    url = f"{API}/repos/o/r/issues/1/comments"
    responses.post(url, status=403, headers={"x-ratelimit-remaining": "0",
                                             "x-ratelimit-reset": "1"},
                   json={"message": "API rate limit exceeded"})
    responses.post(url, status=201, json={"id": 9})
    sleeps: list[float] = []

    def refind() -> None:
        raise AssertionError("a rate-limited POST needs no refind")

    assert transport(sleeps).create("/repos/o/r/issues/1/comments", {"body": "x"}, refind,
                                    "create comment") == {"id": 9}
    assert sleeps == [1.0]  # the reset is long past: one second of slack


@responses.activate
def test_a_refused_post_is_not_retried() -> None:
    responses.post(f"{API}/repos/o/r/deployments", status=409,
                   json={"message": "Conflict: Commit status checks failed for a."})
    with pytest.raises(Conflict):
        transport().create("/repos/o/r/deployments", {"ref": "a"}, lambda: None, "deploy")
    assert len(responses.calls) == 1


@responses.activate
def test_pages_follow_the_link_header() -> None:
    page2 = f"{API}/repositories/1/issues/1/comments?per_page=100&page=2"
    responses.get(f"{API}/repos/o/r/issues/1/comments", json=[{"id": 1}, {"id": 2}],
                  headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'})
    responses.get(page2, json=[{"id": 3}])
    gh = transport()
    assert gh.items("/repos/o/r/issues/1/comments", {"sort": "created"}) == [
        {"id": 1}, {"id": 2}, {"id": 3}]
    first, second = (c.request for c in responses.calls)
    assert first.params == {"per_page": "100", "sort": "created"}
    assert second.url == page2  # the link carries the query: nothing added twice


@responses.activate
def test_a_link_to_another_host_is_not_followed_with_the_token() -> None:
    responses.get(f"{API}/repos/o/r/pulls", json=[{"number": 1}],
                  headers={"Link": '<https://evil.example/steal?page=2>; rel="next"'})
    with pytest.raises(GitHubError) as e:
        transport().pages("/repos/o/r/pulls")
    assert "evil.example" in e.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_under_the_budget_floor_nothing_is_sent() -> None:
    responses.get(f"{API}/a", json={}, headers={"x-ratelimit-remaining": "49",
                                                "x-ratelimit-reset": "1764560000"})
    gh = transport(min_remaining=50)
    gh.get("/a")
    with pytest.raises(BudgetLow) as e:
        gh.get("/a")
    assert "49 requests left" in e.value.message
    assert (gh.remaining, gh.reset, gh.calls, len(responses.calls)) == (49, 1764560000, 1, 1)
