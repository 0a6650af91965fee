"""A pull request asked for by a `/preview` comment or the `pr-number` input, read from
GitHub (the commenter's permission first: a reaction, or a reply and a refusal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from preview import naming, pullrequest, triggers
from preview.errors import BadInput, PreviewError
from preview.github import markdown
from preview.naming import Environment
from preview.operations.run import Refused
from preview.pullrequest import PullRequest
from preview.triggers import PR_EVENTS


def requested(inputs: Mapping[str, str], event_name: str, event: Mapping[str, Any],
              environ: Mapping[str, str], token: str) -> tuple[dict[str, Any] | None, str]:
    """The pull request and command asked for when the event does not carry a pull request:
    a `/preview` comment (its author's permission asked of GitHub first; accepted with a
    reaction, refused with a reply) or the `pr-number` input. (None, "") otherwise."""
    number = triggers.pr_number_input(inputs)
    request: triggers.CommentRequest | None = None
    if event_name == triggers.COMMENT_EVENT and number is None:
        found = triggers.comment_request(event)
        if isinstance(found, triggers.Decision):
            return None, ""  # plan() says there is nothing to do
        request = found
        number = found.number
    if number is None or event_name in PR_EVENTS:
        return None, ""
    if not token:
        raise BadInput("input github-token is empty: the pull request must be read from GitHub",
                       "leave github-token at its default (${{ github.token }}) or pass a "
                       "token that may read pull requests")
    from preview.github.chatops import ChatOps

    repo = environ.get("GITHUB_REPOSITORY", "")
    chat = ChatOps.from_env(environ, token, repo)
    if request is not None:
        permission = chat.permission(request.login)
        if not triggers.may_command(permission):
            chat.reply(request.number, refusal_reply(request, repo, permission))
            raise Refused(f"/preview {request.command} by {request.login} refused: their "
                          f"permission on {repo} is {permission}, and write is needed",
                          "a maintainer (write permission or more) can comment /preview")
        chat.react(request.number, request.comment_id)
    return chat.pull(number), request.command if request is not None else ""


def refusal_reply(request: triggers.CommentRequest, repo: str, permission: str) -> str:
    """The reply to a `/preview` command from someone who may not give it (pure)."""
    command = "/preview" if request.command == "up" else "/preview down"
    return (f"@{markdown.inline(request.login)} `{command}` needs write permission on "
            f"{markdown.inline(repo)}; yours is {markdown.inline(permission)}. "
            f"A maintainer can comment `{command}` to run it.")


def identity(pr: Mapping[str, Any] | None, environ: Mapping[str, str]
              ) -> tuple[PullRequest | None, Environment | None]:
    """The pull request and environment a refusal's comment is about, when the payload
    says them well enough (None, None otherwise: the notice alone)."""
    if pr is None:
        return None, None
    try:
        found = pullrequest.from_event({"pull_request": pr}, environ)
        app = environ.get("INPUT_ENVIRONMENT", "").strip()
        return found, naming.environment_for(found.owner, found.repo, found.number, app)
    except (PreviewError, ValueError):
        return None, None
