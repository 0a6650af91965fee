"""`preview sandbox …`: the built-in emulated cluster (no real Kubernetes needed)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preview.results import UpResult

if TYPE_CHECKING:  # the sandbox is imported when a sandbox command runs, not by `preview up`
    from preview.sandbox.server import ServerConfig

DEFAULT_SANDBOX_KUBECONFIG = Path(".sandbox/kubeconfig")
DEFAULT_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app"


@click.group(invoke_without_command=True)
@click.option("--port", type=int, default=0, show_default="a free port",
              help="Port to serve the emulated API on (127.0.0.1).")
@click.option("--kubeconfig", "kubeconfig_path", type=click.Path(path_type=Path),
              default=DEFAULT_SANDBOX_KUBECONFIG, show_default=True,
              help="Where to write the admin kubeconfig.")
@click.option("--example", type=click.Path(path_type=Path, file_okay=False), default=None,
              show_default="examples/app of this checkout",
              help="Directory with the preview.yaml the demo deploys.")
@click.pass_context
def sandbox(ctx: click.Context, port: int, kubeconfig_path: Path, example: Path | None) -> None:
    """Run the built-in emulated cluster (no real Kubernetes needed).

    Without a subcommand: the demo. Start an emulated host cluster, run `preview up` for
    the example app as PR #1 of example/app, print its URL, serve until Ctrl-C, then run
    `preview down` and stop.
    """
    if ctx.invoked_subcommand is None:
        _demo(port, kubeconfig_path, example or DEFAULT_EXAMPLE)


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


def _demo(port: int, kubeconfig_path: Path, example: Path) -> None:
    """The sandbox glue of the demo: start the host sandbox, run `operations.demo` on it."""
    import signal

    from preview import render
    from preview.kube.host import HostCluster
    from preview.operations.demo import DEMO_OWNER, DEMO_PR, DEMO_REPO, demo
    from preview.sandbox.runner import Sandbox
    from preview.sandbox.server import ServerConfig

    if not (example / "preview.yaml").is_file():
        raise click.ClickException(f"no preview.yaml in {example}: pass --example DIRECTORY")
    printer = render.ProgressPrinter()
    with Sandbox(ServerConfig(), port=port, kubeconfig_path=kubeconfig_path) as sb:
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
            outcome = await demo(host, example, printer, announce, stop)
            printer.done()
            click.echo(f"Environment {outcome.down.environment} torn down "
                       f"({outcome.down.seconds:.1f}s); stopping the sandbox.")

        asyncio.run(main())


def demo_text(result: UpResult, kubeconfig: Path, ingress_port: int) -> str:
    """What the demo prints once `up` finished (pure)."""
    from preview.cli.environments import up_text
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
              "--tunnel --output pr-1.kubeconfig &",
              "  KUBECONFIG=pr-1.kubeconfig .tools/bin/kubectl get pods   # the virtual cluster",
              "",
              "Press Ctrl-C to tear the environment down and stop."]
    return "\n".join(lines)
