"""The example app installed in a virtual cluster answers through the host ingress.

Host sandbox -> charts/vcluster (the real syncer) -> `helm install` of examples/app into the
virtual cluster -> the syncer copies the pod, Service, ConfigMap and Ingress to the host ->
the python runtime runs the copied pod -> the host ingress serves the page; the virtual
Ingress's status carries the host ingress's address and ports.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, wait_for
from tests.sandbox.test_ingress_serving import CHART as EXAMPLE
from tests.sandbox.test_ingress_serving import get, status_of
from tests.sandbox.test_vcluster_runtime import CHART as VCLUSTER
from tests.sandbox.test_vcluster_runtime import connect, processes_of

pytestmark = pytest.mark.sandbox


def test_example_in_a_virtual_cluster_is_served_by_the_host_ingress(
        sandbox: Sandbox, helm: KubectlRunner, kubectl: KubectlRunner, namespace: str,
        core: client.CoreV1Api, tmp_path: Path) -> None:
    helm("install", "vc", str(VCLUSTER), "-n", namespace, "--wait", "--timeout", "90s")
    vc = connect(sandbox.kubeconfig, core, namespace, "vc", tmp_path / "virtual")
    host = f"pr-7-{namespace}.localhost"
    try:
        helm("install", "app", str(EXAMPLE), "--set", f"ingress.host={host}",
             "--set", "pr.number=7", "--set", "pr.sha=89abcdef0123", "--wait",
             "--timeout", "90s", kubeconfig=vc.kubeconfig)
        wait_for(lambda: status_of(sandbox, host) == 200, 30, 0.1, "the page via the host")
        _, _, body = get(sandbox, host)
        assert "pull request <strong>#7</strong>" in body and "<code>89abcde</code>" in body
        # Served by the pod the syncer copied out of the virtual cluster.
        assert "Served by pod app-" in body
        host_pods = kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.split()
        assert any(p.startswith("pod/app-") and p.endswith("-x-default-x-vc")
                   for p in host_pods)

        def virtual_status() -> list[dict[str, object]]:
            out = kubectl("get", "ingress", "app", "-n", "default", "-o", "yaml",
                          kubeconfig=vc.kubeconfig).stdout
            lb = (yaml.safe_load(out).get("status") or {}).get("loadBalancer") or {}
            return list(lb.get("ingress") or [])

        [entry] = wait_for(virtual_status, 30, 0.1, "the status synced back")
        assert entry == {"ip": "127.0.0.1", "ports": [
            {"port": sandbox.ingress_http_port, "protocol": "TCP"},
            {"port": sandbox.ingress_https_port, "protocol": "TCP"}]}
        # Scaled to zero inside the virtual cluster: the host ingress answers 503.
        kubectl("scale", "deployment/app", "-n", "default", "--replicas=0",
                kubeconfig=vc.kubeconfig)
        wait_for(lambda: status_of(sandbox, host) == 503, 30, 0.1, "503 after scale to 0")
    finally:
        vc.forward.terminate()
        vc.forward.wait(10)
    helm("uninstall", "vc", "-n", namespace, "--wait", "--timeout", "60s")
    wait_for(lambda: not processes_of(namespace), 30, 0.1, what="the pods' processes to end")
