"""Which events bring a pull request's environment up or take it down: the action's triggers.

Teams choose *which* pull requests get an environment (docs/action.md, "Triggers"):

- `trigger: always` (the default): every pull request; `trigger: label`: only those carrying
  the label (`label`, default `preview`): `labeled` with it brings the environment up,
  `unlabeled` takes it down, pushes redeploy only while it is there.
- Drafts are skipped unless `drafts: true`; `ready_for_review` brings the environment up,
  `converted_to_draft` takes it down (or keeps it: `converted-to-draft: keep`).
- A comment `/preview` (up) or `/preview down` on the pull request, from someone whose
  permission on the repository is at least `write` (asked of GitHub by the caller, never
  read from the payload), and `workflow_dispatch` (or any other event) with `pr-number`: a
  person asked, so the label and draft rules do not apply.
- `closed` always tears down (nothing happens when nothing was deployed).

Everything here is pure: payloads and inputs in, a `Decision` out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preview.errors import BadInput

MODES = ("always", "label")
ON_DRAFT = ("down", "keep")
DEFAULT_LABEL = "preview"
PR_EVENTS = ("pull_request", "pull_request_target")
COMMENT_EVENT = "issue_comment"
UP_ACTIONS = ("opened", "reopened", "synchronize")
# The `permission` of GET /repos/{o}/{r}/collaborators/{user}/permission: admin, write, read
# or none (maintain is reported as write, triage as read).
WRITERS = ("admin", "write")
TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")


def flag(inputs: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A boolean input; BadInput naming it when it is neither true nor false."""
    value = inputs.get(name, "").strip().lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadInput(f"input {name}: {value!r} is not a boolean", "use true or false")


@dataclass(frozen=True)
class Triggers:
    """The trigger inputs of the action."""

    mode: str = "always"  # always | label
    label: str = DEFAULT_LABEL
    drafts: bool = False  # deploy draft pull requests too
    on_draft: str = "down"  # what converted_to_draft does: down | keep

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, str]) -> Triggers:
        mode = inputs.get("trigger", "").strip().lower() or "always"
        if mode not in MODES:
            raise BadInput(f"input trigger: {mode!r} is not a trigger",
                           "use always (every pull request) or label (only those carrying "
                           "the label input's label)")
        label = inputs.get("label", "").strip() or DEFAULT_LABEL
        on_draft = inputs.get("converted-to-draft", "").strip().lower() or "down"
        if on_draft not in ON_DRAFT:
            raise BadInput(f"input converted-to-draft: {on_draft!r} is not down or keep",
                           "down removes the environment of a pull request turned back into "
                           "a draft, keep leaves it")
        return cls(mode, label, flag(inputs, "drafts"), on_draft)


@dataclass(frozen=True)
class PullFacts:
    """What the triggers read of a pull request (an event's `pull_request`, or the API's)."""

    number: int
    state: str  # open | closed
    draft: bool
    labels: tuple[str, ...]

    @classmethod
    def of(cls, pr: Mapping[str, Any]) -> PullFacts:
        labels = tuple(str(label.get("name", "")) for label in pr.get("labels") or ()
                       if isinstance(label, Mapping))
        number = pr.get("number")
        return cls(number if isinstance(number, int) else 0, str(pr.get("state") or "open"),
                   pr.get("draft") is True, labels)


@dataclass(frozen=True)
class Decision:
    """`up`, `down`, or nothing ("") with the reason shown in a notice."""

    command: str
    reason: str = ""


def for_pull_request(action: str, pr: PullFacts, triggers: Triggers,
                     event_label: str = "") -> Decision:
    """What a `pull_request` event's `action` asks for, under these triggers (pure).

    `event_label` is the payload's `label.name` on `labeled` / `unlabeled`.
    """
    if action == "closed":
        return Decision("down")
    if pr.state == "closed":
        return Decision("", f"pull request #{pr.number} is closed")
    labelled = triggers.mode == "always" or triggers.label in pr.labels
    if action in ("labeled", "unlabeled"):
        if triggers.mode != "label":
            return Decision("", f"nothing to do for pull_request action {action!r} "
                                "(input trigger: always)")
        if event_label != triggers.label:
            return Decision("", f"{action} {event_label!r}, not the trigger label "
                                f"{triggers.label!r}: nothing to do")
        return _up_unless_draft(pr, triggers) if action == "labeled" else Decision("down")
    if action == "converted_to_draft":
        if triggers.drafts:
            return Decision("", "drafts are previewed (input drafts: true): nothing changes")
        if triggers.on_draft == "keep":
            return Decision("", "converted to a draft: the environment is kept "
                                "(input converted-to-draft: keep)")
        return Decision("down")
    if action in (*UP_ACTIONS, "ready_for_review"):
        if not labelled:
            return Decision("", f"pull request #{pr.number} does not carry the label "
                                f"{triggers.label!r} (input trigger: label); add it to get "
                                "a preview environment")
        return _up_unless_draft(pr, triggers)
    return Decision("", f"nothing to do for pull_request action {action!r}")


