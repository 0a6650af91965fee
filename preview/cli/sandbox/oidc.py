"""`preview sandbox oidc`: a stand-in of GitHub Actions' OIDC issuer, for `preview serve`
outside GitHub."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click


@click.command("oidc")
@click.option("--audience", default="preview-sandbox", show_default=True,
              help="The audience tokens are minted for unless the request names one.")
@click.option("--ca-file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the issuer's CA (PEM): preview serve's --issuer-ca.")
def sandbox_oidc(audience: str, ca_file: Path) -> None:
    """Serve a stand-in of GitHub Actions' OIDC issuer (HTTPS) and of the runner's token
    endpoint (HTTP, loopback) until SIGINT/SIGTERM, for `preview serve` outside GitHub.

    Prints one JSON line once serving: {"issuer": URL, "ca_file": PATH, "runtime_url":
    URL, "runtime_token": SECRET}. Point the policy's api.issuer at the issuer; give a run
    ACTIONS_ID_TOKEN_REQUEST_URL=<runtime_url>?repository=OWNER/NAME&pr=N and
    ACTIONS_ID_TOKEN_REQUEST_TOKEN=<runtime_token>. Never trust it outside a test.
    """
    import signal as signals

    from preview.sandbox.oidc import ActionsRuntime, OidcIssuer

    async def main() -> None:
        issuer = await OidcIssuer(audience=audience).start()
        runtime = await ActionsRuntime(issuer).start()
        try:
            ca_file.write_bytes(issuer.ca_pem)
            click.echo(json.dumps({"issuer": issuer.url, "ca_file": str(ca_file.resolve()),
                                   "runtime_url": f"http://{runtime.host}:{runtime.port}/token",
                                   "runtime_token": runtime.secret}))
            sys.stdout.flush()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signals.SIGINT, signals.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await stop.wait()
        finally:
            await runtime.stop()
            await issuer.stop()

    asyncio.run(main())
