"""The Actions runtime's token endpoint, for runs outside GitHub (the demo, benchmarks).

On a runner, a job with `permissions: id-token: write` gets `ACTIONS_ID_TOKEN_REQUEST_URL`
and `_TOKEN`; `preview up --api` asks that URL for a token with `&audience=…` appended and
the request token as a bearer. This stand-in answers the same way over HTTP on loopback,
minting with an `OidcIssuer`: the job's repository and pull request are query parameters of
the URL handed out (`…/token?repository=octo-org/app&pr=1`), as the job is the runner's
context on GitHub.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from preview.sandbox.oidc.issuer import OidcIssuer


class ActionsRuntime:
    """`GET /token?repository=R&pr=N&audience=A` with `Authorization: Bearer <secret>`:
    `{"value": <token>}`, as the runtime answers."""

    def __init__(self, issuer: OidcIssuer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.issuer, self.host, self.port = issuer, host, port
        self.secret = secrets.token_urlsafe(24)
        self._runner: web.AppRunner | None = None

    def url(self, repository: str, pr: int) -> str:
        """ACTIONS_ID_TOKEN_REQUEST_URL for a job of `repository`'s pull request `pr`."""
        return f"http://{self.host}:{self.port}/token?repository={repository}&pr={pr}"

    async def start(self) -> ActionsRuntime:
        app = web.Application()
        app.router.add_get("/token", self._token)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _token(self, request: web.Request) -> web.Response:
        if not secrets.compare_digest(request.headers.get("Authorization", ""),
                                      f"Bearer {self.secret}"):
            return web.json_response({"message": "Unauthorized"}, status=401)
        query = request.query
        repository, pr = query.get("repository", ""), query.get("pr", "")
        if repository.count("/") != 1 or not pr.isdecimal():
            return web.json_response({"message": "repository=OWNER/NAME&pr=N expected"},
                                     status=400)
        claims = self.issuer.claims(repository, pr=int(pr))
        if query.get("audience"):
            claims["aud"] = query["audience"]
        return web.json_response({"value": self.issuer.mint(claims)})
