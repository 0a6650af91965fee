"""Create, read, update and delete through the official client, as on a real API server."""

from __future__ import annotations

import json
import threading

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.sandbox


def status_of(e: ApiException) -> dict:
    return json.loads(e.body)


def test_create_fills_server_metadata(core: client.CoreV1Api, namespace: str) -> None:
    cm = core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"},
                                                       "data": {"k": "v"}})
    assert cm.metadata.uid and cm.metadata.creation_timestamp
    first = int(cm.metadata.resource_version)
    cm2 = core.create_namespaced_config_map(namespace, {"metadata": {"name": "b"}})
    assert int(cm2.metadata.resource_version) > first


def test_generate_name(core: client.CoreV1Api, namespace: str) -> None:
    cm = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "gen-"}})
    assert cm.metadata.name.startswith("gen-") and len(cm.metadata.name) == len("gen-") + 5


def test_dry_run_stores_nothing(core: client.CoreV1Api, namespace: str) -> None:
    out = core.create_namespaced_config_map(namespace, {"metadata": {"name": "dry"}},
                                            dry_run="All")
    assert out.metadata.name == "dry"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("dry", namespace)
    assert e.value.status == 404


def test_missing_object_is_404_with_status(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("nope", namespace)
    body = status_of(e.value)
    assert e.value.status == 404
    assert body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "configmaps"}


def test_create_existing_is_409_already_exists(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "dup"}})
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "dup"}})
    assert e.value.status == 409
    assert status_of(e.value)["reason"] == "AlreadyExists"


def test_stale_update_is_409_conflict(core: client.CoreV1Api, namespace: str) -> None:
    cm = core.create_namespaced_config_map(namespace, {"metadata": {"name": "c"}})
    stale_rv = cm.metadata.resource_version
    cm.data = {"x": "1"}
    core.replace_namespaced_config_map("c", namespace, cm)
    cm.data = {"x": "2"}
    cm.metadata.resource_version = stale_rv
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("c", namespace, cm)
    assert e.value.status == 409
    assert status_of(e.value)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(e.value)["message"]


def test_invalid_name_is_422_naming_the_field(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "Bad_Name"}})
    body = status_of(e.value)
    assert e.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert 'ConfigMap "Bad_Name" is invalid: metadata.name' in body["message"]


def test_generation_bumps_on_spec_change_only(apps: client.AppsV1Api, namespace: str) -> None:
    dep = apps.create_namespaced_deployment(namespace, deployment("web"))
    assert dep.metadata.generation == 1
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert apps.read_namespaced_deployment("web", namespace).metadata.generation == 1
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", namespace).metadata.generation == 2


def test_status_writes_ignore_spec_and_main_writes_ignore_status(
        apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web"))
    apps.patch_namespaced_deployment_status("web", namespace, {
        "spec": {"replicas": 7}, "status": {"replicas": 1, "observedGeneration": 1}})
    dep = apps.read_namespaced_deployment("web", namespace)
    assert (dep.spec.replicas, dep.status.replicas) == (1, 1)
    apps.patch_namespaced_deployment("web", namespace, {"status": {"replicas": 9}})
    assert apps.read_namespaced_deployment("web", namespace).status.replicas == 1


def test_scale_subresource(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web"))
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    assert scale.spec.replicas == 1
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 4


def test_no_op_update_keeps_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    cm = core.create_namespaced_config_map(namespace, {"metadata": {"name": "same"},
                                                       "data": {"a": "b"}})
    again = core.patch_namespaced_config_map("same", namespace, {"data": {"a": "b"}})
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_create_in_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("does-not-exist", {"metadata": {"name": "x"}})
    assert e.value.status == 404
    assert status_of(e.value)["message"] == 'namespaces "does-not-exist" not found'


def test_concurrent_read_modify_write_loses_no_update(core: client.CoreV1Api,
                                                      namespace: str) -> None:
    """Eight threads increment one counter with optimistic concurrency: none is lost."""
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "counter"},
                                                  "data": {"n": "0"}})

    def increment(times: int) -> None:
        for _ in range(times):
            while True:
                cm = core.read_namespaced_config_map("counter", namespace)
                cm.data["n"] = str(int(cm.data["n"]) + 1)
                try:
                    core.replace_namespaced_config_map("counter", namespace, cm)
                    break
                except ApiException as e:
                    if e.status != 409:
                        raise

    threads = [threading.Thread(target=increment, args=(25,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert core.read_namespaced_config_map("counter", namespace).data["n"] == "200"


def deployment(name: str, replicas: int = 1, image: str = "nginx:1.27") -> dict:
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "web", "image": image}]}}}}


def test_secret_string_data_is_merged_into_data(core: client.CoreV1Api, namespace: str) -> None:
    """stringData is write-only: merged into data (its keys win), never read back."""
    core.create_namespaced_secret(namespace, {
        "metadata": {"name": "s"}, "data": {"a": "b2xk", "b": "Yg=="},
        "stringData": {"a": "new", "c": "ü"}})
    secret = core.read_namespaced_secret("s", namespace)
    assert secret.string_data is None
    assert secret.data == {"a": "bmV3", "b": "Yg==", "c": "w7w="}
    core.patch_namespaced_secret("s", namespace, {"stringData": {"b": "patched"}})
    assert core.read_namespaced_secret("s", namespace).data["b"] == "cGF0Y2hlZA=="
