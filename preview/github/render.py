"""The comment's text: jinja2 templates in a sandbox, fitted under GitHub's size limit.

The templates see only the documented context below, built here from plain data; every
string from the pull request or its workloads passes the `inline` or `fenced` filter
(`preview.github.markdown`) in the template.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from preview.github import markdown
from preview.naming import EnvironmentLike, PullRequestLike
from preview.results import Diagnostics, UpResult

# GitHub rejects issue comments longer than 65,536 characters (422 "body is too long").
# Counted in UTF-16 code units (what a JavaScript length is), so an emoji in a log counts 2.
COMMENT_LIMIT = 65536
STATES = ("building", "ready", "failed", "torn_down", "refused", "misconfigured", "asleep")
# Tried in order until the comment fits: (log lines per pod, event lines per pod, pods shown).
_BUDGETS = ((100, 50, 20), (40, 20, 20), (20, 10, 10), (10, 5, 10), (5, 3, 5), (0, 3, 5),
            (0, 0, 3), (0, 0, 1))
_TEMPLATES = Path(__file__).parent / "templates"
_HELM_DEPLOYED = re.compile(r"(STATUS: )?(revision \d+ )?deployed\b")
_SHA = re.compile(r"[0-9a-f]{7,40}")
GITHUB = "https://github.com"


@dataclass(frozen=True)
class CommentInput:
    """Everything one comment shows."""

    marker: str  # "" for a section of the PR's comment (comments.py adds the marker)
    state: str  # one of STATES
    pr: PullRequestLike
    env: EnvironmentLike
    result: UpResult | None = None
    removed_in: float | None = None  # seconds `down` took, when known
    refusal: tuple[str, str] = ("", "")  # state refused: why, and what a maintainer can do
    now: dt.datetime | None = None  # for "in 7 days"; without it only the date is shown
    removed_because: str = ""  # state torn_down: why, and how to bring it back
    cost: str = ""  # states ready, asleep: "1.23 USD so far (0.41 USD a day)"; "": no rates
    url: str = ""  # state asleep (no UpResult): the environment's URL
    asleep_since: str = ""  # state asleep: RFC 3339
    wake_command: str = ""  # state asleep: the command that wakes it
    url_wakes: bool = False  # state asleep: a request to the URL wakes it (the wake page)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(_TEMPLATES), undefined=StrictUndefined,
                               autoescape=False, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True)
    env.filters["inline"] = markdown.inline
    env.filters["fenced"] = markdown.fenced
    return env


def render_comment(data: CommentInput, limit: int = COMMENT_LIMIT) -> str:
    """The Markdown body of the sticky comment, never longer than `limit` characters."""
    if data.state not in STATES:
        raise ValueError(f"unknown comment state {data.state!r}")
    template = _environment().get_template("comment.md.j2")
    body = ""
    for budget in _BUDGETS:
        context = _context(data, *budget)
        body = template.render(context)
        if length(body) <= limit:
            return body
    # Only oversized non-log fields (a giant summary) get here: cut and say so.
    note = "\n\n…(cut to fit GitHub's comment size limit)\n"
    while length(body) > limit - length(note):
        body = body[: len(body) - (length(body) - limit + length(note)) // 2 - 1]
    return body + note


def length(text: str) -> int:
    """Length as GitHub counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _context(data: CommentInput, log_lines: int, event_lines: int, max_pods: int
             ) -> Mapping[str, Any]:
    pr, env, result = data.pr, data.env, data.result
    diagnostics = result.diagnostics if result is not None else None
    pods, truncated, omitted = _pods(diagnostics, log_lines, event_lines, max_pods)
    phases = [(name, f"{seconds:.1f}") for name, seconds in (result.phases.items()
                                                              if result else ())]
    # helm's status only when helm is what failed: "revision 1 deployed" in a failure is noise.
    helm_lines = diagnostics.helm_status.splitlines() \
        if diagnostics and not _HELM_DEPLOYED.match(diagnostics.helm_status) else []
    if len(helm_lines) > 3 * max(log_lines, 10):
        helm_lines, truncated = helm_lines[-3 * max(log_lines, 10):], True
    url = result.url if result else data.url
    return {
        "marker": data.marker,
        "state": data.state,
        "pr": {"number": pr.number, "branch": pr.branch, "author": pr.author,
               "title": pr.title, "short_sha": pr.head_sha[:7],
               "commit_url": markdown.url(commit_url(f"{pr.owner}/{pr.repo}", pr.head_sha,
                                                     pr.run_url))},
        "env": {"name": env.name, "namespace": env.namespace, "vcluster": env.vcluster},
        "run_url": markdown.url(pr.run_url),
        "url_text": markdown.inline(url, 500),
        "url_href": markdown.url(url),
        "other_urls": [{"text": markdown.inline(other, 500), "href": markdown.url(other)}
                       for other in (result.other_urls if result else ())],
        "expires_at": expiry(result.expires_at, data.now) if result else "",
        "kubeconfig_hint": result.kubeconfig_hint if result else "",
        "phases": phases,
        "total": f"{sum(result.phases.values()):.1f}" if result else "0",
        "diagnostics": ({"summary": diagnostics.sentence, "pods": pods}
                        if diagnostics is not None else None),
        "pods_omitted": omitted,
        "helm_status": helm_lines,
        "truncated": truncated,
        "removed_in": f"{data.removed_in:.1f}" if data.removed_in is not None else "",
        "refusal": {"why": data.refusal[0], "hint": data.refusal[1]},
        "removed_because": data.removed_because,
        "cost": data.cost or (result.cost if result else ""),
        "asleep_since": expiry(data.asleep_since, None) if data.asleep_since else "",
        "wake_command": data.wake_command,
        "url_wakes": data.url_wakes,
    }


