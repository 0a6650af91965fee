"""The one way preview-vcluster talks to GitHub: a small REST transport over `requests`.

Every HTTP request to GitHub goes through `GitHub` (the sticky comment, deployments, the
GC's pull request lookups), so the rules are decided here and nowhere else:

- Answers become typed errors once, here: `Unauthorized` (401), `Forbidden` (403 that is not
  a rate limit), `NotFound` (404), `Conflict` (409), `Invalid` (422), `RateLimited` (a rate
  limit we will not wait out), `Unavailable` (5xx or no answer, after the retries),
  `BudgetLow` (the caller's rate-limit floor was reached). Callers catch a type; nobody
  compares status codes.
- Idempotent requests (GET, PUT, PATCH of a whole body, DELETE) are retried on 5xx, timeouts
  and reset connections, with a doubling backoff, and after a rate limit as long as GitHub
  says (`Retry-After`; else `x-ratelimit-reset` when `x-ratelimit-remaining` is 0; else a
  minute), unless that is longer than `RetryPolicy.max_wait`: then `RateLimited`.
- POST is sent once per outcome we know of (`create`): a rate-limited POST was not processed
  and is sent again after the wait; after a 5xx or a timeout the POST may have succeeded, so
  `refind` is asked first, and the POST is repeated only if nothing was created.
- Lists follow `Link: rel="next"` (on the API's own host only: the token never leaves it).
- Writes are paced one second apart (GitHub's advice against secondary rate limits).
- The API's base URL is `GITHUB_API_URL` (set by Actions, GHES too), else api.github.com.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from preview.errors import PreviewError

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
ACTIONS_BOT_LOGIN = "github-actions[bot]"
PER_PAGE = 100  # GitHub's maximum: busy PRs have many comments
WRITE_INTERVAL = 1.0  # seconds between writes (GitHub: "Best practices for using the REST API")

T = TypeVar("T")
Sleep = Callable[[float], None]


class GitHubError(PreviewError):
    """A GitHub API call failed (after the retries that were safe to make).

    `status` is the HTTP status GitHub answered, None when it did not answer.
    """

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class Unauthorized(GitHubError):
    """401: the token is missing, invalid or expired."""


class Forbidden(GitHubError):
    """403 that is not a rate limit: the token lacks a permission (or the integration may not
    call this endpoint at all, as `GET /user` with the Actions `GITHUB_TOKEN`)."""


class NotFound(GitHubError):
    """404: the thing does not exist, or this token may not see it (GitHub does not say)."""


class Conflict(GitHubError):
    """409: e.g. a deployment whose required commit statuses are not green."""


class Invalid(GitHubError):
    """422: GitHub refused the request's content."""


class RateLimited(GitHubError):
    """A rate limit we will not wait out; `wait` is how long GitHub asked for (seconds)."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None,
                 wait: float = 0.0) -> None:
        super().__init__(message, hint, status)
        self.wait = wait


class BudgetLow(GitHubError):
    """Not sent: fewer requests are left in the rate-limit budget than the caller keeps."""


class Unavailable(GitHubError):
    """GitHub answered 5xx, or did not answer (timeout, reset connection), every time."""


_BY_STATUS: dict[int, tuple[type[GitHubError], str | None]] = {
    401: (Unauthorized, "the token is invalid or expired: check --github-token / GITHUB_TOKEN"),
    403: (Forbidden, "the token lacks a permission: the workflow needs `pull-requests: write`, "
                     "`issues: write` and `deployments: write` (see docs/github.md)"),
    404: (NotFound, "the repository or pull request is not visible to this token"),
    409: (Conflict, None),
    422: (Invalid, None),
}


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `sleep` is injectable so tests observe waits instead of sleeping."""

    attempts: int = 5
    backoff: float = 1.0  # seconds before the second attempt, doubled per attempt
    max_wait: float = 120.0  # never wait longer than this for a rate limit: give up instead
    secondary_wait: float = 60.0  # GitHub: wait at least a minute when no header says how long
    # How long another run may take between reading the comment and writing it back: a
    # section is checked again this long after it was written (comments.StickyComment).
    settle: float = 3.0
    sleep: Sleep = time.sleep


