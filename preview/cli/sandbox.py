"""`preview sandbox …`: the built-in emulated cluster (no real Kubernetes needed)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the emulator loads only when a sandbox command runs, never for `preview up`
    from preview.sandbox.runner import Running
    from preview.sandbox.server import ServerConfig

DEFAULT_SANDBOX_KUBECONFIG = Path(".sandbox/kubeconfig")
EXAMPLE_CHART = "examples/app/chart"


def _ingress_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--ingress-https-port", type=click.IntRange(0, 65535), default=0,
                     show_default="a free port",
                     help="Loopback port of the host ingress controller's HTTPS.")(f)
    return click.option("--ingress-http-port", type=click.IntRange(0, 65535), default=0,
                        show_default="a free port",
                        help="Loopback port of the host ingress controller's HTTP.")(f)


@click.group(invoke_without_command=True)
@click.option("--port", type=int, default=0, show_default="a free port",
              help="Port to serve the emulated API on (127.0.0.1).")
@click.option("--kubeconfig", "kubeconfig_path", type=click.Path(path_type=Path),
              default=DEFAULT_SANDBOX_KUBECONFIG, show_default=True,
              help="Where to write the admin kubeconfig.")
@click.option("--serve", is_flag=True,
              help="Only serve the host cluster (for scripts): print its kubeconfig path and "
                   "ingress ports, then serve until Ctrl-C/SIGTERM.")
@_ingress_options
@click.pass_context
def sandbox(ctx: click.Context, port: int, kubeconfig_path: Path, serve: bool,
            ingress_http_port: int, ingress_https_port: int) -> None:
    """Run the built-in emulated cluster (no real Kubernetes needed).

    Without a subcommand: start an emulated host cluster in the foreground and print how
    to use it with kubectl and helm. Its ingress controller serves HTTP and HTTPS on
    loopback ports, so an app's Ingress answers at http://HOST.localhost:PORT/. Stop it
    with Ctrl-C.
    """
    if ctx.invoked_subcommand is None:
        from preview.sandbox.server import ServerConfig

        config = ServerConfig(ingress_http_port=ingress_http_port,
                              ingress_https_port=ingress_https_port)
        _serve(port, kubeconfig_path, config, _print_serving if serve else _print_demo)


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
@_ingress_options
def sandbox_apiserver(port: int, kubeconfig_path: Path, service_cidr: str, flavour: str,
                      nodes: int, tls_sans: tuple[str, ...], ingress_http_port: int,
                      ingress_https_port: int) -> None:
    """Serve the Kubernetes API emulator in the foreground until SIGINT/SIGTERM.

    Prints one JSON line {"url": ..., "kubeconfig": ..., "ingress": {"http": PORT,
    "https": PORT}} once it accepts connections ("ingress" is {} for the virtual flavour,
    which has no ingress controller).
    """
    from preview.sandbox.server import ServerConfig

    _serve(port, kubeconfig_path, ServerConfig(
        service_cidr=service_cidr, flavour=flavour, nodes=nodes, tls_sans=tls_sans,
        ingress_http_port=ingress_http_port, ingress_https_port=ingress_https_port),
        _print_json)


Report = Callable[[str, Path, dict[str, int]], None]  # (API url, kubeconfig, ingress ports)


def _print_json(url: str, kubeconfig: Path, ingress: dict[str, int]) -> None:
    click.echo(json.dumps({"url": url, "kubeconfig": str(kubeconfig), "ingress": ingress}))


def _print_serving(url: str, kubeconfig: Path, ingress: dict[str, int]) -> None:
    click.echo(f"Sandbox cluster serving at {url}")
    click.echo(f"Kubeconfig: {kubeconfig}")
    click.echo(f"Ingress HTTP port: {ingress['http']}")
    click.echo(f"Ingress HTTPS port: {ingress['https']}")


def _print_demo(url: str, kubeconfig: Path, ingress: dict[str, int]) -> None:
    http = ingress["http"]
    click.echo(f"Sandbox cluster serving at {url}")
    click.echo(f"Admin kubeconfig: {kubeconfig}")
    click.echo(f"Ingress: http://127.0.0.1:{http} and https://127.0.0.1:{ingress['https']} "
               "(certificates from the CA in the kubeconfig)\n")
    click.echo("Try, in another terminal:")
    click.echo(f"  export KUBECONFIG={kubeconfig}")
    click.echo("  .tools/bin/kubectl get nodes")
    click.echo("  .tools/bin/kubectl create deployment web --image=nginx --replicas=3")
    click.echo("  .tools/bin/kubectl rollout status deployment/web")
    click.echo("\nThe example app, served through the ingress (its python container runs "
               "for real):")
    click.echo(f"  .tools/bin/helm install app {EXAMPLE_CHART} --wait "
               "--set ingress.host=pr-1-app.localhost --set pr.number=1")
    click.echo(f"  curl http://pr-1-app.localhost:{http}/")
    click.echo("\nA virtual cluster in it (k3s stands in as a sandbox API, the real "
               "syncer runs):")
    click.echo("  .venv/bin/preview vcluster create demo")
    click.echo("  .venv/bin/preview vcluster connect demo -- .tools/bin/kubectl get ns")
    click.echo("\nPress Ctrl-C to stop.")


def _serve(port: int, kubeconfig_path: Path, server_config: ServerConfig,
           report: Report) -> None:
    from preview.sandbox.runner import serve_forever

    def running(started: Running) -> None:
        report(started.url, kubeconfig_path.resolve(), started.ingress_ports)
        sys.stdout.flush()

    try:
        asyncio.run(serve_forever(server_config, "127.0.0.1", port, kubeconfig_path,
                                  lambda url: None, running))
    except OSError as e:
        ingress = [p for p in (server_config.ingress_http_port,
                               server_config.ingress_https_port) if p]
        also = f" (or ingress port {' or '.join(map(str, ingress))})" if ingress else ""
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}{also}: "
                                   f"{e.strerror}") from e


