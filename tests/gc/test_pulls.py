"""preview/github/pulls.py against a `responses` GitHub: few calls, and never a guess."""

from __future__ import annotations

import dataclasses
import re

import requests
import responses

from preview.github.client import GitHub
from preview.github.pulls import GC_POLICY, _may_have_slipped, gc_transport, lookup

API = "https://api.github.com"


def pull(number: int, *labels: str) -> dict[str, object]:
    return {"number": number, "state": "open", "labels": [{"name": lb} for lb in labels]}


def api(sleeps: list[float] | None = None, **kw: object) -> GitHub:
    policy = dataclasses.replace(GC_POLICY, sleep=(sleeps.append if sleeps is not None else
                                                   lambda s: None))
    return gc_transport("t0ken", {"GITHUB_API_URL": API}, policy=policy, **kw)


def pulls_url(repo: str) -> str:
    return f"{API}/repos/{repo}/pulls"


@responses.activate
def test_one_page_answers_every_environment_of_a_repository() -> None:
    responses.get(pulls_url("acme/shop"), json=[pull(2, "preview:keep"), pull(1)])
    gh = api()
    states = lookup(gh, {"acme/shop": {1, 2, 3, 4}})
    shop = states["acme/shop"]
    assert shop.status == "ok"
    assert dict(shop.open) == {1: (), 2: ("preview:keep",)}
    assert shop.closed == {}  # 3 and 4 are not open: no call per PR to learn more
    assert gh.calls == 1
    query = responses.calls[0].request.params
    assert query["state"] == "open" and query["per_page"] == "100"
    assert responses.calls[0].request.headers["Authorization"] == "Bearer t0ken"


