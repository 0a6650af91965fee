"""`preview action`: the GitHub Action's entry point (action.yml's last step runs it).

It reads the action's inputs from `INPUT_*` variables (action.yml passes them through `env:`
only), writes the host kubeconfig to a private file after masking it, picks the command from
the event (`pull_request` opened/reopened/synchronize → `up`, closed → `down`) unless the
`command` input names one, and runs `preview <command> …` with the matching flags. A fork's
pull request is refused first, before the kubeconfig is even looked at (a fork's run gets no
secrets, so "empty kubeconfig" would hide the real reason), unless `allow-forks` is true.
Deciding is pure (`plan`); running is a subprocess, so the kubeconfig file is removed
whatever happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click
import yaml

from preview.cli.reporting import ForkRefused, Reporter, fork_refusal
from preview.config_overrides import OVERRIDES
from preview.errors import BadInput
from preview.pullrequest import head_repository, is_fork, refuses_fork

COMMANDS = ("up", "down", "gc")
PR_EVENTS = ("pull_request", "pull_request_target")
UP_ACTIONS = ("opened", "reopened", "synchronize")
TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")


@dataclass(frozen=True)
class Invocation:
    """What the action runs: `preview <argv…>`, or nothing (with the reason)."""

    argv: tuple[str, ...]
    skip_reason: str = ""


def _flag(inputs: Mapping[str, str], name: str) -> bool:
    value = inputs.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadInput(f"input {name}: {value!r} is not a boolean", "use true or false")


def _lines(value: str) -> list[str]:
    """A multi-line input: one item per non-empty line (comma-free, as paths and KEY=VALUE
    may hold commas)."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def plan(inputs: Mapping[str, str], event_name: str, event: Mapping[str, object],
         kubeconfig: str) -> Invocation:
    """The `preview` command line for these inputs and this event (pure)."""
    command = inputs.get("command", "").strip()
    if command and command not in COMMANDS:
        raise BadInput(f"input command: {command!r} is not a command",
                       f"use one of {', '.join(COMMANDS)}, or leave it empty to follow the event")
    if not command:
        if event_name not in PR_EVENTS:
            raise BadInput(f"the {event_name or 'unknown'} event is not a pull request event",
                           "run the action on pull_request, or set the command input "
                           "(e.g. command: gc on schedule)")
        action = str(event.get("action", ""))
        if action == "closed":
            command = "down"
        elif action in UP_ACTIONS:
            command = "up"
        else:
            return Invocation((), f"nothing to do for pull_request action {action!r}")
    fork = fork_of(event) if event_name in PR_EVENTS else ""
    if command in ("up", "down") and refuses_fork(bool(fork), event_name,
                                                  _flag(inputs, "allow-forks")):
        if command == "down":
            return Invocation((), f"pull request from the fork {fork}: nothing was deployed "
                                  "(it is refused), nothing to tear down")
        raise fork_refusal(_number(event), fork, event_name)
    api_url = inputs.get("api-url", "").strip()
    if api_url:
        argv = [command, "--api", api_url]
        if command == "gc":
            raise BadInput("input command: gc runs in the host cluster in API mode",
                           "charts/preview-platform's CronJob runs the nightly GC; "
                           "drop this job (docs/platform.md)")
        if inputs.get("policy", "").strip():
            raise BadInput("input policy: in API mode the policy is the API's own",
                           "drop the policy input; the platform sets it in "
                           "charts/preview-platform (docs/platform.md)")
        if inputs.get("audience", "").strip():
            argv += ["--audience", inputs["audience"].strip()]
    else:
        argv = [command, "--kubeconfig", kubeconfig]
    if command in ("up", "gc") and inputs.get("policy", "").strip():
        argv += ["--policy", inputs["policy"].strip()]
    if command == "gc":
        if _flag(inputs, "dry-run"):
            argv.append("--dry-run")
        if inputs.get("max-deletions", "").strip():
            argv += ["--max-deletions", inputs["max-deletions"].strip()]
        return Invocation(tuple(argv))
    if command == "up":
        if inputs.get("config", "").strip():
            argv += ["--config", inputs["config"].strip()]
        argv += override_flags(inputs)
        if _flag(inputs, "allow-forks"):
            argv.append("--allow-forks")
    return Invocation(tuple(argv))


def override_flags(inputs: Mapping[str, str]) -> list[str]:
    """`preview up`'s flags for the overriding inputs, one table for both
    (`preview.config_overrides.OVERRIDES`); a repeatable one takes an item per line (pure)."""
    argv: list[str] = []
    for row in OVERRIDES:
        value = inputs.get(row.input, "")
        items = _lines(value) if row.repeatable else [value.strip()] if value.strip() else []
        for item in items:
            argv += [row.flag, item]
    return argv


