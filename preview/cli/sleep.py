"""`preview sleep | wake`: an idle environment's pods off the host, and back as they were.

One environment by `--repo/--pr` (or the pull_request event), or every environment whose
namespace matches `-l SELECTOR` (a label selector over the environments' labels, e.g. the
`labels:` of preview.yaml). Exit codes as `preview down`: 0 ok, 1 failed, 2 bad input, 4
another run holds the environment and --no-wait was given. With a GitHub token the pull
request's comment and deployment status say `asleep` / `ready` (the cost so far too, when
the policy has rates); without one nothing on GitHub changes, and the output says so.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from preview import render
from preview.cli import inputs
from preview.cli.options import (
    examples,
    host_options,
    output_option,
    timeout_option,
    verbose_option,
)
from preview.errors import BadInput
from preview.render import ProgressPrinter


def _options(fn: Any) -> Any:
    fn = verbose_option(fn)
    fn = host_options(fn)
    fn = click.option("--no-wait", is_flag=True,
                      help="When another run works on an environment, exit at once (exit "
                           "code 4) instead of waiting for it.")(fn)
    fn = output_option("text", "json", "yaml", default="text")(fn)
    fn = timeout_option("5m", "each environment")(fn)
    fn = click.option("-l", "--selector", default=None, metavar="SELECTOR",
                      help="Every environment whose namespace matches this label selector "
                           "(e.g. preview-vcluster.io/repo=octo-org.app).")(fn)
    fn = click.option("--github-token", envvar="GITHUB_TOKEN", default="",
                      show_default=False, show_envvar=True,
                      help="Token to update each pull request's comment and deployment "
                           "status. Without one the environments sleep or wake all the same "
                           "and their pull requests are not told.")(fn)
    fn = inputs.policy_option(fn)
    return inputs.pr_options(fn)


def _notify(token: str) -> Any:
    """The pull requests' notifier for `--github-token`/GITHUB_TOKEN (GH_TOKEN too), or
    None without a token."""
    from preview.github import GitHubSession
    from preview.operations import sleep_news

    token = token or os.environ.get("GH_TOKEN", "")
    # One comment per pull request, not the step summary of the run that sleeps them.
    session = GitHubSession.from_env(
        {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}, token) \
        if token else None
    return sleep_news.notifier(session) if session is not None else None


@click.command("sleep", epilog=examples(
    "preview sleep --repo octo-org/app --pr 42",
    "preview sleep -l team=payments      # every environment labelled team=payments",
    "preview sleep --idle --policy platform-policy.yaml   # the platform's scheduled pass"))
@_options
@click.option("--idle", is_flag=True,
              help="Every environment without activity for the policy's sleepAfter, "
                   "except those labelled with its keepAwakeLabel or being deployed.")
def sleep_command(repo: str | None, pr_number: str | None, app: str | None,
                  selector: str | None,
                  timeout: int, output: str, no_wait: bool, kubeconfig: Path | None,
                  context: str | None, idle: bool, policy_path: Path | None,
                  github_token: str) -> None:
    """Scale an environment to zero: its workloads inside the virtual cluster, then its
    control plane (data kept on its volume). `preview wake` brings it back as it was."""
    if idle:
        _idle(selector, timeout, output, kubeconfig, context, policy_path, github_token,
              named=repo is not None or pr_number is not None or app is not None)
        return
    _run("sleep", repo, pr_number, app, selector, timeout, output, no_wait, kubeconfig,
         context, policy_path, github_token)


def _idle(selector: str | None, timeout: int, output: str, kubeconfig: Path | None,
          context: str | None, policy_path: Path | None, github_token: str,
          named: bool) -> None:
    """The idle pass: exit 1 when an environment that should sleep could not."""
    from dataclasses import asdict

    from preview import policy
    from preview.operations import sleep
    from preview.operations.exclusive import Lock

    if named:
        raise BadInput("--idle decides which environments sleep: leave out --repo/--pr",
                       "narrow it with -l SELECTOR instead")
    rules = policy.load(policy_path)
    printer = ProgressPrinter(None)
    outcomes = asyncio.run(sleep.sleep_idle(
        inputs.host_cluster(kubeconfig, context), rules, printer,
        lock=Lock(inputs.holder(), wait=False, timeout=timeout),  # a held one is skipped
        selector=selector or "", timeout=timeout, notify=_notify(github_token)))
    printer.done()
    if output != "text":
        click.echo(render.dump([asdict(o) for o in outcomes], output))
    else:
        for outcome in outcomes:
            told = f"; pull request {outcome.pull_request}" if outcome.pull_request else ""
            click.echo(f"{outcome.namespace}: {outcome.action} ({outcome.reason}){told}")
    if any(o.action == "failed" for o in outcomes):
        sys.exit(1)


@click.command("wake", epilog=examples(
    "preview wake --repo octo-org/app --pr 42",
    "preview wake -l preview-vcluster.io/repo=octo-org.app"))
@_options
def wake_command(repo: str | None, pr_number: str | None, app: str | None,
                 selector: str | None,
                 timeout: int, output: str, no_wait: bool, kubeconfig: Path | None,
                 context: str | None, policy_path: Path | None, github_token: str) -> None:
    """Wake a sleeping environment: control plane, then every workload with the replicas
    it had, waiting until they are ready as `preview up` does."""
    _run("wake", repo, pr_number, app, selector, timeout, output, no_wait, kubeconfig,
         context, policy_path, github_token)


def _run(verb: str, repo: str | None, pr_number: str | None, app: str | None,
         selector: str | None,
         timeout: int, output: str, no_wait: bool, kubeconfig: Path | None,
         context: str | None, policy_path: Path | None, github_token: str) -> None:
    from preview import lease, policy
    from preview.operations import cost, sleep
    from preview.operations.exclusive import Lock

    host = inputs.host_cluster(kubeconfig, context)
    if selector is not None:
        if repo is not None or pr_number is not None or app is not None:
            raise BadInput("-l and --repo/--pr name environments two ways: give one of them")
        envs = asyncio.run(sleep.selected(host, selector))
    else:
        envs = [inputs.environment(repo, pr_number, app)[1]]
    rules = policy.load(policy_path)
    rates, notify = cost.rates(rules), _notify(github_token)
    printer = ProgressPrinter(None)  # on stderr: stdout is the result
    results = []
    for env in envs:
        lock = Lock(inputs.holder(), wait=not no_wait, timeout=timeout)
        try:
            results.append(asyncio.run(
                sleep.sleep(host, env, printer, timeout=timeout, lock=lock,
                            wake=rules.wake_page, notify=notify, rates=rates)
                if verb == "sleep" else
                sleep.wake(host, env, printer, timeout=timeout, lock=lock, notify=notify,
                           rates=rates)))
        except lease.Busy as e:
            printer.done()
            click.echo(f"yielded: {e}", err=True)
            sys.exit(e.exit_code)
    printer.done()
    if output != "text":
        click.echo(render.dump(results, output))
        return
    if not results:
        click.echo(f"no environment matches {selector}", err=True)
    for result in results:
        done = f"is {result.state}" if result.changed else f"was {result.state} already"
        told = f"; pull request {result.pull_request}" if result.pull_request else ""
        click.echo(f"environment {result.environment} ({result.namespace}) {done} "
                   f"({len(result.workloads)} workloads, {result.seconds:.1f}s){told}")

