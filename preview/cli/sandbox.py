"""`preview sandbox …`: the built-in emulated cluster (no real Kubernetes needed)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the emulator loads only when a sandbox command runs, never for `preview up`
    from preview.sandbox.server import ServerConfig

DEFAULT_SANDBOX_KUBECONFIG = Path(".sandbox/kubeconfig")


@click.group(invoke_without_command=True)
@click.option("--port", type=int, default=0, show_default="a free port",
              help="Port to serve the emulated API on (127.0.0.1).")
@click.option("--kubeconfig", "kubeconfig_path", type=click.Path(path_type=Path),
              default=DEFAULT_SANDBOX_KUBECONFIG, show_default=True,
              help="Where to write the admin kubeconfig.")
@click.pass_context
def sandbox(ctx: click.Context, port: int, kubeconfig_path: Path) -> None:
    """Run the built-in emulated cluster (no real Kubernetes needed).

    Without a subcommand: start an emulated cluster in the foreground and print how to
    use it with kubectl and helm. Stop it with Ctrl-C.
    """
    if ctx.invoked_subcommand is None:
        from preview.sandbox.server import ServerConfig

        _serve(port, kubeconfig_path, ServerConfig(), demo=True)


@sandbox.command("apiserver")
@click.option("--port", type=int, default=0, show_default="a free port",
              help="Port to listen on (127.0.0.1).")
@click.option("--kubeconfig", "kubeconfig_path", type=click.Path(path_type=Path),
              default=DEFAULT_SANDBOX_KUBECONFIG, show_default=True,
              help="Where to write the admin kubeconfig once the server is serving.")
@click.option("--service-cidr", default="10.96.0.0/12", show_default=True,
              help="Range Service cluster IPs are allocated from.")
@click.option("--flavour", type=click.Choice(["host", "virtual"]), default="host",
              show_default=True,
              help="host: nodes, scheduler and kubelet run pods; virtual: a control plane "
                   "only (like k3s in a virtual cluster), pods stay Pending.")
@click.option("--nodes", type=click.IntRange(min=0), default=3, show_default=True,
              help="Nodes of a host-flavour cluster.")
@click.option("--tls-san", "tls_sans", multiple=True, metavar="NAME|IP",
              help="Extra name or IP in the serving certificate (as k3s's --tls-san). "
                   "Repeatable.")
def sandbox_apiserver(port: int, kubeconfig_path: Path, service_cidr: str, flavour: str,
                      nodes: int, tls_sans: tuple[str, ...]) -> None:
    """Serve the Kubernetes API emulator in the foreground until SIGINT/SIGTERM.

    Prints one JSON line {"url": ..., "kubeconfig": ...} once it accepts connections.
    """
    from preview.sandbox.server import ServerConfig

    _serve(port, kubeconfig_path, ServerConfig(service_cidr=service_cidr, flavour=flavour,
                                               nodes=nodes, tls_sans=tls_sans), demo=False)


def _serve(port: int, kubeconfig_path: Path, server_config: ServerConfig, demo: bool) -> None:
    from preview.sandbox.runner import serve_forever

    def ready(url: str) -> None:
        path = kubeconfig_path.resolve()
        if demo:
            click.echo(f"Sandbox cluster serving at {url}")
            click.echo(f"Admin kubeconfig: {path}\n")
            click.echo("Try, in another terminal:")
            click.echo(f"  export KUBECONFIG={path}")
            click.echo("  .tools/bin/kubectl get nodes")
            click.echo("  .tools/bin/kubectl create deployment web --image=nginx --replicas=3")
            click.echo("  .tools/bin/kubectl rollout status deployment/web")
            click.echo("\nA virtual cluster in it (k3s stands in as a sandbox API, the real "
                       "syncer runs):")
            click.echo("  .venv/bin/preview vcluster create demo")
            click.echo("  .venv/bin/preview vcluster connect demo -- .tools/bin/kubectl get ns")
            click.echo("\nPress Ctrl-C to stop.")
        else:
            click.echo(json.dumps({"url": url, "kubeconfig": str(path)}))
        sys.stdout.flush()

    try:
        asyncio.run(serve_forever(server_config, "127.0.0.1", port, kubeconfig_path, ready))
    except OSError as e:
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {e.strerror}") from e


