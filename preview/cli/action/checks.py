"""The action's pure checks of its inputs and event: one mode (kubeconfig or API), the fork
of a pull request, the masks of a kubeconfig, the policy input's form."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from preview.errors import BadInput
from preview.pullrequest import head_repository, is_fork
from preview.triggers import PR_EVENTS


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


def number_of(pr: Mapping[str, Any] | None) -> int:
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
