"""`preview vcluster create` and `convert`: a virtual cluster installed or upgraded from
charts/vcluster, and vCluster's own values translated into the chart's."""

from __future__ import annotations

from pathlib import Path

import click

from preview import render
from preview.cli.options import (
    examples,
    host_options,
    output_option,
    timeout_option,
    verbose_option,
)
from preview.cli.vcluster.common import foreign, namespace_option, run


@click.command("create", epilog=examples(
    "preview vcluster create team-a",
    "preview vcluster create team-a -n previews --set isolation.podSecurity=restricted",
    "preview vcluster create team-a -f values.yaml --timeout 10m",
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
@timeout_option("5m", "the virtual cluster's start")
@output_option("text", "json", "yaml", default="text")
@foreign("--connect", "`preview vcluster connect NAME` after create (create never connects)",
          is_flag=False, flag_value="true", default=None, metavar="BOOL")
@foreign("--chart-version", "the chart is the one preview ships; set PREVIEW_VCLUSTER_CHART "
          "to another charts/vcluster directory")
@foreign("--kubernetes-version", "--set k3s.image=rancher/k3s:vX.Y.Z-k3s1")
@foreign("--distro", "the control plane is always k3s (--set k3s.image=… picks its version)")
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
    result = run(kubeconfig, context, lambda host: lifecycle.create(
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


@click.command("convert", epilog=examples(
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
