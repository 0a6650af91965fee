"""One run at a time per environment: where its Lease lives, and what a waiting run does when
the namespace goes away under it (the Lease itself: `preview.lease`).

The Lease lives in the environment's own namespace, so it never outlives the environment and
needs no namespace of ours beside it. `up` therefore first makes sure the namespace exists
(created with the label contract only; its annotations are written under the Lease), then
takes the Lease. A `down` holding it deletes the namespace, and the Lease with it: an `up`
that waited behind it sees the namespace go, waits until it is gone and creates the
environment afresh — it is the later run, so its state is the one that stays. A `down` or a
GC deletion that finds the namespace gone (or going, with nobody holding it) has nothing to
wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from preview import lease, naming
from preview.errors import PreviewError
from preview.kube.client import AlreadyExists, KubeClient
from preview.operations import ownership

DEFAULT_WAIT = 600.0


@dataclass(frozen=True)
class Lock:
    """How a run takes its environment's Lease: who it is, whether and how long it waits."""

    holder: lease.Holder
    wait: bool = True
    timeout: float = DEFAULT_WAIT  # seconds to wait for another run
    duration: int = lease.DURATION_SECONDS


def subject(env: naming.Environment) -> str:
    return f"{env.full_name} PR {env.pr}"


def _labels(env: naming.Environment) -> dict[str, str]:
    return {naming.MANAGED_BY: naming.MANAGED_BY_VALUE, naming.REPO: env.repo_label,
            naming.PR: str(env.pr), naming.ENVIRONMENT: env.name}


async def _acquire(kube: KubeClient, env: naming.Environment, lock: Lock, operation: str,
                   progress: Callable[[str], None], deadline: float
                   ) -> tuple[dict[str, Any], str]:
    return await lease.acquire(
        kube, env.namespace, lock.holder, operation, subject=subject(env),
        labels=_labels(env), wait=lock.wait, timeout=max(deadline - time.monotonic(), 0.0),
        progress=progress, duration=lock.duration)


@contextlib.asynccontextmanager
async def for_up(kube: KubeClient, env: naming.Environment, lock: Lock,
                 namespace_labels: dict[str, str], progress: Callable[[str], None]
                 ) -> AsyncIterator[lease.Held]:
    """Hold `env`'s Lease for an `up`, creating its namespace (with `namespace_labels`) when
    it does not exist, and again after a teardown we waited for removed it."""
    deadline = time.monotonic() + lock.timeout
    waited_for = ""  # whom we waited for, across a teardown that removed the namespace
    while True:
        existing = await ownership.find(kube, env)
        if existing is None:
            try:
                await kube.create(ownership.NAMESPACES, None, {"metadata": {
                    "name": env.namespace, "labels": namespace_labels}})
                progress(f"created namespace {env.namespace}")
            except AlreadyExists:
                await ownership.find(kube, env)  # made concurrently: is it ours?
        try:
            acquired, waited = await _acquire(kube, env, lock, "up", progress, deadline)
            break
        except lease.NamespaceGone as e:
            waited_for = e.holder or waited_for
            await _wait_deleted(kube, env, deadline, progress)
    async with lease.holding(kube, env.namespace, lock.holder, acquired,
                             waited or waited_for, lock.duration) as held:
        yield held


@contextlib.asynccontextmanager
async def for_teardown(kube: KubeClient, env: naming.Environment, lock: Lock, operation: str,
                       progress: Callable[[str], None]) -> AsyncIterator[lease.Held | None]:
    """Hold `env`'s Lease for a teardown (`down`, the GC); None when the namespace is gone or
    going with nobody holding it (then there is nobody to wait for, and nothing to lock)."""
    deadline = time.monotonic() + lock.timeout
    try:
        acquired, waited = await _acquire(kube, env, lock, operation, progress, deadline)
    except lease.NamespaceGone:
        yield None
        return
    async with lease.holding(kube, env.namespace, lock.holder, acquired, waited,
                             lock.duration) as held:
        yield held


@contextlib.asynccontextmanager
async def for_change(kube: KubeClient, env: naming.Environment, lock: Lock, operation: str,
                     progress: Callable[[str], None]) -> AsyncIterator[lease.Held]:
    """Hold `env`'s Lease to change an existing environment (sleep, wake); a namespace
    deleted meanwhile is an error (there is nothing left to change)."""
    async with for_teardown(kube, env, lock, operation, progress) as held:
        if held is None:
            raise PreviewError(f"environment {env.name} of {subject(env)} is being deleted",
                               "`preview list` shows the environments there are")
        yield held


async def _wait_deleted(kube: KubeClient, env: naming.Environment, deadline: float,
                        progress: Callable[[str], None]) -> None:
    """Until the namespace a teardown deletes is gone (then `up` creates it afresh)."""
    said = False
    while (ns := await ownership.find(kube, env)) is not None and \
            ns["metadata"].get("deletionTimestamp"):
        if not said:
            progress(f"namespace {env.namespace} is being deleted (a teardown of {env.name}): "
                     "waiting until it is gone, then creating it again")
            said = True
        if time.monotonic() > deadline:
            raise PreviewError(f"namespace {env.namespace} was still being deleted after "
                               "waiting for it",
                               f"look at `kubectl get namespace {env.namespace} -o yaml` "
                               "(finalizers), then run `preview up` again")
        await asyncio.sleep(lease.POLL_SECONDS)
