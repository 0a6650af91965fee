"""ResourceQuota: creates over quota are refused with the real 403; status.used stays exact."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.apiserver.admission import quota
from preview.sandbox.machinery.quantity import parse
from tests.conftest import wait_for


def pod(name: str, cpu: str | None = None, limit: str | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if cpu:
        resources["requests"] = {"cpu": cpu}
    if limit:
        resources["limits"] = {"cpu": limit}
    return {"metadata": {"name": name}, "spec": {"schedulerName": "nobody", "containers": [
        {"name": "c", "image": "busybox:1", "resources": resources}]}}


def refusal(call: Any) -> str:
    with pytest.raises(client.ApiException) as err:
        call()
    assert err.value.status == 403
    message: str = json.loads(err.value.body)["message"]
    return message


def used(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, str]:
    status = core.read_namespaced_resource_quota(name, namespace).status
    return dict((status.used if status else None) or {})


@pytest.mark.sandbox
def test_pod_count_quota(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "q"},
                                                      "spec": {"hard": {"pods": "2"}}})
    core.create_namespaced_pod(namespace, pod("a"))
    core.create_namespaced_pod(namespace, pod("b"))
    assert refusal(lambda: core.create_namespaced_pod(namespace, pod("c"))) == (
        'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, '
        "limited: pods=2")
    wait_for(lambda: used(core, namespace, "q") == {"pods": "2"}, what="used pods=2")
    status = core.read_namespaced_resource_quota("q", namespace).status
    assert status.hard == {"pods": "2"}

    core.delete_namespaced_pod("a", namespace)
    wait_for(lambda: used(core, namespace, "q") == {"pods": "1"}, what="used pods=1")
    core.create_namespaced_pod(namespace, pod("c"))


@pytest.mark.sandbox
def test_compute_quota_needs_requests_and_counts_them(core: client.CoreV1Api,
                                                      namespace: str) -> None:
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "compute"}, "spec": {
        "hard": {"requests.cpu": "1", "limits.cpu": "2"}}})
    assert refusal(lambda: core.create_namespaced_pod(namespace, pod("bare"))) == (
        'pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: c; '
        "requests.cpu for: c")
    core.create_namespaced_pod(namespace, pod("p1", "600m", "1"))
    assert refusal(lambda: core.create_namespaced_pod(namespace, pod("p2", "500m", "1"))) == (
        'pods "p2" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, '
        "used: requests.cpu=600m, limited: requests.cpu=1")
    core.create_namespaced_pod(namespace, pod("p3", "400m", "1"))
    wait_for(lambda: used(core, namespace, "compute") == {"requests.cpu": "1",
                                                          "limits.cpu": "2"}, what="usage")


@pytest.mark.sandbox
def test_object_counts(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "objects"}, "spec": {
        "hard": {"configmaps": "1", "services.loadbalancers": "0", "services.nodeports": "1",
                 "count/deployments.apps": "0", "persistentvolumeclaims": "5",
                 "requests.storage": "1Gi"}}})
    # The root CA ConfigMap the controller publishes counts too.
    wait_for(lambda: used(core, namespace, "objects").get("configmaps") == "1",
             what="kube-root-ca.crt counted")
    assert "exceeded quota: objects, requested: configmaps=1, used: configmaps=1, " \
        "limited: configmaps=1" in refusal(lambda: core.create_namespaced_config_map(
            namespace, {"metadata": {"name": "cm"}}))
    assert "requested: services.loadbalancers=1" in refusal(
        lambda: core.create_namespaced_service(namespace, {"metadata": {"name": "lb"}, "spec": {
            "type": "LoadBalancer", "ports": [{"port": 80}]}}))
    core.create_namespaced_service(namespace, {"metadata": {"name": "np"}, "spec": {
        "type": "NodePort", "ports": [{"port": 80}]}})
    assert "requested: count/deployments.apps=1" in refusal(
        lambda: apps.create_namespaced_deployment(namespace, {
            "metadata": {"name": "d"}, "spec": {
                "selector": {"matchLabels": {"a": "b"}}, "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}}}))
    big = {"metadata": {"name": "big"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                 "storageClassName": "",
                                                 "resources": {"requests": {"storage": "2Gi"}}}}
    assert "requested: requests.storage=2Gi, used: requests.storage=0, " \
        "limited: requests.storage=1Gi" in refusal(
            lambda: core.create_namespaced_persistent_volume_claim(namespace, big))
    wait_for(lambda: used(core, namespace, "objects") == {
        "configmaps": "1", "services.loadbalancers": "0", "services.nodeports": "1",
        "count/deployments.apps": "0", "persistentvolumeclaims": "0",
        "requests.storage": "0"}, what="object usage")


@pytest.mark.sandbox
def test_concurrent_creates_never_overshoot(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "q"},
                                                      "spec": {"hard": {"secrets": "5"}}})

    def create(i: int) -> bool:
        try:
            core.create_namespaced_secret(namespace, {"metadata": {"name": f"s{i}"}})
            return True
        except client.ApiException as e:
            assert e.status == 403
            return False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(20)))
    assert sum(results) == 5
    assert len(core.list_namespaced_secret(namespace).items) == 5
    wait_for(lambda: used(core, namespace, "q") == {"secrets": "5"}, what="secrets=5")


def test_usage_of_pods_with_init_containers_and_terminal_pods() -> None:
    spec = {"containers": [{"resources": {"requests": {"memory": "256Mi"}}},
                           {"resources": {"requests": {"memory": "256Mi"}}}],
            "initContainers": [{"resources": {"requests": {"memory": "1Gi"}}}]}
    assert quota.pod_usage({"spec": spec})["requests.memory"] == parse("1Gi")
    assert quota.pod_usage({"spec": spec, "status": {"phase": "Succeeded"}}) == {}
    q = {"spec": {"hard": {"requests.memory": "2Gi", "pods": "10"}, "scopes": ["NotBestEffort"]}}
    best_effort = {"spec": {"containers": [{"name": "x"}]}}
    used_ = quota.usage(q, {("", "pods"): [{"spec": spec}, best_effort]})
    assert {k: str(v) for k, v in used_.items()} == {"requests.memory": "1Gi", "pods": "1"}
