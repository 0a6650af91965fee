"""The Job controller over HTTP: completions, parallelism, backoff limit, conditions, TTL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.controllers.job_step import job_step
from tests.conftest import wait_for
from tests.sandbox.workloads import (  # noqa: F401  (fixtures)
    control_plane_fixture,
    cp_batch_fixture,
    cp_client_fixture,
    cp_core_fixture,
    ns_fixture,
    pods,
)

pytestmark = pytest.mark.sandbox


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "busybox", "command": ["true"]}]}}, **spec}}


def finish(core: client.CoreV1Api, ns: str, name: str, phase: str) -> None:
    core.patch_namespaced_pod_status(name, ns, {"status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "False"}]}})


def job_pods(core: client.CoreV1Api, ns: str, name: str, count: int) -> list[Any]:
    return wait_for(lambda: (lambda ps: ps if len(ps) == count else None)(
        [p for p in pods(core, ns, f"batch.kubernetes.io/job-name={name}")
         if p.status.phase in (None, "Pending", "Running")]), what=f"{count} active pods")


def conditions(batch: client.BatchV1Api, ns: str, name: str) -> dict[str, Any]:
    st = batch.read_namespaced_job_status(name, ns).status
    return {c.type: c for c in (st and st.conditions) or []}


def test_runs_to_completion_with_parallelism(cp_batch: client.BatchV1Api,
                                             cp_core: client.CoreV1Api, ns: str) -> None:
    cp_batch.create_namespaced_job(ns, job("work", completions=3, parallelism=2))
    first = job_pods(cp_core, ns, "work", 2)
    labels = first[0].metadata.labels
    uid = cp_batch.read_namespaced_job("work", ns).metadata.uid
    assert labels["batch.kubernetes.io/controller-uid"] == labels["controller-uid"] == uid
    assert labels["job-name"] == "work"
    def started() -> client.V1JobStatus | None:
        status = cp_batch.read_namespaced_job_status("work", ns).status
        # Status follows the controller's informer: both pods may be counted a pass later.
        return status if status and status.start_time and status.active == 2 else None
    wait_for(started, what="two active pods")
    for p in first:
        finish(cp_core, ns, p.metadata.name, "Succeeded")
    last = job_pods(cp_core, ns, "work", 1)  # only one more is needed
    finish(cp_core, ns, last[0].metadata.name, "Succeeded")
    cond = wait_for(lambda: conditions(cp_batch, ns, "work").get("Complete"), what="Complete")
    assert (cond.status, cond.reason) == ("True", "CompletionsReached")
    conds = conditions(cp_batch, ns, "work")
    assert conds["SuccessCriteriaMet"].status == "True"
    st = cp_batch.read_namespaced_job_status("work", ns).status
    assert (st.succeeded, st.active, st.failed) == (3, None, None)
    assert st.completion_time is not None


def test_backoff_limit_exceeded_fails_the_job(cp_batch: client.BatchV1Api,
                                              cp_core: client.CoreV1Api, ns: str) -> None:
    cp_batch.create_namespaced_job(ns, job("bad", backoffLimit=0))
    pod = job_pods(cp_core, ns, "bad", 1)[0]
    finish(cp_core, ns, pod.metadata.name, "Failed")
    cond = wait_for(lambda: conditions(cp_batch, ns, "bad").get("Failed"), what="Failed")
    assert (cond.status, cond.reason, cond.message) == \
        ("True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert conditions(cp_batch, ns, "bad")["FailureTarget"].reason == "BackoffLimitExceeded"
    assert cp_batch.read_namespaced_job_status("bad", ns).status.failed == 1


def test_ttl_after_finished_deletes_the_job(cp_batch: client.BatchV1Api,
                                            cp_core: client.CoreV1Api, ns: str) -> None:
    cp_batch.create_namespaced_job(ns, job("once", ttlSecondsAfterFinished=0))
    pod = job_pods(cp_core, ns, "once", 1)[0]
    finish(cp_core, ns, pod.metadata.name, "Succeeded")
    wait_for(lambda: not cp_batch.list_namespaced_job(ns).items, what="job deleted")


def test_active_deadline_fails_the_job(cp_batch: client.BatchV1Api,
                                       cp_core: client.CoreV1Api, ns: str) -> None:
    cp_batch.create_namespaced_job(ns, job("slow", activeDeadlineSeconds=1))
    job_pods(cp_core, ns, "slow", 1)
    cond = wait_for(lambda: conditions(cp_batch, ns, "slow").get("Failed"), timeout=10,
                    what="Failed by deadline")
    assert cond.reason == "DeadlineExceeded"
    wait_for(lambda: not pods(cp_core, ns, "batch.kubernetes.io/job-name=slow"),
             what="pods deleted")


# -- the pure step --------------------------------------------------------------------------
AT = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)


def _job(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "j"}, "spec": {"parallelism": 1, "completions": 1,
                                               "backoffLimit": 6, **spec}, "status": {}}


def _pod(phase: str, finished: str = "2025-01-01T11:59:55Z") -> dict[str, Any]:
    return {"metadata": {"name": f"j-{phase}", "creationTimestamp": "2025-01-01T11:00:00Z"},
            "status": {"phase": phase, "containerStatuses": [
                {"state": {"terminated": {"finishedAt": finished}}}]}}


def test_step_creates_up_to_parallelism_and_waits_out_backoff() -> None:
    step = job_step(_job(parallelism=3, completions=5), [], AT)
    assert step.create == 3 and step.status["startTime"] == "2025-01-01T12:00:00Z"
    # One failure 5s ago: the replacement waits the rest of the 10s back-off.
    step = job_step(_job(), [_pod("Failed")], AT)
    assert step.create == 0 and step.requeue is not None and 4.9 < step.requeue < 5.2
    assert step.status["failed"] == 1


def test_step_success_then_complete_once_pods_are_gone() -> None:
    running = {"metadata": {"name": "j-x"}, "status": {"phase": "Running"}}
    step = job_step(_job(completions=1, parallelism=2), [_pod("Succeeded"), running], AT)
    kinds = {c["type"]: c for c in step.status["conditions"]}
    assert "SuccessCriteriaMet" in kinds and "Complete" not in kinds
    assert step.delete == [running]
    job = _job(completions=1)
    job["status"] = step.status
    done = job_step(job, [_pod("Succeeded")], AT)
    kinds = {c["type"]: c for c in done.status["conditions"]}
    assert kinds["Complete"]["reason"] == "CompletionsReached"
    assert done.status["completionTime"] == "2025-01-01T12:00:00Z"
    assert ("Normal", "Completed", "Job completed") in done.events
