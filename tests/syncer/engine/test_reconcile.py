"""The generic reconcile as tables of state in → state out, between two real sandboxes.

Each case sets up virtual and host objects over HTTP, runs one reconcile of the engine
(harness.Engine.once) and reads back what the host and the virtual cluster hold. Every
isolation rule is checked both ways: enforced (the host does not get it, an Event on the
virtual object names the rule) and relaxed (it does).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from preview import naming
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.syncer.context import Isolation, OwnerRef, SyncContext
from preview.syncer.engine import fields
from tests.conftest import wait_for
from tests.syncer.engine.harness import Engine

pytestmark = pytest.mark.sandbox
VC = "pr-1"
ALLOWED = ("*.pr-1.preview.example.com",)


class World:
    """Both clusters as the official client sees them, and one fresh namespace on each."""

    def __init__(self, engine: Engine, host: client.ApiClient, virtual: client.ApiClient) -> None:
        self.engine = engine
        self.host_core, self.host_net = client.CoreV1Api(host), client.NetworkingV1Api(host)
        self.core, self.net = client.CoreV1Api(virtual), client.NetworkingV1Api(virtual)
        self.ns = f"t-{uuid.uuid4().hex[:6]}"
        self.host_ns = f"vc-{self.ns}"
        self.core.create_namespace({"metadata": {"name": self.ns}})
        self.host_core.create_namespace({"metadata": {"name": self.host_ns}})
        owner = self.host_core.create_namespaced_service(self.host_ns, {
            "metadata": {"name": VC}, "spec": {"ports": [{"port": 443}]}})
        self.owner = OwnerRef("v1", "Service", VC, owner.metadata.uid)

    def ctx(self, *relaxed: str, hosts: tuple[str, ...] = ALLOWED) -> SyncContext:
        return SyncContext(vcluster=VC, host_namespace=self.host_ns, owner=self.owner,
                           isolation=Isolation(relaxed=frozenset(relaxed), allowed_hosts=hosts))

    def once(self, kind: str, name: str, *relaxed: str, **kw: Any) -> None:
        self.engine.once(self.ctx(*relaxed, **kw), kind, self.ns, name)

    def host_name(self, name: str, limit: int = naming.DNS_SUBDOMAIN_MAX) -> str:
        return naming.host_name(name, self.ns, VC, limit)

    def host_ingress(self, name: str) -> Any:
        return _read(lambda: self.host_net.read_namespaced_ingress(self.host_name(name),
                                                                   self.host_ns))

    def events(self, name: str) -> list[tuple[str, str]]:
        return [(e.reason, e.message) for e in self.core.list_namespaced_event(self.ns).items
                if e.involved_object.name == name]

    def told(self, name: str, reason: str, rule: str) -> bool:
        return any(r == reason and f"isolation rule {rule}:" in m for r, m in self.events(name))


def _read(fn: Any) -> Any:
    try:
        return fn()
    except ApiException as e:
        if e.status == 404:
            return None
        raise


@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[Engine, client.ApiClient, client.ApiClient]]:
    with Sandbox(ServerConfig(flavour="host", nodes=1, runtimes=[])) as host, \
            Sandbox(ServerConfig(flavour="virtual")) as virtual, \
            config.new_client_from_config(host.kubeconfig) as host_api, \
            config.new_client_from_config(virtual.kubeconfig) as virtual_api:
        yield Engine(host, virtual), host_api, virtual_api


@pytest.fixture
def w(engine: tuple[Engine, client.ApiClient, client.ApiClient]) -> World:
    return World(*engine)


def ingress(name: str = "shop", host: str = "shop.pr-1.preview.example.com",
            annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"tls": [{"hosts": [host], "secretName": f"{name}-tls"}],
                     "rules": [{"host": host, "http": {"paths": [{
                         "path": "/", "pathType": "Prefix",
                         "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}],
                     **spec}}


def tls_secret(name: str = "shop-tls") -> dict[str, Any]:
    return {"metadata": {"name": name}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": "Y3J0", "tls.key": "a2V5"}}


# -- ingresses -----------------------------------------------------------------------------------
def test_ingress_is_created_with_translated_backends_tls_secret_and_owner(w: World) -> None:
    w.core.create_namespaced_secret(w.ns, tls_secret())
    w.core.create_namespaced_secret(w.ns, tls_secret("unused"))
    w.net.create_namespaced_ingress(w.ns, ingress())
    w.once("ingresses", "shop")
    copy = w.host_ingress("shop")
    assert copy is not None
    backend = copy.spec.rules[0].http.paths[0].backend.service
    assert backend.name == w.host_name("web", naming.DNS_LABEL_MAX)
    assert copy.spec.tls[0].secret_name == w.host_name("shop-tls")
    assert [(r.kind, r.name, r.uid) for r in copy.metadata.owner_references] == \
        [("Service", VC, w.owner.uid)]
    # The TLS Secret is referenced by the Ingress: copied with `configs: referenced`.
    w.once("secrets", "shop-tls")
    w.once("secrets", "unused")
    host_secret = w.host_core.read_namespaced_secret(w.host_name("shop-tls"), w.host_ns)
    assert host_secret.type == "kubernetes.io/tls" and host_secret.data["tls.crt"] == "Y3J0"
    assert _read(lambda: w.host_core.read_namespaced_secret(w.host_name("unused"),
                                                            w.host_ns)) is None


def test_ingress_changes_reach_the_host_and_host_keys_survive(w: World) -> None:
    w.net.create_namespaced_ingress(w.ns, ingress(annotations={"team": "a", "old": "x"}))
    w.once("ingresses", "shop")
    w.host_net.patch_namespaced_ingress(w.host_name("shop"), w.host_ns, {"metadata": {
        "annotations": {"cloud.example.com/lb-id": "lb-1"}, "labels": {"cost": "7"}}})
    w.net.patch_namespaced_ingress("shop", w.ns, {
        "metadata": {"annotations": {"team": "b", "old": None}},
        "spec": {"tls": None}})
    w.once("ingresses", "shop")
    copy = w.host_ingress("shop")
    assert copy.metadata.annotations["team"] == "b"
    assert "old" not in copy.metadata.annotations
    assert copy.metadata.annotations["cloud.example.com/lb-id"] == "lb-1"  # the host's own
    assert copy.metadata.labels["cost"] == "7"
    assert not copy.spec.tls  # a removed field is removed on the host too
    managed = copy.metadata.annotations[fields.MANAGED_ANNOTATIONS].split(",")
    assert "team" in managed and "cloud.example.com/lb-id" not in managed


def test_ingress_status_comes_back(w: World) -> None:
    w.net.create_namespaced_ingress(w.ns, ingress())
    w.once("ingresses", "shop")

    def host_addresses() -> list[str]:  # the host's ingress controller publishes them
        status = w.host_ingress("shop").status
        return [i.ip for i in (status.load_balancer.ingress or [])] \
            if status and status.load_balancer else []
    addresses = wait_for(host_addresses, 10, what="the host ingress controller's address")
    w.once("ingresses", "shop")
    status = w.net.read_namespaced_ingress("shop", w.ns).status
    assert [i.ip for i in status.load_balancer.ingress] == addresses


@pytest.mark.parametrize(("host", "allowed"), [
    ("shop.pr-2.preview.example.com", ALLOWED),  # another preview's host
    ("a.b.pr-1.preview.example.com", ALLOWED),  # one label only
    ("*.pr-1.preview.example.com", ("shop.pr-1.preview.example.com",)),  # wildcard
    ("*.example.com", ()),  # no patterns: never a wildcard
])
def test_ingress_host_outside_the_allowed_patterns_is_refused(
        w: World, host: str, allowed: tuple[str, ...]) -> None:
    w.net.create_namespaced_ingress(w.ns, ingress(host=host))
    w.once("ingresses", "shop", hosts=allowed)
    assert w.host_ingress("shop") is None
    assert w.told("shop", "SyncRefused", "ingress-hosts")
    w.once("ingresses", "shop", "ingress-hosts", hosts=allowed)
    assert w.host_ingress("shop").spec.rules[0].host == host


def test_ingress_moved_to_a_forbidden_host_loses_its_copy(w: World) -> None:
    w.net.create_namespaced_ingress(w.ns, ingress())
    w.once("ingresses", "shop")
    assert w.host_ingress("shop") is not None
    w.net.patch_namespaced_ingress("shop", w.ns, {"spec": {"rules": [
        {"host": "www.example.org"}], "tls": None}})
    w.once("ingresses", "shop")
    assert w.host_ingress("shop") is None
    assert w.told("shop", "SyncRefused", "ingress-hosts")


def test_ingress_snippets_are_stripped(w: World) -> None:
    snippet = "nginx.ingress.kubernetes.io/configuration-snippet"
    w.net.create_namespaced_ingress(w.ns, ingress(annotations={
        snippet: "proxy_pass http://kubernetes.default;", "nginx.ingress.kubernetes.io/"
        "rewrite-target": "/"}))
    w.once("ingresses", "shop")
    notes = w.host_ingress("shop").metadata.annotations
    assert snippet not in notes and notes["nginx.ingress.kubernetes.io/rewrite-target"] == "/"
    assert w.told("shop", "SyncStripped", "ingress-annotations")
    w.once("ingresses", "shop", "ingress-annotations")
    assert snippet in w.host_ingress("shop").metadata.annotations


def test_resource_backend_is_refused(w: World) -> None:
    w.net.create_namespaced_ingress(w.ns, ingress(defaultBackend={"resource": {
        "apiGroup": "", "kind": "Secret", "name": VC}}))
    w.once("ingresses", "shop", hosts=("*",))
    assert w.host_ingress("shop") is None
    assert w.told("shop", "SyncRefused", "ingress-backends")


def test_foreign_object_with_the_name_is_left_alone(w: World) -> None:
    w.host_net.create_namespaced_ingress(w.host_ns, {
        **ingress(w.host_name("shop")), "metadata": {"name": w.host_name("shop"),
                                                      "labels": {"team": "other"}}})
    w.net.create_namespaced_ingress(w.ns, ingress())
    w.once("ingresses", "shop")
    foreign = w.host_ingress("shop")
    assert foreign.metadata.labels == {"team": "other"}
    assert any(r == "SyncConflict" for r, _ in w.events("shop"))


def test_copy_goes_with_its_virtual_object_and_with_a_new_uid(w: World) -> None:
    w.net.create_namespaced_ingress(w.ns, ingress())
    w.once("ingresses", "shop")
    w.net.delete_namespaced_ingress("shop", w.ns)
    w.once("ingresses", "shop")
    assert w.host_ingress("shop") is None
    w.net.create_namespaced_ingress(w.ns, ingress())
    w.once("ingresses", "shop")
    first = w.host_ingress("shop").metadata.uid
    w.net.delete_namespaced_ingress("shop", w.ns)
    w.net.create_namespaced_ingress(w.ns, ingress())  # same name, new uid
    w.once("ingresses", "shop")
    assert w.host_ingress("shop") is None  # the earlier copy is deleted…
    w.once("ingresses", "shop")
    assert w.host_ingress("shop").metadata.uid != first  # …and a new one made


def test_reserved_prefix_never_reaches_the_host(w: World) -> None:
    forged = ingress()
    forged["metadata"]["labels"] = {naming.MANAGED_BY: "preview-vcluster",
                                    f"{naming.PREFIX}owner": "pr-2", "app": "shop"}
    forged["metadata"]["annotations"] = {naming.VIRTUAL_NAME_ANNOTATION: "kube-system"}
    w.net.create_namespaced_ingress(w.ns, forged)
    w.once("ingresses", "shop")
    meta = w.host_ingress("shop").metadata
    assert f"{naming.PREFIX}owner" not in meta.labels and meta.labels["app"] == "shop"
    assert meta.labels[naming.MANAGED_BY] == "syncer"
    assert meta.annotations[naming.VIRTUAL_NAME_ANNOTATION] == "shop"
    assert w.told("shop", "SyncStripped", "reserved-prefix")


# -- services, endpoints, claims, configs --------------------------------------------------------
def test_service_rules(w: World) -> None:
    w.core.create_namespaced_service(w.ns, {"metadata": {"name": "lb"}, "spec": {
        "type": "LoadBalancer", "ports": [{"port": 80}]}})
    w.core.create_namespaced_service(w.ns, {"metadata": {"name": "ext"}, "spec": {
        "externalIPs": ["203.0.113.9"], "ports": [{"port": 80}], "selector": {"a": "b"}}})
    w.core.create_namespaced_service(w.ns, {"metadata": {"name": "alias"}, "spec": {
        "type": "ExternalName", "externalName": "kubernetes.default.svc.cluster.local"}})
    for name in ("lb", "ext", "alias"):
        w.once("services", name)

    def host_svc(name: str) -> Any:
        return _read(lambda: w.host_core.read_namespaced_service(
            w.host_name(name, naming.DNS_LABEL_MAX), w.host_ns))
    assert host_svc("lb") is None and w.told("lb", "SyncRefused", "load-balancer")
    assert host_svc("alias") is None and w.told("alias", "SyncRefused", "external-name")
    assert not host_svc("ext").spec.external_ips
    assert w.told("ext", "SyncStripped", "external-ips")
    w.once("services", "lb", "load-balancer")
    assert host_svc("lb").spec.type == "LoadBalancer"


def test_selectorless_endpoints_must_point_at_our_own_addresses(w: World) -> None:
    for name in ("foreign", "own"):
        w.core.create_namespaced_service(w.ns, {"metadata": {"name": name},
                                                "spec": {"ports": [{"port": 80}]}})
    svc_ip = w.core.read_namespaced_service("own", w.ns).spec.cluster_ip
    for name, ip in (("foreign", "10.1.2.3"), ("own", svc_ip)):
        w.core.create_namespaced_endpoints(w.ns, {"metadata": {"name": name}, "subsets": [
            {"addresses": [{"ip": ip}], "ports": [{"port": 80}]}]})
        w.once("endpoints", name)

    def host_ep(name: str) -> Any:
        return _read(lambda: w.host_core.read_namespaced_endpoints(
            w.host_name(name, naming.DNS_LABEL_MAX), w.host_ns))
    assert host_ep("foreign") is None
    assert w.told("foreign", "SyncRefused", "foreign-endpoints")
    assert host_ep("own").subsets[0].addresses[0].ip == svc_ip
    w.once("endpoints", "foreign", "foreign-endpoints")
    assert host_ep("foreign").subsets[0].addresses[0].ip == "10.1.2.3"


def test_claim_cannot_bind_a_host_volume(w: World) -> None:
    w.core.create_namespaced_persistent_volume_claim(w.ns, {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "volumeName": "pvc-of-another-tenant",
        "resources": {"requests": {"storage": "1Gi"}}}})
    w.once("persistentvolumeclaims", "data")
    claim = w.host_core.read_namespaced_persistent_volume_claim(w.host_name("data"), w.host_ns)
    assert claim.spec.volume_name != "pvc-of-another-tenant"
    assert w.told("data", "SyncStripped", "volume-name")


def test_config_map_follows_its_references(w: World) -> None:
    w.core.create_namespaced_config_map(w.ns, {"metadata": {"name": "settings"},
                                               "data": {"a": "1"}})
    w.once("configmaps", "settings")
    host_cm = w.host_name("settings")
    assert _read(lambda: w.host_core.read_namespaced_config_map(host_cm, w.host_ns)) is None
    w.core.create_namespaced_pod(w.ns, {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "image": "x", "envFrom": [{"configMapRef": {"name": "settings"}}]}]}})
    w.once("configmaps", "settings")
    w.host_core.patch_namespaced_config_map(host_cm, w.host_ns, {"metadata": {"annotations": {
        "backup.example.com/at": "now"}}})
    w.core.patch_namespaced_config_map("settings", w.ns, {"data": {"a": None, "b": "2"}})
    w.once("configmaps", "settings")
    copy = w.host_core.read_namespaced_config_map(host_cm, w.host_ns)
    assert copy.data == {"b": "2"}
    assert copy.metadata.annotations["backup.example.com/at"] == "now"
    w.core.delete_namespaced_pod("p", w.ns, grace_period_seconds=0)
    w.once("configmaps", "settings")
    assert _read(lambda: w.host_core.read_namespaced_config_map(host_cm, w.host_ns)) is None
