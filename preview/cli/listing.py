"""`preview list`: every preview environment on the host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from preview import render
from preview.cli import deadline, inputs, options, texts


@click.command("list", epilog=options.examples("preview list --repo octo-org/app -o json"))
@click.option("--repo", default=None, metavar="OWNER/NAME", help="Only this repository's.")
@options.output_option("table", "json", "yaml", default="table")
@options.timeout_option("1m", "getting the list from the host cluster")
@options.host_options
@options.verbose_option
def list_command(repo: str | None, output: str, timeout: int,
                 kubeconfig: Path | None, context: str | None) -> None:
    """Every preview environment on the host: repo, PR, commit, URL, age, expiry, status."""
    from preview import pullrequest
    from preview.operations import environments

    owner, name = pullrequest.split_repo(repo) if repo else (None, None)
    host = inputs.host_cluster(kubeconfig, context)
    rows = asyncio.run(deadline.within(
        timeout, "the host cluster to list the environments",
        environments.list_environments(host, owner, name)))
    if output != "table":
        click.echo(render.dump(rows, output))
        return
    if not rows:
        click.echo("No preview environments found.", err=True)
        return
    click.echo(render.table(
        ("repo", "pr", "sha", "url", "age", "expires", "status"),
        [(r.repo, r.pr, r.head_sha[:7] or "-", r.url or "-", render.age(r.age_seconds),
          texts.expires(r.expires_in_seconds), r.status) for r in rows]))
