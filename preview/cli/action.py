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
from typing import Any

import click
import yaml

from preview import naming, pullrequest, triggers
from preview.cli import platform_inputs
from preview.cli.reporting import Refused, Reporter, fork_refusal
from preview.config_overrides import OVERRIDES
from preview.errors import BadInput, PreviewError
from preview.github import markdown
from preview.github.actions import Actions, command
from preview.naming import Environment
from preview.pullrequest import PullRequest, head_repository, is_fork, refuses_fork

COMMANDS = ("up", "down", "gc")
PR_EVENTS = triggers.PR_EVENTS


@dataclass(frozen=True)
class Invocation:
    """What the action runs: `preview <argv…>`, or nothing (with the reason)."""

    argv: tuple[str, ...]
    skip_reason: str = ""


def _lines(value: str) -> list[str]:
    """A multi-line input: one item per non-empty line (comma-free, as paths and KEY=VALUE
    may hold commas)."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def plan(inputs: Mapping[str, str], event_name: str, event: Mapping[str, object],
         kubeconfig: str, *, pull: Mapping[str, Any] | None = None,
         asked: str = "", asked_by: str = "") -> Invocation:
    """The `preview` command line for these inputs and this event (pure).

    `pull` is the pull request as GitHub's API describes it, when the event does not carry
    it (a `/preview` comment, `pr-number` on `workflow_dispatch`); `asked` is the command of
    a `/preview` comment whose author (`asked_by`) may give it (triggers.comment_request,
    may_command).
    """
    command = inputs.get("command", "").strip()
    if command and command not in COMMANDS:
        raise BadInput(f"input command: {command!r} is not a command",
                       f"use one of {', '.join(COMMANDS)}, or leave it empty to follow the event")
    rules = triggers.Triggers.from_inputs(inputs)
    allow_forks = triggers.flag(inputs, "allow-forks")
    if event_name in PR_EVENTS and triggers.pr_number_input(inputs) is not None:
        raise BadInput(f"input pr-number: a {event_name} event names its own pull request",
                       "drop pr-number here; it is for workflow_dispatch and other events")
    in_event = event.get("pull_request") if event_name in PR_EVENTS else None
    pr: Mapping[str, Any] | None = in_event if isinstance(in_event, Mapping) else pull
    if not command:
        if event_name in PR_EVENTS:
            label = event.get("label")
            decision = triggers.for_pull_request(
                str(event.get("action", "")), triggers.PullFacts.of(pr or {}), rules,
                str(label.get("name", "")) if isinstance(label, Mapping) else "")
            if not decision.command:
                return Invocation((), decision.reason)
            command = decision.command
        elif pull is not None:
            command = asked or ("down" if pull.get("state") == "closed" else "up")
        else:
            raise BadInput(f"the {event_name or 'unknown'} event is not a pull request event",
                           "run the action on pull_request, give it a pull request "
                           "(pr-number: ${{ inputs.pr }} on workflow_dispatch), or set the "
                           "command input (e.g. command: gc on schedule)")
    if command == "up" and pull is not None and pull.get("state") == "closed":
        return Invocation((), f"pull request #{pull.get('number')} is closed: only open "
                              "pull requests get a preview environment")
    fork = fork_of_pull(pr) if pr is not None else ""
    if command in ("up", "down") and refuses_fork(bool(fork), event_name, allow_forks):
        if command == "down":
            return Invocation((), f"pull request from the fork {fork}: nothing was deployed "
                                  "(it is refused), nothing to tear down")
        raise fork_refusal(_number(pr), fork, event_name)
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
        if triggers.flag(inputs, "dry-run"):
            argv.append("--dry-run")
        if inputs.get("max-deletions", "").strip():
            argv += ["--max-deletions", inputs["max-deletions"].strip()]
        return Invocation(tuple(argv))
    if pull is not None and in_event is None:
        argv += _named(pull, command)
    if command == "down":
        reason = triggers.removal_reason(event_name, event, asked_by)
        if reason:
            argv += ["--reason", reason]
    app = inputs.get("environment", "").strip()
    if app:
        try:
            naming.check_app(app)
        except ValueError as e:
            raise BadInput(f"input environment: {e}",
                           "name the app, e.g. environment: api (its environment is "
                           "pr-<n>-api)") from None
        argv += ["--environment", app]
    if command == "up":
        if inputs.get("config", "").strip():
            argv += ["--config", inputs["config"].strip()]
        argv += override_flags(inputs)
        if allow_forks:
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


def _named(pull: Mapping[str, Any], command: str) -> list[str]:
    """The flags naming a pull request the event does not carry (GitHub's description of
    it; `preview up` checks each as it checks an event's)."""
    def obj(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = parent.get(key)
        return value if isinstance(value, Mapping) else {}

    argv = ["--repo", str(obj(obj(pull, "base"), "repo").get("full_name") or ""),
            "--pr", str(pull.get("number"))]
    if command != "up":
        return argv
    head, user = obj(pull, "head"), obj(pull, "user")
    return [*argv, "--sha", str(head.get("sha") or ""), "--branch", str(head.get("ref") or ""),
            "--author", str(user.get("login") or "")]


def requested(inputs: Mapping[str, str], event_name: str, event: Mapping[str, Any],
              environ: Mapping[str, str], token: str) -> tuple[dict[str, Any] | None, str]:
    """The pull request and command asked for when the event does not carry a pull request:
    a `/preview` comment (its author's permission asked of GitHub first; accepted with a
    reaction, refused with a reply) or the `pr-number` input. (None, "") otherwise."""
    number = triggers.pr_number_input(inputs)
    request: triggers.CommentRequest | None = None
    if event_name == triggers.COMMENT_EVENT and number is None:
        found = triggers.comment_request(event)
        if isinstance(found, triggers.Decision):
            return None, ""  # plan() says there is nothing to do
        request = found
        number = found.number
    if number is None or event_name in PR_EVENTS:
        return None, ""
    if not token:
        raise BadInput("input github-token is empty: the pull request must be read from GitHub",
                       "leave github-token at its default (${{ github.token }}) or pass a "
                       "token that may read pull requests")
    from preview.github.chatops import ChatOps

    repo = environ.get("GITHUB_REPOSITORY", "")
    chat = ChatOps.from_env(environ, token, repo)
    if request is not None:
        permission = chat.permission(request.login)
        if not triggers.may_command(permission):
            chat.reply(request.number, refusal_reply(request, repo, permission))
            raise Refused(f"/preview {request.command} by {request.login} refused: their "
                          f"permission on {repo} is {permission}, and write is needed",
                          "a maintainer (write permission or more) can comment /preview")
        chat.react(request.number, request.comment_id)
    return chat.pull(number), request.command if request is not None else ""


def refusal_reply(request: triggers.CommentRequest, repo: str, permission: str) -> str:
    """The reply to a `/preview` command from someone who may not give it (pure)."""
    command = "/preview" if request.command == "up" else "/preview down"
    return (f"@{markdown.inline(request.login)} `{command}` needs write permission on "
            f"{markdown.inline(repo)}; yours is {markdown.inline(permission)}. "
            f"A maintainer can comment `{command}` to run it.")


def _identity(pr: Mapping[str, Any] | None, environ: Mapping[str, str]
              ) -> tuple[PullRequest | None, Environment | None]:
    """The pull request and environment a refusal's comment is about, when the payload
    says them well enough (None, None otherwise: the notice alone)."""
    if pr is None:
        return None, None
    try:
        found = pullrequest.from_event({"pull_request": pr}, environ)
        app = environ.get("INPUT_ENVIRONMENT", "").strip()
        return found, naming.environment_for(found.owner, found.repo, found.number, app)
    except (PreviewError, ValueError):
        return None, None


def _set_output(environ: Mapping[str, str], name: str, value: str) -> None:
    Actions.from_env(environ, sys.stdout).set_outputs({name: value})


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
    """The head repository of a pull request event when it is a fork, else "" (pure)."""
    pr = event.get("pull_request")
    return fork_of_pull(pr) if isinstance(pr, Mapping) else ""


def fork_of_pull(pr: Mapping[str, Any]) -> str:
    """The head repository of a pull request (an event's or the API's) when it is a fork
    (pullrequest.is_fork: another repository, or a deleted one), else "" (pure)."""
    base = pr.get("base")
    base_repo = base.get("repo") if isinstance(base, Mapping) else None
    base_name = str(base_repo.get("full_name") or "") if isinstance(base_repo, Mapping) else ""
    if not base_name:
        return ""
    head = head_repository(pr)
    return head if is_fork(head, base_name) else ""


def _number(pr: Mapping[str, Any] | None) -> int:
    number = (pr or {}).get("number")
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
    pr, env = _identity(event.get("pull_request") if event else None, environ)
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
                e, *_identity(pr if isinstance(pr, Mapping) else None, environ))
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
