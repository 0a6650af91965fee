"""Which pull request an environment is for: from flags, or from the GitHub Actions event.

In a workflow, `$GITHUB_EVENT_PATH` holds the webhook payload of the `pull_request` (or
`pull_request_target`, same shape) event; locally the flags `--repo --pr --sha --branch
--author` say it. Flags win over the event, so a workflow can pin any of them.

Branch names, titles and logins are untrusted text: they are kept verbatim here and only
reach names and labels through a slug (`branch_slug`) and templates as data, never as source.

SHA policy: on GitHub Actions (`GITHUB_ACTIONS=true`) the head SHA must be the full 40 hex
digits, since commit statuses and deployments need it; locally 7 to 40 hex digits are fine
(it is only shown and templated then).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preview.errors import BadInput
from preview.templating import slug

_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_SHA = re.compile(r"[0-9a-f]{7,40}")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
BRANCH_SLUG_MAX = 40


@dataclass(frozen=True)
class PullRequest:
    """One pull request, as the preview of it needs to know it."""

    owner: str  # base repository owner
    repo: str  # base repository name
    number: int
    head_sha: str  # lower-case hex; 40 digits on GitHub Actions
    branch: str  # head ref, untrusted text
    author: str  # login, untrusted text
    title: str = ""  # untrusted text
    head_repo: str = ""  # "owner/name" of the head repository ("" when unknown)
    state: str = "open"  # open | closed (from the event payload when known)
    merged: bool = False
    run_url: str = ""  # link to the CI run ("" locally)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def short_sha(self) -> str:
        return self.head_sha[:7]

    @property
    def branch_slug(self) -> str:
        """The branch as a lower-case DNS-1123 label (<= 40 chars, hash suffix when cut)."""
        return slug(self.branch, BRANCH_SLUG_MAX) if self.branch else ""

    @property
    def is_fork(self) -> bool:
        return is_fork(self.head_repo, self.full_name)


DELETED_FORK = "(deleted fork)"  # head_repo of an event whose head repository is null


def is_fork(head_repo: str, base_repo: str) -> bool:
    """The one fork rule (pure): a head repository other than the base, or one GitHub no
    longer names (a deleted fork), is a fork; "" means no event said (flags only)."""
    return bool(head_repo) and head_repo.lower() != base_repo.lower()


def head_repository(pr: Mapping[str, Any]) -> str:
    """`pull_request.head.repo.full_name` of an event payload's pull request; DELETED_FORK
    when GitHub sends it null or leaves it out (pure)."""
    head = pr.get("head")
    repo = head.get("repo") if isinstance(head, Mapping) else None
    if isinstance(repo, Mapping) and isinstance(repo.get("full_name"), str) and \
            repo["full_name"]:
        return str(repo["full_name"])
    return DELETED_FORK


# Events whose runs get no secrets when the pull request comes from a fork; every other
# event of a workflow (pull_request_target, issue_comment, workflow_dispatch…) runs with the
# base repository's secrets, whoever wrote the code it would deploy. "" is no event at all
# (`preview up` with flags on a workstation).
WITHOUT_SECRETS = ("pull_request", "")


def refuses_fork(fork: bool, event_name: str, allow_forks: bool) -> bool:
    """Whether a pull request is refused for coming from a fork (pure): always on an event
    that hands the fork's code the base repository's secrets (`pull_request_target`, a
    `/preview` comment, `workflow_dispatch`); on `pull_request` unless the workflow allows
    forks."""
    return fork and (event_name not in WITHOUT_SECRETS or not allow_forks)


@dataclass(frozen=True)
class PullRequestFlags:
    """The command-line flags that name a pull request (None: not given)."""

    repo: str | None = None  # --repo OWNER/NAME
    pr: int | str | None = None  # --pr N
    sha: str | None = None  # --sha SHA
    branch: str | None = None  # --branch B
    author: str | None = None  # --author A
    title: str | None = None  # --title T


def split_repo(full_name: str, where: str = "--repo") -> tuple[str, str]:
    """`"owner/name"` as (owner, name); PreviewError naming `where` when GitHub would refuse it."""
    owner, sep, name = full_name.partition("/")
    if not sep or not _OWNER.fullmatch(owner) or owner.endswith("-") or \
            not _NAME.fullmatch(name) or name in (".", ".."):
        raise BadInput(f"{where}: {full_name!r} is not a GitHub repository OWNER/NAME",
                           "e.g. --repo octo-org/shop (owner: letters, digits, '-'; name: "
                           "letters, digits, '.', '_', '-')")
    return owner, name


def check_sha(sha: str, where: str = "--sha", *, full: bool = False) -> str:
    """The SHA lower-cased; PreviewError naming `where` unless it is 7-40 (or 40) hex digits."""
    lowered = sha.strip().lower()
    if not (_FULL_SHA if full else _SHA).fullmatch(lowered):
        wanted = "40" if full else "7 to 40"
        raise BadInput(f"{where}: {sha!r} is not a commit SHA ({wanted} hex digits)",
                           "pass the head commit, e.g. --sha \"$(git rev-parse HEAD)\"")
    return lowered


def check_number(value: object, where: str = "--pr") -> int:
    """A pull request number (a positive integer); PreviewError naming `where` otherwise."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdecimal():
        number = int(value.strip())
    if number is None or number <= 0:
        raise BadInput(f"{where}: {value!r} is not a pull request number",
                           "a positive integer, e.g. --pr 42")
    return number


