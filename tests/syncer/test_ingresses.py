"""The preview URL end to end: an app's Ingress, installed by helm in the virtual cluster,
reaches the host through the real syncer (subprocess), TLS Secret and all."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from preview import naming
from tests.conftest import KubectlRunner, wait_for
from tests.syncer.conftest import ALLOWED_DOMAIN, Pair

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
CHART = Path(__file__).parent / "charts" / "app"


def _read(fn: Any) -> Any:
    try:
        return fn()
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def test_helm_installed_ingress_reaches_the_host(pair: Pair, helm: KubectlRunner) -> None:
    ns = f"t-{uuid.uuid4().hex[:8]}"
    pair.virtual_core.create_namespace({"metadata": {"name": ns}})
    host = f"shop.{ALLOWED_DOMAIN}"
    helm("install", "shop", str(CHART), "-n", ns, "--set", "replicas=1", "--set",
         f"ingressHost={host}", "--set", "ingressAnnotations.team=a",
         kubeconfig=pair.virtual.kubeconfig)
    host_net = client.NetworkingV1Api(pair.host_core.api_client)
    virtual_net = client.NetworkingV1Api(pair.virtual_core.api_client)
    name = naming.host_name("shop-web", ns, pair.vcluster)

    copy = wait_for(lambda: _read(lambda: host_net.read_namespaced_ingress(
        name, pair.host_namespace)), 20, what="the host Ingress")
    assert copy.spec.rules[0].host == host
    assert copy.spec.rules[0].http.paths[0].backend.service.name == \
        naming.host_name("shop-web", ns, pair.vcluster, naming.DNS_LABEL_MAX)
    tls_name = naming.host_name("shop-tls", ns, pair.vcluster)
    assert copy.spec.tls[0].secret_name == tls_name
    secret = wait_for(lambda: _read(lambda: pair.host_core.read_namespaced_secret(
        tls_name, pair.host_namespace)), 20, what="the TLS Secret on the host")
    assert secret.type == "kubernetes.io/tls"

    # The host adds an annotation of its own; the tenant changes one: both hold.
    host_net.patch_namespaced_ingress(name, pair.host_namespace, {"metadata": {"annotations": {
        "cloud.example.com/lb-id": "lb-1"}}})
    helm("upgrade", "shop", str(CHART), "-n", ns, "--reuse-values", "--set",
         "ingressAnnotations.team=b", kubeconfig=pair.virtual.kubeconfig)

    def annotations() -> dict[str, str]:
        return dict(host_net.read_namespaced_ingress(name, pair.host_namespace)
                    .metadata.annotations or {})
    wait_for(lambda: annotations().get("team") == "b", 20, what="the annotation change")
    assert annotations()["cloud.example.com/lb-id"] == "lb-1"

    def virtual_addresses() -> list[str]:
        status = virtual_net.read_namespaced_ingress("shop-web", ns).status
        return [i.ip for i in (status.load_balancer.ingress or [])] if status and \
            status.load_balancer else []
    assert wait_for(virtual_addresses, 20, what="the host's address on the virtual Ingress")

    helm("uninstall", "shop", "-n", ns, kubeconfig=pair.virtual.kubeconfig)
    wait_for(lambda: _read(lambda: host_net.read_namespaced_ingress(
        name, pair.host_namespace)) is None, 20, what="the host Ingress to go")
    wait_for(lambda: _read(lambda: pair.host_core.read_namespaced_secret(
        tls_name, pair.host_namespace)) is None, 20, what="the TLS Secret to go")


def test_ingress_for_another_host_is_refused(pair: Pair) -> None:
    ns = f"t-{uuid.uuid4().hex[:8]}"
    pair.virtual_core.create_namespace({"metadata": {"name": ns}})
    virtual_net = client.NetworkingV1Api(pair.virtual_core.api_client)
    virtual_net.create_namespaced_ingress(ns, {
        "metadata": {"name": "steal"},
        "spec": {"rules": [{"host": "shop.pr-9.preview.example.com"}]}})

    def refused() -> bool:
        return any(e.reason == "SyncRefused" and "ingress-hosts" in e.message
                   for e in pair.virtual_core.list_namespaced_event(ns).items)
    wait_for(refused, 20, what="the refusal Event")
    host_net = client.NetworkingV1Api(pair.host_core.api_client)
    assert _read(lambda: host_net.read_namespaced_ingress(
        naming.host_name("steal", ns, pair.vcluster), pair.host_namespace)) is None


def test_a_host_copy_asleep_keeps_the_wake_page_until_wake_restores_it() -> None:
    """Pure: the syncer starting with a woken control plane does not undo the wake page
    (the copy carries sleep's record); once wake removed it, the translation wins again."""
    from preview.syncer.engine import fields
    from preview.syncer.kinds.ingresses import INGRESS_KIND, keep_wake_page

    assert INGRESS_KIND.keep is keep_wake_page
    translated = {"spec": {"rules": [{"host": "a.example", "http": {"paths": [{
        "path": "/", "pathType": "Prefix", "backend": {"service": {
            "name": "web-x-default-x-vcluster", "port": {"number": 80}}}}]}}]}}
    wanted = fields.with_bookkeeping({"metadata": {"name": "web"}, **translated},
                                     INGRESS_KIND.synced_fields)
    host = {"metadata": {"name": "web", "annotations": {
        **wanted["metadata"]["annotations"], naming.SLEEP_INGRESS: "{}"}},
        "spec": {"rules": [{"host": "a.example", "http": {"paths": [{
            "path": "/", "pathType": "Prefix", "backend": {"service": {
                "name": naming.WAKE_SERVICE, "port": {"number": 8081}}}}]}}]}}
    kept = {**wanted, "spec": dict(wanted["spec"])}
    keep_wake_page(kept, host)
    assert fields.copy_patch(host, kept, INGRESS_KIND.synced_fields) is None
    del host["metadata"]["annotations"][naming.SLEEP_INGRESS]
    awake = {**wanted, "spec": dict(wanted["spec"])}
    keep_wake_page(awake, host)
    patch = fields.copy_patch(host, awake, INGRESS_KIND.synced_fields)
    assert patch is not None and patch["spec"]["rules"] == translated["spec"]["rules"]
