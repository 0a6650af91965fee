"""Endpoints follow a Service's selector and its pods' readiness, as the real controller's."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.controllers.endpoints import desired_endpoints
from tests.conftest import wait_for

# Pods no scheduler claims stay unscheduled, so no kubelet touches the status we set.
UNSCHEDULED = "nobody"


def make_pod(core: client.CoreV1Api, namespace: str, name: str, labels: dict[str, str],
             ports: list[dict[str, Any]] | None = None, **spec: Any) -> None:
    core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": labels},
                                           "spec": {"schedulerName": UNSCHEDULED, **spec,
                                                    "containers": [{
                                                        "name": "app", "image": "nginx:1.27",
                                                        "ports": ports or []}]}})


def set_status(core: client.CoreV1Api, namespace: str, name: str, ip: str,
               ready: bool) -> None:
    """Drive the controller as a kubelet would: an IP, Running, and the Ready condition."""
    core.patch_namespaced_pod_status(name, namespace, {"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}})


def endpoints(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = core.api_client.sanitize_for_serialization(
            core.read_namespaced_endpoints(name, namespace))
        return result
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise


pytestmark = pytest.mark.sandbox


def test_ready_and_not_ready_addresses_with_named_target_port(core: client.CoreV1Api,
                                                               namespace: str) -> None:
    core.create_namespaced_service(namespace, {"metadata": {"name": "web", "labels": {"t": "1"}},
                                               "spec": {"selector": {"app": "web"}, "ports": [
                                                   {"name": "http", "port": 80,
                                                    "targetPort": "http"}]}})
    for i, ready in ((1, True), (2, False)):
        make_pod(core, namespace, f"web-{i}", {"app": "web"},
                 [{"name": "http", "containerPort": 8080 + i}])
        set_status(core, namespace, f"web-{i}", f"10.244.0.{i}", ready)
    make_pod(core, namespace, "other", {"app": "other"})
    set_status(core, namespace, "other", "10.244.0.9", True)

    ep = wait_for(lambda: (e := endpoints(core, namespace, "web")) and
                  len(e.get("subsets") or []) == 2 and e, what="two subsets")
    by_port = {s["ports"][0]["port"]: s for s in ep["subsets"]}
    assert by_port[8081]["addresses"][0]["ip"] == "10.244.0.1"
    assert by_port[8081]["addresses"][0]["targetRef"]["name"] == "web-1"
    assert by_port[8081]["ports"] == [{"name": "http", "port": 8081, "protocol": "TCP"}]
    assert by_port[8082]["notReadyAddresses"][0]["ip"] == "10.244.0.2"
    assert "addresses" not in by_port[8082]
    assert ep["metadata"]["labels"] == {"t": "1"}

    set_status(core, namespace, "web-2", "10.244.0.2", True)
    wait_for(lambda: all("notReadyAddresses" not in s
                         for s in endpoints(core, namespace, "web")["subsets"]),  # type: ignore[index]
             what="web-2 ready")
    core.delete_namespaced_pod("web-1", namespace, grace_period_seconds=0)
    wait_for(lambda: [a["ip"] for s in endpoints(core, namespace, "web")["subsets"]  # type: ignore[index]
                      for a in s.get("addresses", [])] == ["10.244.0.2"], what="web-1 gone")

    core.delete_namespaced_service("web", namespace)
    wait_for(lambda: endpoints(core, namespace, "web") is None, what="endpoints deleted")


def test_publish_not_ready_addresses_and_headless(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service(namespace, {"metadata": {"name": "db"}, "spec": {
        "clusterIP": "None", "publishNotReadyAddresses": True, "selector": {"app": "db"},
        "ports": [{"port": 5432}]}})
    make_pod(core, namespace, "db-0", {"app": "db"}, hostname="db-0", subdomain="db")
    set_status(core, namespace, "db-0", "10.244.1.5", False)
    ep = wait_for(lambda: (e := endpoints(core, namespace, "db")) and e.get("subsets") and e,
                  what="db endpoints")
    address = ep["subsets"][0]["addresses"][0]
    assert (address["ip"], address["hostname"]) == ("10.244.1.5", "db-0")
    assert ep["metadata"]["labels"] == {"service.kubernetes.io/headless": ""}


def test_selectorless_service_keeps_user_endpoints(core: client.CoreV1Api,
                                                   namespace: str) -> None:
    core.create_namespaced_service(namespace, {"metadata": {"name": "ext"},
                                               "spec": {"ports": [{"port": 443}]}})
    core.create_namespaced_endpoints(namespace, {"metadata": {"name": "ext"}, "subsets": [
        {"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 443}]}]})
    # A selector service created afterwards is handled: proof the controller is running.
    core.create_namespaced_service(namespace, {"metadata": {"name": "probe"}, "spec": {
        "selector": {"app": "x"}, "ports": [{"port": 80}]}})
    wait_for(lambda: endpoints(core, namespace, "probe"), what="probe endpoints")
    ep = endpoints(core, namespace, "ext")
    assert ep is not None and ep["subsets"][0]["addresses"] == [{"ip": "192.0.2.10"}]


def test_pods_without_ip_or_finished_are_left_out() -> None:
    svc = {"metadata": {"name": "s", "namespace": "n"},
           "spec": {"selector": {"a": "b"}, "ports": [{"port": 80, "targetPort": 8080}]}}

    def pod(name: str, **status: Any) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": "n", "uid": name, "labels": {"a": "b"}},
                "spec": {"nodeName": "node-1"}, "status": status}

    ready = [{"type": "Ready", "status": "True"}]
    pods = [pod("no-ip", phase="Pending"), pod("done", phase="Succeeded", podIP="10.0.0.3"),
            pod("ok", phase="Running", podIP="10.0.0.2", conditions=ready)]
    out = desired_endpoints(svc, pods)
    assert out["subsets"] == [{"addresses": [{"ip": "10.0.0.2", "nodeName": "node-1",
                                              "targetRef": {"kind": "Pod", "namespace": "n",
                                                            "name": "ok", "uid": "ok"}}],
                               "ports": [{"port": 8080, "protocol": "TCP"}]}]
