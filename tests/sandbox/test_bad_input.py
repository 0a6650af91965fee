"""Malformed requests get the real server's status codes and a Status body, never a 500."""

from __future__ import annotations

import json

import pytest

from preview.sandbox.runner import Sandbox
from tests.conftest import raw_request

pytestmark = pytest.mark.sandbox


call = raw_request


@pytest.mark.parametrize(("body", "content_type", "code"), [
    (b'{"metadata": {"name": ', "application/json", 400),
    (b"metadata: {name: [x", "application/yaml", 400),
    (b'{"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}',
     "application/json", 400),
    (b'{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}',
     "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b"data", "text/plain", 415),
])
def test_bad_bodies(sandbox: Sandbox, body: bytes, content_type: str, code: int) -> None:
    status, payload = call(sandbox, "POST", "/api/v1/namespaces/default/configmaps", body,
                           content_type)
    assert status == code
    assert payload["kind"] == "Status" and payload["code"] == code and payload["message"]


def test_yaml_body_is_accepted(sandbox: Sandbox) -> None:
    status, payload = call(sandbox, "POST", "/api/v1/namespaces/default/configmaps",
                           b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-yaml}\n",
                           "application/yaml")
    assert status == 201 and payload["metadata"]["name"] == "from-yaml"


def test_unknown_resource_is_404(sandbox: Sandbox) -> None:
    status, payload = call(sandbox, "GET", "/api/v1/namespaces/default/widgets")
    assert status == 404 and payload["reason"] == "NotFound"
    status, _ = call(sandbox, "GET", "/apis/nope.example.com/v1/things")
    assert status == 404


def test_oversized_body_is_413(sandbox: Sandbox) -> None:
    big = json.dumps({"metadata": {"name": "big"}, "data": {"x": "a" * (3 * 1024 * 1024)}})
    status, payload = call(sandbox, "POST", "/api/v1/namespaces/default/configmaps",
                           big.encode())
    assert status == 413
    assert payload["reason"] == "RequestEntityTooLarge"


def test_wrong_verb_is_405(sandbox: Sandbox) -> None:
    status, payload = call(sandbox, "POST", "/api/v1/namespaces/default/configmaps/x",
                           b"{}")
    assert status == 405 and payload["reason"] == "MethodNotAllowed"


def test_bad_label_selector_is_400(sandbox: Sandbox) -> None:
    status, payload = call(sandbox, "GET",
                           "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(")
    assert status == 400 and payload["reason"] == "BadRequest"


def test_unsupported_field_selector_is_400(sandbox: Sandbox) -> None:
    status, payload = call(sandbox, "GET", "/api/v1/configmaps?fieldSelector=spec.foo%3Dx")
    assert status == 400
    assert payload["message"] == 'field label not supported: spec.foo'
