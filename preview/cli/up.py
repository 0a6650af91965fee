"""`preview up`: options, one call (`operations.run.up_environment`), rendering.

Exit codes: 0 ready; 1 the deploy failed (the environment is left for inspection) or the
cluster refused; 2 bad input (preview.yaml, flags, the PR context, the chart's templates, a
namespace that is not ours, a fork), nothing created; 4 another run works on the environment
and --no-wait was given (nothing done).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from preview import render
from preview.cli import inputs, options, reporting, texts
from preview.errors import BadInput

EXAMPLES = options.examples(
    "preview up --repo octo-org/app --pr 42 --sha 1a2b3c4 --domain preview.example.com",
    "preview up --config deploy/preview.yaml --set image.tag=dev -o json",
    "preview up        # in GitHub Actions: the pull request comes from the event")


@click.command("up", epilog=EXAMPLES)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="The preview.yaml.  [default: ./preview.yaml when present]")
@options.config_options
@inputs.pr_options
@click.option("--sha", default=None, help="Head commit of the pull request.")
@click.option("--branch", default=None, help="Head branch of the pull request.")
@click.option("--author", default=None, help="Author of the pull request.")
@options.output_option("text", "json", "yaml", default="text")
@click.option("--allow-forks", is_flag=True,
              help="Deploy a pull request whose head is in a fork (its code then runs with "
                   "this kubeconfig; see docs/action.md).")
@inputs.policy_option
@inputs.api_options
@inputs.lock_option
@inputs.github_option
@options.host_options
@options.verbose_option
def up_command(config_path: Path | None, overrides: Any, repo: str | None,
               pr_number: str | None, app: str | None, sha: str | None, branch: str | None,
               author: str | None, output: str, allow_forks: bool, policy_path: Path | None,
               api_url: str | None, audience: str | None, no_wait: bool,
               github_token: str | None, no_deployments: bool, kubeconfig: Path | None,
               context: str | None) -> None:
    """Create or upgrade the preview environment of a pull request and check its URL.

    A virtual cluster in a host namespace, the chart installed in it, workloads ready, the
    URL answering. The same commit twice changes nothing; a new one upgrades in place.
    Exit codes: 0 ready, 1 deploy failed (left for inspection), 2 bad input, 4 another
    run works on it (--no-wait).

    One run at a time per environment: a second `up` or `down` waits until the first is
    done (saying which run it waits for), then does its own work on what that run left.
    --timeout sets every phase's timeout (preview.yaml's `timeouts`).

    With a GitHub token (--github-token, $GITHUB_TOKEN) it keeps the pull request's comment
    and deployment up to date (docs/github.md). A fork's pull request is refused before
    anything else unless --allow-forks.
    """
    from preview import naming, pullrequest
    from preview.operations import run

    flags = pullrequest.PullRequestFlags(repo=repo, pr=pr_number, sha=sha, branch=branch,
                                         author=author)
    pr = inputs.bad_input(lambda: pullrequest.resolve(flags, os.environ))
    env = inputs.bad_input(lambda: naming.environment_for(pr.owner, pr.repo, pr.number,
                                                          app or ""))
    if api_url and app:
        raise BadInput("--environment: in API mode the API builds the pull request's one "
                       "environment", "drop --environment (or the action's environment "
                       "input), or deploy in kubeconfig mode")
    if api_url and ([row.flag for row in overrides.given() if row.name != "timeout"]
                    or policy_path):
        raise BadInput("--api: the API builds the environment from preview.yaml alone, "
                       "under its own platform policy",
                       "drop the flags that override preview.yaml and --policy; put them in "
                       "preview.yaml")
    reporter = reporting.Reporter.create(os.environ, github_token, output,
                                         deployments=not no_deployments)
    request = run.UpRequest(config_path, overrides, policy_path, allow_forks,
                            os.environ.get("GITHUB_EVENT_NAME", ""))
    printer = reporter.progress(output)
    with reporter.phases(f"preview up {env.name}") as phase_started:
        where = inputs.backend(api_url, audience, kubeconfig, context, no_wait)
        outcome = asyncio.run(run.up_environment(pr, env, request, where, reporter, printer,
                                                 phase_started))
        printer.done()
    show(outcome, pr.full_name, output)


def show(outcome: Any, repo: str, output: str) -> None:
    """Render how `up` ended and exit with its code."""
    from preview import lease

    if isinstance(outcome.error, lease.Busy):
        click.echo(f"yielded: {outcome.error}", err=True)
    elif outcome.error is not None:
        raise outcome.error  # one line and its exit code (preview.cli.run)
    elif outcome.down is not None:
        click.echo(f"the pull request was closed meanwhile: {outcome.result.environment} "
                   "is torn down", err=True)
        click.echo(render.dump(outcome.down, output) if output != "text"
                   else texts.down_text(outcome.down))
    else:
        click.echo(render.dump(outcome.result, output) if output != "text"
                   else texts.up_text(outcome.result, repo))
    sys.exit(outcome.exit_code)
