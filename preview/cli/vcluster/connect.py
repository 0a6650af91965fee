"""`preview vcluster connect`: use a virtual cluster — a command run against it, or a tunnel
kept open."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click
import yaml

from preview.cli import deadline
from preview.cli.options import (
    examples,
    host_options,
    output_option,
    timeout_option,
    verbose_option,
)
from preview.cli.vcluster.common import foreign, namespace_option, run
from preview.kube.host import HostCluster

_COMMAND = "preview.vcluster.command"


class _DashDash(click.Command):
    """A command whose `-- COMMAND…` is taken verbatim: nothing after `--` is parsed as one
    of our options, and nothing before it is taken as the command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            args, ctx.meta[_COMMAND] = args[:cut], tuple(args[cut + 1:])
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            if "unexpected extra argument" not in e.message:
                raise
            raise click.UsageError(f"{e.message}\nA command to run goes after `--`: "
                                   "preview vcluster connect NAME -- kubectl get ns",
                                   ctx) from None

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[-- COMMAND...]"]


@click.command("connect", cls=_DashDash, epilog=examples(
    "preview vcluster connect team-a -- kubectl get pods -A",
    "preview vcluster connect team-a                 # tunnel until Ctrl-C",
    "preview vcluster connect team-a --kube-config ./team-a.yaml",
    "preview vcluster connect team-a --print --server https://team-a.example.com",
    "preview vcluster connect team-a --expose loadbalancer -- kubectl get ns"))
@click.argument("name")
@namespace_option("Host namespace of the virtual cluster.  [default: the one holding NAME]")
@click.option("--print", "print_", is_flag=True,
              help="Print the kubeconfig to stdout (with a tunnel: kept open until Ctrl-C).")
@click.option("--kube-config", "kube_config", type=click.Path(path_type=Path), default=None,
              help="Write the kubeconfig to this file (mode 0600) instead of a temporary one.")
@click.option("--server", default=None, metavar="URL",
              help="API address to put in the kubeconfig (no tunnel), e.g. an Ingress host.")
@click.option("--expose", type=click.Choice(["port-forward", "loadbalancer", "ingress"]),
              default="port-forward", show_default=True,
              help="How to reach the virtual API from here.")
@click.option("--local-port", type=click.IntRange(0, 65535), default=0,
              show_default="a free port", help="Local end of the port-forward.")
@foreign("--print-kubeconfig", "--print (a tunnel's kubeconfig) or --print --server "
          "https://NAME.NS.svc:443 (the in-cluster address)", "earlier preview versions",
          is_flag=True, default=None)
@foreign("--update-current", "--kube-config PATH writes a kubeconfig; preview never edits "
          "yours", is_flag=False, flag_value="true", default=None, metavar="BOOL")
@foreign("--background-proxy", "run `preview vcluster connect NAME --kube-config PATH &`",
          is_flag=True, default=None)
@output_option("yaml", "json", default="yaml")
@timeout_option("1m", "getting the kubeconfig and opening the tunnel (not how long "
                "the tunnel, or the command, then runs)")
@host_options
@verbose_option
def connect_command(name: str, namespace: str | None, print_: bool, kube_config: Path | None,
                    server: str | None, expose: str, local_port: int, output: str, timeout: int,
                    kubeconfig: Path | None, context: str | None) -> None:
    """Use virtual cluster NAME: run `-- COMMAND…` against it, or keep a tunnel open.

    With a command: open the tunnel, run the command with KUBECONFIG pointing at the
    virtual cluster, close the tunnel, exit with the command's code. Without one: keep the
    tunnel open in the foreground (Ctrl-C or SIGTERM stops it) and print the kubeconfig's
    path. The temporary kubeconfig (admin credentials, mode 0600) is removed on the way out.
    """
    from preview.vcluster import find, session
    from preview.vcluster.model import check_name, check_namespace

    command: tuple[str, ...] = click.get_current_context().meta.get(_COMMAND, ())
    if print_ and command:
        raise click.UsageError("--print prints a kubeconfig; a command after `--` uses one. "
                               "Pick one.")
    check_name(name)
    if namespace is not None:
        check_namespace(namespace)
    tunnel = server is None and expose == "port-forward"

    bounds: list[asyncio.Timeout] = []

    def ready(path: Path) -> None:
        for bound in bounds:  # the session is up: --timeout no longer applies
            bound.reschedule(None)
        if print_:  # -o json: the same kubeconfig, as JSON
            text = path.read_text()
            click.echo(json.dumps(yaml.safe_load(text), indent=2) if output == "json"
                       else text.rstrip())
        if command:
            return
        if kube_config is not None:
            click.echo(f"virtual cluster {name}: kubeconfig written to {path}", err=True)
        elif not print_:
            click.echo(f"virtual cluster {name}: kubeconfig {path}", err=True)
            click.echo(f"  export KUBECONFIG={path}", err=True)
        if tunnel:
            click.echo("  (the tunnel is open until Ctrl-C)", err=True)
        sys.stderr.flush()
        sys.stdout.flush()

    async def connect(host: HostCluster) -> int:
        async with deadline.deadline(timeout, f"virtual cluster {name}'s kubeconfig"
                                     + (" and tunnel" if tunnel else "")) as bound:
            bounds.append(bound)
            ns = await find.resolve(host, name, namespace, with_helm=False)
            async with host.client() as kube:
                return await session.run(kube, name, ns, command, ready, hold=tunnel,
                                         expose=expose, local_port=local_port,
                                         server=server, path=kube_config)

    try:
        code = run(kubeconfig, context, connect)
    except KeyboardInterrupt:  # before the session took over the signals: nothing to clean
        code = 130
    sys.exit(code)