def api_url(environ: Mapping[str, str]) -> str:
    """GitHub's REST base URL: `GITHUB_API_URL` (set by Actions, GHES too) or api.github.com."""
    return (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def rate_limit_wait(headers: Mapping[str, str], now: float, default: float) -> float:
    """Seconds to wait after a rate-limited answer, per GitHub's "Rate limits" docs.

    `Retry-After` wins; else, with `x-ratelimit-remaining: 0`, until `x-ratelimit-reset`; else
    at least `default` (GitHub: one minute).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    retry_after = lower.get("retry-after", "")
    if retry_after.strip().isdigit():
        return float(retry_after)
    reset = lower.get("x-ratelimit-reset", "")
    if lower.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return max(float(reset) - now, 0.0) + 1.0
    return default


def is_rate_limited(status: int, headers: Mapping[str, str], message: str) -> bool:
    """A 403/429 that is a rate limit: GitHub did not process the request."""
    if status not in (403, 429):
        return False
    lower = {k.lower(): v for k, v in headers.items()}
    return (status == 429 or "retry-after" in lower or "rate limit" in message.lower()
            or lower.get("x-ratelimit-remaining") == "0")


class GitHub:
    """One token at one API URL. Counts its requests and reads the rate-limit budget from
    every answer (`calls`, `remaining`, `reset`).

    `min_remaining` keeps a floor under the budget: a request that would spend it raises
    `BudgetLow` instead of being sent (the GC stops its lookups cleanly). `pace_writes=False`
    drops the pause between writes; tests turn it off, production keeps it.
    """

    def __init__(self, token: str, base_url: str = DEFAULT_API_URL,
                 policy: RetryPolicy | None = None, *, timeout: float = 20.0,
                 pace_writes: bool = True, min_remaining: int = 0,
                 user_agent: str = "preview-vcluster",
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.pace_writes = pace_writes
        self.min_remaining = min_remaining
        self.session = session or requests.Session()
        self.session.headers.update({
            "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28", "User-Agent": user_agent})
        self.calls = 0
        self.remaining: int | None = None
        self.reset: int | None = None
        self._last_write = 0.0

    @classmethod
    def from_env(cls, token: str, environ: Mapping[str, str], **kwargs: Any) -> GitHub:
        """A transport at `GITHUB_API_URL` (or api.github.com)."""
        return cls(token, api_url(environ), **kwargs)

    # -- idempotent requests, retried --------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `path` (relative to the API) and return its JSON."""
        return self._retried("GET", path, params=params).json()

    def bodies(self, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
        """The JSON of every page of a paginated answer, following `Link: rel="next"`."""
        bodies: list[Any] = []
        url: str | None = path
        query: Mapping[str, str] | None = {"per_page": str(PER_PAGE), **(params or {})}
        while url:
            resp = self._retried("GET", url, params=query)
            bodies.append(resp.json())
            url = resp.links.get("next", {}).get("url")
            query = None  # the next link carries the query
        return bodies

    def pages(self, path: str, params: Mapping[str, str] | None = None) -> list[list[Any]]:
        """Every page of a list (each page's items, in GitHub's order)."""
        return [list(body) for body in self.bodies(path, params)]

    def items(self, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
        """Every item of a paginated list."""
        return [item for page in self.pages(path, params) for item in page]

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        """PATCH with a whole replacement (so repeating it is safe) and return its JSON."""
        return self._retried("PATCH", path, json=body).json()

    def delete(self, path: str) -> None:
        self._retried("DELETE", path)

    # -- POST, sent once ---------------------------------------------------------------------

    def create(self, path: str, body: Mapping[str, Any], refind: Callable[[], T | None],
               what: str) -> Any:
        """POST at most once per outcome we know of: never create a duplicate by retrying.

        - Rate limited: the POST was not processed; wait as GitHub says and post again.
        - 5xx, timeout, reset connection: the POST may have succeeded. Wait, then `refind`;
          post again only if that found nothing (else return what it found).
        - Anything else (401, 403, 404, 409, 422): raise now, it will not get better.
        """
        policy = self.policy
        delay = policy.backoff
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            try:
                return self._once("POST", path, json=body).json()
            except RateLimited as e:
                if last or e.wait > policy.max_wait:
                    raise
                log.warning("GitHub: %s: rate limited, retrying in %.0fs", what, e.wait)
                policy.sleep(e.wait)
                continue
            except Unavailable as e:
                if last:
                    raise
                log.warning("GitHub: %s: %s, checking whether it was created", what,
                            e.status or "no answer")
            policy.sleep(delay)
            delay = min(delay * 2, policy.max_wait)
            found = refind()
            if found is not None:
                return found
        raise AssertionError("unreachable")  # the last attempt returns or raises

    # -- who we are --------------------------------------------------------------------------

    def login(self) -> str:
        """The login our comments are written as.

        `GET /user` answers 403 "Resource not accessible by integration" to the Actions
        `GITHUB_TOKEN` (and to app installation tokens): what they write is by
        `github-actions[bot]`.
        """
        try:
            return str(self.get("/user")["login"])
        except Forbidden:
            return ACTIONS_BOT_LOGIN

    # -- the rules ---------------------------------------------------------------------------

    def _retried(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        policy = self.policy
        delay = policy.backoff
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            try:
                return self._once(method, path, **kwargs)
            except RateLimited as e:
                if last or e.wait > policy.max_wait:
                    raise
                log.warning("GitHub: %s %s: rate limited, retrying in %.0fs", method, path,
                            e.wait)
                policy.sleep(e.wait)
            except Unavailable:
                if last:
                    raise
                policy.sleep(delay)
                delay = min(delay * 2, policy.max_wait)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _once(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request; any answer but 2xx becomes the error of its type."""
        url = self._url(path)
        what = f"{method} {urlsplit(url).path}"
        if self.remaining is not None and self.remaining < self.min_remaining:
            raise BudgetLow(f"GitHub rate-limit budget low ({self.remaining} requests left, "
                            f"resets at {_clock(self.reset)})",
                            "the next run goes on; or give a token with a larger budget")
        if method != "GET":
            self._pace()
        self.calls += 1
        try:
            resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as e:
            raise Unavailable(f"GitHub did not answer {what} ({type(e).__name__})",
                              "check GITHUB_API_URL and the network; the next run retries"
                              ) from e
        self._track(resp)
        if resp.status_code < 300:
            return resp
        raise self._error(resp, what)

    def _error(self, resp: requests.Response, what: str) -> GitHubError:
        status = resp.status_code
        message = _message(resp)
        if is_rate_limited(status, resp.headers, message):
            wait = rate_limit_wait(resp.headers, time.time(), self.policy.secondary_wait)
            return RateLimited(f"GitHub answered {status} to {what}: rate limited, asked to "
                               f"wait {wait:.0f}s",
                               "wait for the limit to reset; the next run retries", status,
                               wait=wait)
        if status >= 500:
            return Unavailable(f"GitHub answered {status} to {what}: {message}",
                               "GitHub is failing; the next run retries", status)
        kind, hint = _BY_STATUS.get(status, (GitHubError, None))
        return kind(f"GitHub answered {status} to {what}: {message}", hint, status)

    def _url(self, path: str) -> str:
        if not path.startswith(("http://", "https://")):
            return self.base_url + path
        # A pagination link: it must stay on the API's host, the token goes with it.
        if urlsplit(path).netloc != urlsplit(self.base_url).netloc:
            raise GitHubError(f"GitHub: a link points away from {self.base_url}: {path}",
                              "check GITHUB_API_URL: it must be the API's own address")
        return path

    def _pace(self) -> None:
        if self.pace_writes:
            wait = self._last_write + WRITE_INTERVAL - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last_write = time.monotonic()

    def _track(self, resp: requests.Response) -> None:
        remaining = resp.headers.get("x-ratelimit-remaining", "")
        reset = resp.headers.get("x-ratelimit-reset", "")
        if remaining.isdigit():
            self.remaining = int(remaining)
        if reset.isdigit():
            self.reset = int(reset)


def _message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return resp.text[:200]


def _clock(epoch: int | None) -> str:
    if epoch is None:
        return "an unknown time"
    return time.strftime("%H:%M:%S UTC", time.gmtime(epoch))
