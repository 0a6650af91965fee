"""EndpointSlices mirror a Service's pods with the real controller's labels and conditions."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.controllers.endpointslice import desired_slices, plan
from tests.conftest import wait_for
from tests.sandbox.test_endpoints import make_pod, set_status


def slices(api_client: client.ApiClient, namespace: str, service: str) -> list[dict[str, Any]]:
    api = client.DiscoveryV1Api(api_client)
    listed = api.list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}")
    return [api_client.sanitize_for_serialization(s) for s in listed.items]


@pytest.mark.sandbox
def test_slice_for_service(api_client: client.ApiClient, core: client.CoreV1Api,
                           namespace: str) -> None:
    svc = core.create_namespaced_service(namespace, {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    placeholder = wait_for(lambda: slices(api_client, namespace, "web"), what="placeholder")
    assert len(placeholder) == 1 and not placeholder[0].get("endpoints")

    make_pod(core, namespace, "web-1", {"app": "web"})
    make_pod(core, namespace, "web-2", {"app": "web"})
    set_status(core, namespace, "web-1", "10.244.0.1", True)
    set_status(core, namespace, "web-2", "10.244.0.2", False)
    found = wait_for(lambda: (s := slices(api_client, namespace, "web")) and
                     len(s[0].get("endpoints") or []) == 2 and s, what="two endpoints")
    assert len(found) == 1, "the placeholder is reused, not joined by a second slice"
    sl = found[0]
    meta = sl["metadata"]
    assert meta["name"].startswith("web-") and meta["generateName"] == "web-"
    assert meta["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslice-controller.k8s.io"
    assert meta["ownerReferences"][0]["uid"] == svc.metadata.uid
    assert meta["ownerReferences"][0]["kind"] == "Service"
    assert sl["addressType"] == "IPv4"
    assert sl["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    by_name = {e["targetRef"]["name"]: e for e in sl["endpoints"]}
    assert by_name["web-1"]["addresses"] == ["10.244.0.1"]
    assert by_name["web-1"]["conditions"] == {"ready": True, "serving": True,
                                              "terminating": False}
    assert by_name["web-2"]["conditions"] == {"ready": False, "serving": False,
                                              "terminating": False}

    core.delete_namespaced_service("web", namespace)
    wait_for(lambda: not slices(api_client, namespace, "web"), what="slices gone")


def _pod(name: str, ip: str, node: str, ready: bool = True,
         terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "n", "uid": name, "labels": {"a": "b"}}
    if terminating:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": node, "containers": [
        {"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "podIP": ip,
                   "conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_zone_terminating_and_unresolvable_ports() -> None:
    svc = {"metadata": {"name": "s", "namespace": "n"},
           "spec": {"selector": {"a": "b"}, "ports": [{"port": 80, "targetPort": "http"}]}}
    pods = [_pod("p1", "10.0.0.1", "node-a"), _pod("p2", "10.0.0.2", "node-b", terminating=True)]
    no_port = _pod("p3", "10.0.0.3", "node-a")
    no_port["spec"]["containers"][0]["ports"] = []
    [(ports, eps)] = desired_slices(svc, [*pods, no_port], {"node-a": "zone-1", "node-b": ""})
    assert ports == (("", 8080, "TCP", ""),)
    assert [e["targetRef"]["name"] for e in eps] == ["p1", "p2"]
    assert eps[0]["zone"] == "zone-1" and "zone" not in eps[1]
    assert eps[1]["conditions"] == {"ready": False, "serving": True, "terminating": True}


def test_plan_updates_in_place_and_deletes_extras() -> None:
    ports = (("", 80, "TCP", ""),)
    old = [{"metadata": {"name": "s-a"}, "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
            "endpoints": []},
           {"metadata": {"name": "s-b"}, "ports": [{"name": "", "port": 81, "protocol": "TCP"}],
            "endpoints": []}]
    updates, creates, deletes = plan(old, [(ports, [{"addresses": ["10.0.0.1"]}])])
    assert [u[0]["metadata"]["name"] for u in updates] == ["s-a"]
    assert creates == [] and [d["metadata"]["name"] for d in deletes] == ["s-b"]
