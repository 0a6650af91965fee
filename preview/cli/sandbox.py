"""`preview sandbox …`: the built-in emulated cluster (no real Kubernetes needed)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from preview.results import UpResult

if TYPE_CHECKING:  # the emulator loads only when a sandbox command runs, never for `preview up`
    from preview.sandbox.runner import Running, ServerConfig

DEFAULT_SANDBOX_KUBECONFIG = Path(".sandbox/kubeconfig")
DEFAULT_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app"


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
@click.option("--example", type=click.Path(path_type=Path, file_okay=False), default=None,
              show_default="examples/app of this checkout",
              help="Directory with the preview.yaml the demo deploys.")
@_ingress_options
@click.pass_context
def sandbox(ctx: click.Context, port: int, kubeconfig_path: Path, serve: bool,
            example: Path | None, ingress_http_port: int, ingress_https_port: int) -> None:
    """Run the built-in emulated cluster (no real Kubernetes needed).

    Without a subcommand: the demo. Start an emulated host cluster, run `preview up` for
    the example app as PR #1 of example/app, print its URL (the host's ingress controller
    serves on loopback ports: http://pr-1-app.localhost:PORT/), serve until Ctrl-C, then
    run `preview down` and stop. With --serve: only the host cluster.
    """
    if ctx.invoked_subcommand is None:
        from preview.sandbox.runner import ServerConfig

        config = ServerConfig(ingress_http_port=ingress_http_port,
                              ingress_https_port=ingress_https_port)
        if serve:
            _serve(port, kubeconfig_path, config, _print_serving)
        else:
            _demo(port, kubeconfig_path, config, example or DEFAULT_EXAMPLE)


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
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="As k3s's --data-dir: keep the CAs and certificates in DIR/server/tls, "
                   "k3s's layout (a syncer's --kubelet-ca-dir reads it), and dial kubelets "
                   "with its kubelet client certificate.")
@_ingress_options
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


@sandbox.command("oidc")
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


def _demo(port: int, kubeconfig_path: Path, config: ServerConfig, example: Path) -> None:
    """The sandbox glue of the demo: start the host sandbox, run `operations.demo` on it."""
    import signal

    from preview import render
    from preview.cli.inputs import holder
    from preview.kube.host import HostCluster
    from preview.operations.demo import DEMO_OWNER, DEMO_PR, DEMO_REPO, demo
    from preview.operations.exclusive import Lock
    from preview.sandbox.runner import Sandbox

    if not (example / "preview.yaml").is_file():
        raise click.ClickException(f"no preview.yaml in {example}: pass --example DIRECTORY")
    printer = render.ProgressPrinter()
    with Sandbox(config, port=port, kubeconfig_path=kubeconfig_path) as sb:
        path = kubeconfig_path.resolve()
        click.echo(f"Sandbox host cluster serving at {sb.url} (kubeconfig {path})")
        click.echo(f"Running `preview up` for {example} as PR #{DEMO_PR} of "
                   f"{DEMO_OWNER}/{DEMO_REPO}…")
        sys.stdout.flush()
        host = HostCluster.from_kubeconfig(path)

        def announce(result: UpResult) -> None:
            printer.done()
            click.echo(demo_text(result, path, sb.ingress_http_port))
            sys.stdout.flush()

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            outcome = await demo(host, example, printer, announce, stop,
                                 Lock(holder(), wait=True, timeout=600.0))
            printer.done()
            click.echo(f"Environment {outcome.down.environment} torn down "
                       f"({outcome.down.seconds:.1f}s); stopping the sandbox.")

        asyncio.run(main())


def demo_text(result: UpResult, kubeconfig: Path, ingress_port: int) -> str:
    """What the demo prints once `up` finished (pure)."""
    from preview.cli.texts import up_text
    from preview.operations.demo import DEMO_OWNER, DEMO_PR, DEMO_REPO

    host = result.url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    lines = [up_text(result, f"{DEMO_OWNER}/{DEMO_REPO}"), ""]
    if result.status == "ready":
        lines += ["Open it:",
                  f"  {result.url.rstrip('/')}/",
                  f"  curl {result.url.rstrip('/')}/",
                  f"  curl -H 'Host: {host}' http://127.0.0.1:{ingress_port}/   "
                  "# where *.localhost does not resolve", ""]
    lines += ["kubectl:",
              f"  export KUBECONFIG={kubeconfig}                 # the host cluster",
              "  .tools/bin/kubectl get pods -A",
              f"  .venv/bin/preview kubeconfig --repo {DEMO_OWNER}/{DEMO_REPO} --pr {DEMO_PR} "
              "--tunnel --file pr-1.kubeconfig &",
              "  KUBECONFIG=pr-1.kubeconfig .tools/bin/kubectl get pods   # the virtual cluster",
              "",
              "Sleep and wake (no pod on the host while asleep; the URL answers again after):",
              f"  .venv/bin/preview sleep --repo {DEMO_OWNER}/{DEMO_REPO} --pr {DEMO_PR} "
              f"--kubeconfig {kubeconfig}",
              f"  .venv/bin/preview list --kubeconfig {kubeconfig}       # status: asleep",
              f"  .venv/bin/preview wake --repo {DEMO_OWNER}/{DEMO_REPO} --pr {DEMO_PR} "
              f"--kubeconfig {kubeconfig}",
              f"  .venv/bin/preview cost --by repo --kubeconfig {kubeconfig}",
              "",
              "Press Ctrl-C to tear the environment down and stop."]
    return "\n".join(lines)
