"""`preview down`: an environment's app, virtual cluster and host namespace, gone and verified.

Order: the app's releases inside the virtual cluster (best effort: the syncer then removes
their host copies gracefully; deleting the virtual cluster removes them anyway), the virtual
cluster (`vcluster.lifecycle.delete`: chart, the syncer's copies, the namespace with a uid
precondition, waiting until it is gone), then a last read proving nothing is left.

All of it holds the environment's lock (`preview.operations.exclusive`): a running `up` is
waited for, and the Lease goes with the namespace, so an `up` waiting for this `down` then
creates the environment afresh (the later run wins). Nothing existing is success ("nothing to
tear down"). A namespace of the environment's name
without our labels is refused before anything is touched (`ownership.check_owned`).
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp

from preview import helm, naming
from preview.errors import Incomplete, PreviewError
from preview.kube.client import ApiError, KubeClient
from preview.kube.host import HostCluster
from preview.kube.resources import STATEFULSETS
from preview.operations import exclusive, ownership
from preview.results import DownResult
from preview.vcluster import connect, lifecycle
from preview.vcluster.model import Progress

log = logging.getLogger(__name__)
APP_UNINSTALL_TIMEOUT = 60.0


async def down(host: HostCluster, env: naming.Environment, progress: Progress,
               timeout: float = 300.0, *, lock: exclusive.Lock,
               operation: str = "down") -> DownResult:
    """Tear down `env` holding its lock (`operation` names who on the Lease: down, gc);
    raises Incomplete when something of ours is still there afterwards, `lease.Busy` when
    another run holds the lock and `lock.wait` is off."""
    started = time.monotonic()
    async with host.client() as kube:
        if await ownership.find(kube, env) is None:
            progress(f"namespace {env.namespace} does not exist: nothing to tear down")
            return DownResult(env.name, env.namespace, False, _since(started))
        async with exclusive.for_teardown(kube, env, lock, operation, progress) as held:
            waited = held.waited if held is not None else ""
            # Read again: the run we waited for may have torn it down already.
            namespace = await ownership.find(kube, env)
            if namespace is None:
                progress(f"namespace {env.namespace} is gone: nothing left to tear down")
                return DownResult(env.name, env.namespace, False, _since(started), waited)
            if not namespace["metadata"].get("deletionTimestamp"):
                await _uninstall_apps(kube, env, progress, min(APP_UNINSTALL_TIMEOUT, timeout))
            # Deleting the namespace deletes the Lease with it: nobody else writes until
            # it is gone, and an `up` waiting for us then creates the environment afresh.
            result = await lifecycle.delete(host, env.vcluster, env.namespace, progress,
                                            timeout=timeout)
        remaining = await kube.get(ownership.NAMESPACES, None, env.namespace)
        if remaining is not None and remaining["metadata"].get("uid") != \
                namespace["metadata"].get("uid"):
            remaining = None  # made afresh by an `up` that waited for us: not a leftover
        if remaining is not None or result.leftovers:
            what = ", ".join(result.leftovers) or f"namespace {env.namespace}"
            raise Incomplete(f"tearing down {env.name} left behind: {what}",
                             f"run `preview down` again; if it stays, look at "
                             f"`kubectl get namespace {env.namespace} -o yaml` (finalizers)")
    progress(f"environment {env.name} is gone")
    return DownResult(env.name, env.namespace, True, _since(started), waited)


async def _uninstall_apps(kube: KubeClient, env: naming.Environment, progress: Progress,
                          timeout: float) -> None:
    """helm uninstall every release inside the virtual cluster, when it is running."""
    sts = await kube.get(STATEFULSETS, env.namespace, env.vcluster)
    if not sts or ((sts.get("status") or {}).get("readyReplicas") or 0) < 1:
        progress("virtual cluster not running: skipping the app's helm uninstall")
        return
    try:
        await asyncio.wait_for(_uninstall_in(kube, env, progress), timeout)
    except (PreviewError, ApiError, aiohttp.ClientError, OSError, TimeoutError) as e:
        # Best effort by design: the virtual cluster's deletion removes everything anyway.
        log.info("uninstalling the app of %s failed: %s", env.name, e)
        progress(f"could not uninstall the app ({str(e).splitlines()[0] or 'timed out'}); "
                 "deleting the virtual cluster removes it")


async def _uninstall_in(kube: KubeClient, env: naming.Environment, progress: Progress) -> None:
    async with connect.connect(kube, env.vcluster, env.namespace) as kubeconfig:
        for release in await helm.Helm(kubeconfig).releases():
            name, namespace = release["name"], release["namespace"]
            progress(f"helm uninstall {name} (namespace {namespace} of the virtual cluster)")
            await helm.Helm(kubeconfig).uninstall(name, namespace)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 1)
