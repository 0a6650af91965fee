"""preview/lease.py: the one-writer-per-environment Lease, against a host sandbox over HTTP
(create/update/delete with resourceVersion and uid as a real API server checks them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from preview import lease
from preview.errors import PreviewError
from preview.kube.client import Forbidden, KubeClient
from preview.kube.host import HostCluster
from preview.kube.resources import LEASES, NAMESPACES, ROLEBINDINGS, ROLES, SERVICEACCOUNTS
from preview.operations.developer import CLUSTERROLEBINDINGS, CLUSTERROLES
from preview.sandbox.runner import Sandbox

_names = itertools.count()


def test_holder_names_the_github_run_or_the_process() -> None:
    local = lease.Holder.of_process({}, "alice", "laptop", 42)
    assert local.identity == "alice@laptop pid 42"
    actions = lease.Holder.of_process(
        {"GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_SERVER_URL": "https://gh.io",
         "GITHUB_REPOSITORY": "o/r"}, "runner", "vm", 9)
    assert actions.identity == "run 7 attempt 2 (https://gh.io/o/r/actions/runs/7) on " \
                               "runner@vm pid 9"


def test_expired_by_the_clock() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    spec = {"holderIdentity": "a", "leaseDurationSeconds": 30,
            "renewTime": lease.micro_time(now - dt.timedelta(seconds=29))}
    assert not lease.expired({"spec": spec}, now)
    assert lease.expired({"spec": spec}, now + dt.timedelta(seconds=2))
    assert lease.expired({"spec": {**spec, "holderIdentity": ""}}, now)


@pytest.fixture(scope="module")
def host_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


async def _namespace(kube: KubeClient) -> str:
    name = f"lease-{next(_names)}"
    await kube.create(NAMESPACES, None, {"metadata": {"name": name}})
    return name


def _run(sb: Sandbox, test: Any) -> Any:
    async def main() -> Any:
        async with HostCluster.from_kubeconfig(sb.kubeconfig).client() as kube:
            return await test(kube, await _namespace(kube))
    return asyncio.run(main())


async def _acquire(kube: KubeClient, ns: str, who: str, *, wait: bool = False,
                   timeout: float = 5.0, said: list[str] | None = None, duration: int = 30,
                   ) -> tuple[dict[str, Any], str]:
    return await lease.acquire(kube, ns, lease.Holder(who), "up", subject="o/r PR 7",
                               labels={"x": "y"}, wait=wait, timeout=timeout,
                               progress=(said if said is not None else []).append,
                               duration=duration, poll=0.05)


def test_one_of_many_concurrent_acquirers_wins(host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        outcomes = await asyncio.gather(*(_acquire(kube, ns, f"run {i}") for i in range(6)),
                                        return_exceptions=True)
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        busy = [o for o in outcomes if isinstance(o, lease.Busy)]
        assert len(won) == 1 and len(busy) == 5, outcomes
        holder = won[0][0]["spec"]["holderIdentity"]
        assert all(b.holder == holder for b in busy)
        assert f"{holder} (up) is working on o/r PR 7" in str(busy[0])
    _run(host_sandbox, test)


def test_a_waiting_run_gets_it_on_release_and_says_whom_it_waited_for(
        host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        first, _ = await _acquire(kube, ns, "run 1")
        said: list[str] = []
        async with lease.holding(kube, ns, lease.Holder("run 1"), first) as held:
            waiter = asyncio.create_task(_acquire(kube, ns, "run 2", wait=True, said=said))
            while not said:  # the waiter has seen the holder
                await asyncio.sleep(0.02)
            assert not waiter.done()
            assert held.lost == ""
        second, waited = await waiter
        assert said == ["waiting for run 1 (up) of o/r PR 7 to finish"]
        assert waited == "run 1"
        assert second["spec"]["holderIdentity"] == "run 2"
        assert second["spec"]["leaseTransitions"] == 0  # a new object: the first was deleted
    _run(host_sandbox, test)


def test_waiting_is_bounded(host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        await _acquire(kube, ns, "run 1")
        with pytest.raises(PreviewError, match="waited 0s for run 1"):
            await _acquire(kube, ns, "run 2", wait=True, timeout=0.2)
    _run(host_sandbox, test)


def test_a_dead_holder_is_taken_over_after_expiry(host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        stale = lease.micro_time(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60))
        await kube.create(LEASES, ns, {"metadata": {"name": lease.LEASE_NAME}, "spec": {
            "holderIdentity": "dead run", "leaseDurationSeconds": 30, "renewTime": stale,
            "acquireTime": stale, "leaseTransitions": 3}})
        taken, _ = await _acquire(kube, ns, "run 2")
        assert taken["spec"]["holderIdentity"] == "run 2"
        assert taken["spec"]["leaseTransitions"] == 4
        # Two takers of one expired Lease: the resourceVersion lets one win.
        await kube.replace(LEASES, ns, lease.LEASE_NAME, {
            **taken, "spec": {**taken["spec"], "renewTime": stale}})
        outcomes = await asyncio.gather(_acquire(kube, ns, "a"), _acquire(kube, ns, "b"),
                                        return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["Busy", "tuple"], outcomes
    _run(host_sandbox, test)


def test_a_holder_whose_clock_lies_is_taken_over_once_seen_unchanged(
        host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        future = lease.micro_time(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
        await kube.create(LEASES, ns, {"metadata": {"name": lease.LEASE_NAME}, "spec": {
            "holderIdentity": "skewed", "leaseDurationSeconds": 1, "renewTime": future}})
        taken, waited = await _acquire(kube, ns, "run 2", wait=True)
        assert taken["spec"]["holderIdentity"] == "run 2" and waited == "skewed"
    _run(host_sandbox, test)


def test_renewal_keeps_it_and_release_frees_it(host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        first, _ = await _acquire(kube, ns, "run 1", duration=1)
        async with lease.holding(kube, ns, lease.Holder("run 1"), first, duration=1) as held:
            while held.lease["metadata"]["resourceVersion"] == \
                    first["metadata"]["resourceVersion"]:
                await asyncio.sleep(0.05)
            with pytest.raises(lease.Busy):  # renewed: not expired although 1 s is short
                await _acquire(kube, ns, "run 2")
        assert await kube.get(LEASES, ns, lease.LEASE_NAME) is None
    _run(host_sandbox, test)


def test_a_taken_over_lease_is_lost_not_overwritten(host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        first, _ = await _acquire(kube, ns, "run 1", duration=1)
        async with lease.holding(kube, ns, lease.Holder("run 1"), first, duration=1) as held:
            current = await kube.get(LEASES, ns, lease.LEASE_NAME)
            assert current is not None
            await kube.replace(LEASES, ns, lease.LEASE_NAME, {
                **current, "spec": {**current["spec"], "holderIdentity": "thief"}})
            while not held.lost:
                await asyncio.sleep(0.05)
            assert held.lost == "another run took it over"
        after = await kube.get(LEASES, ns, lease.LEASE_NAME)
        assert after is not None and after["spec"]["holderIdentity"] == "thief"
    _run(host_sandbox, test)


def test_namespace_gone_or_going(host_sandbox: Sandbox) -> None:
    async def test(kube: KubeClient, ns: str) -> None:
        with pytest.raises(lease.NamespaceGone):
            await _acquire(kube, f"{ns}-absent", "run 1")
        await _acquire(kube, ns, "down run")
        await kube.delete(NAMESPACES, None, ns)
        # Terminating, its Lease still held: a new run waits for that holder...
        with pytest.raises(lease.Busy, match="down run"):
            await _acquire(kube, ns, "up run")
        # ...and once the namespace (with the Lease) is gone, it is told so.
        with pytest.raises(lease.NamespaceGone):
            await _acquire(kube, ns, "up run", wait=True, timeout=30)
    _run(host_sandbox, test)


def test_a_create_rbac_refuses_is_forbidden_not_a_namespace_going(
        host_sandbox: Sandbox, tmp_path: Path) -> None:
    """An account that may read Leases but not create them (a ClusterRole missing a rule):
    the Forbidden comes out at once, naming the rule, instead of a wait for a namespace
    deletion that is not happening."""
    async def test(kube: KubeClient, ns: str) -> None:
        await kube.create(SERVICEACCOUNTS, ns, {"metadata": {"name": "reader"}})
        await kube.create(ROLES, ns, {"metadata": {"name": "reader"}, "rules": [
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get"]}]})
        await kube.create(ROLEBINDINGS, ns, {
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}]})
        await kube.create(CLUSTERROLES, None, {"metadata": {"name": f"{ns}-ns"}, "rules": [
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]})
        await kube.create(CLUSTERROLEBINDINGS, None, {
            "metadata": {"name": f"{ns}-ns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": f"{ns}-ns"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}]})
        answer = await kube.request("POST", SERVICEACCOUNTS.path(ns, "reader", "token"),
                                    {"spec": {"expirationSeconds": 600}})
        path = host_sandbox.write_kubeconfig(tmp_path / "reader", answer["status"]["token"])
        async with HostCluster.from_kubeconfig(path).client() as reader:
            with pytest.raises(Forbidden, match="leases"):
                await _acquire(reader, ns, "up run", wait=True, timeout=30)
    _run(host_sandbox, test)


def test_a_deleted_lease_is_lost_not_created_again(host_sandbox: Sandbox) -> None:
    """A Lease allows create-on-update: a renewal by PUT would bring it back after its
    namespace's deletion removed it (and keep a Terminating namespace from finishing)."""
    async def test(kube: KubeClient, ns: str) -> None:
        first, _ = await _acquire(kube, ns, "run 1", duration=1)
        async with lease.holding(kube, ns, lease.Holder("run 1"), first, duration=1) as held:
            await kube.delete(LEASES, ns, lease.LEASE_NAME)
            while not held.lost:
                await asyncio.sleep(0.05)
            assert held.lost == "it was deleted (with its namespace?)"
        assert await kube.get(LEASES, ns, lease.LEASE_NAME) is None
    _run(host_sandbox, test)