def commit_url(full_name: str, sha: str, run_url: str) -> str:
    """The commit's page (pure): on the GitHub the run link names (GITHUB_SERVER_URL, so
    GHES too) when that link is of this repository, else on github.com; "" when `sha` is
    not a commit SHA."""
    if not _SHA.fullmatch(sha):
        return ""
    server, sep, _ = run_url.partition(f"/{full_name}/actions/runs/")
    return f"{server if sep and server else GITHUB}/{full_name}/commit/{sha}"


def expiry(expires_at: str, now: dt.datetime | None) -> str:
    """"in 7 days (Sat 13 Dec, 01:04 UTC)" for an RFC 3339 time (pure); the text as it is
    when it is not one."""
    try:
        moment = dt.datetime.fromisoformat(expires_at.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return expires_at
    when = moment.strftime("%a %d %b, %H:%M UTC")
    if now is None:
        return when
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return f"expired ({when})"
    # Days from two days on, hours from two hours on, else minutes: "in 36 hours", not "in
    # 2 days", for a TTL of 36h.
    unit, size = (("day", 86400) if seconds >= 2 * 86400 else
                  ("hour", 3600) if seconds >= 2 * 3600 else ("minute", 60))
    count = max(round(seconds / size), 1)
    return f"in {count} {unit}{'s' if count > 1 else ''} ({when})"


def _pods(diagnostics: Diagnostics | None, log_lines: int, event_lines: int, max_pods: int
          ) -> tuple[list[dict[str, Any]], bool, int]:
    if diagnostics is None:
        return [], False, 0
    truncated = False
    pods = []
    for problem in diagnostics.pods[:max_pods]:
        logs = list(problem.logs[-log_lines:]) if log_lines else []
        events = list(problem.events[-event_lines:]) if event_lines else []
        truncated |= len(logs) < len(problem.logs) or len(events) < len(problem.events)
        pods.append({"pod": problem.pod, "container": problem.container,
                     "reason": problem.reason, "message": problem.message,
                     "events": events, "logs": logs,
                     "logs_omitted": len(problem.logs) - len(logs)})
    omitted = max(len(diagnostics.pods) - max_pods, 0)
    return pods, truncated or omitted > 0, omitted
