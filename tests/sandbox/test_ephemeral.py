"""`pods/ephemeralcontainers` (apiserver/registry/ephemeral.py): the only way to add a
container to a pod, never to change or remove one; over HTTP, with the official client
and `kubectl debug`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.conftest import KubectlRunner

pytestmark = pytest.mark.sandbox
DEBUGGER = {"name": "debugger", "image": "busybox", "stdin": True}


def _pod(core: client.CoreV1Api, namespace: str, **spec: Any) -> None:
    core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "app", "image": "nginx"}], **spec}})


def _refusal(call: Any) -> str:
    with pytest.raises(ApiException) as e:
        call()
    assert e.value.status == 422
    return str(json.loads(e.value.body)["message"])


def _ephemeral(core: client.CoreV1Api, namespace: str) -> list[str]:
    pod = core.read_namespaced_pod("p", namespace)
    return [c.name for c in pod.spec.ephemeral_containers or []]


def test_added_through_the_subresource_only(core: client.CoreV1Api, namespace: str) -> None:
    assert "spec.ephemeralContainers: Forbidden: cannot be set on create" in _refusal(
        lambda: _pod(core, namespace, ephemeralContainers=[DEBUGGER]))
    _pod(core, namespace)
    assert "pod updates may not change fields" in _refusal(
        lambda: core.patch_namespaced_pod("p", namespace, {"spec": {
            "ephemeralContainers": [DEBUGGER]}}))
    added = core.patch_namespaced_pod_ephemeralcontainers(
        "p", namespace, {"spec": {"ephemeralContainers": [DEBUGGER],
                                  "containers": [{"name": "app", "image": "other"}]}})
    assert [c.name for c in added.spec.ephemeral_containers] == ["debugger"]
    assert added.spec.containers[0].image == "nginx"  # nothing else of the write is taken


def test_never_changed_or_removed(core: client.CoreV1Api, namespace: str) -> None:
    _pod(core, namespace)
    core.patch_namespaced_pod_ephemeralcontainers(
        "p", namespace, {"spec": {"ephemeralContainers": [DEBUGGER]}})

    def replace(change: Any) -> None:
        # The kubelet writes the pod's status meanwhile: a 409 is read again and retried.
        while True:
            pod = core.read_namespaced_pod_ephemeralcontainers("p", namespace)
            change(pod.spec)
            try:
                core.replace_namespaced_pod_ephemeralcontainers("p", namespace, pod)
                return
            except ApiException as e:
                if e.status != 409:
                    raise

    assert 'existing ephemeral containers "debugger" may not be removed' in _refusal(
        lambda: replace(lambda spec: setattr(spec, "ephemeral_containers", [])))
    assert 'existing ephemeral containers "debugger" may not be changed' in _refusal(
        lambda: replace(lambda spec: setattr(spec.ephemeral_containers[0], "image", "alpine")))
    assert _ephemeral(core, namespace) == ["debugger"]


@pytest.mark.parametrize(("container", "message"), [
    ({"name": "app", "image": "busybox"},
     'spec.ephemeralContainers[0].name: Duplicate value: "app"'),
    ({**DEBUGGER, "ports": [{"containerPort": 80}]},
     "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container"),
    ({**DEBUGGER, "resources": {"limits": {"cpu": "1"}}},
     "spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral "
     "Container"),
])
def test_what_an_ephemeral_container_cannot_be(core: client.CoreV1Api, namespace: str,
                                              container: dict[str, Any], message: str) -> None:
    _pod(core, namespace)
    assert message in _refusal(lambda: core.patch_namespaced_pod_ephemeralcontainers(
        "p", namespace, {"spec": {"ephemeralContainers": [container]}}))


def test_kubectl_debug(core: client.CoreV1Api, namespace: str, kubectl: KubectlRunner) -> None:
    _pod(core, namespace)
    kubectl("debug", "p", "-n", namespace, "--image=busybox", "--container=dbg",
            "--profile=baseline", "--", "true")
    assert _ephemeral(core, namespace) == ["dbg"]
