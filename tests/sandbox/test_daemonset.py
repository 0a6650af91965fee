"""The DaemonSet controller over HTTP, and its node predicate without a server."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.controllers.daemonset import should_run, target_node, tolerates
from tests.conftest import wait_for
from tests.sandbox.workloads import (  # noqa: F401  (fixtures)
    control_plane_fixture,
    cp_apps_fixture,
    cp_client_fixture,
    cp_core_fixture,
    ns_fixture,
    pod_template,
    pods,
    set_phase,
)


def node(name: str, labels: dict[str, str] | None = None,
         taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "spec": {"taints": taints or []}}


def test_should_run_honours_selector_affinity_and_taints() -> None:
    template = {"spec": {"nodeSelector": {"disk": "ssd"}}}
    assert should_run(template, node("a", {"disk": "ssd"}))
    assert not should_run(template, node("b"))
    tainted = node("c", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    assert not should_run({"spec": {}}, tainted)
    assert should_run({"spec": {"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]}},
        tainted)
    # The controller's own tolerations cover cordoned nodes; PreferNoSchedule never blocks.
    assert should_run({"spec": {}}, node("d", taints=[
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
        {"key": "x", "effect": "PreferNoSchedule"}]))
    affinity = {"spec": {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}]}}}}}
    assert should_run(affinity, node("e", {"zone": "z1"}))
    assert not should_run(affinity, node("f", {"zone": "z2"}))
    assert tolerates([{"operator": "Exists"}], {"key": "any", "effect": "NoExecute"})


@pytest.mark.sandbox
def test_one_pod_per_node_pinned_by_affinity(cp_apps: client.AppsV1Api,
                                             cp_core: client.CoreV1Api, ns: str) -> None:
    # The virtual flavour has no nodes of its own: this test brings two (and a tainted one).
    suffix = ns[-6:]
    names = [f"n1-{suffix}", f"n2-{suffix}"]
    for n in names:
        cp_core.create_node(node(n, {"ds-test": suffix}))
    cp_core.create_node(node(f"n3-{suffix}", {"ds-test": suffix}, taints=[
        {"key": "dedicated", "value": "x", "effect": "NoSchedule"}]))
    template = pod_template("agent")
    template["spec"]["nodeSelector"] = {"ds-test": suffix}
    cp_apps.create_namespaced_daemon_set(ns, {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template}})
    found = wait_for(lambda: (lambda ps: ps if len(ps) == 2 else None)(
        pods(cp_core, ns, "app=agent")), what="2 daemon pods")
    assert sorted(target_node(cp_core.api_client.sanitize_for_serialization(p))
                  for p in found) == sorted(names)
    assert all(p.spec.node_name is None for p in found)  # the scheduler binds, not us
    # Status follows the pods a pass of the controller later.
    st = wait_for(lambda: (lambda s: s if s and s.current_number_scheduled == 2 else None)(
        cp_apps.read_namespaced_daemon_set_status("agent", ns).status), what="status of 2")
    assert st.desired_number_scheduled == 2
    assert not st.number_ready
    for p in found:
        set_phase(cp_core, ns, p.metadata.name, "Running", ready=True)
    st = wait_for(lambda: (lambda s: s if s.number_available == 2 else None)(
        cp_apps.read_namespaced_daemon_set_status("agent", ns).status), what="2 available")
    assert (st.number_ready, st.updated_number_scheduled, st.observed_generation) == (2, 2, 1)
    # Rolling update: pods are replaced one node at a time (maxUnavailable 1).
    cp_apps.patch_namespaced_daemon_set("agent", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "main", "image": "nginx:1.28"}]}}}})

    def rolled() -> bool:
        live = pods(cp_core, ns, "app=agent")
        for p in live:
            if p.status.phase != "Running":
                set_phase(cp_core, ns, p.metadata.name, "Running", ready=True)
        s = cp_apps.read_namespaced_daemon_set_status("agent", ns).status
        return bool(s.updated_number_scheduled == 2 and s.number_available == 2
                    and s.observed_generation == 2)

    wait_for(rolled, timeout=15, what="daemon set rolled")
    cp_core.delete_node(names[0])
    wait_for(lambda: len(pods(cp_core, ns, "app=agent")) == 1, what="pod of removed node gone")
    for n in [*names[1:], f"n3-{suffix}"]:
        cp_core.delete_node(n)
