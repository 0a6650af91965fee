"""`preview kubeconfig`: a kubeconfig for the virtual cluster of a pull request's environment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from preview.cli import deadline, inputs, options
from preview.errors import BadInput

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
    "KUBECONFIG=pr-42.kubeconfig kubectl get pods     # in another terminal",
    "preview kubeconfig --api https://preview.example.com --repo octo-org/app --pr 42 "
    "--file pr-42.kubeconfig"))
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
@click.option("--api", "api_url", envvar="PREVIEW_API_URL", default=None, metavar="URL",
              show_envvar=True,
              help="Get it from the platform's API (`preview serve`), logged in with your "
                   "GitHub token: a short-lived token inside the virtual cluster, no host "
                   "access needed (docs/platform.md).")
@click.option("--github-token", default=None, metavar="TOKEN",
              help="With --api: your GitHub token.  [default: $GITHUB_TOKEN, else `gh auth "
                   "token`]")
@options.timeout_option("1m", "getting the kubeconfig (with --tunnel: and opening the "
                                "tunnel, not how long it then stays open)")
@options.host_options
@options.verbose_option
def kubeconfig_command(repo: str | None, pr_number: str | None, app: str | None,
                       file: Path | None,
                       output: str, server: str | None, tunnel: bool, local_port: int,
                       api_url: str | None, github_token: str | None, timeout: int,
                       kubeconfig: Path | None, context: str | None) -> None:
    """A kubeconfig for the virtual cluster of a pull request's environment, for kubectl.

    Without --tunnel its server is the virtual cluster's in-cluster address (reachable
    from the host cluster's pods) or --server. With --tunnel it points at a port-forward
    through the host API that stays open until Ctrl-C. With --api it comes from the
    platform's API instead: you need no host credential, only a GitHub token of someone
    with the policy's role on the repository (write by default); it expires.
    """
    import yaml

    from preview.operations import kubeconfig as operation

    file = file or click.get_current_context().meta.get("preview.kubeconfig.file")
    _, env = inputs.environment(repo, pr_number, app)
    note = ""
    if api_url:
        from preview.serve import client

        if tunnel or server or kubeconfig or context:
            raise BadInput("--api gives the kubeconfig the platform policy says (its server "
                           "and credential)", "drop --tunnel/--server/--kubeconfig/--context, "
                           "or drop --api")
        token = developer_token(github_token, os.environ)
        answer = asyncio.run(deadline.within(
            timeout, f"the platform's API at {api_url}",
            client.Api(api_url, token).kubeconfig(env.full_name, env.pr)))
        document = answer["kubeconfig"]
        note = (f"kubeconfig for {env.full_name} PR {env.pr}: {answer.get('login')} as "
                f"{answer.get('serviceAccount')} ({answer.get('clusterRole')}) until "
                f"{answer.get('expiresAt')}")
    elif tunnel:
        hold_tunnel(operation, inputs.host_cluster(kubeconfig, context), env,
                    file or Path(f"{env.name}.kubeconfig"), local_port, timeout)
        return
    else:
        host = inputs.host_cluster(kubeconfig, context)
        document = asyncio.run(deadline.within(
            timeout, f"the host cluster for PR {env.pr}'s kubeconfig",
            operation.environment_kubeconfig(host, env, server)))
    text = json.dumps(document, indent=2) if output == "json" else yaml.safe_dump(document)
    if file is None:
        click.echo(text.rstrip())
    else:
        write_private(file, text.encode())
        click.echo(f"wrote {file}", err=True)
    if note:
        click.echo(note, err=True)


def hold_tunnel(operation: Any, host: Any, env: Any, path: Path, local_port: int,
                timeout: int) -> None:
    """Keep the port-forward open until Ctrl-C or SIGTERM; `timeout` bounds opening it."""

    async def hold() -> None:
        # Our own handlers: a shell starts a background job with SIGINT ignored, and
        # Python then never raises KeyboardInterrupt; SIGTERM is how tools stop us.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with deadline.deadline(timeout, f"PR {env.pr}'s kubeconfig and tunnel") as bound, \
                operation.tunnel(host, env, path, local_port) as written:
            bound.reschedule(None)  # open: the tunnel stays until Ctrl-C, not --timeout
            click.echo(f"kubeconfig for {env.full_name} PR {env.pr}: {written}", err=True)
            click.echo(f"  export KUBECONFIG={written.resolve()}", err=True)
            click.echo("  (Ctrl-C closes the tunnel)", err=True)
            await stop.wait()
        click.echo("tunnel closed", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(hold())


def developer_token(given: str | None, environ: Mapping[str, str]) -> str:
    """The developer's GitHub token: --github-token, $GITHUB_TOKEN, else `gh auth token`."""
    token = given or environ.get("GITHUB_TOKEN", "")
    if not token and shutil.which("gh"):
        answer = subprocess.run(["gh", "auth", "token"], capture_output=True, text=True,
                                check=False, timeout=30)
        token = answer.stdout.strip() if answer.returncode == 0 else ""
    if not token:
        raise BadInput("--api needs your GitHub token to log in",
                       "pass --github-token, set GITHUB_TOKEN, or run `gh auth login`")
    return token


def write_private(path: Path, data: bytes) -> None:
    """Write credentials readable by the owner only (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    path.chmod(0o600)  # an existing file keeps its old mode through os.open
