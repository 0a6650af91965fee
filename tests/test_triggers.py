"""preview/triggers.py: which pull request events bring an environment up or down, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from preview.errors import BadInput
from preview.triggers import (
    CommentRequest,
    Decision,
    PullFacts,
    Triggers,
    comment_command,
    comment_request,
    for_pull_request,
    may_command,
    pr_number_input,
)

ALWAYS, LABEL = Triggers(), Triggers(mode="label")
DRAFTS, KEEP = Triggers(drafts=True), Triggers(on_draft="keep")


def pr(*labels: str, draft: bool = False, state: str = "open") -> PullFacts:
    return PullFacts(7, state, draft, labels)


@pytest.mark.parametrize(("action", "facts", "rules", "label", "command"), [
    # trigger: always
    ("opened", pr(), ALWAYS, "", "up"),
    ("synchronize", pr(), ALWAYS, "", "up"),
    ("reopened", pr(), ALWAYS, "", "up"),
    ("closed", pr(state="closed"), ALWAYS, "", "down"),
    ("labeled", pr("preview"), ALWAYS, "preview", ""),
    ("unlabeled", pr(), ALWAYS, "preview", ""),
    ("edited", pr(), ALWAYS, "", ""),
    # trigger: label
    ("opened", pr(), LABEL, "", ""),
    ("opened", pr("preview"), LABEL, "", "up"),
    ("synchronize", pr("bug"), LABEL, "", ""),  # pushes redeploy only while labelled
    ("synchronize", pr("bug", "preview"), LABEL, "", "up"),
    ("labeled", pr("preview"), LABEL, "preview", "up"),
    ("labeled", pr("bug", "preview"), LABEL, "bug", ""),  # another label was added
    ("unlabeled", pr(), LABEL, "preview", "down"),
    ("unlabeled", pr("preview"), LABEL, "bug", ""),
    ("closed", pr(state="closed"), LABEL, "", "down"),  # down whatever the label
    ("labeled", pr("preview", state="closed"), LABEL, "preview", ""),
    ("labeled", pr("deploy-me"), Triggers(mode="label", label="deploy-me"), "deploy-me", "up"),
    # drafts
    ("opened", pr(draft=True), ALWAYS, "", ""),
    ("synchronize", pr(draft=True), ALWAYS, "", ""),
    ("opened", pr(draft=True), DRAFTS, "", "up"),
    ("ready_for_review", pr(), ALWAYS, "", "up"),
    ("ready_for_review", pr(), LABEL, "", ""),  # still not labelled
    ("ready_for_review", pr("preview"), LABEL, "", "up"),
    ("converted_to_draft", pr(draft=True), ALWAYS, "", "down"),
    ("converted_to_draft", pr(draft=True), KEEP, "", ""),
    ("converted_to_draft", pr(draft=True), DRAFTS, "", ""),
    ("labeled", pr("preview", draft=True), LABEL, "preview", ""),  # the draft rule holds
    ("closed", pr(draft=True, state="closed"), ALWAYS, "", "down"),
])
def test_what_each_pull_request_action_does(action: str, facts: PullFacts, rules: Triggers,
                                            label: str, command: str) -> None:
    decision = for_pull_request(action, facts, rules, label)
    assert decision.command == command
    assert bool(decision.reason) is (command == "")  # nothing is done without saying why


@pytest.mark.parametrize(("facts", "rules", "words"), [
    (pr(), LABEL, "does not carry the label 'preview' (input trigger: label)"),
    (pr(draft=True), ALWAYS, "is a draft"),
    (pr(draft=True), KEEP, "is a draft"),
])
def test_a_skip_says_what_would_bring_the_environment_up(facts: PullFacts, rules: Triggers,
                                                         words: str) -> None:
    assert words in for_pull_request("opened", facts, rules).reason


def test_the_inputs_are_checked_and_named() -> None:
    assert Triggers.from_inputs({}) == Triggers("always", "preview", False, "down")
    assert Triggers.from_inputs({"trigger": "Label", "label": " ship-it ", "drafts": "true",
                                 "converted-to-draft": "keep"}) == \
        Triggers("label", "ship-it", True, "keep")
    for inputs, name in (({"trigger": "labels"}, "input trigger"),
                         ({"drafts": "sometimes"}, "input drafts"),
                         ({"converted-to-draft": "delete"}, "input converted-to-draft")):
        with pytest.raises(BadInput, match=name) as caught:
            Triggers.from_inputs(inputs)
        assert caught.value.hint


def test_pull_facts_from_a_payload() -> None:
    facts = PullFacts.of({"number": 3, "state": "open", "draft": True,
                          "labels": [{"name": "preview"}, {"name": "bug"}, "junk"]})
    assert facts == PullFacts(3, "open", True, ("preview", "bug"))
    assert PullFacts.of({}) == PullFacts(0, "open", False, ())


@pytest.mark.parametrize(("body", "command"), [
    ("/preview", "up"), ("/preview up", "up"), ("  /Preview DOWN \nthanks!", "down"),
    ("/preview\r\nplease", "up"), ("/preview down now", ""), ("/previewer", ""),
    ("please /preview", ""), ("", ""), ("> /preview", ""),
])
def test_comment_commands(body: str, command: str) -> None:
    assert comment_command(body) == command


def _comment(body: str, *, action: str = "created", pull: bool = True) -> dict[str, Any]:
    issue: dict[str, Any] = {"number": 7}
    if pull:
        issue["pull_request"] = {"url": "https://api.github.example/repos/octo/shop/pulls/7"}
    return {"action": action, "issue": issue,
            "comment": {"id": 99, "body": body, "user": {"login": "bob"},
                        "author_association": "OWNER"}}  # not trusted: GitHub is asked


def test_a_comment_request() -> None:
    assert comment_request(_comment("/preview down")) == CommentRequest(7, "down", "bob", 99)
    for event, words in ((_comment("/preview", action="edited"), "only new comments"),
                         (_comment("looks good"), "not a /preview command"),
                         (_comment("/preview", pull=False), "is an issue")):
        found = comment_request(event)
        assert isinstance(found, Decision) and not found.command and words in found.reason
    with pytest.raises(BadInput, match="issue_comment without"):
        comment_request({"action": "created", "issue": {"number": 7, "pull_request": {}},
                         "comment": {"id": 9, "body": "/preview", "user": None}})


@pytest.mark.parametrize(("permission", "allowed"), [
    ("admin", True), ("write", True), ("read", False), ("none", False), ("maintain", False),
    ("", False),
])
def test_write_or_more_may_command(permission: str, allowed: bool) -> None:
    # GitHub's `permission` reports maintain as write; an unexpected word is not trusted.
    assert may_command(permission) is allowed


def test_the_pr_number_input() -> None:
    assert pr_number_input({}) is None
    assert pr_number_input({"pr-number": " #12 "}) == 12
    for bad in ("0", "-3", "abc", "1.5"):
        with pytest.raises(BadInput, match="input pr-number"):
            pr_number_input({"pr-number": bad})
