"""Every namespace gets a `default` ServiceAccount and the root CA; pods get a token volume."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from preview.sandbox.apiserver.admission.serviceaccount import MOUNT_PATH, admit_pod
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for


def _default_sa(core: client.CoreV1Api, namespace: str) -> client.V1ServiceAccount | None:
    try:
        return core.read_namespaced_service_account("default", namespace)
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise


@pytest.mark.sandbox
def test_default_account_and_root_ca_in_new_namespace(core: client.CoreV1Api, namespace: str,
                                                      sandbox: Sandbox) -> None:
    wait_for(lambda: _default_sa(core, namespace), what="default service account")
    cm = wait_for(lambda: core.list_namespaced_config_map(
        namespace, field_selector="metadata.name=kube-root-ca.crt").items, what="root CA")[0]
    assert cm.data["ca.crt"] == sandbox.ca_pem.decode()
    assert "kubernetes.io/description" in cm.metadata.annotations

    core.delete_namespaced_service_account("default", namespace)
    wait_for(lambda: (sa := _default_sa(core, namespace)) and sa.metadata.uid, what="recreated")


@pytest.mark.sandbox
def test_pod_gets_account_and_token_volume(core: client.CoreV1Api, namespace: str) -> None:
    wait_for(lambda: _default_sa(core, namespace), what="default service account")
    pod = core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": {
        "schedulerName": "nobody", "containers": [{"name": "a", "image": "busybox:1"}],
        "initContainers": [{"name": "i", "image": "busybox:1"}]}})
    assert pod.spec.service_account_name == "default"
    [volume] = pod.spec.volumes
    assert volume.name.startswith("kube-api-access-") and len(volume.name) == 21
    sources = volume.projected.sources
    assert sources[0].service_account_token.path == "token"
    assert sources[0].service_account_token.expiration_seconds == 3607
    assert sources[1].config_map.name == "kube-root-ca.crt"
    assert sources[2].downward_api.items[0].field_ref.field_path == "metadata.namespace"
    for c in pod.spec.containers + pod.spec.init_containers:
        [mount] = c.volume_mounts
        assert (mount.name, mount.mount_path, mount.read_only) == (volume.name, MOUNT_PATH, True)


@pytest.mark.sandbox
def test_opt_out_and_missing_account(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "quiet"},
                                                       "automountServiceAccountToken": False})
    pod = core.create_namespaced_pod(namespace, {"metadata": {"name": "q"}, "spec": {
        "schedulerName": "nobody", "serviceAccountName": "quiet",
        "containers": [{"name": "a", "image": "busybox:1"}]}})
    assert not pod.spec.volumes and not pod.spec.containers[0].volume_mounts

    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_pod(namespace, {"metadata": {"name": "r"}, "spec": {
            "serviceAccountName": "ghost", "containers": [{"name": "a", "image": "busybox:1"}]}})
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        f'pods "r" is forbidden: error looking up service account {namespace}/ghost: '
        'serviceaccount "ghost" not found')


def test_pod_setting_wins_and_own_mounts_are_kept() -> None:
    spec = {"automountServiceAccountToken": True, "containers": [
        {"name": "a", "volumeMounts": [{"name": "mine", "mountPath": MOUNT_PATH}]},
        {"name": "b"}]}
    admit_pod(spec, {"automountServiceAccountToken": False}, "abcde")
    assert spec["serviceAccountName"] == "default"
    assert [v["name"] for v in spec["volumes"]] == ["kube-api-access-abcde"]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "mine", "mountPath": MOUNT_PATH}]
    assert spec["containers"][1]["volumeMounts"][0]["name"] == "kube-api-access-abcde"
