"""Writes to the status subresource: the spec stays as stored (whatever the body says), each
write's version stays as it was in the watch history, and managedFields name the writer."""

from __future__ import annotations

import json

import pytest

from preview.sandbox.runner import Sandbox
from tests.conftest import raw_request
from tests.sandbox.test_watch import raw_watch

pytestmark = pytest.mark.sandbox


def test_status_writes_keep_the_spec_and_each_version_in_the_history(
        sandbox: Sandbox, namespace: str) -> None:
    # Bound to a node no kubelet serves: nobody but the test writes this pod's status.
    pods = f"/api/v1/namespaces/{namespace}/pods"
    code, created = raw_request(sandbox, "POST", pods + "?fieldManager=creator", json.dumps({
        "metadata": {"name": "p"},
        "spec": {"nodeName": "no-such-node", "containers": [{"name": "c", "image": "nginx"}]},
    }).encode())
    assert code == 201, created
    merge = "application/merge-patch+json"
    writes = [{"message": "one"}, {"message": "two", "reason": "Second"}]
    for status in writes:
        # The spec in a status write's body is ignored, as the real server ignores it.
        code, out = raw_request(sandbox, "PATCH", f"{pods}/p/status?fieldManager=agent",
                                json.dumps({"spec": {"activeDeadlineSeconds": 5},
                                            "status": status}).encode(), merge)
        assert code == 200, out
        assert out["spec"] == created["spec"]
    code, live = raw_request(sandbox, "GET", f"{pods}/p")
    assert live["spec"] == created["spec"]
    assert live["status"]["message"] == "two" and live["status"]["reason"] == "Second"

    rv = created["metadata"]["resourceVersion"]
    events = raw_watch(sandbox, f"{pods}?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    modified = [e["object"] for e in events if e["type"] == "MODIFIED"]
    assert [(o["status"].get("message"), o["status"].get("reason")) for o in modified] == \
        [("one", None), ("two", "Second")]
    assert all(o["spec"] == created["spec"] for o in modified)
    assert modified[1] == live
    creator = next(e for e in created["metadata"]["managedFields"] if e["manager"] == "creator")
    for version, fields in zip(modified, [{"f:message": {}},
                                          {"f:message": {}, "f:reason": {}}], strict=True):
        entries = version["metadata"]["managedFields"]
        assert [e["manager"] for e in entries] == ["creator", "agent"]
        assert entries[0]["fieldsV1"] == creator["fieldsV1"]
        assert entries[1]["subresource"] == "status"
        assert entries[1]["fieldsV1"] == {"f:status": fields}
