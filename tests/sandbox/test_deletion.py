"""Deletion: finalizers, propagation policies with ownerReferences, namespace termination."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.sandbox


def wait_gone(core: client.CoreV1Api, namespace: str, name: str, timeout: int = 20) -> None:
    """Block on a watch of one ConfigMap until it is deleted."""
    try:
        rv = core.read_namespaced_config_map(name, namespace).metadata.resource_version
    except ApiException as e:
        if e.status == 404:
            return
        raise
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, namespace, resource_version=rv,
                          field_selector=f"metadata.name={name}", timeout_seconds=timeout):
        if event["type"] == "DELETED":
            return
    raise AssertionError(f"configmap {namespace}/{name} still present after {timeout}s")


def wait_namespace_deleted(core: client.CoreV1Api, name: str, timeout: int = 30) -> None:
    """Block on a watch of the namespace until its DELETED event."""
    try:
        ns = core.read_namespace(name)
    except ApiException as e:
        if e.status == 404:
            return
        raise
    w = watch.Watch()
    for event in w.stream(core.list_namespace, field_selector=f"metadata.name={name}",
                          resource_version=ns.metadata.resource_version,
                          timeout_seconds=timeout):
        if event["type"] == "DELETED":
            return
    raise AssertionError(f"namespace {name} not deleted within {timeout}s")


def test_finalizer_holds_object_until_removed(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {
        "name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("held", namespace)
    cm = core.read_namespaced_config_map("held", namespace)
    assert cm.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("held", namespace)
    assert e.value.status == 404


def test_terminating_object_refuses_new_finalizers(core: client.CoreV1Api,
                                                   namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "t",
                                                               "finalizers": ["a.io/x"]}})
    core.delete_namespaced_config_map("t", namespace)
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_config_map("t", namespace, {"metadata": {
            "finalizers": ["a.io/x", "b.io/y"]}})
    assert e.value.status == 422


def test_namespace_with_100_objects_leaves_none_behind(core: client.CoreV1Api,
                                                       apps: client.AppsV1Api) -> None:
    core.create_namespace({"metadata": {"name": "hundred"}})
    for i in range(60):
        core.create_namespaced_config_map("hundred", {"metadata": {"name": f"cm-{i}"}})
    for i in range(30):
        core.create_namespaced_secret("hundred", {"metadata": {"name": f"s-{i}"}})
    for i in range(10):
        apps.create_namespaced_deployment("hundred", {"metadata": {"name": f"d-{i}"}, "spec": {
            "selector": {"matchLabels": {"a": "b"}}, "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    core.delete_namespace("hundred")
    wait_namespace_deleted(core, "hundred")
    assert core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=hundred").items == []
    assert core.list_secret_for_all_namespaces(field_selector="metadata.namespace=hundred").items == []
    assert apps.list_deployment_for_all_namespaces(field_selector="metadata.namespace=hundred").items == []


def test_finalizer_keeps_namespace_terminating(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "stuck"}})
    core.create_namespaced_config_map("stuck", {"metadata": {"name": "keep",
                                                             "finalizers": ["a.io/keep"]}})
    core.create_namespaced_config_map("stuck", {"metadata": {"name": "free"}})
    core.delete_namespace("stuck")
    assert core.read_namespace("stuck").status.phase == "Terminating"
    # Wait until the controller has removed everything it can and reported the rest.
    w = watch.Watch()
    for event in w.stream(core.list_namespace, field_selector="metadata.name=stuck",
                          timeout_seconds=20):
        conditions = event["object"].status.conditions or []
        if any(c.type == "NamespaceFinalizersRemaining" for c in conditions):
            w.stop()
    names = [c.metadata.name for c in core.list_namespaced_config_map("stuck").items]
    assert names == ["keep"]
    assert core.read_namespace("stuck").status.phase == "Terminating"
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("stuck", {"metadata": {"name": "new"}})
    assert e.value.status == 403
    assert "because it is being terminated" in json.loads(e.value.body)["message"]
    core.patch_namespaced_config_map("keep", "stuck", {"metadata": {"finalizers": None}})
    wait_namespace_deleted(core, "stuck")


def owned_configmap(name: str, owner: client.V1ConfigMap, block: bool = False) -> dict:
    return {"metadata": {"name": name, "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name,
        "uid": owner.metadata.uid, "blockOwnerDeletion": block}]}}


def test_background_deletion_collects_dependents(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(namespace, owned_configmap("dep", owner))
    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Background")
    wait_gone(core, namespace, "dep")


def test_foreground_deletion_waits_for_dependents(core: client.CoreV1Api,
                                                  namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(namespace, {**owned_configmap("dep", owner, block=True),
                                                  })
    core.patch_namespaced_config_map("dep", namespace,
                                     {"metadata": {"finalizers": ["a.io/slow"]}})
    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Foreground")
    held = core.read_namespaced_config_map("owner", namespace)
    assert "foregroundDeletion" in held.metadata.finalizers
    # The dependent gets deleted (it is held by its own finalizer), the owner waits.
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, namespace,
                          field_selector="metadata.name=dep", timeout_seconds=10):
        if event["object"].metadata.deletion_timestamp:
            w.stop()
    assert core.read_namespaced_config_map("owner", namespace).metadata.deletion_timestamp
    core.patch_namespaced_config_map("dep", namespace, {"metadata": {"finalizers": None}})
    wait_gone(core, namespace, "owner")


def test_orphan_deletion_keeps_dependents(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(namespace, owned_configmap("dep", owner))
    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Orphan")
    wait_gone(core, namespace, "owner")
    dep = core.read_namespaced_config_map("dep", namespace)
    assert not dep.metadata.owner_references
