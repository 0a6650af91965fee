"""`preview kubeconfig`: a kubeconfig for the virtual cluster of a pull request's environment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import click

from preview.cli import inputs, options

FORMATS = ("yaml", "json")


def _output(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """-o FORMAT; the old `--output FILE` still works, with a warning, as `--file FILE`."""
    if value is None or value in FORMATS:
        return value or "yaml"
    click.echo(f"warning: --output {value}: --output is the format (yaml, json) now; "
               f"write the file with --file {value}", err=True)
    ctx.meta["preview.kubeconfig.file"] = Path(value)
    return "yaml"


@click.command("kubeconfig", epilog=options.examples(
    "preview kubeconfig --repo octo-org/app --pr 42 --tunnel --file pr-42.kubeconfig",
    "KUBECONFIG=pr-42.kubeconfig kubectl get pods     # in another terminal"))
@inputs.pr_options
@click.option("--file", "file", type=click.Path(path_type=Path), default=None,
              help="Write it to this file (mode 0600) instead of printing it.")
@click.option("-o", "--output", default=None, callback=_output, metavar="|".join(FORMATS),
              help="Output format.  [default: yaml]")
@click.option("--server", default=None,
              help="API address to put in it (e.g. the virtual cluster's Ingress or load "
                   "balancer).  [default: the in-cluster Service, or the tunnel's]")
@click.option("--tunnel", is_flag=True,
              help="Keep a port-forward to the virtual API open (Ctrl-C closes it); the "
                   "kubeconfig points at its local end.")
@click.option("--local-port", type=click.IntRange(0, 65535), default=0,
              show_default="a free port", help="Local end of the --tunnel.")
@options.host_options
@options.verbose_option
def kubeconfig_command(repo: str | None, pr_number: str | None, file: Path | None,
                       output: str, server: str | None, tunnel: bool, local_port: int,
                       kubeconfig: Path | None, context: str | None) -> None:
    """A kubeconfig for the virtual cluster of a pull request's environment, for kubectl.

    Without --tunnel its server is the virtual cluster's in-cluster address (reachable
    from the host cluster's pods) or --server. With --tunnel it points at a port-forward
    through the host API that stays open until Ctrl-C.
    """
    import yaml

    from preview.operations import kubeconfig as operation

    file = file or click.get_current_context().meta.get("preview.kubeconfig.file")
    _, env = inputs.environment(repo, pr_number)
    host = inputs.host_cluster(kubeconfig, context)
    if tunnel:
        hold_tunnel(operation, host, env, file or Path(f"{env.name}.kubeconfig"), local_port)
        return
    document = asyncio.run(operation.environment_kubeconfig(host, env, server))
    text = json.dumps(document, indent=2) if output == "json" else yaml.safe_dump(document)
    if file is None:
        click.echo(text.rstrip())
        return
    write_private(file, text.encode())
    click.echo(f"wrote {file}", err=True)


def hold_tunnel(operation: Any, host: Any, env: Any, path: Path, local_port: int) -> None:
    """Keep the port-forward open until Ctrl-C or SIGTERM."""

    async def hold() -> None:
        # Our own handlers: a shell starts a background job with SIGINT ignored, and
        # Python then never raises KeyboardInterrupt; SIGTERM is how tools stop us.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with operation.tunnel(host, env, path, local_port) as written:
            click.echo(f"kubeconfig for {env.full_name} PR {env.pr}: {written}", err=True)
            click.echo(f"  export KUBECONFIG={written.resolve()}", err=True)
            click.echo("  (Ctrl-C closes the tunnel)", err=True)
            await stop.wait()
        click.echo("tunnel closed", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(hold())


def write_private(path: Path, data: bytes) -> None:
    """Write credentials readable by the owner only (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    path.chmod(0o600)  # an existing file keeps its old mode through os.open