def check_mode(kubeconfig: str, api_url: str) -> None:
    """Exactly one of the two modes: a host kubeconfig, or the platform's API (pure)."""
    if kubeconfig.strip() and api_url.strip():
        raise BadInput("inputs kubeconfig and api-url: give one, not both",
                       "API mode (api-url) needs no host credential in the repository: drop "
                       "the kubeconfig input (docs/platform.md)")
    if not kubeconfig.strip() and not api_url.strip():
        raise BadInput("input kubeconfig is empty and no api-url is given",
                       "pass the host cluster's kubeconfig, e.g. kubeconfig: "
                       "${{ secrets.PREVIEW_KUBECONFIG }}, or the platform's API: api-url: "
                       "https://preview.example.com with permissions: id-token: write")


def fork_of(event: Mapping[str, object]) -> str:
    """The head repository of a pull request event when it is a fork (pullrequest.is_fork:
    another repository, or a deleted one), else "" (pure)."""
    pr = event.get("pull_request")
    base = pr.get("base") if isinstance(pr, dict) else None
    base_repo = base.get("repo") if isinstance(base, dict) else None
    base_name = str((base_repo or {}).get("full_name") or "") \
        if isinstance(base_repo, dict) else ""
    if not isinstance(pr, dict) or not base_name:
        return ""
    head = head_repository(pr)
    return head if is_fork(head, base_name) else ""


def _number(event: Mapping[str, object]) -> int:
    pr = event.get("pull_request")
    number = pr.get("number") if isinstance(pr, dict) else None
    return number if isinstance(number, int) else 0


_CREDENTIALS = ("token", "client-key-data", "client-certificate-data", "password", "username")


def secret_lines(kubeconfig: str) -> list[str]:
    """What to mask of a kubeconfig: every line of every credential in it (tokens, keys,
    client certificates, passwords, exec plugins' env values), alone and as the line that
    holds it. Masking every line of the file would turn `apiVersion: v1` into `***` all over
    the log; an unreadable file is masked line by line, whole."""
    every_line = [line.strip() for line in kubeconfig.splitlines() if line.strip()]
    try:
        doc = yaml.safe_load(kubeconfig)
    except yaml.YAMLError:
        return every_line
    if not isinstance(doc, dict):
        return every_line
    values: list[str] = []
    for entry in doc.get("users") or []:
        user = (entry or {}).get("user") or {} if isinstance(entry, dict) else {}
        for key in _CREDENTIALS:
            if isinstance(user.get(key), str | int) and str(user[key]):
                values.append(str(user[key]))
        for env in ((user.get("exec") or {}).get("env") or []):
            if isinstance(env, dict) and str(env.get("value") or ""):
                values.append(str(env["value"]))
        for value in ((user.get("auth-provider") or {}).get("config") or {}).values():
            if isinstance(value, str) and value:
                values.append(value)
    found = [line for value in values for line in value.splitlines() if line.strip()]
    found += [line for line in every_line if any(v in line for v in values)]
    return list(dict.fromkeys(found))


def is_policy_content(value: str) -> bool:
    """Whether the `policy` input is the policy itself (YAML) rather than a file's path."""
    return "\n" in value.strip() or ":" in value or value.lstrip().startswith("{")


def policy_warning(path: str, workspace: str, event_name: str) -> str:
    """Why a policy path read from the pull request's own checkout protects nothing (pure);
    "" when it is elsewhere or the event is not a pull request."""
    if event_name not in PR_EVENTS or not workspace:
        return ""
    resolved = Path(workspace, path).resolve()
    if not resolved.is_relative_to(Path(workspace).resolve()):
        return ""
    return (f"input policy: {path} is read from the pull request's own checkout, which the "
            "pull request can edit; pass the policy's content instead, e.g. "
            "policy: ${{ vars.PREVIEW_POLICY }} (docs/policy.md)")


def _inputs(environ: Mapping[str, str]) -> dict[str, str]:
    """INPUT_FOO_BAR → foo-bar, as the runner names a JavaScript action's inputs."""
    return {key[6:].lower().replace("_", "-"): value for key, value in environ.items()
            if key.startswith("INPUT_")}


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
    event: dict[str, object] = {}
    if environ.get("GITHUB_EVENT_PATH"):
        try:
            event = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text())
        except (OSError, ValueError) as e:
            raise BadInput(f"cannot read the event payload {environ['GITHUB_EVENT_PATH']}: {e}",
                           "run the action from a workflow") from e
    directory = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    fd, name = tempfile.mkstemp(prefix="preview-kubeconfig-", dir=directory)
    policy_file = ""
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp: mode 0600
            handle.write(kubeconfig)
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
        try:
            # Decided before the kubeconfig is looked at: a fork's run gets no secrets, and
            # its refusal must say "fork", not "empty kubeconfig".
            invocation = plan(inputs, environ.get("GITHUB_EVENT_NAME", ""), event, name)
        except ForkRefused as e:
            raise Reporter.create(environ, token, "text").refuse(e) from None
        if not invocation.argv:
            click.echo(f"::notice title=preview-vcluster::{invocation.skip_reason}")
            return
        check_mode(kubeconfig, inputs.get("api-url", ""))
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
