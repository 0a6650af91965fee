"""preview/serve/login.py: GitHub Actions OIDC tokens against a real issuer over HTTPS
(preview/sandbox/oidc.py, real RSA keys, PyJWT unmocked), and the pure authorization."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from preview import policy
from preview.errors import BadInput
from preview.sandbox.oidc import DISCOVERY_PATH, JWKS_PATH, OidcIssuer
from preview.serve.keys import IssuerKeys
from preview.serve.login import (
    REQUIRED_CLAIMS,
    Caller,
    IssuerUnavailable,
    LoginRefused,
    OidcVerifier,
    authorize,
    open_patterns,
    owns,
    server_url,
)

AUDIENCE = "https://preview.example.test"
T = TypeVar("T")


class Clock:
    """Monotonic seconds the test moves by hand (the refetch interval is a minute)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(scenario: Callable[[OidcIssuer, OidcVerifier], Awaitable[T]], *,
        clock: Clock | None = None, path: str = "", **keys: Any) -> T:
    """`scenario(issuer, verifier)` with a started issuer and a verifier that trusts it."""

    async def main() -> T:
        async with OidcIssuer(audience=AUDIENCE, path=path) as issuer:
            ring = IssuerKeys(issuer.url, ca_file=issuer.ca_file, clock=clock or Clock(),
                              **keys)
            async with OidcVerifier(issuer.url, AUDIENCE, keys=ring) as verifier:
                return await scenario(issuer, verifier)

    return asyncio.run(main())


