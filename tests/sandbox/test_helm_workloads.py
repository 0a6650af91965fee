"""What a preview environment needs from a cluster, checked with the real helm and kubectl.

`helm upgrade --install --wait` (helm v4: server-side apply, kstatus "watcher" wait) only
succeeds when Deployments are available, StatefulSets rolled out, PVCs bound — so these tests
prove the sandbox's controllers, scheduler and kubelet produce the status fields a real
cluster does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from preview.sandbox.runner import Sandbox, ServerConfig
from tests.conftest import KubectlRunner

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
CHART = Path(__file__).parent / "charts" / "shop"


def get(kubectl: KubectlRunner, *args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def replica_sets(kubectl: KubectlRunner, namespace: str, app: str) -> dict[str, dict[str, Any]]:
    items = get(kubectl, "replicasets", "-n", namespace, "-l", f"app={app}")["items"]
    return {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs for rs in items}


def test_install_wait_upgrade_rollback_uninstall(helm: KubectlRunner, kubectl: KubectlRunner,
                                                 namespace: str) -> None:
    helm("install", "shop", str(CHART), "-n", namespace, "--wait", "--timeout", "60s")

    dep = get(kubectl, "deployment", "shop-web", "-n", namespace)
    assert dep["status"]["availableReplicas"] == 2
    available = {c["type"]: c["status"] for c in dep["status"]["conditions"]}
    assert available["Available"] == "True"
    pods = get(kubectl, "pods", "-n", namespace, "-l", "app=shop-web")["items"]
    assert len(pods) == 2
    assert all(p["status"]["phase"] == "Running" and p["spec"]["nodeName"] for p in pods)
    endpoints = get(kubectl, "endpoints", "shop-web", "-n", namespace)
    addresses = {a["ip"] for s in endpoints["subsets"] for a in s["addresses"]}
    assert addresses == {p["status"]["podIP"] for p in pods}
    ingress = get(kubectl, "ingress", "shop-web", "-n", namespace)
    assert ingress["status"]["loadBalancer"]["ingress"]
    pvc = get(kubectl, "pvc", "data-shop-db-0", "-n", namespace)
    assert pvc["status"]["phase"] == "Bound"
    assert get(kubectl, "pod", "shop-db-0", "-n", namespace)["status"]["phase"] == "Running"

    helm("upgrade", "shop", str(CHART), "-n", namespace, "--wait", "--timeout", "60s",
         "--set", "image=nginx:1.28")
    sets = replica_sets(kubectl, namespace, "shop-web")
    assert sets["nginx:1.28"]["status"]["readyReplicas"] == 2
    assert sets["nginx:1.27"]["spec"]["replicas"] == 0
    kubectl("rollout", "status", "deployment/shop-web", "-n", namespace, "--timeout=30s")

    helm("rollback", "shop", "1", "-n", namespace, "--wait", "--timeout", "60s")
    dep = get(kubectl, "deployment", "shop-web", "-n", namespace)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    sets = replica_sets(kubectl, namespace, "shop-web")
    assert sets["nginx:1.27"]["status"]["readyReplicas"] == 2
    assert sets["nginx:1.28"]["spec"]["replicas"] == 0

    helm("uninstall", "shop", "-n", namespace, "--wait", "--timeout", "60s")
    left = kubectl("get", "deployments,replicasets,statefulsets,services,ingresses,pods",
                   "-n", namespace, "-o", "name").stdout.split()
    assert left == []


def test_image_that_does_not_exist_fails_the_wait(helm: KubectlRunner, kubectl: KubectlRunner,
                                                  namespace: str) -> None:
    out = helm("install", "broken", str(CHART), "-n", namespace, "--wait", "--timeout", "20s",
               "--set", "image=registry.example.com/does-not-exist:1", check=False)
    assert out.returncode != 0
    pods = get(kubectl, "pods", "-n", namespace, "-l", "app=broken-web")["items"]
    reasons = {s["state"].get("waiting", {}).get("reason")
               for p in pods for s in p["status"].get("containerStatuses") or []}
    assert reasons <= {"ImagePullBackOff", "ErrImagePull"} and "ImagePullBackOff" in reasons


def test_kubectl_waits_and_logs(kubectl: KubectlRunner, namespace: str) -> None:
    kubectl("create", "deployment", "api", "-n", namespace, "--image=nginx:1.27",
            "--replicas=2")
    kubectl("rollout", "status", "deployment/api", "-n", namespace, "--timeout=30s")
    kubectl("wait", "--for=condition=Available", "deployment/api", "-n", namespace,
            "--timeout=30s")
    logs = kubectl("logs", "deployment/api", "-n", namespace).stdout
    assert logs.strip()

    kubectl("create", "job", "once", "-n", namespace, "--image=busybox", "--", "echo", "hi")
    job = get(kubectl, "job", "once", "-n", namespace)
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    kubectl("wait", "--for=condition=Complete", "job/once", "-n", namespace, "--timeout=30s")
    assert kubectl("logs", "job/once", "-n", namespace).stdout.strip()


@pytest.fixture(scope="module")
def virtual() -> Iterator[Sandbox]:
    with Sandbox(ServerConfig(flavour="virtual")) as sb:
        yield sb


def test_virtual_control_plane_leaves_pods_pending(virtual: Sandbox, helm: KubectlRunner,
                                                   kubectl: KubectlRunner) -> None:
    helm("install", "shop", str(CHART), "-n", "default", kubeconfig=virtual.kubeconfig)

    def pods() -> list[dict[str, Any]]:
        return json.loads(kubectl("get", "pods", "-n", "default", "-l", "app=shop-web", "-o",
                                  "json", kubeconfig=virtual.kubeconfig).stdout)["items"]

    kubectl("wait", "--for=jsonpath={.status.replicas}=2", "replicaset", "-l", "app=shop-web",
            "-n", "default", "--timeout=30s", kubeconfig=virtual.kubeconfig)
    listed = pods()
    assert len(listed) == 2
    for pod in listed:
        assert pod["status"]["phase"] == "Pending"
        assert "nodeName" not in pod["spec"]
    assert json.loads(kubectl("get", "nodes", "-o", "json",
                              kubeconfig=virtual.kubeconfig).stdout)["items"] == []
