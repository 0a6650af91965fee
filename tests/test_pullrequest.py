"""preview/pullrequest.py: PR context from flags and from a real pull_request event payload."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from preview.errors import PreviewError
from preview.pullrequest import PullRequest, PullRequestFlags, from_event, refuses_fork, resolve

FIXTURE = Path(__file__).parent / "fixtures" / "pull_request_event.json"
SHA = "8a4f2c9b1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a"
ACTIONS = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "octo-org/shop", "GITHUB_RUN_ID": "777",
           "GITHUB_EVENT_NAME": "pull_request"}


def payload() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    return loaded


def test_event_payload_gives_the_pull_request() -> None:
    pr = from_event(payload(), ACTIONS)
    assert pr == PullRequest(
        owner="octo-org", repo="shop", number=42, head_sha=SHA,
        branch="feature/Café-checkout", author="mona-fork",
        title="Checkout: {{ 7*7 }} <script>alert(1)</script>", head_repo="mona-fork/shop",
        state="open", merged=False, run_url="https://github.com/octo-org/shop/actions/runs/777")
    assert pr.full_name == "octo-org/shop"
    assert pr.short_sha == SHA[:7]
    assert pr.is_fork
    assert pr.branch_slug == "feature-cafe-checkout"


def test_closed_merged_event_and_deleted_fork() -> None:
    data = payload()
    data["action"] = "closed"
    data["pull_request"].update(state="closed", merged=True)
    data["pull_request"]["head"]["repo"] = None  # GitHub sends null once the fork is deleted
    pr = from_event(data, {})
    # A head repository GitHub no longer names is a fork, never the base's own branch.
    assert (pr.state, pr.merged, pr.head_repo, pr.is_fork) == (
        "closed", True, "(deleted fork)", True)
    assert pr.run_url == ""


@pytest.mark.parametrize(("head", "fork"), [
    ({"repo": {"full_name": "octo-org/shop"}}, False),
    ({"repo": {"full_name": "Octo-Org/Shop"}}, False),  # GitHub's names ignore case
    ({"repo": {"full_name": "mallory/shop"}}, True),
    ({"repo": None}, True),  # deleted
    ({}, True),  # left out
    ({"repo": {"full_name": ""}}, True),
    ({"repo": "octo-org/shop"}, True),  # not what GitHub sends: not trusted as the base
])
def test_the_one_fork_rule(head: dict[str, object], fork: bool) -> None:
    data = payload()
    data["pull_request"]["head"] = {**data["pull_request"]["head"], "repo": None, **head}
    if "repo" not in head:
        del data["pull_request"]["head"]["repo"]
    assert from_event(data, {}).is_fork is fork


@pytest.mark.parametrize(("fork", "event", "allow", "refused"), [
    (False, "pull_request", False, False),
    (True, "pull_request", False, True),
    (True, "pull_request", True, False),
    (True, "pull_request_target", False, True),
    (True, "pull_request_target", True, True),  # the fork's code would get the secrets
    (False, "pull_request_target", False, False),
    (True, "issue_comment", True, True),  # a /preview comment's run has the secrets too
    (True, "workflow_dispatch", True, True),
    (False, "issue_comment", False, False),
    (True, "", True, False),  # no event: flags on a workstation, the user's own call
    (True, "", False, True),
])
def test_which_forks_are_refused(fork: bool, event: str, allow: bool, refused: bool) -> None:
    assert refuses_fork(fork, event, allow) is refused


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("pull_request"), "pull_request: missing"),
    (lambda d: d["pull_request"].pop("number"), "pull_request.number: missing"),
    (lambda d: d["pull_request"].update(number="42"), "pull_request.number: str, not int"),
    (lambda d: d["pull_request"]["head"].pop("sha"), "pull_request.head.sha: missing"),
    (lambda d: d["pull_request"]["head"].update(sha="abc"), "pull_request.head.sha: 'abc'"),
    (lambda d: d["pull_request"]["head"].update(ref=None), "pull_request.head.ref: missing"),
    (lambda d: d["pull_request"]["base"]["repo"].update(full_name="no-slash"),
     "pull_request.base.repo.full_name: 'no-slash'"),
    (lambda d: d["pull_request"]["user"].pop("login"), "pull_request.user.login: missing"),
    (lambda d: d["pull_request"].update(state="merged"), "pull_request.state: 'merged'"),
])
def test_malformed_payload_names_the_field(mutate: Any, field: str) -> None:
    data = copy.deepcopy(payload())
    mutate(data)
    with pytest.raises(PreviewError) as e:
        from_event(data, ACTIONS, source="event.json")
    assert e.value.message.startswith(f"event.json: {field}")


def test_short_sha_in_event_refused_on_actions_only() -> None:
    data = payload()
    data["pull_request"]["head"]["sha"] = SHA[:12]
    with pytest.raises(PreviewError, match="40 hex digits"):
        from_event(data, ACTIONS)
    assert from_event(data, {}).head_sha == SHA[:12]


def test_flags_alone() -> None:
    pr = resolve(PullRequestFlags(repo="octo-org/shop", pr="7", sha="ABCDEF1", branch="fix",
                                  author="me"), {})
    assert (pr.full_name, pr.number, pr.head_sha, pr.branch, pr.author) == \
        ("octo-org/shop", 7, "abcdef1", "fix", "me")
    assert pr.state == "open" and pr.run_url == "" and not pr.is_fork


def test_flags_win_over_the_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(FIXTURE.read_text())
    environ = {**ACTIONS, "GITHUB_EVENT_PATH": str(event)}
    from_file = resolve(PullRequestFlags(), environ)
    assert from_file == from_event(payload(), ACTIONS)
    pinned = resolve(PullRequestFlags(sha="f" * 40, branch="pinned"), environ)
    assert (pinned.head_sha, pinned.branch, pinned.number, pinned.author) == \
        ("f" * 40, "pinned", 42, "mona-fork")


def test_non_pull_request_event_needs_flags(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"schedule": "0 3 * * *"}))
    environ = {"GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "schedule"}
    with pytest.raises(PreviewError, match=re.escape(
            "--repo, --pr, --sha not given (the schedule event is not a pull request)")):
        resolve(PullRequestFlags(), environ)
    assert resolve(PullRequestFlags(repo="o/r", pr=1, sha="a" * 7), environ).number == 1


@pytest.mark.parametrize(("flags", "message"), [
    (PullRequestFlags(repo="octo-org", pr=1, sha=SHA), "--repo: 'octo-org' is not"),
    (PullRequestFlags(repo="octo/shop/x", pr=1, sha=SHA), "--repo: 'octo/shop/x' is not"),
    (PullRequestFlags(repo="-octo/shop", pr=1, sha=SHA), "--repo: '-octo/shop' is not"),
    (PullRequestFlags(repo="octo/..", pr=1, sha=SHA), "--repo: 'octo/..' is not"),
    (PullRequestFlags(repo="octo/shop", pr=0, sha=SHA), "--pr: 0 is not"),
    (PullRequestFlags(repo="octo/shop", pr="x", sha=SHA), "--pr: 'x' is not"),
    (PullRequestFlags(repo="octo/shop", pr=1, sha="abc"), "--sha: 'abc' is not"),
    (PullRequestFlags(repo="octo/shop", pr=1, sha="g" * 40), "--sha: 'ggg"),
    (PullRequestFlags(repo="octo/shop", pr=1), "--sha not given"),
])
def test_bad_flags_name_the_flag(flags: PullRequestFlags, message: str) -> None:
    with pytest.raises(PreviewError) as e:
        resolve(flags, {})
    assert message in e.value.message
    assert e.value.hint


def test_short_sha_flag_needs_full_sha_on_actions() -> None:
    flags = PullRequestFlags(repo="octo/shop", pr=1, sha=SHA[:7])
    with pytest.raises(PreviewError, match="40 hex digits"):
        resolve(flags, {"GITHUB_ACTIONS": "true"})
    assert resolve(flags, {}).short_sha == SHA[:7]


def test_unreadable_event_file() -> None:
    with pytest.raises(PreviewError, match="GITHUB_EVENT_PATH: cannot read"):
        resolve(PullRequestFlags(), {"GITHUB_EVENT_PATH": "/nonexistent/event.json"})


DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@pytest.mark.parametrize(("branch", "expected"), [
    ("main", "main"),
    ("Feature/ABC_123", "feature-abc-123"),
    ("feature/café", "feature-cafe"),
    ("--weird--", "weird"),
    ("{{ 7*7 }}", "7-7"),
    ("a\nb", "a-b"),
    ("", ""),
])
def test_branch_slug(branch: str, expected: str) -> None:
    assert PullRequest("o", "r", 1, SHA, branch, "a").branch_slug == expected


@pytest.mark.parametrize("branch", ["x" * 41, "feature/" + "long-name-" * 10, "🚀🚀",
                                    "日本語"])
def test_branch_slug_cut_or_emptied_gets_a_stable_hash(branch: str) -> None:
    slug = PullRequest("o", "r", 1, SHA, branch, "a").branch_slug
    assert len(slug) <= 40 and DNS_LABEL.fullmatch(slug)
    assert slug == PullRequest("o", "r", 2, SHA, branch, "b").branch_slug
    assert slug != PullRequest("o", "r", 1, SHA, branch + "x", "a").branch_slug
