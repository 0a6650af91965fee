"""The syncer's informers (`preview.control` over `KubeClient`) against the sandbox: cache,
events, relist after 410 Gone, objects slimmed and typed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from preview.kube.client import KubeClient, Resource
from preview.kube.connection import from_kubeconfig
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.syncer.engine.listwatch import informer as make_informer

pytestmark = pytest.mark.sandbox
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


async def until(predicate: Any, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_cache_follows_changes_and_catches_up_after_a_gap() -> None:
    with Sandbox(ServerConfig(history=20, flavour="virtual")) as sb:
        async def scenario() -> None:
            async with KubeClient(from_kubeconfig(sb.kubeconfig)) as kube:
                await kube.create(CONFIGMAPS, "default", {"metadata": {"name": "before"}})
                informer = make_informer(kube, CONFIGMAPS, "default", watch_timeout=2)
                events: list[tuple[str, str]] = []
                informer.add_handler(lambda e, o, _: events.append((e, o["metadata"]["name"])))
                task = asyncio.create_task(informer.run())
                await asyncio.wait_for(informer.wait_synced(), 5)
                assert informer.relists == 0
                assert ("ADDED", "before") in events
                cached = informer.get("default", "before")
                assert cached is not None and cached["kind"] == "ConfigMap"
                assert "managedFields" not in cached["metadata"]
                await kube.create(CONFIGMAPS, "default", {"metadata": {"name": "after"}})
                await until(lambda: informer.get("default", "after") is not None)
                await kube.delete(CONFIGMAPS, "default", "before")
                await until(lambda: informer.get("default", "before") is None)
                assert ("DELETED", "before") in events
                task.cancel()
                # While nobody watches, history moves past the informer's version.
                for i in range(30):
                    await kube.create(CONFIGMAPS, "default", {"metadata": {"name": f"n{i}"}})
                await kube.delete(CONFIGMAPS, "default", "after")
                relists = informer.relists
                task = asyncio.create_task(informer.run())
                await until(lambda: informer.get("default", "n29") is not None)
                assert informer.relists == relists + 1
                assert informer.get("default", "after") is None
                assert ("DELETED", "after") in events
                task.cancel()
        asyncio.run(scenario())
