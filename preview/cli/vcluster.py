"""`preview vcluster …`: create, connect to, list and delete virtual clusters on a host."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from preview import helm, render
from preview.errors import PreviewError
from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig

T = TypeVar("T")


@click.group("vcluster")
def vcluster() -> None:
    """Virtual clusters in a host cluster: one namespace each, a kubeconfig to use them.

    The host cluster comes from --kubeconfig / --context, or KUBECONFIG, as kubectl does.
    """


def host_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--context", default=None, help="Context of that kubeconfig to use.")(fn)
    return click.option(
        "--kubeconfig", type=click.Path(path_type=Path), default=None,
        help="Kubeconfig of the host cluster.  [default: $KUBECONFIG, ~/.kube/config]")(fn)


def namespace_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-n", "--namespace", default=None,
                        help="Host namespace of the virtual cluster.  [default: vcluster-NAME]")(fn)


def _namespace(name: str, namespace: str | None) -> str:
    """The host namespace, after checking both names (before any cluster is contacted)."""
    from preview.vcluster.model import check_name, check_namespace

    check_name(name)
    return check_namespace(namespace or f"vcluster-{name}")


def _run(kubeconfig: Path | None, context: str | None,
         operation: Callable[[KubeClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with KubeClient(from_kubeconfig(kubeconfig, context), "preview-cli") as host:
            return await operation(host)
    return asyncio.run(main())


def _helm_kubeconfig(kubeconfig: Path | None) -> Path | None:
    if kubeconfig is not None:
        return kubeconfig
    env = os.environ.get("KUBECONFIG", "")
    return Path(env.split(os.pathsep)[0]) if env else None


@vcluster.command("create")
@click.argument("name")
@namespace_option
@click.option("-f", "--values", "values_files", multiple=True, type=click.Path(path_type=Path),
              help="Values file for charts/vcluster. Repeatable; later files win.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Set one value (dotted keys). Repeatable; wins over files.")
@click.option("--timeout", type=click.IntRange(min=1), default=300, show_default=True,
              help="Seconds to wait for the virtual cluster to be ready.")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
              show_default=True)
@host_options
def create_command(name: str, namespace: str | None, values_files: tuple[Path, ...],
                   assignments: tuple[str, ...], timeout: int, output: str,
                   kubeconfig: Path | None, context: str | None) -> None:
    """Create virtual cluster NAME (or upgrade it in place if it exists) and wait for it."""
    from preview.vcluster import lifecycle

    values: dict[str, Any] = {}
    for path in values_files:
        values = _merge(values, helm.load_values_file(path))
    for assignment in assignments:
        helm.set_value(values, assignment)
    ns = _namespace(name, namespace)
    printer = render.ProgressPrinter()
    result = _run(kubeconfig, context, lambda host: lifecycle.create(
        host, name, ns, values, printer, _helm_kubeconfig(kubeconfig), context, timeout))
    printer.done()
    if output != "text":
        click.echo(render.dump(result, output))
        return
    click.echo(f"virtual cluster {name} is ready in namespace {ns} ({result.seconds}s)")
    click.echo(f"  kubeconfig: Secret {ns}/{result.kubeconfig_secret}")
    click.echo(f"  use it:     preview vcluster connect {name} -n {ns} -- kubectl get ns")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@vcluster.command("connect", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@namespace_option
@click.option("--print-kubeconfig", is_flag=True,
              help="Print the published kubeconfig (server: the in-cluster Service) and exit.")
@click.option("--expose", type=click.Choice(["port-forward", "loadbalancer", "ingress"]),
              default="port-forward", show_default=True,
              help="How to reach the virtual API from here.")
@click.option("--local-port", type=click.IntRange(0, 65535), default=0,
              show_default="a free port", help="Local end of the port-forward.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@host_options
def connect_command(name: str, namespace: str | None, print_kubeconfig: bool, expose: str,
                    local_port: int, command: tuple[str, ...], kubeconfig: Path | None,
                    context: str | None) -> None:
    """Use virtual cluster NAME: run `-- COMMAND…` against it, or keep a tunnel open.

    With a command: open the tunnel, run the command with KUBECONFIG pointing at the
    virtual cluster, close the tunnel, exit with the command's code. Without one: keep the
    tunnel open in the foreground (Ctrl-C stops it) and print the kubeconfig's path.
    """
    import yaml

    from preview.vcluster import connect as connecting

    ns = _namespace(name, namespace)
    if print_kubeconfig:
        published = _run(kubeconfig, context,
                         lambda host: connecting.published_kubeconfig(host, name, ns))
        click.echo(yaml.safe_dump(published).rstrip())
        return

    async def session(host: KubeClient) -> int:
        async with connecting.connect(host, name, ns, expose, local_port) as path:
            if command:
                env = {**os.environ, "KUBECONFIG": str(path)}
                try:
                    proc = await asyncio.create_subprocess_exec(*command, env=env)
                except FileNotFoundError:
                    raise PreviewError(f"command not found: {command[0]}") from None
                return await proc.wait()
            click.echo(f"virtual cluster {name}: kubeconfig {path}", err=True)
            click.echo(f"  export KUBECONFIG={path}", err=True)
            click.echo("  (Ctrl-C closes the tunnel)", err=True)
            await asyncio.Event().wait()
            return 0

    try:
        code = _run(kubeconfig, context, session)
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)


@vcluster.command("list")
@click.option("-n", "--namespace", default=None, help="Only this host namespace.")
@click.option("-o", "--output", type=click.Choice(render.OUTPUTS), default="table",
              show_default=True)
@host_options
def list_command(namespace: str | None, output: str, kubeconfig: Path | None,
                 context: str | None) -> None:
    """Every virtual cluster on the host: status, age, namespace, owner labels."""
    from preview.vcluster import listing

    rows = _run(kubeconfig, context, lambda host: listing.list_vclusters(host, namespace))
    if output != "table":
        click.echo(render.dump(rows, output))
        return
    if not rows:
        click.echo("No virtual clusters found.", err=True)
        return
    click.echo(render.table(
        ("name", "namespace", "status", "age", "owner"),
        [(r.name, r.namespace, r.status, render.age(r.age_seconds),
          ",".join(f"{k.split('/', 1)[1]}={v}" for k, v in sorted(r.labels.items())) or "-")
         for r in rows]))


@vcluster.command("delete")
@click.argument("name")
@namespace_option
@click.option("--keep-namespace", is_flag=True,
              help="Leave the namespace (only what the virtual cluster made is removed).")
@click.option("--timeout", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
              show_default=True)
@host_options
def delete_command(name: str, namespace: str | None, keep_namespace: bool, timeout: int,
                   output: str, kubeconfig: Path | None, context: str | None) -> None:
    """Delete virtual cluster NAME and everything it made; report anything left behind."""
    from preview.vcluster import lifecycle

    ns = _namespace(name, namespace)
    printer = render.ProgressPrinter()
    result = _run(kubeconfig, context, lambda host: lifecycle.delete(
        host, name, ns, printer, keep_namespace, _helm_kubeconfig(kubeconfig), context,
        timeout))
    printer.done()
    if output != "text":
        click.echo(render.dump(result, output))
    elif not result.uninstalled and not result.namespace_deleted:
        click.echo(f"virtual cluster {name} was not installed in {ns}; nothing to delete")
    else:
        gone = " and its namespace" if result.namespace_deleted else ""
        click.echo(f"virtual cluster {name}{gone} deleted ({result.seconds}s)")
    if result.leftovers:
        click.echo(f"left behind in {ns} (carrying our labels): " + ", ".join(result.leftovers),
                   err=True)
        sys.exit(3)
