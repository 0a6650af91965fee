"""What the action runs for its inputs and event: `preview <command> …`, or nothing and why
(pure). The event picks the command (`preview.triggers`) unless the `command` input names one;
a fork's pull request is refused first; the overriding inputs become `preview up`'s flags
through one table (`preview.config_overrides.OVERRIDES`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preview import naming, triggers
from preview.cli.action.checks import fork_of_pull, number_of
from preview.config_overrides import OVERRIDES
from preview.errors import BadInput
from preview.operations.run import fork_refusal
from preview.pullrequest import refuses_fork

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
        raise fork_refusal(number_of(pr), fork, event_name)
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
    if not triggers.flag(inputs, "deployments", default=True):
        argv.append("--no-deployments")
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
