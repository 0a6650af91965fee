"""Port-forwarding through the sandbox API to a pod; new connections follow a replaced pod."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from kubernetes import client

from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.kube.portforward import PortForward
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for

pytestmark = pytest.mark.sandbox


def running_pod(core: client.CoreV1Api, namespace: str, name: str) -> None:
    core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": {"app": "pf"}},
                                           "spec": {"containers": [{
                                               "name": "c", "image": "nginx",
                                               "ports": [{"containerPort": 80}]}]}})
    wait_for(lambda: core.read_namespaced_pod(name, namespace).status.phase == "Running", 20,
             what=f"pod {name} running")


def test_forwards_and_follows_a_replaced_pod(sandbox: Sandbox, core: client.CoreV1Api,
                                             namespace: str) -> None:
    running_pod(core, namespace, "first")
    current = {"name": "first"}

    async def scenario() -> list[str]:
        async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as kube:
            async def find() -> str | None:
                return current["name"]

            # One TCP connection per request: each one gets its own tunnel.
            fresh = aiohttp.TCPConnector(force_close=True)
            async with PortForward(kube, namespace, find, 80) as pf, \
                    aiohttp.ClientSession(connector=fresh) as web:
                bodies = []
                async with web.get(f"http://127.0.0.1:{pf.local_port}/") as resp:
                    bodies.append(await resp.text())
                await asyncio.to_thread(running_pod, core, namespace, "second")
                current["name"] = "second"
                async with web.get(f"http://127.0.0.1:{pf.local_port}/") as resp:
                    bodies.append(await resp.text())
                return bodies

    first, second = asyncio.run(scenario())
    assert "first" in first and "second" in second
