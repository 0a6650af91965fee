"""The Deployment controller over HTTP, checked with the official client and the real kubectl."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
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
)

pytestmark = pytest.mark.sandbox
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kctl(control_plane: Sandbox) -> Run:
    binary = str(find_tool("kubectl"))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([binary, "--kubeconfig", control_plane.kubeconfig, *args],
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}{result.stdout}")
        return result

    return run


def deployment(name: str, replicas: int = 2, image: str = "nginx:1.27",
               **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": pod_template(name, image), **spec}}


def conditions(apps: client.AppsV1Api, ns: str, name: str) -> dict[str, Any]:
    d = apps.read_namespaced_deployment_status(name, ns)
    return {c.type: c for c in (d.status and d.status.conditions) or []}


def replica_sets(apps: client.AppsV1Api, ns: str) -> dict[str, Any]:
    return {rs.spec.template.spec.containers[0].image: rs
            for rs in apps.list_namespaced_replica_set(ns).items}


def roll_out(apps: client.AppsV1Api, core: client.CoreV1Api, ns: str, name: str,
             timeout: float = 20.0) -> Any:
    """Play the kubelet until the Deployment reports its rollout complete."""
    def done() -> Any:
        for p in pods(core, ns, f"app={name}"):
            if p.status.phase != "Running":
                core.patch_namespaced_pod_status(p.metadata.name, ns, {"status": {
                    "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
        d = apps.read_namespaced_deployment_status(name, ns)
        st, want = d.status, d.spec.replicas
        if st is None or st.observed_generation != d.metadata.generation or \
                (st.replicas or 0, st.updated_replicas or 0, st.available_replicas or 0) != \
                (want, want, want):
            return None
        cond = {c.type: c for c in st.conditions or []}.get("Progressing")
        return cond if cond is not None and cond.reason == "NewReplicaSetAvailable" else None
    return wait_for(done, timeout, interval=0.1, what=f"deployment {name} rolled out")


def test_creates_replica_set_with_hash_and_becomes_available(
        cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api, ns: str, kctl: Run) -> None:
    cp_apps.create_namespaced_deployment(ns, deployment("web"))
    rs = wait_for(lambda: cp_apps.list_namespaced_replica_set(ns).items, what="a ReplicaSet")[0]
    pod_hash = rs.metadata.labels["pod-template-hash"]
    assert rs.metadata.name == f"web-{pod_hash}"
    assert rs.spec.selector.match_labels == {"app": "web", "pod-template-hash": pod_hash}
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert rs.metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "2"
    assert rs.metadata.annotations["deployment.kubernetes.io/max-replicas"] == "3"
    assert rs.metadata.owner_references[0].kind == "Deployment"
    cond = wait_for(lambda: (lambda c: c if "Available" in c else None)(
        conditions(cp_apps, ns, "web")), what="conditions")
    # Created, then (as soon as the ReplicaSet counts its pods) updated: both say "progressing".
    assert cond["Progressing"].reason in ("NewReplicaSetCreated", "ReplicaSetUpdated")
    assert cond["Progressing"].status == "True"
    assert cond["Available"].status == "False"

    roll_out(cp_apps, cp_core, ns, "web")
    d = cp_apps.read_namespaced_deployment("web", ns)
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    st = d.status
    assert (st.replicas, st.updated_replicas, st.ready_replicas, st.available_replicas) == \
        (2, 2, 2, 2)
    assert st.unavailable_replicas is None and st.observed_generation == d.metadata.generation
    assert conditions(cp_apps, ns, "web")["Available"].reason == "MinimumReplicasAvailable"
    out = kctl("rollout", "status", "deployment/web", "-n", ns, "--timeout=10s").stdout
    assert 'deployment "web" successfully rolled out' in out
    kctl("wait", "--for=condition=Available", "deployment/web", "-n", ns, "--timeout=10s")


def test_rolling_update_then_undo(cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api,
                                  ns: str, kctl: Run) -> None:
    cp_apps.create_namespaced_deployment(ns, deployment("web", replicas=4))
    roll_out(cp_apps, cp_core, ns, "web")
    cp_apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "main", "image": "nginx:1.28"}]}}}})
    # 25% of 4: surge 1 (rounded up), unavailable 1 (rounded down): at most 5 pods, at least
    # 3 available; with no new pod ready the rollout holds at 3 old + 2 new.
    wait_for(lambda: (lambda s: len(s) == 2 and (s["nginx:1.27"].spec.replicas,
                                                 s["nginx:1.28"].spec.replicas) == (3, 2))(
        replica_sets(cp_apps, ns)), what="rollout held by maxSurge/maxUnavailable")
    # The ReplicaSets' pods follow their replicas a moment later.
    wait_for(lambda: len(pods(cp_core, ns, "app=web")) == 5, what="3 old + 2 new pods")
    assert replica_sets(cp_apps, ns)["nginx:1.28"].metadata.annotations[
        "deployment.kubernetes.io/revision"] == "2"
    roll_out(cp_apps, cp_core, ns, "web")
    sets = replica_sets(cp_apps, ns)
    assert (sets["nginx:1.28"].spec.replicas, sets["nginx:1.27"].spec.replicas) == (4, 0)
    assert cp_apps.read_namespaced_deployment("web", ns).metadata.annotations[
        "deployment.kubernetes.io/revision"] == "2"

    kctl("rollout", "undo", "deployment/web", "-n", ns)
    wait_for(lambda: replica_sets(cp_apps, ns)["nginx:1.27"].metadata.annotations[
        "deployment.kubernetes.io/revision"] == "3", what="old ReplicaSet revived as revision 3")
    roll_out(cp_apps, cp_core, ns, "web")
    sets = replica_sets(cp_apps, ns)
    assert (sets["nginx:1.28"].spec.replicas, sets["nginx:1.27"].spec.replicas) == (0, 4)
    assert sets["nginx:1.27"].metadata.annotations[
        "deployment.kubernetes.io/revision-history"] == "1"
    history = kctl("rollout", "history", "deployment/web", "-n", ns).stdout
    assert "2" in history and "3" in history


def test_progress_deadline_exceeded_when_pods_never_ready(
        cp_apps: client.AppsV1Api, ns: str, kctl: Run) -> None:
    cp_apps.create_namespaced_deployment(ns, deployment("web", progressDeadlineSeconds=1))
    cond = wait_for(lambda: (lambda c: c if c and c.reason == "ProgressDeadlineExceeded" else None)(
        conditions(cp_apps, ns, "web").get("Progressing")), timeout=10, what="deadline")
    assert cond.status == "False"
    assert cond.message.startswith('ReplicaSet "web-') and \
        cond.message.endswith('" has timed out progressing.')
    result = kctl("rollout", "status", "deployment/web", "-n", ns, "--timeout=5s", check=False)
    assert result.returncode != 0 and "exceeded its progress deadline" in result.stderr


def test_recreate_scales_old_to_zero_before_creating_new(
        cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api, ns: str) -> None:
    cp_apps.create_namespaced_deployment(
        ns, deployment("web", replicas=2, strategy={"type": "Recreate"}))
    roll_out(cp_apps, cp_core, ns, "web")
    cp_apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "main", "image": "nginx:1.28"}]}}}})
    wait_for(lambda: not pods(cp_core, ns, "app=web") or
             all(p.spec.containers[0].image == "nginx:1.28" for p in pods(cp_core, ns, "app=web")),
             what="old pods gone")
    roll_out(cp_apps, cp_core, ns, "web")
    sets = replica_sets(cp_apps, ns)
    assert (sets["nginx:1.28"].spec.replicas, sets["nginx:1.27"].spec.replicas) == (2, 0)


def test_scale_subresource_and_paused_deployment(
        cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api, ns: str) -> None:
    cp_apps.create_namespaced_deployment(ns, deployment("web", replicas=1))
    roll_out(cp_apps, cp_core, ns, "web")
    cp_apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    wait_for(lambda: len(pods(cp_core, ns, "app=web")) == 3, what="3 pods")
    roll_out(cp_apps, cp_core, ns, "web")
    cp_apps.patch_namespaced_deployment("web", ns, {"spec": {"paused": True}})
    wait_for(lambda: conditions(cp_apps, ns, "web")["Progressing"].reason == "DeploymentPaused",
             what="paused condition")
    cp_apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "main", "image": "nginx:1.28"}]}}}})
    d = wait_for(lambda: (lambda d: d if d.status.observed_generation == d.metadata.generation
                          else None)(cp_apps.read_namespaced_deployment("web", ns)),
                 what="paused spec observed")
    assert len(cp_apps.list_namespaced_replica_set(ns).items) == 1  # no rollout while paused
    assert not d.status.updated_replicas  # no ReplicaSet has the new template yet
    cp_apps.patch_namespaced_deployment("web", ns, {"spec": {"paused": False}})
    wait_for(lambda: len(cp_apps.list_namespaced_replica_set(ns).items) == 2,
             what="rollout after resume")


def test_revision_history_limit_deletes_old_replica_sets(
        cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api, ns: str) -> None:
    cp_apps.create_namespaced_deployment(ns, deployment("web", replicas=1,
                                                        revisionHistoryLimit=1))
    roll_out(cp_apps, cp_core, ns, "web")
    for tag in ("1.28", "1.29"):
        cp_apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
            "containers": [{"name": "main", "image": f"nginx:{tag}"}]}}}})
        wait_for(lambda tag=tag: f"nginx:{tag}" in replica_sets(cp_apps, ns), what=tag)
        roll_out(cp_apps, cp_core, ns, "web")
    sets = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(replica_sets(cp_apps, ns)),
                    what="one old ReplicaSet kept")
    assert set(sets) == {"nginx:1.28", "nginx:1.29"}


def test_status_subresource_json(cp_apps: client.AppsV1Api, cp_core: client.CoreV1Api,
                                 ns: str, kctl: Run) -> None:
    """What kstatus (helm --wait) reads: observedGeneration and the counters, raw."""
    cp_apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    roll_out(cp_apps, cp_core, ns, "web")
    raw = json.loads(kctl("get", "deployment", "web", "-n", ns, "-o", "json").stdout)
    st = raw["status"]
    assert st["observedGeneration"] == raw["metadata"]["generation"]
    assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"],
            st["availableReplicas"]) == (2, 2, 2, 2)
    assert [c["type"] for c in st["conditions"]] == ["Available", "Progressing"]
    assert all(c["lastUpdateTime"] and c["lastTransitionTime"] for c in st["conditions"])