def run_url(environ: Mapping[str, str]) -> str:
    """The link to this GitHub Actions run, or "" outside Actions."""
    server = environ.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository = environ.get("GITHUB_REPOSITORY", "")
    run_id = environ.get("GITHUB_RUN_ID", "")
    if not (server and repository and run_id.isdecimal()):
        return ""
    return f"{server}/{repository}/actions/runs/{run_id}"


def from_event(payload: Mapping[str, Any], env: Mapping[str, str],
               source: str = "event payload") -> PullRequest:
    """The pull request of a `pull_request` / `pull_request_target` webhook payload.

    A missing or mistyped field raises PreviewError naming it (`pull_request.head.sha`).
    """
    full = env.get("GITHUB_ACTIONS") == "true"
    pr = _field(payload, "pull_request", dict, source)
    number = _field(pr, "number", int, source, "pull_request.")
    head = _field(pr, "head", dict, source, "pull_request.")
    base = _field(pr, "base", dict, source, "pull_request.")
    base_repo = _field(base, "repo", dict, source, "pull_request.base.")
    full_name = _field(base_repo, "full_name", str, source, "pull_request.base.repo.")
    owner, name = split_repo(full_name, f"{source}: pull_request.base.repo.full_name")
    head_full_name = head_repository(pr)  # null when the fork was deleted
    user = _field(pr, "user", dict, source, "pull_request.")
    state = pr.get("state", "open")
    if state not in ("open", "closed"):
        raise BadInput(f"{source}: pull_request.state: {state!r} is neither open nor closed",
                           "pass the event payload GitHub wrote to $GITHUB_EVENT_PATH")
    title = pr.get("title") or ""
    return PullRequest(
        owner=owner, repo=name,
        number=check_number(number, f"{source}: pull_request.number"),
        head_sha=check_sha(_field(head, "sha", str, source, "pull_request.head."),
                           f"{source}: pull_request.head.sha", full=full),
        branch=_field(head, "ref", str, source, "pull_request.head."),
        author=_field(user, "login", str, source, "pull_request.user."),
        title=title if isinstance(title, str) else "",
        head_repo=head_full_name, state=state, merged=pr.get("merged") is True,
        run_url=run_url(env))


