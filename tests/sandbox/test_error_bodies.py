"""Status error bodies byte for byte as the real kube-apiserver writes them."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from preview.sandbox.runner import Sandbox

pytestmark = pytest.mark.sandbox


def _raw(sandbox: Sandbox, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(sandbox.url + path, data=body, method=method, headers={
        "Authorization": f"Bearer {sandbox.admin_token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=sandbox.ssl_context()) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_not_found_is_compact_in_field_order_with_a_newline(
        sandbox: Sandbox, namespace: str) -> None:
    code, body = _raw(sandbox, "GET", f"/api/v1/namespaces/{namespace}/pods/nope")
    assert code == 404
    assert body == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                    b'"message":"pods \\"nope\\" not found","reason":"NotFound",'
                    b'"details":{"name":"nope","kind":"pods"},"code":404}\n')


def test_already_exists_names_the_group(sandbox: Sandbox, namespace: str) -> None:
    cm = b'{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},' \
         b'"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":' \
         b'{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}'
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    assert _raw(sandbox, "POST", path, cm)[0] == 201
    code, body = _raw(sandbox, "POST", path, cm)
    assert code == 409
    assert body == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                    b'"message":"deployments.apps \\"web\\" already exists",'
                    b'"reason":"AlreadyExists","details":{"name":"web","group":"apps",'
                    b'"kind":"deployments"},"code":409}\n')
