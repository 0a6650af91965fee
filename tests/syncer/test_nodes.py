"""Virtual node shapes (pure)."""

from __future__ import annotations

from preview.syncer.kinds import nodes


def test_real_node_mirrors_the_host_but_points_at_the_syncer() -> None:
    host = {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "a"}},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}], "podCIDR": "10.0.0.0/24"},
            "status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "3"},
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": {"kubeletVersion": "v1.34.1"}}}
    node = nodes.translate(host, "10.1.2.3", 8443)
    assert node["metadata"]["labels"] == {"topology.kubernetes.io/zone": "a",
                                          nodes.NODE_LABEL: "real"}
    assert node["spec"] == {"taints": [{"key": "k", "effect": "NoSchedule"}]}
    assert node["status"]["capacity"] == {"cpu": "4"}
    assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "10.1.2.3"}
    assert node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 8443}}
    assert not nodes.status_changed({"status": node["status"]}, node)


def test_fake_node_is_complete_and_stable() -> None:
    a, b = nodes.fake("n1", "", 8443), nodes.fake("n1", "", 8443)
    assert a["status"]["nodeInfo"] == b["status"]["nodeInfo"]
    assert all(v is not None for v in a["status"]["nodeInfo"].values())
    assert a["metadata"]["labels"][nodes.NODE_LABEL] == "fake"
    assert nodes.needed([{"spec": {"nodeName": "n1"}}, {"spec": {}}]) == {"n1"}
