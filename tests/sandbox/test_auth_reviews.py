"""TokenReview and SelfSubjectReview (`kubectl auth whoami`) with the real clients."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, raw_request

pytestmark = pytest.mark.sandbox


def _review(api_client: client.ApiClient, token: str, audiences: list[str] | None = None) -> Any:
    api = client.AuthenticationV1Api(api_client)
    return api.create_token_review({"spec": {"token": token, "audiences": audiences}})


def test_token_review_of_the_admin_token(sandbox: Sandbox, api_client: client.ApiClient) -> None:
    review = _review(api_client, sandbox.admin_token)
    assert review.status.authenticated is True
    assert review.status.user.username == "sandbox-admin"
    assert "system:masters" in review.status.user.groups


def test_token_review_of_service_account_tokens(
        api_client: client.ApiClient, core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "app"}})
    token = core.create_namespaced_service_account_token("app", namespace, {
        "spec": {"audiences": ["vault"], "expirationSeconds": 600}}).status.token
    review = _review(api_client, token, ["vault"])
    assert review.status.authenticated is True
    assert review.status.user.username == f"system:serviceaccount:{namespace}:app"
    assert f"system:serviceaccounts:{namespace}" in review.status.user.groups
    assert review.status.user.uid
    assert review.status.audiences == ["vault"]
    # Meant for vault, not for the API server.
    other = _review(api_client, token)
    assert not other.status.authenticated
    assert "invalid for the target audiences" in other.status.error
    assert not _review(api_client, "not-a-token").status.authenticated


def test_token_review_needs_a_token(sandbox: Sandbox) -> None:
    code, status = raw_request(sandbox, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                               b'{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",'
                               b'"spec":{}}')
    assert code == 400
    assert status["message"] == "token is required for TokenReview in authentication"


def test_kubectl_auth_whoami(kubectl: KubectlRunner) -> None:
    rows = [line.split(None, 1) for line in kubectl("auth", "whoami").stdout.splitlines()]
    assert rows[0] == ["ATTRIBUTE", "VALUE"]
    values = dict(rows[1:])
    # kind's admin kubeconfig: kubeadm's client certificate, not a token.
    assert values["Username"].strip() == "kubernetes-admin"
    assert values["Groups"].strip() == "[kubeadm:cluster-admins system:authenticated]"
