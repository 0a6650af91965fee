"""`preview list`: every preview environment on the host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from preview import render
from preview.cli import inputs, options, texts


@click.command("list", epilog=options.examples("preview list --repo octo-org/app -o json"))
@click.option("--repo", default=None, metavar="OWNER/NAME", help="Only this repository's.")
@options.output_option("table", "json", "yaml", default="table")
@options.host_options
@options.verbose_option
def list_command(repo: str | None, output: str, kubeconfig: Path | None,
                 context: str | None) -> None:
    """Every preview environment on the host: repo, PR, commit, URL, age, expiry, status."""
    from preview import pullrequest
    from preview.operations import environments

    owner, name = pullrequest.split_repo(repo) if repo else (None, None)
    rows = asyncio.run(environments.list_environments(inputs.host_cluster(kubeconfig, context),
                                                      owner, name))
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
