"""What the action asks of GitHub before it runs: the pull request a `/preview` comment or a
`pr-number` input names, the commenter's permission, and the reaction or reply to a comment.

The commenter's permission is GitHub's answer (`GET /repos/{o}/{r}/collaborators/{user}/
permission`), never the payload's `author_association`, which says how someone is related
to the repository, not what they may do in it. Unlike the reports of `GitHubSession`, a
failure here is an error: without the pull request or the permission nothing can be decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preview.github import client

ACCEPTED = "rocket"  # the reaction to a /preview command that runs


class ChatOps:
    """The GitHub calls of the action's triggers, on one repository."""

    def __init__(self, gh: client.GitHub, repo: str) -> None:
        self.gh = gh
        self.repo = repo

    @classmethod
    def from_env(cls, environ: Mapping[str, str], token: str, repo: str) -> ChatOps:
        return cls(client.GitHub.from_env(token, environ), repo)

    def pull(self, number: int) -> dict[str, Any]:
        """The pull request as the REST API describes it (the same shape as an event's
        `pull_request`)."""
        return dict(self.gh.get(f"/repos/{self.repo}/pulls/{number}"))

    def permission(self, login: str) -> str:
        """`login`'s permission on the repository: admin, write, read or none (a user GitHub
        does not know, 404, has none)."""
        try:
            answer = self.gh.get(f"/repos/{self.repo}/collaborators/{login}/permission")
        except client.NotFound:
            return "none"
        return str(answer["permission"])

    def react(self, number: int, comment_id: int, content: str = ACCEPTED) -> None:
        """A reaction on the comment (GitHub answers 200 when it is already there, so a
        POST that failed with a 5xx is simply sent again). `number` is the pull request's,
        for the logs: comment ids are the repository's."""
        path = f"/repos/{self.repo}/issues/comments/{comment_id}/reactions"
        self.gh.create(path, {"content": content}, refind=lambda: None,
                       what=f"react to comment {comment_id} on #{number}")

    def reply(self, number: int, body: str) -> None:
        """A new comment on the pull request (a refusal addressed to the commenter)."""
        self.gh.create(f"/repos/{self.repo}/issues/{number}/comments", {"body": body},
                       refind=lambda: None, what=f"create comment on #{number}")
