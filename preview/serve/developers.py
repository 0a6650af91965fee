"""Developers log in with their own GitHub token to get an environment's kubeconfig.

A developer is not a workflow run: there is no OIDC token, so the API asks GitHub who the
token belongs to (`GET /user`) and what that person may do on the repository (`GET
/repos/{owner}/{repo}`, whose `permissions` flags are the caller's own role), and holds the
answer to the policy's `developers.minimumPermission`. The token is used for these two
reads only, never stored or logged.

`DeveloperRefused` is the server's 401 (GitHub does not know the token, or it is not a
person's) or 403 (a person whose role is too weak, or who cannot see the repository).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from preview.errors import PreviewError
from preview.github import client as github
from preview.policy.model import GITHUB_ACTIONS_ISSUER, GITHUB_PERMISSIONS, Policy

DOCS = "docs/platform.md"
# `permissions` flags of a repository, strongest first, and the role each one means.
_FLAGS = (("admin", "admin"), ("maintain", "maintain"), ("push", "write"),
          ("triage", "triage"), ("pull", "read"))


class DeveloperRefused(PreviewError):
    """The developer's login is refused: `status` 401 or 403, with the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason, f"log in with your own GitHub token (gh auth token, or "
                                 f"--github-token); {DOCS}")
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Developer:
    """A person GitHub vouched for, and their role on one repository."""

    login: str
    user_id: int
    repository: str
    role: str  # read, triage, write, maintain or admin


def role_of(permissions: dict[str, Any] | None) -> str | None:
    """The strongest role the `permissions` flags of `GET /repos/…` grant, or None (pure)."""
    for flag, role in _FLAGS:
        if (permissions or {}).get(flag) is True:
            return role
    return None


def at_least(role: str | None, minimum: str) -> bool:
    """Whether `role` is `minimum` or stronger, in GitHub's order of roles (pure)."""
    order: tuple[str, ...] = GITHUB_PERMISSIONS
    return role in order and order.index(role) >= order.index(minimum)


def github_api_url(policy: Policy) -> str:
    """GitHub's REST API for the policy's GitHub: `developers.githubApiUrl`, else the one of
    `api.issuer` (api.github.com, or a GHES's https://HOSTNAME/api/v3)."""
    if policy.developers.github_api_url:
        return policy.developers.github_api_url
    issuer = policy.api.issuer
    if issuer != GITHUB_ACTIONS_ISSUER and issuer.endswith("/_services/token"):
        return issuer.removesuffix("/_services/token") + "/api/v3"
    return github.DEFAULT_API_URL


def _ask(token: str, api_url: str, repository: str) -> tuple[str, int, dict[str, Any] | None]:
    gh = github.GitHub(token, api_url, github.RetryPolicy(attempts=2, max_wait=10.0),
                       pace_writes=False)
    try:
        user = gh.get("/user")
    except github.Unauthorized:
        raise DeveloperRefused(401, "GitHub does not accept this token (Bad credentials)") \
            from None
    except github.Forbidden:
        raise DeveloperRefused(401, "this GitHub token is not a person's (an Actions or "
                                    "app token cannot get a kubeconfig)") from None
    try:
        repo = gh.get(f"/repos/{repository}")
    except (github.Forbidden, github.NotFound):
        raise DeveloperRefused(403, f"{user.get('login')} cannot see {repository} on "
                                    "GitHub") from None
    return str(user.get("login") or ""), int(user.get("id") or 0), repo.get("permissions")


async def identify(token: str, repository: str, policy: Policy) -> Developer:
    """Who `token` is and their role on `repository`, held to the policy's minimum
    (DeveloperRefused otherwise; GitHubError when GitHub cannot be asked)."""
    if not token or len(token) > 1024 or any(c.isspace() for c in token):
        raise DeveloperRefused(401, "no GitHub token: send 'Authorization: Bearer <your "
                                    "GitHub token>'")
    login, user_id, permissions = await asyncio.to_thread(
        _ask, token, github_api_url(policy), repository)
    if not login:
        raise DeveloperRefused(401, "GitHub did not say whose token this is")
    role = role_of(permissions)
    minimum = policy.developers.minimum_permission
    if not at_least(role, minimum):
        raise DeveloperRefused(403, f"{login} has {role or 'no'} access to {repository}; the "
                                    f"platform policy gives kubeconfigs to {minimum} and above "
                                    "(developers.minimumPermission)")
    assert role is not None
    return Developer(login, user_id, repository, role)
