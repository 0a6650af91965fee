"""Deploy tests: a host sandbox stands in for the virtual cluster (it runs pods itself)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from preview.deploy import VirtualCluster
from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner

CHARTS = Path(__file__).parent / "charts"
APP = CHARTS / "app"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@asynccontextmanager
async def virtual_cluster(sb: Sandbox) -> AsyncIterator[VirtualCluster]:
    """What `preview up` hands to deploy: a kubeconfig for helm and a client, one cluster."""
    async with KubeClient(from_kubeconfig(sb.kubeconfig)) as kube:
        yield VirtualCluster(Path(sb.kubeconfig), kube)


def history(helm: KubectlRunner, release: str, namespace: str) -> list[dict[str, Any]]:
    out = helm("history", release, "-n", namespace, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else []


class Lines(list[str]):
    """A progress callback that keeps the lines."""

    def __call__(self, line: str) -> None:
        self.append(line)
