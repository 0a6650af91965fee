"""`preview gc`: remove forgotten preview environments from the host (nightly)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from preview.cli import options
from preview.errors import BadInput


def _repos(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
           ) -> tuple[str, ...]:
    from preview.naming import check_repository

    for repo in value:
        owner, slash, name = repo.partition("/")
        try:
            if not slash:
                raise ValueError("expected OWNER/REPO")
            check_repository(owner, name)
        except ValueError as e:
            raise click.BadParameter(f"{repo!r}: {e}") from e
    return value


@click.command("gc")
@click.option("--repo", "repos", multiple=True, metavar="OWNER/REPO", callback=_repos,
              help="Only environments of this repository. Repeatable.  [default: all]")
@click.option("--dry-run", is_flag=True, help="Print the plan; delete nothing.")
@click.option("--max-deletions", type=click.IntRange(min=0), default=20, show_default=True,
              help="Refuse (delete nothing, exit 1) a run that would delete more.")
@click.option("--force", is_flag=True, help="Delete even beyond --max-deletions.")
@click.option("--parallel", type=click.IntRange(min=1), default=8, show_default=True,
              help="Environments deleted at a time (each still verified and reported).")
@click.option("--older-than", "grace", default="1h", show_default=True,
              callback=options.grace, metavar="DURATION",
              help="Grace period: younger environments are kept (a deploy may be running) "
                   "unless their TTL expired. 30m, 6h, 2d (a bare number: seconds; 0: "
                   "none).")
@click.option("--keep-label", "keep_labels", multiple=True, default=("preview:keep",),
              show_default=True, help="A PR label that keeps its environment. Repeatable.")
@options.timeout_option("5m", "each environment's teardown")
@options.output_option("table", "json", "yaml", default="table")
@click.option("--github-token", envvar="GITHUB_TOKEN", default="", show_default=False,
              show_envvar=True, help="Token to read pull requests (and to update deployments "
              "and comments). Without one, PR states are unknown and only TTL and "
              "broken-environment rules apply.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None,
              envvar="PREVIEW_POLICY", show_envvar=True,
              help="The platform policy file: its longest TTL and environments per "
                   "repository are enforced on what is found (docs/policy.md).")
@options.host_options
@options.verbose_option
def gc_command(repos: tuple[str, ...], dry_run: bool, max_deletions: int, force: bool,
               parallel: int, grace: int, keep_labels: tuple[str, ...], timeout: int,
               output: str,
               github_token: str, policy_path: Path | None, kubeconfig: Path | None,
               context: str | None) -> None:
    """Find every managed environment on the host, decide, delete, report.

    Deletes an environment when its PR is closed or merged, its TTL expired, its repository
    is provably gone, or it is broken (or stuck Terminating) beyond the grace period. Keeps it
    on any doubt: a GitHub error never deletes. Exits 1 when a deletion failed or the run was
    refused by --max-deletions. Up to --parallel deletions run at a time; an environment
    another run (`up`, `down`) is working on is skipped. Rules and token choice: docs/gc.md.
    """
    from preview import policy
    from preview.cli.inputs import holder, host_cluster
    from preview.gc import report
    from preview.gc.model import Settings
    from preview.github import GitHubSession
    from preview.github.pulls import gc_transport
    from preview.operations.exclusive import Lock
    from preview.operations.gc import GcOptions, down_teardown, gc, github_notifier

    if any(not label.strip() for label in keep_labels):
        raise BadInput("--keep-label: empty label", "name a PR label, e.g. preview:keep")
    token = github_token or os.environ.get("GH_TOKEN", "")
    github = gc_transport(token, os.environ) if token else None
    rules = policy.load(policy_path)
    options = GcOptions(repos=repos, dry_run=dry_run, max_deletions=max_deletions, force=force,
                        settings=Settings(grace_seconds=grace, keep_labels=keep_labels,
                                          max_ttl_seconds=rules.caps.ttl if policy_path else None,
                                          per_repository=rules.caps.environments.per_repository),
                        parallel=parallel)

    # The step summary gets the GC's report, not one comment per deleted environment.
    session = GitHubSession.from_env(
        {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}, token) \
        if token and not dry_run else None
    notify = github_notifier(session) if session is not None else None

    cluster = host_cluster(kubeconfig, context)

    async def main() -> report.GcResult:
        async with cluster.client("preview-gc") as host:
            return await gc(host, options, github, notify=notify,
                            teardown_fn=down_teardown(cluster, host, Lock(holder(), wait=False,
                                                                          timeout=0),
                                                      timeout))

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    costs = _costs(cluster, rules) if summary else ""  # before the deletions: they count
    result = asyncio.run(main())
    click.echo(report.to_table(result) if output == "table" else
               report.to_json(result) if output == "json" else report.to_yaml(result))
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(report.to_markdown(result) + costs)
    if result.refused:
        click.echo(f"error: {result.refused}", err=True)
    elif result.failed:
        click.echo(f"error: {len(result.failed)} deletions failed (see the report)", err=True)
    sys.exit(result.exit_code)


def _costs(cluster: Any, rules: Any) -> str:
    """The step summary's cost section (docs/cost.md), by repository and team; a failure to
    read it is one line there, never the GC's failure."""
    from preview.cost import report as cost_report
    from preview.errors import PreviewError
    from preview.operations import cost

    try:
        rows = asyncio.run(cost.costs(cluster, rules))
    except PreviewError as e:
        return f"\n_Cost not available: {e.message}_\n"
    return cost_report.markdown(rows, ("repo", "team"), rules.cost.currency)
