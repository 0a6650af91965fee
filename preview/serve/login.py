"""Logging in with a GitHub Actions OIDC ID token, and what the caller may then do.

`OidcVerifier.verify` turns a job's token into a `Caller` or refuses it (`LoginRefused`,
the server's 401): PyJWT checks the RS256 signature against the issuer's published keys
(`keys`), the issuer, our audience and the token's lifetime; we check that the claims we
act on are there and well-formed. `authorize` (403) holds the caller to the platform
policy; `owns` says whether an environment is the caller's. Both are pure.

What a token proves is only "a workflow run of `repository`": the audience is not a
secret, so any repository on the issuer's GitHub can get a token for it. The policy's
`repositories` is therefore what keeps strangers out, and a pattern that does not name an
owner (`*`, `*/app`) admits no one here (docs/platform.md).

A refusal never repeats the token: a 401's reason names what was wrong with it, without
its claims' values; a 403's names the repository, event or workflow the policy refused.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from preview.errors import BadInput, PreviewError
from preview.naming import check_repository
from preview.policy import Policy
from preview.policy.model import GITHUB_ACTIONS_ISSUER
from preview.serve.keys import ALGORITHM, IssuerKeys, IssuerUnavailable

__all__ = ["REQUIRED_CLAIMS", "Caller", "IssuerUnavailable", "LoginRefused", "OidcVerifier",
           "authorize", "open_patterns", "owns", "server_url"]

DOCS = "docs/platform.md"
# Claims GitHub puts in every Actions token (docs.github.com, "OpenID Connect reference")
# that a login cannot do without: the standard ones PyJWT checks, and those we authorize
# on or audit. `ref`, `sha`, `workflow_ref` and the ids are recorded when present.
_CALLER_CLAIMS = ("repository", "repository_owner", "event_name", "job_workflow_ref", "run_id",
                  "actor")
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "nbf", *_CALLER_CLAIMS)
_OPTIONAL_CLAIMS = ("ref", "sha", "workflow_ref", "run_attempt", "repository_id",
                    "repository_owner_id", "jti")
MAX_TOKEN_BYTES = 16 * 1024  # GitHub's are ~1.5 KiB


class LoginRefused(PreviewError):
    """The token does not log anyone in (the server answers 401 with `reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"login refused: {reason}",
                         "send the job's GitHub Actions OIDC token, requested with this "
                         f"API's audience (permissions: id-token: write); {DOCS}")
        self.reason = reason


@dataclass(frozen=True)
class Caller:
    """Who logged in: one workflow run of one repository, from its verified token."""

    repository: str  # owner/name, as GitHub spells it
    repository_owner: str
    event_name: str  # pull_request, workflow_dispatch, …
    job_workflow_ref: str  # owner/repo/path@ref of the workflow the job runs (a reusable one)
    workflow_ref: str  # the run's own workflow (= job_workflow_ref unless reusable); "" if absent
    run_id: str
    run_attempt: str
    actor: str
    ref: str
    sha: str
    subject: str  # `sub`: repo:owner/name:…
    repository_id: str
    repository_owner_id: str
    token_id: str  # `jti`, for the audit log
    server_url: str = ""  # the GitHub the issuer serves (https://github.com), "" if unknown

    @classmethod
    def from_claims(cls, claims: dict[str, Any], server_url: str = "") -> Caller:
        """The caller of verified `claims`; LoginRefused when one we need is malformed."""
        values: dict[str, str] = {}
        for name in (*_CALLER_CLAIMS, "sub", *_OPTIONAL_CLAIMS):
            value = claims.get(name, "")
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # ids are strings in GitHub's tokens; tolerate numbers
            if not isinstance(value, str):
                raise LoginRefused(f"the {name!r} claim is not a string")
            values[name] = value
        for name in _CALLER_CLAIMS:
            if not values[name]:
                raise LoginRefused(f"the {name!r} claim is empty")
        repository, owner = values["repository"], values["repository_owner"]
        name_owner, _, name = repository.partition("/")
        try:
            check_repository(name_owner, name)
        except ValueError:
            raise LoginRefused("the 'repository' claim is not owner/name") from None
        if name_owner.lower() != owner.lower():
            raise LoginRefused("the 'repository_owner' claim is not the repository's owner")
        return cls(repository=repository, repository_owner=owner,
                   event_name=values["event_name"], job_workflow_ref=values["job_workflow_ref"],
                   workflow_ref=values["workflow_ref"], run_id=values["run_id"],
                   run_attempt=values["run_attempt"], actor=values["actor"],
                   ref=values["ref"], sha=values["sha"], subject=values["sub"],
                   repository_id=values["repository_id"],
                   repository_owner_id=values["repository_owner_id"], token_id=values["jti"],
                   server_url=server_url)

    @property
    def run_url(self) -> str:
        """The link to the workflow run that logged in, or "" when the GitHub is unknown."""
        if not self.server_url or not self.run_id.isdecimal():
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def audit_fields(self) -> dict[str, str]:
        """What an audit line records of the caller (the non-empty fields, and the run's
        link)."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if v}
        return fields | ({"run_url": self.run_url} if self.run_url else {})


class OidcVerifier:
    """Verifies GitHub Actions OIDC ID tokens of one issuer for one audience.

    >>> async with OidcVerifier(GITHUB_ACTIONS_ISSUER, "https://preview.example.com") as v:
    ...     caller = await v.verify(token)

    Keys come from the issuer's discovery document (`keys.IssuerKeys`); `ca_file` replaces
    the system's CAs for that connection. `leeway_s` is the clock skew forgiven on `exp`,
    `nbf` and `iat`. Use one verifier per server, from one event loop: it holds the key cache
    and an HTTP session. BadInput when the issuer, audience or CA file cannot be used.
    """

    def __init__(self, issuer: str, audience: str, *, ca_file: Path | None = None,
                 leeway_s: float = 60.0, min_refetch_interval_s: float = 60.0,
                 max_key_age_s: float = 3600.0, keys: IssuerKeys | None = None) -> None:
        if not audience:
            raise BadInput("no audience to accept tokens for",
                           "set the policy's api.audience, e.g. to the API's own URL "
                           f"({DOCS})")
        self.issuer, self.audience, self.leeway_s = issuer, audience, leeway_s
        self.server_url = server_url(issuer)
        self.keys = keys or IssuerKeys(issuer, ca_file=ca_file, max_age_s=max_key_age_s,
                                       min_refetch_interval_s=min_refetch_interval_s)

    async def verify(self, token: str) -> Caller:
        """The caller `token` proves; LoginRefused (401) when it proves nothing, or
        IssuerUnavailable (503) when the issuer's keys cannot be had."""
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise LoginRefused("no token" if not token else "the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise LoginRefused("not a JWT") from None
        # PyJWT would refuse these too; saying which one helps whoever debugs a workflow.
        if header.get("alg") != ALGORITHM:
            raise LoginRefused(f"the token's algorithm is not accepted ({ALGORITHM} only)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise LoginRefused("the token names no signing key (kid)")
        key = await self.keys.get(kid)
        if key is None:
            raise LoginRefused("the token is signed by a key the issuer does not publish")
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=self.audience,
                issuer=self.issuer, leeway=self.leeway_s,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True,
                         "verify_exp": True, "verify_nbf": True, "verify_iat": True,
                         "verify_aud": True, "verify_iss": True, "strict_aud": True})
        except jwt.PyJWTError as e:
            raise LoginRefused(self._reason(e)) from None
        return Caller.from_claims(claims, self.server_url)

    def _reason(self, error: jwt.PyJWTError) -> str:
        if isinstance(error, jwt.ExpiredSignatureError):
            return "the token has expired"
        if isinstance(error, jwt.ImmatureSignatureError):
            return "the token is not valid yet (nbf or iat in the future)"
        if isinstance(error, jwt.InvalidAudienceError):
            return f"the token is not for this API (audience {self.audience!r} expected)"
        if isinstance(error, jwt.InvalidIssuerError):
            return f"the token is not from the trusted issuer {self.issuer!r}"
        if isinstance(error, jwt.MissingRequiredClaimError):
            return f"the token lacks the {error.claim!r} claim"
        if isinstance(error, jwt.InvalidSignatureError):
            return "the token's signature does not verify"
        if isinstance(error, jwt.InvalidAlgorithmError):
            return f"the token's algorithm is not accepted ({ALGORITHM} only)"
        if isinstance(error, jwt.DecodeError):
            return "the token cannot be decoded"
        return f"the token is invalid ({type(error).__name__})"

    async def aclose(self) -> None:
        await self.keys.aclose()

    async def __aenter__(self) -> OidcVerifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def server_url(issuer: str) -> str:
    """The web URL of the GitHub whose Actions `issuer` signs for ("" when not one we know):
    github.com's, or a GHES's (https://HOSTNAME/_services/token)."""
    if issuer == GITHUB_ACTIONS_ISSUER:
        return "https://github.com"
    if issuer.endswith("/_services/token"):
        return issuer.removesuffix("/_services/token")
    return ""


# -- authorization (pure) -----------------------------------------------------------------------

def _owner_named(pattern: str) -> bool:
    owner, _, _ = pattern.partition("/")
    return bool(owner) and not any(c in owner for c in "*?[")


def open_patterns(policy: Policy) -> tuple[str, ...]:
    """The policy's `repositories` patterns that name no owner: in API mode each would let
    any repository on GitHub log in, so none of them admits anyone (`serve` warns at start)."""
    return tuple(p for p in policy.repositories if not _owner_named(p))


def authorize(caller: Caller, policy: Policy) -> str | None:
    """Why `caller` may not use the API under `policy` (the server's 403), or None."""
    repository = caller.repository
    if not any(fnmatch.fnmatchcase(repository.lower(), pattern.lower())
               for pattern in policy.repositories if _owner_named(pattern)):
        if policy.allows_repository(repository):
            return (f"{repository} is allowed only by a repositories pattern that names no "
                    f"owner ({', '.join(open_patterns(policy))}); with OIDC login that would "
                    "admit every repository on GitHub, so list owners, e.g. octo-org/*")
        return f"{repository} is not allowed by the platform policy (repositories)"
    if caller.event_name not in policy.api.allowed_events:
        return (f"event {caller.event_name!r} is not allowed by the platform policy "
                f"(api.allowedEvents: {', '.join(policy.api.allowed_events) or 'none'})")
    pins = policy.api.job_workflow_refs
    if pins and not any(_workflow_matches(caller.job_workflow_ref, pin) for pin in pins):
        return ("the job does not run the workflow the platform policy names "
                f"(api.jobWorkflowRefs: {', '.join(pins)})")
    return None


def _workflow_matches(job_workflow_ref: str, pattern: str) -> bool:
    # owner/repo/path is compared without case as GitHub names are; the ref after "@" with.
    path, _, ref = job_workflow_ref.partition("@")
    want_path, _, want_ref = pattern.partition("@")
    return fnmatch.fnmatchcase(path.lower(), want_path.lower()) and \
        fnmatch.fnmatchcase(ref, want_ref)


def owns(caller: Caller, environment_repo: str) -> bool:
    """Whether an environment of `environment_repo` ("owner/name", its namespace's
    repo-full-name annotation) is `caller`'s: only the token's own repository's are."""
    return bool(environment_repo) and environment_repo.lower() == caller.repository.lower()
