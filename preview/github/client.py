"""The one way preview-vcluster talks to GitHub: a PyGithub client with safe retries.

Retries are decided here and nowhere else:

- Idempotent requests (GET, PUT, PATCH of a whole comment body, DELETE) are retried by
  urllib3 inside PyGithub on 5xx, 429, timeouts and rate limits, honouring `Retry-After` and,
  for the primary limit, `x-ratelimit-reset` (PyGithub's `GithubRetry`).
- POST is *not* in urllib3's allowed methods: PyGithub's default retry repeats POSTs, and a
  POST answered 502 may still have created the comment or deployment. `create_once` retries a
  POST only when GitHub said it was rate limited (the request was not processed); after a 5xx or
  a timeout it first asks `refind` whether the object exists, and only posts again if not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry

from preview.errors import PreviewError

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
ACTIONS_BOT_LOGIN = "github-actions[bot]"
# Methods that are safe to repeat: POST is absent on purpose (see the module docstring).
# PATCH is here because every PATCH we send replaces a whole comment body.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

T = TypeVar("T")
Sleep = Callable[[float], None]


class GitHubError(PreviewError):
    """A GitHub API call failed (after the retries that were safe to make)."""

    def __init__(self, message: str, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `sleep` is injectable so tests observe waits instead of sleeping."""

    attempts: int = 5
    backoff: float = 1.0  # seconds, doubled per attempt
    max_wait: float = 120.0  # never wait longer than this for a rate limit: give up instead
    secondary_wait: float = 60.0  # GitHub: wait at least a minute when no header says how long
    # How long another run may take between reading the comment and writing it back: a
    # section is checked again this long after it was written (comments.StickyComment).
    settle: float = 3.0
    sleep: Sleep = time.sleep


class _Retry(GithubRetry):
    """GithubRetry whose waits go through an injectable sleep function."""

    def __init__(self, sleep: Sleep = time.sleep, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sleep_fn = sleep

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry._sleep_fn = self._sleep_fn
        return retry

    def sleep(self, response: Any = None) -> None:
        delay = 0.0
        if self.respect_retry_after_header and response is not None:
            delay = self.get_retry_after(response) or 0.0
        if not delay:
            delay = self.get_backoff_time()
        if delay > 0:
            self._sleep_fn(delay)


def api_url(environ: Mapping[str, str]) -> str:
    """GitHub's REST base URL: `GITHUB_API_URL` (set by Actions, GHES too) or api.github.com."""
    return (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def connect(token: str, base_url: str, policy: RetryPolicy | None = None, *,
            timeout: float = 20.0, pace_writes: bool = True) -> Github:
    """A PyGithub client for `base_url`, retrying only what is safe to repeat.

    `pace_writes=False` drops PyGithub's 1 s pause between writes (GitHub's advice against
    secondary rate limits); tests turn it off, production keeps it.
    """
    policy = policy or RetryPolicy()
    retry = _Retry(
        sleep=policy.sleep,
        total=policy.attempts,
        backoff_factor=policy.backoff,
        backoff_max=policy.max_wait,
        secondary_rate_wait=policy.secondary_wait,
        max_rate_limit_wait=policy.max_wait,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=[*range(500, 600), 429],
        raise_on_status=False,  # the last answer reaches PyGithub, which raises with its body
    )
    return Github(auth=Auth.Token(token), base_url=base_url, retry=retry, timeout=int(timeout),
                  lazy=True, per_page=100,  # GitHub's maximum: busy PRs have many comments
                  seconds_between_requests=0.25 if pace_writes else None,
                  seconds_between_writes=1.0 if pace_writes else None)


def bot_login(gh: Github) -> str:
    """The login our comments are written as.

    `GET /user` answers 403 "Resource not accessible by integration" to the Actions
    `GITHUB_TOKEN` (and to app installation tokens): comments it writes are by
    `github-actions[bot]`.
    """
    try:
        return str(call(lambda: gh.get_user().login, "GET /user"))
    except GitHubError as e:
        if e.status == 403:
            return ACTIONS_BOT_LOGIN
        raise


def call(fn: Callable[[], T], what: str) -> T:
    """Run one idempotent PyGithub call (already retried by urllib3), wrapping failures once."""
    try:
        return fn()
    except GithubException as e:
        raise wrap(e, what) from e
    except requests.RequestException as e:
        raise GitHubError(f"GitHub: {what}: {e.__class__.__name__}: {e}",
                          "check GITHUB_API_URL and the network; the call is retried on the "
                          "next run") from e


def wrap(e: GithubException, what: str) -> GitHubError:
    message = (e.data or {}).get("message") if isinstance(e.data, dict) else None
    hint = {
        401: "the token is invalid or expired: check --github-token / GITHUB_TOKEN",
        403: "the token lacks a permission: the workflow needs `pull-requests: write`, "
             "`issues: write` and `deployments: write` (see docs/github.md)",
        404: "the repository or pull request is not visible to this token",
    }.get(e.status)
    return GitHubError(f"GitHub: {what}: {e.status} {message or e.data}", hint, e.status)


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


def is_rate_limited(e: GithubException) -> bool:
    """A 403/429 that says "rate limit": GitHub did not process the request."""
    if e.status not in (403, 429):
        return False
    headers = {k.lower(): v for k, v in (e.headers or {}).items()}
    message = str((e.data or {}).get("message", "")) if isinstance(e.data, dict) else ""
    return (e.status == 429 or "retry-after" in headers or "rate limit" in message.lower()
            or headers.get("x-ratelimit-remaining") == "0")


def create_once(post: Callable[[], T], refind: Callable[[], T | None], what: str,
                policy: RetryPolicy) -> T:
    """POST at most once per outcome we know of: never create a duplicate by retrying blindly.

    - Rate limited: the POST was not processed; wait as GitHub says and post again.
    - 5xx, timeout, reset connection: the POST may have succeeded. Wait, then `refind`; post
      again only if nothing was created.
    - Anything else (401, 403 permission, 404, 409, 422): fail now, it will not get better.
    """
    delay = policy.backoff
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        try:
            return post()
        except GithubException as e:
            if is_rate_limited(e):
                wait = rate_limit_wait(e.headers or {}, time.time(), policy.secondary_wait)
                if last or wait > policy.max_wait:
                    raise wrap(e, what) from e
                log.warning("GitHub: %s: rate limited, retrying in %.0fs", what, wait)
                policy.sleep(wait)
                continue
            if e.status < 500 or last:
                raise wrap(e, what) from e
            log.warning("GitHub: %s: %s, checking whether it was created", what, e.status)
        except (requests.Timeout, requests.ConnectionError) as e:
            if last:
                raise GitHubError(f"GitHub: {what}: {e.__class__.__name__}",
                                  "GitHub did not answer; the next run will retry") from e
            log.warning("GitHub: %s: %s, checking whether it was created", what,
                        e.__class__.__name__)
        policy.sleep(delay)
        delay = min(delay * 2, policy.max_wait)
        found = refind()
        if found is not None:
            return found
    raise AssertionError("unreachable")  # the last attempt returns or raises
