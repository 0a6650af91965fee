"""Service translation: selectors, allocated fields, the cluster IP hand-back (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from preview import naming
from preview.syncer.context import Isolation, SyncContext
from preview.syncer.engine import fields
from preview.syncer.kinds import services
from preview.syncer.policy import Refused

CTX = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7")


def svc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1",
                         "resourceVersion": "9"},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.5.5",
                     "clusterIPs": ["10.96.5.5"],
                     "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                "nodePort": 30080}], **spec}}


def test_selector_matches_only_translated_pods_of_the_namespace() -> None:
    out = services.translate(svc(), CTX).obj
    assert out["spec"]["selector"] == {"app": "web", naming.VCLUSTER: "pr-7",
                                       naming.VIRTUAL_NAMESPACE: "shop"}
    pod_labels = {"app": "web", **naming.ownership_labels("pr-7", "shop")}
    assert out["spec"]["selector"].items() <= pod_labels.items()
    other_ns = naming.ownership_labels("pr-7", "other")
    assert not out["spec"]["selector"].items() <= {"app": "web", **other_ns}.items()


def test_host_allocates_ip_and_node_ports() -> None:
    out = services.translate(svc(type="NodePort"), CTX).obj
    assert "clusterIP" not in out["spec"] and "clusterIPs" not in out["spec"]
    assert out["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    assert out["spec"]["type"] == "NodePort"
    assert out["metadata"]["name"] == naming.host_name("web", "shop", "pr-7", 63)


def test_headless_stays_headless_and_selectorless_has_no_selector() -> None:
    assert services.translate(svc(clusterIP="None"), CTX).obj["spec"]["clusterIP"] == "None"
    bare = svc()
    del bare["spec"]["selector"]
    assert "selector" not in services.translate(bare, CTX).obj["spec"]


def test_cluster_ip_hand_back() -> None:
    host = {"spec": {"clusterIP": "10.96.9.9"}}
    virtual = svc()
    assert services.needs_cluster_ip(virtual, host)
    again = services.with_cluster_ip(virtual, host)
    assert again["spec"]["clusterIP"] == "10.96.9.9"
    assert again["spec"]["clusterIPs"] == ["10.96.9.9"]
    assert "uid" not in again["metadata"] and "resourceVersion" not in again["metadata"]
    assert not services.needs_cluster_ip(again, host)
    assert not services.needs_cluster_ip(svc(clusterIP="None"), {"spec": {"clusterIP": "None"}})


def test_patch_keeps_what_the_host_allocated() -> None:
    virtual = svc(type="NodePort")
    paths = services.SERVICE_KIND.synced_fields
    host = fields.with_bookkeeping(services.translate(virtual, CTX).obj, paths)
    host["spec"].update(clusterIP="10.96.9.9", clusterIPs=["10.96.9.9"], ipFamilies=["IPv4"])
    host["spec"]["ports"][0]["nodePort"] = 31000

    def patch_for(v: dict[str, Any]) -> dict[str, Any] | None:
        wanted = fields.with_bookkeeping(services.translate(v, CTX).obj, paths)
        services.keep_allocated(wanted, host)
        return fields.copy_patch(host, wanted, paths)
    assert patch_for(virtual) is None
    virtual["spec"]["ports"][0]["port"] = 8080
    patch = patch_for(virtual)
    assert patch is not None and patch["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "nodePort": 31000}]
    assert "clusterIP" not in patch["spec"] and "ipFamilies" not in patch["spec"]


@pytest.mark.parametrize(("spec", "rule"), [
    ({"type": "LoadBalancer"}, "load-balancer"),
    ({"type": "ExternalName", "externalName": "kubernetes.default"}, "external-name"),
    ({"type": "ExternalName", "externalName": "kubernetes.default.svc.cluster.local."},
     "external-name"),
    ({"type": "ExternalName", "externalName": "db.other-team.svc"}, "external-name"),
    ({"type": "ExternalName", "externalName": "vc-pr-7"}, "external-name"),
])
def test_refused_services(spec: dict[str, Any], rule: str) -> None:
    with pytest.raises(Refused) as e:
        services.translate(svc(**spec), CTX)
    assert e.value.rule == rule
    relaxed = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7",
                          isolation=Isolation(relaxed=frozenset({rule})))
    assert services.translate(svc(**spec), relaxed).obj["spec"]["type"] == spec["type"]


def test_external_name_outside_the_cluster_is_fine() -> None:
    out = services.translate(svc(type="ExternalName", externalName="db.example.com"), CTX)
    assert out.obj["spec"]["externalName"] == "db.example.com"


def test_external_ips_and_node_ports_are_stripped_unless_allowed() -> None:
    virtual = svc(type="NodePort", externalIPs=["10.0.0.1"])
    out = services.translate(virtual, CTX)
    assert "externalIPs" not in out.obj["spec"]
    assert "nodePort" not in out.obj["spec"]["ports"][0]
    assert {v.rule for v in out.stripped} == {"external-ips", "node-ports"}
    relaxed = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7", isolation=Isolation(
        relaxed=frozenset({"external-ips", "node-ports"})))
    out = services.translate(virtual, relaxed)
    assert out.obj["spec"]["externalIPs"] == ["10.0.0.1"] and out.stripped == ()
    assert out.obj["spec"]["ports"][0]["nodePort"] == 30080
