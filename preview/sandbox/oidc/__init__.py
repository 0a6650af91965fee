"""GitHub Actions' OIDC issuer's stand-in: discovery document, JWKS and tokens over HTTPS,
for the login of `preview serve` in tests and the demo (`issuer`). No other part imports it."""

from preview.sandbox.oidc.issuer import DISCOVERY_PATH, JWKS_PATH, OidcIssuer

__all__ = ["DISCOVERY_PATH", "JWKS_PATH", "OidcIssuer"]
