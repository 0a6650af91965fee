"""The sticky comment: one per environment, found by an HTML marker and its author.

Ownership is proven by both: the exact marker line *and* the login we write as. A comment that
quotes our marker but was written by someone else is never edited or deleted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from preview.github.client import GitHub, NotFound

log = logging.getLogger(__name__)

MARKER_PREFIX = "<!-- preview-vcluster:v1 "


def marker(repo_full_name: str, pr: int, environment: str) -> str:
    """The first line of our comment for one environment of one PR."""
    return f"{MARKER_PREFIX}repo={repo_full_name} pr={pr} env={environment} -->"


@dataclass(frozen=True)
class Found:
    """A comment as far as ownership is concerned."""

    id: int
    author: str
    created_at: str  # ISO 8601, comparable as text
    body: str


def is_ours(comment: Found, marker_line: str, author: str) -> bool:
    """Our comment: the exact marker as a whole line, written by `author`."""
    return comment.author == author and marker_line in comment.body.splitlines()


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
    """The sticky comment of one environment on one pull request of `repo` (owner/name)."""

    gh: GitHub
    repo: str
    pr: int
    marker: str
    author: str

    def upsert(self, body: str) -> int:
        """Make our comment say `body`: create it once, update it in place, drop duplicates.

        Returns the id of the comment that remains.
        """
        if self.marker not in body.splitlines():
            raise ValueError("the comment body must carry the marker line")
        keep, extra = self._find()
        if keep is None:
            created = self.gh.create(
                f"/repos/{self.repo}/issues/{self.pr}/comments", {"body": body},
                refind=lambda: self._find()[0],
                what=f"create comment on #{self.pr}")
            # A run racing us may have created one too: look again and keep the oldest.
            keep, extra = self._find()
            if keep is None:  # not listed yet; ours exists, nothing to deduplicate
                return int(created["id"] if isinstance(created, dict) else created.id)
        for duplicate in extra:
            self._delete(duplicate)
        if keep.body != body:
            self.gh.patch(self._url(keep), {"body": body})
        return int(keep.id)

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
