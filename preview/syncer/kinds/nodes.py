"""Nodes: the virtual cluster sees the host nodes its pods run on, and only those."""

from __future__ import annotations

from typing import Any

from preview.syncer.objects import clone

_COPIED_STATUS = ("capacity", "allocatable", "conditions", "addresses", "nodeInfo",
                  "daemonEndpoints")
_VIRTUAL_NODE_LABEL = "preview-vcluster.io/fake-node"


def translate(host_node: dict[str, Any]) -> dict[str, Any]:
    """The virtual Node mirroring a host node (same name, labels, capacity, conditions)."""
    meta = host_node["metadata"]
    status = host_node.get("status") or {}
    spec = host_node.get("spec") or {}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": meta["name"],
                     "labels": {**(meta.get("labels") or {}), _VIRTUAL_NODE_LABEL: "true"},
                     "annotations": {}},
        "spec": {k: clone(spec[k]) for k in ("taints", "unschedulable", "podCIDR", "podCIDRs")
                 if k in spec},
        "status": {k: clone(status[k]) for k in _COPIED_STATUS if k in status},
    }


def status_changed(virtual_node: dict[str, Any], host_node: dict[str, Any]) -> bool:
    wanted = translate(host_node)["status"]
    current = virtual_node.get("status") or {}
    return any(current.get(k) != v for k, v in wanted.items())


def needed(host_pods: list[dict[str, Any]]) -> set[str]:
    """Names of the host nodes that run at least one synced pod."""
    return {p["spec"]["nodeName"] for p in host_pods if (p.get("spec") or {}).get("nodeName")}
