"""Zero values the real server always writes, and protobuf bodies as client-go sends them."""

from __future__ import annotations

import json
import urllib.request

import pytest
from kubernetes import client

from preview.sandbox.runner import Sandbox
from tests.conftest import raw_request
from tests.sandbox.pbencode import encode

pytestmark = pytest.mark.sandbox
PROTOBUF = "application/vnd.kubernetes.protobuf"


def _json(obj: dict) -> bytes:
    return json.dumps(obj).encode()


def _template(name: str) -> dict:
    return {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}


def test_fresh_workloads_carry_their_non_omitempty_status_fields(
        sandbox: Sandbox, namespace: str) -> None:
    base = f"/apis/apps/v1/namespaces/{namespace}"
    code, sts = raw_request(sandbox, "POST", f"{base}/statefulsets", _json({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 0, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": _template("db")}}))
    assert code == 201
    assert sts["status"] == {"replicas": 0, "availableReplicas": 0}
    code, deploy = raw_request(sandbox, "POST", f"{base}/deployments", _json({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": _template("web")}}))
    assert code == 201
    assert deploy["status"] == {}


def test_a_protobuf_status_write_keeps_empty_image_id(
        sandbox: Sandbox, namespace: str, core: client.CoreV1Api) -> None:
    pod = core.create_namespaced_pod(namespace, {
        "metadata": {"name": "web"},
        "spec": {"nodeName": "not-a-node-of-ours",  # no kubelet writes this pod's status
                 "containers": [{"name": "app", "image": "nginx:1.25"}]}})
    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": namespace,
                         "resourceVersion": pod.metadata.resource_version},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "app", "state": {"waiting": {"reason": "ContainerCreating"}},
                "lastState": {}, "ready": False, "restartCount": 0,
                "image": "nginx:1.25", "imageID": "", "started": False}]}}
    req = urllib.request.Request(
        f"{sandbox.url}/api/v1/namespaces/{namespace}/pods/web/status", data=encode(body),
        method="PUT", headers={"Authorization": f"Bearer {sandbox.admin_token}",
                               "Content-Type": PROTOBUF, "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10, context=sandbox.ssl_context()) as resp:
        assert resp.status == 200
    code, stored = raw_request(sandbox, "GET", f"/api/v1/namespaces/{namespace}/pods/web")
    assert code == 200
    status = stored["status"]["containerStatuses"][0]
    assert status["imageID"] == ""
    assert status["restartCount"] == 0 and status["ready"] is False
    # The official client's models require imageID: the pod deserialises again.
    read = core.read_namespaced_pod("web", namespace)
    assert read.status.container_statuses[0].image_id == ""
    assert read.status.container_statuses[0].state.waiting.reason == "ContainerCreating"


def test_protobuf_maps_of_extra_values_decode_to_string_lists(sandbox: Sandbox) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": "jane", "groups": ["dev"],
                       "extra": {"scopes": ["read", "write"], "empty": []},
                       "resourceAttributes": {"verb": "get", "resource": "pods",
                                              "namespace": "default"}}}
    req = urllib.request.Request(
        f"{sandbox.url}/apis/authorization.k8s.io/v1/subjectaccessreviews",
        data=encode(review), method="POST",
        headers={"Authorization": f"Bearer {sandbox.admin_token}", "Content-Type": PROTOBUF,
                 "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=10, context=sandbox.ssl_context()) as resp:
        echoed = json.loads(resp.read())
    assert echoed["spec"]["extra"] == {"scopes": ["read", "write"], "empty": []}
    assert echoed["status"]["allowed"] is False
