"""Claims are bound to provisioned or matching volumes, as the real binder and provisioners do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from preview.sandbox.controllers.volumeutil import PROVISIONER, find_match
from preview.sandbox.runner import Sandbox, ServerConfig
from tests.conftest import wait_for

pytestmark = pytest.mark.sandbox


def claim(name: str, size: str = "1Gi", storage_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": name}, "spec": spec}


def reasons(core: client.CoreV1Api, namespace: str, name: str) -> set[str]:
    events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}")
    return {e.reason for e in events.items}


@pytest.fixture
def storage_class(api_client: client.ApiClient) -> Iterator[Any]:
    """Makes cluster-scoped classes with unique names and removes them afterwards."""
    api = client.StorageV1Api(api_client)
    made: list[str] = []

    def make(provisioner: str, mode: str = "Immediate") -> str:
        name = f"sc-{uuid.uuid4().hex[:8]}"
        api.create_storage_class({"metadata": {"name": name}, "provisioner": provisioner,
                                  "volumeBindingMode": mode, "reclaimPolicy": "Delete"})
        made.append(name)
        return name

    yield make
    for name in made:
        api.delete_storage_class(name)


def test_default_class_provisions_and_binds(core: client.CoreV1Api, namespace: str) -> None:
    pvc = core.create_namespaced_persistent_volume_claim(namespace, claim("data", "2Gi"))
    assert pvc.spec.storage_class_name == "standard"  # the DefaultStorageClass plugin
    bound = wait_for(lambda: (c := core.read_namespaced_persistent_volume_claim(
        "data", namespace)).status.phase == "Bound" and c, what="claim bound")
    assert bound.spec.volume_name == f"pvc-{pvc.metadata.uid}"
    assert bound.status.capacity == {"storage": "2Gi"}
    assert bound.status.access_modes == ["ReadWriteOnce"]
    annotations = bound.metadata.annotations
    assert annotations["volume.kubernetes.io/storage-provisioner"] == PROVISIONER
    assert annotations["pv.kubernetes.io/bind-completed"] == "yes"
    assert annotations["pv.kubernetes.io/bound-by-controller"] == "yes"

    pv = wait_for(lambda: (v := core.read_persistent_volume(bound.spec.volume_name))
                  .status.phase == "Bound" and v, what="volume bound")
    assert pv.metadata.annotations["pv.kubernetes.io/provisioned-by"] == PROVISIONER
    assert pv.spec.claim_ref.uid == pvc.metadata.uid and pv.spec.claim_ref.name == "data"
    assert pv.spec.capacity == {"storage": "2Gi"}
    assert pv.spec.storage_class_name == "standard"
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    assert pv.spec.host_path.path.endswith(f"pvc-{pvc.metadata.uid}_{namespace}_data")
    assert {"Provisioning", "ProvisioningSucceeded"} <= reasons(core, namespace, "data")

    core.delete_namespaced_persistent_volume_claim("data", namespace)
    wait_for(lambda: not [v for v in core.list_persistent_volume().items
                          if v.metadata.name == pv.metadata.name], what="volume deleted")


def test_foreign_and_missing_classes_stay_pending(core: client.CoreV1Api, namespace: str,
                                                  storage_class: Any) -> None:
    foreign = storage_class("ebs.csi.aws.com")
    core.create_namespaced_persistent_volume_claim(namespace, claim("ebs", storage_class=foreign))
    core.create_namespaced_persistent_volume_claim(namespace, claim("nope", storage_class="nope"))
    wait_for(lambda: "ExternalProvisioning" in reasons(core, namespace, "ebs"),
             what="ExternalProvisioning")
    wait_for(lambda: "ProvisioningFailed" in reasons(core, namespace, "nope"),
             what="ProvisioningFailed")
    ebs = core.read_namespaced_persistent_volume_claim("ebs", namespace)
    assert ebs.status.phase == "Pending"
    assert ebs.metadata.annotations["volume.kubernetes.io/storage-provisioner"] == \
        "ebs.csi.aws.com"
    assert core.read_namespaced_persistent_volume_claim("nope", namespace).status.phase == \
        "Pending"


def test_static_volume_is_matched(core: client.CoreV1Api, namespace: str) -> None:
    cls = f"manual-{uuid.uuid4().hex[:6]}"
    pv_name = f"pv-{uuid.uuid4().hex[:8]}"
    core.create_persistent_volume({"metadata": {"name": pv_name}, "spec": {
        "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
        "storageClassName": cls, "hostPath": {"path": "/tmp/x"}}})
    core.create_namespaced_persistent_volume_claim(namespace, claim("c", "3Gi", cls))
    bound = wait_for(lambda: (c := core.read_namespaced_persistent_volume_claim(
        "c", namespace)).status.phase == "Bound" and c, what="bound to static volume")
    assert bound.spec.volume_name == pv_name
    assert bound.status.capacity == {"storage": "5Gi"}
    core.delete_namespaced_persistent_volume_claim("c", namespace)
    # Retain (the default for static volumes): released, not deleted.
    wait_for(lambda: core.read_persistent_volume(pv_name).status.phase == "Released",
             what="released")
    core.delete_persistent_volume(pv_name)


def test_wait_for_first_consumer(core: client.CoreV1Api, namespace: str,
                                 storage_class: Any) -> None:
    cls = storage_class(PROVISIONER, "WaitForFirstConsumer")
    core.create_namespaced_persistent_volume_claim(namespace, claim("late", storage_class=cls))
    wait_for(lambda: "WaitForFirstConsumer" in reasons(core, namespace, "late"),
             what="waiting for a consumer")
    assert core.read_namespaced_persistent_volume_claim("late", namespace).status.phase == \
        "Pending"
    core.create_namespaced_pod(namespace, {"metadata": {"name": "user"}, "spec": {
        "nodeName": "elsewhere", "containers": [{"name": "a", "image": "busybox:1"}],
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "late"}}]}})
    bound = wait_for(lambda: (c := core.read_namespaced_persistent_volume_claim(
        "late", namespace)).status.phase == "Bound" and c, what="bound after scheduling")
    assert bound.metadata.annotations["volume.kubernetes.io/selected-node"] == "elsewhere"
    pv = core.read_persistent_volume(bound.spec.volume_name)
    term = pv.spec.node_affinity.required.node_selector_terms[0].match_expressions[0]
    assert (term.key, term.values) == ("kubernetes.io/hostname", ["elsewhere"])


def test_matching_prefers_the_smallest_fit() -> None:
    def pv(name: str, size: str, cls: str = "m") -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {"capacity": {"storage": size},
                                                     "accessModes": ["ReadWriteOnce"],
                                                     "storageClassName": cls},
                "status": {"phase": "Available"}}

    pvc = {"metadata": {"name": "c", "namespace": "n", "uid": "u"},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "m",
                    "resources": {"requests": {"storage": "1Gi"}}}}
    pvs = [pv("big", "10Gi"), pv("small", "1Gi"), pv("tiny", "512Mi"), pv("other", "1Gi", "x")]
    assert find_match(pvc, pvs)["metadata"]["name"] == "small"  # type: ignore[index]


@pytest.fixture(scope="module")
def virtual() -> Iterator[client.CoreV1Api]:
    with Sandbox(ServerConfig(flavour="virtual")) as sb, \
            config.new_client_from_config(sb.kubeconfig) as api:
        yield client.CoreV1Api(api)


def test_virtual_cluster_has_no_default_class(virtual: client.CoreV1Api) -> None:
    pvc = virtual.create_namespaced_persistent_volume_claim("default", claim("v"))
    assert pvc.spec.storage_class_name is None
    wait_for(lambda: "FailedBinding" in reasons(virtual, "default", "v"), what="FailedBinding")
    assert virtual.read_namespaced_persistent_volume_claim("v", "default").status.phase == \
        "Pending"
