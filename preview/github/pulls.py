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

Every request goes through `preview.github.client` (retries, rate limits, typed errors); the
GC's transport (`gc_transport`) keeps a floor of 50 requests under the rate-limit budget:
when the budget falls under it, lookups stop cleanly and the rest is unknown. A secondary
limit (403/429 with `retry-after`) is waited out, then the call retried; a wait longer than a
minute stops the lookups.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from preview.github import client
from preview.github.client import GitHub

log = logging.getLogger(__name__)

# The GC's patience: three tries, and a rate limit longer than a minute stops the lookups.
GC_POLICY = client.RetryPolicy(attempts=3, max_wait=60.0)


def gc_transport(token: str, environ: Mapping[str, str], **kwargs: Any) -> GitHub:
    """The GC's transport: reads only, a floor of 50 requests under the rate-limit budget."""
    kwargs.setdefault("policy", GC_POLICY)
    kwargs.setdefault("min_remaining", 50)
    return GitHub.from_env(token, environ, timeout=10.0, user_agent="preview-vcluster-gc",
                           **kwargs)


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


# Every further lookup would fail the same way: the budget is spent, the token rejected, or
# GitHub asked us to wait longer than we will.
_STOPS = (client.BudgetLow, client.Unauthorized, client.RateLimited)


def lookup(api: GitHub, wanted: Mapping[str, Collection[int]]) -> dict[str, RepoPulls]:
    """The state of each repository in `wanted` (owner/name -> PR numbers of environments).

    One failing repository never stops the others; a rejected token, a spent budget or a
    long rate limit marks the rest unknown without asking.
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
        except _STOPS as e:
            stopped = e.message
            results[repo] = RepoPulls(repo, "unknown", detail=stopped)
        except client.GitHubError as e:
            results[repo] = RepoPulls(repo, "unknown", detail=e.message)
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


def _repository(api: GitHub, owners: _Owners, repo: str,
                numbers: Collection[int]) -> RepoPulls:
    owner, _, name = repo.partition("/")
    try:
        pages = api.pages(f"/repos/{owner}/{name}/pulls",
                          {"state": "open", "sort": "created", "direction": "asc"})
    except client.NotFound:
        gone, why = owners.proves_gone(owner, name)
        return RepoPulls(repo, "gone" if gone else "unknown", detail=why)
    open_prs = {int(p["number"]): tuple(str(lb.get("name", "")) for lb in p.get("labels") or [])
                for page in pages for p in page}
    closed: dict[int, str] = {}
    for number in sorted(n for n in set(numbers) - set(open_prs) if _may_have_slipped(n, pages)):
            try:
                pull = api.get(f"/repos/{owner}/{name}/pulls/{number}")
            except client.NotFound:
                closed[number] = "missing"
                continue
            if pull.get("state") == "open":
                open_prs[number] = tuple(str(lb.get("name", "")) for lb in
                                         pull.get("labels") or [])
            else:
                closed[number] = "merged" if pull.get("merged_at") else "closed"
    return RepoPulls(repo, "ok", open=open_prs, closed=closed,
                     detail=f"{len(open_prs)} open pull requests")


class _Owners:
    """Proof that a repository is gone, from what the token sees of its owner (cached)."""

    def __init__(self, api: GitHub) -> None:
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
            selection, names = "none", set()
            try:
                bodies = self.api.bodies("/installation/repositories")
            except (client.Unauthorized, client.Forbidden, client.NotFound):
                pass
            else:
                selection = str(bodies[0].get("repository_selection") or "selected")
                names = {str(r["full_name"]).lower() for body in bodies
                         for r in body.get("repositories", [])}
            self._installation = (selection, names)
        return None if self._installation[0] == "none" else self._installation

    def _listing(self, owner: str) -> tuple[set[str], bool] | None:
        if owner not in self._listings:
            repos: list[Any] | None = None
            for path in (f"/orgs/{owner}/repos", f"/users/{owner}/repos"):
                try:
                    repos = self.api.items(path, {"type": "all"})
                    break
                except client.NotFound:
                    continue
            self._listings[owner] = None if repos is None else (
                {str(r["full_name"]).lower() for r in repos},
                any(r.get("private") for r in repos))
        return self._listings[owner]
