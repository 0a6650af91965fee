"""The bootstrap RBAC policy of a real cluster, and ClusterRole aggregation, with kubectl."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.conftest import KubectlRunner, wait_for

pytestmark = pytest.mark.sandbox


def _can(kubectl: KubectlRunner, *args: str) -> bool:
    result = kubectl("auth", "can-i", *args, check=False)
    return result.stdout.strip() == "yes"


def test_the_system_roles_charts_bind_exist(kubectl: KubectlRunner) -> None:
    names = kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for role in ("system:auth-delegator", "system:node-proxier", "system:kube-dns",
                 "system:aggregate-to-admin", "system:aggregate-to-edit",
                 "system:aggregate-to-view", "system:heapster", "system:node",
                 "system:kube-controller-manager", "admin", "edit", "view"):
        assert f"clusterrole.rbac.authorization.k8s.io/{role}" in names
    bindings = kubectl("get", "clusterrolebindings", "-o", "name").stdout.split()
    for binding in ("system:kube-dns", "system:node-proxier", "system:basic-user"):
        assert f"clusterrolebinding.rbac.authorization.k8s.io/{binding}" in bindings


def test_auth_delegator_grants_token_and_access_reviews(
        kubectl: KubectlRunner, namespace: str) -> None:
    who = f"system:serviceaccount:{namespace}:metrics"
    assert not _can(kubectl, "create", "tokenreviews.authentication.k8s.io", "--as", who)
    kubectl("create", "clusterrolebinding", f"{namespace}-delegator",
            "--clusterrole=system:auth-delegator", f"--serviceaccount={namespace}:metrics")
    try:
        assert _can(kubectl, "create", "tokenreviews.authentication.k8s.io", "--as", who)
        assert _can(kubectl, "create", "subjectaccessreviews.authorization.k8s.io", "--as", who)
    finally:
        kubectl("delete", "clusterrolebinding", f"{namespace}-delegator")


def test_view_edit_admin_are_aggregated(kubectl: KubectlRunner, namespace: str) -> None:
    for role in ("view", "edit", "admin"):
        kubectl("create", "rolebinding", role, f"--clusterrole={role}", f"--user={role}-user",
                "-n", namespace)
    assert _can(kubectl, "list", "pods", "-n", namespace, "--as", "view-user")
    assert not _can(kubectl, "get", "secrets", "-n", namespace, "--as", "view-user")
    assert not _can(kubectl, "create", "deployments.apps", "-n", namespace, "--as", "view-user")
    assert _can(kubectl, "create", "deployments.apps", "-n", namespace, "--as", "edit-user")
    assert _can(kubectl, "create", "pods/exec", "-n", namespace, "--as", "edit-user")
    assert not _can(kubectl, "create", "rolebindings", "-n", namespace, "--as", "edit-user")
    assert _can(kubectl, "create", "rolebindings", "-n", namespace, "--as", "admin-user")
    assert _can(kubectl, "delete", "deployments.apps", "-n", namespace, "--as", "admin-user")


def test_a_chart_role_labelled_aggregate_to_edit_extends_edit_and_admin(
        kubectl: KubectlRunner, api_client: client.ApiClient, namespace: str) -> None:
    name = f"{namespace}-widgets-edit"
    kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {
            "rbac.authorization.k8s.io/aggregate-to-edit": "true"}},
        "rules": [{"apiGroups": [f"{namespace}.example.com"], "resources": ["widgets"],
                   "verbs": ["get", "list", "create"]}]}))
    rbac = client.RbacAuthorizationV1Api(api_client)

    def has_rule(role: str) -> bool:
        rules = rbac.read_cluster_role(role).rules or []
        return any(f"{namespace}.example.com" in (r.api_groups or []) for r in rules)
    try:
        wait_for(lambda: has_rule("edit") and has_rule("admin"), 10, what="aggregation")
        assert not has_rule("view")
        kubectl("create", "rolebinding", "edit", "--clusterrole=edit", "--user=jane",
                "-n", namespace)
        review = client.AuthorizationV1Api(api_client).create_subject_access_review({
            "spec": {"user": "jane", "resourceAttributes": {
                "namespace": namespace, "verb": "create", "group": f"{namespace}.example.com",
                "resource": "widgets"}}})
        assert review.status.allowed is True
    finally:
        kubectl("delete", "clusterrole", name)
    wait_for(lambda: not has_rule("edit") and not has_rule("admin"), 10, what="shrinks")