async def refused(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(LoginRefused) as caught:
        await verifier.verify(token)
    assert caught.value.reason in str(caught.value)
    return caught.value.reason


# -- verification ---------------------------------------------------------------------------------

def test_a_good_token_is_its_caller() -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> tuple[Caller, dict]:
        claims = issuer.claims("Octo-Org/App", pr=7)
        return await verifier.verify(issuer.mint(claims)), claims

    caller, claims = run(scenario)
    assert caller.repository == "Octo-Org/App" and caller.repository_owner == "Octo-Org"
    assert caller.event_name == "pull_request" and caller.ref == "refs/pull/7/merge"
    assert caller.job_workflow_ref == claims["job_workflow_ref"]
    assert (caller.run_id, caller.actor, caller.sha, caller.token_id) == (
        claims["run_id"], "octocat", claims["sha"], claims["jti"])
    assert caller.audit_fields()["repository"] == "Octo-Org/App"
    assert caller.run_url == ""  # a GitHub we do not know: no link


def test_the_run_url_is_githubs_or_the_ghes_instances() -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> Caller:
        return await verifier.verify(issuer.mint(run_id="77"))

    caller = run(scenario, path="/_services/token")
    assert caller.server_url == caller.run_url.removesuffix("/octo-org/app/actions/runs/77")
    assert caller.run_url.startswith("https://127.0.0.1:")
    assert caller.audit_fields()["run_url"] == caller.run_url
    assert server_url("https://token.actions.githubusercontent.com") == "https://github.com"
    assert server_url("https://ghes.example.com/_services/token") == "https://ghes.example.com"
    assert server_url("https://issuer.example.com") == ""


def test_the_issuer_may_live_under_a_path_as_on_ghes() -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> Caller:
        assert issuer.url.endswith("/_services/token")
        return await verifier.verify(issuer.mint())

    assert run(scenario, path="/_services/token").repository == "octo-org/app"


# Every token of the acceptance list (and a few more), by what is wrong with it → the reason.
HOSTILE = {
    "signed by another key": "signature does not verify",
    "signed by another key with an unknown kid": "a key the issuer does not publish",
    "alg none": "algorithm is not accepted (RS256 only)",
    "HS256 signed with the public key": "algorithm is not accepted (RS256 only)",
    "header RS256, signature of another token": "signature does not verify",
    "expired": "the token has expired",
    "not yet valid": "not valid yet",
    "issued in the future": "not valid yet",
    "wrong aud": f"not for this API (audience {AUDIENCE!r} expected)",
    "wrong iss": "not from the trusted issuer",
    "missing repository": "lacks the 'repository' claim",
    "missing exp": "lacks the 'exp' claim",
    "no kid": "names no signing key",
    "not a JWT": "not a JWT",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_token_is_refused_with_its_reason(name: str) -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> tuple[str, str]:
        await verifier.verify(issuer.mint())  # the keys are fetched; the login works
        token = issuer.hostile()[name]
        return await refused(verifier, token), token

    reason, token = run(scenario)
    assert HOSTILE[name] in reason
    assert token not in reason


def test_the_hostile_list_covers_the_acceptance_list() -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> set[str]:
        return set(issuer.hostile())

    assert run(scenario) == set(HOSTILE)


@pytest.mark.parametrize(("claim", "value", "reason"), [
    ("repository", "not-a-repository", "'repository' claim is not owner/name"),
    ("repository", "octo-org/../x", "'repository' claim is not owner/name"),
    ("repository_owner", "mallory", "'repository_owner' claim is not the repository's owner"),
    ("event_name", "", "'event_name' claim is empty"),
    ("actor", ["octocat"], "'actor' claim is not a string"),
    ("job_workflow_ref", None, "lacks the 'job_workflow_ref' claim"),
    ("run_id", None, "lacks the 'run_id' claim"),
    ("sub", None, "lacks the 'sub' claim"),
    ("nbf", None, "lacks the 'nbf' claim"),
])
def test_a_signed_token_with_a_malformed_claim_is_refused(claim: str, value: Any,
                                                          reason: str) -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> str:
        return await refused(verifier, issuer.mint(**{claim: value}))

    assert reason in run(scenario)


def test_numeric_ids_are_read_as_strings_and_missing_optional_claims_as_empty() -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> Caller:
        return await verifier.verify(issuer.mint(run_id=123, sha=None, workflow_ref=None))

    caller = run(scenario)
    assert (caller.run_id, caller.sha, caller.workflow_ref) == ("123", "", "")
    assert "sha" not in caller.audit_fields()


def test_required_claims_are_the_ones_github_always_sends() -> None:
    assert set(REQUIRED_CLAIMS) <= set(OidcIssuer().claims())


def test_an_audience_is_required() -> None:
    with pytest.raises(BadInput, match="audience") as caught:
        OidcVerifier("https://token.actions.githubusercontent.com", "")
    assert "api.audience" in str(caught.value)


def test_only_an_https_issuer_is_trusted() -> None:
    with pytest.raises(BadInput, match="https"):
        OidcVerifier("http://token.actions.githubusercontent.com", AUDIENCE)


def test_an_unreadable_ca_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read the issuer's CA file"):
        OidcVerifier("https://ghes.example.test/_services/token", AUDIENCE,
                     ca_file=tmp_path / "missing.crt")


# -- keys: fetched once, refetched on rotation, never at a token's bidding ------------------------

def test_concurrent_first_logins_fetch_the_keys_once() -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> int:
        callers = await asyncio.gather(*(verifier.verify(issuer.mint()) for _ in range(20)))
        assert len(callers) == 20
        return issuer.requests[JWKS_PATH]

    assert run(scenario) == 1


def test_a_rotated_key_is_fetched_once_and_a_flood_of_unknown_kids_is_not() -> None:
    clock = Clock()

    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> None:
        await verifier.verify(issuer.mint())
        old = issuer.kid
        assert issuer.requests[JWKS_PATH] == 1

        clock.now += 61  # past the refetch interval: the issuer rotates its key
        issuer.rotate()
        assert (await verifier.verify(issuer.mint())).repository == "octo-org/app"
        assert issuer.requests[JWKS_PATH] == 2
        assert (await verifier.verify(issuer.mint(kid=old))).repository == "octo-org/app"

        # Made-up kids and kids the issuer published since, all at once and one by one: no
        # new request within the interval.
        foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        flood = [jwt.encode(issuer.claims(), foreign, algorithm="RS256",
                            headers={"kid": secrets.token_hex(4)}) for _ in range(3)]
        flood += [issuer.mint(kid=issuer.rotate()) for _ in range(30)]
        results = await asyncio.gather(*(verifier.verify(t) for t in flood),
                                       return_exceptions=True)
        assert all(isinstance(r, LoginRefused) for r in results), results
        for token in flood[:10]:
            await refused(verifier, token)
        assert issuer.requests[JWKS_PATH] == 2
        assert issuer.requests[DISCOVERY_PATH] == 2

        # A minute later one more fetch, shared by the whole flood: the keys are there now.
        clock.now += 61
        results = await asyncio.gather(*(verifier.verify(t) for t in flood[3:]))
        assert {c.repository for c in results} == {"octo-org/app"}
        assert issuer.requests[JWKS_PATH] == 3
        assert verifier.keys.fetches == 3

    run(scenario, clock=clock)


def test_a_withdrawn_key_stops_working_once_the_keys_are_old() -> None:
    clock = Clock()

    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> str:
        old = issuer.kid
        await verifier.verify(issuer.mint())
        issuer.rotate()
        issuer.withdraw(old)
        clock.now += 600  # the keys we hold still have it
        await verifier.verify(issuer.mint(kid=old))
        assert issuer.requests[JWKS_PATH] == 1
        clock.now += 3000  # an hour old: fetched again before use
        reason = await refused(verifier, issuer.mint(kid=old))
        assert issuer.requests[JWKS_PATH] == 2
        await verifier.verify(issuer.mint())
        return reason

    assert "does not publish" in run(scenario, clock=clock)


def test_an_issuer_that_is_down_is_a_503_not_a_401(tmp_path: Path) -> None:
    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> None:
        token = issuer.mint()
        await issuer.stop()
        with pytest.raises(IssuerUnavailable) as caught:
            await verifier.verify(token)
        assert issuer.url in caught.value.message
        # Asked again at once: the same answer, without asking the issuer again.
        with pytest.raises(IssuerUnavailable):
            await verifier.verify(token)

    run(scenario)


def test_keys_held_survive_an_issuer_outage_past_their_age() -> None:
    clock = Clock()

    async def scenario(issuer: OidcIssuer, verifier: OidcVerifier) -> Caller:
        await verifier.verify(issuer.mint())
        token = issuer.mint()
        await issuer.stop()
        clock.now += 7200
        return await verifier.verify(token)

    assert run(scenario, clock=clock).repository == "octo-org/app"


def test_the_issuers_certificate_is_verified() -> None:
    async def main() -> str:
        async with OidcIssuer(audience=AUDIENCE) as issuer:
            async with OidcVerifier(issuer.url, AUDIENCE) as verifier:  # no CA file
                with pytest.raises(IssuerUnavailable) as caught:
                    await verifier.verify(issuer.mint())
            assert issuer.requests[DISCOVERY_PATH] == 0  # no HTTP before TLS
            return caught.value.message

    assert "certificate" in asyncio.run(main()).lower()


def test_a_discovery_document_of_another_issuer_is_refused() -> None:
    async def main() -> str:
        async with OidcIssuer(audience=AUDIENCE) as issuer:
            # Same server, reached by another name its certificate holds: not its issuer.
            other = issuer.url.replace("127.0.0.1", "localhost")
            async with OidcVerifier(other, AUDIENCE, ca_file=issuer.ca_file) as verifier:
                with pytest.raises(IssuerUnavailable) as caught:
                    await verifier.verify(issuer.mint(iss=other))
            assert issuer.requests[JWKS_PATH] == 0
            return caught.value.message

    assert "names the issuer" in asyncio.run(main())


# -- authorization (pure) -------------------------------------------------------------------------

def caller(repository: str = "octo-org/app", **claims: Any) -> Caller:
    owner = repository.split("/")[0]
    ref = f"{repository}/.github/workflows/preview.yml@refs/pull/1/merge"
    return Caller.from_claims({
        "repository": repository, "repository_owner": owner, "event_name": "pull_request",
        "job_workflow_ref": ref, "run_id": "1", "actor": "octocat",
        "sub": f"repo:{repository}:pull_request", **claims})


def rules(**raw: Any) -> policy.Policy:
    return policy.parse({"repositories": ["octo-org/*"], **raw}, "policy.yaml")


def test_an_allowed_repository_may_log_in() -> None:
    assert authorize(caller(), rules()) is None
    assert authorize(caller("Octo-Org/App"), rules()) is None  # GitHub's names have no case


def test_a_repository_the_policy_does_not_allow_is_forbidden() -> None:
    assert authorize(caller("mallory/app"), rules()) == \
        "mallory/app is not allowed by the platform policy (repositories)"


@pytest.mark.parametrize("patterns", [["*"], ["*/app"], ["?allory/*"], ["[m]allory/app"]])
def test_a_pattern_that_names_no_owner_admits_no_one(patterns: list[str]) -> None:
    rule = policy.parse({"repositories": patterns}, "policy.yaml")
    reason = authorize(caller("mallory/app"), rule)
    assert reason is not None and "names no owner" in reason and "octo-org/*" in reason
    assert open_patterns(rule) == tuple(patterns)
    assert authorize(caller("mallory/app"), policy.parse(
        {"repositories": [*patterns, "mallory/*"]}, "policy.yaml")) is None


def test_the_default_policy_admits_no_one() -> None:
    assert authorize(caller(), policy.DEFAULT) is not None


def test_only_allowed_events_may_log_in() -> None:
    reason = authorize(caller(event_name="workflow_dispatch"), rules())
    assert reason == ("event 'workflow_dispatch' is not allowed by the platform policy "
                      "(api.allowedEvents: pull_request)")
    assert authorize(caller(event_name="workflow_dispatch"), rules(
        api={"allowedEvents": ["pull_request", "workflow_dispatch"]})) is None


PIN = "octo-org/platform/.github/workflows/preview.yml@refs/tags/v1*"


@pytest.mark.parametrize(("job_workflow_ref", "allowed"), [
    ("octo-org/platform/.github/workflows/preview.yml@refs/tags/v1.2.0", True),
    ("Octo-Org/Platform/.github/workflows/preview.yml@refs/tags/v1", True),
    ("octo-org/platform/.github/workflows/preview.yml@refs/heads/v1", False),
    ("octo-org/platform/.github/workflows/preview.yml@refs/tags/V1", False),
    ("octo-org/app/.github/workflows/preview.yml@refs/tags/v1", False),
    ("octo-org/platform/.github/workflows/other.yml@refs/tags/v1", False),
])
def test_a_pinned_reusable_workflow(job_workflow_ref: str, allowed: bool) -> None:
    reason = authorize(caller(job_workflow_ref=job_workflow_ref),
                       rules(api={"jobWorkflowRefs": [PIN]}))
    assert (reason is None) == allowed
    if not allowed:
        assert reason == ("the job does not run the workflow the platform policy names "
                          f"(api.jobWorkflowRefs: {PIN})")


def test_an_environment_is_its_repositorys_alone() -> None:
    a, b = caller("octo-org/a"), caller("octo-org/b")
    assert owns(a, "octo-org/a") and owns(a, "Octo-Org/A")
    assert not owns(a, "octo-org/b") and not owns(b, "octo-org/a")
    assert not owns(a, "") and not owns(a, "octo-org/a2") and not owns(a, "octo-org/")
