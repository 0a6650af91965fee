"""Service translation: selectors, allocated fields, the cluster IP hand-back (pure)."""

from __future__ import annotations

from typing import Any

from preview import naming
from preview.syncer.context import SyncContext
from preview.syncer.kinds import services

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
    out = services.translate(svc(), CTX)
    assert out["spec"]["selector"] == {"app": "web", naming.VCLUSTER: "pr-7",
                                       naming.VIRTUAL_NAMESPACE: "shop"}
    pod_labels = {"app": "web", **naming.ownership_labels("pr-7", "shop")}
    assert out["spec"]["selector"].items() <= pod_labels.items()
    other_ns = naming.ownership_labels("pr-7", "other")
    assert not out["spec"]["selector"].items() <= {"app": "web", **other_ns}.items()


def test_host_allocates_ip_and_node_ports() -> None:
    out = services.translate(svc(type="NodePort"), CTX)
    assert "clusterIP" not in out["spec"] and "clusterIPs" not in out["spec"]
    assert out["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    assert out["spec"]["type"] == "NodePort"
    assert out["metadata"]["name"] == naming.host_name("web", "shop", "pr-7", 63)


def test_headless_stays_headless_and_selectorless_has_no_selector() -> None:
    assert services.translate(svc(clusterIP="None"), CTX)["spec"]["clusterIP"] == "None"
    bare = svc()
    del bare["spec"]["selector"]
    assert "selector" not in services.translate(bare, CTX)["spec"]


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


def test_spec_changes_keep_host_node_ports() -> None:
    virtual = svc(type="NodePort")
    host = services.translate(virtual, CTX)
    host["spec"]["clusterIP"] = "10.96.9.9"
    host["spec"]["ports"][0]["nodePort"] = 31000
    assert services.spec_changes(virtual, host, CTX) is None
    virtual["spec"]["ports"][0]["port"] = 8080
    patch = services.spec_changes(virtual, host, CTX)
    assert patch is not None and patch["spec"]["ports"][0]["port"] == 8080
