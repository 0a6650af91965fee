"""The host's ingress controller and load balancer publish addresses; default classes exist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from preview.sandbox.controllers.loadbalancer import pick
from preview.sandbox.controllers.volumeutil import PROVISIONER
from preview.sandbox.ingress.controller import CONTROLLER_ADDRESS, class_of
from preview.sandbox.runner import Sandbox, ServerConfig
from tests.conftest import wait_for

pytestmark = pytest.mark.sandbox


def ingress(name: str, class_name: str | None = None,
            annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{"host": f"{name}.example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix",
         "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    if class_name:
        spec["ingressClassName"] = class_name
    return {"metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def address(net: client.NetworkingV1Api, namespace: str, name: str) -> list[Any]:
    status = net.read_namespaced_ingress(name, namespace).status
    lb = status.load_balancer if status else None
    return list((lb.ingress if lb else None) or [])


def test_default_classes_exist(api_client: client.ApiClient) -> None:
    net, storage = client.NetworkingV1Api(api_client), client.StorageV1Api(api_client)
    ic = wait_for(lambda: [c for c in net.list_ingress_class().items
                           if c.metadata.name == "nginx"], what="ingress class")[0]
    assert ic.spec.controller == "k8s.io/ingress-nginx"
    assert ic.metadata.annotations["ingressclass.kubernetes.io/is-default-class"] == "true"
    sc = wait_for(lambda: [c for c in storage.list_storage_class().items
                           if c.metadata.name == "standard"], what="storage class")[0]
    assert (sc.provisioner, sc.reclaim_policy, sc.volume_binding_mode) == (
        PROVISIONER, "Delete", "Immediate")
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"


def test_ingresses_of_our_class_get_an_address(api_client: client.ApiClient,
                                               namespace: str, sandbox: Sandbox) -> None:
    net = client.NetworkingV1Api(api_client)
    net.create_namespaced_ingress(namespace, ingress("explicit", "nginx"))
    net.create_namespaced_ingress(namespace, ingress("defaulted"))
    net.create_namespaced_ingress(namespace, ingress("legacy", annotations={
        "kubernetes.io/ingress.class": "nginx"}))
    net.create_namespaced_ingress(namespace, ingress("foreign", "traefik"))
    for name in ("explicit", "defaulted", "legacy"):
        [entry] = wait_for(lambda n=name: address(net, namespace, n), what=f"{name} address")
        assert entry.ip == CONTROLLER_ADDRESS == "127.0.0.1"
        assert [p.port for p in entry.ports] == [sandbox.ingress_http_port,
                                                 sandbox.ingress_https_port]
    assert address(net, namespace, "foreign") == []


def test_load_balancer_services_get_distinct_ips(core: client.CoreV1Api,
                                                 namespace: str) -> None:
    for name in ("lb1", "lb2"):
        core.create_namespaced_service(namespace, {"metadata": {"name": name}, "spec": {
            "type": "LoadBalancer", "ports": [{"port": 80}]}})
    core.create_namespaced_service(namespace, {"metadata": {"name": "other"}, "spec": {
        "type": "LoadBalancer", "loadBalancerClass": "example.com/lb", "ports": [{"port": 80}]}})

    def ips() -> list[str]:
        out = []
        for name in ("lb1", "lb2"):
            lb = core.read_namespaced_service(name, namespace).status.load_balancer
            out += [i.ip for i in (lb.ingress if lb else None) or []]
        return out

    found = wait_for(lambda: len(ips()) == 2 and ips(), what="two LB addresses")
    assert len(set(found)) == 2 and all(ip.startswith("172.18.255.") for ip in found)
    other = core.read_namespaced_service("other", namespace).status.load_balancer
    assert not (other and other.ingress)

    core.patch_namespaced_service("lb1", namespace, {"spec": {"type": "ClusterIP"}})
    wait_for(lambda: not (core.read_namespaced_service("lb1", namespace).status.load_balancer
                          .ingress), what="address withdrawn")


def test_class_choice_and_pool() -> None:
    nginx = {"metadata": {"name": "nginx", "annotations": {
        "ingressclass.kubernetes.io/is-default-class": "true"}}}
    assert class_of({"metadata": {}, "spec": {}}, [nginx]) == "nginx"
    assert class_of({"metadata": {}, "spec": {"ingressClassName": "x"}}, [nginx]) == "x"
    assert class_of({"metadata": {}, "spec": {}}, []) == ""
    assert pick("", {"172.18.255.201"}) == "172.18.255.202"
    assert pick("172.18.255.240", set()) == "172.18.255.240"
    assert pick("10.0.0.1", set()) is None


@pytest.fixture(scope="module")
def virtual() -> Iterator[client.ApiClient]:
    with Sandbox(ServerConfig(flavour="virtual")) as sb, \
            config.new_client_from_config(sb.kubeconfig) as api:
        yield api


def test_virtual_cluster_has_no_ingress_controller(virtual: client.ApiClient) -> None:
    net, core = client.NetworkingV1Api(virtual), client.CoreV1Api(virtual)
    assert net.list_ingress_class().items == []
    net.create_namespaced_ingress("default", ingress("app"))
    # The controllers that do run there (endpoints) answer; the ingress stays without address.
    core.create_namespaced_service("default", {"metadata": {"name": "web"}, "spec": {
        "selector": {"a": "b"}, "ports": [{"port": 80}]}})
    wait_for(lambda: core.list_namespaced_endpoints(
        "default", field_selector="metadata.name=web").items, what="endpoints")
    assert address(net, "default", "app") == []
