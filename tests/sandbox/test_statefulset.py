"""The StatefulSet controller over HTTP: ordered pods, claims, revisions, rolling update."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.controllers import statefulset_plan as sp
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

pytestmark = pytest.mark.sandbox


def stateful_set(name: str, replicas: int, image: str = "postgres:16", **spec: Any
                 ) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name,
                     "selector": {"matchLabels": {"app": name}},
                     "template": pod_template(name, image),
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}], **spec}}


def names(core: client.CoreV1Api, ns: str) -> list[str]:
    return sorted(p.metadata.name for p in pods(core, ns, "app=db"))


def ready_next(core: client.CoreV1Api, ns: str, expected: list[str]) -> None:
    """Wait until exactly `expected` pods exist, then make the not-yet-running ones ready."""
    wait_for(lambda: names(core, ns) == expected, what=f"pods {expected}")
    for p in pods(core, ns, "app=db"):
        if p.status.phase != "Running":
            set_phase(core, ns, p.metadata.name, "Running", ready=True)


def sts_status(apps: client.AppsV1Api, ns: str) -> Any:
    return apps.read_namespaced_stateful_set_status("db", ns).status


def test_ordered_creation_with_claims_and_identity(cp_apps: client.AppsV1Api,
                                                   cp_core: client.CoreV1Api, ns: str) -> None:
    cp_apps.create_namespaced_stateful_set(ns, stateful_set("db", 3))
    ready_next(cp_core, ns, ["db-0"])
    ready_next(cp_core, ns, ["db-0", "db-1"])
    ready_next(cp_core, ns, ["db-0", "db-1", "db-2"])
    st = wait_for(lambda: (lambda s: s if s.ready_replicas == 3 else None)(sts_status(cp_apps, ns)),
                  what="3 ready")
    assert st.current_revision == st.update_revision and st.update_revision.startswith("db-")
    assert (st.replicas, st.current_replicas, st.updated_replicas, st.available_replicas) == \
        (3, 3, 3, 3)
    pod = cp_core.read_namespaced_pod("db-1", ns)
    assert pod.metadata.labels["controller-revision-hash"] == st.update_revision
    assert pod.metadata.labels["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert (pod.spec.hostname, pod.spec.subdomain) == ("db-1", "db")
    volume = next(v for v in pod.spec.volumes if v.name == "data")
    assert volume.persistent_volume_claim.claim_name == "data-db-1"
    pvc = cp_core.read_namespaced_persistent_volume_claim("data-db-1", ns)
    assert pvc.metadata.labels == {"app": "db"}
    revs = cp_apps.list_namespaced_controller_revision(ns).items
    assert [r.metadata.name for r in revs] == [st.update_revision] and revs[0].revision == 1


def test_scale_down_highest_first_and_claims_retained(cp_apps: client.AppsV1Api,
                                                      cp_core: client.CoreV1Api, ns: str) -> None:
    cp_apps.create_namespaced_stateful_set(ns, stateful_set("db", 3, podManagementPolicy="Parallel"))
    ready_next(cp_core, ns, ["db-0", "db-1", "db-2"])
    cp_apps.patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 1}})
    wait_for(lambda: names(cp_core, ns) == ["db-0"], what="db-1 and db-2 gone")
    claims = {c.metadata.name for c in
              cp_core.list_namespaced_persistent_volume_claim(ns).items}
    assert claims == {"data-db-0", "data-db-1", "data-db-2"}
    wait_for(lambda: sts_status(cp_apps, ns).replicas == 1, what="status.replicas 1")


def test_rolling_update_in_reverse_order_honours_partition(
        cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api, ns: str) -> None:
    cp_apps.create_namespaced_stateful_set(ns, stateful_set("db", 3, podManagementPolicy="Parallel"))
    ready_next(cp_core, ns, ["db-0", "db-1", "db-2"])
    first = wait_for(lambda: (lambda s: s if s.ready_replicas == 3 else None)(
        sts_status(cp_apps, ns)), what="ready").update_revision
    cp_apps.patch_namespaced_stateful_set("db", ns, {"spec": {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
        "template": {"spec": {"containers": [{"name": "main", "image": "postgres:17"}]}}}})

    def revision(name: str) -> str:
        return str(cp_core.read_namespaced_pod(name, ns).metadata.labels[
            "controller-revision-hash"])

    def converge() -> Any:
        for p in pods(cp_core, ns, "app=db"):
            if p.status.phase != "Running":
                set_phase(cp_core, ns, p.metadata.name, "Running", ready=True)
        s = sts_status(cp_apps, ns)
        return s if s.updated_replicas == 2 and s.ready_replicas == 3 else None

    st = wait_for(converge, timeout=15, what="db-2 and db-1 updated")
    assert st.update_revision != first and st.current_revision == first
    assert revision("db-0") == first
    assert revision("db-1") == revision("db-2") == st.update_revision
    cp_apps.patch_namespaced_stateful_set("db", ns, {"spec": {"updateStrategy": {
        "rollingUpdate": {"partition": 0}}}})

    def finished() -> Any:
        converge()
        s = sts_status(cp_apps, ns)
        return s if s.current_revision == s.update_revision and s.current_replicas == 3 else None

    wait_for(finished, timeout=15, what="rollout complete")
    assert revision("db-0") == st.update_revision
    revs = sorted((r.revision, r.metadata.name) for r in
                  cp_apps.list_namespaced_controller_revision(ns).items)
    assert revs == [(1, first), (2, st.update_revision)]


def test_ordered_ready_waits_for_each_pod(cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api,
                                          ns: str) -> None:
    cp_apps.create_namespaced_stateful_set(ns, stateful_set("db", 2))
    wait_for(lambda: names(cp_core, ns) == ["db-0"], what="db-0")
    set_phase(cp_core, ns, "db-0", "Running", ready=False)
    with pytest.raises(AssertionError):
        wait_for(lambda: len(names(cp_core, ns)) > 1, timeout=0.5, what="no db-1 yet")
    set_phase(cp_core, ns, "db-0", "Running", ready=True)
    wait_for(lambda: names(cp_core, ns) == ["db-0", "db-1"], what="db-1 after db-0 ready")


# -- the pure plan --------------------------------------------------------------------------
def _pod(name: str, revision: str = "r1", ready: bool = True, phase: str = "Running"
         ) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"controller-revision-hash": revision}},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": "2025-01-01T00:00:00Z"}]}}


def _sts(replicas: int, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "db", "generation": 3},
            "spec": {"replicas": replicas, "updateStrategy": {"type": "RollingUpdate"}, **spec}}


AT = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)


def test_plan_creates_in_order_and_waits_for_readiness() -> None:
    assert sp.plan(_sts(3), [], "r1", AT).create == [0]
    assert sp.plan(_sts(3), [_pod("db-0", ready=False)], "r1", AT).create == []
    assert sp.plan(_sts(3), [_pod("db-0")], "r1", AT).create == [1]
    assert sp.plan(_sts(3, podManagementPolicy="Parallel"), [], "r1", AT).create == [0, 1, 2]


def test_plan_deletes_highest_ordinal_first_then_rolls_from_the_top() -> None:
    pods = [_pod(f"db-{i}") for i in range(3)]
    assert [p["metadata"]["name"] for p in sp.plan(_sts(1), pods, "r1", AT).delete] == ["db-2"]
    rolled = sp.plan(_sts(3), pods, "r2", AT).delete
    assert [p["metadata"]["name"] for p in rolled] == ["db-2"]
    pods[2] = _pod("db-2", "r2")
    assert [p["metadata"]["name"] for p in sp.plan(_sts(3), pods, "r2", AT).delete] == ["db-1"]
    partitioned = _sts(3, updateStrategy={"type": "RollingUpdate",
                                          "rollingUpdate": {"partition": 2}})
    assert sp.plan(partitioned, pods, "r2", AT).delete == []


def test_status_makes_update_revision_current_when_done() -> None:
    pods = [_pod(f"db-{i}", "r2") for i in range(2)]
    status = sp.set_status(_sts(2), pods, "r1", "r2", AT)
    assert (status["currentRevision"], status["currentReplicas"], status["updatedReplicas"],
            status["readyReplicas"], status["observedGeneration"]) == ("r2", 2, 2, 2, 3)
    half = sp.set_status(_sts(2), [_pod("db-0", "r1"), _pod("db-1", "r2")], "r1", "r2", AT)
    assert (half["currentRevision"], half["currentReplicas"], half["updatedReplicas"]) == \
        ("r1", 1, 1)
