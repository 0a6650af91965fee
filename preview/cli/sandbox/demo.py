"""`preview sandbox` without a subcommand: the demo — the host sandbox, then
`operations.demo` on it — and what it prints."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preview.results import UpResult

if TYPE_CHECKING:
    from preview.sandbox.runner import ServerConfig


def run_demo(port: int, kubeconfig_path: Path, config: ServerConfig, example: Path) -> None:
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
