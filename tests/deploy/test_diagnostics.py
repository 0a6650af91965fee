"""What a failed deploy tells its user, read from a real cluster: the failing pods, their
reason, events and last log lines, and helm's status, as data and as a short summary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from preview.deploy import ChartRef, collect_diagnostics, install
from preview.deploy.diagnostics import clean, event_line, sentence, summarize
from preview.results import Diagnostics, PodProblem
from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, wait_for
from tests.deploy.conftest import APP, Lines, run, virtual_cluster

MISSING = "registry.example.com/team/does-not-exist:7"


def deploy(sandbox: Sandbox, namespace: str, values: dict[str, Any]) -> None:
    async def scenario() -> None:
        async with virtual_cluster(sandbox) as vc:
            await install(vc, ChartRef(str(APP)), "app", namespace, values, 60, Lines())
    run(scenario())


def diagnose(sandbox: Sandbox, namespace: str, headline: str = "") -> Diagnostics:
    async def scenario() -> Diagnostics:
        async with virtual_cluster(sandbox) as vc:
            return await collect_diagnostics(vc, namespace, "app", headline=headline)
    return run(scenario())


def waiting_reasons(kubectl: KubectlRunner, namespace: str) -> set[str]:
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
    return {(s.get("state") or {}).get("waiting", {}).get("reason", "")
            for p in pods for s in p["status"].get("containerStatuses") or []}


@pytest.mark.sandbox
@pytest.mark.tools
def test_image_pull_failure_names_pod_reason_and_event(sandbox: Sandbox,
                                                       kubectl: KubectlRunner) -> None:
    deploy(sandbox, "diag-a", {"image": MISSING, "replicas": 1})
    wait_for(lambda: waiting_reasons(kubectl, "diag-a") == {"ImagePullBackOff"}, timeout=30,
             what="ImagePullBackOff")
    # The kubelet alternates ErrImagePull and ImagePullBackOff: look until a snapshot has it.
    d = wait_for(lambda: (found := diagnose(sandbox, "diag-a", "deploy failed: something")
                          ).pods and found, timeout=30, what="the failing pod in the diagnostics")
    [problem] = d.pods
    pod = kubectl("get", "pods", "-n", "diag-a", "-o", "jsonpath={.items[0].metadata.name}"
                  ).stdout
    assert (problem.pod, problem.container) == (pod, "web")
    assert problem.reason in ("ImagePullBackOff", "ErrImagePull")
    assert problem.logs == ()  # it never ran
    pulled = [e for e in problem.events if e.startswith(f'Warning Failed: Failed to pull image '
                                                         f'"{MISSING}"')]
    assert pulled
    lines = d.summary.splitlines()
    assert lines[0] == "deploy failed: something"
    assert lines[1].startswith(f"pod {pod} container web: ")
    assert "ImagePullBackOff" in d.summary and pulled[0][:100] in d.summary
    # helm did not fail: its "deployed" is kept for the record, not said in the summary
    assert not any(line.startswith("helm:") for line in lines)
    assert d.helm_status == "revision 1 deployed: Install complete"
    assert len(lines) <= 8


@pytest.mark.sandbox
@pytest.mark.tools
def test_crash_loop_brings_the_previous_runs_last_log_lines(sandbox: Sandbox,
                                                           kubectl: KubectlRunner) -> None:
    deploy(sandbox, "diag-b", {"command": ["sh", "-c", "echo boom; exit 1"], "replicas": 1})
    wait_for(lambda: waiting_reasons(kubectl, "diag-b") == {"CrashLoopBackOff"}, timeout=30,
             what="CrashLoopBackOff")
    d = diagnose(sandbox, "diag-b")
    [problem] = [p for p in d.pods if p.reason == "CrashLoopBackOff"] or d.pods
    assert problem.container == "web" and problem.logs
    # The container restarts on its own while we look: whichever run the snapshot caught, its
    # lines are that container's (every run logs its command line).
    assert any("running: sh -c echo boom; exit 1" in line for line in problem.logs)
    assert len(problem.logs) <= 20
    assert any("BackOff" in e for e in problem.events)
    assert d.summary.startswith("release app in namespace diag-b is not ready\n")
    assert f"  log: {problem.logs[-1]}" in d.summary


@pytest.mark.sandbox
@pytest.mark.tools
def test_healthy_release_and_missing_release(sandbox: Sandbox, kubectl: KubectlRunner) -> None:
    deploy(sandbox, "diag-c", {"replicas": 1})
    # pods may still be starting, but nothing is failing
    d = diagnose(sandbox, "diag-c")
    assert all(p.reason == "NotReady" for p in d.pods)
    assert d.helm_status == "revision 1 deployed: Install complete"
    kubectl("create", "namespace", "diag-d")
    empty = diagnose(sandbox, "diag-d")
    assert empty.pods == ()
    assert empty.helm_status == "no release app in namespace diag-d"
    assert "no failing pods found" in empty.summary


def problem(pod: str, reason: str, events: tuple[str, ...] = (),
            logs: tuple[str, ...] = ()) -> PodProblem:
    return PodProblem(pod, "web", reason, f"{reason} of {pod}", events, logs)


def test_summary_shows_each_problem_once_with_warnings_first() -> None:
    events = ("Normal Pulling: Pulling image \"x\"", "Warning Failed: Failed to pull image "
              "\"x\": not found", "Normal BackOff: Back-off pulling image \"x\"",
              "Warning Failed: Error: ImagePullBackOff")
    summary = summarize("deploy failed: pod a", [
        problem("a", "ImagePullBackOff", events), problem("b", "ErrImagePull"),
        problem("c", "ImagePullBackOff"),
        problem("d", "CrashLoopBackOff", logs=tuple(f"line {i}" for i in range(20)))],
        2, "revision 3 deployed: Upgrade complete")
    assert summary.splitlines() == [
        "deploy failed: pod a",
        "pod a container web: ImagePullBackOff: ImagePullBackOff of a (and 2 more pods)",
        "  event Warning Failed: Failed to pull image \"x\": not found",
        "  event Warning Failed: Error: ImagePullBackOff",
        "pod d container web: CrashLoopBackOff: CrashLoopBackOff of d",
        "  log: line 17", "  log: line 18", "  log: line 19",
        "… and 2 more failing containers",
    ]  # helm's "deployed" is not news in a failure: no helm line
    failed_helm = summarize("deploy failed", [], 0, "revision 2 failed: timed out waiting")
    assert failed_helm.splitlines()[-1] == "helm: revision 2 failed: timed out waiting"


def test_the_sentence_names_the_first_failing_pod_and_its_reason_in_under_200() -> None:
    long_message = 'Back-off pulling image "registry.example/' + "x" * 300 + '"'
    problems = [PodProblem("app-5d9c7b-xk2lp", "app", "ImagePullBackOff", long_message, (), ()),
                problem("b", "CrashLoopBackOff")]
    text = sentence("deploy failed: a headline\nwith a second line", problems, 1)
    assert text.startswith("Pod app-5d9c7b-xk2lp (container app) is failing: ImagePullBackOff, "
                           "and 2 more failing containers (Back-off pulling image")
    assert len(text) < 200 and "\n" not in text
    assert sentence("GET http://pr-1.example answered 503\nhint: check the app", [], 0) == \
        "GET http://pr-1.example answered 503"
    assert len(sentence("y" * 500, [], 0)) < 200
    assert sentence("", [problem("a", "OOMKilled")], 0) == \
        "Pod a (container web) is failing: OOMKilled (OOMKilled of a)"


def test_untrusted_text_is_kept_plain_and_short() -> None:
    assert clean("\x1b[31mred\x1b[0m\r\x07 done") == "red done"
    assert len(clean("x" * 1000)) == 300
    assert event_line({"type": "Warning", "reason": "BackOff", "message": "again",
                       "count": 4}) == "Warning BackOff: again (x4)"
    assert event_line({"type": "Normal", "reason": "Pulled", "message": "ok",
                       "series": {"count": 2}}) == "Normal Pulled: ok (x2)"
