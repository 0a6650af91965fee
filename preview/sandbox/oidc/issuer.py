"""A local OpenID Connect issuer shaped like GitHub Actions', for tests and the demo.

It serves what `preview serve` reads from token.actions.githubusercontent.com — the
discovery document and the JWKS — over HTTPS with a certificate of its own throwaway CA,
so a verifier trusts it only when handed that CA (`ca_file`), never by default. RSA keys are
made at start; `mint` signs GitHub-shaped tokens with them, `rotate` publishes a new one.
The hostile tokens of the login's acceptance list are minted here too (`hostile`), so the
login's tests and the server's use the same ones.

Never imported by production code (the import contracts say so): a token it mints proves
nothing anywhere its CA and issuer URL are not configured.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import json
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from preview.kube import tls

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks"
LIFETIME_S = 300  # GitHub's tokens live five minutes


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OidcIssuer:
    """An HTTPS OIDC issuer on `host` (a free port unless `port`), at `path` under it
    ("/_services/token" makes it look like GHES's). Tokens it mints are for `audience`
    unless a claim says otherwise.

    >>> async with OidcIssuer(audience="https://preview.test") as issuer:
    ...     verifier = OidcVerifier(issuer.url, "https://preview.test", ca_file=issuer.ca_file)
    ...     caller = await verifier.verify(issuer.mint(repository="octo-org/app"))
    """

    def __init__(self, *, audience: str = "preview-sandbox", host: str = "127.0.0.1",
                 port: int = 0, path: str = "") -> None:
        self.audience, self.host, self.port, self.path = audience, host, port, path.rstrip("/")
        self.url = ""  # the issuer URL, once started
        # (path → count) of the requests served: tests check how often the keys were fetched
        self.requests: collections.Counter[str] = collections.Counter()
        self._ca = tls.new_ca("preview sandbox OIDC issuer CA")
        self._keys: dict[str, rsa.RSAPrivateKey] = {}  # every key made, by kid
        self._published: list[str] = []  # the kids the JWKS lists
        self.kid = self.rotate()
        self._runner: web.AppRunner | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_file: Path | None = None  # the CA as a PEM file, once started

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> OidcIssuer:
        app = web.Application()
        app.router.add_get(self.path + DISCOVERY_PATH, self._discovery)
        app.router.add_get(self.path + JWKS_PATH, self._jwks)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        serving = tls.issue(self._ca, (self.host, "localhost"), "preview sandbox OIDC issuer")
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True,
                           ssl_context=tls.server_context(serving))
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        self.url = f"https://{self.host}:{self.port}{self.path}"
        self._tmp = tempfile.TemporaryDirectory(prefix="oidc-issuer-")
        self.ca_file = Path(self._tmp.name) / "ca.crt"
        self.ca_file.write_bytes(self.ca_pem)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp, self.ca_file = None, None

    async def __aenter__(self) -> OidcIssuer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def ca_pem(self) -> bytes:
        """The CA that signed the issuer's serving certificate (what a verifier must trust)."""
        return self._ca.cert_pem

    # -- keys ------------------------------------------------------------------------------------
    def rotate(self) -> str:
        """Make a new key, publish it and sign with it from now on; its kid. The keys
        before it stay published until `withdraw`n."""
        kid = secrets.token_hex(8)
        self._keys[kid] = _new_key()
        self._published.append(kid)
        self.kid = kid
        return kid

    def withdraw(self, kid: str) -> None:
        """Stop publishing key `kid`; `mint(kid=…)` still signs with it (a key the issuer
        revoked, in an attacker's hands)."""
        self._published.remove(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self._published:
            jwk = RSAAlgorithm.to_jwk(self._keys[kid].public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def public_key_pem(self, kid: str | None = None) -> bytes:
        return self._keys[kid or self.kid].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    # -- tokens ----------------------------------------------------------------------------------
    def claims(self, repository: str = "octo-org/app", *, pr: int = 1,
               event_name: str = "pull_request", **overrides: Any) -> dict[str, Any]:
        """The claims GitHub Actions puts in a `pull_request` job's token (docs.github.com,
        "OpenID Connect reference"); `overrides` replace claims, a None removes one."""
        owner = repository.split("/")[0]
        now = int(time.time())
        ref = f"refs/pull/{pr}/merge"
        workflow_ref = f"{repository}/.github/workflows/preview.yml@{ref}"
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()), "sub": f"repo:{repository}:pull_request",
            "aud": self.audience, "ref": ref, "sha": secrets.token_hex(20),
            "repository": repository, "repository_owner": owner,
            "repository_owner_id": str(int(hashlib.sha256(owner.encode()).hexdigest()[:7], 16)),
            "repository_id": str(int(hashlib.sha256(repository.encode()).hexdigest()[:8], 16)),
            "repository_visibility": "private", "run_id": str(now), "run_number": "1",
            "run_attempt": "1", "actor": "octocat", "actor_id": "583231", "workflow": "preview",
            "workflow_ref": workflow_ref, "workflow_sha": secrets.token_hex(20),
            "head_ref": f"feature-{pr}", "base_ref": "main", "event_name": event_name,
            "ref_type": "branch", "job_workflow_ref": workflow_ref,
            "job_workflow_sha": secrets.token_hex(20), "runner_environment": "github-hosted",
            "iss": self.url, "nbf": now - 60, "iat": now, "exp": now + LIFETIME_S,
        }
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def mint(self, claims: dict[str, Any] | None = None, *, kid: str | None = None,
             **overrides: Any) -> str:
        """A token signed RS256 with key `kid` (the current one by default), of
        `claims` (`self.claims(**overrides)` by default)."""
        kid = kid or self.kid
        payload = claims if claims is not None else self.claims(**overrides)
        return jwt.encode(payload, self._keys[kid], algorithm="RS256",
                          headers={"kid": kid, "typ": "JWT"})

    def hostile(self, repository: str = "octo-org/app", **overrides: Any) -> dict[str, str]:
        """One token per way a login must fail with 401, by what is wrong with it; each is
        otherwise a good token of `repository`."""
        now = int(time.time())
        good = self.claims(repository, **overrides)
        foreign = _new_key()
        return {
            "signed by another key": jwt.encode(good, foreign, algorithm="RS256",
                                                headers={"kid": self.kid}),
            "signed by another key with an unknown kid": jwt.encode(
                good, foreign, algorithm="RS256", headers={"kid": "not-" + self.kid}),
            "alg none": _unsigned(good, self.kid),
            "HS256 signed with the public key": _hs256(good, self.public_key_pem(), self.kid),
            "header RS256, signature of another token": _swap_payload(
                self.mint(good), {**good, "repository": "mallory/app"}),
            "expired": self.mint({**good, "iat": now - 3600, "nbf": now - 3600,
                                  "exp": now - 3600 + LIFETIME_S}),
            "not yet valid": self.mint({**good, "nbf": now + 3600}),
            "issued in the future": self.mint({**good, "iat": now + 3600, "nbf": now + 3600,
                                               "exp": now + 3600 + LIFETIME_S}),
            "wrong aud": self.mint({**good, "aud": self.audience + "-elsewhere"}),
            "wrong iss": self.mint({**good, "iss": "https://token.actions.example.com"}),
            "missing repository": self.mint(
                {k: v for k, v in good.items() if k != "repository"}),
            "missing exp": self.mint({k: v for k, v in good.items() if k != "exp"}),
            # A good signature by the published key, but no kid to find it by.
            "no kid": jwt.encode(good, self._keys[self.kid], algorithm="RS256"),
            "not a JWT": "not-a-jwt",
        }

    # -- HTTP ------------------------------------------------------------------------------------
    async def _discovery(self, request: web.Request) -> web.Response:
        self.requests[DISCOVERY_PATH] += 1
        return web.json_response({
            "issuer": self.url, "jwks_uri": self.url + JWKS_PATH,
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "claims_supported": sorted(self.claims()),
        })

    async def _jwks(self, request: web.Request) -> web.Response:
        self.requests[JWKS_PATH] += 1
        return web.json_response(self.jwks())


# Hostile tokens hand-built where PyJWT (rightly) refuses to make them.

def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return ".".join(_b64(json.dumps(part, separators=(",", ":")).encode())
                    for part in (header, claims))


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    return _segments({"alg": "none", "typ": "JWT", "kid": kid}, claims) + "."


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    # The algorithm-confusion attack: a verifier that lets the header pick the algorithm
    # would check this HMAC with the (public) RSA key as its secret.
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _swap_payload(token: str, claims: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
