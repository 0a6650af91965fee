"""The sticky comment: one per pull request, found by an HTML marker and its author, with
a section per environment (`pr-7`, `pr-7-api`, `pr-7-web`), each written by its own runs.

Ownership is proven by both: the exact marker line *and* the login we write as. A comment that
quotes our marker but was written by someone else is never edited or deleted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from preview.github.client import GitHub, GitHubError, NotFound
from preview.github.render import COMMENT_LIMIT

log = logging.getLogger(__name__)

MARKER_PREFIX = "<!-- preview-vcluster:v1 "
_SECTION = "<!-- preview-vcluster:env {} -->"
_SECTION_END = "<!-- preview-vcluster:end {} -->"
_SEPARATOR = "\n\n---\n\n"
# Racing runs of two environments each rewrite the comment with their own section: read it
# back a moment later, and write again while ours is not what we wrote (the other run's
# write won).
CONVERGE_ATTEMPTS = 5


def marker(repo_full_name: str, pr: int) -> str:
    """The first line of our comment on one PR: one comment, a section per environment."""
    return f"{MARKER_PREFIX}repo={repo_full_name} pr={pr} -->"


def _legacy(marker_line: str) -> str:
    """How a comment of one environment began before environments shared a comment
    (`… pr=N env=pr-N -->`): such a comment is ours, and becomes that environment's section."""
    return marker_line.removesuffix(" -->") + " env="


def sections(body: str, marker_line: str) -> dict[str, str]:
    """The sections of our comment, by environment name (pure)."""
    lines = body.splitlines()
    if lines and lines[0].startswith(_legacy(marker_line)) and lines[0].endswith(" -->"):
        name = lines[0][len(_legacy(marker_line)):-len(" -->")]
        return {name: "\n".join(lines[1:]).strip("\n")}
    found: dict[str, str] = {}
    name, taken = "", list[str]()
    for line in lines:
        if not name and line.startswith("<!-- preview-vcluster:env ") and line.endswith(" -->"):
            name, taken = line[len("<!-- preview-vcluster:env "):-len(" -->")], []
        elif name and line == _SECTION_END.format(name):
            found[name] = "\n".join(taken).strip("\n")
            name = ""
        elif name:
            taken.append(line)
    return found


def compose(marker_line: str, by_environment: dict[str, str]) -> str:
    """Our comment: the marker, then each environment's section in name order (pure)."""
    parts = [f"{_SECTION.format(name)}\n{text}\n{_SECTION_END.format(name)}"
             for name, text in sorted(by_environment.items())]
    return f"{marker_line}\n" + _SEPARATOR.join(parts) + "\n"


def overhead(name: str) -> int:
    """Characters a section's delimiters and separator add to the comment."""
    return len(_SECTION.format(name)) + len(_SECTION_END.format(name)) + len(_SEPARATOR) + 2


@dataclass(frozen=True)
class Found:
    """A comment as far as ownership is concerned."""

    id: int
    author: str
    created_at: str  # ISO 8601, comparable as text
    body: str


def is_ours(comment: Found, marker_line: str, author: str) -> bool:
    """Our comment: the exact marker as its first line (or an older comment's marker of one
    of this PR's environments), written by `author`."""
    first = (comment.body.splitlines() or [""])[0]
    return comment.author == author and (
        first == marker_line or (first.startswith(_legacy(marker_line)) and
                                 first.endswith(" -->")))


def plan(comments: Sequence[Found], marker_line: str, author: str) -> tuple[Found | None,
                                                                          list[Found]]:
    """Which comment to keep (the oldest of ours) and which duplicates to delete.

    Racing runs each create one; every run agrees on "oldest by (created_at, id)", so they all
    keep the same one.
    """
    ours = sorted((c for c in comments if is_ours(c, marker_line, author)),
                  key=lambda c: (c.created_at, c.id))
    return (ours[0], ours[1:]) if ours else (None, [])


@dataclass(frozen=True)
class StickyComment:
    """The sticky comment of one pull request of `repo` (owner/name), holding a section per
    environment."""

    gh: GitHub
    repo: str
    pr: int
    marker: str
    author: str

    def upsert(self, environment: str, render: Callable[[int], str]) -> int:
        """Make our comment's section of `environment` say `render(limit)` (the section's
        text in at most `limit` characters, what the other sections leave of GitHub's
        limit): create the comment once, update it in place, keep the other environments'
        sections, fold duplicates into the oldest. Returns the id of the comment."""
        policy = self.gh.policy
        for attempt in range(1, CONVERGE_ATTEMPTS + 1):
            keep, extra = self._find()
            merged: dict[str, str] = {}
            for comment in [*reversed(extra), *([keep] if keep else [])]:
                merged.update(sections(comment.body, self.marker))  # the oldest wins
            merged.pop(environment, None)
            room = COMMENT_LIMIT - len(self.marker) - 1 - overhead(environment) - sum(
                len(text) + overhead(name) for name, text in merged.items())
            text = render(max(room, 1000)).strip("\n")
            body = compose(self.marker, {**merged, environment: text})
            if keep is None:
                created = self.gh.create(
                    f"/repos/{self.repo}/issues/{self.pr}/comments", {"body": body},
                    refind=lambda: self._find()[0],
                    what=f"create comment on #{self.pr}")
                # A run racing us may have created one too: look again and keep the oldest.
                keep, extra = self._find()
                if keep is None:  # not listed yet; ours exists, nothing to deduplicate
                    return int(created["id"] if isinstance(created, dict) else created.id)
                if extra:
                    continue  # fold the duplicates (ours among them, maybe) into the oldest
            else:
                if keep.body != body:
                    self.gh.patch(self._url(keep), {"body": body})
                for duplicate in extra:
                    self._delete(duplicate)
            # GitHub has no conditional write: a run of another environment that read the
            # comment before our write may still write its stale copy back. Look again once
            # such a write would have landed; ours gone means write it again.
            if policy.settle > 0:
                policy.sleep(policy.settle)
            now, _ = self._find()
            if now is not None and sections(now.body, self.marker).get(environment) == text:
                return int(now.id)
            log.info("comment on #%s: another environment's run wrote at the same time; "
                     "writing %s again (attempt %d)", self.pr, environment, attempt)
            policy.sleep(policy.backoff * attempt)
        raise GitHubError(f"GitHub: comment on #{self.pr}: the section of {environment} was "
                          f"overwritten {CONVERGE_ATTEMPTS} times by other runs",
                          "the next run writes it again")

    def _find(self) -> tuple[Found | None, list[Found]]:
        comments = self.gh.items(f"/repos/{self.repo}/issues/{self.pr}/comments")
        return plan([_found(c) for c in comments], self.marker, self.author)

    def _url(self, comment: Found) -> str:
        return f"/repos/{self.repo}/issues/comments/{comment.id}"

    def _delete(self, comment: Found) -> None:
        """Delete a duplicate of ours (plan() returns only ours); already gone is fine."""
        if not is_ours(comment, self.marker, self.author):
            raise AssertionError(f"refusing to delete comment {comment.id}: not ours")
        with contextlib.suppress(NotFound):  # a racing run deleted it first
            self.gh.delete(self._url(comment))
        log.info("deleted duplicate preview comment %s on #%s", comment.id, self.pr)


def _found(comment: Any) -> Found:
    user = comment.get("user") or {}
    return Found(id=int(comment["id"]), author=str(user.get("login") or ""),
                 created_at=str(comment.get("created_at") or ""),
                 body=str(comment.get("body") or ""))
