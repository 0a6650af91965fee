"""Reading workload and pod status (pure): tables of status in, verdict out."""

from __future__ import annotations

from typing import Any

import pytest

from preview.deploy.status import (
    Persistence,
    Symptom,
    pod_symptoms,
    selector_string,
    workload_state,
)


def workload(kind: str, spec: dict[str, Any], status: dict[str, Any],
             generation: int = 1) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": "w", "generation": generation}, "spec": spec,
            "status": {"observedGeneration": 1, **status}}


@pytest.mark.parametrize(("obj", "ready", "text"), [
    (workload("Deployment", {"replicas": 2}, {"replicas": 2, "updatedReplicas": 2,
                                             "availableReplicas": 2}),
     True, "deployment/w 2/2 ready"),
    (workload("Deployment", {"replicas": 2}, {"replicas": 2, "updatedReplicas": 2,
                                             "availableReplicas": 1}),
     False, "deployment/w 1/2 ready"),
    # old replicas still up: the rollout is not over although 2 new ones are available
    (workload("Deployment", {"replicas": 2}, {"replicas": 3, "updatedReplicas": 2,
                                             "availableReplicas": 3}),
     False, "deployment/w 2/2 ready"),
    (workload("Deployment", {"replicas": 2}, {"replicas": 2, "updatedReplicas": 2,
                                             "availableReplicas": 2}, generation=2),
     False, "deployment/w waiting for the controller"),
    (workload("Deployment", {}, {"updatedReplicas": 1, "availableReplicas": 1}),
     True, "deployment/w 1/1 ready"),  # replicas defaults to 1
    (workload("StatefulSet", {"replicas": 1}, {"readyReplicas": 1, "updatedReplicas": 1,
                                              "currentRevision": "a", "updateRevision": "b"}),
     False, "statefulset/w 1/1 ready"),
    (workload("StatefulSet", {"replicas": 1}, {"readyReplicas": 1, "updatedReplicas": 1,
                                              "currentRevision": "b", "updateRevision": "b"}),
     True, "statefulset/w 1/1 ready"),
    (workload("DaemonSet", {}, {"desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
                                "numberAvailable": 2}), False, "daemonset/w 2/3 ready"),
    (workload("DaemonSet", {}, {"desiredNumberScheduled": 0}), True, "daemonset/w 0/0 ready"),
    (workload("Job", {}, {"active": 1}), False, "job/w 0/1 complete"),
    (workload("Job", {"completions": 2}, {"succeeded": 2, "conditions": [
        {"type": "Complete", "status": "True"}]}), True, "job/w complete"),
])
def test_workload_state(obj: dict[str, Any], ready: bool, text: str) -> None:
    state = workload_state(obj)
    assert (state.ready, state.text, state.failed) == (ready, text, "")


def test_failures_that_waiting_will_not_fix() -> None:
    job = workload("Job", {}, {"failed": 2, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
         "message": "Job has reached the specified backoff limit"}]})
    assert workload_state(job).failed == \
        "job/w failed: Job has reached the specified backoff limit"
    dep = workload("Deployment", {"replicas": 1}, {"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": 'ReplicaSet "w-1" has timed out progressing.'}]})
    assert workload_state(dep).failed == 'deployment/w: ReplicaSet "w-1" has timed out progressing.'


def pod(containers: list[dict[str, Any]], *, phase: str = "Running",
        conditions: list[dict[str, Any]] | None = None, restart_policy: str = "Always",
        init: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", **meta}, "spec": {"restartPolicy": restart_policy},
            "status": {"phase": phase, "conditions": conditions or [],
                       "containerStatuses": containers, "initContainerStatuses": init or []}}


def waiting(reason: str, restarts: int = 0, name: str = "c") -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason, "message": f"{reason} message"}}}


def one(p: dict[str, Any]) -> tuple[str, str, str, bool, str]:
    [s] = pod_symptoms(p)
    return (s.container, s.reason, s.message, s.previous, s.fatal)


def test_pod_symptoms() -> None:
    assert one(pod([waiting("ImagePullBackOff")], phase="Pending")) == (
        "c", "ImagePullBackOff", "ImagePullBackOff message", False, "image")
    assert one(pod([waiting("ErrImagePull")]))[4] == "image"
    assert one(pod([waiting("CrashLoopBackOff", restarts=2)]))[3:] == (True, "")
    assert one(pod([waiting("CrashLoopBackOff", restarts=3)]))[3:] == (True, "crash")
    assert one(pod([waiting("CreateContainerConfigError")]))[4] == "config"
    # between two crashes the container shows as terminated: still the same crash loop
    between = {"name": "c", "ready": False, "restartCount": 4,
               "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    assert one(pod([between])) == ("c", "Error", "exit code 1", False, "crash")
    assert one(pod([between], restart_policy="Never")) == ("c", "Error", "exit code 1", False,
                                                           "")
    running = {"name": "c", "ready": False, "restartCount": 5, "state": {"running": {}}}
    assert one(pod([running]))[1:] == ("NotReady", "running, but not ready (readiness probe)",
                                       False, "")
    unschedulable = pod([], phase="Pending", conditions=[{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity."}])
    assert one(unschedulable) == ("", "Unschedulable", "0/3 nodes are available: 3 node(s) "
                                  "didn't match Pod's node affinity.", False, "unschedulable")
    assert one(pod([], init=[waiting("ImagePullBackOff", name="init")]))[0] == "init"
    evicted = pod([], phase="Failed")
    evicted["status"].update(reason="Evicted", message="low on memory")
    assert one(evicted) == ("", "Evicted", "low on memory", False, "")


def test_healthy_leaving_and_finished_pods_have_no_symptoms() -> None:
    healthy = {"name": "c", "ready": True, "restartCount": 0, "state": {"running": {}}}
    assert pod_symptoms(pod([healthy])) == []
    assert pod_symptoms(pod([waiting("ImagePullBackOff")],
                            deletionTimestamp="2026-01-01T00:00:00Z")) == []
    assert pod_symptoms(pod([], phase="Succeeded")) == []


def test_persistence_counts_uninterrupted_time_per_problem() -> None:
    pull = Symptom("p", "c", "ErrImagePull", "")
    backoff = Symptom("p", "c", "ImagePullBackOff", "")
    not_ready = Symptom("q", "c", "NotReady", "")
    seen = Persistence(20)
    assert seen.observe([pull, not_ready], 0) == []
    assert seen.observe([backoff], 15) == []  # the same problem under its other name
    assert seen.observe([backoff], 20) == [backoff]
    assert seen.observe([], 21) == []
    assert seen.observe([pull], 22) == []  # it went away: the clock starts again
    assert seen.observe([pull], 41) == []
    assert seen.observe([pull], 42) == [pull]
    assert Persistence(0).observe([not_ready], 0) == []  # never fatal


def test_selector_string() -> None:
    assert selector_string(None) == ""
    assert selector_string({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    assert selector_string({"matchExpressions": [
        {"key": "t", "operator": "In", "values": ["x", "y"]},
        {"key": "u", "operator": "NotIn", "values": ["z"]},
        {"key": "v", "operator": "Exists"}, {"key": "w", "operator": "DoesNotExist"}]}) == \
        "t in (x,y),u notin (z),v,!w"