def read_event(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The payload at `$GITHUB_EVENT_PATH` if it is a pull request event, else None."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        payload = json.loads(Path(path).read_text())
    except OSError as e:
        raise BadInput(f"GITHUB_EVENT_PATH: cannot read {path}: {e.strerror}",
                           "run inside GitHub Actions, or unset GITHUB_EVENT_PATH and pass "
                           "--repo/--pr/--sha") from e
    except ValueError as e:
        raise BadInput(f"GITHUB_EVENT_PATH: {path} is not JSON: {e}",
                           "unset GITHUB_EVENT_PATH and pass --repo/--pr/--sha") from e
    if not isinstance(payload, dict) or "pull_request" not in payload:
        return None  # push, schedule, workflow_dispatch: the flags must say it all
    return payload


def resolve(flags: PullRequestFlags, environ: Mapping[str, str]) -> PullRequest:
    """The pull request named by the flags, completed from `$GITHUB_EVENT_PATH` (flags win)."""
    payload = read_event(environ)
    base: PullRequest | None = None
    if payload is not None:
        base = from_event(payload, environ, source=environ.get("GITHUB_EVENT_PATH", "event"))
    full = environ.get("GITHUB_ACTIONS") == "true"
    missing = [flag for flag, value in (("--repo", flags.repo), ("--pr", flags.pr),
                                        ("--sha", flags.sha)) if value is None]
    if base is None and missing:
        event = environ.get("GITHUB_EVENT_NAME")
        why = f" (the {event} event is not a pull request)" if event else ""
        raise BadInput(f"which pull request? {', '.join(missing)} not given{why}",
                           "pass --repo OWNER/NAME --pr N --sha SHA, or run on a pull_request "
                           "event in GitHub Actions")
    owner, name = split_repo(flags.repo) if flags.repo is not None else \
        (base.owner, base.repo) if base else ("", "")
    return PullRequest(
        owner=owner, repo=name,
        number=check_number(flags.pr) if flags.pr is not None else _known(base).number,
        head_sha=check_sha(flags.sha, full=full) if flags.sha is not None
        else _known(base).head_sha,
        branch=flags.branch if flags.branch is not None else base.branch if base else "",
        author=flags.author if flags.author is not None else base.author if base else "",
        title=flags.title if flags.title is not None else base.title if base else "",
        head_repo=base.head_repo if base else "",
        state=base.state if base else "open",
        merged=base.merged if base else False,
        run_url=run_url(environ))


def _known(base: PullRequest | None) -> PullRequest:
    assert base is not None  # resolve() checked: a missing flag means there is an event
    return base


def _field(obj: Mapping[str, Any], key: str, kind: type, source: str, prefix: str = "") -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        what = "missing" if value is None else f"{type(value).__name__}, not {kind.__name__}"
        raise BadInput(f"{source}: {prefix}{key}: {what}",
                           "this is not a pull_request event payload as GitHub sends it")
    return value


def of_environment(repo: str | None, number: object, environ: Mapping[str, str], *,
                   head_sha: str = "", recorded_run_url: str = "") -> PullRequest:
    """The pull request of an environment, for every command that names one (`down`,
    `kubeconfig`, the GC; `up` needs a commit too: `resolve`).

    `repo` and `number` name it (flags, or what a namespace recorded); either may be None to
    take it from the pull request event. The event's pull request, when it is this one, gives
    its commit, branch and title; otherwise the pull request is its identity and what was
    recorded (`head_sha`, `recorded_run_url`).
    """
    payload = read_event(environ)
    event = from_event(payload, environ) if payload is not None else None
    if event is None and (repo is None or number is None):
        raise BadInput("which pull request? pass --repo OWNER/NAME --pr N",
                       "or run on a pull_request event in GitHub Actions")
    owner, name = split_repo(repo) if repo is not None else \
        (event.owner, event.repo) if event else ("", "")
    wanted = check_number(number) if number is not None else event.number if event else 0
    if event is not None and (event.full_name.lower(), event.number) == \
            (f"{owner}/{name}".lower(), wanted):
        return event
    return PullRequest(owner=owner, repo=name, number=wanted, head_sha=head_sha, branch="",
                       author="", run_url=recorded_run_url or run_url(environ))
