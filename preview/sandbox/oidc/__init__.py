"""GitHub Actions' OIDC issuer's stand-in: discovery document, JWKS and tokens over HTTPS,
for the login of `preview serve` in tests and the demo (`issuer`), and the Actions runtime's
token endpoint that hands a job its token (`runtime`). No other part imports it."""

from preview.sandbox.oidc.issuer import DISCOVERY_PATH, JWKS_PATH, OidcIssuer
from preview.sandbox.oidc.runtime import ActionsRuntime

__all__ = ["DISCOVERY_PATH", "JWKS_PATH", "ActionsRuntime", "OidcIssuer"]
