"""Waiting for the release's workloads with the real helm against a sandbox: progress lines
while they come up, and a fast, explained failure when they will not."""

from __future__ import annotations

import time
from typing import Any

import pytest

from preview.deploy import ChartRef, DeployFailed, install, wait_ready
from preview.errors import PreviewError
from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner
from tests.deploy.conftest import APP, Lines, run, virtual_cluster
from tests.deploy.test_install import image_of

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
MISSING = "registry.example.com/team/does-not-exist:1"


def deploy_and_wait(sandbox: Sandbox, namespace: str, values: dict[str, Any],
                    lines: Lines, timeout_s: float = 60, fail_after_s: float = 2.0,
                    kinds: tuple[str, ...] = ("Deployment", "StatefulSet", "DaemonSet", "Job"),
                    heartbeat_s: float = 30) -> None:
    async def scenario() -> None:
        async with virtual_cluster(sandbox) as vc:
            await install(vc, ChartRef(str(APP)), "app", namespace, values, 60, lines)
            await wait_ready(vc, namespace, "app", kinds, timeout_s, lines,
                             fail_after_s=fail_after_s, poll_s=0.2, heartbeat_s=heartbeat_s)
    run(scenario())


def test_all_kinds_become_ready_with_progress_lines(sandbox: Sandbox) -> None:
    lines = Lines()
    deploy_and_wait(sandbox, "wait-a", {"statefulset": True, "daemonset": True, "job": True},
                    lines)
    for final in ("deployment/app-web 2/2 ready", "statefulset/app-db 1/1 ready",
                  "daemonset/app-agent 3/3 ready", "job/app-migrate complete"):
        assert final in lines
    # one line per change, not one per poll
    assert len(lines) == len(set(lines))


def test_image_that_cannot_be_pulled_fails_fast_with_diagnostics(sandbox: Sandbox) -> None:
    lines = Lines()
    started = time.monotonic()
    with pytest.raises(DeployFailed) as e:
        deploy_and_wait(sandbox, "wait-b", {"image": MISSING}, lines, timeout_s=120)
    assert time.monotonic() - started < 30  # long before the timeout
    d = e.value.diagnostics
    assert "ImagePullBackOff" in e.value.message or "ErrImagePull" in e.value.message
    assert {p.reason for p in d.pods} <= {"ImagePullBackOff", "ErrImagePull"}
    pod = d.pods[0]
    assert pod.pod.startswith("app-web-") and pod.container == "web"
    assert any(f'Failed to pull image "{MISSING}"' in event for event in pod.events)
    assert pod.pod in d.summary and MISSING in d.summary
    assert d.helm_status == "revision 1 deployed: Install complete"
    assert "deployment/app-web 0/2 ready" in lines
    # each failing pod is named once as it is seen, before the wait gives up
    seen = [line for line in lines if line.startswith("pod app-web-")]
    assert len(seen) == 2 and all(": ErrImagePull: " in line or ": ImagePullBackOff: " in line
                                  for line in seen)


def test_crash_loop_fails_once_it_has_restarted_three_times(sandbox: Sandbox) -> None:
    with pytest.raises(DeployFailed) as e:
        deploy_and_wait(sandbox, "wait-c", {"command": ["sh", "-c", "echo boom; exit 1"],
                                            "replicas": 1}, Lines(), timeout_s=120,
                        fail_after_s=0)
    crashing = [p for p in e.value.diagnostics.pods if p.container == "web"]
    assert crashing and crashing[0].reason in ("CrashLoopBackOff", "Error")
    assert "restarted" not in e.value.message  # the headline names the reason, not noise
    assert e.value.hint and "inspection" in e.value.hint


def test_failed_job_fails_at_once(sandbox: Sandbox) -> None:
    lines = Lines()
    with pytest.raises(DeployFailed) as e:
        deploy_and_wait(sandbox, "wait-d", {"job": True, "jobCommand": ["sh", "-c", "exit 3"]},
                        lines, timeout_s=120, fail_after_s=100)
    assert "job/app-migrate failed" in e.value.message
    assert any(p.pod.startswith("app-migrate-") and "exit code 3" in p.message
               for p in e.value.diagnostics.pods)


def test_unschedulable_pods_fail_with_the_scheduler_message(sandbox: Sandbox) -> None:
    with pytest.raises(DeployFailed) as e:
        deploy_and_wait(sandbox, "wait-e", {"nodeSelector": {"disk": "nvme"}, "replicas": 1},
                        Lines(), timeout_s=120)
    [problem] = e.value.diagnostics.pods
    assert problem.reason == "Unschedulable" and problem.container == ""
    assert "node(s) didn't match" in problem.message or "nodes are available" in problem.message


def test_timeout_names_what_was_not_ready(sandbox: Sandbox) -> None:
    lines = Lines()
    with pytest.raises(DeployFailed) as e:
        deploy_and_wait(sandbox, "wait-f", {"image": MISSING, "replicas": 1}, lines,
                        timeout_s=5, fail_after_s=100, heartbeat_s=0.5)
    assert any(line.startswith("still waiting after ") and
               line.endswith("s: deployment/app-web 0/1 ready") for line in lines)
    assert "timed out after 5s waiting for deployment/app-web 0/1 ready" in e.value.message
    assert e.value.diagnostics.summary.startswith("deploy failed: timed out")


def test_only_the_kinds_asked_for_are_waited_for(sandbox: Sandbox) -> None:
    lines = Lines()
    deploy_and_wait(sandbox, "wait-g", {"image": MISSING, "job": True}, lines,
                    kinds=("Job",))
    assert not any(line.startswith("deployment/") for line in lines)
    with pytest.raises(PreviewError) as e:
        deploy_and_wait(sandbox, "wait-g", {}, lines, kinds=("CronJob",))
    assert "readiness.kinds" in e.value.message


def test_a_fix_after_a_broken_revision_is_not_failed_by_the_old_pods(
        sandbox: Sandbox, kubectl: KubectlRunner) -> None:
    with pytest.raises(DeployFailed):
        deploy_and_wait(sandbox, "wait-h", {"image": MISSING}, Lines(), timeout_s=60)
    # The old ReplicaSet's pods keep failing while the fixed revision rolls out.
    lines = Lines()
    deploy_and_wait(sandbox, "wait-h", {"image": "nginx:1.28"}, lines, fail_after_s=0)
    assert "deployment/app-web 2/2 ready" in lines
    assert image_of(kubectl, "wait-h", "app-web") == "nginx:1.28"
