"""Pod termination as a real kubelet reports it: final status first, then the object goes."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
from kubernetes import client, watch

from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for
from tests.sandbox.test_kubelet import get, is_ready, make_pod

pytestmark = pytest.mark.sandbox


def _watch_until_deleted(core: client.CoreV1Api, namespace: str, rv: str) -> list[Any]:
    events: list[Any] = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, namespace, resource_version=rv,
                          field_selector="metadata.name=web", timeout_seconds=20):
        events.append(event)
        if event["type"] == "DELETED":
            w.stop()
    return events


def test_deleted_pod_reports_terminated_containers_and_not_ready_before_it_goes(
        core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace)
    pod = wait_for(lambda: (p := get(core, namespace)) and is_ready(p) and p, 10, what="Ready")
    core.delete_namespaced_pod("web", namespace, grace_period_seconds=30)
    events = _watch_until_deleted(core, namespace, pod.metadata.resource_version)
    assert events[-1]["type"] == "DELETED"
    final = events[-2]["object"]
    assert final.metadata.deletion_timestamp is not None
    conditions = {c.type: c for c in final.status.conditions}
    assert conditions["Ready"].status == "False"
    assert conditions["Ready"].reason == "PodCompleted"
    assert conditions["ContainersReady"].status == "False"
    state = final.status.container_statuses[0].state
    assert state.terminated is not None and state.running is None
    assert final.status.container_statuses[0].ready is False
    # podIsTerminal: a deleted pod ends in a terminal phase whatever its restartPolicy.
    assert final.status.phase == "Succeeded"
    assert state.terminated.reason == "Completed" and state.terminated.exit_code == 0


def test_pre_stop_hooks_run_before_the_containers_are_stopped(
        core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace, lifecycle={"preStop": {"exec": {"command": ["sleep", "1"]}}})
    pod = wait_for(lambda: (p := get(core, namespace)) and is_ready(p) and p, 10, what="Ready")
    started = time.monotonic()
    core.delete_namespaced_pod("web", namespace)
    events = _watch_until_deleted(core, namespace, pod.metadata.resource_version)
    assert time.monotonic() - started >= 0.9
    terminating = [e["object"] for e in events if e["object"].metadata.deletion_timestamp]
    assert is_ready(terminating[0]), "still serving while the preStop hook runs"


def test_never_started_containers_of_a_deleted_pod_end_as_status_unknown(
        core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace, image="does-not-exist:1")
    pod = wait_for(lambda: (p := get(core, namespace)).status.container_statuses and
                   p.status.container_statuses[0].state.waiting and p, 10, what="waiting")
    core.delete_namespaced_pod("web", namespace)
    events = _watch_until_deleted(core, namespace, pod.metadata.resource_version)
    final = events[-2]["object"]
    terminated = final.status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("ContainerStatusUnknown", 137)
    assert final.status.phase == "Failed"


def test_kubectl_wait_for_ready_false_returns_when_a_pod_is_deleted(
        sandbox: Sandbox, core: client.CoreV1Api, namespace: str, kubectl_path: str) -> None:
    # A preStop hook keeps the pod terminating for a second, as real pods take a while:
    # `kubectl wait` checks the object still exists once its informer has synced.
    make_pod(core, namespace, lifecycle={"preStop": {"sleep": {"seconds": 1}}})
    wait_for(lambda: is_ready(get(core, namespace)), 10, what="Ready")
    # -v=6 logs each request once answered: the watch line says kubectl is following the pod.
    waiter = subprocess.Popen(
        [kubectl_path, "--kubeconfig", sandbox.kubeconfig, "wait", "-n", namespace, "pod/web",
         "--for=condition=Ready=false", "--timeout=20s", "-v=6"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert waiter.stderr is not None
        for line in waiter.stderr:
            if "watch=true" in line and "200 OK" in line:
                break
        core.delete_namespaced_pod("web", namespace)
        out, err = waiter.communicate(timeout=25)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert out.strip() == "pod/web condition met"
