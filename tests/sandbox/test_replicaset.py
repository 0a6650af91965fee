"""The ReplicaSet controller over HTTP: pods created, adopted, deleted; status counted."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.conftest import wait_for
from tests.sandbox.workloads import (  # noqa: F401  (fixtures)
    control_plane_fixture,
    cp_apps_fixture,
    cp_client_fixture,
    cp_core_fixture,
    make_ready,
    ns_fixture,
    pod_template,
    pods,
    set_phase,
)

pytestmark = pytest.mark.sandbox


def replica_set(name: str, replicas: int, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": pod_template(name), **spec}}


def status(apps: client.AppsV1Api, ns: str, name: str) -> Any:
    return apps.read_namespaced_replica_set_status(name, ns).status


def test_creates_pods_and_counts_them(cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api,
                                      ns: str) -> None:
    cp_apps.create_namespaced_replica_set(ns, replica_set("web", 3))
    names = make_ready(cp_core, ns, "app=web", 3)
    assert all(n.startswith("web-") and len(n) == len("web-") + 5 for n in names)
    pod = cp_core.read_namespaced_pod(names[0], ns)
    ref = pod.metadata.owner_references[0]
    assert (ref.kind, ref.name, ref.controller, ref.block_owner_deletion) == \
        ("ReplicaSet", "web", True, True)
    st = wait_for(lambda: (lambda s: s if s.available_replicas == 3 else None)(
        status(cp_apps, ns, "web")), what="3 available")
    assert (st.replicas, st.fully_labeled_replicas, st.ready_replicas) == (3, 3, 3)
    assert st.observed_generation == 1
    reasons = {e.reason for e in cp_core.list_namespaced_event(ns).items}
    assert "SuccessfulCreate" in reasons


def test_scale_down_deletes_not_ready_pods_first(cp_apps: client.AppsV1Api,
                                                 cp_core: client.CoreV1Api, ns: str) -> None:
    cp_apps.create_namespaced_replica_set(ns, replica_set("web", 3))
    found = wait_for(lambda: (lambda ps: ps if len(ps) == 3 else None)(
        pods(cp_core, ns, "app=web")), what="3 pods")
    ready = [p.metadata.name for p in found[:2]]
    for name in ready:
        set_phase(cp_core, ns, name, "Running", ready=True)
    wait_for(lambda: status(cp_apps, ns, "web").ready_replicas == 2, what="2 ready")
    cp_apps.patch_namespaced_replica_set_scale("web", ns, {"spec": {"replicas": 2}})
    left = wait_for(lambda: (lambda ps: ps if len(ps) == 2 else None)(
        pods(cp_core, ns, "app=web")), what="2 pods left")
    assert sorted(p.metadata.name for p in left) == sorted(ready)
    wait_for(lambda: status(cp_apps, ns, "web").replicas == 2, what="status.replicas 2")
    reasons = {e.reason for e in cp_core.list_namespaced_event(ns).items}
    assert "SuccessfulDelete" in reasons


def test_adopts_orphans_and_replaces_deleted_pods(cp_apps: client.AppsV1Api,
                                                  cp_core: client.CoreV1Api, ns: str) -> None:
    cp_core.create_namespaced_pod(ns, {"metadata": {"name": "stray", "labels": {"app": "web"}},
                                       "spec": pod_template("web")["spec"]})
    cp_apps.create_namespaced_replica_set(ns, replica_set("web", 2))
    found = wait_for(lambda: (lambda ps: ps if len(ps) == 2 else None)(
        pods(cp_core, ns, "app=web")), what="2 pods")
    assert "stray" in {p.metadata.name for p in found}
    refs = wait_for(lambda: cp_core.read_namespaced_pod("stray", ns).metadata.owner_references,
                    what="stray adopted")
    assert [(r.kind, r.name, r.controller) for r in refs] == [("ReplicaSet", "web", True)]
    cp_core.delete_namespaced_pod("stray", ns)
    wait_for(lambda: (lambda ps: len(ps) == 2 and "stray" not in {p.metadata.name for p in ps})(
        pods(cp_core, ns, "app=web")), what="a replacement pod")


def test_min_ready_seconds_delays_availability(cp_apps: client.AppsV1Api,
                                               cp_core: client.CoreV1Api, ns: str) -> None:
    # Ready for far less than minReadySeconds: ready, not available (no timing race).
    cp_apps.create_namespaced_replica_set(ns, replica_set("web", 1, minReadySeconds=300))
    make_ready(cp_core, ns, "app=web", 1)
    first = wait_for(lambda: (lambda st: st if st.ready_replicas == 1 else None)(
        status(cp_apps, ns, "web")), what="ready")
    assert not first.available_replicas
    # Once the pod has been ready long enough (here: the requirement drops), it counts.
    cp_apps.patch_namespaced_replica_set("web", ns, {"spec": {"minReadySeconds": 0}})
    wait_for(lambda: status(cp_apps, ns, "web").available_replicas == 1, timeout=10,
             what="available once ready for minReadySeconds")
