"""`preview vcluster …`: create, connect to, list and delete virtual clusters on a host."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from preview import render
from preview.cli.options import examples, host_options, output_option, verbose_option
from preview.kube.host import HostCluster

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
_COMMAND = "preview.vcluster.command"


class _Group(click.Group):
    """The `vcluster` group, with kubectl's and vcluster's short aliases (`ls`)."""

    aliases = {"ls": "list"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))


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


@click.group("vcluster", cls=_Group, epilog=examples(
    "preview vcluster create team-a",
    "preview vcluster connect team-a -- kubectl get ns",
    "preview vcluster ls",
    "preview vcluster delete team-a"))
@verbose_option
def vcluster() -> None:
    """Virtual clusters in a host cluster: one namespace each, a kubeconfig to use them.

    The host cluster comes from --kubeconfig / --context, or KUBECONFIG, as kubectl does.
    """


def namespace_option(help_text: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        return click.option("-n", "--namespace", default=None, help=help_text)(fn)
    return decorate


def _refuse(equivalent: str,
            origin: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback for a vcluster-CLI flag we do not have: name ours instead."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        # `--connect=false` asks for what preview does anyway: accepted.
        if value not in (None, False, "false", "False", "0"):
            flag = param.opts[0] if param.opts else param.name
            raise click.UsageError(f"{flag} is a flag of {origin}; with preview: "
                                   f"{equivalent}", ctx)
        return value
    return callback


def _foreign(flag: str, equivalent: str, origin: str = "the vcluster CLI",
             **kwargs: Any) -> Callable[[F], F]:
    return click.option(flag, hidden=True, expose_value=False,
                        callback=_refuse(equivalent, origin), **kwargs)


def _run(kubeconfig: Path | None, context: str | None,
         operation: Callable[[HostCluster], Coroutine[Any, Any, T]]) -> T:
    """Run `operation` on the host of --kubeconfig/--context: one value for the API client
    and helm, so both talk to the same cluster."""
    return asyncio.run(operation(HostCluster.from_kubeconfig(kubeconfig, context)))


@vcluster.command("create", epilog=examples(
    "preview vcluster create team-a",
    "preview vcluster create team-a -n previews --set isolation.podSecurity=restricted",
    "preview vcluster create team-a -f values.yaml --timeout 600",
    "preview vcluster create team-a --upgrade --set isolation.quota.pods=50"))
@click.argument("name")
@namespace_option("Host namespace of the virtual cluster.  [default: vcluster-NAME]")
@click.option("-f", "--values", "values_files", multiple=True, type=click.Path(path_type=Path),
              help="Values file for charts/vcluster. Repeatable; later files win.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Set one value (dotted keys). Repeatable; wins over files.")
@click.option("--upgrade", is_flag=True,
              help="Change an existing virtual cluster; its values are kept unless given again.")
@click.option("--reset-values", is_flag=True,
              help="With --upgrade: start from the chart's defaults, not the installed values.")
@click.option("--expose", is_flag=True,
              help="Make the API a LoadBalancer Service (--set service.type=LoadBalancer).")
@click.option("--timeout", type=click.IntRange(min=1), default=300, show_default=True,
              help="Seconds to wait for the virtual cluster to be ready.")
@output_option("text", "json", "yaml", default="text")
@_foreign("--connect", "`preview vcluster connect NAME` after create (create never connects)",
          is_flag=False, flag_value="true", default=None, metavar="BOOL")
@_foreign("--chart-version", "the chart is the one preview ships; set PREVIEW_VCLUSTER_CHART "
          "to another charts/vcluster directory")
@_foreign("--kubernetes-version", "--set k3s.image=rancher/k3s:vX.Y.Z-k3s1")
@_foreign("--distro", "the control plane is always k3s (--set k3s.image=… picks its version)")
@host_options
@verbose_option
def create_command(name: str, namespace: str | None, values_files: tuple[Path, ...],
                   assignments: tuple[str, ...], upgrade: bool, reset_values: bool,
                   expose: bool, timeout: int, output: str, kubeconfig: Path | None,
                   context: str | None) -> None:
    """Create virtual cluster NAME and wait until it is ready.

    An existing one is refused unless --upgrade, which keeps the values it was installed
    with unless they are given again (-f/--set) and prints every value that changes.
    """
    from preview.vcluster import lifecycle
    from preview.vcluster.find import default_namespace
    from preview.vcluster.model import check_name, check_namespace
    from preview.vcluster.values import given

    if reset_values and not upgrade:
        raise click.UsageError("--reset-values goes with --upgrade")
    check_name(name)
    ns = check_namespace(namespace or default_namespace(name))
    values = given(values_files, assignments, expose,
                   report=lambda line: click.echo(line, err=True))
    printer = render.ProgressPrinter()
    result = _run(kubeconfig, context, lambda host: lifecycle.create(
        host, name, ns, values, printer, timeout, upgrade, reset_values))
    printer.done()
    if output != "text":
        click.echo(render.dump(result, output))
        return
    if result.upgraded:
        click.echo(f"virtual cluster {name} upgraded in namespace {ns} (revision "
                   f"{result.revision}, {result.seconds}s)")
        for change in result.changes or ("no value changed",):
            click.echo(f"  {change}")
    else:
        click.echo(f"virtual cluster {name} is ready in namespace {ns} ({result.seconds}s)")
    click.echo(f"  kubeconfig: Secret {ns}/{result.kubeconfig_secret}")
    click.echo(f"  use it:     preview vcluster connect {name} -n {ns} -- kubectl get ns")


@vcluster.command("convert", epilog=examples(
    "preview vcluster convert vcluster.yaml > values.yaml",
    "preview vcluster convert old-values.yaml -o json"))
@click.argument("file", type=click.Path(path_type=Path))
@output_option("yaml", "json", default="yaml")
@verbose_option
def convert_command(file: Path, output: str) -> None:
    """Print charts/vcluster values for vCluster values FILE (vCluster ≤0.19 values or a
    vcluster.yaml of vCluster ≥0.20), to switch for good.

    What became of each vCluster key goes to stderr; a key with no equivalent fails,
    naming it and why. `create -f FILE` translates the same way on the fly.
    """
    from preview.vcluster.values import load

    translation = load(file)
    click.echo(f"{file}: {translation.form}, in charts/vcluster's values:", err=True)
    for line in translation.lines or ("(nothing to translate)",):
        click.echo(f"{file}: {line}", err=True)
    click.echo(render.dump(translation.merged, output))


@vcluster.command("connect", cls=_DashDash, epilog=examples(
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
@_foreign("--print-kubeconfig", "--print (a tunnel's kubeconfig) or --print --server "
          "https://NAME.NS.svc:443 (the in-cluster address)", "earlier preview versions",
          is_flag=True, default=None)
@_foreign("--update-current", "--kube-config PATH writes a kubeconfig; preview never edits "
          "yours", is_flag=False, flag_value="true", default=None, metavar="BOOL")
@_foreign("--background-proxy", "run `preview vcluster connect NAME --kube-config PATH &`",
          is_flag=True, default=None)
@host_options
@verbose_option
def connect_command(name: str, namespace: str | None, print_: bool, kube_config: Path | None,
                    server: str | None, expose: str, local_port: int, kubeconfig: Path | None,
                    context: str | None) -> None:
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

    def ready(path: Path) -> None:
        if print_:
            click.echo(path.read_text().rstrip())
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
        ns = await find.resolve(host, name, namespace, with_helm=False)
        async with host.client() as kube:
            return await session.run(kube, name, ns, command, ready, hold=tunnel,
                                     expose=expose, local_port=local_port, server=server,
                                     path=kube_config)

    try:
        code = _run(kubeconfig, context, connect)
    except KeyboardInterrupt:  # before the session took over the signals: nothing to clean
        code = 130
    sys.exit(code)


@vcluster.command("list", epilog=examples(
    "preview vcluster list", "preview vcluster ls -n previews",
    "preview vcluster list -o wide", "preview vcluster list -o json"))
@namespace_option("Only this host namespace.")
@click.option("-A", "--all-namespaces", is_flag=True,
              help="Every namespace (the default; overrides -n, as in kubectl).")
@output_option("table", "wide", "json", "yaml", default="table")
@host_options
@verbose_option
def list_command(namespace: str | None, all_namespaces: bool, output: str,
                 kubeconfig: Path | None, context: str | None) -> None:
    """Every virtual cluster on the host: status, age, namespace, owner labels (alias: ls).

    STATUS is Running, Starting, Paused, or Failed (its helm release failed, or it never
    got a StatefulSet).
    """
    from preview.vcluster import listing

    where = None if all_namespaces else namespace
    rows = _run(kubeconfig, context,
                lambda host: listing.list_vclusters(host, where, with_helm=True))
    if output in ("json", "yaml"):
        click.echo(render.dump(rows, output))
        return
    if not rows:
        click.echo("No virtual clusters found.", err=True)
        return
    headers: tuple[str, ...] = ("name", "namespace", "status", "age", "owner")
    table = [[r.name, r.namespace, r.status, render.age(r.age_seconds),
              ",".join(f"{k.split('/', 1)[1]}={v}" for k, v in sorted(r.labels.items())) or "-"]
             for r in rows]
    if output == "wide":
        headers += ("release", "revision", "chart")
        for line, r in zip(table, rows, strict=True):
            line += [r.release or "-", str(r.revision or "-"), r.chart or "-"]
    click.echo(render.table(headers, table))


@vcluster.command("delete", epilog=examples(
    "preview vcluster delete team-a",
    "preview vcluster delete team-a -n previews --keep-namespace",
    "preview vcluster delete team-a --ignore-not-found   # in scripts"))
@click.argument("name")
@namespace_option("Host namespace of the virtual cluster.  [default: the one holding NAME]")
@click.option("--ignore-not-found", is_flag=True,
              help="Exit 0 when there is no such virtual cluster (kubectl's flag).")
@click.option("--keep-namespace", is_flag=True,
              help="Leave the namespace (only what the virtual cluster made is removed).")
@click.option("--timeout", type=click.IntRange(min=1), default=300, show_default=True)
@output_option("text", "json", "yaml", default="text")
@host_options
@verbose_option
def delete_command(name: str, namespace: str | None, ignore_not_found: bool,
                   keep_namespace: bool, timeout: int, output: str, kubeconfig: Path | None,
                   context: str | None) -> None:
    """Delete virtual cluster NAME and everything it made; report anything left behind.

    Without -n, the one virtual cluster of that name on the host is deleted (several: an
    error lists them). One that does not exist is an error unless --ignore-not-found.
    """
    from preview.vcluster import find, lifecycle
    from preview.vcluster.model import check_name, check_namespace

    check_name(name)
    if namespace is not None:
        check_namespace(namespace)
    printer = render.ProgressPrinter()

    async def delete(host: HostCluster) -> Any:
        try:
            ns = await find.resolve(host, name, namespace)
        except find.NoSuchVcluster:
            if ignore_not_found:
                return None
            raise
        return await lifecycle.delete(host, name, ns, printer, keep_namespace, timeout)

    result = _run(kubeconfig, context, delete)
    printer.done()
    if result is None:
        return
    if output != "text":
        click.echo(render.dump(result, output))
    else:
        gone = " and its namespace" if result.namespace_deleted else ""
        click.echo(f"virtual cluster {name}{gone} deleted from {result.namespace} "
                   f"({result.seconds}s)")
    if result.leftovers:
        click.echo(f"left behind in {result.namespace} (carrying our labels): "
                   + ", ".join(result.leftovers), err=True)
        sys.exit(3)
