"""The whole path through a real virtual cluster: `preview vcluster create` on a host
sandbox, the chart installed into the virtual API, pods synced to the host and their status,
events and Ingress address synced back — what `preview up` sees."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from preview.deploy import ChartRef, DeployFailed, VirtualCluster, install, wait_ingress, wait_ready
from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.sandbox.runner import Sandbox
from preview.vcluster.connect import connect
from tests.deploy.conftest import APP, Lines, run

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
HOST = "pr-9-shop.preview.test"


@asynccontextmanager
async def virtual(sandbox: Sandbox, name: str) -> AsyncIterator[VirtualCluster]:
    async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as host, \
            connect(host, name, name) as path, \
            KubeClient(from_kubeconfig(path)) as kube:
        yield VirtualCluster(path, kube)


def test_deploy_into_a_virtual_cluster(sandbox: Sandbox) -> None:
    subprocess.run([sys.executable, "-m", "preview", "vcluster", "create", "dvc", "--namespace",
                    "dvc", "--kubeconfig", sandbox.kubeconfig], check=True, timeout=180,
                   capture_output=True)
    lines = Lines()

    async def healthy() -> None:
        async with virtual(sandbox, "dvc") as vc:
            await install(vc, ChartRef(str(APP)), "app", "shop", {"host": HOST}, 60, lines)
            await wait_ready(vc, "shop", "app", ("Deployment",), 90, lines)
            address = await wait_ingress(vc, "shop", HOST, 60, lines)
            assert address.ip_or_hostname and address.http_port

    run(healthy())
    assert "deployment/app-web 2/2 ready" in lines

    async def broken() -> None:
        async with virtual(sandbox, "dvc") as vc:
            await install(vc, ChartRef(str(APP)), "bad", "shop", {
                "host": "bad.preview.test", "replicas": 1,
                "image": "registry.example.com/does-not-exist:1"}, 60, Lines())
            await wait_ready(vc, "shop", "bad", ("Deployment",), 90, Lines(), fail_after_s=2)

    with pytest.raises(DeployFailed) as e:
        run(broken())
    [problem] = e.value.diagnostics.pods
    assert problem.pod.startswith("bad-web-")  # the virtual name, not the host's
    assert problem.reason in ("ImagePullBackOff", "ErrImagePull")
    assert "ImagePullBackOff" in e.value.diagnostics.summary
    # the host kubelet's events about the synced pod, synced back under the virtual name
    assert any("Failed to pull image" in event for event in problem.events), problem.events
