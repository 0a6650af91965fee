"""`preview action`: the GitHub Action's entry point (action.yml's last step runs it).

It reads the action's inputs from `INPUT_*` variables (action.yml passes them through `env:`
only), writes the host kubeconfig to a private file after masking it, decides what to run
(`plan`: the event, or the `command` input) and runs `preview <command> …` with the matching
flags. A fork's pull request is refused first, before the kubeconfig is even looked at (a
fork's run gets no secrets, so "empty kubeconfig" would hide the real reason), unless
`allow-forks` is true. Deciding is pure (`plan`, `checks`); running is a subprocess, so the
kubeconfig file is removed whatever happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from preview import pullrequest, triggers
from preview.cli import platform_inputs
from preview.cli.action.checks import (
    check_mode,
    fork_of,
    fork_of_pull,
    is_policy_content,
    policy_warning,
    secret_lines,
)
from preview.cli.action.plan import COMMANDS, PR_EVENTS, Invocation, override_flags, plan
from preview.cli.action.requests import identity, refusal_reply, requested
from preview.cli.reporting import Reporter
from preview.errors import BadInput, PreviewError
from preview.github.actions import Actions, command
from preview.operations.run import Refused

__all__ = ["COMMANDS", "Invocation", "action_command", "check_mode", "fork_of", "fork_of_pull",
           "is_policy_content", "override_flags", "plan", "policy_warning", "refusal_reply",
           "requested", "secret_lines"]


def _inputs(environ: Mapping[str, str]) -> dict[str, str]:
    """INPUT_FOO_BAR → foo-bar, as the runner names a JavaScript action's inputs."""
    return {key[6:].lower().replace("_", "-"): value for key, value in environ.items()
            if key.startswith("INPUT_")}


def _set_output(environ: Mapping[str, str], name: str, value: str) -> None:
    Actions.from_env(environ, sys.stdout).set_outputs({name: value})


@click.command("action", hidden=True)
def action_command() -> None:
    """Run as the GitHub Action (reads INPUT_* and the GITHUB_* event variables)."""
    environ = dict(os.environ)
    inputs = _inputs(environ)
    kubeconfig = inputs.pop("kubeconfig", "")
    for line in secret_lines(kubeconfig):
        click.echo(f"::add-mask::{line}")
    token = inputs.pop("github-token", "")
    if token:
        click.echo(f"::add-mask::{token}")
    try:
        _run(environ, inputs, kubeconfig, token)
    except platform_inputs.Misconfigured as e:
        # The platform's configuration, not the pull request: the log says what, the
        # comment only that the platform team has been told.
        click.echo(command("error", f"{e.message}; {e.hint}" if e.hint else e.message,
                           title="preview-vcluster platform configuration error"))
        _misconfigured(environ, token)
        raise
    except BadInput as e:
        click.echo(command("error", f"{e.message}; {e.hint}" if e.hint else e.message,
                           title="preview-vcluster input error"))
        raise


def _misconfigured(environ: Mapping[str, str], token: str) -> None:
    """Tell the pull request, when the event names one: the comment's misconfigured state."""
    try:
        event = pullrequest.read_event(environ)
    except PreviewError:
        event = None
    pr, env = identity(event.get("pull_request") if event else None, environ)
    Reporter.create(environ, token, "text").misconfigured(pr, env)


def _run(environ: dict[str, str], inputs: dict[str, str], kubeconfig: str,
         token: str) -> None:
    event: dict[str, object] = {}
    if environ.get("GITHUB_EVENT_PATH"):
        try:
            event = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text())
        except (OSError, ValueError) as e:
            raise BadInput(f"cannot read the event payload {environ['GITHUB_EVENT_PATH']}: {e}",
                           "run the action from a workflow") from e
    directory = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    fd, name = tempfile.mkstemp(prefix="preview-kubeconfig-", dir=directory)  # mode 0600
    os.close(fd)
    policy_file = ""
    try:
        policy = inputs.get("policy", "")
        if policy.strip() and is_policy_content(policy):
            fd, policy_file = tempfile.mkstemp(prefix="preview-policy-", suffix=".yaml",
                                               dir=directory)
            with os.fdopen(fd, "w") as handle:
                handle.write(policy)
            inputs["policy"] = policy_file
        elif policy.strip():
            warning = policy_warning(policy.strip(), environ.get("GITHUB_WORKSPACE", ""),
                                     environ.get("GITHUB_EVENT_NAME", ""))
            if warning:
                click.echo(f"::warning title=preview-vcluster::{warning}")
        event_name = environ.get("GITHUB_EVENT_NAME", "")
        pull: dict[str, Any] | None = None
        try:
            # Decided before the kubeconfig is looked at: a fork's run gets no secrets, and
            # its refusal must say "fork", not "empty kubeconfig".
            pull, asked = requested(inputs, event_name, event, environ, token)
            found = triggers.comment_request(event) if asked else None
            invocation = plan(inputs, event_name, event, name, pull=pull, asked=asked,
                              asked_by=found.login if isinstance(
                                  found, triggers.CommentRequest) else "")
        except Refused as e:
            # Not a failure of the check: the run ends neutral, the comment says why.
            pr = event.get("pull_request") if event_name in PR_EVENTS else pull
            Reporter.create(environ, token, "text").refuse_neutral(
                e, *identity(pr if isinstance(pr, Mapping) else None, environ))
            click.echo(f"preview-vcluster: refused: {e}", err=True)
            return
        if not invocation.argv:
            click.echo(f"::notice title=preview-vcluster::{invocation.skip_reason}")
            _set_output(environ, "status", "skipped")
            return
        check_mode(kubeconfig, inputs.get("api-url", ""))
        # The platform's inputs, checked before anything runs with them.
        if policy_file:
            platform_inputs.check_policy(Path(policy_file), "input policy")
        decoded = platform_inputs.kubeconfig(kubeconfig)
        if decoded != kubeconfig:  # decoded from base64: its credentials are new strings
            for line in secret_lines(decoded):
                click.echo(f"::add-mask::{line}")
        Path(name).write_text(decoded)
        child = {k: v for k, v in environ.items() if not k.startswith("INPUT_")}
        if token:
            child["GITHUB_TOKEN"] = token
        sys.stdout.flush()
        code = subprocess.run([sys.executable, "-m", "preview", *invocation.argv],
                              env=child).returncode
    finally:
        Path(name).unlink(missing_ok=True)
        if policy_file:
            Path(policy_file).unlink(missing_ok=True)
    sys.exit(code)
