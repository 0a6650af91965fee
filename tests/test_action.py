"""action.yml and `preview action`: inputs reach scripts only through env, the event picks the
command, and the kubeconfig is masked line by line and value by value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from preview.cli.action import (
    check_mode,
    fork_of,
    is_policy_content,
    plan,
    policy_warning,
    secret_lines,
)
from preview.cli.reporting import ForkRefused
from preview.errors import BadInput

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def test_no_expression_inside_a_script() -> None:
    """PR-controlled input must never become shell code: `${{ }}` only in `env:`."""
    for step in ACTION["runs"]["steps"]:
        assert not EXPRESSION.search(step.get("run", "")), step["name"]


# Inputs of the installation itself, read by the first step and never by `preview action`.
INSTALL_INPUTS = {"install"}


def _inputs_named(step: dict[str, Any]) -> set[str]:
    return {m.strip().removeprefix("inputs.") for value in (step.get("env") or {}).values()
            for m in EXPRESSION.findall(str(value)) if m.strip().startswith("inputs.")}


def test_every_input_reaches_the_entry_point_and_nothing_else_is_referenced() -> None:
    run = ACTION["runs"]["steps"][-1]
    assert _inputs_named(run) == set(ACTION["inputs"]) - INSTALL_INPUTS
    assert _inputs_named(ACTION["runs"]["steps"][0]) == INSTALL_INPUTS
    assert all(not _inputs_named(step) for step in ACTION["runs"]["steps"][1:-1])
    for name, value in run["env"].items():
        if name.startswith("INPUT_"):
            assert name == "INPUT_" + EXPRESSION.search(value).group(1).strip() \
                .removeprefix("inputs.").upper().replace("-", "_")  # type: ignore[union-attr]


def test_outputs_come_from_the_run_step() -> None:
    assert set(ACTION["outputs"]) == {"url", "namespace", "vcluster", "kubeconfig", "status"}
    for output in ACTION["outputs"].values():
        assert output["value"].startswith("${{ steps.run.outputs.")


def test_the_preview_workflow_passes_only_inputs_the_action_has() -> None:
    workflow = yaml.safe_load((ROOT / "workflows" / "preview.yml").read_text())
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "preview-vcluster@" in step.get("uses", ""):
                assert set(step.get("with", {})) <= set(ACTION["inputs"])
                assert "kubeconfig" in step["with"]


def test_teardowns_are_never_cancelled() -> None:
    workflow = yaml.safe_load((ROOT / "workflows" / "preview.yml").read_text())
    concurrency = workflow["concurrency"]
    assert "github.event.action == 'closed'" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event.action != 'closed' }}"
    # Drafts are skipped by default: ready_for_review brings them up, converted_to_draft down.
    assert workflow[True]["pull_request"]["types"] == [
        "opened", "synchronize", "reopened", "ready_for_review", "converted_to_draft", "closed"]


def _event(action: str) -> dict[str, Any]:
    return {"action": action, "number": 7, "pull_request": {"number": 7}}


@pytest.mark.parametrize(("action", "command"), [
    ("opened", "up"), ("reopened", "up"), ("synchronize", "up"), ("closed", "down")])
def test_the_event_picks_the_command(action: str, command: str) -> None:
    invocation = plan({}, "pull_request", _event(action), "/tmp/kc")
    assert invocation.argv[:3] == (command, "--kubeconfig", "/tmp/kc")


def test_other_pull_request_actions_do_nothing_and_say_so() -> None:
    invocation = plan({}, "pull_request", _event("labeled"), "/tmp/kc")
    assert invocation.argv == () and "labeled" in invocation.skip_reason


def test_up_gets_every_input_as_a_flag() -> None:
    inputs = {"config": "app/preview.yaml", "chart": "./chart", "domain": "example.com",
              "ttl": "36h", "timeout": "600", "values": "a.yaml\n\n b.yaml \n",
              "set": "image.tag={{ pr.short_sha }}\nlabels.team=a,b", "allow-forks": "true"}
    argv = plan(inputs, "pull_request", _event("opened"), "/kc").argv
    assert argv == ("up", "--kubeconfig", "/kc", "--config", "app/preview.yaml",
                    "--chart", "./chart", "--values", "a.yaml", "--values", "b.yaml",
                    "--set", "image.tag={{ pr.short_sha }}", "--set", "labels.team=a,b",
                    "--domain", "example.com", "--ttl", "36h", "--timeout", "600",
                    "--allow-forks")


def test_down_ignores_deploy_inputs() -> None:
    # `preview down` has no --config: the environment is named by the event alone.
    argv = plan({"chart": "./chart", "set": "a=b", "config": "app/preview.yaml"}, "pull_request",
                _event("closed"), "/kc").argv
    assert argv == ("down", "--kubeconfig", "/kc", "--reason", "the pull request was closed; reopening it brings the environment back")


def test_deployments_false_keeps_up_and_down_off_github_deployments() -> None:
    off = {"deployments": "false"}
    assert plan(off, "pull_request", _event("opened"), "/kc").argv == \
        ("up", "--kubeconfig", "/kc", "--no-deployments")
    assert "--no-deployments" in plan(off, "pull_request", _event("closed"), "/kc").argv
    for on in ({}, {"deployments": "true"}):
        assert "--no-deployments" not in plan(on, "pull_request", _event("opened"), "/kc").argv


def test_gc_on_a_schedule() -> None:
    argv = plan({"command": "gc", "dry-run": "true", "max-deletions": "5"}, "schedule", {},
                "/kc").argv
    assert argv == ("gc", "--kubeconfig", "/kc", "--dry-run", "--max-deletions", "5")


@pytest.mark.parametrize(("inputs", "event_name", "names"), [
    ({"command": "deploy"}, "pull_request", "command"),
    ({}, "push", "push"),
    ({"allow-forks": "maybe"}, "pull_request", "allow-forks"),
    ({"deployments": "no way"}, "pull_request", "deployments"),
])
def test_bad_inputs_name_the_input(inputs: dict[str, str], event_name: str, names: str) -> None:
    with pytest.raises(BadInput, match=names) as caught:
        plan(inputs, event_name, _event("opened"), "/kc")
    assert caught.value.hint


def test_every_credential_of_a_kubeconfig_is_masked_and_nothing_else() -> None:
    kubeconfig = yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://k8s.example.com"}}],
        "users": [{"name": "u", "user": {"token": "s3cr3t-token",
                                         "client-key-data": "S0VZ" * 40}},
                  {"name": "eks", "user": {"exec": {
                      "command": "aws", "env": [{"name": "AWS_PROFILE", "value": "prod-admin"}]}}}]})
    masks = secret_lines(kubeconfig)
    assert {"s3cr3t-token", "S0VZ" * 40, "prod-admin"} <= set(masks)
    assert "token: s3cr3t-token" in masks  # the line as the log would show it
    assert not {"apiVersion: v1", "kind: Config", "- name: u"} & set(masks)


def test_an_unreadable_kubeconfig_is_masked_whole() -> None:
    broken = "users:\n  - token: abc\n  bad: [unclosed\n"
    assert secret_lines(broken) == ["users:", "- token: abc", "bad: [unclosed"]


def _fork_event(action: str, head: dict[str, Any] | None) -> dict[str, Any]:
    return {"action": action, "pull_request": {
        "number": 7, "head": {"repo": head}, "base": {"repo": {"full_name": "octo/shop"}}}}


@pytest.mark.parametrize("head", [{"full_name": "mallory/shop"}, None],
                         ids=["fork", "deleted-fork"])
def test_a_fork_is_refused_before_the_kubeconfig_matters(head: dict[str, Any] | None) -> None:
    with pytest.raises(ForkRefused, match="comes from the fork") as caught:
        plan({}, "pull_request", _fork_event("opened", head), "/kc")
    assert "allow-forks" in (caught.value.hint or "")


def test_a_fork_is_deployed_with_allow_forks_and_its_teardown_skipped_without() -> None:
    event = _fork_event("opened", {"full_name": "mallory/shop"})
    assert plan({"allow-forks": "true"}, "pull_request", event, "/kc").argv[-1] == \
        "--allow-forks"
    closed = plan({}, "pull_request", _fork_event("closed", {"full_name": "mallory/shop"}), "/kc")
    assert closed.argv == () and "nothing was deployed" in closed.skip_reason
    assert plan({"allow-forks": "true"}, "pull_request", _fork_event(
        "closed", {"full_name": "mallory/shop"}), "/kc").argv[0] == "down"


def test_pull_request_target_never_deploys_a_fork() -> None:
    for head in ({"full_name": "mallory/shop"}, None):
        with pytest.raises(ForkRefused, match="pull_request_target") as caught:
            plan({"allow-forks": "true"}, "pull_request_target", _fork_event("opened", head),
                 "/kc")
        assert "keep the preview workflow on pull_request" in (caught.value.hint or "")
    # The base repository's own branch is not a fork on either event.
    same = _fork_event("opened", {"full_name": "octo/shop"})
    assert plan({}, "pull_request_target", same, "/kc").argv[0] == "up"


def test_the_same_repository_is_not_a_fork() -> None:
    assert fork_of(_fork_event("opened", {"full_name": "Octo/Shop"})) == ""
    assert fork_of(_fork_event("opened", {"full_name": "mallory/shop"})) == "mallory/shop"


@pytest.mark.parametrize("head", [None, "mallory:feature", ["mallory/shop"]])
def test_a_head_that_is_not_an_object_is_a_deleted_fork(head: object) -> None:
    # Not what GitHub sends; whatever it is, it is not trusted as the base repository.
    event = {"action": "opened", "pull_request": {
        "number": 7, "head": head, "base": {"repo": {"full_name": "octo/shop"}}}}
    assert fork_of(event) == "(deleted fork)"
    with pytest.raises(ForkRefused):
        plan({}, "pull_request", event, "/kc")


def test_the_policy_goes_to_up_and_gc_only() -> None:
    inputs = {"policy": "/etc/preview/policy.yaml"}
    assert plan(inputs, "pull_request", _event("opened"), "/kc").argv == (
        "up", "--kubeconfig", "/kc", "--policy", "/etc/preview/policy.yaml")
    assert plan({**inputs, "command": "gc"}, "schedule", {}, "/kc").argv == (
        "gc", "--kubeconfig", "/kc", "--policy", "/etc/preview/policy.yaml")
    assert plan(inputs, "pull_request", _event("closed"), "/kc").argv == (
        "down", "--kubeconfig", "/kc", "--reason", "the pull request was closed; reopening it brings the environment back")


@pytest.mark.parametrize(("value", "content"), [
    ("policy.yaml", False), (".github/preview-policy.yaml", False),
    ("sync:\n  relaxable: [host-path]\n", True), ("{caps: {ttl: 3d}}", True),
    ("caps: {ttl: 3d}", True),
])
def test_the_policy_input_is_a_path_or_the_policy_itself(value: str, content: bool) -> None:
    assert is_policy_content(value) is content


def test_a_policy_path_in_the_pull_requests_checkout_is_warned_about(tmp_path: Path) -> None:
    workspace = str(tmp_path)
    assert "the pull request can edit" in policy_warning("policy.yaml", workspace,
                                                         "pull_request")
    assert "the pull request can edit" in policy_warning("../" + tmp_path.name + "/p.yaml",
                                                         workspace, "pull_request")
    assert policy_warning("/etc/preview/policy.yaml", workspace, "pull_request") == ""
    assert policy_warning("policy.yaml", workspace, "schedule") == ""  # the default branch


def test_api_mode_runs_with_the_api_and_no_kubeconfig() -> None:
    inputs = {"api-url": "https://preview.example.com", "audience": "preview",
              "config": "app/preview.yaml"}
    assert plan(inputs, "pull_request", _event("opened"), "/kc").argv == (
        "up", "--api", "https://preview.example.com", "--audience", "preview",
        "--config", "app/preview.yaml")
    assert plan(inputs, "pull_request", _event("closed"), "/kc").argv == (
        "down", "--api", "https://preview.example.com", "--audience", "preview", "--reason", "the pull request was closed; reopening it brings the environment back")
    with pytest.raises(BadInput, match="gc runs in the host cluster"):
        plan({**inputs, "command": "gc"}, "schedule", {}, "/kc")
    with pytest.raises(BadInput, match="the policy is the API's own"):
        plan({**inputs, "policy": "caps: {}"}, "pull_request", _event("opened"), "/kc")


@pytest.mark.parametrize(("kubeconfig", "api_url", "words"), [
    ("apiVersion: v1", "https://preview.example.com", "give one, not both"),
    ("", "", "no api-url is given"),
    ("  \n", "", "no api-url is given"),
])
def test_exactly_one_mode(kubeconfig: str, api_url: str, words: str) -> None:
    with pytest.raises(BadInput, match=words):
        check_mode(kubeconfig, api_url)
    check_mode("apiVersion: v1", "")
    check_mode("", "https://preview.example.com")


def _pull(number: int = 7, *, state: str = "open", head: str = "octo/shop",
          draft: bool = False) -> dict[str, Any]:
    """A pull request as GET /repos/{o}/{r}/pulls/{n} describes it."""
    return {"number": number, "state": state, "draft": draft, "labels": [],
            "user": {"login": "alice"},
            "head": {"sha": "ab" * 20, "ref": "feature/x", "repo": {"full_name": head}},
            "base": {"ref": "main", "repo": {"full_name": "octo/shop"}}}


def test_a_pull_request_read_from_github_is_named_by_flags() -> None:
    # workflow_dispatch with pr-number: the payload names no pull request; GitHub's does.
    argv = plan({"pr-number": "7"}, "workflow_dispatch", {}, "/kc", pull=_pull()).argv
    assert argv == ("up", "--kubeconfig", "/kc", "--repo", "octo/shop", "--pr", "7",
                    "--sha", "ab" * 20, "--branch", "feature/x", "--author", "alice")
    closed = plan({"pr-number": "7"}, "workflow_dispatch", {}, "/kc", pull=_pull(state="closed"))
    assert closed.argv == ("down", "--kubeconfig", "/kc", "--repo", "octo/shop", "--pr", "7",
                           "--reason", "it was removed by hand (workflow_dispatch); running "
                           "the workflow again or a comment /preview brings it back")
    # The command input wins; a person asked, so the draft rule does not apply.
    assert plan({"command": "down"}, "workflow_dispatch", {}, "/kc",
                pull=_pull(draft=True)).argv[0] == "down"
    assert plan({}, "workflow_dispatch", {}, "/kc", pull=_pull(draft=True)).argv[0] == "up"


def test_a_comment_command_acts_on_the_pull_request_it_names() -> None:
    event = {"action": "created", "issue": {"number": 7, "pull_request": {}}}
    assert plan({}, "issue_comment", event, "/kc", pull=_pull(), asked="down",
                asked_by="bob").argv == (
        "down", "--kubeconfig", "/kc", "--repo", "octo/shop", "--pr", "7", "--reason",
        "bob asked for it with /preview down; a comment /preview brings it back")
    assert plan({}, "issue_comment", event, "/kc", pull=_pull(), asked="up").argv[0] == "up"
    skipped = plan({}, "issue_comment", event, "/kc", pull=_pull(state="closed"), asked="up")
    assert skipped.argv == () and "is closed" in skipped.skip_reason


@pytest.mark.parametrize("event_name", ["issue_comment", "workflow_dispatch"])
def test_a_fork_named_by_a_run_with_secrets_is_refused_even_when_forks_are_allowed(
        event_name: str) -> None:
    with pytest.raises(ForkRefused, match=f"on the {event_name} event") as caught:
        plan({"allow-forks": "true"}, event_name, {}, "/kc", pull=_pull(head="mallory/shop"),
             asked="up")
    assert "push its branch to the base repository" in (caught.value.hint or "")


def test_pr_number_is_for_events_without_a_pull_request() -> None:
    with pytest.raises(BadInput, match="input pr-number: a pull_request event names its own"):
        plan({"pr-number": "7"}, "pull_request", _event("opened"), "/kc")
    with pytest.raises(BadInput, match="workflow_dispatch event is not a pull request") as caught:
        plan({}, "workflow_dispatch", {}, "/kc")
    assert "pr-number" in (caught.value.hint or "")


def test_the_trigger_inputs_reach_the_decision() -> None:
    labelled = {**_event("labeled"), "label": {"name": "preview"}}
    labelled["pull_request"] = {"number": 7, "labels": [{"name": "preview"}]}
    assert plan({"trigger": "label"}, "pull_request", labelled, "/kc").argv[0] == "up"
    unlabelled = {**_event("unlabeled"), "label": {"name": "preview"}}
    assert plan({"trigger": "label"}, "pull_request", unlabelled, "/kc").argv[0] == "down"
    draft = {**_event("opened"), "pull_request": {"number": 7, "draft": True}}
    assert plan({}, "pull_request", draft, "/kc").argv == ()
    assert plan({"drafts": "true"}, "pull_request", draft, "/kc").argv[0] == "up"


def test_the_environment_input_names_one_of_several_environments() -> None:
    assert plan({"environment": "api"}, "pull_request", _event("opened"), "/kc").argv == (
        "up", "--kubeconfig", "/kc", "--environment", "api")
    assert plan({"environment": "web"}, "pull_request", _event("closed"), "/kc").argv == (
        "down", "--kubeconfig", "/kc", "--reason", "the pull request was closed; reopening it brings the environment back", "--environment", "web")
    with pytest.raises(BadInput, match="input environment: environment name 'API_1'") as caught:
        plan({"environment": "API_1"}, "pull_request", _event("opened"), "/kc")
    assert "environment: api" in (caught.value.hint or "")


@pytest.mark.parametrize(("event", "reason"), [
    ({"action": "closed", "pull_request": {"number": 7, "merged": True}},
     "the pull request was merged"),
    ({"action": "unlabeled", "label": {"name": "preview"},
      "pull_request": {"number": 7, "labels": []}},
     "the label preview was removed; adding it again brings the environment back"),
    ({"action": "converted_to_draft", "pull_request": {"number": 7, "draft": True}},
     "the pull request was turned back into a draft; marking it ready for review brings the "
     "environment back"),
])
def test_a_removal_says_why_and_how_to_bring_it_back(event: dict[str, Any], reason: str) -> None:
    argv = plan({"trigger": "label"}, "pull_request", event, "/kc").argv
    assert argv == ("down", "--kubeconfig", "/kc", "--reason", reason)
