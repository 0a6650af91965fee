"""LimitRange: containers get default resources; min/max/ratio refused with the real 403."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.apiserver.admission.limitranger import pod_violations
from preview.sandbox.apiserver.registry.defaults import limit_range_item


def pod(name: str, resources: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"schedulerName": "nobody", "containers": [
        {"name": "app", "image": "busybox:1", "resources": resources or {}}]}}


def refusal(call: Any) -> str:
    with pytest.raises(client.ApiException) as err:
        call()
    assert err.value.status == 403
    message: str = json.loads(err.value.body)["message"]
    return message


@pytest.mark.sandbox
def test_defaults_and_limits(core: client.CoreV1Api, namespace: str) -> None:
    lr = core.create_namespaced_limit_range(namespace, {"metadata": {"name": "lr"}, "spec": {
        "limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"},
                    "default": {"memory": "256Mi"}, "defaultRequest": {"cpu": "100m"}}]}})
    item = lr.spec.limits[0]
    # API defaulting: a default limit from max, a default request from default or min.
    assert item.default == {"cpu": "1", "memory": "256Mi"}
    assert item.default_request == {"cpu": "100m", "memory": "256Mi"}

    created = core.create_namespaced_pod(namespace, pod("defaulted"))
    res = created.spec.containers[0].resources
    assert res.limits == {"cpu": "1", "memory": "256Mi"}
    assert res.requests == {"cpu": "100m", "memory": "256Mi"}
    assert created.metadata.annotations["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; "
        "cpu, memory limit for container app")
    assert created.status.qos_class == "Burstable"

    assert refusal(lambda: core.create_namespaced_pod(namespace, pod("greedy", {
        "limits": {"cpu": "2"}}))) == \
        'pods "greedy" is forbidden: maximum cpu usage per Container is 1, but limit is 2'
    assert refusal(lambda: core.create_namespaced_pod(namespace, pod("tiny", {
        "requests": {"memory": "32Mi"}, "limits": {"cpu": "2"}}))) == (
        'pods "tiny" is forbidden: [minimum memory usage per Container is 64Mi, but request is '
        "32Mi, maximum cpu usage per Container is 1, but limit is 2]")


@pytest.mark.sandbox
def test_ratio_and_claims(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_limit_range(namespace, {"metadata": {"name": "lr"}, "spec": {
        "limits": [{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
                   {"type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}}]}})
    assert refusal(lambda: core.create_namespaced_pod(namespace, pod("spiky", {
        "requests": {"cpu": "100m"}, "limits": {"cpu": "500m"}}))) == (
        'pods "spiky" is forbidden: cpu max limit to request ratio per Container is 2, but '
        "provided ratio is 5.000000")
    core.create_namespaced_pod(namespace, pod("steady", {"requests": {"cpu": "250m"},
                                                          "limits": {"cpu": "500m"}}))
    assert refusal(lambda: core.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": "huge"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                               "resources": {"requests": {"storage": "5Gi"}}}})
    ) == ('persistentvolumeclaims "huge" is forbidden: maximum storage usage per '
          "PersistentVolumeClaim is 1Gi, but request is 5Gi")


def test_pod_item_sums_containers() -> None:
    item = limit_range_item({"type": "Pod", "max": {"memory": "1Gi"}})
    spec = {"spec": {"containers": [
        {"resources": {"requests": {"memory": "512Mi"}, "limits": {"memory": "768Mi"}}},
        {"resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "512Mi"}}}]}}
    assert pod_violations(spec, [item]) == [
        "maximum memory usage per Pod is 1Gi, but limit is 1280Mi"]
