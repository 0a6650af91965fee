"""The host sandbox's scheduler: binding, Unschedulable pods, retries on cluster changes."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config

from preview.sandbox.runner import Sandbox, ServerConfig
from preview.tools import find_tool
from tests.conftest import raw_request, wait_for

pytestmark = pytest.mark.sandbox
W1, W2, W3 = "sandbox-worker-1", "sandbox-worker-2", "sandbox-worker-3"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    """A sandbox of its own: these tests taint, label and cordon its nodes."""
    with Sandbox(ServerConfig(nodes=3)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def v1(sb: Sandbox) -> Iterator[client.CoreV1Api]:
    with config.new_client_from_config(sb.kubeconfig) as c:
        api = client.CoreV1Api(c)
        wait_for(lambda: len(api.list_node().items) == 3, what="3 nodes")
        yield api


@pytest.fixture
def ns(v1: client.CoreV1Api) -> str:
    name = f"s-{uuid.uuid4().hex[:8]}"
    v1.create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def kctl(sb: Sandbox) -> Callable[..., str]:
    def run(*args: str) -> str:
        result = subprocess.run([str(find_tool("kubectl")), "--kubeconfig", sb.kubeconfig, *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout
    return run


def make_pod(v1: client.CoreV1Api, ns: str, name: str, cpu: str | None = None,
             **spec: Any) -> None:
    resources = {"requests": {"cpu": cpu}} if cpu else {}
    v1.create_namespaced_pod(ns, {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "nginx:1.27", "resources": resources}], **spec}})


def scheduled(v1: client.CoreV1Api, ns: str, name: str) -> Any:
    pod = v1.read_namespaced_pod(name, ns)
    return pod if pod.spec.node_name else None


def unschedulable(v1: client.CoreV1Api, ns: str, name: str) -> str:
    """The PodScheduled=False message once the scheduler gave up on the pod, else ''."""
    pod = v1.read_namespaced_pod(name, ns)
    for c in pod.status.conditions or []:
        if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable":
            return str(c.message)
    return ""


def events(v1: client.CoreV1Api, ns: str, name: str) -> list[Any]:
    return list(v1.list_namespaced_event(
        ns, field_selector=f"involvedObject.name={name}").items)


def test_a_pod_is_bound_and_the_scheduled_event_recorded(v1: client.CoreV1Api, ns: str) -> None:
    make_pod(v1, ns, "web")
    pod = wait_for(lambda: scheduled(v1, ns, "web"), what="binding")
    assert pod.spec.node_name in (W1, W2, W3)
    cond = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert cond.status == "True"
    event = wait_for(lambda: [e for e in events(v1, ns, "web") if e.reason == "Scheduled"],
                     what="Scheduled event")[0]
    assert event.message == f"Successfully assigned {ns}/web to {pod.spec.node_name}"
    assert event.source.component == "default-scheduler" and event.type == "Normal"


def test_pods_spread_evenly_over_the_nodes(sb: Sandbox, v1: client.CoreV1Api, ns: str) -> None:
    for i in range(60):
        make_pod(v1, ns, f"p{i}")

    def placement() -> Counter[str] | None:
        pods = v1.list_namespaced_pod(ns).items
        if len(pods) < 60 or any(not p.spec.node_name for p in pods):
            return None
        return Counter(p.spec.node_name for p in pods)

    assert wait_for(placement, timeout=20, what="60 bound pods") == {W1: 20, W2: 20, W3: 20}


def test_nothing_fits_pod_scheduled_false_and_failed_scheduling(v1: client.CoreV1Api,
                                                                 ns: str) -> None:
    make_pod(v1, ns, "huge", cpu="64")
    message = wait_for(lambda: unschedulable(v1, ns, "huge"), what="Unschedulable")
    assert message == (
        "0/3 nodes are available: 3 Insufficient cpu. no new claims to deallocate, "
        "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")
    failed = wait_for(lambda: [e for e in events(v1, ns, "huge")
                               if e.reason == "FailedScheduling"], what="FailedScheduling")[0]
    assert failed.type == "Warning" and failed.message == message
    assert failed.source.component == "default-scheduler"
    assert v1.read_namespaced_pod("huge", ns).status.phase == "Pending"


def test_a_label_on_a_node_lets_a_waiting_pod_schedule(v1: client.CoreV1Api, ns: str,
                                                        kctl: Callable[..., str]) -> None:
    key = f"t{uuid.uuid4().hex[:6]}"
    make_pod(v1, ns, "picky", nodeSelector={key: "yes"})
    message = wait_for(lambda: unschedulable(v1, ns, "picky"), what="Unschedulable")
    assert "3 node(s) didn't match Pod's node affinity/selector" in message
    kctl("label", "node", W2, f"{key}=yes")
    try:
        pod = wait_for(lambda: scheduled(v1, ns, "picky"), timeout=15, what="retry")
        assert pod.spec.node_name == W2
        assert next(c for c in pod.status.conditions if c.type == "PodScheduled").status == "True"
    finally:
        kctl("label", "node", W2, f"{key}-")


def test_taints_and_tolerations(v1: client.CoreV1Api, ns: str,
                                kctl: Callable[..., str]) -> None:
    kctl("taint", "node", W1, "dedicated=infra:NoSchedule")
    try:
        pin = {"kubernetes.io/hostname": W1}
        make_pod(v1, ns, "plain", nodeSelector=pin)
        message = wait_for(lambda: unschedulable(v1, ns, "plain"), what="Unschedulable")
        assert message.startswith("0/3 nodes are available: 1 node(s) had untolerated "
                                  "taint(s), 2 node(s) didn't match Pod's node "
                                  "affinity/selector. ")
        assert message.endswith("3 Preemption is not helpful for scheduling.")
        make_pod(v1, ns, "tolerant", nodeSelector=pin, tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "infra",
             "effect": "NoSchedule"}])
        assert wait_for(lambda: scheduled(v1, ns, "tolerant"), what="binding").spec.node_name \
            == W1
    finally:
        kctl("taint", "node", W1, "dedicated-")
    assert wait_for(lambda: scheduled(v1, ns, "plain"), timeout=15,
                    what="retry after untaint").spec.node_name == W1


def test_cordon_keeps_new_pods_away_until_uncordon(v1: client.CoreV1Api, ns: str,
                                                   kctl: Callable[..., str]) -> None:
    kctl("cordon", W3)
    try:
        make_pod(v1, ns, "pinned", affinity={"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In",
                                  "values": [W3]}]}]}}})
        message = wait_for(lambda: unschedulable(v1, ns, "pinned"), what="Unschedulable")
        assert "1 node(s) were unschedulable, 2 node(s) didn't match Pod's node " \
               "affinity/selector." in message
    finally:
        kctl("uncordon", W3)
    assert wait_for(lambda: scheduled(v1, ns, "pinned"), timeout=15,
                    what="retry after uncordon").spec.node_name == W3


def test_freed_resources_let_a_waiting_pod_in(v1: client.CoreV1Api, ns: str) -> None:
    pin = {"kubernetes.io/hostname": W2}
    make_pod(v1, ns, "first", cpu="3", nodeSelector=pin)
    wait_for(lambda: scheduled(v1, ns, "first"), what="first bound")
    make_pod(v1, ns, "second", cpu="2", nodeSelector=pin)
    message = wait_for(lambda: unschedulable(v1, ns, "second"), what="Unschedulable")
    assert "1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector." in message
    v1.delete_namespaced_pod("first", ns, grace_period_seconds=0)
    assert wait_for(lambda: scheduled(v1, ns, "second"), timeout=15,
                    what="retry after delete").spec.node_name == W2


def test_pods_of_other_schedulers_and_preassigned_pods_are_left_alone(
        v1: client.CoreV1Api, ns: str) -> None:
    make_pod(v1, ns, "mine", nodeName=W3)
    make_pod(v1, ns, "theirs", schedulerName="other-scheduler")
    make_pod(v1, ns, "marker")  # the scheduler has caught up once this one is bound
    wait_for(lambda: scheduled(v1, ns, "marker"), what="marker bound")
    theirs = v1.read_namespaced_pod("theirs", ns)
    assert theirs.spec.node_name is None and not theirs.status.conditions
    assert v1.read_namespaced_pod("mine", ns).spec.node_name == W3
    assert not [e for e in events(v1, ns, "mine") if e.reason == "Scheduled"]


# -- the pods/binding subresource the scheduler uses ----------------------------------------
def binding(name: str, node: str, **meta: Any) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "Binding",
                       "metadata": {"name": name, **meta},
                       "target": {"apiVersion": "v1", "kind": "Node", "name": node}}).encode()


def test_binding_sets_node_name_once(sb: Sandbox, v1: client.CoreV1Api, ns: str) -> None:
    make_pod(v1, ns, "manual", schedulerName="manual")
    path = f"/api/v1/namespaces/{ns}/pods/manual/binding"
    status, body = raw_request(sb, "POST", path, binding("other", W1))
    assert status == 400
    assert body["message"] == "name in URL does not match name in Binding object"
    status, body = raw_request(sb, "POST", path, binding("manual", W1, uid="not-the-uid"))
    assert status == 409 and "Precondition failed: UID in precondition" in body["message"]
    status, body = raw_request(sb, "POST", path,
                               binding("manual", W1, annotations={"bound-by": "test"}))
    assert (status, body["status"]) == (201, "Success")
    pod = v1.read_namespaced_pod("manual", ns)
    assert pod.spec.node_name == W1 and pod.metadata.annotations["bound-by"] == "test"
    assert next(c for c in pod.status.conditions if c.type == "PodScheduled").status == "True"
    status, body = raw_request(sb, "POST", path, binding("manual", W2))
    assert status == 409
    assert body["message"] == ('Operation cannot be fulfilled on pods/binding "manual": '
                               f'pod manual is already assigned to node "{W1}"')
    assert body["details"]["kind"] == "pods/binding"


def test_the_python_client_binds(v1: client.CoreV1Api, ns: str) -> None:
    make_pod(v1, ns, "manual", schedulerName="manual")
    body = client.V1Binding(metadata=client.V1ObjectMeta(name="manual"),
                            target=client.V1ObjectReference(kind="Node", name=W3))
    v1.create_namespaced_pod_binding("manual", ns, body, _preload_content=False)
    assert v1.read_namespaced_pod("manual", ns).spec.node_name == W3


def test_a_pod_waits_for_its_claim(v1: client.CoreV1Api, ns: str) -> None:
    make_pod(v1, ns, "db", volumes=[{"name": "data",
                                     "persistentVolumeClaim": {"claimName": "data"}}])
    message = wait_for(lambda: unschedulable(v1, ns, "db"), what="Unschedulable")
    assert message == '0/3 nodes are available: persistentvolumeclaim "data" not found. ' \
                      'not found'
    v1.create_namespaced_persistent_volume_claim(ns, {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    assert wait_for(lambda: scheduled(v1, ns, "db"), timeout=15, what="binding after the claim")
    assert v1.read_namespaced_persistent_volume_claim("data", ns).spec.volume_name
