"""`preview sandbox …`: the built-in emulated cluster (no real Kubernetes needed).

This package is the one production-side place allowed to load the emulator (`preview.sandbox`,
import-linter contracts in pyproject.toml), and it loads it only inside its commands, never
when `preview up` starts: the group here, `demo`, `serving` (the host cluster, `apiserver`),
`oidc` (the OIDC issuer stand-in).
"""

from __future__ import annotations

from pathlib import Path

import click

from preview.cli.sandbox.demo import run_demo
from preview.cli.sandbox.oidc import sandbox_oidc
from preview.cli.sandbox.serving import (
    DEFAULT_SANDBOX_KUBECONFIG,
    ingress_options,
    sandbox_apiserver,
    serve_host,
)

DEFAULT_EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "app"


@click.group(invoke_without_command=True)
@click.option("--port", type=int, default=0, show_default="a free port",
              help="Port to serve the emulated API on (127.0.0.1).")
@click.option("--kubeconfig", "kubeconfig_path", type=click.Path(path_type=Path),
              default=DEFAULT_SANDBOX_KUBECONFIG, show_default=True,
              help="Where to write the admin kubeconfig.")
@click.option("--serve", is_flag=True,
              help="Only serve the host cluster (for scripts): print its kubeconfig path and "
                   "ingress ports, then serve until Ctrl-C/SIGTERM.")
@click.option("--example", type=click.Path(path_type=Path, file_okay=False), default=None,
              show_default="examples/app of this checkout",
              help="Directory with the preview.yaml the demo deploys.")
@click.option("--api", is_flag=True,
              help="Also install charts/preview-platform (`preview serve`, API mode) with a "
                   "local OIDC issuer, and print how to create and delete an environment "
                   "through it (a few seconds more).")
@ingress_options
@click.pass_context
def sandbox(ctx: click.Context, port: int, kubeconfig_path: Path, serve: bool,
            example: Path | None, api: bool, ingress_http_port: int,
            ingress_https_port: int) -> None:
    """Run the built-in emulated cluster (no real Kubernetes needed).

    Without a subcommand: the demo. Start an emulated host cluster, run `preview up` for
    the example app as PR #1 of example/app, print its URL (the host's ingress controller
    serves on loopback ports: http://pr-1-app.localhost:PORT/), serve until Ctrl-C, then
    run `preview down` and stop. With --api, also the platform's API in the sandbox. With
    --serve: only the host cluster.
    """
    if ctx.invoked_subcommand is None:
        if serve and api:
            raise click.UsageError("--api installs the platform for the demo; --serve runs "
                                   "no demo: pass one of them")
        from preview.sandbox.runner import ServerConfig

        config = ServerConfig(ingress_http_port=ingress_http_port,
                              ingress_https_port=ingress_https_port)
        if serve:
            serve_host(port, kubeconfig_path, config)
        else:
            run_demo(port, kubeconfig_path, config, example or DEFAULT_EXAMPLE, api)


sandbox.add_command(sandbox_apiserver)
sandbox.add_command(sandbox_oidc)
