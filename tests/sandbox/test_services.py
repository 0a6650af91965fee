"""Services: cluster IPs from the configured CIDR, duplicates refused, node ports allocated."""

from __future__ import annotations

import ipaddress
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.sandbox


def svc(name: str, **spec: object) -> dict:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}], **spec}}


def test_cluster_ip_comes_from_service_cidr(core: client.CoreV1Api, namespace: str) -> None:
    out = core.create_namespaced_service(namespace, svc("a"))
    assert ipaddress.ip_address(out.spec.cluster_ip) in ipaddress.ip_network("10.96.0.0/12")
    assert out.spec.cluster_ips == [out.spec.cluster_ip]
    assert out.spec.ports[0].target_port == 80 and out.spec.ports[0].protocol == "TCP"


def test_duplicate_requested_ip_is_refused(core: client.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_service(namespace, svc("a"))
    with pytest.raises(ApiException) as e:
        core.create_namespaced_service(namespace, svc("b", clusterIP=first.spec.cluster_ip))
    body = json.loads(e.value.body)
    assert e.value.status == 422
    assert f"failed to allocate IP {first.spec.cluster_ip}: provided IP is already allocated" \
        in body["message"]


def test_out_of_range_ip_names_the_range(core: client.CoreV1Api, namespace: str) -> None:
    """Clients discover the service CIDR from this message (`preview vcluster create` does)."""
    with pytest.raises(ApiException) as e:
        core.create_namespaced_service(namespace, svc("c", clusterIP="1.1.1.1"))
    body = json.loads(e.value.body)
    assert e.value.status == 422
    assert body["message"] == (
        'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to '
        "allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of "
        "valid IPs is 10.96.0.0/12")


def test_ip_is_released_on_delete(core: client.CoreV1Api, namespace: str) -> None:
    ip = core.create_namespaced_service(namespace, svc("a")).spec.cluster_ip
    core.delete_namespaced_service("a", namespace)
    assert core.create_namespaced_service(namespace, svc("b", clusterIP=ip)).spec.cluster_ip == ip


def test_headless_service_keeps_none(core: client.CoreV1Api, namespace: str) -> None:
    out = core.create_namespaced_service(namespace, svc("h", clusterIP="None"))
    assert out.spec.cluster_ip == "None"


def test_node_ports(core: client.CoreV1Api, namespace: str) -> None:
    out = core.create_namespaced_service(namespace, svc("np", type="NodePort"))
    port = out.spec.ports[0].node_port
    assert 30000 <= port <= 32767
    with pytest.raises(ApiException) as e:
        core.create_namespaced_service(namespace, {"metadata": {"name": "np2"}, "spec": {
            "type": "NodePort", "ports": [{"port": 80, "nodePort": port}]}})
    assert e.value.status == 422
    assert "provided port is already allocated" in json.loads(e.value.body)["message"]


def test_cluster_ip_is_immutable(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_service(namespace, svc("a"))
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_service("a", namespace, {"spec": {"clusterIP": "10.96.200.200"}})
    assert e.value.status == 422
