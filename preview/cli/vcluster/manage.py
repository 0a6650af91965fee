"""`preview vcluster list` and `delete`: the virtual clusters on a host, and one removed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from preview import render
from preview.cli.deadline import within
from preview.cli.options import (
    examples,
    host_options,
    output_option,
    timeout_option,
    verbose_option,
)
from preview.cli.vcluster.common import namespace_option, run
from preview.kube.host import HostCluster


@click.command("list", epilog=examples(
    "preview vcluster list", "preview vcluster ls -n previews",
    "preview vcluster list -o wide", "preview vcluster list -o json"))
@namespace_option("Only this host namespace.")
@click.option("-A", "--all-namespaces", is_flag=True,
              help="Every namespace (the default; overrides -n, as in kubectl).")
@output_option("table", "wide", "json", "yaml", default="table")
@timeout_option("1m", "getting the list from the host cluster")
@host_options
@verbose_option
def list_command(namespace: str | None, all_namespaces: bool, output: str, timeout: int,
                 kubeconfig: Path | None, context: str | None) -> None:
    """Every virtual cluster on the host: status, age, namespace, owner labels (alias: ls).

    STATUS is Running, Starting, Paused, or Failed (its helm release failed, or it never
    got a StatefulSet).
    """
    from preview.vcluster import listing

    where = None if all_namespaces else namespace
    rows = run(kubeconfig, context,
                lambda host: within(timeout, "the host cluster to list the virtual clusters",
                                    listing.list_vclusters(host, where, with_helm=True)))
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


@click.command("delete", epilog=examples(
    "preview vcluster delete team-a",
    "preview vcluster delete team-a -n previews --keep-namespace",
    "preview vcluster delete team-a --ignore-not-found   # in scripts"))
@click.argument("name")
@namespace_option("Host namespace of the virtual cluster.  [default: the one holding NAME]")
@click.option("--ignore-not-found", is_flag=True,
              help="Exit 0 when there is no such virtual cluster (kubectl's flag).")
@click.option("--keep-namespace", is_flag=True,
              help="Leave the namespace (only what the virtual cluster made is removed).")
@timeout_option("5m", "the deletion")
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

    result = run(kubeconfig, context, delete)
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
