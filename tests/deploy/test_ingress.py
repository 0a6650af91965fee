"""Finding the address the preview URL is served at, from the Ingress status."""

from __future__ import annotations

import pytest

from preview.deploy import ChartRef, IngressAddress, install, wait_ingress
from preview.deploy.ingress import address_of, host_matches, ingress_hosts
from preview.errors import PreviewError
from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner
from tests.deploy.conftest import APP, Lines, run, virtual_cluster

HOST = "pr-3-shop.preview.test"


@pytest.mark.sandbox
@pytest.mark.tools
def test_the_ingress_for_the_host_gets_the_controllers_address(
        sandbox: Sandbox, kubectl: KubectlRunner) -> None:
    lines = Lines()

    async def scenario() -> IngressAddress:
        async with virtual_cluster(sandbox) as vc:
            await install(vc, ChartRef(str(APP)), "app", "ing-a", {"host": HOST}, 60, Lines())
            return await wait_ingress(vc, "ing-a", HOST, 30, lines)

    # The host sandbox's controller serves on loopback and publishes its ports in the status
    # (in the order http, https); ingress-nginx publishes none, and then 80/443 apply.
    found = run(scenario())
    status = kubectl("get", "ingress", "app-web", "-n", "ing-a", "-o",
                     "jsonpath={.status.loadBalancer.ingress[0].ip} "
                     "{.status.loadBalancer.ingress[0].ports[*].port}").stdout.split()
    assert found == IngressAddress(status[0], int(status[1]), int(status[2]), "app-web",
                                   hosts=(HOST,))
    assert lines[-1] == (f"ingress/app-web has address {status[0]} "
                         f"(http {status[1]}, https {status[2]})")


@pytest.mark.sandbox
@pytest.mark.tools
def test_no_ingress_for_the_host_names_the_hosts_there(sandbox: Sandbox,
                                                       kubectl: KubectlRunner) -> None:
    async def scenario() -> None:
        async with virtual_cluster(sandbox) as vc:
            await install(vc, ChartRef(str(APP)), "app", "ing-b", {"host": "other.test"}, 60,
                          Lines())
            await wait_ingress(vc, "ing-b", HOST, 1.5, Lines())

    with pytest.raises(PreviewError) as e:
        run(scenario())
    assert e.value.message == f"no Ingress in namespace ing-b serves {HOST} " \
                              "(Ingress hosts there: other.test)"
    assert e.value.hint and "{{ env.host }}" in e.value.hint

    kubectl("create", "ingress", "foreign", "-n", "ing-b", "--class=traefik",
            f"--rule={HOST}/=app-web:80")

    async def unclaimed() -> None:
        async with virtual_cluster(sandbox) as vc:
            await wait_ingress(vc, "ing-b", HOST, 1.5, Lines())

    with pytest.raises(PreviewError) as e:
        run(unclaimed())
    assert "got no address" in e.value.message


def test_address_and_ports_from_the_status() -> None:
    def ing(*entries: dict[str, object]) -> dict[str, object]:
        return {"status": {"loadBalancer": {"ingress": list(entries)}}}

    assert address_of(ing()) is None
    assert address_of({}) is None
    assert address_of(ing({"hostname": "lb.example.com"})) == \
        IngressAddress("lb.example.com", 80, 443)
    # the sandbox: loopback, HTTP port then HTTPS port
    assert address_of(ing({"ip": "127.0.0.1", "ports": [
        {"port": 41080, "protocol": "TCP"}, {"port": 41443, "protocol": "TCP"}]})) == \
        IngressAddress("127.0.0.1", 41080, 41443)
    assert address_of(ing({"ip": "10.0.0.1", "ports": [
        {"port": 443, "protocol": "TCP"}, {"port": 8080, "protocol": "TCP"}]})) == \
        IngressAddress("10.0.0.1", 8080, 443)
    assert address_of(ing({"ip": "10.0.0.1", "ports": [
        {"port": 80, "protocol": "TCP", "error": "Pending"}]})) == IngressAddress("10.0.0.1")


def test_host_matching() -> None:
    assert host_matches("a.example.com", "a.example.com")
    assert host_matches("*.example.com", "a.example.com")
    assert not host_matches("*.example.com", "a.b.example.com")
    assert not host_matches("*.example.com", "example.com")
    assert not host_matches("", "a.example.com")


@pytest.mark.sandbox
@pytest.mark.tools
def test_every_host_of_the_namespaces_ingresses_comes_with_the_address(
        sandbox: Sandbox) -> None:
    async def scenario() -> IngressAddress:
        async with virtual_cluster(sandbox) as vc:
            await install(vc, ChartRef(str(APP)), "app", "ing-h",
                          {"host": HOST, "extraHosts": ["api.preview.test", "*.wild.test"]},
                          60, Lines())
            return await wait_ingress(vc, "ing-h", HOST, 30, Lines())

    # Sorted, once each; a wildcard is no address anyone can open.
    assert run(scenario()).hosts == ("api.preview.test", HOST)


def test_ingress_hosts_are_the_rules_hosts_without_wildcards() -> None:
    def ingress(*hosts: str) -> dict:
        return {"spec": {"rules": [{"host": h} if h else {} for h in hosts]}}
    assert ingress_hosts([ingress("b.x", "a.x", "*.w.x", ""), ingress("a.x"), {}]) == \
        ("a.x", "b.x")
