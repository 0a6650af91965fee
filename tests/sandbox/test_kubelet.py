"""The host sandbox's kubelet over HTTP: pod lifecycle, failure injection, deletion, logs."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, wait_for

pytestmark = pytest.mark.sandbox


def make_pod(core: client.CoreV1Api, namespace: str, name: str = "web",
             **container: Any) -> dict[str, Any]:
    policy = container.pop("restart_policy", "Always")
    extra = container.pop("spec", {})
    container = {k: v for k, v in container.items() if v is not None}
    body = {"metadata": {"name": name, "labels": {"app": name}},
            "spec": {"restartPolicy": policy, "terminationGracePeriodSeconds": 30,
                     "containers": [{"name": "app", "image": "nginx:1.25", **container}],
                     **extra}}
    return core.create_namespaced_pod(namespace, body).to_dict()


def get(core: client.CoreV1Api, namespace: str, name: str = "web") -> Any:
    return core.read_namespaced_pod(name, namespace)


def condition(pod: Any, kind: str) -> Any:
    return next((c for c in pod.status.conditions or [] if c.type == kind), None)


def is_ready(pod: Any) -> bool:
    c = condition(pod, "Ready")
    return c is not None and c.status == "True"


def events(core: client.CoreV1Api, namespace: str, name: str = "web") -> list[Any]:
    return [e for e in core.list_namespaced_event(namespace).items
            if e.involved_object.name == name]


def test_a_pod_runs_on_its_node_with_an_ip_from_the_pod_cidr(
        core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace, ports=[{"containerPort": 80}])
    pod = wait_for(lambda: (p := get(core, namespace)) and is_ready(p) and p, 10,
                   what="pod Ready")
    assert pod.status.phase == "Running"
    node = core.read_node(pod.spec.node_name)
    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(node.spec.pod_cidr)
    internal = next(a.address for a in node.status.addresses if a.type == "InternalIP")
    assert pod.status.host_ip == internal
    assert pod.status.start_time is not None
    assert pod.status.qos_class == "BestEffort"
    cs = pod.status.container_statuses[0]
    assert (cs.ready, cs.started, cs.restart_count) == (True, True, 0)
    assert cs.container_id.startswith("containerd://")
    assert cs.image == "docker.io/library/nginx:1.25"
    assert cs.state.running.started_at is not None
    types = [c.type for c in pod.status.conditions]
    assert types[:4] == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"]
    assert "PodScheduled" in types
    seen = wait_for(lambda: {e.reason for e in events(core, namespace)} >= {
        "Pulled", "Created", "Started"} and events(core, namespace), 5, what="kubelet events")
    started = next(e for e in seen if e.reason == "Started")
    assert (started.source.component, started.source.host) == ("kubelet", pod.spec.node_name)
    assert started.message == "Started container app"


def test_readiness_probe_initial_delay_is_honoured(core: client.CoreV1Api,
                                                   namespace: str) -> None:
    make_pod(core, namespace, **{
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 1}})
    running = wait_for(lambda: (p := get(core, namespace)) and p.status.phase == "Running" and p,
                       5, what="Running")
    if not is_ready(running):  # a slow machine may already be past the delay
        assert condition(running, "Ready").reason == "ContainersNotReady"
    ready = wait_for(lambda: (p := get(core, namespace)) and is_ready(p) and p, 5, what="Ready")
    started = ready.status.container_statuses[0].state.running.started_at
    became = condition(ready, "Ready").last_transition_time
    assert (became - started).total_seconds() >= 0  # second precision on both stamps


def test_a_missing_image_ends_in_image_pull_back_off(core: client.CoreV1Api,
                                                     namespace: str) -> None:
    make_pod(core, namespace, image="registry.example/does-not-exist:1")

    def waiting() -> Any:
        cs = get(core, namespace).status.container_statuses
        state = cs[0].state.waiting if cs else None
        return state if state is not None and state.reason == "ImagePullBackOff" else None

    state = wait_for(waiting, 10, what="ImagePullBackOff")
    assert state.message == 'Back-off pulling image "registry.example/does-not-exist:1"'
    pod = get(core, namespace)
    assert pod.status.phase == "Pending" and not is_ready(pod)
    reasons = {(e.type, e.reason, e.message) for e in events(core, namespace)}
    assert ("Warning", "Failed", "Error: ErrImagePull") in reasons
    assert ("Normal", "BackOff",
            'Back-off pulling image "registry.example/does-not-exist:1"') in reasons


def test_exit_1_crash_loops(core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace, image="busybox:1.36", command=["sh", "-c", "exit 1"])

    def looping() -> Any:
        cs = get(core, namespace).status.container_statuses
        return cs and cs[0].restart_count >= 2 and cs[0]
    cs = wait_for(looping, 10, what="restarts")
    assert cs.last_state.terminated.exit_code == 1
    assert cs.last_state.terminated.reason == "Error"
    wait_for(lambda: any(e.reason == "BackOff" and e.type == "Warning"
                         for e in events(core, namespace)), 10, what="BackOff event")
    seen = wait_for(lambda: (s := get(core, namespace).status.container_statuses[0].state)
                    .waiting and s.waiting.reason == "CrashLoopBackOff" and s, 10,
                    what="CrashLoopBackOff")
    assert "restarting failed container=app" in seen.waiting.message


@pytest.mark.parametrize(("command", "phase", "code"), [
    (None, "Succeeded", 0), (["sh", "-c", "exit 3"], "Failed", 3)])
def test_never_restarting_pods_finish(core: client.CoreV1Api, namespace: str,
                                      command: list[str] | None, phase: str, code: int) -> None:
    make_pod(core, namespace, image="busybox:1.36", command=command, restart_policy="Never")
    pod = wait_for(lambda: (p := get(core, namespace)) and p.status.phase == phase and p, 10,
                   what=phase)
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated.exit_code == code
    assert condition(pod, "Ready").reason == "PodCompleted"


def test_sleep_runs_for_that_long(core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace, image="busybox:1.36", command=["sleep", "1"],
             restart_policy="OnFailure")
    wait_for(lambda: get(core, namespace).status.phase == "Running", 5, what="Running")
    pod = wait_for(lambda: (p := get(core, namespace)) and p.status.phase == "Succeeded" and p,
                   5, what="Succeeded")
    t = pod.status.container_statuses[0].state.terminated
    assert (t.finished_at - t.started_at).total_seconds() >= 1


def test_init_containers_complete_before_the_app_starts(core: client.CoreV1Api,
                                                        namespace: str) -> None:
    make_pod(core, namespace, spec={"initContainers": [
        {"name": "migrate", "image": "busybox:1.36", "command": ["sh", "-c", "true"]}]})
    pod = wait_for(lambda: (p := get(core, namespace)) and is_ready(p) and p, 10,
                   what="Ready")
    init = pod.status.init_container_statuses[0]
    assert init.state.terminated.reason == "Completed"
    assert init.state.terminated.finished_at <= \
        pod.status.container_statuses[0].state.running.started_at
    assert condition(pod, "Initialized").status == "True"


def test_deleting_a_pod_kills_its_containers_then_removes_it(
        core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace)
    wait_for(lambda: is_ready(get(core, namespace)), 10, what="Ready")
    core.delete_namespaced_pod("web", namespace)

    def gone() -> bool:
        try:
            get(core, namespace)
        except ApiException as e:
            return e.status == 404
        return False
    wait_for(gone, 5, what="pod removed")
    wait_for(lambda: any(e.reason == "Killing" and e.message == "Stopping container app"
                         for e in events(core, namespace)), 5, what="Killing event")


def test_namespace_deletion_completes_with_running_pods(core: client.CoreV1Api) -> None:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name}})
    make_pod(core, name)
    wait_for(lambda: is_ready(get(core, name)), 10, what="Ready")
    core.delete_namespace(name)

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as e:
            return e.status == 404
        return False
    wait_for(gone, 20, what="namespace removed")


def test_pods_on_unknown_nodes_are_left_alone(core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace, spec={"nodeName": "not-a-node-of-ours"})
    ok = make_pod(core, namespace, name="probe")
    wait_for(lambda: is_ready(get(core, namespace, "probe")), 10, what="other pod Ready")
    pod = get(core, namespace)
    assert pod.status.phase == "Pending" and not pod.status.container_statuses
    assert ok["metadata"]["name"] == "probe"


def test_kubectl_logs(core: client.CoreV1Api, namespace: str, kubectl: KubectlRunner) -> None:
    make_pod(core, namespace, image="busybox:1.36", command=["sh", "-c", "exit 7"])
    wait_for(lambda: (cs := get(core, namespace).status.container_statuses)
             and cs[0].restart_count >= 1, 10, what="a restart")
    out = kubectl("logs", "-n", namespace, "web", "--previous").stdout
    assert "container app started from image busybox:1.36" in out
    assert out.rstrip().endswith("process exited with code 7")
    tail = kubectl("logs", "-n", namespace, "pod/web", "--tail=1", "--timestamps").stdout
    assert len(tail.splitlines()) == 1 and tail.split(" ", 1)[0].endswith("Z")


def test_log_errors_are_the_real_ones(core: client.CoreV1Api, namespace: str,
                                      kubectl: KubectlRunner) -> None:
    make_pod(core, namespace, image="does-not-exist")
    wait_for(lambda: get(core, namespace).status.container_statuses, 5, what="status")
    result = kubectl("logs", "-n", namespace, "web", check=False)
    assert result.returncode != 0
    assert 'container "app" in pod "web" is waiting to start' in result.stderr
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log("web", namespace, container="nope")
    assert e.value.status == 400


def test_follow_streams_new_lines_until_the_container_exits(
        sandbox: Sandbox, core: client.CoreV1Api, namespace: str) -> None:
    make_pod(core, namespace, image="busybox:1.36", command=["sh", "-c", "sleep 1; exit 0"],
             restart_policy="Never")
    wait_for(lambda: get(core, namespace).status.phase == "Running", 5, what="Running")
    resp = core.read_namespaced_pod_log("web", namespace, follow=True, _preload_content=False)
    text = resp.read().decode()
    assert text.rstrip().endswith("[sandbox] process completed")
