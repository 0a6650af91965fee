"""Detecting the host's Service CIDR from the API server's refusal, creating nothing."""

from __future__ import annotations

import asyncio

import pytest
from kubernetes import client

from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.sandbox.runner import Sandbox
from preview.vcluster import cidr

pytestmark = pytest.mark.sandbox


def test_detects_the_range_and_leaves_nothing(sandbox: Sandbox, core: client.CoreV1Api,
                                              namespace: str) -> None:
    async def detect() -> str:
        async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as kube:
            return await cidr.detect(kube, namespace)

    assert asyncio.run(detect()) == "10.96.0.0/12"
    assert core.list_namespaced_service(namespace).items == []
