"""`preview down`: options, one call (`operations.run.down_environment`), rendering.

Exit codes: 0 gone (or nothing was there); 2 a namespace of that name that is not ours;
3 a teardown left something behind; 4 another run works on the environment and --no-wait
was given (nothing done).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from preview import render
from preview.cli import inputs, options, reporting, texts


@click.command("down", epilog=options.examples(
    "preview down --repo octo-org/app --pr 42",
    "preview down      # in GitHub Actions, on the pull_request `closed` event"))
@inputs.pr_options
@click.option("--reason", default="", metavar="TEXT",
              help="Why it is removed and how to bring it back, for the pull request's "
                   "comment (the action says it from the event).")
@options.timeout_option("5m", "the teardown")
@options.output_option("text", "json", "yaml", default="text")
@inputs.api_options
@inputs.lock_option
@inputs.github_option
@options.host_options
@options.verbose_option
def down_command(repo: str | None, pr_number: str | None, app: str | None, reason: str,
                 timeout: int, output: str,
                 api_url: str | None, audience: str | None, no_wait: bool,
                 github_token: str | None, no_deployments: bool, kubeconfig: Path | None,
                 context: str | None) -> None:
    """Tear down the preview environment of a pull request, and verify it is gone.

    Success also when nothing existed. A namespace of that name without our labels is
    refused (exit 2); something left behind is exit 3. A running `up` of the environment is
    waited for (up to --timeout), or with --no-wait exit 4 and nothing done.
    """
    from preview import lease
    from preview.operations import run

    pr, env = inputs.environment(repo, pr_number, app)
    reporter = reporting.Reporter.create(os.environ, github_token, output,
                                         deployments=not no_deployments)
    printer = reporter.progress(output)
    with reporter.group(f"preview down: {env.name} of {env.full_name}"):
        where = inputs.backend(api_url, audience, kubeconfig, context, no_wait)
        outcome = asyncio.run(run.down_environment(pr, env, where, reporter, printer,
                                                   float(timeout), wait=not no_wait,
                                                   reason=reason))
        printer.done()
    if isinstance(outcome.error, lease.Busy):
        click.echo(f"yielded: {outcome.error}", err=True)
    elif outcome.error is not None:
        raise outcome.error  # one line and its exit code (preview.cli.run)
    elif outcome.result is not None:
        click.echo(render.dump(outcome.result, output) if output != "text"
                   else texts.down_text(outcome.result))
    sys.exit(outcome.exit_code)
