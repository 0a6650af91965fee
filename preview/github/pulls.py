"""Which pull requests are open, per repository, for the GC: few calls, never a guess.

One paginated `GET /repos/{o}/{r}/pulls?state=open` per repository answers every environment
of that repository at once: a PR among the open ones is open (and its labels come with it, so
a keep label costs nothing more); a PR not among them is closed or merged. Telling "merged"
from "closed" would cost a call per PR and only changes a reason text, so it is not asked,
except where a PR could have slipped between two pages: a PR closed while we paginate
shifts the later pages up by one, so the first PR of the next page is never seen. The list is
sorted by creation (= PR number), so only an environment's PR whose number lies between the
last PR of one page and the first of the next can have slipped; those few are confirmed one
by one (`GET /repos/{o}/{r}/pulls/{n}`), which also tells merged from closed.

A repository is *gone* only when that is proven: its pull list answers 404 (which also means
"no access") and the token demonstrably sees the owner's repositories without it — an App
installation with access to all of the owner's repositories, or an owner repository list
that includes private repositories — or the owner account itself no longer exists. Any other
answer (5xx, timeout, 401/403, a rate limit, a token that sees only some repositories such as
the Actions `GITHUB_TOKEN`) leaves the repository *unknown*: the GC keeps what it cannot judge.

Rate limits: `x-ratelimit-remaining` / `x-ratelimit-reset` are read from every answer; when
the budget falls under `min_remaining`, lookups stop cleanly and the rest is unknown. A
secondary limit (403/429 with `retry-after`) is waited out, then the call retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100


@dataclass(frozen=True)
class RepoPulls:
    """What GitHub says about one repository's pull requests.

    `status` is "ok" (open PRs known), "gone" (the repository provably no longer exists) or
    "unknown" (GitHub could not tell; `detail` says why).
    """

    repo: str  # owner/name
    status: str
    open: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # number -> labels
    closed: Mapping[int, str] = field(default_factory=dict)  # confirmed: number -> closed|merged
    detail: str = ""


class LookupFailed(Exception):
    """One lookup failed; the repository it was for is unknown, the others go on."""


class StopLookups(LookupFailed):
    """Every further lookup would fail the same way (budget spent, token rejected)."""


class GitHubApi:
    """A small GitHub REST reader that counts its calls and respects rate limits."""

    def __init__(self, token: str, base_url: str = DEFAULT_API_URL, *,
                 session: requests.Session | None = None, min_remaining: int = 50,
                 max_wait: float = 60.0, timeout: float = 10.0, attempts: int = 3,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.update({
            "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "preview-vcluster-gc"})
        self.min_remaining = min_remaining
        self.max_wait = max_wait
        self.timeout = timeout
        self.attempts = attempts
        self.sleep = sleep
        self.calls = 0
        self.remaining: int | None = None
        self.reset: int | None = None

    def get(self, path: str, params: Mapping[str, str] | None = None,
            answers: Collection[int] = (404,)) -> requests.Response:
        """GET `path`: a 2xx answer or one of `answers`; LookupFailed / StopLookups otherwise."""
        url = path if path.startswith("http") else self.base_url + path
        for attempt in range(1, self.attempts + 1):
            if self.remaining is not None and self.remaining < self.min_remaining:
                raise StopLookups(f"GitHub rate-limit budget low ({self.remaining} requests "
                                  f"left, resets at {_clock(self.reset)})")
            try:
                self.calls += 1
                resp = self.session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as e:
                if attempt == self.attempts:
                    raise LookupFailed(f"GitHub did not answer ({type(e).__name__})") from e
                self.sleep(float(attempt))
                continue
            self._track(resp)
            if resp.status_code < 300 or resp.status_code in answers:
                return resp
            wait = self._limited(resp)
            if wait is not None:
                if wait > self.max_wait or attempt == self.attempts:
                    raise StopLookups(f"GitHub rate limit: asked to wait {wait:.0f}s")
                log.warning("GitHub secondary rate limit: waiting %.0fs", wait)
                self.sleep(wait)
                continue
            if resp.status_code == 401:
                raise StopLookups("GitHub rejected the token (401)")
            if resp.status_code >= 500 and attempt < self.attempts:
                self.sleep(float(attempt))
                continue
            raise LookupFailed(f"GitHub answered {resp.status_code} for {path}")
        raise AssertionError("unreachable")  # pragma: no cover

    def pages(self, path: str, params: Mapping[str, str]) -> list[list[Any]]:
        """Every page of a paginated list (following `Link: rel=next`)."""
        pages: list[list[Any]] = []
        url: str | None = path
        query: Mapping[str, str] | None = {**params, "per_page": str(PER_PAGE)}
        while url:
            resp = self.get(url, query)
            if resp.status_code == 404:
                raise NotFound(path)
            body = resp.json()
            pages.append(list(body.get("repositories", []) if isinstance(body, dict) else body))
            url = resp.links.get("next", {}).get("url")
            query = None  # the next link carries the query
        return pages

    def _track(self, resp: requests.Response) -> None:
        remaining = resp.headers.get("x-ratelimit-remaining", "")
        reset = resp.headers.get("x-ratelimit-reset", "")
        if remaining.isdigit():
            self.remaining = int(remaining)
        if reset.isdigit():
            self.reset = int(reset)

    def _limited(self, resp: requests.Response) -> float | None:
        """Seconds to wait when `resp` is a rate limit (None when it is not one)."""
        if resp.status_code not in (403, 429):
            return None
        retry_after = resp.headers.get("retry-after", "")
        if retry_after.isdigit():
            return float(retry_after)
        if resp.headers.get("x-ratelimit-remaining") == "0":
            reset = int(resp.headers.get("x-ratelimit-reset", "0") or 0)
            return max(reset - time.time(), 0.0) + 1.0
        if "rate limit" in resp.text.lower():
            return 60.0  # GitHub: without headers, wait at least a minute
        return None


class NotFound(Exception):
    """A 404 on a list: the thing does not exist, or the token may not see it."""


def lookup(api: GitHubApi, wanted: Mapping[str, Collection[int]]) -> dict[str, RepoPulls]:
    """The state of each repository in `wanted` (owner/name -> PR numbers of environments).

    One failing repository never stops the others; a StopLookups marks the rest unknown.
    """
    results: dict[str, RepoPulls] = {}
    owners = _Owners(api)
    stopped = ""
    for repo in sorted(wanted):
        if stopped:
            results[repo] = RepoPulls(repo, "unknown", detail=stopped)
            continue
        try:
            results[repo] = _repository(api, owners, repo, wanted[repo])
        except StopLookups as e:
            stopped = str(e)
            results[repo] = RepoPulls(repo, "unknown", detail=stopped)
        except LookupFailed as e:
            results[repo] = RepoPulls(repo, "unknown", detail=str(e))
        except (ValueError, KeyError, TypeError, AttributeError) as e:  # a malformed answer
            results[repo] = RepoPulls(repo, "unknown",
                                      detail=f"unexpected answer from GitHub ({e!r})")
    return results


def _may_have_slipped(number: int, pages: list[list[Any]]) -> bool:
    """Whether open PR `number` could be missing from `pages` because a PR closed while they
    were fetched: that shifts the later pages up, so what slips out lies between the last PR
    of one page and the first of the next. We ask for creation order, which is PR number
    order (numbers are given out in creation order); a server that answers newest first
    (GitHub's default) is handled the same way, and in any other order anything could have
    slipped."""
    if len(pages) < 2:
        return False  # one page was read at once: nothing can slip
    numbers = [[int(p["number"]) for p in page] for page in pages]
    flat = [n for page in numbers for n in page]
    if flat == sorted(flat):
        sign = 1
    elif flat == sorted(flat, reverse=True):
        sign = -1  # mirror the numbers: newest first becomes ascending
    else:
        return True
    mirrored = [[sign * n for n in page] for page in numbers]
    low = mirrored[0][-1] if mirrored and mirrored[0] else -float("inf")
    for page in mirrored[1:]:  # each boundary: the last PR seen, the next page's first
        high = page[0] if page else float("inf")
        if low < sign * number < high:
            return True
        low = page[-1] if page else low
    return False


def _repository(api: GitHubApi, owners: _Owners, repo: str,
                numbers: Collection[int]) -> RepoPulls:
    owner, _, name = repo.partition("/")
    try:
        pages = api.pages(f"/repos/{owner}/{name}/pulls",
                          {"state": "open", "sort": "created", "direction": "asc"})
    except NotFound:
        gone, why = owners.proves_gone(owner, name)
        return RepoPulls(repo, "gone" if gone else "unknown", detail=why)
    open_prs = {int(p["number"]): tuple(str(lb.get("name", "")) for lb in p.get("labels") or [])
                for page in pages for p in page}
    closed: dict[int, str] = {}
    for number in sorted(n for n in set(numbers) - set(open_prs) if _may_have_slipped(n, pages)):
            resp = api.get(f"/repos/{owner}/{name}/pulls/{number}")
            if resp.status_code == 404:
                closed[number] = "missing"
                continue
            pull = resp.json()
            if pull.get("state") == "open":
                open_prs[number] = tuple(str(lb.get("name", "")) for lb in
                                         pull.get("labels") or [])
            else:
                closed[number] = "merged" if pull.get("merged_at") else "closed"
    return RepoPulls(repo, "ok", open=open_prs, closed=closed,
                     detail=f"{len(open_prs)} open pull requests")


class _Owners:
    """Proof that a repository is gone, from what the token sees of its owner (cached)."""

    def __init__(self, api: GitHubApi) -> None:
        self.api = api
        self._installation: tuple[str, set[str]] | None = None  # selection, full names
        self._listings: dict[str, tuple[set[str], bool] | None] = {}  # owner -> names, private?

    def proves_gone(self, owner: str, name: str) -> tuple[bool, str]:
        full = f"{owner}/{name}".lower()
        installation = self._installation_repos()
        if installation is not None:
            selection, names = installation
            if selection != "all":
                return False, ("404 on the pull list, and the token is an App installation "
                               "token that sees only selected repositories (the Actions "
                               "GITHUB_TOKEN sees only its own): cannot tell gone from hidden")
            if not any(n.startswith(owner.lower() + "/") for n in names):
                return False, (f"404 on the pull list; the App installation does not cover "
                               f"{owner}: cannot tell gone from hidden")
            if full in names:
                return False, "404 on the pull list although the installation lists it"
            return True, (f"not among the repositories of {owner} that the App installation "
                          "(all repositories) sees, and its pull list answers 404")
        listing = self._listing(owner)
        if listing is None:
            return True, f"the account {owner} no longer exists"
        names, has_private = listing
        if full in names:
            return False, "404 on the pull list although the owner's list shows it"
        if not has_private:
            return False, (f"404 on the pull list; the token sees no private repository of "
                           f"{owner}, so a missing one may just be hidden")
        return True, (f"not in {owner}'s repository list (which this token reads, private "
                      "repositories included), and its pull list answers 404")

    def _installation_repos(self) -> tuple[str, set[str]] | None:
        if self._installation is None:
            # Only installation tokens may read this; a PAT gets 401/403 (not a failure here).
            url: str | None = "/installation/repositories"
            query: Mapping[str, str] | None = {"per_page": str(PER_PAGE)}
            selection, names = "none", set()
            while url:
                resp = self.api.get(url, query, answers=(401, 403, 404))
                if resp.status_code != 200:
                    break
                body = resp.json()
                selection = str(body.get("repository_selection") or "selected")
                names |= {str(r["full_name"]).lower() for r in body.get("repositories", [])}
                url, query = resp.links.get("next", {}).get("url"), None
            self._installation = (selection, names)
        return None if self._installation[0] == "none" else self._installation

    def _listing(self, owner: str) -> tuple[set[str], bool] | None:
        if owner not in self._listings:
            repos: list[Any] | None = None
            for path in (f"/orgs/{owner}/repos", f"/users/{owner}/repos"):
                try:
                    repos = [r for page in self.api.pages(path, {"type": "all"}) for r in page]
                    break
                except NotFound:
                    continue
            self._listings[owner] = None if repos is None else (
                {str(r["full_name"]).lower() for r in repos},
                any(r.get("private") for r in repos))
        return self._listings[owner]


def _clock(epoch: int | None) -> str:
    if epoch is None:
        return "an unknown time"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%H:%M:%S UTC")
