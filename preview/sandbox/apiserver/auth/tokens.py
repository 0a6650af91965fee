"""Service-account tokens: JWTs shaped like the real ones, signed by the emulator's key.

Bound tokens (TokenRequest) carry the `kubernetes.io` claim with the namespace, the service
account's name and uid, and an expiry; the authenticator rejects them once the account is
gone or replaced, or expired, as the real server does.

Time passes for tokens in tests without waiting: when `$PREVIEW_SANDBOX_CLOCK_FILE` is set
as a server starts, the server's token clock is the wall clock plus the seconds that file
holds (read at every use; absent or empty: 0). The real API refuses a TokenRequest under 10
minutes, so this is how a test sees a token expire. Only servers started while the variable
is set (a virtual cluster's stand-in, which gets it through the pod runtime) are affected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ISSUER = "https://kubernetes.default.svc.cluster.local"
CLOCK_FILE_ENV = "PREVIEW_SANDBOX_CLOCK_FILE"


def token_clock(environ: dict[str, str] | None = None) -> Callable[[], float]:
    """The wall clock, moved on by the seconds in `$PREVIEW_SANDBOX_CLOCK_FILE` if set."""
    path = (environ if environ is not None else dict(os.environ)).get(CLOCK_FILE_ENV, "")
    if not path:
        return time.time

    def now() -> float:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            text = ""
        return time.time() + (float(text) if text else 0.0)
    return now


@dataclass(frozen=True)
class TokenClaims:
    namespace: str
    name: str
    uid: str
    audiences: tuple[str, ...]
    expires: int
    secret_name: str = ""  # legacy Secret-based token

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


class TokenSigner:
    def __init__(self, key: bytes | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.key = key or secrets.token_bytes(32)
        self.clock = clock or token_clock()

    def issue(self, namespace: str, name: str, uid: str, audiences: list[str],
              expiration_seconds: int, bound: dict[str, Any] | None = None) -> tuple[str, int]:
        now = int(self.clock())
        exp = now + expiration_seconds
        claims: dict[str, Any] = {
            "aud": audiences, "exp": exp, "iat": now, "nbf": now, "iss": ISSUER,
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
        }
        if bound:
            claims["kubernetes.io"][bound["kind"].lower()] = {"name": bound["name"],
                                                              "uid": bound.get("uid", "")}
        return self._sign(claims), exp

    def issue_legacy(self, namespace: str, name: str, uid: str, secret_name: str) -> str:
        claims = {
            "iss": "kubernetes/serviceaccount",
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/secret.name": secret_name,
            "kubernetes.io/serviceaccount/service-account.name": name,
            "kubernetes.io/serviceaccount/service-account.uid": uid,
        }
        return self._sign(claims)

    def verify(self, token: str) -> TokenClaims | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = _b64(hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(),
                                 hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return None
        if "kubernetes.io" in claims:
            k = claims["kubernetes.io"]
            if claims.get("exp", 0) < self.clock():
                return None
            return TokenClaims(k["namespace"], k["serviceaccount"]["name"],
                               k["serviceaccount"]["uid"], tuple(claims.get("aud") or ()),
                               int(claims["exp"]))
        prefix = "kubernetes.io/serviceaccount/"
        if prefix + "namespace" in claims:
            return TokenClaims(claims[prefix + "namespace"],
                               claims[prefix + "service-account.name"],
                               claims[prefix + "service-account.uid"], (), 0,
                               claims[prefix + "secret.name"])
        return None

    def _sign(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "kid": "sandbox"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self.key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{sig}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
