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

from github import Github, GithubException

from preview.github import client

ACCEPTED = "rocket"  # the reaction to a /preview command that runs


class ChatOps:
    """The GitHub calls of the action's triggers, on one repository."""

    def __init__(self, gh: Github, repo: str, policy: client.RetryPolicy) -> None:
        self.gh = gh
        self.repo = repo
        self.policy = policy

    @classmethod
    def from_env(cls, environ: Mapping[str, str], token: str, repo: str) -> ChatOps:
        policy = client.RetryPolicy()
        return cls(client.connect(token, client.api_url(environ), policy), repo, policy)

    def pull(self, number: int) -> dict[str, Any]:
        """The pull request as the REST API describes it (the same shape as an event's
        `pull_request`)."""
        what = f"GET /repos/{self.repo}/pulls/{number}"
        return dict(client.call(lambda: self.gh.get_repo(self.repo).get_pull(number).raw_data,
                                what))

    def permission(self, login: str) -> str:
        """`login`'s permission on the repository: admin, write, read or none (a user GitHub
        does not know, 404, has none)."""
        what = f"GET /repos/{self.repo}/collaborators/{login}/permission"
        try:
            return str(self.gh.get_repo(self.repo).get_collaborator_permission(login))
        except GithubException as e:
            if e.status == 404:
                return "none"
            raise client.wrap(e, what) from e

    def react(self, number: int, comment_id: int, content: str = ACCEPTED) -> None:
        """A reaction on the comment (GitHub answers 200 when it is already there)."""
        comment = self.gh.get_repo(self.repo).get_issue(number).get_comment(comment_id)
        client.create_once(lambda: comment.create_reaction(content), lambda: None,
                           f"POST reaction to comment {comment_id}", self.policy)

    def reply(self, number: int, body: str) -> None:
        """A new comment on the pull request (a refusal addressed to the commenter)."""
        issue = self.gh.get_repo(self.repo).get_issue(number)
        client.create_once(lambda: issue.create_comment(body), lambda: None,
                           f"create comment on #{number}", self.policy)
