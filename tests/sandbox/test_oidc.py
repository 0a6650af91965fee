"""preview/sandbox/oidc.py: the local OIDC issuer serves a discovery document and JWKS over
HTTPS that a plain HTTP client and PyJWT read as GitHub's, and its hostile tokens are
hostile for the reason they are named after (checked here without our verifier)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import ssl
from typing import Any

import aiohttp
import jwt
import pytest

from preview.sandbox.oidc import DISCOVERY_PATH, JWKS_PATH, OidcIssuer

AUDIENCE = "https://preview.example.test"


async def get(url: str, context: ssl.SSLContext) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url, ssl=context) as resp:
        assert resp.status == 200
        return await resp.json()


def published(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    return {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}


def decode(token: str, keys: dict[str, jwt.PyJWK], issuer: str) -> dict[str, Any]:
    """What any RS256 verifier of GitHub tokens does, with PyJWT directly."""
    key = keys[jwt.get_unverified_header(token)["kid"]]
    return jwt.decode(token, key, algorithms=["RS256"], audience=AUDIENCE, issuer=issuer,
                      options={"require": ["exp", "iat", "nbf", "repository"]})


def test_discovery_and_keys_over_https_verify_its_tokens() -> None:
    async def main() -> None:
        async with OidcIssuer(audience=AUDIENCE, path="/_services/token") as issuer:
            context = ssl.create_default_context(cafile=str(issuer.ca_file))
            discovery = await get(issuer.url + DISCOVERY_PATH, context)
            assert discovery["issuer"] == issuer.url
            assert discovery["jwks_uri"] == issuer.url + JWKS_PATH
            assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
            assert {"repository", "job_workflow_ref", "event_name"} <= \
                set(discovery["claims_supported"])
            jwks = await get(discovery["jwks_uri"], context)
            assert [(k["kty"], k["alg"], k["use"]) for k in jwks["keys"]] == \
                [("RSA", "RS256", "sig")]
            claims = decode(issuer.mint(repository="octo-org/app"), published(jwks), issuer.url)
            assert claims["repository"] == "octo-org/app" and claims["aud"] == AUDIENCE
            assert issuer.requests == {DISCOVERY_PATH: 1, JWKS_PATH: 1}

    asyncio.run(main())


def test_it_is_not_trusted_without_its_ca() -> None:
    async def main() -> None:
        async with OidcIssuer() as issuer:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await get(issuer.url + DISCOVERY_PATH, ssl.create_default_context())

    asyncio.run(main())


def test_rotate_publishes_a_new_key_and_withdraw_unpublishes_one() -> None:
    issuer = OidcIssuer()
    first = issuer.kid
    second = issuer.rotate()
    assert issuer.kid == second != first
    assert [k["kid"] for k in issuer.jwks()["keys"]] == [first, second]
    issuer.withdraw(first)
    assert [k["kid"] for k in issuer.jwks()["keys"]] == [second]
    assert jwt.get_unverified_header(issuer.mint(kid=first))["kid"] == first


def test_claims_are_shaped_like_githubs_and_none_removes_one() -> None:
    claims = OidcIssuer(audience=AUDIENCE).claims("octo-org/app", pr=3, actor=None,
                                                  run_id="42")
    assert claims["sub"] == "repo:octo-org/app:pull_request"
    assert claims["ref"] == "refs/pull/3/merge" and claims["repository_owner"] == "octo-org"
    assert claims["job_workflow_ref"] == \
        "octo-org/app/.github/workflows/preview.yml@refs/pull/3/merge"
    assert claims["nbf"] <= claims["iat"] < claims["exp"] and claims["run_id"] == "42"
    assert "actor" not in claims


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    header, payload, signature = token.split(".")

    def b64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    return json.loads(b64(header)), json.loads(b64(payload)), b64(signature)


def test_each_hostile_token_is_what_its_name_says() -> None:
    async def main() -> None:
        async with OidcIssuer(audience=AUDIENCE) as issuer:
            keys = published(issuer.jwks())
            tokens = issuer.hostile("octo-org/app")

            header, _, signature = _segments(tokens["alg none"])
            assert header["alg"] == "none" and signature == b""

            token = tokens["HS256 signed with the public key"]
            header, _, signature = _segments(token)
            signing_input = token.rsplit(".", 1)[0].encode()
            assert header["alg"] == "HS256"
            assert hmac.compare_digest(signature, hmac.new(
                issuer.public_key_pem(), signing_input, hashlib.sha256).digest())

            assert _segments(tokens["no kid"])[0].get("kid") is None
            assert _segments(tokens["signed by another key with an unknown kid"])[0]["kid"] \
                not in keys
            for name, error in [
                ("signed by another key", jwt.InvalidSignatureError),
                ("header RS256, signature of another token", jwt.InvalidSignatureError),
                ("expired", jwt.ExpiredSignatureError),
                ("not yet valid", jwt.ImmatureSignatureError),
                ("issued in the future", jwt.ImmatureSignatureError),
                ("wrong aud", jwt.InvalidAudienceError),
                ("wrong iss", jwt.InvalidIssuerError),
                ("missing repository", jwt.MissingRequiredClaimError),
                ("missing exp", jwt.MissingRequiredClaimError),
            ]:
                with pytest.raises(error):
                    decode(tokens[name], keys, issuer.url)

    asyncio.run(main())
