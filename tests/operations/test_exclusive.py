"""preview/operations/exclusive.py against a host sandbox: where an environment's Lease
lives, and an `up` that waits behind a teardown which removes the namespace under it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest

from preview import lease, naming
from preview.kube.host import HostCluster
from preview.kube.resources import LEASES, NAMESPACES
from preview.operations import exclusive
from preview.sandbox.runner import Sandbox

pytestmark = pytest.mark.sandbox
ENV = naming.environment_for("acme", "shop", 3)


@pytest.fixture
def host() -> Iterator[HostCluster]:
    with Sandbox() as sb:
        yield HostCluster.from_kubeconfig(sb.kubeconfig)


def lock(who: str) -> exclusive.Lock:
    return exclusive.Lock(lease.Holder(who), timeout=60)


def test_up_creates_the_namespace_and_holds_the_lease_in_it(host: HostCluster) -> None:
    async def main() -> None:
        said: list[str] = []
        async with host.client() as kube:
            async with exclusive.for_up(kube, ENV, lock("run 1"), naming.namespace_labels(ENV),
                                        said.append) as held:
                held_lease = await kube.get(LEASES, ENV.namespace, lease.LEASE_NAME)
                assert held_lease is not None
                assert held_lease["spec"]["holderIdentity"] == "run 1"
                assert held_lease["metadata"]["annotations"][naming.LOCK_OPERATION] == "up"
                assert held_lease["metadata"]["labels"][naming.ENVIRONMENT] == ENV.name
                assert held.waited == ""
            assert said == [f"created namespace {ENV.namespace}"]
            assert await kube.get(LEASES, ENV.namespace, lease.LEASE_NAME) is None
    asyncio.run(main())


def test_an_up_behind_a_teardown_creates_the_environment_afresh(host: HostCluster) -> None:
    async def main() -> None:
        said: list[str] = []
        async with host.client() as kube:
            await kube.create(NAMESPACES, None, {"metadata": {
                "name": ENV.namespace, "labels": naming.namespace_labels(ENV)}})
            stamp = lease.micro_time(dt.datetime.now(dt.UTC))
            await kube.create(LEASES, ENV.namespace, {
                "metadata": {"name": lease.LEASE_NAME,
                             "annotations": {naming.LOCK_OPERATION: "down"}},
                "spec": {"holderIdentity": "down run", "leaseDurationSeconds": 300,
                         "renewTime": stamp}})
            old = await kube.get(NAMESPACES, None, ENV.namespace)
            assert old is not None

            async def up() -> str:
                async with exclusive.for_up(kube, ENV, lock("up run"),
                                            naming.namespace_labels(ENV), said.append) as held:
                    return held.waited

            waiting = asyncio.create_task(up())
            while not said:
                await asyncio.sleep(0.02)
            assert said == ["waiting for down run (down) of acme/shop PR 3 to finish"]
            await kube.delete(NAMESPACES, None, ENV.namespace)  # what the down does
            assert await waiting == "down run"
            # (Told it is being deleted when it still was at our next read.)
            assert said[-1] == f"created namespace {ENV.namespace}"
            new = await kube.get(NAMESPACES, None, ENV.namespace)
            assert new is not None and new["metadata"]["uid"] != old["metadata"]["uid"]
    asyncio.run(main())


def test_a_teardown_of_a_namespace_gone_or_going_unheld_has_nothing_to_lock(
        host: HostCluster) -> None:
    async def main() -> None:
        async with host.client() as kube, \
                exclusive.for_teardown(kube, ENV, lock("gc"), "gc", print) as held:
            assert held is None
    asyncio.run(main())