@responses.activate
def test_pages_are_followed_and_prs_that_may_have_slipped_between_them_confirmed() -> None:
    # Page 1 ends at #100, page 2 starts at #103: had #101 or #102 been closed while paging,
    # an open one could have slipped out. Only those are confirmed, not #5 nor #200.
    page2 = f"{API}/repositories/1/pulls?state=open&per_page=100&page=2"
    responses.get(pulls_url("acme/shop"), json=[pull(n) for n in range(1, 101)],
                  headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'})
    responses.get(page2, json=[pull(n) for n in range(103, 151)])
    responses.get(f"{API}/repos/acme/shop/pulls/101",
                  json={"number": 101, "state": "open", "labels": [{"name": "x"}]})
    responses.get(f"{API}/repos/acme/shop/pulls/102",
                  json={"number": 102, "state": "closed", "merged_at": "2026-11-30T00:00:00Z"})
    gh = api()
    shop = lookup(gh, {"acme/shop": {5, 101, 102, 150, 200}})["acme/shop"]
    assert shop.status == "ok"
    assert {5, 101, 150} <= set(shop.open) and 200 not in shop.open
    assert shop.open[101] == ("x",)  # slipped between the pages: confirmed open
    assert shop.closed == {102: "merged"}
    assert gh.calls == 2 + 2  # two pages, two confirmations
    assert responses.calls[0].request.params["sort"] == "created"
    assert responses.calls[0].request.params["direction"] == "asc"


def test_slipping_is_only_possible_at_page_boundaries() -> None:
    pages = [[pull(1), pull(4)], [pull(7), pull(9)], []]
    assert [n for n in range(12) if _may_have_slipped(n, pages)] == [5, 6, 10, 11]
    newest_first = [[pull(9), pull(7)], [pull(4), pull(1)], []]
    assert [n for n in range(12) if _may_have_slipped(n, newest_first)] == [0, 5, 6]
    assert _may_have_slipped(2, [[pull(1), pull(9)], [pull(3)]])  # unsorted: anything
    assert not _may_have_slipped(2, [[pull(9), pull(1), pull(3)]])  # one page: nothing


@responses.activate
def test_a_502_repository_is_unknown_and_the_others_are_answered() -> None:
    responses.get(pulls_url("acme/broken"), status=502, body="Bad Gateway")
    responses.get(pulls_url("acme/shop"), json=[pull(1)])
    sleeps: list[float] = []
    states = lookup(api(sleeps), {"acme/broken": {1}, "acme/shop": {1}})
    assert states["acme/broken"].status == "unknown"
    assert "502" in states["acme/broken"].detail
    assert states["acme/shop"].status == "ok"
    assert len([c for c in responses.calls if "broken" in c.request.url]) == 3  # retried
    assert sleeps == [1.0, 2.0]


@responses.activate
def test_timeouts_leave_the_repository_unknown() -> None:
    responses.get(pulls_url("acme/shop"), body=requests.ConnectTimeout("slow"))
    state = lookup(api(), {"acme/shop": {1}})["acme/shop"]
    assert state.status == "unknown" and "did not answer" in state.detail


@responses.activate
def test_secondary_rate_limit_is_waited_out_then_retried() -> None:
    responses.get(pulls_url("acme/shop"), status=403, headers={"retry-after": "7"},
                  json={"message": "You have exceeded a secondary rate limit"})
    responses.get(pulls_url("acme/shop"), json=[pull(1)])
    sleeps: list[float] = []
    state = lookup(api(sleeps), {"acme/shop": {1}})["acme/shop"]
    assert state.status == "ok" and sleeps == [7.0]


@responses.activate
def test_a_long_rate_limit_wait_stops_the_lookups_cleanly() -> None:
    responses.get(pulls_url("acme/a"), status=429, headers={"retry-after": "3600"})
    states = lookup(api(), {"acme/a": {1}, "acme/b": {1}})
    assert {s.status for s in states.values()} == {"unknown"}
    assert "3600" in states["acme/b"].detail
    assert len(responses.calls) == 1  # acme/b was not asked


@responses.activate
def test_a_low_budget_stops_before_spending_it() -> None:
    for repo in ("acme/a", "acme/b", "acme/c"):
        responses.get(pulls_url(repo), json=[pull(1)],
                      headers={"x-ratelimit-remaining": "40", "x-ratelimit-reset": "1764560000"})
    states = lookup(api(min_remaining=50), {"acme/a": {1}, "acme/b": {1}, "acme/c": {1}})
    assert states["acme/a"].status == "ok"
    assert states["acme/b"].status == states["acme/c"].status == "unknown"
    assert "budget low (40 requests left" in states["acme/c"].detail
    assert len(responses.calls) == 1


@responses.activate
def test_a_rejected_token_stops_the_lookups() -> None:
    responses.get(pulls_url("acme/a"), status=401, json={"message": "Bad credentials"})
    states = lookup(api(), {"acme/a": {1}, "acme/b": {1}})
    assert all(s.status == "unknown" and "401" in s.detail for s in states.values())
    assert len(responses.calls) == 1


@responses.activate
def test_forbidden_is_unknown_not_gone() -> None:
    responses.get(pulls_url("acme/a"), status=403, json={"message": "Resource not accessible"})
    state = lookup(api(), {"acme/a": {1}})["acme/a"]
    assert state.status == "unknown" and "403" in state.detail


def _not_installation() -> None:
    responses.get(f"{API}/installation/repositories", status=403,
                  json={"message": "A JSON web token could not be decoded"})


@responses.activate
def test_gone_when_the_owner_list_with_private_repositories_lacks_it() -> None:
    responses.get(pulls_url("acme/old"), status=404, json={"message": "Not Found"})
    _not_installation()
    responses.get(f"{API}/orgs/acme/repos", json=[
        {"full_name": "acme/shop", "private": True}, {"full_name": "acme/web", "private": False}])
    state = lookup(api(), {"acme/old": {1}})["acme/old"]
    assert state.status == "gone", state.detail
    assert "private repositories included" in state.detail


@responses.activate
def test_a_listing_without_private_repositories_proves_nothing() -> None:
    responses.get(pulls_url("acme/secret"), status=404)
    _not_installation()
    responses.get(f"{API}/orgs/acme/repos", json=[{"full_name": "acme/web", "private": False}])
    state = lookup(api(), {"acme/secret": {1}})["acme/secret"]
    assert state.status == "unknown" and "may just be hidden" in state.detail


@responses.activate
def test_actions_token_sees_only_its_repository_so_others_are_unknown() -> None:
    responses.get(pulls_url("acme/other"), status=404)
    responses.get(f"{API}/installation/repositories", json={
        "total_count": 1, "repository_selection": "selected",
        "repositories": [{"full_name": "acme/shop", "private": True}]})
    state = lookup(api(), {"acme/other": {1}})["acme/other"]
    assert state.status == "unknown" and "GITHUB_TOKEN" in state.detail


@responses.activate
def test_app_installation_on_all_repositories_proves_gone() -> None:
    responses.get(pulls_url("acme/old"), status=404)
    responses.get(pulls_url("acme/older"), status=404)
    responses.get(f"{API}/installation/repositories", json={
        "total_count": 1, "repository_selection": "all",
        "repositories": [{"full_name": "acme/shop", "private": True}]})
    states = lookup(api(), {"acme/old": {1}, "acme/older": {2}, "other/x": {3}})
    assert states["acme/old"].status == states["acme/older"].status == "gone"
    installation_calls = [c for c in responses.calls if "/installation/" in c.request.url]
    assert len(installation_calls) == 1  # asked once, reused


@responses.activate
def test_an_owner_account_that_no_longer_exists_proves_gone() -> None:
    responses.get(pulls_url("ghost/app"), status=404)
    _not_installation()
    responses.get(f"{API}/orgs/ghost/repos", status=404)
    responses.get(f"{API}/users/ghost/repos", status=404)
    state = lookup(api(), {"ghost/app": {1}})["ghost/app"]
    assert state.status == "gone" and "no longer exists" in state.detail


@responses.activate
def test_user_accounts_are_listed_when_the_owner_is_not_an_organisation() -> None:
    responses.get(pulls_url("alice/app"), status=404)
    _not_installation()
    responses.get(f"{API}/orgs/alice/repos", status=404)
    responses.get(re.compile(f"{API}/users/alice/repos.*"),
                  json=[{"full_name": "alice/dotfiles", "private": True}])
    assert lookup(api(), {"alice/app": {1}})["alice/app"].status == "gone"


@responses.activate
def test_a_malformed_answer_is_unknown() -> None:
    responses.get(pulls_url("acme/a"), json=[{"title": "no number"}])
    responses.get(pulls_url("acme/b"), json=[pull(1)])
    states = lookup(api(), {"acme/a": {1}, "acme/b": {1}})
    assert states["acme/a"].status == "unknown" and "unexpected answer" in states["acme/a"].detail
    assert states["acme/b"].status == "ok"