def _up_unless_draft(pr: PullFacts, triggers: Triggers) -> Decision:
    if pr.draft and not triggers.drafts:
        return Decision("", f"pull request #{pr.number} is a draft: it gets a preview "
                            "environment once it is ready for review (or set the input "
                            "drafts: true)")
    return Decision("up")


def comment_command(body: str) -> str:
    """The command of a `/preview` comment: "up", "down", or "" when it is none (pure).

    The comment's first line, alone: `/preview`, `/preview up` or `/preview down` (any case,
    surrounding spaces ignored); the lines after it are free text.
    """
    first = (body.strip().splitlines() or [""])[0].split()
    if not first or first[0].lower() != "/preview":
        return ""
    if len(first) == 1:
        return "up"
    if len(first) == 2 and first[1].lower() in ("up", "down"):
        return first[1].lower()
    return ""


@dataclass(frozen=True)
class CommentRequest:
    """A `/preview` comment on a pull request: who asked, for what, in which comment."""

    number: int
    command: str  # up | down
    login: str
    comment_id: int


def comment_request(event: Mapping[str, Any]) -> CommentRequest | Decision:
    """The `/preview` request of an `issue_comment` payload, or a Decision to do nothing
    (an edited or deleted comment, a comment on an issue, any other text) (pure)."""
    if event.get("action") != "created":
        return Decision("", f"issue_comment {event.get('action')!r}: only new comments "
                            "are commands")
    issue = event.get("issue")
    comment = event.get("comment")
    if not isinstance(issue, Mapping) or not isinstance(comment, Mapping):
        raise BadInput("event payload: issue_comment without issue or comment",
                       "this is not an issue_comment payload as GitHub sends it")
    command = comment_command(str(comment.get("body") or ""))
    if not command:
        return Decision("", "the comment is not a /preview command")
    if not isinstance(issue.get("pull_request"), Mapping):
        return Decision("", f"#{issue.get('number')} is an issue, not a pull request: "
                            "/preview works on pull requests")
    user = comment.get("user")
    login = str(user.get("login") or "") if isinstance(user, Mapping) else ""
    number, comment_id = issue.get("number"), comment.get("id")
    if not login or not isinstance(number, int) or not isinstance(comment_id, int):
        raise BadInput("event payload: issue_comment without issue.number, comment.id or "
                       "comment.user.login",
                       "this is not an issue_comment payload as GitHub sends it")
    return CommentRequest(number, command, login, comment_id)


def may_command(permission: str) -> bool:
    """Whether a commenter with this repository permission may run `/preview` (pure)."""
    return permission in WRITERS


def pr_number_input(inputs: Mapping[str, str]) -> int | None:
    """The `pr-number` input: a positive integer, or None when empty."""
    value = inputs.get("pr-number", "").strip().lstrip("#")
    if not value:
        return None
    if not value.isdecimal() or int(value) <= 0:
        raise BadInput(f"input pr-number: {value!r} is not a pull request number",
                       "a positive integer, e.g. pr-number: ${{ inputs.pr }}")
    return int(value)


# Why an environment was removed, and how to bring it back: `down --reason` from the action
# (removal_reason) and the GC's removals (preview.operations.gc.removal_reason) say it alike.
MERGED = "the pull request was merged"
CLOSED = "the pull request was closed; reopening it brings the environment back"
# The GC's usual case: the pull request is not among the open ones (merged or closed, not asked).
NOT_OPEN = ("the pull request is no longer open (closed or merged); reopening it brings the "
            "environment back")
BRING_BACK = "a push, running the workflow again or a comment /preview brings it back"
EXPIRED = (f"it expired (no push before its TTL ran out); {BRING_BACK}, and the label "
           "preview:keep keeps an environment")
BROKEN = f"its virtual cluster never became ready; {BRING_BACK}"


def removal_reason(event_name: str, event: Mapping[str, Any], asked_by: str = "") -> str:
    """Why a `down` of the action removes the environment, and how to bring it back, for
    the comment (pure); "" when the event does not say."""
    action = str(event.get("action", ""))
    if asked_by:
        return f"{asked_by} asked for it with /preview down; a comment /preview brings it back"
    if event_name not in PR_EVENTS:
        return (f"it was removed by hand ({event_name or 'a run'}); running the workflow again "
                "or a comment /preview brings it back")
    pr = event.get("pull_request")
    label = event.get("label")
    if action == "closed":
        if isinstance(pr, Mapping) and pr.get("merged") is True:
            return MERGED
        return CLOSED
    if action == "unlabeled" and isinstance(label, Mapping):
        return (f"the label {label.get('name')} was removed; adding it again brings the "
                "environment back")
    if action == "converted_to_draft":
        return ("the pull request was turned back into a draft; marking it ready for review "
                "brings the environment back")
    return ""

