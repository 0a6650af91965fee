"""An OIDC issuer's signing keys: its discovery document, then its JWKS, cached.

A token naming a key id we do not hold makes us fetch the keys again (the issuer rotated
them), but at most once per `min_refetch_interval_s` whatever the tokens say: anyone can
send tokens with made-up key ids, and each must not become a request to the issuer. Keys
older than `max_age_s` are fetched again before use, so a key the issuer withdrew stops
being accepted; when that fetch fails the keys we hold are kept (an issuer outage is not
every login's failure).

Only RSA keys of at least 2048 bits are kept, each bound to RS256: a key is never used with
the algorithm a token's header asks for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from preview.errors import BadInput, PreviewError

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
MIN_RSA_BITS = 2048
MAX_DOCUMENT_BYTES = 256 * 1024  # GitHub's JWKS is ~2 KiB; a larger answer is not one


class IssuerUnavailable(PreviewError):
    """The issuer's discovery document or keys could not be fetched or read (the server
    answers 503: the caller's token may be fine)."""


class IssuerKeys:
    """The signing keys of `issuer`, fetched over HTTPS (aiohttp) and cached.

    `ca_file` replaces the system's trust store (a GHES with a private CA, the test issuer);
    without it the system's CAs verify the issuer. `clock` is monotonic seconds (tests pass
    their own to step over the refetch interval). Use it from one event loop: its lock and
    HTTP session belong to the loop that first uses them.
    """

    def __init__(self, issuer: str, *, ca_file: Path | None = None,
                 min_refetch_interval_s: float = 60.0, max_age_s: float = 3600.0,
                 timeout_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not issuer.startswith("https://"):
            raise BadInput(f"issuer {issuer!r}: only an https:// issuer is trusted",
                           "the policy's api.issuer: docs/platform.md")
        self.issuer = issuer
        self.discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.ca_file = ca_file
        self.min_refetch_interval_s = min_refetch_interval_s
        self.max_age_s = max_age_s
        self.timeout_s = timeout_s
        self.fetches = 0  # times the keys were fetched (for tests and the server's metrics)
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._last_error: IssuerUnavailable | None = None
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        try:
            self._ssl = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as e:
            raise BadInput(f"{ca_file}: cannot read the issuer's CA file: {e}",
                           "pass a PEM file of the CA that signed the issuer's "
                           "certificate") from None

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key `kid`, fetching the keys when due; None when the issuer has no such key
        (or it was asked too recently to be asked again)."""
        if self._expired():
            await self._refresh_if_due(keep_on_error=True)
        key = self._keys.get(kid)
        if key is not None:
            return key
        await self._refresh_if_due(keep_on_error=False)
        return self._keys.get(kid)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _expired(self) -> bool:
        return self._fetched_at is not None and \
            self._clock() - self._fetched_at >= self.max_age_s

    def _due(self) -> bool:
        return self._attempted_at is None or \
            self._clock() - self._attempted_at >= self.min_refetch_interval_s

    async def _refresh_if_due(self, keep_on_error: bool) -> None:
        before = self._attempted_at
        async with self._lock:
            # Whoever waited on the lock while another task fetched uses that fetch.
            if self._attempted_at != before or not self._due():
                if not self._keys and self._last_error is not None:
                    raise self._last_error
                return
            self._attempted_at = self._clock()
            try:
                self._keys = await self._fetch()
            except IssuerUnavailable as e:
                self._last_error = e
                if keep_on_error and self._keys:
                    log.warning("%s; keeping the %d keys fetched before", e.message,
                                len(self._keys))
                    return
                raise
            self._fetched_at, self._last_error = self._attempted_at, None
            self.fetches += 1
            log.info("fetched %d signing keys of %s: %s", len(self._keys), self.issuer,
                     ", ".join(sorted(self._keys)))

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        discovery = await self._get_json(self.discovery_url)
        # OpenID Connect Discovery 1.0 §4.3: the document's issuer is exactly the one asked.
        if discovery.get("issuer") != self.issuer:
            raise IssuerUnavailable(
                f"{self.discovery_url} names the issuer {discovery.get('issuer')!r}, "
                f"not {self.issuer!r}", "configure the issuer exactly as its tokens name it")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise IssuerUnavailable(f"{self.discovery_url}: jwks_uri {jwks_uri!r} is not an "
                                    "https:// URL")
        keys = (await self._get_json(jwks_uri)).get("keys")
        if not isinstance(keys, list):
            raise IssuerUnavailable(f"{jwks_uri}: no \"keys\" list")
        usable = {}
        for jwk in keys:
            key = _rs256_key(jwk)
            if key is not None:
                usable[jwk["kid"]] = key
        if not usable:
            raise IssuerUnavailable(f"{jwks_uri}: no RSA signing key of {MIN_RSA_BITS} bits "
                                    "or more with a key id")
        return usable

    async def _get_json(self, url: str) -> dict[str, Any]:
        hint = ("check the issuer URL and that this server can reach it over HTTPS (a GHES "
                "with a private CA needs its CA file)")
        try:
            async with self._client().get(url, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise IssuerUnavailable(f"{url}: HTTP {resp.status}", hint)
                body = await resp.content.read(MAX_DOCUMENT_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError) as e:
            raise IssuerUnavailable(f"{url}: {type(e).__name__}: {e}", hint) from None
        if len(body) > MAX_DOCUMENT_BYTES:
            raise IssuerUnavailable(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
        try:
            document = json.loads(body)
        except ValueError:
            raise IssuerUnavailable(f"{url}: not JSON") from None
        if not isinstance(document, dict):
            raise IssuerUnavailable(f"{url}: not a JSON object")
        return document

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # trust_env: an egress proxy (HTTPS_PROXY) reaches github.com as curl would.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl), trust_env=True,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self._session


def _rs256_key(jwk: object) -> jwt.PyJWK | None:
    """`jwk` as an RS256 verification key, or None when it cannot be one of ours."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or \
            not isinstance(jwk.get("kid"), str) or jwk.get("use", "sig") != "sig" or \
            jwk.get("alg", ALGORITHM) != ALGORITHM:
        return None
    try:
        key = jwt.PyJWK(jwk, algorithm=ALGORITHM)
    except jwt.PyJWTError as e:
        log.warning("skipping key %r: %s", jwk.get("kid"), e)
        return None
    if not isinstance(key.key, rsa.RSAPublicKey) or key.key.key_size < MIN_RSA_BITS:
        log.warning("skipping key %r: not an RSA public key of %d bits or more",
                    jwk.get("kid"), MIN_RSA_BITS)
        return None
    return key
