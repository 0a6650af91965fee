"""Authentication and RBAC: service-account tokens bound by Roles, 401 and 403 as on a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner

pytestmark = pytest.mark.sandbox


def sa_token(core: client.CoreV1Api, namespace: str, name: str) -> str:
    req = core.create_namespaced_service_account_token(name, namespace, {
        "spec": {"audiences": [], "expirationSeconds": 3600}})
    return str(req.status.token)


@pytest.fixture
def pod_reader(core: client.CoreV1Api, tmp_path: Path, sandbox: Sandbox) -> tuple[str, str, Path]:
    """A ServiceAccount in `a-…` bound to a Role that can list pods there, with its kubeconfig."""
    ns_a = f"a-{tmp_path.name[-8:].lower().replace('_', '')}"
    ns_b = f"b-{tmp_path.name[-8:].lower().replace('_', '')}"
    for ns in (ns_a, ns_b):
        core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_service_account(ns_a, {"metadata": {"name": "reader"}})
    rbac = client.RbacAuthorizationV1Api(core.api_client)
    rbac.create_namespaced_role(ns_a, {"metadata": {"name": "pod-reader"}, "rules": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]})
    rbac.create_namespaced_role_binding(ns_a, {
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns_a}]})
    path = sandbox.write_kubeconfig(tmp_path / "reader.kubeconfig",
                                    sa_token(core, ns_a, "reader"), user="reader")
    return ns_a, ns_b, path


def test_service_account_role_allows_own_namespace_only(pod_reader: tuple[str, str, Path]) -> None:
    ns_a, ns_b, kubeconfig = pod_reader
    reader = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    assert reader.list_namespaced_pod(ns_a).items == []
    with pytest.raises(ApiException) as e:
        reader.list_namespaced_pod(ns_b)
    assert e.value.status == 403
    body = json.loads(e.value.body)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        f'pods is forbidden: User "system:serviceaccount:{ns_a}:reader" cannot list resource '
        f'"pods" in API group "" in the namespace "{ns_b}"')
    with pytest.raises(ApiException) as e:
        reader.create_namespaced_config_map(ns_a, {"metadata": {"name": "x"}})
    assert e.value.status == 403


def test_kubectl_auth_can_i_for_service_account(pod_reader: tuple[str, str, Path],
                                                kubectl: KubectlRunner) -> None:
    ns_a, ns_b, kubeconfig = pod_reader
    assert kubectl("auth", "can-i", "list", "pods", "-n", ns_a,
                   kubeconfig=kubeconfig).stdout.strip() == "yes"
    denied = kubectl("auth", "can-i", "list", "pods", "-n", ns_b, kubeconfig=kubeconfig,
                     check=False)
    assert denied.returncode == 1 and denied.stdout.strip() == "no"
    # The admin asks on the account's behalf through impersonation.
    sa = f"system:serviceaccount:{ns_a}:reader"
    assert kubectl("auth", "can-i", "watch", "pods", "-n", ns_a,
                   f"--as={sa}").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "delete", "pods", "-n", ns_a, f"--as={sa}",
                   check=False).stdout.strip() == "no"


def test_bad_token_is_401(sandbox: Sandbox, tmp_path: Path) -> None:
    path = sandbox.write_kubeconfig(tmp_path / "bad", "not-a-token")
    api = client.CoreV1Api(config.new_client_from_config(str(path)))
    with pytest.raises(ApiException) as e:
        api.list_namespace()
    assert e.value.status == 401
    assert json.loads(e.value.body)["reason"] == "Unauthorized"


def test_token_stops_working_when_account_is_deleted(core: client.CoreV1Api, namespace: str,
                                                     sandbox: Sandbox, tmp_path: Path) -> None:
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "gone"}})
    path = sandbox.write_kubeconfig(tmp_path / "k", sa_token(core, namespace, "gone"))
    api = client.CoreV1Api(config.new_client_from_config(str(path)))
    with pytest.raises(ApiException) as e:
        api.list_namespaced_pod(namespace)
    assert e.value.status == 403  # authenticated, but no role
    core.delete_namespaced_service_account("gone", namespace)
    with pytest.raises(ApiException) as e:
        api.list_namespaced_pod(namespace)
    assert e.value.status == 401


def test_cluster_role_through_role_binding_is_namespaced(core: client.CoreV1Api,
                                                         namespace: str, sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "viewer"}})
    rbac = client.RbacAuthorizationV1Api(core.api_client)
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": namespace}]})
    path = sandbox.write_kubeconfig(tmp_path / "k", sa_token(core, namespace, "viewer"))
    api = client.CoreV1Api(config.new_client_from_config(str(path)))
    api.list_namespaced_config_map(namespace)
    with pytest.raises(ApiException) as e:
        api.list_config_map_for_all_namespaces()
    assert e.value.status == 403
