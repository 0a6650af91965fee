"""`preview sandbox --serve` and `preview sandbox apiserver`: the emulated API server in the
foreground."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from preview.control.collector import FreezeSurvivors

if TYPE_CHECKING:  # the emulator loads only when a sandbox command runs, never for `preview up`
    from preview.sandbox.runner import Running, ServerConfig

DEFAULT_SANDBOX_KUBECONFIG = Path(".sandbox/kubeconfig")


def ingress_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--ingress-https-port", type=click.IntRange(0, 65535), default=0,
                     show_default="a free port",
                     help="Loopback port of the host ingress controller's HTTPS.")(f)
    return click.option("--ingress-http-port", type=click.IntRange(0, 65535), default=0,
                        show_default="a free port",
                        help="Loopback port of the host ingress controller's HTTP.")(f)


@click.command("apiserver")
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
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="As k3s's --data-dir: keep the CAs and certificates in DIR/server/tls, "
                   "k3s's layout (a syncer's --kubelet-ca-dir reads it), and dial kubelets "
                   "with its kubelet client certificate.")
@ingress_options
def sandbox_apiserver(port: int, kubeconfig_path: Path, service_cidr: str, flavour: str,
                      nodes: int, tls_sans: tuple[str, ...], data_dir: Path | None,
                      ingress_http_port: int, ingress_https_port: int) -> None:
    """Serve the Kubernetes API emulator in the foreground until SIGINT/SIGTERM.

    Prints one JSON line {"url": ..., "kubeconfig": ..., "ingress": {"http": PORT,
    "https": PORT}} once it accepts connections ("ingress" is {} for the virtual flavour,
    which has no ingress controller).
    """
    from preview.sandbox.runner import ServerConfig

    _serve(port, kubeconfig_path, ServerConfig(
        service_cidr=service_cidr, flavour=flavour, nodes=nodes, tls_sans=tls_sans,
        data_dir=data_dir,
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


def _serve(port: int, kubeconfig_path: Path, server_config: ServerConfig,
           report: Report) -> None:
    from preview.sandbox.runner import serve_forever

    # Its store and watch history hold every object and recent event: keep the collector's
    # full passes from walking them all again and again (preview/control/collector.py).
    FreezeSurvivors().install()

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


def serve_host(port: int, kubeconfig_path: Path, server_config: ServerConfig) -> None:
    """`preview sandbox --serve`: the host cluster only, its addresses said for people."""
    _serve(port, kubeconfig_path, server_config, _print_serving)
