"""`preview cost`: what each environment has cost so far, and the sums by a label.

Usage is the host pods' requests x their lifetime and the claims' size x theirs
(`preview.cost.usage` says how pods that are gone are counted); prices are the platform
policy's `cost:` rates (docs/cost.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from preview import render
from preview.cli.deadline import within
from preview.cli.inputs import bad_input, host_cluster, policy_option
from preview.cli.options import (
    examples,
    host_options,
    output_option,
    timeout_option,
    verbose_option,
)


@click.command("cost", epilog=examples(
    "preview cost                          # every environment, cost so far",
    "preview cost --by team -o json        # sums by the namespace label `team`",
    "preview cost --by repo -o csv > previews.csv"))
@click.option("--by", "by", default=None, metavar="LABEL",
              help="Sum by this label of the environments' namespaces (the `labels:` of "
                   "preview.yaml, e.g. team), or `repo`.")
@click.option("-l", "--selector", default="", metavar="SELECTOR",
              help="Only environments whose namespace matches this label selector.")
@click.option("--at", "at", default=None, metavar="RFC3339",
              help="Count usage up to this moment instead of now.")
@click.option("--record", is_flag=True,
              help="Also write each environment's usage ledger (what the GC's pass does), "
                   "so pods that go later are still counted.")
@output_option("table", "json", "yaml", "csv", default="table")
@timeout_option("1m", "getting the usage from the host cluster")
@policy_option
@host_options
@verbose_option
def cost_command(by: str | None, selector: str, at: str | None, record: bool, output: str, timeout: int,
                 policy_path: Path | None, kubeconfig: Path | None,
                 context: str | None) -> None:
    """Every environment's CPU-hours, GiB-hours, storage GiB-hours and price so far."""
    from preview import policy
    from preview.cost import report
    from preview.operations import cost

    rules = policy.load(policy_path)
    moment = bad_input(lambda: _moment(at)) if at else None
    host = host_cluster(kubeconfig, context)
    rows = asyncio.run(within(timeout, "the host cluster's pods and claims",
                              cost.costs(host, rules, selector, moment, keep=record)))
    groups = report.group(rows, by, rules.cost.currency) if by else []
    if output in ("json", "yaml"):
        data: dict[str, Any] = {"environments": [asdict(r) for r in rows]}
        if by:
            data["by"] = by
            data["groups"] = [asdict(g) for g in groups]
        click.echo(render.dump(data, output))
        return
    if output == "csv":
        click.echo(report.csv_text(groups if by else list(rows)), nl=False)
        return
    if not rows:
        click.echo("No preview environments found.", err=True)
        return
    click.echo(render.table(
        ("repo", "pr", "cpu-h", "GiB-h", "disk GiB-h", "cost", "per day"),
        [(r.repo, r.pr, f"{r.cpu_hours:.2f}", f"{r.memory_gib_hours:.2f}",
          f"{r.storage_gib_hours:.2f}", f"{r.cost:.2f} {r.currency}",
          f"{r.per_day:.2f}" if r.per_day else "-") for r in rows]))
    if by:
        click.echo()
        click.echo(render.table(
            (by, "environments", "cpu-h", "GiB-h", "disk GiB-h", "cost"),
            [(g.value, g.environments, f"{g.cpu_hours:.2f}", f"{g.memory_gib_hours:.2f}",
              f"{g.storage_gib_hours:.2f}", f"{g.cost:.2f} {g.currency}") for g in groups]))


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--at {text!r} is not an RFC 3339 time (e.g. "
                         "2026-12-06T08:00:00Z)") from None
    if moment.tzinfo is None:
        raise ValueError(f"--at {text!r} has no time zone: end it with Z or +HH:MM")
    return moment
